"""The test run's report of every code block: docs/_build/verified-snippets.json."""

from __future__ import annotations

import json

from . import paths, standins

_checks: dict[str, list[dict]] = {}


def record(block_id: str, check: str, passed: bool, detail: str = "") -> None:
    """Note the result of one check on one block (block_id from snippets)."""
    _checks.setdefault(block_id, []).append({"check": check, "passed": passed, "detail": detail})


def write() -> None:
    """Write the report; called once at the end of the test session."""
    if not _checks:
        return
    paths.BUILD.mkdir(parents=True, exist_ok=True)
    data = {
        "checks": _checks,
        "base_images": [{"ref": b.ref, "origin": b.origin} for b in standins.seen()],
    }
    paths.REPORT.write_text(json.dumps(data, indent=2))
