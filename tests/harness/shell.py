"""Run the commands of a page's shell block with bash, as a reader would paste them.

Readers type `docker compose`; machines that only have the older stand-alone
`docker-compose` (v1) get the same commands spelled that way. Given a block
(not bare text), a run that succeeds is noted as "ran" against the running
test, so the report can say which test ran which block.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

from . import blocks, compose, snippets


def run_commands(
    commands: snippets.Block | str,
    folder: pathlib.Path,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> str:
    """Run a block's commands with `bash -euo pipefail` in `folder`; fail with their output if a line fails."""
    text = commands.text if isinstance(commands, snippets.Block) else commands
    # Wherever it starts a command: at a line's start, indented in a loop, after `;`, `&&` or `$(`.
    script = re.sub(r"(?<![\w./-])docker compose ", compose.compose_command() + " ", text)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        check=False,
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"The page's commands failed in {folder} (exit {result.returncode}):\n{script}\n"
            f"--- output ---\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    if isinstance(commands, snippets.Block):
        blocks.note(commands, blocks.RAN)
    return result.stdout + result.stderr
