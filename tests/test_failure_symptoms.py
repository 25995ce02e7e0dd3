"""What the pages say fails, fails as they say: each test reproduces a quoted symptom.

Each scenario runs on a changed copy of examples/minimal (never the real
folder), brought up with the page's own commands and removed afterwards.
"""

from __future__ import annotations

import contextlib
import pathlib
import re
import shutil

import docker
import pytest
from harness import compose, hub, paths, snippets
from test_minimal_example import URL, page_block, trial_password

PROJECT = "ailabguidefail"


def quoted(page: str, name: str) -> str:
    """The text of a quoted symptom block on a page (a block with a :name:)."""
    found = [block for block in snippets.collect() if block.page == page and block.name == name]
    assert len(found) == 1, f"{page} must have exactly one block named {name!r}"
    return found[0].text.strip()


def hub_log(client: docker.DockerClient) -> str:
    (container,) = client.containers.list(
        filters={"label": [f"com.docker.compose.project={PROJECT}", "com.docker.compose.service=hub"]}
    )
    return container.logs().decode(errors="replace")


@contextlib.contextmanager
def changed_example(client: docker.DockerClient, tmp_path: pathlib.Path, change):
    """A copy of the example with `change(folder)` applied, started with the page's commands."""
    folder = tmp_path / "minimal"
    shutil.copytree(paths.MINIMAL, folder)
    change(folder)
    env = {"COMPOSE_PROJECT_NAME": PROJECT}
    try:
        compose.run_block(page_block("minimal-start"), folder, env)
        hub.wait_until_up(URL)
        yield folder
    finally:
        try:
            compose.run_block(page_block("minimal-cleanup"), folder, env, timeout=300)
        finally:
            compose.remove_leftovers(
                client,
                containers=["ai-lab-alice"],
                volumes=["ai-lab-notebooks-alice", f"{PROJECT}_hub-data"],
                networks=["ai-lab-minimal"],
            )


def matches_ignoring_addresses(quote: str, text: str) -> bool:
    """Whether `text` contains `quote`, with any IPv4 address standing for any other."""
    parts = re.split(r"\d+\.\d+\.\d+\.\d+", quote)
    pattern = r"\d+\.\d+\.\d+\.\d+".join(re.escape(part) for part in parts)
    return re.search(pattern, text) is not None


def append_config(folder: pathlib.Path, lines: str) -> None:
    config = folder / "jupyterhub_config.py"
    config.write_text(config.read_text() + "\n" + lines + "\n")


def test_a_too_short_timeout_gives_up_with_the_quoted_message(docker_client, base_images, tmp_path):
    with changed_example(docker_client, tmp_path, lambda f: append_config(f, "c.DockerSpawner.http_timeout = 1")):
        alice = hub.User(URL, "alice")
        alice.login(trial_password())
        with pytest.raises(hub.HubError):
            alice.start(timeout=120)
        log = hub_log(docker_client)
        progress = alice.api("GET", "/users/alice/server/progress").text  # what the browser's spawn page reads
    assert "Spawn failed" in progress, progress
    for line in quoted("limitations.md", "symptom-timeout").splitlines():
        assert matches_ignoring_addresses(line.strip(), log), f"the hub log does not say {line!r}:\n{log[-3000:]}"


def test_a_version_mismatch_is_logged_as_quoted(docker_client, base_images, tmp_path):
    def pin_an_older_jupyterhub(folder: pathlib.Path) -> None:
        dockerfile = folder / "Dockerfile.ai-lab"
        text = dockerfile.read_text()
        assert '"jupyterhub==${JUPYTERHUB_VERSION}"' in text
        dockerfile.write_text(text.replace('"jupyterhub==${JUPYTERHUB_VERSION}"', '"jupyterhub==5.5.4"'))

    with changed_example(docker_client, tmp_path, pin_an_older_jupyterhub):
        alice = hub.User(URL, "alice")
        alice.login(trial_password())
        with contextlib.suppress(hub.HubError):  # the spawn may or may not work; the warning is the point
            alice.start(timeout=120)
        log = hub_log(docker_client)
    expected = quoted("limitations.md", "symptom-version-mismatch")
    assert expected in log, f"the hub log does not say {expected!r}:\n{log[-3000:]}"


def test_a_root_owned_host_folder_fails_as_quoted_and_chown_fixes_it(docker_client, minimal_images, tmp_path):
    image = minimal_images["Dockerfile.ai-lab"]
    host_folder = tmp_path / "created-by-docker"  # missing: Docker creates it, owned by root
    failed = docker_client.containers.run(
        image, "true", volumes={str(host_folder): {"bind": "/home/jupyter/notebooks"}}, detach=True
    )
    try:
        assert failed.wait(timeout=120)["StatusCode"] != 0
        output = failed.logs().decode(errors="replace")
    finally:
        failed.remove(force=True)
    assert host_folder.stat().st_uid == 0
    expected = quoted("limitations.md", "symptom-root-owned")
    assert expected in output, output

    # The page's fix: look up the notebook user's ids, give the folder to them.
    ids = compose.run_block(quoted("limitations.md", "jupyter-ids"), paths.ROOT)
    uid, gid = (ids.split(f"{key}=")[1].split("(")[0] for key in ("uid", "gid"))
    docker_client.containers.run(  # as root in a container, so the test needs no root on the host
        image,
        [f"{uid}:{gid}", "/folder"],
        entrypoint=["chown"],
        user="root",
        volumes={str(host_folder): {"bind": "/folder"}},
        remove=True,
    )
    fixed = docker_client.containers.run(
        image, "true", volumes={str(host_folder): {"bind": "/home/jupyter/notebooks"}}, detach=True
    )
    try:
        assert fixed.wait(timeout=120)["StatusCode"] == 0, fixed.logs().decode(errors="replace")
    finally:
        fixed.remove(force=True)
    assert (host_folder / "start.ipynb").exists()
