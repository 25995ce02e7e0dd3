"""The start script copies the AI Lab notebooks into a user's volume only when the user lacks them.

What the limitations page promises, run on the built users' image with a
real named volume, as the hub mounts it: an edited notebook survives the next
start (and so an upgrade), and only a deleted or renamed one comes back.
"""

from __future__ import annotations

import contextlib
import uuid

import docker.errors
import pytest
from harness import engine
from harness.checks import NAME_PREFIX

NOTEBOOKS = "/home/jupyter/notebooks"


@pytest.fixture
def start(docker_client, minimal_images):
    """Start the users' image on one volume, as the hub starts a server, running a shell command instead."""
    image = minimal_images["Dockerfile.ai-lab"]
    # Not created beforehand: Docker creates a named volume the first time a container mounts it, as for the hub.
    volume = f"{NAME_PREFIX}notebooks-{uuid.uuid4().hex[:8]}"

    def run(script: str) -> str:
        mount = {volume: {"bind": NOTEBOOKS}}
        code, output = engine.run_once(docker_client, image, ["sh", "-c", f"cd {NOTEBOOKS} && {script}"], volumes=mount)
        assert code == 0, output
        return output

    try:
        yield run
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(volume).remove(force=True)


def test_an_edited_notebook_is_kept_at_the_next_start(start):
    # The new volume took the owner of the image's folder, so the server, as jupyter, can write to it.
    assert start("stat -c %U:%G .").strip() == "jupyter:jupyter"
    # Dated long before the image's copy, as a notebook from an older release is after an upgrade.
    start("echo 'my edits' > start.ipynb && touch -d 2000-01-01 start.ipynb")
    assert start("cat start.ipynb").strip() == "my edits"


def test_a_deleted_or_renamed_notebook_comes_back_new_at_the_next_start(start):
    # Another notebook the user edited and kept must not come back: only the missing one is copied.
    start("echo 'my edits' > start.ipynb && mv start.ipynb my-start.ipynb && echo 'kept' > main_config.ipynb")
    output = start(
        'cat my-start.ipynb main_config.ipynb && cmp start.ipynb "$NOTEBOOK_DEFAULTS/start.ipynb" && echo same-as-image'
    )
    assert output.split() == ["my", "edits", "kept", "same-as-image"], output


def test_a_new_volume_records_its_release_and_gets_no_release_folder(start):
    listing = start('ls -A; echo "recorded: $(cat .ai-lab-version) image: $AI_LAB_VERSION"').splitlines()
    assert not [name for name in listing if name.startswith("ai-lab-")], listing
    recorded, image = listing[-1].split()[1::2]
    assert recorded == image != "", listing[-1]


def test_a_volume_older_than_the_start_script_gets_the_releases_notebooks_in_a_folder(start):
    # A volume from before the start script recorded releases: its notebooks' release is unknown.
    start("echo 'my edits' > start.ipynb && rm .ai-lab-version")
    output = start(
        'cmp "ai-lab-$AI_LAB_VERSION/start.ipynb" "$NOTEBOOK_DEFAULTS/start.ipynb" && cat start.ipynb'
        ' && ls "ai-lab-$AI_LAB_VERSION" | grep -c . && ls "$NOTEBOOK_DEFAULTS" | grep -c .'
    )
    edits, in_folder, in_release = output.splitlines()[-3:]
    assert edits == "my edits", output
    assert in_folder == in_release, output
