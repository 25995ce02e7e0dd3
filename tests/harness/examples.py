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

# The ids of the untagged images build() made in this process; see remove_untagged_builds.
_built: set[str] = set()


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
    if not tag:
        _built.add(image.id)
    return image


def remove_untagged_builds(client: docker.DockerClient, ids: set[str] | None = None) -> list[str]:
    """Remove the images build() made without a tag (or those of `ids`) that still have none; return their ids.

    They are the checks' own cache, kept while the session runs. An image that
    has gained a tag meanwhile (a page's compose build makes the same image)
    stays, so the session's leftover check still sees a tag that a page's
    clean-up block failed to remove.
    """
    removed = []
    ids = set(_built) if ids is None else ids
    for image_id in sorted(ids):
        try:
            if client.images.get(image_id).tags:
                continue
            client.images.remove(image_id)
            removed.append(image_id)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError:  # still used by a container: the leftover check names that container
            pass
    _built.difference_update(ids)
    return removed
