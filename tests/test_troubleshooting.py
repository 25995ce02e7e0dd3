"""Every symptom quoted on the troubleshooting page, reproduced on a broken copy of the example.

One copy of examples/minimal is started with a hook that breaks the spawn of
some users on purpose, each in one of the ways the page describes; a user not
on the allow list shows the login symptom. Each test asserts the quoted text.

Two breakages are hub-wide settings in real life; the hook gives them to one
user only, so one hub serves every test:
- an image without the virtual environment on PATH: that user's PATH lacks it;
- the default `hub_ip` (127.0.0.1): that user gets the hub API URL it would
  produce (`hub_connect_url`), so the container looks for the hub in itself.
The kept-container test runs last (`@pytest.mark.step`, harness/steps.py): it resets the hub's database.
"""

from __future__ import annotations

import docker
import pytest
from harness import blocks, compose, hub, minimal_example, shell

PAGE = "troubleshooting.md"
PROJECT = "ailabguidetrouble"
USERS = ("alice", "wrongnetwork", "missingimage", "stockimage", "nosingleuser", "hubunreachable", "staleuser")

BREAKAGES = """
# Test only: break some users' spawns the ways the troubleshooting page describes.
from jupyterhub.app import JupyterHub
from jupyterhub.objects import Hub

c.Authenticator.allow_all = False
c.Authenticator.allowed_users = {
    "wrongnetwork", "missingimage", "stockimage", "nosingleuser", "hubunreachable", "staleuser"
}


def break_on_purpose(spawner):
    name = spawner.user.name
    if name == "wrongnetwork":
        spawner.network_name = "ai-lab-typo"
    elif name == "missingimage":
        spawner.image = "ai-lab-singleuser:no-such-tag"
    elif name == "stockimage":
        spawner.image = "exasol/ai-lab:6.0.0"
        spawner.remove = False  # keep the container, so its log can be read
        spawner.http_timeout = 20
    elif name == "nosingleuser":
        # As if the image lacked its ENV PATH line: the venv is not on PATH.
        spawner.environment = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
        spawner.remove = False
        spawner.http_timeout = 10  # the container exits at once
    elif name == "hubunreachable":
        # The hub address JupyterHub derives from its own defaults (hub_ip, hub_port): what every container gets.
        spawner.hub_connect_url = Hub(ip=JupyterHub.hub_ip.default_value, port=JupyterHub.hub_port.default_value).host
        spawner.remove = False
        spawner.http_timeout = 15
    elif name == "staleuser":
        # DockerSpawner's own default, as before the example set remove = True: the container outlives its server.
        spawner.remove = type(spawner).class_traits()["remove"].default_value


c.Spawner.pre_spawn_hook = break_on_purpose
"""


def symptom(name: str):
    return blocks.named(PAGE, name)


@pytest.fixture(scope="module")
def broken(docker_client, base_images, tmp_path_factory):
    def add_breakages(folder):
        """test-only breakages appended to jupyterhub_config.py, one per symptom the page quotes"""
        config = folder / "jupyterhub_config.py"
        config.write_text(config.read_text() + BREAKAGES)

    scratch = tmp_path_factory.mktemp("trouble")
    with minimal_example.running_copy(docker_client, scratch, PROJECT, USERS, change=add_breakages) as up:
        yield up


def failed_spawn_message(user: hub.User) -> str:
    """Start the user's server, expect it to fail, return what the spawn page shows."""
    with pytest.raises(hub.HubError):
        user.start(timeout=120)
    return user.api("GET", f"/users/{user.name}/server/progress").text


def logged_in(name: str) -> hub.User:
    user = hub.User(minimal_example.URL, name)
    user.login(minimal_example.trial_password())
    return user


def container_log(client: docker.DockerClient, user: str) -> str:
    return client.containers.get(f"ai-lab-{user}").logs().decode(errors="replace")


def hub_log(client: docker.DockerClient) -> str:
    return compose.service_container(client, PROJECT, "hub").logs().decode(errors="replace")


