"""Every code block of the site is checked, or says why not.

Blocks come from the built site's doctrees (build it first: `nox -s docs`).
Without them, or with doctrees older than a page or a file it includes, one
test fails and says so; the other test modules still collect and run.
Static checks run without Docker (`pytest -m "not docker"`); Docker checks
build the documented Dockerfiles and start the hub from the documented config.
"""

from __future__ import annotations

import pytest
import yaml
from ailab_guide import versions
from harness import blocks, checks, paths, report, snippets

try:
    BLOCKS, MISSING = list(blocks.every()), ""
except snippets.NoDoctrees as exc:
    BLOCKS, MISSING = [], str(exc)
for _block in BLOCKS:
    report.register(_block, checks.expected(_block), checks.kind(_block))
DOCKER_BLOCKS = [block for block in BLOCKS if checks.docker_checks(block)]


def block_id(block: snippets.Block) -> str:
    return block.id


def test_the_site_is_built_and_current() -> None:
    """The blocks checked are the pages' current blocks: doctrees exist and are newer than their sources."""
    assert not MISSING, MISSING
    stale = snippets.stale()
    assert not stale, "The built site is older than its sources; run `nox -s docs` again:\n" + "\n".join(stale)


@pytest.mark.parametrize("block", BLOCKS, ids=block_id)
def test_block_static(block: snippets.Block) -> None:
    """hadolint, config traits, compose config, YAML, KEY=VALUE, `bash -n`, Python; or a stated reason."""
    try:
        found = checks.static_checks(block)
    except checks.CheckFailed as exc:
        report.record(block.id, "classify", False, str(exc))
        raise
    if block.unchecked_reason:
        return
    checks.run(block, found)


@pytest.mark.parametrize("block", DOCKER_BLOCKS, ids=block_id)
@pytest.mark.usefixtures("base_images")
def test_block_docker(block: snippets.Block, docker_client) -> None:
    """Build the block's Dockerfile; start a hub from the block's config."""
    checks.run(block, checks.docker_checks(block), docker_client)


@pytest.mark.usefixtures("base_images")
def test_ai_lab_image_is_ready_for_the_hub(docker_client) -> None:
    """The AI Lab image built from examples/minimal runs jupyterhub-singleuser as the hub expects."""
    # Built again (cached) rather than the fixture's id: another process may remove images meanwhile.
    image = checks.dockerfiles.build(docker_client, "minimal", "Dockerfile.ai-lab").id
    pin = versions.pins("minimal")["JUPYTERHUB_VERSION"]
    script = (
        "command -v jupyterhub-singleuser; "
        "python -c 'import jupyterhub, sys; print(jupyterhub.__version__); print(sys.prefix)'; "
        "python -m pip check >/dev/null && echo pip-check-ok; "
        "id -un; "
        'test -f "$NOTEBOOK_DEFAULTS/start.ipynb" && echo start-notebook-ok'
    )
    code, output = checks.images.run_in_image(docker_client, image, ["-c", script], entrypoint=["/bin/sh"])
    lines = output.strip().splitlines()
    assert code == 0, output
    assert lines[0] == "/home/jupyter/jupyterenv/bin/jupyterhub-singleuser", output
    assert lines[1] == pin, f"the AI Lab image has jupyterhub {lines[1]}, .env pins {pin}"
    assert lines[2] == "/home/jupyter/jupyterenv", output
    assert lines[3] == "pip-check-ok", f"`pip check` is not clean:\n{output}"
    assert lines[4] == "jupyter", f"the server would run as {lines[4]}, not jupyter"
    assert lines[5] == "start-notebook-ok", "start.ipynb is missing from $NOTEBOOK_DEFAULTS"

    built = docker_client.images.get(image)
    base = docker_client.images.get(f"exasol/ai-lab:{versions.pins('minimal')['AI_LAB_VERSION']}")
    overhead = round((built.attrs["Size"] - base.attrs["Size"]) / 1e6, 1)
    report.metric("image_overhead_mb", overhead)


@pytest.mark.usefixtures("base_images")
def test_hub_and_ai_lab_run_the_same_jupyterhub(docker_client) -> None:
    """Hub and single-user server must be the same JupyterHub release (both read from built images).

    Compose builds both from the one JUPYTERHUB_VERSION of .env: the compose file passes that variable to each.
    """
    compose = yaml.safe_load((paths.MINIMAL / "docker-compose.yml").read_text())["services"]
    for service in ("hub", "ai-lab-image"):
        given = compose[service]["build"]["args"]["JUPYTERHUB_VERSION"]
        assert given == "${JUPYTERHUB_VERSION}", f"compose builds {service} with JUPYTERHUB_VERSION {given}"
    hub_image = checks.dockerfiles.build(docker_client, "minimal", "Dockerfile.hub")
    ai_lab_image = checks.dockerfiles.build(docker_client, "minimal", "Dockerfile.ai-lab")
    hub = checks.images.jupyterhub_version(docker_client, hub_image.id)
    singleuser = checks.images.jupyterhub_version(docker_client, ai_lab_image.id)
    checks.images.assert_same_jupyterhub(hub, singleuser)
    assert hub == versions.pins("minimal")["JUPYTERHUB_VERSION"]
