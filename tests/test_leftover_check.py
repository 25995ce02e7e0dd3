"""The session's leftover check (conftest.py) sees images too: it must name an image a test leaves.

The check compares the engine before and after the session. These tests make
a tiny image from `scratch` (no base, no download) and look at what the
inventory then reports, with and without a tag, and what the clean-up of the
checks' own untagged builds removes.
"""

from __future__ import annotations

import contextlib
import io
import uuid

import docker.errors
from harness import engine, examples


def tiny_image(client, tag: str | None = None):
    """An image with no file system, unique by its label, so it is new on the engine."""
    dockerfile = f"FROM scratch\nLABEL org.ailab-guide.leftover-test={uuid.uuid4().hex}\n"
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    return image


def test_an_image_left_behind_is_reported_with_its_tag(docker_client):
    before = engine.inventory()
    tag = f"ailab-guide-leftover-test:{uuid.uuid4().hex[:8]}"
    image = tiny_image(docker_client, tag)
    try:
        (name,) = engine.image_entries(docker_client.images.get(image.id))
        left = engine.inventory() - before
        assert name in left.images and tag in str(left), left
        assert name not in left.without_images_tagged({tag}).images, "a base image the session made must not count"
    finally:
        docker_client.images.remove(image.id, force=True)
    assert name not in (engine.inventory() - before).images


def test_an_untagged_image_left_behind_is_reported_as_none(docker_client):
    before = engine.inventory()
    image = tiny_image(docker_client)
    try:
        left = engine.inventory() - before
        assert f"{image.short_id} <none>" in left.images, left
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(image.id, force=True)


def test_the_checks_own_untagged_builds_are_removed_but_tagged_ones_stay(docker_client):
    untagged = tiny_image(docker_client)
    tagged = tiny_image(docker_client, f"ailab-guide-leftover-test:{uuid.uuid4().hex[:8]}")
    try:
        # As if examples.build had made them; only these, the session's own builds stay till its end.
        assert examples.remove_untagged_builds(docker_client, {untagged.id, tagged.id}) == [untagged.id]
        assert docker_client.images.get(tagged.id).tags, "a tagged image (a page's leftover) must stay for the check"
        try:
            docker_client.images.get(untagged.id)
            raise AssertionError("the untagged build is still there")
        except docker.errors.ImageNotFound:
            pass
    finally:
        for image in (untagged, tagged):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(image.id, force=True)


def test_an_image_whose_tag_moved_on_is_not_new(docker_client):
    """A stand-in rebuilt from a changed recipe takes its tag from the old one; the old one was there before."""
    tag = f"ailab-guide-leftover-test:{uuid.uuid4().hex[:8]}"
    old = tiny_image(docker_client, tag)
    new = None
    try:
        before = engine.inventory()
        new = tiny_image(docker_client, tag)
        assert docker_client.images.get(old.id).tags == [], "the tag moved to the new image"
        left = (engine.inventory() - before).images
        assert f"{new.short_id} {tag}" in left, left
        assert f"{old.short_id} <none>" not in left, left
    finally:
        for image in (old, new):
            with contextlib.suppress(docker.errors.ImageNotFound, AttributeError):
                docker_client.images.remove(image.id, force=True)