@pytest.mark.step(1)
@pytest.mark.usefixtures("broken")
def test_a_user_not_allowed_sees_the_quoted_login_error():
    logged_in("wrongnetwork")  # the password is right: a user on the list logs in with it
    alice = hub.User(minimal_example.URL, "alice")
    with pytest.raises(hub.HubError):
        alice.login(minimal_example.trial_password())
    page = alice.session.post(
        f"{minimal_example.URL}/hub/login",
        data={"username": "alice", "password": minimal_example.trial_password(), "_xsrf": alice.xsrf()},
        timeout=30,
    )
    assert page.status_code == 403
    blocks.assert_in_output(symptom("symptom-not-allowed"), page.text)


@pytest.mark.step(2)
@pytest.mark.usefixtures("broken")
def test_a_wrong_network_name_fails_the_spawn_as_quoted():
    blocks.assert_in_output(symptom("symptom-network"), failed_spawn_message(logged_in("wrongnetwork")))


@pytest.mark.step(3)
@pytest.mark.usefixtures("broken")
def test_a_missing_image_fails_the_spawn_as_quoted():
    blocks.assert_in_output(symptom("symptom-no-image"), failed_spawn_message(logged_in("missingimage")))


@pytest.mark.step(4)
@pytest.mark.usefixtures("broken")
def test_the_stock_ai_lab_image_fails_as_quoted(docker_client):
    message = failed_spawn_message(logged_in("stockimage"))
    # Which reason the page shows depends on whether the container has already exited.
    assert hub.failed_event_message(message).startswith("Spawn failed"), message
    assert "didn't respond in 20 seconds" in message or "The 'ip' trait" in message, message
    log = container_log(docker_client, "stockimage")
    blocks.assert_in_output(symptom("symptom-stock-image"), log)
    # The example's least privilege reached the container: no capabilities, and no gaining any.
    host = docker_client.containers.get("ai-lab-stockimage").attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"], host


@pytest.mark.step(5)
@pytest.mark.usefixtures("broken")
def test_jupyterhub_singleuser_off_path_fails_as_quoted(docker_client):
    message = failed_spawn_message(logged_in("nosingleuser"))
    assert "Spawn failed" in message, message
    log = container_log(docker_client, "nosingleuser")
    blocks.assert_in_output(symptom("symptom-singleuser-not-found"), log)


@pytest.mark.step(6)
@pytest.mark.usefixtures("broken")
def test_a_hub_api_on_127_0_0_1_is_not_reached_as_quoted(docker_client):
    message = failed_spawn_message(logged_in("hubunreachable"))
    assert "Spawn failed" in message, message
    log = container_log(docker_client, "hubunreachable")
    blocks.assert_in_output(symptom("symptom-hub-unreachable"), log, each_line=True)


@pytest.mark.step(7)
def test_a_container_kept_from_an_earlier_hub_database_is_reused_as_quoted(broken, docker_client):
    staleuser = logged_in("staleuser")
    staleuser.start(timeout=300)
    staleuser.stop()
    kept = docker_client.containers.get("ai-lab-staleuser")
    assert kept.status == "exited"

    # A fresh hub database beside the kept container: the hub and its volume are recreated.
    commands = f"docker compose rm --stop --force hub\ndocker volume rm {PROJECT}_hub-data\ndocker compose up --detach"
    env = {**broken["env"], "TRIAL_PASSWORD": minimal_example.trial_password()}
    shell.run_commands(commands, broken["folder"], env)
    hub.wait_until_up(minimal_example.URL)
    # The new hub has lost track of the container; it is still there, and holds the users' image and the volume.
    assert docker_client.containers.get("ai-lab-staleuser").id == kept.id
    assert kept.attrs["Config"]["Image"].startswith("ai-lab-singleuser:"), kept.attrs["Config"]["Image"]
    with pytest.raises(docker.errors.APIError, match="in use"):
        docker_client.volumes.get("ai-lab-notebooks-staleuser").remove()

    logged_in("staleuser").start(timeout=300)
    assert docker_client.containers.get("ai-lab-staleuser").id == kept.id  # the old container, old settings and all
    log = hub_log(docker_client)
    blocks.assert_in_output(symptom("symptom-kept-container"), log, each_line=True)
