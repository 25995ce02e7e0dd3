"""The benchmark's own copy of the minimal example, beside the tests' and removed afterwards."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import textwrap
import time
from collections.abc import Iterator

import docker
import docker.errors

from .. import compose, hub, minimal_example, paths, shell
from .common import (
    BARE_HOME,
    BARE_TAG,
    BARE_USER,
    BENCH_AI_LAB_TAG,
    BENCH_HUB_TAG,
    NETWORK,
    PORT,
    PREFIX,
    PROJECT,
    START_SETTING_VARIABLE,
    URL,
    log,
)

# Appended to the copied jupyterhub_config.py: names of the bench's own, and a
# hook that gives the bare-image user the bare image, so both images are timed
# by the same hub in the same run, spawn after spawn.
CONFIG_ADDITION = f'''

# --- Added by the benchmark (tests/harness/bench/) ---------------------------
c.DockerSpawner.name_template = "{PREFIX}-{{username}}"
c.DockerSpawner.volumes = {{"{PREFIX}-{{username}}": "/home/jupyter/notebooks"}}


def bench_bare_image(spawner):
    """The comparison user gets the bare single-user image, with its volume at that image's home."""
    if spawner.user.name.startswith("{BARE_USER}"):
        spawner.image = "{BARE_TAG}"
        spawner.volumes = {{"{PREFIX}-{{username}}": "{BARE_HOME}"}}
        spawner.notebook_dir = "{BARE_HOME}"
        spawner.default_url = "/lab"


c.Spawner.pre_spawn_hook = bench_bare_image

# How the hub starts many servers at once: BENCH_START_SETTING, chosen per round
# by restarting the hub (see burst.py). "today" leaves the example as it is.
import asyncio  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from dockerspawner import DockerSpawner  # noqa: E402
from jupyterhub.utils import wait_for_http_server  # noqa: E402

BENCH_START_SETTING = os.environ.get("BENCH_START_SETTING") or "today"
_kind, _, _count = BENCH_START_SETTING.rpartition("-")
if _kind == "spawn-limit":
    c.JupyterHub.concurrent_spawn_limit = int(_count)
    c.JupyterHub.spawn_throttle_retry_range = (10, 20)
elif _kind == "executor":

    class WiderDockerSpawner(DockerSpawner):
        """DockerSpawner with more than its one thread for calls to the Docker engine."""

        _executor = ThreadPoolExecutor(int(_count))

    c.JupyterHub.spawner_class = WiderDockerSpawner
elif _kind == "queue":
{{queue}}
    QueuedDockerSpawner.slots = asyncio.Semaphore(int(_count))
'''

# The same jupyterhub-singleuser at the hub's version, with the AI Lab's
# JupyterLab version, in a plain Python: what a spawn costs without the AI Lab.


# --- The bench's own copy of the minimal example -------------------------------


def adapt(folder: pathlib.Path) -> None:
    """Give the copy names of its own, so it never touches the tests' images, containers or volumes."""
    compose_file = folder / "docker-compose.yml"
    text = compose_file.read_text()
    for old, new in (("image: ai-lab-hub:", f"image: {PREFIX}-hub:"), ("ai-lab-singleuser:", f"{PREFIX}-singleuser:")):
        assert old in text, f"docker-compose.yml no longer has {old!r}; update {__file__}"
        text = text.replace(old, new)
    network_line = "      DOCKER_NETWORK_NAME:"
    assert network_line in text, f"docker-compose.yml no longer sets {network_line.strip()}; update {__file__}"
    setting = f"      {START_SETTING_VARIABLE}: ${{{START_SETTING_VARIABLE}:-}}\n"
    text = text.replace(network_line, setting + network_line, 1)
    compose_file.write_text(text)
    config = folder / "jupyterhub_config.py"
    addition = CONFIG_ADDITION.replace("{queue}", textwrap.indent(production_queue(), "    "))
    config.write_text(config.read_text() + addition)


def production_queue() -> str:
    """The start queue exactly as the production example defines it, so the bench times what users copy."""
    text = (paths.EXAMPLES / "production" / "jupyterhub_config.py").read_text()
    begin, end = "# [start-queue]\n", "# [start-queue-end]"
    assert begin in text and end in text, f"the production config lost its {begin.strip()} markers; update {__file__}"
    return text.split(begin, 1)[1].split(end, 1)[0]


def ours(client: docker.DockerClient) -> dict[str, list[str]]:
    """Everything on the engine that the bench created."""
    project = {"label": f"com.docker.compose.project={PROJECT}"}
    containers = [c.name for c in client.containers.list(all=True, filters={"name": PREFIX})]
    containers += [c.name for c in client.containers.list(all=True, filters=project)]
    return {
        "containers": sorted({n for n in containers if n.startswith((PREFIX, PROJECT))}),
        "volumes": sorted(v.name for v in client.volumes.list() if v.name.startswith((PREFIX, PROJECT))),
        "networks": sorted(n.name for n in client.networks.list(names=[NETWORK]) if n.name == NETWORK),
    }


def clean_up(client: docker.DockerClient, folder: pathlib.Path, env: dict[str, str]) -> None:
    """Remove the bench's users' containers, then the compose project (no --rmi), then anything left."""
    compose.remove_leftovers(client, containers=[n for n in ours(client)["containers"] if n.startswith(PREFIX)])
    try:
        shell.run_commands("docker compose down --volumes", folder, env, timeout=300)
    finally:
        left = ours(client)
        compose.remove_leftovers(client, **left)
        for tag in (BENCH_HUB_TAG, BENCH_AI_LAB_TAG):
            # By tag and without force: an image the tests also tag only loses the bench's name.
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag)
    still = {kind: names for kind, names in ours(client).items() if names}
    if still:
        raise RuntimeError(f"The bench could not remove: {still}")


class BenchHub:
    """The running bench hub: its folder, and a way to restart it with another start setting."""

    def __init__(self, folder: pathlib.Path, env: dict[str, str]) -> None:
        self.folder, self.env, self.setting = folder, env, "today"

    def use(self, setting: str) -> None:
        """Recreate the hub container with BENCH_START_SETTING (no user server may be running)."""
        if setting == self.setting:
            return
        began = time.monotonic()
        env = {**self.env, START_SETTING_VARIABLE: setting}
        shell.run_commands("docker compose up --detach --no-deps --no-build hub", self.folder, env, timeout=300)
        hub.wait_until_up(URL)
        self.setting = setting
        log(f"bench hub restarted with {START_SETTING_VARIABLE}={setting} in {time.monotonic() - began:.0f} s")


@contextlib.contextmanager
def bench_hub(client: docker.DockerClient, scratch: pathlib.Path, start_block: str) -> Iterator[BenchHub]:
    """The minimal example, copied and adapted, started with the page's block; always cleaned up."""
    folder = scratch / "minimal"
    shutil.copytree(paths.MINIMAL, folder)
    adapt(folder)
    env = {"COMPOSE_PROJECT_NAME": PROJECT, "HUB_PORT": str(PORT), "AI_LAB_NETWORK": NETWORK}
    try:
        began = time.monotonic()
        shell.run_commands(start_block, folder, env, timeout=1200)
        hub.wait_until_up(URL)
        log(f"bench hub up on {URL} in {time.monotonic() - began:.0f} s")
        # The page's block exports the password; a restart by compose alone must be given it again.
        yield BenchHub(folder, {**env, "TRIAL_PASSWORD": minimal_example.trial_password(start_block)})
    finally:
        clean_up(client, folder, env)
        log("bench hub removed, with its containers, volumes and network")
