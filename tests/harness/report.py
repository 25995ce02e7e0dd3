"""The test run's report of every code block: docs/_build/verified-snippets.json.

Each block gets one verification level, the strongest that a check or a
passing test of THIS run reached (see LEVELS). A level counts as verified only
if a wrong line in the block would have turned a check red. The report also
says which run wrote it (date, commit, full or partial), and a partial run
(deselected or skipped tests, a narrower selection) lists the checks it did
not run as "not run" instead of leaving the last full run's results standing.
The site shows the summary (the {verification-summary} directive).
"""

from __future__ import annotations

import datetime
import json
import platform
import subprocess

from ailab_guide import versions

from . import blocks, compose, engine, paths, standins

# Strongest first. The first seven are "verified": a check that a wrong line turns red ran and passed.
RUN = "run end to end"
BUILT = "built"
STARTED = "loaded and started"
EXECUTED = "executed"
REPRODUCED = "output reproduced"
SCHEMA = "validated against a schema"
RUN_ELSEWHERE = "run with the site's address replaced"  # a download block, served by a local copy of the site
SYNTAX = "syntax-checked only"
GENERATED = "generated at build time"
UNCHECKED = "unchecked with a reason"
NOT_RUN = "not run"
FAILED = "failed"
LEVELS = (
    *(RUN, BUILT, STARTED, EXECUTED, REPRODUCED, SCHEMA, RUN_ELSEWHERE),
    *(SYNTAX, GENERATED, UNCHECKED, NOT_RUN, FAILED),
)
VERIFIED = frozenset(LEVELS[:7])

# What each check of checks.py proves, as a level.
CHECK_LEVELS = {
    "docker build": BUILT,
    "hub starts": STARTED,
    "python": EXECUTED,
    "config traits": SCHEMA,
    "compose config": SCHEMA,
    "hadolint": SYNTAX,
    "whole file": SYNTAX,
    "yaml": SYNTAX,
    "KEY=VALUE": SYNTAX,
    "bash -n": SYNTAX,
    "sh -n": SYNTAX,
    "executed in build": GENERATED,
}
USE_LEVELS = {
    blocks.RAN: RUN,
    blocks.STARTED: STARTED,
    blocks.REPRODUCED: REPRODUCED,
    blocks.VALIDATED: SCHEMA,
    blocks.RAN_ELSEWHERE: RUN_ELSEWHERE,
}

_blocks: dict[str, object] = {}  # block id -> snippets.Block, in page order
_expected: dict[str, list[str]] = {}  # block id -> the names of the checks that apply to it
_kinds: dict[str, str] = {}  # block id -> what it is (checks.kind)
_checks: dict[str, list[dict]] = {}
_counted: dict[str, set[str]] = {}
_metrics: dict[str, float] = {}
_timings: dict[str, float] = {}
_outcomes: dict[str, str] = {}  # test node id -> passed, failed or skipped (over setup, call and teardown)
_deviations: set[tuple[str, str]] = set()  # (where, what the harness ran differently from the page)
_run: dict[str, object] = {"deselected": 0, "narrowed": ""}


def register(block, expected: list[str] = (), kind: str = "") -> None:
    """Note a collected block (a snippets.Block), what it is and the checks that apply to it."""
    _blocks[block.id] = block
    _expected[block.id] = list(expected)
    _kinds[block.id] = kind


def record(block_id: str, check: str, passed: bool, detail: str = "") -> None:
    """Note the result of one check on one block (block_id from snippets)."""
    _checks.setdefault(block_id, []).append({"check": check, "passed": passed, "detail": detail})


def outcome(test: str, phase: str, result: str) -> None:
    """Note one phase's outcome of a test (from pytest_runtest_logreport); a failed phase fails the test."""
    before = _outcomes.get(test)
    if before == "failed" or (before == "skipped" and result == "passed"):
        return
    if result == "passed" and phase != "call" and before is None:
        return  # a passed setup or teardown says nothing yet
    _outcomes[test] = result


def deviation(where: str, what: str) -> None:
    """Note what the tests ran differently from a page (an address, a port, an added line), for the testing page."""
    _deviations.add((where, what))


def deselected(count: int) -> None:
    _run["deselected"] = int(_run["deselected"]) + count


def narrowed(why: str) -> None:
    """Note that the run chose fewer tests than the whole suite (a path, -k or -m)."""
    _run["narrowed"] = why


def count(measure: str, item: str) -> None:
    """Count a distinct thing done, such as a Dockerfile built or a config loaded."""
    _counted.setdefault(measure, set()).add(item)


def metric(name: str, value: float) -> None:
    """Note a measured value, such as the MB the AI Lab image adds to its base."""
    _metrics[name] = value


def timing(name: str, seconds: float) -> None:
    """Note how long a phase took (a stand-in build, a spawn), for the report and the CI log."""
    _timings[name] = round(seconds, 1)


def _tests(block_id: str) -> list[dict]:
    return [
        {"test": test, "use": use, "outcome": _outcomes.get(test, "not finished")}
        for use, tests in sorted(blocks.uses().get(block_id, {}).items())
        for test in sorted(tests)
    ]


def level(entry: dict) -> str:
    """The strongest level this run reached for a block (FAILED if any of its checks failed)."""
    if any(not check["passed"] for check in entry["checks"]):
        return FAILED
    reached = {CHECK_LEVELS.get(check["check"], SYNTAX) for check in entry["checks"]}
    reached |= {
        USE_LEVELS[use["use"]] for use in entry["tests"] if use["use"] in USE_LEVELS and use["outcome"] == "passed"
    }
    if entry["unchecked_reason"]:
        reached.add(UNCHECKED)
    if entry["not_run"] or not reached:
        reached.add(NOT_RUN)
    return min(reached, key=LEVELS.index)


