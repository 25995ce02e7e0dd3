"""The minimal example as its page describes it: the page's commands, run on a copy of the folder.

Both the end-to-end test and the failure tests start the example this way, so
what they prove is what the page tells a user to do.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import time
from collections.abc import Callable, Iterator

import docker

from . import compose, hub, paths, snippets

PAGE = "minimal-example.md"
URL = "http://127.0.0.1:8000"
NETWORK = "ai-lab-minimal"
PASSWORD_LINE_PREFIX = "export TRIAL_PASSWORD="


def block(name: str, page: str = PAGE) -> str:
    """The text of the one block with this :name: on a page."""
    found = [b for b in snippets.collect() if b.page == page and b.name == name]
    assert len(found) == 1, f"{page} must have exactly one block named {name!r}, found {len(found)}"
    return found[0].text


def trial_password(start_block: str | None = None) -> str:
    """The password the page's commands export, so the tests log in with what users type.

    `start_block` is the `minimal-start` text when it was read elsewhere (the
    benchmark reads it from its own build of the site).
    """
    for line in (start_block or block("minimal-start")).splitlines():
        if line.startswith(PASSWORD_LINE_PREFIX):
            return line.removeprefix(PASSWORD_LINE_PREFIX).strip("'\"")
    raise AssertionError(f"The minimal-start block no longer sets TRIAL_PASSWORD with `{PASSWORD_LINE_PREFIX}`.")


@contextlib.contextmanager
def running_copy(
    client: docker.DockerClient,
    scratch: pathlib.Path,
    project: str,
    users: tuple[str, ...],
    *,
    change: Callable[[pathlib.Path], None] | None = None,
    port: int = 8000,
    network: str = NETWORK,
) -> Iterator[dict]:
    """Copy the folder (optionally changed), start it with `minimal-start`, always clean up.

    `port` and `network` are the example's HUB_PORT and AI_LAB_NETWORK knobs,
    so a second copy (a benchmark, say) can run beside the first.

    Cleanup removes the users' containers, runs the page's `minimal-cleanup`
    block, then removes whatever a failed step may have left: the users'
    volumes, the hub's volume and the network.
    """
    folder = scratch / "minimal"
    shutil.copytree(paths.MINIMAL, folder)
    if change:
        change(folder)
    env = {"COMPOSE_PROJECT_NAME": project, "HUB_PORT": str(port), "AI_LAB_NETWORK": network}
    url = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    try:
        compose.run_block(block("minimal-start"), folder, env)
        hub.wait_until_up(url)
        yield {"folder": folder, "env": env, "url": url, "up_seconds": time.monotonic() - began}
    finally:
        # Users' containers first: a kept one (remove=False) would hold its volume.
        compose.remove_leftovers(client, containers=[f"ai-lab-{user}" for user in users])
        try:
            compose.run_block(block("minimal-cleanup"), folder, env, timeout=300)
        finally:
            compose.remove_leftovers(
                client,
                volumes=[f"ai-lab-notebooks-{user}" for user in users] + [f"{project}_hub-data"],
                networks=[network],
            )
