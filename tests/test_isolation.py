"""Isolation and faults on the production example: what a user's code can reach, and faults the hub survives.

One copy of the production example, started with the page's own set-up and a
small memory limit (USER_MEM_LIMIT, the page's own knob) so that a kernel runs
out of memory quickly. Alice and Bob sign up and are approved. Code in
Alice's kernel, run as she would run it, tries to reach Bob's server, the
hub's API with her own token, and the Docker engine. Odd user names sign up
and start servers. Alice's kernel runs out of memory. Last, the Docker engine
is stopped and started again, as a reboot of the host does.
"""

from __future__ import annotations

import importlib.metadata
import re
import string
import subprocess
import time
import types
from urllib.parse import quote

import docker.errors
import pytest
import requests
from ailab_guide import hubconfig, versions
from dockerspawner import DockerSpawner
from harness import blocks, egress, hub, kernel, paths, probes, production, reboot, report, shell

PAGE = "isolation.md"
MEM_LIMIT = "1G"  # the idle server fits; a kernel that allocates without end does not
PASSWORD = "a-long-test-passphrase-for-isolation"
NOTEBOOK = "kept-through-faults.txt"
NOTEBOOKS_DIR = "/home/jupyter/notebooks"
ALICE, BOB = "alice", "bob"
PREFIX = production.SCENARIO.prefix
LONG_NAME = "ann.marie-" * 6  # 60 characters, a dot and a dash in every tenth
OWN_PORT = 8050
OUTSIDE = "https://pypi.org/simple/tomli-w/"  # what users must still reach: the index `%pip install` uses
# The team folder's two volumes (team.md), which every user's container mounts on purpose.
TEAM_FOLDER = (f"{PREFIX}team-data", f"{PREFIX}team-project")


def block(name: str):
    return blocks.named(PAGE, name)


def name_table() -> list[tuple[str, str, str]]:
    """The page's table of names: typed at sign-up, the account, what containers and volumes end in."""
    rows = [line.split() for line in block("isolation-names").text.strip().splitlines()[1:]]
    assert rows and all(len(row) == 3 for row in rows), "isolation-names: three columns per line"
    return [tuple(row) for row in rows]


def escaped(name: str) -> str:
    """The page's rule: a-z and 0-9 stay, every other character becomes `-` and the hex of its UTF-8 bytes."""
    keep = string.ascii_lowercase + string.digits
    return "".join(c if c in keep else "".join(f"-{byte:02x}" for byte in c.encode()) for c in name)


def accepted_names() -> list[tuple[str, str, str]]:
    """The table's names, and the long name, which the page describes rather than shows."""
    return [*name_table(), (LONG_NAME, LONG_NAME, escaped(LONG_NAME))]


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    names = (ALICE, BOB, *(suffix for _, _, suffix in accepted_names()))
    scratch = tmp_path_factory.mktemp("isolation")
    with production.running(docker_client, scratch, names, env={"USER_MEM_LIMIT": MEM_LIMIT}) as up:
        yield up


@pytest.fixture(scope="module")
def admin(stack):
    return production.signed_up_admin(stack, PASSWORD + "-admin")


@pytest.fixture(scope="module")
def alice(stack, admin):
    alice = production.approved_user(stack, admin, ALICE, PASSWORD)
    alice.start()
    alice.run_code(f"open({NOTEBOOK!r}, 'w').write('my work')")
    return alice


@pytest.fixture(scope="module")
def bob(stack, admin):
    bob = production.approved_user(stack, admin, BOB, PASSWORD)
    bob.start()
    return bob


def container(client, name: str):
    return production.user_container(client, name)


def notebook_is_there(user: hub.User) -> None:
    response = user.server("GET", f"/contents/{NOTEBOOK}?content=1")
    assert response.status_code == 200, f"{NOTEBOOK} is gone: HTTP {response.status_code}"
    assert response.json()["content"] == "my work"


def answer(found: dict) -> str:
    """How the page quotes one HTTP answer: status, reason, and where a redirect points (without its query)."""
    if "error" in found:
        return found["error"]
    where = f" -> {found['location'].split('?', 1)[0]}" if found.get("location") else ""
    return f"{found['status']} {found['reason']}{where}"


@pytest.mark.step(1)
def test_alices_code_gets_no_file_from_bobs_server_on_the_network(alice, bob, docker_client):
    found = probes.parse(alice.run_code(probes.reach_other_server(f"{PREFIX}{BOB}", BOB)))
    quoted = "\n".join(f"{request}: {answer(found[request])}" for request in ("no token", "own token", "page"))
    blocks.assert_in_output(block("isolation-other-server"), quoted, exact=True)
    assert found["no token"]["body"] == found["own token"]["body"] == '{"message": "Forbidden", "reason": null}'
    for name in (ALICE, BOB):  # each their own volume, and the team folder: no other volume, no host path
        mounts = sorted(m.get("Name") or m["Source"] for m in container(docker_client, name).attrs["Mounts"])
        assert mounts == sorted({f"{PREFIX}notebooks-{name}", *TEAM_FOLDER}), f"{name}'s container mounts {mounts}"
    bobs_volume = f"{PREFIX}notebooks-{BOB}"
    holders = [c.name for c in docker_client.containers.list(all=True, filters={"volume": bobs_volume})]
    assert holders == [f"{PREFIX}{BOB}"], f"{bobs_volume} is mounted into {holders}"


