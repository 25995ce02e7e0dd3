"""The team page on the production example: a shared folder, sizes to choose at start, and moving work in.

One copy of the production example runs for the module, with two users.
alice brings the notebooks of a single AI Lab container (`docker run` of the
AI Lab image with its own volume); bob those of a trial of the minimal example.
Both move in with the page's commands before their first start, then use the
team folder through their kernels. alice starts from the REST API (no form:
the standard size), bob from the spawn form with the large size.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import types

import docker.errors
import pytest
from ailab_guide import hubconfig
from dockerspawner import DockerSpawner
from harness import blocks, compose, engine, hub, kernel, paths, production, shell
from harness.wait import wait_until

PAGE = "team.md"
PASSWORD = "a-long-test-passphrase-for-the-team"
SINGLE_CONTAINER, SINGLE_VOLUME = "my-ai-lab", "my-vol"  # the names the page uses
TRIAL_VOLUME = "ai-lab-notebooks-bob"  # the minimal example's name for bob's volume
TEAM_VOLUMES = ("ai-lab-production-team-data", "ai-lab-production-team-project")
NOTEBOOK = "my-analysis.ipynb"
OLDER_UID = 2000  # the user id an older AI Lab gave `jupyter` in alice's volume; this image's `jupyter` has another


def block(name: str):
    return blocks.named(PAGE, name)


def run(stack: dict, *names: str) -> str:
    """Run page blocks one after another in one shell, as a reader pastes them (variables carry over)."""
    used = [block(name) for name in names]
    output = shell.run_commands("\n".join(b.text for b in used), stack["folder"], stack["env"], timeout=600)
    for used_block in used:
        blocks.note(used_block, blocks.RAN)
    return output


def users_image(docker_client) -> str:
    return production.user_container(docker_client, "alice").image.id


def volume_files(docker_client, image: str, volume: str) -> dict[str, str]:
    """`owner path` of every entry in a volume, and the notebook's text, read by a one-off container."""
    code, output = engine.run_once(
        docker_client,
        image,
        ["sh", "-c", f"cd /v && stat -c '%U:%G %n' . * && cat {NOTEBOOK}"],
        entrypoint=[],
        user="root",
        network_disabled=True,
        volumes={volume: {"bind": "/v", "mode": "ro"}},
    )
    assert code == 0, output
    *owners, text = output.strip().splitlines()
    # Docker makes the team folder's mount points in the volume, owned by root; they hold nothing.
    owners = [line for line in owners if line.split()[1] not in ("team-data", "team-project")]
    return {"owners": owners, "text": text}


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    for name in (SINGLE_VOLUME, TRIAL_VOLUME):
        with pytest.raises(docker.errors.NotFound):  # never touch a volume this machine already had
            docker_client.volumes.get(name)
    try:
        with production.running(docker_client, tmp_path_factory.mktemp("team"), ("alice", "bob")) as up:
            yield up
    finally:
        volumes = [SINGLE_VOLUME, TRIAL_VOLUME, *TEAM_VOLUMES]
        compose.remove_leftovers(docker_client, containers=[SINGLE_CONTAINER], volumes=volumes)


@pytest.fixture(scope="module")
def admin(stack):
    return production.signed_up_admin(stack, PASSWORD + "-admin")


@pytest.fixture(scope="module")
def alice(stack, admin, docker_client):
    """alice ran a single AI Lab with her notebook on `my-vol`; the page's commands move it in, then she logs in."""
    single = docker_client.containers.run(
        "exasol/ai-lab:6.0.0",
        name=SINGLE_CONTAINER,
        detach=True,
        volumes={SINGLE_VOLUME: {"bind": "/home/jupyter/notebooks", "mode": "rw"}},
    )
    # The AI Lab's entrypoint hands the volume to jupyter and copies its notebooks in.
    wait_until(
        lambda: "start.ipynb" in single.exec_run(["ls", "/home/jupyter/notebooks"]).output.decode(), 120, "no notebooks"
    )
    made = single.exec_run(["sh", "-c", f"echo alice-work > /home/jupyter/notebooks/{NOTEBOOK}"], user="jupyter")
    assert made.exit_code == 0, made.output
    # An older AI Lab whose `jupyter` had another user id: the files and the folder belong to that id, not this image's.
    older = single.exec_run(["chown", "-R", f"{OLDER_UID}:{OLDER_UID}", "/home/jupyter/notebooks"], user="root")
    assert older.exit_code == 0, older.output
    user = production.approved_user(stack, admin, "alice", PASSWORD)
    blocks.assert_in_output(block("team-find-volume-output"), run(stack, "team-find-volume"))
    run(stack, "team-from-single", "team-migrate")
    user.start()
    return user


