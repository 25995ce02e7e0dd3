"""Docker Compose as the tests meet it: how it is spelled here, and what its projects leave.

Users type `docker compose`; machines that only have the older stand-alone
`docker-compose` (v1) get the same command spelled that way (shell.run_commands).
"""

from __future__ import annotations

import functools
import shutil
import subprocess

import docker
import docker.errors


@functools.cache
def compose_command() -> str:
    """`docker compose` where the plugin exists, else `docker-compose`."""
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return "docker compose"
    if shutil.which("docker-compose"):
        return "docker-compose"
    raise RuntimeError("Neither `docker compose` nor `docker-compose` is installed; see the README.")


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
    """The one running container of a compose service, found by compose's labels (v1 and v2 name them differently)."""
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
