"""The versions the guide is tested with, read from the examples' pins.

Each example pins its versions in one `.env` file (read by docker compose).
The site, nox and the tests read the same file, so a version is typed once.
"""

from __future__ import annotations

import pathlib
import platform

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


def pins(example: str = "minimal") -> dict[str, str]:
    """Return the KEY=value pins of an example's .env file."""
    result = {}
    for line in (EXAMPLES / example / ".env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip()
    return result


def substitutions() -> dict[str, str]:
    """MyST substitutions such as {{ jupyterhub_version }} for the pages."""
    values = {key.lower(): value for key, value in pins().items()}
    for key, value in pins("production").items():  # the production example's extra packages
        values.setdefault(key.lower(), value)
    values["build_python_version"] = platform.python_version()
    return values
