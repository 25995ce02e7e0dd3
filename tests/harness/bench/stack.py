"""The benchmark's own copy of the minimal example, beside the tests' and removed afterwards."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import time
from collections.abc import Iterator

import docker
import docker.errors

from .. import compose, hub, paths, shell
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
    compose_file.write_text(text)
    config = folder / "jupyterhub_config.py"
    config.write_text(config.read_text() + CONFIG_ADDITION)


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


@contextlib.contextmanager
def bench_hub(client: docker.DockerClient, scratch: pathlib.Path, start_block: str) -> Iterator[pathlib.Path]:
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
        yield folder
    finally:
        clean_up(client, folder, env)
        log("bench hub removed, with its containers, volumes and network")
