"""Build an example's Dockerfiles exactly as its compose file does.

Build arguments come from the example's .env, the one place it pins versions.
"""

from __future__ import annotations

import re

import docker
import docker.errors
from ailab_guide import versions

from . import paths

DOCKERFILES = ("Dockerfile.ai-lab", "Dockerfile.hub")


class BuildFailed(AssertionError):
    """A documented Dockerfile does not build; the message holds the build log's tail."""


def base_image_refs(example: str) -> list[str]:
    """The FROM images of an example's Dockerfiles, with the pinned versions filled in."""
    pins = versions.pins(example)
    refs = []
    for name in DOCKERFILES:
        if not (paths.EXAMPLES / example / name).exists():  # production builds its AI Lab image from minimal/
            continue
        text = (paths.EXAMPLES / example / name).read_text()
        for ref in re.findall(r"^FROM\s+(\S+)", text, re.M):
            refs.append(re.sub(r"\$\{(\w+)\}", lambda m: pins[m.group(1)], ref))
    return refs


def build(
    client: docker.DockerClient,
    example: str,
    dockerfile: str,
    *,
    tag: str | None = None,
    context=None,
    buildargs: dict[str, str] | None = None,
):
    """Build one Dockerfile of an example with the pins as build arguments.

    `context` and `buildargs` build a changed copy of the example instead
    (its folder and the pins of its own .env).
    """
    context = context or paths.EXAMPLES / example
    try:
        image, _ = client.images.build(
            path=str(context),
            dockerfile=dockerfile,
            buildargs=versions.pins(example) if buildargs is None else buildargs,
            tag=tag,
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as exc:
        log = "".join(chunk.get("stream", "") + chunk.get("error", "") for chunk in exc.build_log)
        raise BuildFailed(f"{example}/{dockerfile} does not build: {exc.msg}\n{log[-3000:]}") from exc
    except docker.errors.APIError as exc:  # the engine rejects a Dockerfile it cannot parse before building
        raise BuildFailed(f"{example}/{dockerfile} does not build: {exc.explanation}") from exc
    return image
