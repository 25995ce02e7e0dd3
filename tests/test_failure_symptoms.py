"""What the pages say fails, fails as they say: each test reproduces a quoted symptom.

Each scenario runs on a changed copy of examples/minimal (never the real
folder), brought up with the page's own commands and removed afterwards.
"""

from __future__ import annotations

import contextlib
import pathlib

import docker
import pytest
from harness import blocks, engine, hub, minimal_example, paths, shell, wait

PROJECT = "ailabguidefail"
URL = minimal_example.URL


def hub_log(client: docker.DockerClient) -> str:
    (container,) = client.containers.list(
        filters={"label": [f"com.docker.compose.project={PROJECT}", "com.docker.compose.service=hub"]}
    )
    return container.logs().decode(errors="replace")


def changed_example(client: docker.DockerClient, tmp_path: pathlib.Path, change):
    """A copy of the example with `change(folder)` applied, started with the page's commands."""
    return minimal_example.running_copy(client, tmp_path, PROJECT, ("alice",), change=change)


def append_config(folder: pathlib.Path, lines: str) -> None:
    config = folder / "jupyterhub_config.py"
    config.write_text(config.read_text() + "\n" + lines + "\n")


@pytest.mark.usefixtures("base_images")
def test_a_too_short_timeout_gives_up_with_the_quoted_message(docker_client, tmp_path):
    with changed_example(docker_client, tmp_path, lambda f: append_config(f, "c.DockerSpawner.http_timeout = 1")):
        alice = hub.User(URL, "alice")
        alice.login(minimal_example.trial_password())
        with pytest.raises(hub.HubError):
            alice.start(timeout=120)
        # The hub stopped the container it gave up on (with remove = True the engine also removes it).
        wait.wait_until(
            lambda: not docker_client.containers.list(filters={"name": "^ai-lab-alice$"}),
            timeout=60,
            what="alice's container still runs after the hub gave up on it",
        )
        log = hub_log(docker_client)
        progress = alice.api("GET", "/users/alice/server/progress").text  # what the browser's spawn page reads
    assert "Spawn failed" in progress, progress
    blocks.assert_in_output(blocks.named("limitations.md", "symptom-timeout"), log, each_line=True)


@pytest.mark.usefixtures("base_images")
def test_a_version_mismatch_is_logged_as_quoted(docker_client, tmp_path):
    def pin_an_older_jupyterhub(folder: pathlib.Path) -> None:
        dockerfile = folder / "Dockerfile.ai-lab"
        text = dockerfile.read_text()
        assert '"jupyterhub==${JUPYTERHUB_VERSION}"' in text
        dockerfile.write_text(text.replace('"jupyterhub==${JUPYTERHUB_VERSION}"', '"jupyterhub==5.5.4"'))

    with changed_example(docker_client, tmp_path, pin_an_older_jupyterhub):
        alice = hub.User(URL, "alice")
        alice.login(minimal_example.trial_password())
        with contextlib.suppress(hub.HubError):  # the spawn may or may not work; the warning is the point
            alice.start(timeout=120)
        log = hub_log(docker_client)
    blocks.assert_in_output(blocks.named("limitations.md", "symptom-version-mismatch"), log)


def test_a_root_owned_host_folder_fails_as_quoted_and_chown_fixes_it(docker_client, minimal_images, tmp_path):
    image = minimal_images["Dockerfile.ai-lab"]
    host_folder = tmp_path / "created-by-docker"  # missing: Docker creates it, owned by root
    mount = {str(host_folder): {"bind": "/home/jupyter/notebooks"}}
    code, output = engine.run_once(docker_client, image, ["true"], volumes=mount)
    assert code != 0
    assert host_folder.stat().st_uid == 0
    blocks.assert_in_output(blocks.named("limitations.md", "symptom-root-owned"), output)

    # The page's fix: look up the notebook user's ids, give the folder to them.
    ids = shell.run_commands(blocks.named("limitations.md", "jupyter-ids"), paths.ROOT)
    uid, gid = (ids.split(f"{key}=")[1].split("(")[0] for key in ("uid", "gid"))
    chown = [f"{uid}:{gid}", "/home/jupyter/notebooks"]  # as root in a container: the test needs no root
    assert engine.run_once(docker_client, image, chown, entrypoint=["chown"], user="root", volumes=mount)[0] == 0
    code, output = engine.run_once(docker_client, image, ["true"], volumes=mount)
    assert code == 0, output
    assert (host_folder / "start.ipynb").exists()
