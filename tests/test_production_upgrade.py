"""The production page's upgrade, across a real change of JupyterHub's version.

The copy starts at the release before the pinned one (EARLIER, given in the
commands' environment, which compose prefers to .env; the report records it),
so that the page's upgrade has a database to migrate. A user signs up, is
approved, starts her AI Lab and saves a notebook. Then the override goes, so
that .env's pinned version counts, as after the page's step 2, and the page's
upgrade block runs unchanged. Its promises are checked one by one: the hub
runs the new version on a migrated database with a dated copy of the old one,
accounts and logins survive, a running server keeps its old image until it
stops, and the next start runs the new image with the notebook in place.

The copy also starts at an earlier AI Lab release (EARLIER_AI_LAB, made here
from the pinned one with its notebooks changed as a release changes them: one
missing, one different), so the same upgrade carries the users' notebooks from
one release to the next.
"""

from __future__ import annotations

import contextlib
import io
import re

import docker.errors
import pytest
import requests
from ailab_guide import versions
from harness import checks, hub, production, shell, standins

EARLIER = "5.5.4"  # the last 5.x release: its database lacks four of 6.1's schema migrations
USER = "ada"
PASSWORD = "a-long-test-passphrase-for-ada"
NOTEBOOK = "kept-across-the-upgrade.txt"
DATABASE = "/srv/jupyterhub/data/jupyterhub.sqlite"  # the config's db_url, on the hub-data volume
# A stand-in for the release before the pinned one, as the start script sees it: it lacks one
# folder of notebooks (new in the pinned release) and ships another start page.
EARLIER_AI_LAB = "6.0.0-earlier-notebooks"
NEW_FOLDER = "gpu_in_udf"
EARLIER_AI_LAB_DOCKERFILE = f"""
ARG AI_LAB_VERSION
FROM exasol/ai-lab:${{AI_LAB_VERSION}}
LABEL org.ailab-guide.stand-in="an earlier AI Lab release, for the upgrade test: other notebooks"
USER jupyter
RUN rm -r "$NOTEBOOK_DEFAULTS/{NEW_FOLDER}" \\
 && echo '{{"cells": [], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}' > "$NOTEBOOK_DEFAULTS/start.ipynb"
USER ubuntu
"""
DATED_COPY = re.compile(r"^jupyterhub\.sqlite\.\d{4}-\d\d-\d\d-\d{6}$")  # upgrade-db's backup of the old file


@pytest.fixture(scope="module")
def earlier_ai_lab(docker_client, base_images):
    """The image `exasol/ai-lab:EARLIER_AI_LAB`, built from the pinned release; removed at the end."""
    tag = f"exasol/ai-lab:{EARLIER_AI_LAB}"
    dockerfile = io.BytesIO(EARLIER_AI_LAB_DOCKERFILE.encode())
    docker_client.images.build(
        fileobj=dockerfile, tag=tag, buildargs={"AI_LAB_VERSION": pinned("AI_LAB_VERSION")}, rm=True, forcerm=True
    )
    try:
        yield
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag)


@pytest.fixture(scope="module")
def stack(docker_client, earlier_ai_lab, tmp_path_factory):
    standins.ensure(docker_client, f"quay.io/jupyterhub/jupyterhub:{EARLIER}")
    scratch = tmp_path_factory.mktemp("upgrade")
    env = {"JUPYTERHUB_VERSION": EARLIER, "AI_LAB_VERSION": EARLIER_AI_LAB}
    with production.running(docker_client, scratch, (USER,), env=env) as up:
        yield up


@pytest.fixture(scope="module")
def ada(stack):
    admin = production.signed_up_admin(stack, PASSWORD + "-admin")
    ada = production.approved_user(stack, admin, USER, PASSWORD)
    ada.start()
    ada.run_code(f"open({NOTEBOOK!r}, 'w').write('my work')")
    return ada


@pytest.fixture(scope="module")
def revisions(stack, ada, docker_client):
    """The database's schema revision before and after the page's upgrade block, which this fixture runs."""
    before = revision(docker_client)
    # From here on .env's version counts, for the upgrade and for every later command (the clean-up too),
    # as for a reader who changed it: the clean-up's `down --volumes` under the old version left a volume.
    stack["env"].pop("JUPYTERHUB_VERSION")
    stack["env"].pop("AI_LAB_VERSION")
    shell.run_commands(production.block("production-upgrade"), stack["folder"], stack["env"], timeout=900)
    hub.wait_until_up(stack["url"], verify=stack["verify"])
    return before, revision(docker_client)


