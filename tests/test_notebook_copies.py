"""The start script copies the AI Lab notebooks into a user's volume only when the user lacks them.

What the limitations page promises, run on the built users' image with a
real named volume, as the hub mounts it: an edited notebook survives the next
start (and so an upgrade), and only a deleted or renamed one comes back.
"""

from __future__ import annotations

import uuid

import pytest
from harness import engine
from harness.checks import NAME_PREFIX

NOTEBOOKS = "/home/jupyter/notebooks"


@pytest.fixture
def start(docker_client, minimal_images):
    """Start the users' image on one volume, as the hub starts a server, running a shell command instead."""
    image = minimal_images["Dockerfile.ai-lab"]
    volume = docker_client.volumes.create(f"{NAME_PREFIX}notebooks-{uuid.uuid4().hex[:8]}")

    def run(script: str) -> str:
        mount = {volume.name: {"bind": NOTEBOOKS}}
        code, output = engine.run_once(docker_client, image, ["sh", "-c", f"cd {NOTEBOOKS} && {script}"], volumes=mount)
        assert code == 0, output
        return output

    try:
        yield run
    finally:
        volume.remove(force=True)


def test_an_edited_notebook_is_kept_at_the_next_start(start):
    start("echo 'my edits' > start.ipynb")
    assert start("cat start.ipynb").strip() == "my edits"


def test_a_deleted_or_renamed_notebook_comes_back_new_at_the_next_start(start):
    start("echo 'my edits' > start.ipynb && mv start.ipynb my-start.ipynb")
    output = start('cat my-start.ipynb && cmp start.ipynb "$NOTEBOOK_DEFAULTS/start.ipynb" && echo same-as-image')
    assert output.split() == ["my", "edits", "same-as-image"], output
