"""Where things live in this repository, named once."""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
EXAMPLES = ROOT / "examples"
MINIMAL = EXAMPLES / "minimal"
STANDINS = ROOT / "tests" / "standins"
REPORT = BUILD / "verified-snippets.json"
