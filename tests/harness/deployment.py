"""An example folder brought up with its page's own commands, in a scratch copy, always cleaned up.

The minimal and the production examples both run this way, so what their
tests prove is what the pages tell a user to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import time
from collections.abc import Callable, Iterator

import docker

from . import blocks, compose, downloads, hub, shell


@dataclasses.dataclass(frozen=True)
class Scenario:
    """An example folder, the page that documents it, and that page's start and clean-up blocks."""

    example: str
    page: str
    start: str
    cleanup: str
    network: str
    scheme: str = "http"
    prefix: str = "ai-lab-"  # of the users' containers, `<prefix><user>`, and volumes, `<prefix>notebooks-<user>`


@contextlib.contextmanager
def running_copy(
    client: docker.DockerClient,
    scratch: pathlib.Path,
    scenario: Scenario,
    project: str,
    users: tuple[str, ...],
    *,
    change: Callable[[pathlib.Path], None] | None = None,
    port: int = 8000,
    network: str | None = None,
    env: dict[str, str] | None = None,
    prepare: Callable[[pathlib.Path], None] | None = None,
    verify: bool | str = True,
) -> Iterator[dict]:
    """Unpack the archive the page links, as a reader does, and start it with the page's start block.

    Yields the copy's folder, the environment its commands ran with, its URL
    and the seconds the start took.

    `change` edits the copied folder first (a deliberate breakage); `prepare`
    runs before the start block (the page's own set-up steps, say). `port`
    and `network` are the example's HUB_PORT and AI_LAB_NETWORK knobs, so a
    second copy can run beside the first.

    Cleanup removes the users' containers, runs the page's clean-up block,
    then removes whatever a failed step may have left: the users' volumes,
    the hub's volume and the network.
    """
    folder = downloads.unpacked_example(scenario.page, scenario.example, scratch)
    if change:
        change(folder)
    network = network or scenario.network
    env = {"COMPOSE_PROJECT_NAME": project, "HUB_PORT": str(port), "AI_LAB_NETWORK": network, **(env or {})}
    url = f"{scenario.scheme}://127.0.0.1:{port}"
    began = time.monotonic()
    shipped_env = (folder / ".env").read_text()  # the page's set-up steps may append settings to it
    try:
        if prepare:
            prepare(folder)
        shell.run_commands(blocks.named(scenario.page, scenario.start), folder, env)
        hub.wait_until_up(url, verify=verify)
        if change is None:  # a deliberately broken copy is not what the page shows
            used = (folder / ".env").read_text()
            assert used.startswith(shipped_env), "the page's set-up changed .env instead of adding to it"
            blocks.assert_files_in_use(scenario.example, {".env": shipped_env})  # compose read it for the start
        yield {"folder": folder, "env": env, "url": url, "up_seconds": time.monotonic() - began}
    finally:
        # Users' containers first: a kept one (remove=False) would hold its volume.
        compose.remove_leftovers(client, containers=[f"{scenario.prefix}{user}" for user in users])
        try:
            shell.run_commands(blocks.named(scenario.page, scenario.cleanup), folder, env, timeout=300)
        finally:
            compose.remove_leftovers(
                client,
                volumes=[f"{scenario.prefix}notebooks-{user}" for user in users] + [f"{project}_hub-data"],
                networks=[network],
            )