@pytest.mark.step(2)
def test_a_port_a_user_opens_herself_is_open_to_the_network(alice, bob):
    """What the network does not isolate: Bob reads a web server Alice starts in her container."""
    assert alice.run_code(probes.serve_own_files(OWN_PORT)).strip() == "serving"
    found = probes.parse(bob.run_code(probes.fetch(f"{PREFIX}{ALICE}", OWN_PORT)))
    assert found.get("status") == 200, f"Bob got {found} from Alice's own web server"
    assert NOTEBOOK in found["body"], "Bob did not see the list of Alice's files"


@pytest.mark.step(3)
def test_alices_token_reads_her_own_model_and_nothing_of_bob(alice, bob):
    found = probes.parse(alice.run_code(probes.use_own_token(ALICE, BOB)))
    scopes = "\n".join(sorted(found["own model"]["scopes"]))
    blocks.assert_in_output(block("isolation-token-scopes"), scopes, exact=True)
    assert found["own model"]["name"] == ALICE
    calls = [name for name in found if name.startswith(("GET /user", "POST", "DELETE"))]
    quoted = "\n".join(f"{name} {found[name]['status']}" for name in calls if "without" not in name)
    blocks.assert_in_output(block("isolation-token-calls"), quoted, exact=True)
    assert found["GET /users without a token"]["status"] == 403
    assert found["GET / without a token"]["status"] == 200
    version = versions.pins("production")["JUPYTERHUB_VERSION"]
    assert found["GET / without a token"]["body"] == f'{{"version": "{version}"}}', "the hub API told more"


@pytest.mark.step(4)
def test_alices_code_reaches_no_docker_engine_and_no_hub_secret(alice, docker_client):
    found = probes.parse(alice.run_code(probes.reach_the_engine_and_the_hub()))
    assert found["docker.sock"] is False, "a Docker socket is in the user's container"
    sockets = [point for point in found["mounts"] if point.endswith(".sock")]
    assert not sockets, f"the user's container has {sockets} mounted"
    assert found["2375"] == found["2376"] == "ConnectionRefusedError", f"the engine's TCP ports at {found['gateway']}"
    assert found["proxy api"] == "ConnectionRefusedError", "the proxy's API answers on the user network"
    assert found["hub api"] == "open"
    assert found["hub data"] is False, "the hub's data folder is in the user's container"
    # The hub's database and cookie secret are on hub-data, and no container but the hub's mounts it.
    the_hub, hub_data = production.hub_container(docker_client), f"{production.PROJECT}_hub-data"
    [target] = [m["Destination"] for m in the_hub.attrs["Mounts"] if m.get("Name") == hub_data]
    on_volume = the_hub.exec_run(["ls", "-A", target]).output.decode().split()
    assert {"jupyterhub.sqlite", "jupyterhub_cookie_secret"} <= set(on_volume), f"{hub_data} holds {on_volume}"
    holders = [c.name for c in docker_client.containers.list(all=True, filters={"volume": hub_data})]
    assert holders == [the_hub.name], f"{hub_data} is mounted into {holders}"


@pytest.fixture
def beyond_the_hub(alice):
    """What alice's code reaches beyond the hub: a stand-in metadata service, a service of the host, and PyPI."""
    with egress.metadata_service() as metadata, egress.host_service() as port:
        yield lambda: probes.parse(alice.run_code(probes.reach_beyond_the_hub(metadata, port, OUTSIDE)))


@pytest.mark.step(4.5)
def test_the_pages_firewall_rules_close_the_metadata_service_and_the_host_to_users(stack, beyond_the_hub):
    assert beyond_the_hub() == {"metadata": 200, "host": "open", "outside": 200}, "without the rules"
    chains = egress.filter_rules()
    try:
        shell.run_commands(block("isolation-egress"), stack["folder"], stack["env"])
        found = beyond_the_hub()
        assert found == {"metadata": "ConnectionRefusedError", "host": "ConnectionRefusedError", "outside": 200}
    finally:
        try:
            shell.run_commands(block("isolation-egress-undo"), stack["folder"], stack["env"])
        finally:
            left = egress.remove_added_rules(chains)
    assert not left, f"the page's undo left these rules behind (the test removed them): {left}"
    assert beyond_the_hub()["metadata"] == 200, "after the undo"