@pytest.fixture(scope="module")
def bob(stack, admin, docker_client, alice):
    """bob tried the minimal example as bob; the page's commands move his volume in; he starts the large size."""
    code, output = engine.run_once(
        docker_client,
        users_image(docker_client),  # the minimal example builds the users' image from the same recipe
        ["sh", "-c", f"cd /home/jupyter/notebooks && echo bob-work > {NOTEBOOK} && echo bob-start > start.ipynb"],
        entrypoint=[],
        network_disabled=True,
        volumes={TRIAL_VOLUME: {"bind": "/home/jupyter/notebooks", "mode": "rw"}},
    )
    assert code == 0, output
    user = production.approved_user(stack, admin, "bob", PASSWORD)
    run(stack, "team-from-trial", "team-migrate")
    start_from_form(stack, user, "large")
    return user


def start_from_form(stack: dict, user: hub.User, size: str) -> None:
    """Choose a size on the spawn form and submit it, as a person does after logging in."""
    form = user.session.get(f"{stack['url']}/hub/spawn/{user.name}", timeout=60)
    form.raise_for_status()
    assert 'name="size" value="large"' in form.text, "the spawn page shows no size choice"
    response = user.session.post(
        f"{stack['url']}/hub/spawn/{user.name}", data={"size": size, "_xsrf": user.xsrf()}, timeout=120
    )
    response.raise_for_status()
    user.start()  # the server is starting already: this waits until it is ready


def assert_moved(docker_client, user: hub.User) -> None:
    """The notebook is in the user's hub volume, everything there is jupyter's, and the user's server shows it."""
    moved = volume_files(docker_client, users_image(docker_client), f"ai-lab-production-notebooks-{user.name}")
    assert moved["text"] == f"{user.name}-work"
    assert all(line.startswith("jupyter:jupyter ") for line in moved["owners"]), moved["owners"]
    seen = user.server("GET", f"/contents/{NOTEBOOK}?content=1&format=text&type=file")
    assert seen.status_code == 200, f"{user.name} does not see {NOTEBOOK}: HTTP {seen.status_code}"
    assert seen.json()["content"].strip() == f"{user.name}-work"


def test_a_single_ai_labs_notebooks_move_into_a_hub_users_volume(docker_client, alice):
    assert_moved(docker_client, alice)
    # The volume's top folder is hers too: she can add files next to the moved ones.
    assert alice.run_code("open('new.txt', 'w').write('x'); print('ok')").strip() == "ok"


def test_a_trial_users_notebooks_move_into_the_production_volume(docker_client, bob):
    assert_moved(docker_client, bob)
    # His own start.ipynb is kept; the AI Lab copied in only the notebooks he lacked.
    start = bob.server("GET", "/contents/start.ipynb?content=1&format=text&type=file").json()["content"]
    assert start.strip() == "bob-start"
    listed = {entry["name"] for entry in bob.server("GET", "/contents/").json()["content"]}
    assert len(listed - {NOTEBOOK, "start.ipynb", "team-data", "team-project"}) > 0, "no AI Lab notebooks were added"
    # He can write next to them.
    assert bob.run_code("open('new.txt', 'w').write('x'); print('ok')").strip() == "ok"


