"""Run the commands of a page's shell block with bash, as a reader would paste them.

The text runs unchanged: `docker compose` is Compose v2, as on the reader's
machine (harness.compose checks that it is there). Given a block
(not bare text), a run that succeeds is noted as "ran" against the running
test, so the report can say which test ran which block.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

from . import blocks, compose, snippets


def _bash(flags: str, text: str, folder: pathlib.Path, env: dict[str, str] | None, timeout: float):
    compose.version()  # no Compose v2: stop with the fix, not with a page's command failing
    return subprocess.run(
        ["bash", flags, "pipefail", "-c", text],
        check=False,
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_commands(
    commands: snippets.Block | str,
    folder: pathlib.Path,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> str:
    """Run a block's commands with `bash -euo pipefail` in `folder`; fail with their output if a line fails."""
    text = commands.text if isinstance(commands, snippets.Block) else commands
    result = _bash("-euo", text, folder, env, timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"The page's commands failed in {folder} (exit {result.returncode}):\n{text}\n"
            f"--- output ---\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    if isinstance(commands, snippets.Block):
        blocks.note(commands, blocks.RAN)
    return result.stdout + result.stderr


def run_failing(block: snippets.Block, folder: pathlib.Path, env: dict[str, str] | None = None) -> str:
    """Run a block that shows a failing command (a symptom); it must fail. Return its output; note it as run."""
    result = _bash("-uo", block.text, folder, env, 300)
    assert result.returncode != 0, f"{block.id} shows a failing command, but it succeeded:\n{result.stdout[-2000:]}"
    blocks.note(block, blocks.RAN)
    return result.stdout + result.stderr