@pytest.mark.step(4.6)
def test_the_disk_use_command_shows_each_users_volume(stack, alice, bob, docker_client):
    alice.run_code("import os; open('big.bin', 'wb').write(os.urandom(3_000_000))")
    listed = dict(line.split() for line in production.run(stack, "production-disk-use").splitlines())
    mine, bobs = listed.pop(f"{PREFIX}notebooks-{ALICE}"), listed.pop(f"{PREFIX}notebooks-{BOB}")
    assert not listed, f"volumes that are no user's: {listed}"
    assert size_in_bytes(mine) >= 3_000_000 > size_in_bytes(bobs), (mine, bobs)
    alice.run_code("import os; os.remove('big.bin')")
    # The page's quota command, on these machines' ext4: refused, and no volume made.
    data_root = docker_client.info()["DockerRootDir"]
    found = subprocess.run(
        ["findmnt", "-no", "FSTYPE", "--target", data_root], check=True, capture_output=True, text=True
    )
    assert found.stdout.strip() == "ext4", f"{data_root} is on {found.stdout}: the page's refusal is for ext4"
    refused = shell.run_failing(production.block("production-disk-quota"), stack["folder"], stack["env"])
    blocks.assert_in_output(production.block("production-disk-quota-refused"), refused)
    assert "ai-lab-quota-test" not in {volume.name for volume in docker_client.volumes.list()}


def size_in_bytes(size: str) -> float:
    """Docker's human size ("3.146MB", "281kB", "0B") in bytes."""
    number, unit = re.fullmatch(r"([\d.]+)([kMGT]?B)", size).groups()
    return float(number) * 1000 ** "BkMGT".index(unit[0]) if unit != "B" else float(number)


def as_account(stack: dict, typed: str, account: str) -> hub.User:
    """Log in with the name as typed; then address the account as the hub does, by its URL-escaped name."""
    user = production.person(stack, typed)
    user.login(PASSWORD)
    user.name = quote(account, safe="@~")  # JupyterHub's url_escape_path: /user/o%27brien/
    assert user.model()["name"] == account, f"{typed!r} logged in as another account"
    return user


@pytest.mark.step(5)
def test_each_accepted_name_gets_its_own_container_and_volume(stack, admin, alice, docker_client):
    names = accepted_names()
    for typed, _, _ in names:
        assert production.person(stack, typed).sign_up(PASSWORD) == "Your information has been sent to the admin."
    for _, account, _ in names:
        response = admin.session.get(f"{stack['url']}/hub/authorize/{quote(account)}", timeout=30)
        assert response.status_code == 200, f"approving {account!r}: HTTP {response.status_code}"
    users = [as_account(stack, typed, account) for typed, account, _ in names]
    began = time.monotonic()
    for user in users:  # all at once, as a team arriving in the morning
        user.api("POST", f"/users/{user.name}/server")
    for user in users:
        user.start()
    report.timing(f"isolation: {len(users)} servers with odd names started together", time.monotonic() - began)
    seen = []  # (typed, the hub's account, the container's name without the prefix), from what runs
    for user, (typed, account, _) in zip(users, names, strict=True):
        assert user.model()["servers"][""]["url"] == f"/user/{user.name}/"
        assert user.server("GET", "/status").status_code == 200, f"{account!r}'s server does not answer"
        model = admin.api("GET", f"/users/{user.name}").json()  # the admin may read the spawner's state
        made = model["servers"][""]["state"]["object_name"].removeprefix(PREFIX)
        mounts = production.private_mounts(container(docker_client, made))
        assert mounts == [f"{PREFIX}notebooks-{made}"], f"{typed!r}: {mounts}"
        seen.append((typed, model["name"], made))
    assert len({made for _, _, made in seen} | {ALICE, BOB}) == len(names) + 2, "two accounts share a name"
    table = ["typed     account   escaped", *(f"{t:<10}{a:<10}{e}" for t, a, e in seen if t != LONG_NAME)]
    blocks.assert_in_output(block("isolation-names"), "\n".join(table), exact=True)
    for user in users:
        user.api("DELETE", f"/users/{user.name}/server")
    for user in users:
        user.wait_until_stopped(120, every=0.5)


@pytest.mark.step(6)
def test_both_examples_name_containers_and_volumes_by_the_escaped_name():
    """The table's rule is the installed DockerSpawner's, and each example's spawner names by it.

    The spawner is the one the example's hub makes (its class, with the example's config loaded), so
    a template, a volume name or an escape setting anywhere in the config would show here.
    """
    for _, account, suffix in accepted_names():
        assert DockerSpawner._escape(account) == suffix, f"DockerSpawner escapes {account!r} otherwise"
    for example, prefix in (("minimal", "ai-lab-"), ("production", PREFIX)):
        make = example_spawner(example)
        for _, account, suffix in accepted_names():
            spawner = make(account)
            assert spawner.object_name == f"{prefix}{suffix}", f"{example}: {account!r} gets {spawner.object_name}"
            volume = spawner.volume_binds.get(f"{prefix}notebooks-{suffix}", {})
            assert volume.get("bind") == NOTEBOOKS_DIR, f"{example}: {account!r} mounts {spawner.volume_binds}"


