"""Drive a running JupyterHub as a person would: log in, start a server, run code.

Everything goes through the hub's public URL (the proxy), with the login
form's xsrf token and the hub's cookies, never with an admin token.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse

import requests

from . import kernel
from .wait import wait_until


def contains_ignoring_addresses(text: str, quote: str) -> bool:
    """Whether `text` contains `quote`, any IPv4 address in the quote standing for any other.

    Pages quote log lines from a real run; container addresses differ per run.
    """
    address = r"\d+\.\d+\.\d+\.\d+"
    pattern = address.join(re.escape(part) for part in re.split(address, quote))
    return re.search(pattern, text) is not None


class HubError(AssertionError):
    """The hub did not do what the guide says it does."""


def wait_until_up(url: str, timeout: float = 120, verify: bool | str = True) -> None:
    """Wait until the hub answers on its public URL (`verify`: the CA bundle for HTTPS)."""
    last = ""

    def answers() -> bool:
        nonlocal last
        try:
            response = requests.get(f"{url}/hub/api/", timeout=5, verify=verify)
        except requests.ConnectionError as exc:
            last = str(exc)
            return False
        last = f"HTTP {response.status_code}"
        return response.ok

    wait_until(answers, timeout, lambda: f"The hub at {url} did not answer (last: {last})", error=HubError)


def failed_event_message(progress: str) -> str:
    """The message of the failed event in a spawn's progress stream: the text the spawn page shows."""
    events = [json.loads(line.removeprefix("data:")) for line in progress.splitlines() if line.startswith("data:")]
    failed = [event["message"] for event in events if event.get("failed")]
    if not failed:
        raise HubError(f"no failed event in the spawn's progress:\n{progress}")
    return failed[-1]


