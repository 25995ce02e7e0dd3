"""The minimal example as its page describes it: the page's commands, run on a copy of the folder.

Both the end-to-end test and the failure tests start the example this way, so
what they prove is what the page tells a user to do.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import docker

from . import blocks, deployment

PAGE = "minimal-example.md"
URL = "http://127.0.0.1:8000"
NETWORK = "ai-lab-minimal"
PASSWORD_LINE_PREFIX = "export TRIAL_PASSWORD="
SCENARIO = deployment.Scenario("minimal", PAGE, "minimal-start", "minimal-cleanup", NETWORK)
PROJECT = "minimal"  # compose's default project name, the folder's


def trial_password(start_block: str | None = None) -> str:
    """The password the page's commands export, so the tests log in with what users type.

    `start_block` is the `minimal-start` text when it was read elsewhere (the
    benchmark reads it from its own build of the site).
    """
    for line in (start_block or blocks.named(PAGE, "minimal-start").text).splitlines():
        if line.startswith(PASSWORD_LINE_PREFIX):
            return line.removeprefix(PASSWORD_LINE_PREFIX).strip("'\"")
    raise AssertionError(f"The minimal-start block no longer sets TRIAL_PASSWORD with `{PASSWORD_LINE_PREFIX}`.")


def running_copy(
    client: docker.DockerClient,
    scratch: pathlib.Path,
    project: str | None,
    users: tuple[str, ...],
    *,
    change: Callable[[pathlib.Path], None] | None = None,
    port: int = 8000,
    network: str | None = None,
):
    """The minimal example copied (optionally changed) and started with `minimal-start`; see deployment.

    `project` None runs it under compose's default project name, PROJECT, as a reader's does.
    """
    return deployment.running_copy(client, scratch, SCENARIO, project, users, change=change, port=port, network=network)
