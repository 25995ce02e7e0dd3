"""The versions the guide is tested with, read from the examples' pins.

Each example pins its versions in one `.env` file (read by docker compose).
The site, nox and the tests read the same file, so a version is typed once.
"""

from __future__ import annotations

import json
import pathlib
import platform
import re

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"
# What the last passing full test run ran on (engine, Compose, machine, real or stand-in base
# images, the pins it tested), written by that run (tests/harness/report.py) and committed.
TESTED_WITH = pathlib.Path(__file__).resolve().parents[2] / "_static" / "tested-with.json"


def parse_env(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines as compose reads .env (comments and blank lines allowed).

    Raises ValueError naming the first line that is not KEY=VALUE.
    """
    pins = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        match = re.fullmatch(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
        if not match:
            raise ValueError(f"line {number} is not KEY=VALUE: {line!r}")
        pins[match.group(1)] = match.group(2)
    return pins


def pins(example: str = "minimal") -> dict[str, str]:
    """Return the KEY=value pins of an example's .env file."""
    return parse_env((EXAMPLES / example / ".env").read_text())


def substitutions() -> dict[str, str]:
    """MyST substitutions such as {{ jupyterhub_version }} for the pages."""
    values = {key.lower(): value for key, value in pins().items()}
    for key, value in pins("production").items():  # the production example's extra packages
        values.setdefault(key.lower(), value)
    values["build_python_version"] = platform.python_version()
    # A link into JupyterHub's source at the pinned version (a substitution cannot sit inside a link target).
    values["jupyterhub_version_check"] = (
        "[JupyterHub's version check](https://github.com/jupyterhub/jupyterhub/blob/"
        f"{values['jupyterhub_version']}/jupyterhub/_version.py)"
    )
    # The tests' own servers, pinned in tests/package.json (the OpenID Connect provider).
    node_packages = json.loads((EXAMPLES.parent / "tests" / "package.json").read_text())["dependencies"]
    values["oidc_provider_version"] = node_packages["oidc-provider"]
    environment = tested_with().get("environment", {})
    values["tested_engine"] = environment.get("engine") or "(no full test run recorded)"
    values["tested_compose"] = environment.get("compose") or "(no full test run recorded)"
    for server in ("nginx", "slapd", "caddy", "pebble"):  # the real servers the tests start (Debian's packages)
        values[f"tested_{server}"] = environment.get(server) or "(no full test run recorded)"
    return values


def standin_lock_path(version: str) -> pathlib.Path:
    """The AI Lab stand-in's lock for a release (tests/harness/standin_lock.py writes it)."""
    return EXAMPLES.parent / "tests" / "standins" / "ai-lab" / f"requirements-{version}.lock"


def standin_lock(version: str) -> tuple[dict[str, str], dict[str, str]]:
    """The lock's installed pins (name -> version) and what its header leaves out (name==version -> why)."""
    text = standin_lock_path(version).read_text()
    installed = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.M))
    left_out = dict(re.findall(r"^#   (\S+==\S+): (.*)$", text, re.M))
    return installed, left_out


def tested_with() -> dict:
    """The last passing full test run's record (TESTED_WITH), or {} before the first."""
    return json.loads(TESTED_WITH.read_text()) if TESTED_WITH.exists() else {}
