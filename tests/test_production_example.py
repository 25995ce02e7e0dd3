"""The production example, end to end, with the commands of its page, in the page's order
(each test's `@pytest.mark.step` number; harness/steps.py runs them so).

The page's download of examples/ is started with a throw-away self-signed certificate. The
admin and a user sign up through the forms, the admin approves the user, who
logs in over HTTPS (trusting only that certificate), gets an AI Lab and runs
code. Then the operations of the page run against that user's server: limits,
a hub restart, a container killed from outside, backup and restore, and the
idle culler (the upgrade has a module of its own, test_production_upgrade.py). The user's notebook must survive each.
"""

from __future__ import annotations

import ast
import datetime
import re
import socket

import docker.errors
import pytest
import requests
from ailab_guide import versions
from harness import blocks, checks, compose, engine, hub, production, report
from harness.wait import wait_until

USER = "ada"  # the name the page's restore block and messages use
PASSWORD = "a-long-test-passphrase-for-ada"
NOTEBOOK = "kept-in-production.txt"
PORT = production.PORT
block, run = production.block, production.run


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    with production.running(docker_client, tmp_path_factory.mktemp("production"), (USER,)) as up:
        production.record_start(up)
        yield up


@pytest.fixture(scope="module")
def admin(stack):
    return production.signed_up_admin(stack, PASSWORD + "-admin")


@pytest.fixture(scope="module")
def ada(stack, admin):
    """The user signs up, is refused until approved, then logs in and starts her AI Lab."""
    ada = production.person(stack, USER)
    blocks.assert_in_output(block("production-user-signup"), ada.sign_up(PASSWORD), exact=True)
    blocks.assert_in_output(block("production-not-approved"), ada.login_error(PASSWORD), exact=True)
    # The admin opens /hub/authorize, which lists every account, and clicks "Authorize" next to the new one.
    listed = admin.session.get(f"{stack['url']}/hub/authorize", timeout=30)
    assert listed.status_code == 200, f"the admin opened /hub/authorize: HTTP {listed.status_code}"
    rows = dict(re.findall(r"<tr[^>]*\bid=([^\s>]+)>(.*?)</tr>", listed.text, re.S))
    assert set(rows) == {production.admin_name(), USER}, f"/hub/authorize lists {sorted(rows)}"
    button = re.search(r'href="([^"]+)"[^>]*>Authorize</a>', rows[USER])
    assert button, f"/hub/authorize shows no Authorize button next to {USER}: {rows[USER]}"
    response = admin.session.get(f"{stack['url']}{button.group(1)}", timeout=30)
    assert response.status_code == 200, f"approving {USER}: HTTP {response.status_code}"
    ada.login(PASSWORD)
    report.timing("production example: first spawn over HTTPS", ada.start())
    ada.run_code(f"open({NOTEBOOK!r}, 'w').write('my work')")
    return ada


def notebook_is_there(user: hub.User) -> None:
    response = user.server("GET", f"/contents/{NOTEBOOK}?content=1")
    assert response.status_code == 200, f"{NOTEBOOK} is gone: HTTP {response.status_code}"
    assert response.json()["content"] == "my work"


def container(client, name: str = USER):
    return production.user_container(client, name)


hub_container = production.hub_container


def published(client) -> list[dict]:
    return hub_container(client).attrs["NetworkSettings"]["Ports"]["8443/tcp"]


@pytest.mark.step(0.5)
def test_before_the_admin_signs_up_the_hub_answers_on_127_0_0_1_only(stack, docker_client):
    """First, before the admin fixture signs anyone up: the port is published on the loopback address alone."""
    assert published(docker_client) == [{"HostIp": "127.0.0.1", "HostPort": str(PORT)}]
    assert requests.get(f"{stack['url']}/hub/login", verify=stack["verify"], timeout=30).status_code == 200
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((engine.host_address(docker_client), PORT), timeout=10).close()


@pytest.mark.step(1)
@pytest.mark.usefixtures("stack")
def test_the_hub_runs_the_config_the_page_shows(docker_client):
    """The page's config block is the file inside the running hub (the build copies it in)."""
    running = hub_container(docker_client).exec_run(["cat", "/srv/jupyterhub/jupyterhub_config.py"])
    assert running.exit_code == 0, running.output
    blocks.assert_is_running_file(block("production-config"), running.output.decode())


@pytest.mark.step(2)
def test_the_user_runs_code_over_https(ada):
    output = ada.run_code("import exasol.nb_connector, getpass; print(getpass.getuser())")
    assert output.strip() == "jupyter"
    notebook_is_there(ada)


