"""A real OpenID Connect provider for the production example's OIDC login, and a browser's way through it.

The provider is npm's oidc-provider (tests/servers/oidc-provider.mjs), a Node.js
process on this machine. It listens on the host's address on Docker's default
network, which both sides reach: the test's HTTP session (the browser, sent to
the provider's login page) and the hub's container (which fetches the token and
the user info from there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import pathlib
import re
import tempfile
import urllib.parse
from collections.abc import Iterator

import requests

from . import hub, paths, snippets
from .certificates import free_port
from .processes import serving

SCRIPT = paths.ROOT / "tests" / "servers" / "oidc-provider.mjs"


def page_settings(block: snippets.Block) -> dict[str, str]:
    """The KEY=value lines a page's settings block appends to .env."""
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", block.text, re.M))


def registered_client(settings: dict[str, str], hub_url: str) -> dict:
    """The hub as a provider registers it: the page's client id and secret, and the callback under `hub_url`."""
    return {
        "client_id": settings["OIDC_CLIENT_ID"],
        "client_secret": settings["OIDC_CLIENT_SECRET"],
        "redirect_uris": [f"{hub_url}/hub/oauth_callback"],
    }


def visible_text(page: str) -> str:
    """A page's text as a browser shows it: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@dataclasses.dataclass(frozen=True)
class Provider:
    """A running provider, known by its issuer address."""

    issuer: str

    def addresses(self, public_url: str) -> dict[str, str]:
        """The production example's settings that are addresses: the hub's own and this provider's endpoints."""
        endpoints = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
        return {
            "HUB_PUBLIC_URL": public_url,
            "OIDC_AUTHORIZE_URL": endpoints["authorization_endpoint"],
            "OIDC_TOKEN_URL": endpoints["token_endpoint"],
            "OIDC_USERINFO_URL": endpoints["userinfo_endpoint"],
        }


@contextlib.contextmanager
def provider(host: str, client: dict, users: dict[str, list[str]]) -> Iterator[Provider]:
    """Run the provider on `host` with these users (name -> groups) and the hub as its one client.

    `client` has the hub's client_id, client_secret and redirect_uris, as an admin registers them.
    """
    port = free_port(host)
    issuer = f"http://{host}:{port}"
    client = client | {"grant_types": ["authorization_code"], "response_types": ["code"]}
    accounts = {name: {"groups": groups, "email": f"{name}@example.org"} for name, groups in users.items()}
    config = {"issuer": issuer, "host": host, "port": port, "client": client, "users": accounts}

    def answers() -> bool:
        try:
            return requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok
        except requests.ConnectionError:
            return False

    command = ["node", str(SCRIPT), json.dumps(config)]
    with tempfile.TemporaryDirectory(prefix="ailab-guide-oidc-") as logs:
        # cwd: tests/, whose node_modules holds oidc-provider
        with serving(command, pathlib.Path(logs) / "provider.log", "oidc-provider", answers, cwd=SCRIPT.parent.parent):
            yield Provider(issuer)


def form_action(page: requests.Response) -> str:
    found = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert found, f"no form on {page.url}: {page.text[:500]}"
    return urllib.parse.urljoin(page.url, found.group(1))


def log_in(user: hub.User) -> tuple[str, requests.Response]:
    """Log in as a browser does: the hub's login button, the provider's sign-in and consent, back to the hub.

    Returns the provider address the hub sent the browser to (its query shows
    PKCE) and the hub's answer to the provider's redirect, not followed (it
    would start the server; tests start it themselves).
    """
    session = user.session
    start = session.get(f"{user.url}/hub/oauth_login", allow_redirects=False, timeout=30)
    assert start.status_code == 302, f"the hub's login button: HTTP {start.status_code}"
    authorize = start.headers["Location"]
    sign_in = session.get(authorize, timeout=30)
    # The provider's development sign-in form takes any password; the hub's decision is what is tested.
    login = {"prompt": "login", "login": user.name, "password": "-"}
    consent = session.post(form_action(sign_in), data=login, timeout=30)
    answer = session.post(form_action(consent), data={"prompt": "consent"}, allow_redirects=False, timeout=30)
    callback = f"{user.url}/hub/oauth_callback"
    while answer.is_redirect:
        target = urllib.parse.urljoin(answer.url, answer.headers["Location"])
        answer = session.get(target, allow_redirects=False, timeout=60)
        if target.startswith(callback):
            return authorize, answer
    raise AssertionError(f"the provider never sent {user.name} back to the hub: HTTP {answer.status_code} {answer.url}")
