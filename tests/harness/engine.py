"""The Docker engine every test builds and runs on.

Tests talk to a real engine through the Docker SDK for Python. When there is
none, the error says how to get one instead of failing deep inside a test.
"""

from __future__ import annotations

import dataclasses
import os

import docker
import docker.errors

HOW_TO_GET_ONE = (
    "Start a Docker engine and make sure `docker info` works for this user. "
    "On Debian or Ubuntu, as root: `bash .ci/setup-machine` installs and starts one. "
    "Elsewhere see https://docs.docker.com/engine/install/."
)


class EngineUnavailable(RuntimeError):
    """No Docker engine answers; the message names the fix."""


def in_ci() -> bool:
    """CI sets CI=true; there a missing engine is an error, never a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def connect() -> docker.DockerClient:
    """Return a client for the engine named by DOCKER_HOST (or the local socket)."""
    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        raise EngineUnavailable(f"No Docker engine answers ({exc}). {HOW_TO_GET_ONE}") from exc
    return client


def run_once(client: docker.DockerClient, image: str, command: list[str], **create: object) -> tuple[int, str]:
    """Run a command in a new container; return its exit code and output.

    The container is removed with its anonymous volumes (the AI Lab image
    declares one), so a test leaves nothing behind.
    """
    container = client.containers.create(image, command=command, **create)
    try:
        container.start()
        code = container.wait(timeout=300)["StatusCode"]
        return code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True, v=True)


@dataclasses.dataclass(frozen=True)
class Inventory:
    """The containers, volumes, networks and images on the engine, to check that tests clean up.

    An image is one entry per tag, `<short id> <tag>`, or `<short id> <none>`
    when it has no tag. So a tag left on an image that was there before counts
    as new; an image that was there before and only lost its tags does not.
    """

    containers: frozenset[str]
    volumes: frozenset[str]
    networks: frozenset[str]
    images: frozenset[str] = frozenset()

    def __sub__(self, before: Inventory) -> Inventory:
        known = {entry.split(" ", 1)[0] for entry in before.images}
        images = {
            entry
            for entry in self.images - before.images
            if entry.split(" ", 1)[0] not in known or not entry.endswith(" <none>")
        }
        return Inventory(
            self.containers - before.containers,
            self.volumes - before.volumes,
            self.networks - before.networks,
            frozenset(images),
        )

    def __bool__(self) -> bool:
        return bool(self.containers or self.volumes or self.networks or self.images)

    def __str__(self) -> str:
        parts = {"containers": self.containers, "volumes": self.volumes, "networks": self.networks}
        parts["images"] = self.images
        return "\n".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in parts.items() if names)

    def without_images_tagged(self, tags: set[str]) -> Inventory:
        """The same, minus the entries of those tags (the base images the tests made available)."""
        return dataclasses.replace(self, images=frozenset(e for e in self.images if e.split(" ", 1)[1] not in tags))


def image_entries(image) -> set[str]:
    """How the inventory names an image: `<short id> <tag>` per tag, or `<short id> <none>`."""
    return {f"{image.short_id} {tag}" for tag in image.tags} or {f"{image.short_id} <none>"}


def host_address(client: docker.DockerClient) -> str:
    """This machine's address on Docker's default network: not 127.0.0.1, and reachable from containers too."""
    return client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]


def inventory() -> Inventory | None:
    """What the engine holds now, or None when there is no engine."""
    try:
        client = connect()
    except EngineUnavailable:
        return None
    return Inventory(
        frozenset(c.name for c in client.containers.list(all=True)),
        frozenset(v.name for v in client.volumes.list()),
        frozenset(n.name for n in client.networks.list()),
        # Top-level images only: intermediate build layers go with the image built on them.
        frozenset(entry for image in client.images.list() for entry in image_entries(image)),
    )
