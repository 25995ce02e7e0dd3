"""What every check shares: its failure, its record, and running a tool in a subprocess."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Callable

from ..snippets import Block

NAME_PREFIX = "ailab-guide-check-"  # containers, networks and volumes the checks create (and remove)


class CheckFailed(AssertionError):
    """A block does not do what the page says; the message says what and where."""


@dataclasses.dataclass(frozen=True)
class Check:
    name: str  # also the key of its level in report.CHECK_LEVELS
    docker: bool
    run: Callable[..., str]  # run(block) or run(block, client); returns a detail, raises CheckFailed
    applies: Callable[[Block], bool] = lambda block: True


def tool(name: str) -> str:
    """The path of a command-line tool, from PATH or the running Python's environment."""
    found = shutil.which(name) or shutil.which(name, path=str(pathlib.Path(sys.executable).parent))
    if not found:
        raise CheckFailed(f"`{name}` is not installed; install docs/requirements.txt (nox does).")
    return found


def run_process(args: list[str], *, stdin: str | None = None, cwd=None, env=None, timeout: float = 120):
    """Run a tool, capturing its text output; the caller judges the exit code."""
    return subprocess.run(
        args, check=False, input=stdin, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def file_or_text(block: Block) -> str:
    """A block from a file is checked as the whole file: that is what readers download."""
    return block.source_path.read_text() if block.source_path else block.text