def _entry(block) -> dict:
    checks = _checks.get(block.id, [])
    done = {check["check"] for check in checks}
    entry = {
        "id": block.id,
        "page": block.page,
        "line": block.line,
        "name": block.name,
        "language": block.language,
        "kind": _kinds.get(block.id, ""),
        "source": block.source,
        "checks": checks,
        "not_run": [name for name in _expected.get(block.id, []) if name not in done],
        "tests": _tests(block.id),
        "unchecked_reason": block.unchecked_reason,
    }
    entry["level"] = level(entry)
    entry["verified"] = entry["level"] in VERIFIED
    return entry


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def run_info() -> dict:
    """Which run wrote the report: when, at which commit, and whether it ran the whole suite."""
    results = list(_outcomes.values())
    skipped = results.count("skipped")
    partial = [
        why
        for why in (
            f"{_run['deselected']} tests deselected" if _run["deselected"] else "",
            f"{skipped} tests skipped" if skipped else "",
            str(_run["narrowed"]),
        )
        if why
    ]
    commit = _git("rev-parse", "--short", "HEAD")
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+changes" if commit and _git("status", "--porcelain") else ""),
        "scope": "partial" if partial else "full",
        "partial_because": partial,
        "tests_passed": results.count("passed"),
        "tests_failed": results.count("failed"),
        "environment": environment(),
    }


def environment() -> dict:
    """What ran the pages' commands: the Docker engine, Compose, the machine's OS and cgroup version."""
    found = {"os": platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())}
    try:
        info = engine.connect().info()
        found["engine"] = info.get("ServerVersion")
        found["cgroup"] = info.get("CgroupVersion")
    except engine.EngineUnavailable:
        found["engine"] = None
    try:
        found["compose"] = compose.version()
    except RuntimeError:
        found["compose"] = None
    return found | server_versions()


# The real servers the tests start as processes: Debian's packages (.ci/setup-machine installs them).
SERVERS = ("nginx", "slapd", "caddy", "pebble")


def server_versions() -> dict[str, str | None]:
    """The package versions of the reverse proxies, directory and CA the tests ran (None where one is missing)."""
    found = {}
    for name in SERVERS:
        try:
            said = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True,
                                  check=False, timeout=10)  # fmt: skip
        except FileNotFoundError:  # no dpkg: not a Debian machine
            said = None
        found[name] = said.stdout.strip() if said and said.returncode == 0 and said.stdout.strip() else None
    return found


def write_tested_with(run: dict) -> None:
    """After a passing full run, record what it ran on for the pages' "Tested with" tables (versions.TESTED_WITH)."""
    record = {
        "run": {key: run[key] for key in ("date", "commit", "tests_passed")},
        "environment": run["environment"],
        "pins": {example: versions.pins(example) for example in ("minimal", "production")},
        "base_images": [{"ref": b.ref, "stand_in": b.is_standin} for b in standins.seen()],
    }
    versions.TESTED_WITH.write_text(json.dumps(record, indent=2) + "\n")


def summary(entries: list[dict]) -> dict:
    levels = {name: sum(1 for entry in entries if entry["level"] == name) for name in LEVELS}
    return {
        "blocks": len(entries),
        "verified": sum(1 for entry in entries if entry["verified"]),
        "levels": levels,
        "verified_levels": len(VERIFIED),
        "dockerfiles_built": len(_counted.get("dockerfiles_built", ())),
        "configs_loaded": len(_counted.get("configs_loaded", ())),
        "image_overhead_mb": _metrics.get("image_overhead_mb"),
        "stand_ins_used": sum(1 for base in standins.seen() if base.is_standin),
    }


def problems(entries: list[dict]) -> list[str]:
    """What a full run must not leave: failed blocks, blocks nothing ran, commands only syntax-checked."""
    found = []
    for entry in entries:
        where = f"{entry['id']}" + (f" ({entry['name']})" if entry["name"] else "")
        if entry["level"] == NOT_RUN:
            found.append(f"{where}: no check and no passing test used it (harness.blocks, harness.shell)")
        elif entry["level"] == SYNTAX and entry["kind"] == "shell":
            found.append(
                f"{where}: readers run these commands, but only `bash -n` read them; run them in a test "
                "(harness.shell.run_commands) or say on the page why not (`% unchecked: <reason>`)"
            )
    return found


def write() -> list[str]:
    """Write the report (at the end of a session that collected blocks and ran tests); return a full run's problems."""
    if not _blocks or not _outcomes:
        return []
    entries = [_entry(block) for block in _blocks.values()]
    run = run_info()
    data = {
        "run": run,
        "summary": summary(entries),
        "blocks": entries,
        "base_images": [{"ref": b.ref, "origin": b.origin, "seconds": b.seconds} for b in standins.seen()],
        "deviations": [{"where": where, "what": what} for where, what in sorted(_deviations)],
        "timings_seconds": _timings,
    }
    if _timings:
        standins.announce("Timings (s): " + ", ".join(f"{name} {value}" for name, value in _timings.items()))
    paths.BUILD.mkdir(parents=True, exist_ok=True)
    paths.REPORT.write_text(json.dumps(data, indent=2) + "\n")
    if run["scope"] != "full":
        return []
    found = problems(entries)
    if not found and not run["tests_failed"]:
        write_tested_with(run)
    return found