def test_a_misspelt_old_volume_stops_the_copy(stack, docker_client):
    """Pasted into a shell that goes on after a failed line (no `set -e`), as a reader's does."""
    pasted = subprocess.run(
        ["bash", "-c", f"old=my-vol-misspelt user=alice\n{block('team-migrate').text}"],
        cwd=stack["folder"],
        env={**os.environ, **stack["env"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    made = docker_client.volumes.list(filters={"name": "my-vol-misspelt"})
    for volume in made:  # a copy that went on made it: remove it before failing
        volume.remove(force=True)
    assert not made, f"the copy went on and made the volume my-vol-misspelt:\n{pasted.stdout}{pasted.stderr}"
    assert pasted.returncode != 0, "the copy reported success"
    assert "my-vol-misspelt: no such volume" in pasted.stdout + pasted.stderr, pasted.stderr


def test_each_size_shows_in_docker_inspect(stack, alice, bob):
    blocks.assert_in_output(block("team-sizes-output"), run(stack, "team-inspect-sizes"), exact=True)


def test_a_server_started_from_the_api_gets_the_size_chosen_last(docker_client, alice, bob):
    """After the inspect test: alice never chose (the API started her), bob chose large on the form.

    A start from the REST API without user options gets those of the user's last start (JupyterHub keeps them).
    """
    bob.stop()
    bob.start()  # the REST API, no size
    host = {name: production.user_container(docker_client, name).attrs["HostConfig"] for name in ("alice", "bob")}
    assert (host["alice"]["Memory"], host["alice"]["CpuQuota"]) == (4 * 2**30, 100_000), "alice is not standard"
    assert (host["bob"]["Memory"], host["bob"]["CpuQuota"]) == (8 * 2**30, 200_000), "bob lost his large size"


def test_a_restart_with_the_other_size_changes_the_limits(stack, docker_client, bob):
    """After the inspect test: bob, on the large size there, goes back to the standard size."""
    bob.stop()
    start_from_form(stack, bob, "standard")
    host = production.user_container(docker_client, "bob").attrs["HostConfig"]
    assert (host["Memory"], host["CpuQuota"]) == (4 * 2**30, 100_000)


def test_reference_data_is_read_only_in_every_ai_lab(stack, docker_client, alice, bob):
    reference = stack["folder"] / "reference"
    reference.mkdir()
    (reference / "customers.csv").write_text("id,name\n1,Exasol\n")
    (reference / "customers.csv").chmod(0o600)  # readable by its owner only, as an export may be
    run(stack, "team-load-data")
    for user in (alice, bob):
        mounts = production.user_container(docker_client, user.name).attrs["Mounts"]
        mounted = {mount.get("Name"): (mount["Destination"], mount["RW"]) for mount in mounts}
        assert mounted.get(TEAM_VOLUMES[0]) == ("/home/jupyter/notebooks/team-data", False), mounted
        assert mounted.get(TEAM_VOLUMES[1]) == ("/home/jupyter/notebooks/team-project", True), mounted
        # Owned by root, read by the notebook user, while the server runs on (no restart since the copy).
        seen = user.run_code("import os; f = 'team-data/customers.csv'; print(os.stat(f).st_uid, open(f).read())")
        assert seen.strip() == "0 id,name\n1,Exasol", seen
    with pytest.raises(kernel.KernelError) as refused:
        alice.run_code("open('team-data/notes.txt', 'w')")
    blocks.assert_in_output(block("team-read-only-error"), str(refused.value))


def test_users_edit_each_others_files_in_the_project_folder(alice, bob):
    whoami = "import os, getpass; print(getpass.getuser(), os.getuid())"
    assert alice.run_code(whoami) == bob.run_code(whoami), "the AI Labs run as different users"
    assert alice.run_code(whoami).split()[0] == "jupyter"
    alice.run_code("open('team-project/plan.txt', 'w').write('alice: load the data\\n')")
    alice.run_code("open('team-project/scratch.txt', 'w').write('draft')")
    assert bob.run_code("print(open('team-project/plan.txt').read(), end='')") == "alice: load the data\n"
    bob.run_code("open('team-project/plan.txt', 'a').write('bob: train the model\\n')")
    bob.run_code("import os; os.remove('team-project/scratch.txt')")
    seen = alice.run_code("import os; print(open('team-project/plan.txt').read(), os.listdir('team-project'))")
    assert seen.strip() == "alice: load the data\nbob: train the model\n ['plan.txt']"


def test_the_team_backup_holds_the_project_folder(stack, alice, bob, docker_client):
    """A file a notebook wrote into the project folder is in the archive (written here, so the test runs alone)."""
    alice.run_code("open('team-project/in-the-backup.txt', 'w').write('kept by the team backup')")
    run(stack, "team-backup")
    archive = stack["folder"] / "backups" / "ai-lab-production-team-project.tar.gz"
    with tarfile.open(archive) as tar:
        kept = tar.extractfile("./in-the-backup.txt").read().decode()
    assert kept == "kept by the team backup", kept


def test_the_clean_up_removes_the_team_folder(stack, docker_client, alice, bob):
    """Last: the production page's clean-up, which the module's teardown runs again (it finds nothing)."""
    production.run(stack, "production-uninstall")
    for name in TEAM_VOLUMES:
        with pytest.raises(docker.errors.NotFound):
            docker_client.volumes.get(name)


def sized_spawner(size: str | None) -> DockerSpawner:
    """A DockerSpawner configured as the production hub configures it, with a user's choice (not started)."""
    env = hubconfig.compose_environment("production")
    config = hubconfig.load(paths.EXAMPLES / "production" / "jupyterhub_config.py", env)
    spawner = DockerSpawner(config=config, user=types.SimpleNamespace(name="alice"))
    spawner.user_options = {} if size is None else {"size": size}
    return spawner


def test_a_size_sets_the_limits_and_an_unknown_size_is_refused():
    for size, limits in ((None, (4 * 2**30, 1.0)), ("standard", (4 * 2**30, 1.0)), ("large", (8 * 2**30, 2.0))):
        spawner = sized_spawner(size)
        spawner.pre_spawn_hook(spawner)
        assert (spawner.mem_limit, spawner.cpu_limit) == limits, size
    spawner = sized_spawner("huge")
    with pytest.raises(ValueError, match="Unknown size 'huge'"):
        spawner.pre_spawn_hook(spawner)


def test_dockerspawners_own_form_offers_only_images():
    """Why the example brings its own form: DockerSpawner's turns nothing but `image` into user options."""
    own = DockerSpawner(allowed_images=["ai-lab:a", "ai-lab:b"]).options_form
    assert own.count('name="') == 1 and 'name="image"' in own, own
    assert DockerSpawner().options_from_form({"size": ["large"], "image": ["x"]}) == {"image": "x"}
    # So the example brings a form with the sizes, turns its answer into a size, and sets the limits before the start.
    spawner = sized_spawner(None)
    assert 'name="size" value="large"' in spawner.options_form, spawner.options_form
    spawner.user_options = spawner.options_from_form({"size": ["large"]})
    assert callable(spawner.pre_spawn_hook), "the example sets no pre_spawn_hook"
    spawner.pre_spawn_hook(spawner)
    assert (spawner.mem_limit, spawner.cpu_limit) == (8 * 2**30, 2.0)