@pytest.mark.step(2.5)
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_once_the_port_is_open_nobody_else_can_take_the_admins_name(stack, admin, ada, docker_client):
    """The page's step opens the port; from another address an outsider can neither sign up as the admin nor log in."""
    before = container(docker_client).id
    run(stack, "production-open")
    hub.wait_until_up(stack["url"], verify=stack["verify"])
    assert published(docker_client) == [{"HostIp": "0.0.0.0", "HostPort": str(PORT)}]
    # The outsider comes in at another address of the machine, so the certificate (for localhost) is not theirs.
    outsider = hub.User(f"https://{engine.host_address(docker_client)}:{PORT}", production.admin_name(), verify=False)
    outsider.session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over verify=False
    password = "an-outsiders-long-passphrase"
    blocks.assert_in_output(block("production-admin-taken"), outsider.sign_up(password), exact=True)
    outsider.login_error(password)  # raises if the outsider got in
    assert container(docker_client).id == before, "opening the port replaced the user's container"
    assert ada.run_code("print(6 * 7)").strip() == "42", "the user's server is unreachable after the port opened"
    notebook_is_there(ada)


@pytest.mark.step(3)
@pytest.mark.usefixtures("stack", "ada")
def test_plain_http_gets_no_hub():
    """The port speaks TLS only: a plain HTTP request gets no page at all."""
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{PORT}/hub/login", timeout=10)


@pytest.mark.step(4)
def test_only_the_admin_may_approve(stack, ada):
    response = ada.session.get(f"{stack['url']}/hub/authorize", timeout=30)
    assert response.status_code == 403, f"{USER} opened the approval page: HTTP {response.status_code}"


@pytest.mark.step(5)
@pytest.mark.usefixtures("ada")
def test_limits_show_in_docker_inspect(stack):
    blocks.assert_in_output(block("production-limits-output"), run(stack, "production-inspect-limits"), exact=True)


