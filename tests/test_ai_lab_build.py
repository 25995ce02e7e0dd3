"""The custom image's recipe on the AI Lab images it meets: a broken argument, and a release that ships jupyterhub."""

from __future__ import annotations

import shutil

import pytest
from ailab_guide import versions
from harness import engine, examples, paths, standins


@pytest.mark.usefixtures("base_images")
def test_a_missing_jupyterhub_version_stops_the_build(docker_client):
    """`test -n` stops the build before pip runs, instead of installing whatever `jupyterhub==` finds."""
    pins = {**versions.pins("minimal"), "JUPYTERHUB_VERSION": ""}
    with pytest.raises(examples.BuildFailed, match=r"test -n") as failed:
        examples.build(docker_client, "minimal", "Dockerfile.ai-lab", buildargs=pins)
    # The message quotes the whole RUN step; that pip printed nothing shows that `test -n` stopped it.
    assert "ERROR:" not in str(failed.value), f"pip ran, so `test -n` did not stop the build:\n{failed.value}"


UPSTREAM_DRAFT_JUPYTERHUB = "5.2.1"  # what upstream's JupyterHub draft pins, an older release than the hub's


@pytest.fixture(scope="module")
def ai_lab_with_jupyterhub(docker_client, base_images):
    """The AI Lab image as it will be once it ships its own (older) jupyterhub, exasol/ai-lab#416."""
    version = standins.with_jupyterhub(
        docker_client, versions.pins("minimal")["AI_LAB_VERSION"], UPSTREAM_DRAFT_JUPYTERHUB
    )
    code, shipped = engine.run_once(
        docker_client,
        f"exasol/ai-lab:{version}",
        ["/home/jupyter/jupyterenv/bin/jupyterhub", "--version"],
        entrypoint=[],
    )
    assert (code, shipped.strip()) == (0, UPSTREAM_DRAFT_JUPYTERHUB), shipped  # the case is real, not vacuous
    yield version
    docker_client.images.remove(f"exasol/ai-lab:{version}")
    # The failed build of the second test leaves its cached steps, children of this image, untagged.
    docker_client.images.prune(filters={"dangling": True, "label": standins.STANDIN_LABEL})


def test_an_ai_lab_that_ships_jupyterhub_still_gets_the_hubs_version(docker_client, ai_lab_with_jupyterhub):
    """The recipe holds all but jupyterhub, so the hub's version replaces the image's; `pip check` stays clean."""
    pins = {**versions.pins("minimal"), "AI_LAB_VERSION": ai_lab_with_jupyterhub}
    image = examples.build(docker_client, "minimal", "Dockerfile.ai-lab", buildargs=pins)
    try:
        code, found = engine.run_once(docker_client, image.id, ["jupyterhub-singleuser", "--version"], entrypoint=[])
        assert (code, found.strip()) == (0, pins["JUPYTERHUB_VERSION"]), found
        code, checked = engine.run_once(docker_client, image.id, ["pip", "check"], entrypoint=[])
        assert code == 0, checked
    finally:
        docker_client.images.remove(image.id)


def test_holding_the_images_own_jupyterhub_makes_the_install_impossible(
    docker_client, ai_lab_with_jupyterhub, tmp_path
):
    """Without `--exclude jupyterhub` the freeze pins the image's jupyterhub, and pip cannot install the hub's."""
    folder = tmp_path / "minimal"
    shutil.copytree(paths.MINIMAL, folder)
    recipe = folder / "Dockerfile.ai-lab"
    recipe.write_text(recipe.read_text().replace("freeze --exclude jupyterhub", "freeze"))
    pins = {**versions.pins("minimal"), "AI_LAB_VERSION": ai_lab_with_jupyterhub}
    with pytest.raises(examples.BuildFailed, match="ResolutionImpossible"):
        examples.build(docker_client, "minimal", "Dockerfile.ai-lab", context=folder, buildargs=pins)
