"""Servers the tests run as processes on this machine (pebble, Caddy, nginx, slapd, the OpenID provider).

Each runs with its output in a log file, is waited for until it answers, and
is stopped at the end. One that exits while the test waits fails the wait at
once, with the end of its log, instead of after the whole timeout.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import Callable, Iterator

from .wait import wait_until


@contextlib.contextmanager
def serving(
    command: list[str],
    log: pathlib.Path,
    what: str,
    answers: Callable[[], bool] = lambda: True,
    *,
    env: dict[str, str] | None = None,
    cwd: pathlib.Path | None = None,
    timeout: float = 30,
) -> Iterator[subprocess.Popen]:
    """Run `command` until the end, once `answers()` says it serves; `what` names it in errors."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd
        )
        try:

            def ready() -> bool:
                if process.poll() is not None:
                    raise RuntimeError(f"{what} exited (code {process.returncode}):\n{log.read_text()[-3000:]}")
                return answers()

            wait_until(ready, timeout, f"{what} did not answer")
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)