@pytest.mark.step(6)
@pytest.mark.usefixtures("ada")
def test_the_users_container_has_no_privileges(docker_client):
    attrs = container(docker_client).attrs
    assert attrs["Config"]["User"] == "jupyter"
    assert attrs["HostConfig"]["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in attrs["HostConfig"]["SecurityOpt"]
    assert not any("docker.sock" in mount["Source"] for mount in attrs["Mounts"])
    assert not any(bindings for bindings in (attrs["NetworkSettings"]["Ports"] or {}).values())


@pytest.mark.step(6.5)
@pytest.mark.usefixtures("ada")
def test_the_production_hub_outweighs_a_users_container_for_the_cpu(docker_client):
    """The compose file's cpu_shares reach the hub's container; the users' containers keep the default."""
    compose.assert_hub_outweighs(hub_container(docker_client), container(docker_client))


@pytest.mark.step(7)
@pytest.mark.usefixtures("stack", "ada")
def test_hub_and_users_run_the_same_jupyterhub(docker_client):
    """Both images come from one JUPYTERHUB_VERSION line; an upgrade that changes it keeps them equal."""
    hub_version = checks.images.jupyterhub_version(docker_client, hub_container(docker_client).image.id)
    user_version = checks.images.jupyterhub_version(docker_client, container(docker_client).image.id)
    checks.images.assert_same_jupyterhub(hub_version, user_version)
    assert hub_version == versions.pins("production")["JUPYTERHUB_VERSION"]


@pytest.mark.step(8)
def test_the_private_key_is_not_in_the_hub_image(docker_client, stack):
    """The key reaches the hub as a compose secret at run time, never through the build."""
    key_line = (stack["folder"] / "secrets" / "tls.key").read_text().splitlines()[1]  # 64 characters of the key
    code, output = engine.run_once(
        docker_client,
        hub_container(docker_client).image.id,
        ["sh", "-c", f"grep -rlF -e '{key_line}' / --exclude-dir=proc --exclude-dir=sys || test $? = 1"],
        entrypoint=[],
        network_disabled=True,
    )
    assert code == 0, f"the hub image holds the private key (or grep failed): {output}"
    assert not output.strip(), f"the hub image holds the private key: {output}"


@pytest.mark.step(9)
def test_a_hub_restart_keeps_the_server_running(stack, docker_client, ada):
    before = container(docker_client).id
    run(stack, "production-restart")
    hub.wait_until_up(stack["url"], verify=stack["verify"])
    assert container(docker_client).id == before, "the restart replaced the user's container"
    assert ada.model()["servers"][""]["ready"], "the hub lost the running server"
    notebook_is_there(ada)
    assert ada.run_code("print(6 * 7)").strip() == "42"


@pytest.mark.step(10)
def test_a_container_killed_from_outside_is_noticed_and_starts_again(docker_client, ada):
    container(docker_client).kill()
    report.timing("production example: hub notices a killed container", ada.wait_until_stopped(timeout=120))
    with pytest.raises(docker.errors.NotFound):  # remove = True: the engine removed it
        container(docker_client)
    ada.start()
    notebook_is_there(ada)


@pytest.mark.step(11)
def test_backup_and_restore_bring_a_deleted_notebook_back(stack, ada, docker_client):
    """The backup leaves the user's server running; the restore brings the file back with its owner and mode."""
    ada.run_code(f"import os; os.chmod({NOTEBOOK!r}, 0o664)")  # a mode the extracting shell's umask would change
    before = container(docker_client).id
    run(stack, "production-backup")
    hub.wait_until_up(stack["url"], verify=stack["verify"])
    assert container(docker_client).id == before, "the backup stopped the user's server"
    assert ada.model()["servers"][""]["ready"], "the hub lost the running server during the backup"
    backups = stack["folder"] / "backups"
    assert (backups / "hub-data.tar.gz").stat().st_size > 0
    assert (backups / f"ai-lab-production-notebooks-{USER}.tar.gz").stat().st_size > 0
    assert ada.server("DELETE", f"/contents/{NOTEBOOK}").status_code == 204
    ada.stop()
    run(stack, "production-restore")
    ada.start()
    notebook_is_there(ada)
    owner = ada.run_code(f"import os, pwd; print(pwd.getpwuid(os.stat({NOTEBOOK!r}).st_uid).pw_name)")
    assert owner.strip() == "jupyter", "the restore changed the file's owner"
    mode = ada.run_code(f"import os, stat; print(oct(stat.S_IMODE(os.stat({NOTEBOOK!r}).st_mode)))")
    assert mode.strip() == "0o664", f"the restore changed the file's mode to {mode.strip()}"


@pytest.mark.step(12)
def test_a_restart_applies_no_change_and_the_start_command_applies_both(stack, ada, docker_client):
    """The page's `.env` and config changes: a restart shows neither, the start command both; the server runs on."""
    (announcement,) = ast.literal_eval(
        block("production-announcement").text.split("(", 1)[1].rsplit(")", 1)[0]
    ).values()
    config = stack["folder"] / "jupyterhub_config.py"
    run(stack, "production-change-memory")
    config.write_text(config.read_text() + "\n" + block("production-announcement").text)
    memory = lambda found: found.attrs["HostConfig"]["Memory"]  # noqa: E731
    before, limit = container(docker_client).id, memory(container(docker_client))

    def hub_shows() -> tuple[str, bool]:
        """The memory limit in the hub's settings; whether the login page and the user's home show the notice."""
        hub.wait_until_up(stack["url"], verify=stack["verify"])
        environment = dict(line.split("=", 1) for line in hub_container(docker_client).attrs["Config"]["Env"])
        home = ada.session.get(f"{stack['url']}/hub/home", timeout=30)
        assert home.status_code == 200, f"{USER}'s home page: HTTP {home.status_code}"
        assert home.url.endswith("/hub/home"), f"{USER} was logged out: {home.url}"
        login = requests.get(f"{stack['url']}/hub/login", verify=stack["verify"], timeout=30)
        return environment["USER_MEM_LIMIT"], announcement in home.text and announcement in login.text

    run(stack, "production-restart")
    assert hub_shows() == ("4G", False), "a restart applied a changed setting"
    old_image = hub_container(docker_client).image
    run(stack, "production-apply")
    assert hub_shows() == ("6G", True), "the start command did not apply the changed .env and config"
    old_image.reload()
    assert not old_image.tags, f"the hub's previous image kept its tags {old_image.tags}"
    docker_client.images.remove(old_image.id)  # as `docker image prune` would, which the page names
    running = hub_container(docker_client).exec_run(["cat", "/srv/jupyterhub/jupyterhub_config.py"]).output.decode()
    assert running.rstrip().endswith(block("production-announcement").text.strip())
    blocks.note(block("production-announcement"), blocks.STARTED)
    assert container(docker_client).id == before, "applying the change replaced the user's container"
    assert memory(container(docker_client)) == limit, "the running server's limit changed"
    notebook_is_there(ada)
    ada.stop()
    ada.start()
    assert memory(container(docker_client)) == 6 * 1024**3, "the next start did not get the new limit"


@pytest.mark.step(13)
def test_an_idle_server_is_culled_and_its_notebook_kept(stack, ada, docker_client):
    """Last: the hub is recreated with a 30 s timeout, which would cull the other tests' servers too.

    The server goes only after the hub has seen it idle for that long, and its container goes with it.
    """
    idle = 30
    run(stack, "production-start", IDLE_TIMEOUT=str(idle))
    hub.wait_until_up(stack["url"], verify=stack["verify"])
    # The recreated hub starts the culler with IDLE_TIMEOUT (JupyterHub logs each service's command).
    culler = f"'jupyterhub_idle_culler', '--timeout={idle}'"
    wait_until(lambda: culler in hub_container(docker_client).logs().decode(), 30, "the culler got no IDLE_TIMEOUT")
    seen = ada.model()["servers"][""]["last_activity"]  # the login and the server outlived the recreated hub
    report.timing(f"production example: idle server culled (IDLE_TIMEOUT={idle})", ada.wait_until_stopped(timeout=180))
    last_activity = datetime.datetime.fromisoformat(seen.replace("Z", "+00:00"))
    idle_for = (datetime.datetime.now(datetime.UTC) - last_activity).total_seconds()
    assert idle_for >= idle, f"culled after {idle_for:.0f} s without activity, before IDLE_TIMEOUT={idle}"
    with pytest.raises(docker.errors.NotFound):
        production.user_container(docker_client, USER)
    ada.start()
    notebook_is_there(ada)