class User:
    """One person using the hub through a browser-like session."""

    def __init__(self, url: str, name: str, verify: bool | str = True) -> None:
        """`verify` is the CA bundle that signed an HTTPS hub's certificate (requests' `verify`)."""
        self.url = url
        # The hub's base URL path (a hub on a sub-path behind a reverse proxy): cookies are set under it.
        self.root = urllib.parse.urlsplit(url).path.rstrip("/")
        self.name = name
        self.session = requests.Session()
        self.session.verify = verify
        if isinstance(verify, str):
            # requests lets REQUESTS_CA_BUNDLE from the environment win over a session's
            # own bundle; the hub's self-signed certificate must be the one trusted.
            self.session.trust_env = False

    def xsrf(self, path: str = "/hub/") -> str:
        """The xsrf cookie that the hub or a single-user server set for this path (below the base URL)."""
        path = self.root + path
        matches = [c for c in self.session.cookies if c.name == "_xsrf" and path.startswith(c.path or "/")]
        return max(matches, key=lambda c: len(c.path or "")).value if matches else ""

    def _submit_login(self, password: str) -> requests.Response:
        """Fetch the login form (for its xsrf cookie) and post it, without following the redirect."""
        self.session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        return self.session.post(
            f"{self.url}/hub/login",
            data={"username": self.name, "password": password, "_xsrf": self.xsrf()},
            allow_redirects=False,
            timeout=60,
        )

    def login(self, password: str) -> requests.Response:
        """Submit the login form with its xsrf token; return the hub's answer.

        The redirect after login is not followed: it would start the user's
        server (JupyterHub's redirect_to_server), and tests start it explicitly.
        """
        response = self._submit_login(password)
        if "jupyterhub-session-id" not in self.session.cookies:
            raise HubError(f"Login as {self.name} failed: HTTP {response.status_code} at {response.url}")
        return response

    def login_error(self, password: str) -> str:
        """Submit the login form with a login that must fail; return the error the page shows."""
        response = self._submit_login(password)
        match = re.search(r'class="login_error"[^>]*>(.*?)</', response.text, re.S)
        if "jupyterhub-session-id" in self.session.cookies or not match:
            raise HubError(f"Login as {self.name} did not fail with a message: HTTP {response.status_code}")
        return " ".join(match.group(1).split())

    def sign_up(self, password: str) -> str:
        """Fill in NativeAuthenticator's sign-up form; return the message the page shows."""
        self.session.get(f"{self.url}/hub/signup", timeout=30).raise_for_status()
        response = self.session.post(
            f"{self.url}/hub/signup",
            data={
                "username": self.name,
                "signup_password": password,
                "signup_password_confirmation": password,
                "_xsrf": self.xsrf(),
            },
            timeout=60,
        )
        response.raise_for_status()
        match = re.search(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', response.text, re.S)
        if not match:
            raise HubError(f"The sign-up page shows no message: HTTP {response.status_code}\n{response.text[:1000]}")
        return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's REST API as this user (cookie plus xsrf header)."""
        headers = {"X-XSRFToken": self.xsrf(), **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs)

    def model(self) -> dict:
        response = self.api("GET", f"/users/{self.name}")
        response.raise_for_status()
        return response.json()

    def start(self, timeout: float = 600, *, running_ok: bool = True) -> float:
        """Ask for this user's server and wait until it is ready; return seconds taken.

        The hub answers 400 "... is already running" for a server that runs; that
        counts as started only with `running_ok`. Any other 400 ("is pending stop",
        say) is an error.
        """
        began = time.monotonic()
        response = self.api("POST", f"/users/{self.name}/server")
        already = response.status_code == 400 and "is already running" in response.text
        if response.status_code not in (201, 202) and not (already and running_ok):
            raise HubError(f"Starting {self.name}'s server: HTTP {response.status_code} {response.text[:500]}")

        def ready() -> bool:
            server = self.model().get("servers", {}).get("")
            if server is None and time.monotonic() - began > 5:
                raise HubError(f"{self.name}'s server stopped while starting; see the hub log.")
            return bool(server and server.get("ready"))

        wait_until(ready, timeout, f"{self.name}'s server was not ready", every=0.5, error=HubError)
        self._forget_server_cookies()
        return time.monotonic() - began

    def spawn_failure(self) -> str:
        """The message the browser's spawn page shows for this user's failed start."""
        return failed_event_message(self.api("GET", f"/users/{self.name}/server/progress").text)

    def _forget_server_cookies(self) -> None:
        """A new server run has a new OAuth session: drop the old one's cookies, as a browser would."""
        prefix = f"{self.root}/user/{self.name}/"
        for cookie in [c for c in self.session.cookies if (c.path or "").startswith(prefix)]:
            self.session.cookies.clear(cookie.domain, cookie.path, cookie.name)

    def stop(self, timeout: float = 120) -> None:
        """Stop this user's server and wait until the hub says it is gone."""
        response = self.api("DELETE", f"/users/{self.name}/server")
        if response.status_code not in (202, 204):
            raise HubError(f"Stopping {self.name}'s server: HTTP {response.status_code} {response.text[:500]}")
        self.wait_until_stopped(timeout, every=0.5)

    def wait_until_stopped(self, timeout: float, every: float = 2) -> float:
        """Wait until the hub no longer lists this user's server (stopped by anyone); return seconds waited."""
        began = time.monotonic()
        gone = lambda: "" not in self.model().get("servers", {})  # noqa: E731
        wait_until(gone, timeout, f"The hub still lists {self.name}'s server", every=every, error=HubError)
        return time.monotonic() - began

    def server(self, method: str, path: str, owner: str | None = None, **kwargs) -> requests.Response:
        """Call a single-user server's API through the proxy (the own server by default)."""
        prefix = f"/user/{owner or self.name}/"
        if not any((c.path or "").startswith(self.root + prefix) for c in self.session.cookies):
            # The first visit runs the OAuth handshake that gives this session the server's cookies.
            self.session.get(f"{self.url}{prefix}", timeout=60)  # HTML, not API: it redirects to the login flow
        headers = {"X-XSRFToken": self.xsrf(prefix), **kwargs.pop("headers", {})}
        url = f"{self.url}{prefix}api{path}"
        return self.session.request(method, url, headers=headers, timeout=60, **kwargs)

    def run_code(self, code: str, timeout: float = 180) -> str:
        """Execute code in a new kernel of this user's server; return its printed output (see kernel.py)."""
        return kernel.run_code(self, code, timeout)
