"""Run the commands a page shows, in a copy of an example folder, as a user would.

Users type `docker compose`; machines that only have the older stand-alone
`docker-compose` (v1) get the same command spelled that way.
"""

from __future__ import annotations

import functools
import os
import pathlib
import re
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


def run_block(commands: str, folder: pathlib.Path, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    """Run a page's shell block with bash in `folder`; fail with its output if a line fails."""
    # Wherever it starts a command: at a line's start, indented in a loop, after `;`, `&&` or `$(`.
    script = re.sub(r"(?<![\w./-])docker compose ", compose_command() + " ", commands)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        check=False,
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"The page's commands failed in {folder} (exit {result.returncode}):\n{script}\n"
            f"--- output ---\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr


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
