"""The project's own loop: how long the site takes to build, and the test suite to run."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

from .. import minimal_example, paths, snippets
from .common import PREFIX, log, spread, timed

# --- 4. The project's own loop: the site build ----------------------------------

STRICT = ("-b", "html", "-W", "--keep-going", "-n")  # as `nox -s docs` builds: any warning fails


def sphinx(out: str, *options: str) -> list[str]:
    """sphinx-build of the site into out/html, its doctrees in out/doctrees."""
    return [sys.executable, "-m", "sphinx", "-c", ".", "-d", f"{out}/doctrees", "docs", f"{out}/html", *options]


def minimal_start(doctrees: pathlib.Path) -> str:
    """The minimal-start block as a build parsed it, not from docs/_build, which the tests may be rewriting."""
    found = [b.text for b in snippets.collect(doctrees) if b.page == minimal_example.PAGE and b.name == "minimal-start"]
    assert len(found) == 1, f"{minimal_example.PAGE} must have one block named minimal-start"
    return found[0]


def start_block_alone() -> str:
    """Build the site once (no timing) for the minimal-start block, when the site build is not measured."""
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-site-") as tmp:
        # The blocks are all it needs; the plots may await this run.
        timed(sphinx(tmp, "-q", "-D", "nb_execution_mode=off"), paths.ROOT)
        return minimal_start(pathlib.Path(tmp) / "doctrees")


def site_build(repeats: int) -> tuple[dict, str]:
    """Cold and warm sphinx-build of the site into temp dirs; also return the minimal-start block."""
    cold, warm, start_block = [], [], ""
    for run in range(repeats):
        with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-site-") as tmp:
            command = sphinx(tmp, *STRICT, "-q")
            cold.append(timed(command, paths.ROOT))
            warm.append(timed(command, paths.ROOT))
            log(f"site build {run + 1}/{repeats}: cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s")
            start_block = start_block or minimal_start(pathlib.Path(tmp) / "doctrees")
    result = {
        "command": "sphinx-build -c . -d <tmp>/doctrees docs <tmp>/html -b html -W --keep-going -n -q",
        "cold_seconds": [round(s, 3) for s in cold],
        "warm_seconds": [round(s, 3) for s in warm],
        "cold": spread(cold),
        "warm": spread(warm),
    }
    return result, start_block


def suite_time(skip: bool) -> dict:
    """Run the whole test suite once, images cached, the way `nox -s tests` runs it; time it.

    Runs before the bench starts anything, so the two never share the engine. The
    pytest command comes from noxfile.py (BENCH_PYTEST), so the two cannot drift apart.
    """
    if skip:
        return {"seconds": None, "passed": None, "note": "not measured (--quick)"}
    pytest = os.environ.get("BENCH_PYTEST")
    if not pytest:
        raise SystemExit("timing the test suite needs the pytest command of `nox -s tests`: run `nox -s bench`")
    subprocess.run(sphinx("docs/_build", *STRICT, "-q"), cwd=paths.ROOT, check=True)
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", *shlex.split(pytest), "-q", "-p", "no:cacheprovider"],
        cwd=paths.ROOT,
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.monotonic() - began, 1)
    tail = result.stdout.strip().splitlines()[-1:] or [""]
    log(f"test suite: {seconds} s, {tail[0]}")
    if result.returncode != 0:
        failures = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        log("test suite failures:\n" + "\n".join(failures or result.stdout.splitlines()[-40:]))
    return {"seconds": seconds, "passed": result.returncode == 0, "outcome": tail[0], "note": "pytest, images cached"}
