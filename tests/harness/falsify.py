"""Falsifiers: small edits that make a page's sentence false, and the tests that must then fail.

tests/falsifiers/<page>.yaml lists those of each page. Each has an `id` (a short
name), the `claim` (page and sentence), the `file` it edits, either `find` and
`replace` (the text must occur exactly once) or `append`, the `tests` (pytest node
ids) that must fail, and `docker` (whether those tests need the engine). The
claims audit (tests/claims/) names the falsifiers of each claim. `nox -s falsify` first runs every named test on
an unchanged scratch copy (they must pass), then applies each falsifier to a scratch
copy of the project (the files git tracks, as they are now), builds the site
there, runs only the named tests, and records the falsifier as "killed" (the
tests failed, as they must), "survived" (they passed: the claim's test does
not hold the sentence; a defect to fix) or "broken" (the edit no longer
applies, or pytest could not run). The results go to
docs/_static/falsify.json, which the testing page shows.

Run: python -m harness.falsify [--only ID,ID] [--kind docker|free] [--record] (from nox, with the
tests' packages). A full run replaces the record; a partial one with --record updates its falsifiers.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from . import compose, engine, paths

LISTS = paths.ROOT / "tests" / "falsifiers"
RESULTS = paths.DOCS / "_static" / "falsify.json"
KILLED, SURVIVED, BROKEN = "killed", "survived", "broken"


@dataclasses.dataclass(frozen=True)
class Falsifier:
    """One edit (replace `find` by `replace` in `file`, or `append` to it) and the tests that must fail."""

    id: str
    claim: str
    file: str
    tests: list[str]
    find: str = ""
    replace: str = ""
    append: str = ""
    docker: bool = True

    def apply(self, root: pathlib.Path) -> None:
        """Edit the copy; the text to find must be there exactly once (else the falsifier is stale)."""
        path = root / self.file
        text = path.read_text()
        if self.append:
            path.write_text(text + self.append)
            return
        found = text.count(self.find)
        if found != 1:
            raise ValueError(f"{self.id}: {self.file} has {found} copies of the text to replace, not one")
        path.write_text(text.replace(self.find, self.replace))


def load(folder: pathlib.Path = LISTS) -> list[Falsifier]:
    """Every page's falsifiers, page by page."""
    return [
        Falsifier(**entry) for path in sorted(folder.glob("*.yaml")) for entry in yaml.safe_load(path.read_text()) or []
    ]


