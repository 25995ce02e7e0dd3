"""Docker Compose as the tests meet it: the v2 plugin the pages name, and what its projects leave.

The pages say `docker compose`, and the tests run exactly that: no command is
respelled for the end-of-life stand-alone `docker-compose` (v1). A machine
without Compose v2 stops the run with a message that says how to get it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

import docker
import docker.errors


@functools.cache
def version() -> str:
    """The version of `docker compose` (v2); a missing plugin or v1 raises with the fix."""
    result = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, check=False)
    found = result.stdout.strip().removeprefix("v")
    if result.returncode != 0 or not found.startswith("2."):
        v1 = shutil.which("docker-compose")
        raise RuntimeError(
            "The pages' commands need Docker Compose v2 as `docker compose`"
            + (f", and this machine has only {v1} (Compose v1, end of life)" if v1 else ", which this machine lacks")
            + ". Run `sudo bash .ci/setup-machine` (Debian and Ubuntu), or install the Compose plugin: "
            "https://docs.docker.com/compose/install/linux/"
        )
    return found


def remove_leftovers(
    client: docker.DockerClient,
    containers: list[str] = (),
    volumes: list[str] = (),
    networks: list[str] = (),
    images: list[str] = (),
) -> None:
    """Remove what a test created, whatever state a failed step left it in."""
    for name in containers:
        try:
            client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
    for name in networks:
        for network in client.networks.list(names=[name]):
            for container in network.attrs.get("Containers") or {}:
                network.disconnect(container, force=True)
            network.remove()
    for name in volumes:
        try:
            client.volumes.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
    for name in images:
        try:
            client.images.remove(name, force=True)
        except docker.errors.ImageNotFound:
            pass


def service_container(client: docker.DockerClient, project: str, service: str):
    """The one running container of a compose service, found by compose's labels."""
    labels = [f"com.docker.compose.project={project}", f"com.docker.compose.service={service}"]
    (container,) = client.containers.list(filters={"label": labels})
    return container


ENGINE_CPU_SHARES = 1024  # the CPU weight the engine gives a container that sets none (it reports 0)


def cpu_weights(*containers) -> list[int]:
    """Each container's weight for the CPU against the others, as the engine applies it."""
    return [c.attrs["HostConfig"]["CpuShares"] or ENGINE_CPU_SHARES for c in containers]


def assert_hub_outweighs(hub, user) -> None:
    """The hub's CPU weight is ten times the engine's default, which a user's container keeps."""
    weights = cpu_weights(hub, user)
    assert weights == [10 * ENGINE_CPU_SHARES, ENGINE_CPU_SHARES], weights
