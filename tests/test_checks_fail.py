"""The checks can fail: each is run on a broken copy (in tmp_path) and must say what is wrong.

A check that never fails proves nothing. The real examples are never modified.
"""

from __future__ import annotations

import contextlib
import shutil

import docker.errors
import pytest
from harness import checks, compose, examples, paths
from harness.snippets import Block


def copy_minimal(tmp_path):
    folder = tmp_path / "minimal"
    shutil.copytree(paths.MINIMAL, folder)
    return folder


def test_misspelt_trait_names_the_fix(tmp_path) -> None:
    folder = copy_minimal(tmp_path)
    config = folder / "jupyterhub_config.py"
    config.write_text(config.read_text() + '\nc.DockerSpawner.imag = "ai-lab-singleuser:latest"\n')
    block = Block(
        page="negative.md",
        line=1,
        language="python",
        text=config.read_text(),
        source="",
    )
    with pytest.raises(checks.CheckFailed) as failure:
        checks.configs.config_keys(block)
    assert "imag" in str(failure.value)
    assert "DockerSpawner.image" in str(failure.value)


def test_invalid_trait_value_fails() -> None:
    block = Block(
        page="negative.md",
        line=1,
        language="python",
        text='c.DockerSpawner.start_timeout = "soon"\n',
    )
    with pytest.raises(checks.CheckFailed, match="start_timeout"):
        checks.configs.config_keys(block)


@pytest.mark.usefixtures("base_images")
def test_version_mismatch_is_detected(tmp_path, docker_client) -> None:
    """An AI Lab image built for another JupyterHub than the hub's is refused."""
    folder = copy_minimal(tmp_path)
    env = folder / ".env"
    env.write_text(env.read_text().replace("JUPYTERHUB_VERSION=", "JUPYTERHUB_VERSION=5.4.3\n#was "))
    image = checks.dockerfiles.build_folder(docker_client, folder, "Dockerfile.ai-lab")
    try:
        hub_image = checks.dockerfiles.build(docker_client, "minimal", "Dockerfile.hub")
        hub = checks.images.jupyterhub_version(docker_client, hub_image.id)
        singleuser = checks.images.jupyterhub_version(docker_client, image.id)
        assert singleuser == "5.4.3"
        with pytest.raises(
            checks.CheckFailed,
            match=f"hub runs jupyterhub {hub} but the AI Lab image has 5.4.3",
        ):
            checks.images.assert_same_jupyterhub(hub, singleuser)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(image.id)


def broken_dockerfile(tmp_path):
    folder = copy_minimal(tmp_path)
    dockerfile = folder / "Dockerfile.hub"
    lines = dockerfile.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("ARG DOCKERSPAWNER_VERSION"))
    lines.insert(index, "RUNN echo")
    dockerfile.write_text("\n".join(lines) + "\n")
    return folder


def test_dockerfile_syntax_error_fails_hadolint(tmp_path) -> None:
    dockerfile = broken_dockerfile(tmp_path) / "Dockerfile.hub"
    with pytest.raises(checks.CheckFailed, match="hadolint finds problems"):
        checks.dockerfiles.hadolint(dockerfile)


@pytest.mark.usefixtures("base_images")
def test_dockerfile_syntax_error_fails_the_build(tmp_path, docker_client) -> None:
    folder = broken_dockerfile(tmp_path)
    with pytest.raises(examples.BuildFailed, match=r"does not build.*RUNN"):
        checks.dockerfiles.build(docker_client, "minimal", "Dockerfile.hub", context=folder)


def test_typed_dockerfile_fragment_fails() -> None:
    block = Block(page="negative.md", line=3, language="dockerfile", text="FROM debian:12\n")
    # The check is one of those every Dockerfile block of a page gets (test_docs_snippets.py runs them).
    assert "whole file" in [check.name for check in checks.static_checks(block)], "Dockerfile blocks skip the check"
    with pytest.raises(checks.CheckFailed, match="must include whole files"):
        checks.dockerfiles.whole_file(block)


def test_block_without_check_or_reason_fails() -> None:
    block = Block(page="negative.md", line=7, language="none", text="some text")
    with pytest.raises(checks.CheckFailed) as failure:
        checks.classify(block)
    assert str(failure.value) == checks.no_check_message(block)
    assert "`% unchecked: <reason>`" in str(failure.value)
    assert (
        checks.classify(
            Block(
                page="negative.md",
                line=7,
                language="none",
                text="x",
                unchecked_reason="output",
            )
        )
        == []
    )


def test_shell_syntax_error_fails() -> None:
    block = Block(
        page="negative.md",
        line=9,
        language="console",
        text="$ if true; then echo\nsome output\n",
    )
    with pytest.raises(checks.CheckFailed, match="bash -n"):
        checks.files.bash_n(block)


def test_python_block_that_raises_fails() -> None:
    block = Block(
        page="negative.md",
        line=11,
        language="python",
        text='raise SystemExit("broken")\n',
    )
    assert checks.kind(block) == "python"
    with pytest.raises(checks.CheckFailed, match="running it fails"):
        checks.files.python_runs(block)


def test_a_clean_up_block_that_forgets_a_volume_fails(docker_client) -> None:
    """The verdict on a page's clean-up names what it left; everything is removed after it, whatever the verdict."""
    made = compose.Made("ailabguideforgets", "ailabguideforgets-net", ["ailabguideforgets-alice"], [],
                        ["ailabguideforgets-notebooks-alice"])  # fmt: skip
    docker_client.networks.create(made.network)
    docker_client.volumes.create(made.volumes[0])

    def forgets_the_volume() -> None:
        docker_client.networks.get(made.network).remove()

    left = compose.cleaned_up(docker_client, made, forgets_the_volume)
    assert left == "volumes: ailabguideforgets-notebooks-alice", left
    assert not docker_client.volumes.list(filters={"name": made.volumes[0]}), "the leftover was not removed after"
    docker_client.volumes.create(made.volumes[0])
    assert compose.cleaned_up(docker_client, made, lambda: docker_client.volumes.get(made.volumes[0]).remove()) == ""