def example_spawner(example: str):
    """Make the spawner an example's hub makes for an account (not started), from its jupyterhub_config.py."""
    loaded = hubconfig.load(paths.EXAMPLES / example / "jupyterhub_config.py", hubconfig.compose_environment(example))
    spawner_class = loaded.JupyterHub.spawner_class
    if isinstance(spawner_class, str):  # the name of an entry point, such as "docker"
        [entry] = importlib.metadata.entry_points(group="jupyterhub.spawners", name=spawner_class)
        spawner_class = entry.load()
    assert issubclass(spawner_class, DockerSpawner), f"{example} spawns with {spawner_class}"
    return lambda account: spawner_class(config=loaded, user=types.SimpleNamespace(name=account))


@pytest.mark.step(7)
def test_a_name_that_differs_only_in_case_or_has_a_space_is_refused(stack, alice):
    taken = production.person(stack, ALICE.upper()).sign_up(PASSWORD)
    blocks.assert_in_output(block("isolation-name-taken"), taken, exact=True)
    refused = production.person(stack, "anna lee").sign_up(PASSWORD)
    blocks.assert_in_output(block("isolation-name-refused"), refused, exact=True)


@pytest.mark.step(8)
def test_a_kernel_out_of_memory_restarts_and_the_server_and_bob_carry_on(stack, alice, bob, docker_client):
    before = {name: container(docker_client, name).id for name in (ALICE, BOB)}
    limit = container(docker_client, ALICE).attrs["HostConfig"]["Memory"]
    assert limit == 2**30, f"USER_MEM_LIMIT={MEM_LIMIT}, but alice's container may use {limit} bytes"  # not the host's
    began = int(time.time()) - 1
    kernel_id = alice.server("POST", "/kernels", json={"name": "python3"}).json()["id"]
    hungry = "chunks = []\nwhile True:\n    chunks.append(b'x' * 2**26)\n"  # 64 MiB more each round
    messages = kernel.execute_until_restart(alice, kernel_id, hungry, timeout=120)
    state = messages[-1]["content"]["execution_state"]
    blocks.assert_in_output(block("isolation-oom-status"), f'"execution_state": "{state}"', exact=True)
    # The same kernel runs again, without the variables of the one that died.
    assert kernel.execute(alice, kernel_id, "print('chunks' in dir())", 60).strip() == "False"
    alice.server("DELETE", f"/kernels/{kernel_id}")
    assert {name: container(docker_client, name).id for name in before} == before, "a container was replaced"
    assert container(docker_client, ALICE).attrs["State"]["Running"]
    notebook_is_there(alice)
    assert bob.run_code("print(6 * 7)").strip() == "42"
    server_log = container(docker_client, ALICE).logs(since=began).decode()
    blocks.assert_in_output(block("isolation-oom-log"), server_log)
    hub_log = production.hub_container(docker_client).logs(since=began).decode()
    alarming = [line for line in hub_log.splitlines() if re.match(r"\[[EC] ", line) or "Traceback" in line]
    assert not alarming, f"the hub logged errors when a kernel ran out of memory: {alarming}"
    assert alice.model()["servers"][""]["ready"], "the hub no longer lists Alice's server as running"


@pytest.mark.step(9)
def test_after_an_engine_restart_the_hub_returns_and_users_start_again(stack, alice, bob, docker_client):
    """The Docker engine stops and starts, as in a reboot of the host; harness/reboot.py restores it either way."""
    url, verify = stack["url"], stack["verify"]
    began = time.monotonic()
    with reboot.engine_stopped():
        with pytest.raises(requests.ConnectionError):  # the hub's address refuses connections
            requests.get(f"{url}/hub/login", timeout=10, verify=verify)
    hub.wait_until_up(url, verify=verify, timeout=180)
    report.timing("isolation: engine stopped and started, hub back (restart: unless-stopped)", time.monotonic() - began)
    for user in (alice, bob):
        model = user.model()  # the login from before the restart still counts
        assert model["servers"] == {}, f"the hub still lists {user.name}'s server: {model['servers']}"
    for name in (ALICE, BOB):  # remove = True: the engine removed the stopped containers when it started
        with pytest.raises(docker.errors.NotFound):
            container(docker_client, name)
    production.person(stack, BOB).login(PASSWORD)
    alice.start()
    notebook_is_there(alice)