def hub_version(stack) -> str:
    return requests.get(f"{stack['url']}/hub/api", verify=stack["verify"], timeout=30).json()["version"]


def revision(client) -> str:
    query = (
        f"import sqlite3; db = sqlite3.connect({DATABASE!r}); "
        "print(db.execute('select version_num from alembic_version').fetchone()[0])"
    )
    done = production.hub_container(client).exec_run(["python3", "-c", query])
    assert done.exit_code == 0, done.output.decode()
    return done.output.decode().strip()


def notebook_is_there(user) -> None:
    response = user.server("GET", f"/contents/{NOTEBOOK}?content=1")
    assert response.status_code == 200, f"{NOTEBOOK} is gone: HTTP {response.status_code}"
    assert response.json()["content"] == "my work"


def pinned(name: str = "JUPYTERHUB_VERSION") -> str:
    return versions.pins("production")[name]


@pytest.mark.step(1)
@pytest.mark.usefixtures("ada")
def test_the_copy_starts_at_the_earlier_release(stack):
    """The premise: without it, upgrade-db would have nothing to do and the checks below would prove little."""
    assert EARLIER != pinned()
    assert hub_version(stack) == EARLIER


@pytest.mark.step(2)
def test_the_upgrade_migrates_the_database_and_keeps_a_dated_copy(stack, revisions, docker_client):
    before, after = revisions
    assert hub_version(stack) == pinned(), "the hub does not run the version .env pins"
    assert after != before, f"the database's schema stayed at {before}: upgrade-db did not migrate it"
    listing = production.hub_container(docker_client).exec_run(["ls", "/srv/jupyterhub/data"]).output.decode()
    assert any(DATED_COPY.match(name) for name in listing.split()), f"no dated copy of the database: {listing}"


@pytest.mark.step(3)
@pytest.mark.usefixtures("revisions")
def test_accounts_and_logins_survive_the_upgrade(stack, ada):
    assert ada.model()["name"] == USER, "the login cookie did not survive the upgrade"
    again = production.person(stack, USER)
    again.login(PASSWORD)  # the account, its password and its approval are in the migrated database
    assert again.model()["name"] == USER


@pytest.mark.step(4)
@pytest.mark.usefixtures("revisions")
def test_a_running_server_keeps_the_old_image_until_it_stops(ada, docker_client):
    assert ada.model()["servers"][""]["ready"], "the upgrade stopped the user's server"
    image = production.user_container(docker_client, USER).image.id
    assert checks.images.jupyterhub_version(docker_client, image) == EARLIER
    notebook_is_there(ada)


@pytest.fixture(scope="module")
def restarted(ada, revisions):
    """Her server's next start after the upgrade: stopped, as the page's "Stop All" does, and started again."""
    ada.stop()
    ada.start(running_ok=False)
    return ada


@pytest.mark.step(5)
def test_the_next_start_runs_the_new_image_with_the_notebook(restarted, docker_client):
    ada = restarted
    image = production.user_container(docker_client, USER).image.id
    assert checks.images.jupyterhub_version(docker_client, image) == pinned()
    notebook_is_there(ada)


@pytest.mark.step(6)
def test_after_an_upgrade_the_new_releases_notebooks_are_in_a_folder_of_their_own(restarted, docker_client):
    """At her next start, the start script of the new image met the earlier release's notebooks."""
    ada = restarted
    folder = f"ai-lab-{pinned('AI_LAB_VERSION')}"
    names = {item["name"] for item in ada.server("GET", f"/contents/{folder}").json()["content"]}
    assert {"start.ipynb", "main_config.ipynb", NEW_FOLDER} <= names, f"{folder}/ lacks notebooks: {names}"
    script = (
        f'cmp "$NOTEBOOKS/{folder}/start.ipynb" "$NOTEBOOK_DEFAULTS/start.ipynb"'  # the folder has the new release's
        ' && ! cmp -s "$NOTEBOOKS/start.ipynb" "$NOTEBOOK_DEFAULTS/start.ipynb"'  # her own is the earlier one, kept
        f' && test -d "$NOTEBOOKS/{NEW_FOLDER}"'  # what the earlier release lacked is copied in as before
        ' && cat "$NOTEBOOKS/.ai-lab-version"'
    )
    done = production.user_container(docker_client, USER).exec_run(["sh", "-c", script])
    assert done.exit_code == 0, done.output.decode()
    assert done.output.decode().split() == [pinned("AI_LAB_VERSION")], "the volume does not record its release"
    notebook_is_there(ada)
