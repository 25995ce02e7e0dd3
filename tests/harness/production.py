"""The production example, started from its page's download with the page's own set-up steps.

The end-to-end test of the production page and the day-2 tests (administration,
team folder, isolation and faults) each start one copy of it for their module;
they run one after another, never side by side, because every copy uses the
example's fixed names (`ai-lab-production-*`).
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import re
from collections.abc import Callable, Iterator

import docker
from ailab_guide import hubconfig

from . import blocks, compose, deployment, hub, paths, report, shell, snippets

PAGE = "production.md"
SCENARIO = deployment.Scenario(
    "production",
    PAGE,
    "production-start",
    "production-uninstall",
    "ai-lab-production",
    scheme="https",
    prefix="ai-lab-production-",
    default_port=443,
)
PROJECT = "production"  # compose's default project name, the folder's: the tests set none, as readers do
PORT = 8443


def block(name: str) -> snippets.Block:
    return blocks.named(PAGE, name)


def admin_name() -> str:
    """The admin account the page's settings block names (HUB_ADMIN)."""
    match = re.search(r"HUB_ADMIN=([\w.-]+)", block("production-settings").text)
    assert match, "production-settings no longer sets HUB_ADMIN"
    return match.group(1)


@contextlib.contextmanager
def running(
    client: docker.DockerClient,
    scratch: pathlib.Path,
    users: tuple[str, ...],
    *,
    change: Callable[[pathlib.Path], None] | None = None,
    env: dict[str, str] | None = None,
    steps: tuple[snippets.Block | Callable[[pathlib.Path], None], ...] = (),
    certificate: bool = True,
    url: str | None = None,
) -> Iterator[dict]:
    """Unpack, make the certificate and settings as the page says, start; yield the running copy.

    `steps` are more of the pages' set-up blocks, run after the settings (the OpenID Connect settings, say),
    or steps a page gives in words, as functions of the folder (copy a CA certificate, say).
    Behind a reverse proxy there is no `certificate` to make, and the settings move the hub to `url`.

    The dict holds `folder`, `env`, `url`, `up_seconds` and `verify` (the
    self-signed certificate a client must trust). `users` are the accounts
    whose containers and volumes the clean-up removes, the admin included.
    """
    bundle = scratch / "examples" / "production" / "secrets" / "tls.crt"

    def set_up(folder: pathlib.Path) -> None:
        if certificate:
            shell.run_commands(block("production-certificate"), folder)
        shell.run_commands(block("production-settings"), folder)
        for step in steps:
            if isinstance(step, snippets.Block):
                shell.run_commands(step, folder)
            else:
                step(folder)

    with deployment.running_copy(
        client,
        scratch,
        SCENARIO,
        None,
        (admin_name(), *users),
        port=PORT,
        change=change,
        env=env,
        prepare=set_up,
        verify=str(bundle) if certificate else True,
        url=url,
    ) as up:
        up["verify"] = str(bundle) if certificate else True
        yield up


def person(stack: dict, name: str) -> hub.User:
    """A browser-like session on the running copy, trusting its certificate."""
    return hub.User(stack["url"], name, verify=stack["verify"])


def signed_up_admin(stack: dict, password: str) -> hub.User:
    """The admin signs up (the page's quoted message) and logs in."""
    admin = person(stack, admin_name())
    blocks.assert_in_output(block("production-admin-signup"), admin.sign_up(password), exact=True)
    admin.login(password)
    return admin


def approved_user(stack: dict, admin: hub.User, name: str, password: str) -> hub.User:
    """`name` signs up, the admin approves the account, and the user logs in (server not started)."""
    user = person(stack, name)
    user.sign_up(password)
    response = admin.session.get(f"{stack['url']}/hub/authorize/{name}", timeout=30)
    assert response.status_code == 200, f"approving {name}: HTTP {response.status_code}"
    user.login(password)
    return user


def started_user(stack: dict, name: str, password: str) -> hub.User:
    """The admin signs up (with `password` and "-admin"), approves `name`, who logs in and starts her server."""
    admin = signed_up_admin(stack, password + "-admin")
    user = approved_user(stack, admin, name, password)
    user.start()
    return user


def run(stack: dict, name: str, **env: str) -> str:
    """Run one of the page's command blocks in the running copy's folder."""
    return shell.run_commands(block(name), stack["folder"], {**stack["env"], **env}, timeout=900)


def user_container(client: docker.DockerClient, name: str):
    return client.containers.get(f"{SCENARIO.prefix}{name}")


def hub_container(client: docker.DockerClient):
    return compose.service_container(client, PROJECT, "hub")


def record_start(stack: dict) -> None:
    report.timing("production example: build and start (production-start)", stack["up_seconds"])


@functools.cache
def shared_volumes() -> frozenset[str]:
    """The volumes every user's container mounts on purpose (the team folder)."""
    config = paths.EXAMPLES / "production" / "jupyterhub_config.py"
    return hubconfig.shared_volumes(hubconfig.load(config, hubconfig.compose_environment("production")))


def private_mounts(container) -> list[str]:
    """The names of the volumes a user's container mounts, the shared team folder left out."""
    shared = shared_volumes()
    return [mount["Name"] for mount in container.attrs["Mounts"] if mount.get("Name") not in shared]
