"""Stop and start the Docker engine, as a reboot of the host does, and always start it again.

The engine is started again exactly as it was found: with systemd, through
`systemctl`; otherwise (`.ci/setup-machine` starts `dockerd` in the
background) with the running daemon's own command line, working directory,
environment and log file, read from /proc before it is stopped. Whatever the
test does while the engine is down, `engine_stopped` starts it again and waits
until `docker info` answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import subprocess
from collections.abc import Iterator

from . import background
from .wait import wait_until

PROC = pathlib.Path("/proc")


class EngineRestartError(AssertionError):
    """The engine could not be stopped or did not come back."""


@dataclasses.dataclass(frozen=True)
class Daemon:
    """How the running engine was started: by systemd, or as a process with this command line."""

    systemd: bool
    pid: int = 0
    argv: tuple[str, ...] = ()
    cwd: str = "/"
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    log: str = "/dev/null"


def _dockerd_pids() -> list[int]:
    """The host's engine: engines in containers (Docker-in-Docker swarm nodes) run in pid namespaces of their own."""
    ours = _pid_namespace(PROC / "self")
    return [
        int(p.name) for p in PROC.iterdir() if p.name.isdigit() and _comm(p) == "dockerd" and _pid_namespace(p) == ours
    ]


def _comm(process: pathlib.Path) -> str:
    try:
        return (process / "comm").read_text().strip()
    except OSError:  # the process ended while we looked
        return ""


def _pid_namespace(process: pathlib.Path) -> str:
    try:
        return os.readlink(process / "ns" / "pid")
    except OSError:
        return ""


def _under_systemd() -> bool:
    if not pathlib.Path("/run/systemd/system").is_dir():
        return False
    return subprocess.run(["systemctl", "is-active", "--quiet", "docker"], check=False).returncode == 0


def running_daemon() -> Daemon:
    """Read how the running engine was started."""
    if _under_systemd():
        return Daemon(systemd=True)
    pids = _dockerd_pids()
    if len(pids) != 1:
        raise EngineRestartError(f"Expected one dockerd process, found {len(pids)}: {pids}")
    process = PROC / str(pids[0])
    argv = tuple(part.decode() for part in (process / "cmdline").read_bytes().split(b"\0") if part)
    environ = (process / "environ").read_bytes().split(b"\0")
    env = dict(entry.decode().split("=", 1) for entry in environ if b"=" in entry)
    return Daemon(
        systemd=False,
        pid=pids[0],
        argv=argv,
        cwd=os.readlink(process / "cwd"),
        env=env,
        log=os.readlink(process / "fd" / "1"),
    )


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30).returncode == 0


def stop(daemon: Daemon, timeout: float = 180) -> None:
    """Stop the engine as a shutdown does: it stops every container first."""
    if daemon.systemd:
        # The socket unit would start the engine again at the next request.
        subprocess.run(["systemctl", "stop", "docker.socket", "docker"], check=True, timeout=timeout)
        return
    os.kill(daemon.pid, signal.SIGTERM)
    wait_until(
        lambda: not (PROC / str(daemon.pid)).exists(),
        timeout,
        f"dockerd (pid {daemon.pid}) did not stop",
        error=EngineRestartError,
    )


def start(daemon: Daemon, timeout: float = 120) -> None:
    """Start the engine as it was started before, and wait until `docker info` answers."""
    if daemon.systemd:
        subprocess.run(["systemctl", "start", "docker"], check=True, timeout=timeout)
    elif not _dockerd_pids():
        # A background shell starts it and exits, so the daemon outlives the tests
        # (as `nohup dockerd >log 2>&1 &` of .ci/setup-machine); the log is appended to.
        subprocess.run(
            ["sh", "-c", 'log="$1"; shift; nohup "$@" >>"$log" 2>&1 </dev/null &', "sh", daemon.log, *daemon.argv],
            cwd=daemon.cwd,
            env=daemon.env,
            check=True,
            start_new_session=True,
            timeout=30,
        )
    wait_until(engine_answers, timeout, "The Docker engine did not answer after its start", error=EngineRestartError)


@contextlib.contextmanager
def engine_stopped() -> Iterator[Daemon]:
    """Stop the engine for the body of the `with`; start it again afterwards, even if the body fails.

    Background checks that use the engine (harness/background.py) end first: a stop would kill their containers.
    """
    background.settle()
    daemon = running_daemon()
    try:
        stop(daemon)
        yield daemon
    finally:
        start(daemon)
