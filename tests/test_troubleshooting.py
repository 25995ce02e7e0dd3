"""Every symptom quoted on the troubleshooting page, reproduced on a broken copy of the example.

One copy of examples/minimal is started with a hook that breaks the spawn of
some users on purpose, each in one of the ways the page describes; a user not
on the allow list shows the login symptom. Each test asserts the quoted text.
"""

from __future__ import annotations

import pytest
from harness import hub, minimal_example

PAGE = "troubleshooting.md"
PROJECT = "ailabguidetrouble"
USERS = ("alice", "wrongnetwork", "missingimage", "stockimage")

BREAKAGES = """
# Test only: break some users' spawns the ways the troubleshooting page describes.
c.Authenticator.allow_all = False
c.Authenticator.allowed_users = {"wrongnetwork", "missingimage", "stockimage"}


def break_on_purpose(spawner):
    if spawner.user.name == "wrongnetwork":
        spawner.network_name = "ai-lab-typo"
    elif spawner.user.name == "missingimage":
        spawner.image = "ai-lab-singleuser:no-such-tag"
    elif spawner.user.name == "stockimage":
        spawner.image = "exasol/ai-lab:6.0.0"
        spawner.remove = False  # keep the container, so its log can be read
        spawner.http_timeout = 20


c.Spawner.pre_spawn_hook = break_on_purpose
"""


def symptom(name: str) -> str:
    return minimal_example.block(name, page=PAGE).strip()


@pytest.fixture(scope="module")
def broken(docker_client, base_images, tmp_path_factory):
    def add_breakages(folder):
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


def test_a_user_not_allowed_sees_the_quoted_login_error(broken):
    alice = hub.User(minimal_example.URL, "alice")
    with pytest.raises(hub.HubError):
        alice.login(minimal_example.trial_password())
    page = alice.session.post(
        f"{minimal_example.URL}/hub/login",
        data={"username": "alice", "password": minimal_example.trial_password(), "_xsrf": alice.xsrf()},
        timeout=30,
    )
    assert page.status_code == 403
    assert symptom("symptom-not-allowed") in page.text


def test_a_wrong_network_name_fails_the_spawn_as_quoted(broken):
    assert symptom("symptom-network") in failed_spawn_message(logged_in("wrongnetwork"))


def test_a_missing_image_fails_the_spawn_as_quoted(broken):
    assert symptom("symptom-no-image") in failed_spawn_message(logged_in("missingimage"))


def test_the_stock_ai_lab_image_fails_as_quoted(broken, docker_client):
    message = failed_spawn_message(logged_in("stockimage"))
    # Which reason the page shows depends on whether the container has already exited.
    assert "Spawn failed" in message, message
    assert "didn't respond in 20 seconds" in message or "The 'ip' trait" in message, message
    log = docker_client.containers.get("ai-lab-stockimage").logs().decode(errors="replace")
    assert symptom("symptom-stock-image") in log, log
