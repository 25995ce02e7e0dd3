"""Docker Compose as the tests meet it: the v2 plugin the pages name, and what its projects leave.

The pages say `docker compose`, and the tests run exactly that: no command is
respelled for the end-of-life stand-alone `docker-compose` (v1). A machine
without Compose v2 stops the run with a message that says how to get it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
from collections.abc import Callable

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


def images(folder, env: dict[str, str]) -> list[str]:
    """The images a compose project in `folder` uses (`docker compose config --images`), as its commands see them."""
    result = subprocess.run(
        ["docker", "compose", "config", "--images"], cwd=folder, env={**os.environ, **env},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return sorted(set(result.stdout.split()))


@dataclasses.dataclass(frozen=True)
class Made:
    """What a running copy of an example makes: its compose project, network, users' containers and volumes, images."""

    project: str
    network: str
    containers: list[str]
    images: list[str]
    volumes: list[str]

    def found(self, client: docker.DockerClient) -> dict[str, set[str]]:
        """Its containers, volumes, networks and images still on the engine, by kind."""
        labelled = {"label": f"com.docker.compose.project={self.project}"}
        named = {"name": [f"^{name}$" for name in self.containers]} if self.containers else None
        return {
            "containers": {c.name for c in client.containers.list(all=True, filters=labelled)}
            | ({c.name for c in client.containers.list(all=True, filters=named)} if named else set()),
            "volumes": {v.name for v in client.volumes.list(filters=labelled)}
            | {v.name for v in client.volumes.list() if v.name in self.volumes},
            "networks": {n.name for n in client.networks.list(filters=labelled)}
            | {n.name for n in client.networks.list(names=[self.network]) if n.name == self.network},
            "images": {ref for ref in self.images if _image_exists(client, ref)},
        }

    def left(self, client: docker.DockerClient) -> str:
        """What of it is still on the engine, one line per kind, or ""."""
        return "\n".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in self.found(client).items() if names)

    def assert_absent(self, client: docker.DockerClient) -> None:
        """Refuse to start over what is already there: a run that was stopped half-way, or someone's own deployment.

        Starting on it would reuse its volumes (an admin who already signed up,
        say) and fail far from the cause; removing it is not a test's to do.
        """
        found = {kind: names for kind, names in self.found(client).items() if names and kind != "images"}
        if found:
            listed = "\n".join(f"  {kind}: {', '.join(sorted(names))}" for kind, names in found.items())
            raise RuntimeError(
                f"The engine already holds objects of compose project {self.project}, which this test makes anew:\n"
                f"{listed}\nA test run that was stopped half-way leaves these behind. Remove them (`docker rm -f`, "
                "`docker volume rm`, `docker network rm` with the names above), or run the tests on a machine "
                "without a deployment of that name."
            )

    def remove(self, client: docker.DockerClient) -> None:
        """Remove all of it, whatever state a failed step left it in."""
        found = self.found(client)
        remove_leftovers(client, *(sorted(found[kind]) for kind in ("containers", "volumes", "networks", "images")))


def cleaned_up(client: docker.DockerClient, made: Made, cleanup: Callable[[], object]) -> str:
    """Run a page's clean-up, then return what of `made` it left ("" if nothing); remove all of it after the verdict."""
    try:
        cleanup()
        return made.left(client)
    finally:
        made.remove(client)


def _image_exists(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


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
