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

from . import blocks, compose, downloads, hub, report, shell


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
    default_port: int = 8000  # HUB_PORT when a reader sets none


@contextlib.contextmanager
def running_copy(
    client: docker.DockerClient,
    scratch: pathlib.Path,
    scenario: Scenario,
    project: str | None,
    users: tuple[str, ...],
    *,
    change: Callable[[pathlib.Path], None] | None = None,
    port: int = 8000,
    network: str | None = None,
    env: dict[str, str] | None = None,
    prepare: Callable[[pathlib.Path], None] | None = None,
    verify: bool | str = True,
    url: str | None = None,
) -> Iterator[dict]:
    """Unpack the archive the page links, as a reader does, and start it with the page's start block.

    Yields the copy's folder, the environment its commands ran with, its URL
    and the seconds the start took.

    `change` edits the copied folder first (a deliberate breakage); `prepare`
    runs before the start block (the page's own set-up steps, say). `port` is
    the example's HUB_PORT; `url` is where the hub answers when the page's own
    set-up moved it (a port and path in .env; `port` is then left to them).
    `project` and `network` set COMPOSE_PROJECT_NAME and AI_LAB_NETWORK, so a
    second copy can run beside the first; None keeps
    what a reader gets (the folder's name, the example's network). Every
    setting that differs from the page is noted in the report.

    At the end the page's clean-up block runs first, on everything the copy
    made, and is then judged: whatever of the copy's containers, volumes,
    networks and images it left fails the test (unless the test already
    failed). Only after that verdict is the rest removed.
    """
    folder = downloads.unpacked_example(scenario.page, scenario.example, scratch)
    if change:
        change(folder)
        what = (change.__doc__ or "a deliberate breakage").strip().splitlines()[0]
        report.deviation(f"{scenario.page}: {scenario.start}", f"run on a copy changed first ({what})")
    overrides = {"HUB_PORT": str(port)} if port != scenario.default_port and not url else {}
    overrides |= {"COMPOSE_PROJECT_NAME": project} if project else {}
    overrides |= {"AI_LAB_NETWORK": network} if network else {}
    env = {**overrides, **(env or {})}
    network = network or scenario.network
    project = project or folder.name
    for key, value in env.items():
        report.deviation(f"{scenario.page}: {scenario.start}", f"{key}={value} in the environment of the commands")
    url = url or f"{scenario.scheme}://127.0.0.1:{port}"
    began = time.monotonic()
    shipped_env = (folder / ".env").read_text()  # the page's set-up steps may append settings to it
    failed, images = False, []
    containers = [f"{scenario.prefix}{user}" for user in users]
    volumes = [f"{scenario.prefix}notebooks-{user}" for user in users]
    compose.Made(project, network, containers, [], volumes).assert_absent(client)
    try:
        if prepare:
            prepare(folder)
        images = compose.images(folder, env)
        shell.run_commands(blocks.named(scenario.page, scenario.start), folder, env)
        hub.wait_until_up(url, verify=verify)
        if change is None:  # a deliberately broken copy is not what the page shows
            used = (folder / ".env").read_text()
            assert used.startswith(shipped_env), "the page's set-up changed .env instead of adding to it"
            blocks.assert_files_in_use(scenario.example, {".env": shipped_env})  # compose read it for the start
        yield {"folder": folder, "env": env, "url": url, "up_seconds": time.monotonic() - began}
    except BaseException:
        failed = True
        raise
    finally:
        made = compose.Made(project, network, containers, images, volumes)
        cleanup = blocks.named(scenario.page, scenario.cleanup)
        left = compose.cleaned_up(client, made, lambda: shell.run_commands(cleanup, folder, env, timeout=300))
        if left and not failed:
            raise AssertionError(f"The page's clean-up block {scenario.cleanup} left behind:\n{left}")
