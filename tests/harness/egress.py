"""Stand-ins for what a user's code should not reach: a cloud's metadata service and a service of the host.

The metadata service answers at 169.254.169.254 from a network namespace of
its own behind a veth pair, so a user's request to it is routed through the
host and Docker's FORWARD chain, as a request to a real cloud's metadata
service leaves the host. The host's service is a TCP listener on every
address of the host, as an admin's database or monitoring agent might be.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator

from . import wait

METADATA = "169.254.169.254"
_NAMESPACE = "ailab-guide-meta"
_HOST_SIDE, _NS_SIDE = "ailab-meta0", "ailab-meta1"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def metadata_service() -> Iterator[str]:
    """An HTTP server at 169.254.169.254:80, one routed hop from the host; yields the address."""
    _ip("netns", "add", _NAMESPACE)
    server = None
    try:
        _ip("link", "add", _HOST_SIDE, "type", "veth", "peer", "name", _NS_SIDE)
        _ip("link", "set", _NS_SIDE, "netns", _NAMESPACE)
        _ip("addr", "add", "169.254.169.253/30", "dev", _HOST_SIDE)
        _ip("link", "set", _HOST_SIDE, "up")
        inside = ("netns", "exec", _NAMESPACE, "ip")
        _ip(*inside, "addr", "add", f"{METADATA}/30", "dev", _NS_SIDE)
        _ip(*inside, "link", "set", _NS_SIDE, "up")
        _ip(*inside, "link", "set", "lo", "up")
        server = subprocess.Popen(
            ["ip", "netns", "exec", _NAMESPACE, "python3", "-m", "http.server", "--bind", METADATA, "80"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = ["ip", "netns", "exec", _NAMESPACE, "python3", "-c", _CONNECT.format(host=METADATA, port=80)]
        answers = lambda: subprocess.run(probe, check=False, capture_output=True).returncode == 0  # noqa: E731
        wait.wait_until(answers, 5, "the stand-in metadata service did not answer", every=0.1)
        yield METADATA
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", _HOST_SIDE], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", _NAMESPACE], check=False, capture_output=True)


_CONNECT = "import socket; socket.create_connection(({host!r}, {port}), timeout=1).close()"


@contextlib.contextmanager
def host_service() -> Iterator[int]:
    """A TCP listener on every address of the host that accepts and closes; yields its port."""
    listener = socket.create_server(("0.0.0.0", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                listener.accept()[0].close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def filter_rules() -> str:
    """The host's INPUT and DOCKER-USER chains, to check that the page's undo leaves them as they were."""
    chains = [
        subprocess.run(["iptables", "-S", chain], check=True, capture_output=True, text=True).stdout
        for chain in ("INPUT", "DOCKER-USER")
    ]
    return "".join(chains)


def remove_added_rules(before: str) -> list[str]:
    """Delete every rule of INPUT and DOCKER-USER that `before` (filter_rules) lacks; return those rules.

    The page's undo block should leave nothing; when it does not (a falsifier removed a line of it), the
    machine must still get its firewall back, or later tests find their connections refused.
    """
    added = [rule for rule in filter_rules().splitlines() if rule.startswith("-A ") and rule not in before.splitlines()]
    for rule in added:
        subprocess.run(["iptables", "-D", *rule.split()[1:]], check=True, capture_output=True)
    return added