def copy_project(into: pathlib.Path) -> None:
    """The tracked files as they are in the work tree, plus the installed axe-core the site audit needs."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, check=True).stdout
    for name in filter(None, names.decode().split("\0")):
        source = paths.ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    modules = paths.ROOT / "tests" / "node_modules"
    if modules.is_dir():
        shutil.copytree(modules, into / "tests" / "node_modules", symlinks=True)


def in_file_order(tests: list[str]) -> list[str]:
    """The node ids as a full run orders them: module by module, each in the order of its file.

    pytest runs node ids given on the command line in the order given; tests of a
    module that share a running example must not run in alphabetical order.
    """

    def place(test: str) -> tuple[str, int]:
        module, _, name = test.partition("::")
        function = re.escape(name.split("[")[0])
        found = re.search(rf"^(?:async )?def {function}\(", (paths.ROOT / module).read_text(), re.M)
        return module, found.start() if found else -1

    return sorted(dict.fromkeys(tests), key=place)


def run_tests(root: pathlib.Path, pytest_command: list[str], tests: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*pytest_command, "-p", "no:cacheprovider", "-q", *in_file_order(tests)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CI": ""},
    )


def control(falsifiers: list[Falsifier], pytest_command: list[str]) -> None:
    """Every named test, on an unchanged copy, must pass: else a kill would say nothing."""
    tests = [test for falsifier in falsifiers for test in falsifier.tests]
    with tempfile.TemporaryDirectory(prefix="ailab-guide-falsify-") as tmp:
        root = pathlib.Path(tmp)
        copy_project(root)
        built = build_site(root)
        if built.returncode != 0:  # else a falsifier's failed build would count as a kill it did not make
            raise SystemExit(f"The unchanged project's site does not build; fix that first:\n{built.stderr[-3000:]}")
        done = run_tests(root, pytest_command, tests)
    if done.returncode != 0:
        raise SystemExit(f"The falsifiers' tests fail on the unchanged project; fix that first:\n{done.stdout[-3000:]}")
    print(f"control: the {len(set(tests))} named tests pass on the unchanged project", flush=True)


def build_site(root: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-c", ".", "-d", "docs/_build/doctrees", "docs", "docs/_build/html"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def run_one(falsifier: Falsifier, pytest_command: list[str]) -> dict:
    """Apply one falsifier to a scratch copy and run its tests there; a Docker one leaves the engine as it found it."""
    before = engine.inventory() if falsifier.docker else None
    try:
        return falsified(falsifier, pytest_command)
    finally:
        now = engine.inventory() if before is not None else None
        if now is not None:  # a copy that failed half-way skipped its own clean-up; images stay, as a build cache
            left = now - before
            compose.remove_leftovers(
                engine.connect(), sorted(left.containers), sorted(left.volumes), sorted(left.networks)
            )


def falsified(falsifier: Falsifier, pytest_command: list[str]) -> dict:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ailab-guide-falsify-") as tmp:
        root = pathlib.Path(tmp)
        copy_project(root)
        try:
            falsifier.apply(root)
        except ValueError as exc:
            return {"id": falsifier.id, "outcome": BROKEN, "detail": str(exc), "seconds": 0}
        build = build_site(root)
        if build.returncode != 0:  # a page that no longer builds is a falsifier the build itself kills
            # ... but only an edit of a page or of a file a page includes can be what broke it
            outcome = KILLED if falsifier.file.startswith(("docs/", "examples/")) else BROKEN
            detail = "the site build failed: " + build.stderr.strip()[-300:]
        else:
            done = run_tests(root, pytest_command, falsifier.tests)
            detail = (done.stdout.strip().splitlines() or [""])[-1]
            # Exit 1 with a failed or erring test in pytest's last line: a status set for another reason is no kill.
            failed = done.returncode == 1 and any(word in detail for word in (" failed", " error"))
            outcome = SURVIVED if done.returncode == 0 else KILLED if failed else BROKEN
    return {"id": falsifier.id, "outcome": outcome, "detail": detail, "seconds": round(time.monotonic() - began)}


def revision() -> str:
    """The commit the scratch copies were made from, marked `-dirty` when tracked files differ from it."""
    git = lambda *args: subprocess.run(  # noqa: E731
        ["git", *args], cwd=paths.ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    record = f":!{RESULTS.relative_to(paths.ROOT).as_posix()}"  # the results file itself makes no difference
    return git("rev-parse", "--short", "HEAD") + (
        "-dirty" if git("status", "--porcelain", "--untracked-files=no", "--", ".", record) else ""
    )


def merged(earlier: dict, run: dict, results: list[dict], falsifiers: list[Falsifier]) -> dict:
    """The record after a run: each falsifier's latest result (with its run's date and commit), in list order.

    A falsifier no longer listed is dropped; one not yet run has no result, and the testing page says how many.
    """
    latest = {r["id"]: r for r in earlier.get("results", [])} | {r["id"]: r for r in results}
    listed = [latest[f.id] for f in falsifiers if f.id in latest]
    return {"runs": [*earlier.get("runs", []), run][-20:], "listed": len(falsifiers), "results": listed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="", help="comma-separated falsifier ids")
    parser.add_argument("--kind", choices=("all", "docker", "free"), default="all", help="free: without Docker")
    parser.add_argument("--record", action="store_true", help="merge a partial run into docs/_static/falsify.json")
    parser.add_argument(
        "--suite-passed",
        action="store_true",
        help="skip the control run: the full `nox -s tests` passed on this very commit, with a clean tree",
    )
    args = parser.parse_args()
    pytest_command = json.loads(os.environ["FALSIFY_PYTEST"])
    wanted = set(filter(None, args.only.split(",")))
    every = load()
    chosen = [
        f for f in every
        if (not wanted or f.id in wanted) and args.kind in ("all", "docker" if f.docker else "free")
    ]  # fmt: skip
    began = time.monotonic()
    results, commit = [], revision()
    if not args.suite_passed:
        control(chosen, pytest_command)
    elif commit.endswith("-dirty"):
        raise SystemExit("--suite-passed speaks for a commit: commit or stash the changes first")
    full = len(chosen) == len(every)
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() and not full else {}

    def save() -> dict:
        """The run so far, into the record after every falsifier: a run stopped early keeps what it did."""
        run = {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit,
            "scope": "full" if full else f"{len(results)} of {len(every)}",
            "seconds": round(time.monotonic() - began),
            "control": "the full test suite at this commit" if args.suite_passed else "the named tests, unchanged copy",
        }
        if full or args.record:
            RESULTS.write_text(json.dumps(merged(earlier, run, results, every), indent=2) + "\n")
        return run

    for falsifier in chosen:
        result = run_one(falsifier, pytest_command)
        when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        results.append(
            {**result, "tests": falsifier.tests, "claim": falsifier.claim, "docker": falsifier.docker}
            | {"date": when, "commit": commit}
        )
        print(f"{result['outcome']:>8}  {falsifier.id}  ({result['seconds']} s)  {result['detail']}", flush=True)
        save()
    run = save()
    killed = sum(r["outcome"] == KILLED for r in results)
    print(f"{killed} of {len(results)} falsifiers killed in {run['seconds']} s")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
