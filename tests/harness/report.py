"""The test run's report of every code block: docs/_build/verified-snippets.json.

The site shows its summary (the {verification-summary} directive), so readers
see how many blocks were checked, and how, on the run that built the site.
Summary keys are plain snake_case: the directive shows them with spaces.
"""

from __future__ import annotations

import json

from . import paths, standins

_blocks: dict[str, object] = {}  # block id -> snippets.Block, in page order
_checks: dict[str, list[dict]] = {}
_counted: dict[str, set[str]] = {}
_metrics: dict[str, float] = {}
_timings: dict[str, float] = {}


def register(block) -> None:
    """Note a collected block (a snippets.Block), so the report lists it even without a check."""
    _blocks[block.id] = block


def record(block_id: str, check: str, passed: bool, detail: str = "") -> None:
    """Note the result of one check on one block (block_id from snippets)."""
    _checks.setdefault(block_id, []).append({"check": check, "passed": passed, "detail": detail})


def count(measure: str, item: str) -> None:
    """Count a distinct thing done, such as a Dockerfile built or a config loaded."""
    _counted.setdefault(measure, set()).add(item)


def metric(name: str, value: float) -> None:
    """Note a measured value, such as the MB the AI Lab image adds to its base."""
    _metrics[name] = value


def timing(name: str, seconds: float) -> None:
    """Note how long a phase took (a stand-in build, a spawn), for the report and the CI log."""
    _timings[name] = round(seconds, 1)


def _entry(block) -> dict:
    return {
        "id": block.id,
        "page": block.page,
        "line": block.line,
        "language": block.language,
        "source": block.source,
        "checks": _checks.get(block.id, []),
        "unchecked_reason": block.unchecked_reason,
    }


def summary(entries: list[dict]) -> dict:
    def passed(entry: dict) -> bool:
        return bool(entry["checks"]) and all(check["passed"] for check in entry["checks"])

    return {
        "blocks": len(entries),
        "verified": sum(1 for entry in entries if not entry["unchecked_reason"] and passed(entry)),
        "unchecked_with_reason": sum(1 for entry in entries if entry["unchecked_reason"]),
        "failed": sum(1 for entry in entries if any(not check["passed"] for check in entry["checks"])),
        "dockerfiles_built": len(_counted.get("dockerfiles_built", ())),
        "configs_loaded": len(_counted.get("configs_loaded", ())),
        "image_overhead_mb": _metrics.get("image_overhead_mb"),
        "stand_ins_used": sum(1 for base in standins.seen() if base.is_standin),
    }


def write() -> None:
    """Write the report; called once at the end of the test session, only if blocks were collected."""
    if not _blocks:
        return
    entries = [_entry(block) for block in _blocks.values()]
    data = {
        "summary": summary(entries),
        "blocks": entries,
        "base_images": [{"ref": b.ref, "origin": b.origin, "seconds": b.seconds} for b in standins.seen()],
        "timings_seconds": _timings,
    }
    if _timings:
        standins.announce("Timings (s): " + ", ".join(f"{name} {value}" for name, value in _timings.items()))
    paths.BUILD.mkdir(parents=True, exist_ok=True)
    paths.REPORT.write_text(json.dumps(data, indent=2) + "\n")
