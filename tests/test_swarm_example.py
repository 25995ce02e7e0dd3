"""The swarm example, end to end, on a swarm of three nodes, with the commands of its page.

Three Docker engines in containers on this machine (harness.swarm_nodes) and a
registry with a test CA stand in for the reader's machines. The page's blocks
make them a swarm, make every node and this machine (the build machine) trust
the registry, build and push the images here, and deploy the stack on the
manager, through each node's engine socket. The blocks run unchanged but for
the addresses: the manager's, the registry's, and the nodes' sockets where
the page reaches a node over SSH (the report lists each).

The hub is the production example's, on HTTPS with the page's self-signed
certificate for the manager's address: the admin signs up first and approves
Alice and Bob, who start servers and land on different workers; Alice's node
goes away and comes back; the admin drains it and moves her to the other
worker. Last, the page's stop and clean-up blocks run on every node.
"""

from __future__ import annotations

import contextlib
import pathlib
import re
import ssl
from collections.abc import Iterator

import pytest
import requests
from ailab_guide import versions
from harness import blocks, downloads, hub, paths, production, report, shell, swarm_nodes, wait

PAGE = "swarm.md"
STACK = "ai-lab"  # the page's default
NETWORK = "ai-lab-swarm"
HUB_SERVICE = f"{STACK}_hub"
NOTEBOOKS = "/home/jupyter/notebooks"
PAGE_MANAGER_ADDRESS = "192.0.2.10"
PAGE_REGISTRY = "registry.example.com:5000"
PAGE_TOKEN = "SWMTKN-1-replace-with-the-printed-token"
KEPT = "kept.txt"
PASSWORD = "a-long-swarm-passphrase-for-"


def block(name: str):
    return blocks.named(PAGE, name)


def service(name: str) -> str:
    return f"ai-lab-swarm-{name}"


def volume(name: str) -> str:
    return f"ai-lab-swarm-notebooks-{name}"


def run(nodes: swarm_nodes.Nodes, name: str, node: str | None, folder, text: str | None = None) -> str:
    """A page block on a node's engine (None: this machine's), its text as given where an address differs."""
    env = {"DOCKER_HOST": nodes.host(node)} if node else {}
    output = shell.run_commands(text or block(name).text, folder, env, timeout=900)
    blocks.note(block(name), blocks.RAN)
    return output


def images(pins: dict[str, str], registry: str) -> tuple[str, str]:
    """The users' image and the hub's, as the page names them."""
    return (
        f"{registry}/ai-lab-swarm-singleuser:{pins['AI_LAB_VERSION']}-jupyterhub-{pins['JUPYTERHUB_VERSION']}",
        f"{registry}/ai-lab-swarm-hub:{pins['JUPYTERHUB_VERSION']}",
    )


def make_a_swarm(nodes: swarm_nodes.Nodes, folder) -> None:
    """The page's init and join blocks, with the manager's address and the printed token."""
    manager = nodes.addresses["manager"]
    blocks_with_it = f"{PAGE}: swarm-init, swarm-join, swarm-certificate"
    report.deviation(blocks_with_it, f"the manager's address {manager} for {PAGE_MANAGER_ADDRESS}")
    printed = run(
        nodes, "swarm-init", "manager", folder, block("swarm-init").text.replace(PAGE_MANAGER_ADDRESS, manager)
    )
    token = re.findall(r"--token (\S+)", printed)[-1]  # init prints the join command too
    join = block("swarm-join").text.replace(PAGE_TOKEN, token).replace(PAGE_MANAGER_ADDRESS, manager)
    for worker in ("worker1", "worker2"):
        run(nodes, "swarm-join", worker, folder, join)


def trust_the_registry(nodes: swarm_nodes.Nodes, scratch: pathlib.Path) -> None:
    """The page's block on every node and on this machine, with the test registry and its CA as ca.crt."""
    report.deviation(f"{PAGE}: swarm-registry-ca, .env", f"the test registry {nodes.registry} for {PAGE_REGISTRY}")
    text = block("swarm-registry-ca").text.replace(PAGE_REGISTRY, nodes.registry)
    for node in swarm_nodes.NODES:
        nodes.run_as_root(node, text, {"/root/ca.crt": nodes.ca_certificate})
    (scratch / "ca.crt").write_bytes(nodes.ca_certificate)  # not in the example's folder, the hub's build context
    shell.run_commands(text, scratch)
    blocks.note(block("swarm-registry-ca"), blocks.RAN)


@pytest.fixture(scope="module")
def nodes(docker_client, base_images) -> Iterator[swarm_nodes.Nodes]:
    with swarm_nodes.running(docker_client) as running:
        yield running


@pytest.fixture(scope="module")
def stack(nodes, docker_client, tmp_path_factory):
    """The page's download, made a swarm, built, pushed and deployed with its blocks.

    The last tests run the page's stop and clean-up blocks themselves; if a failure kept them
    from it, the teardown runs them. The nodes go afterwards, whatever is left on them.
    """
    folder = downloads.unpacked_example(PAGE, "swarm", tmp_path_factory.mktemp("swarm"))
    env_file = folder / ".env"
    assert f"REGISTRY={PAGE_REGISTRY}\n" in env_file.read_text()
    env_file.write_text(env_file.read_text().replace(PAGE_REGISTRY, nodes.registry))
    manager = nodes.addresses["manager"]
    up = {"folder": folder, "url": f"https://{manager}", "verify": str(folder / "secrets" / "tls.crt")}
    up |= {"stopped": False, "removed": False}
    try:
        make_a_swarm(nodes, folder)
        trust_the_registry(nodes, tmp_path_factory.mktemp("registry-ca"))
        certificate = block("swarm-certificate").text.replace(PAGE_MANAGER_ADDRESS, manager)
        run(nodes, "swarm-certificate", None, folder, certificate)
        run(nodes, "swarm-settings", None, folder)
        run(nodes, "swarm-build", None, folder)
        blocks.note(block("swarm-hub-dockerfile"), blocks.RAN)  # built on the production hub, by swarm-build
        run(nodes, "swarm-deploy", "manager", folder)
        hub.wait_until_up(up["url"], timeout=300, verify=up["verify"])
        yield up
    finally:
        if not up["stopped"]:
            with contextlib.suppress(AssertionError):
                run(nodes, "swarm-stop", "manager", folder)
        if not up["removed"]:
            with contextlib.suppress(AssertionError):
                remove_everything(nodes, folder)
        # What a failed clean-up left on this machine: the nodes go with everything on them, but these tags stay.
        for image in docker_client.images.list():
            for tag in image.tags:
                if tag.startswith(f"{nodes.registry}/"):
                    docker_client.images.remove(tag)


def remove_everything(nodes: swarm_nodes.Nodes, folder) -> None:
    """The page's clean-up on every node and on this machine, then its labels' clean-up on the manager."""
    for node in swarm_nodes.NODES:
        run(nodes, "swarm-cleanup", node, folder)
    run(nodes, "swarm-cleanup-images", None, folder)
    run(nodes, "swarm-forget-homes", "manager", folder)


def admin_name() -> str:
    """The admin the page's settings block names."""
    match = re.search(r"HUB_ADMIN=([\w.-]+)", block("swarm-settings").text)
    assert match, "swarm-settings no longer sets HUB_ADMIN"
    return match.group(1)


@pytest.fixture(scope="module")
def admin(stack) -> hub.User:
    """The admin signs up first, as the page says, with the production page's quoted answer."""
    user = hub.User(stack["url"], admin_name(), verify=stack["verify"])
    blocks.assert_in_output(production.block("production-admin-signup"), user.sign_up(PASSWORD + "admin"), exact=True)
    user.login(PASSWORD + "admin")
    return user


def person(stack, admin, name: str) -> hub.User:
    """`name` signs up, the admin approves her, and she logs in (production's accounts)."""
    return production.approved_user(stack, admin, name, PASSWORD + name)


@pytest.fixture(scope="module")
def alice(stack, admin):
    user = person(stack, admin, "alice")
    report.timing("swarm example: alice's first start (her worker pulls the AI Lab image)", user.start(timeout=900))
    user.run_code(f"open({KEPT!r}, 'w').write('my work')")
    return user


@pytest.fixture(scope="module")
def bob(stack, admin, alice):
    """Started while alice runs, so her reservation counts against her node."""
    user = person(stack, admin, "bob")
    report.timing("swarm example: bob's first start (his worker pulls the AI Lab image)", user.start(timeout=900))
    return user


def task_node(nodes: swarm_nodes.Nodes, user: str) -> str:
    """The hostname of the node that runs a user's running task."""
    client = nodes.client("manager")
    [task] = client.services.get(service(user)).tasks(filters={"desired-state": "running"})
    return client.nodes.get(task["NodeID"]).attrs["Description"]["Hostname"]


def homes(nodes: swarm_nodes.Nodes) -> dict[str, str]:
    """User -> the node whose label names her (ai-lab-swarm.home.<user>)."""
    found = {}
    for node in nodes.client("manager").nodes.list():
        for label in node.attrs["Spec"].get("Labels", {}):
            if label.startswith("ai-lab-swarm.home."):
                found[label.removeprefix("ai-lab-swarm.home.")] = node.attrs["Description"]["Hostname"]
    return found


def has_her_work(user: hub.User) -> None:
    response = user.server("GET", f"/contents/{KEPT}?content=1")
    assert response.status_code == 200, f"{KEPT} is not in {user.name}'s folder: HTTP {response.status_code}"
    assert response.json()["content"] == "my work"


def failed_start(user: hub.User) -> str:
    """Start a server that must fail; the message of the spawn page (the progress stream's failed event)."""
    with pytest.raises(hub.HubError):
        user.start(timeout=120, running_ok=False)
    return user.spawn_failure()


def node_state(nodes: swarm_nodes.Nodes, node: str) -> str:
    return nodes.client("manager").nodes.get(node).attrs["Status"]["State"]


def up_and_ready(nodes: swarm_nodes.Nodes, node: str) -> None:
    """The node running and Ready in the swarm: started again if an earlier step stopped it.

    So that a step run alone (as `nox -s falsify` runs a claim's tests) does not find a node down.
    """
    container = nodes.containers[node]
    container.reload()
    if container.status != "running":
        nodes.start(node)
    wait.wait_until(lambda: node_state(nodes, node) == "ready", 180, f"{node} did not rejoin the swarm")


@pytest.mark.step(1)
@pytest.mark.usefixtures("stack")
def test_the_pages_commands_make_a_swarm_of_three_nodes(nodes):
    listed = {
        node.attrs["Description"]["Hostname"]: (node.attrs["Spec"]["Role"], node.attrs["Status"]["State"])
        for node in nodes.client("manager").nodes.list()
    }
    assert listed == {"manager": ("manager", "ready"), "worker1": ("worker", "ready"), "worker2": ("worker", "ready")}


def hub_task(nodes: swarm_nodes.Nodes):
    """The hub's running container on the manager."""
    tasks = nodes.client("manager").containers.list(filters={"label": f"com.docker.swarm.service.name={HUB_SERVICE}"})
    assert len(tasks) == 1, f"expected one running hub task on the manager, found {len(tasks)}"
    return tasks[0]


def file_in(container, path: str) -> str:
    found = container.exec_run(["cat", path])
    assert found.exit_code == 0, found.output
    return found.output.decode()


@pytest.mark.step(2)
@pytest.mark.usefixtures("stack")
def test_the_page_shows_the_config_the_test_deploys(nodes):
    """The running hub's settings are the page's file, and the production file it loads is the production example's."""
    task = hub_task(nodes)
    blocks.assert_is_running_file(block("swarm-config"), file_in(task, "/srv/swarm/jupyterhub_config.py"))
    production_config = (paths.EXAMPLES / "production" / "jupyterhub_config.py").read_text()
    assert file_in(task, "/srv/production/jupyterhub_config.py") == production_config
    command = task.attrs["Config"]["Cmd"]
    assert command == ["jupyterhub", "--config", "/srv/swarm/jupyterhub_config.py"], command


@pytest.mark.step(3)
def test_the_swarm_hub_answers_on_https_with_the_certificate_of_the_secret(nodes, stack):
    """The hub's task has the page's certificate as a swarm secret, and serves it; plain HTTP gets no hub."""
    task = hub_task(nodes)
    made = (stack["folder"] / "secrets" / "tls.crt").read_text()
    assert file_in(task, "/run/secrets/tls_cert") == made
    mounts = task.attrs["Mounts"]
    assert not [m for m in mounts if "secrets" in m.get("Source", "") and m["Type"] == "bind"], mounts
    served = ssl.get_server_certificate((nodes.addresses["manager"], 443), timeout=30)
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(made), "the hub serves another certificate"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{nodes.addresses['manager']}:443/hub/api/", timeout=10)
    secrets = {secret.name for secret in nodes.client("manager").secrets.list()}
    assert secrets == {f"{STACK}_tls_cert", f"{STACK}_tls_key"}, secrets


@pytest.mark.step(4)
def test_the_swarm_hub_logs_in_approved_accounts_only_and_culls_idle_servers(nodes, stack, admin):
    """Production's accounts: a sign-up waits for the admin; the idle culler runs as the hub's service."""
    waiting = hub.User(stack["url"], "mallory", verify=stack["verify"])
    waiting.sign_up(PASSWORD + "mallory")
    assert waiting.login_error(PASSWORD + "mallory") == "User mallory has not been authorized by an administrator yet."
    services = admin.api("GET", "/services")
    assert services.status_code == 200, services.text
    assert "idle-culler" in services.json(), services.json()
    processes = hub_task(nodes).exec_run(
        ["python3", "-c", "import glob; print(*(open(f, 'rb').read() for f in glob.glob('/proc/[0-9]*/cmdline')))"]
    )
    assert b"jupyterhub_idle_culler" in processes.output, "the idle culler is not running in the hub's task"


@pytest.mark.step(5)
def test_users_land_on_different_workers_and_stay_there(nodes, stack, alice, bob):
    placed = {"alice": task_node(nodes, "alice"), "bob": task_node(nodes, "bob")}
    assert placed == {"alice": "worker1", "bob": "worker2"}, f"the users' servers run on {placed}"
    assert homes(nodes) == placed, f"the nodes' labels say {homes(nodes)}"
    node_id = nodes.client("manager").nodes.get("worker1").id
    spec = nodes.client("manager").services.get(service("alice")).attrs["Spec"]["TaskTemplate"]
    assert spec["Placement"]["Constraints"] == [f"node.id == {node_id}"], spec["Placement"]
    shown = run(nodes, "swarm-status", "manager", stack["folder"])
    assert 'worker1 {"ai-lab-swarm.home.alice":"true"}' in shown, shown
    alice.stop()
    alice.start(timeout=300, running_ok=False)
    assert task_node(nodes, "alice") == "worker1", "alice's next start left her node"
    has_her_work(alice)


@pytest.mark.step(6)
@pytest.mark.usefixtures("alice", "bob")
def test_every_node_pulls_the_images_from_the_registry(nodes):
    users_image, hub_image = images(versions.pins("swarm"), nodes.registry)

    def pulled(node: str, image: str) -> bool:
        """The node has the image from the registry (the stack pins the hub's by digest, so look at digests)."""
        repository = image.rsplit(":", 1)[0]
        digests = [d for found in nodes.client(node).images.list() for d in found.attrs.get("RepoDigests") or []]
        return any(digest.startswith(f"{repository}@sha256:") for digest in digests)

    assert pulled("manager", hub_image), "the manager did not pull the hub's image from the registry"
    for worker in ("worker1", "worker2"):
        assert pulled(worker, users_image), f"{worker} did not pull the users' image from the registry"
    assert not pulled("manager", users_image), "the manager pulled the users' image: a user ran there"


@pytest.mark.step(7)
@pytest.mark.usefixtures("alice")
def test_the_users_server_is_a_swarm_service_on_the_overlay_network(nodes):
    client = nodes.client("manager")
    running = client.services.get(service("alice"))
    network = client.networks.get(NETWORK)
    assert network.attrs["Driver"] == "overlay" and network.attrs["Attachable"], network.attrs
    spec = running.attrs["Spec"]["TaskTemplate"]
    assert [n["Target"] for n in spec["Networks"]] == [network.id], spec["Networks"]
    assert not running.attrs["Endpoint"].get("Ports"), "a user's server must not publish a port"
    container = spec["ContainerSpec"]
    assert container["CapabilityDrop"] == ["ALL"]
    assert container["Mounts"] == [{"Type": "volume", "Source": volume("alice"), "Target": NOTEBOOKS}]
    assert spec["Resources"]["Limits"] == {"NanoCPUs": 10**9, "MemoryBytes": 4 * 1024**3}
    assert spec["Resources"].get("Reservations", {}).get("MemoryBytes") == 1024**3, spec["Resources"]
    assert spec["RestartPolicy"]["Condition"] == "none"
    environment = dict(line.split("=", 1) for line in container["Env"])
    assert environment["PIP_CONSTRAINT"] == "/etc/ai-lab/constraints.txt", "not the production users' packages"


@pytest.mark.step(8)
def test_code_runs_in_the_users_kernel(alice):
    output = alice.run_code(
        "import exasol.nb_connector, getpass, os\nprint(os.environ['JUPYTERHUB_USER'], getpass.getuser())"
    )
    assert output.split() == ["alice", "jupyter"], output


@pytest.mark.step(9)
def test_files_survive_a_restart_on_the_users_volume(alice, nodes):
    alice.stop()
    assert not nodes.client("manager").services.list(filters={"name": service("alice")}), "the service stayed"
    alice.start(timeout=300, running_ok=False)
    has_her_work(alice)


@pytest.mark.step(10)
@pytest.mark.usefixtures("bob")
def test_the_status_commands_show_the_stack_and_the_users_service(stack, nodes):
    output = run(nodes, "swarm-status", "manager", stack["folder"])
    assert HUB_SERVICE in output and service("alice") in output, output
    assert NETWORK in {n.name for n in nodes.client("manager").networks.list()}, f"the deploy made no {NETWORK}"
    secrets = {secret.name for secret in nodes.client("manager").secrets.list()}
    assert secrets == {f"{STACK}_tls_cert", f"{STACK}_tls_key"}, f"the deploy made the secrets {secrets}"
    for name in ("swarm-deploy", "swarm-status", "swarm-stop", "swarm-cleanup"):
        defaults = re.findall(r"\$\{STACK_NAME:-([^}]*)\}", block(name).text)
        assert defaults and set(defaults) == {STACK}, f"{name}: the stack's name defaults to {defaults}"


@pytest.mark.step(11)
def test_a_user_whose_node_is_down_gets_a_clear_message(nodes, alice, bob):
    alice.stop()
    nodes.stop("worker1")
    wait.wait_until(lambda: node_state(nodes, "worker1") == "down", 120, "the manager never saw worker1 down")
    message = failed_start(alice)
    blocks.assert_in_output(block("swarm-node-down"), message)
    assert bob.run_code("print('still here')").strip() == "still here", "bob's server on worker2 stopped working"


@pytest.mark.step(12)
def test_a_user_whose_node_comes_back_starts_with_her_notebooks(nodes, alice):
    up_and_ready(nodes, "worker1")  # stopped by the step before
    alice.start(timeout=300, running_ok=False)
    assert task_node(nodes, "alice") == "worker1"
    has_her_work(alice)


@pytest.mark.step(13)
def test_the_admin_moves_a_user_to_another_node(nodes, stack, alice):
    up_and_ready(nodes, "worker1")
    alice.stop()
    run(nodes, "swarm-drain", "manager", stack["folder"])
    assert "which is drained." in failed_start(alice)
    text = block("swarm-move").text
    for node in ("worker1", "worker2"):
        text = text.replace(f"ssh://admin@{node}.example.com", nodes.host(node))
    report.deviation(f"{PAGE}: swarm-move", "the nodes' engine sockets on the test machine for ssh://admin@…")
    run(nodes, "swarm-move", "manager", stack["folder"], text)
    alice.start(timeout=600, running_ok=False)
    assert task_node(nodes, "alice") == "worker2", "alice did not move"
    assert homes(nodes)["alice"] == "worker2"
    has_her_work(alice)


@pytest.mark.step(14)
def test_the_swarm_example_pins_the_production_examples_versions():
    """Both examples build the same hub and users' image: their pins must not drift apart."""
    swarm = versions.pins("swarm")
    assert {key: value for key, value in swarm.items() if key != "REGISTRY"} == versions.pins("production")


@pytest.fixture(scope="module")
def stopped(stack, nodes):
    """The page's "Stop it" on the manager, run once: "Remove everything" comes after it, on every node."""
    for node in ("worker1", "worker2"):
        up_and_ready(nodes, node)
    if not stack["stopped"]:
        run(nodes, "swarm-stop", "manager", stack["folder"])
        stack["stopped"] = True
    return stack


@pytest.mark.step(15)
@pytest.mark.usefixtures("alice", "bob", "stopped")
def test_stop_removes_the_services_the_network_and_the_secrets_and_keeps_the_volumes(nodes):
    manager = nodes.client("manager")
    wait.wait_until(
        lambda: not manager.services.list() and NETWORK not in {n.name for n in manager.networks.list()},
        timeout=120,
        what="after `swarm-stop` the services or the network are still there",
    )
    kept = {node: {v.name for v in nodes.client(node).volumes.list()} for node in swarm_nodes.NODES}
    assert f"{STACK}_hub-data" in kept["manager"], kept
    assert volume("alice") in kept["worker1"], kept
    assert volume("bob") in kept["worker2"], kept
    assert not manager.secrets.list(), "the certificate's secrets stayed"


@pytest.mark.step(16)
@pytest.mark.usefixtures("alice", "bob")
def test_remove_everything_removes_the_volumes_the_images_and_the_labels(stopped, nodes, docker_client):
    """The block removes containers that still use a volume, then the volumes, the images and the labels.

    A running container that holds bob's volume stands for a task the swarm has not removed (yet):
    `docker volume rm` fails while it is there, so the block must remove it first.
    """
    users_image, _ = images(versions.pins("swarm"), nodes.registry)
    nodes.client("worker2").containers.run(
        users_image,
        entrypoint=["sleep", "600"],
        volumes={volume("bob"): {"bind": "/mnt/notebooks", "mode": "ro"}},
        network_mode="none",
        detach=True,
        auto_remove=True,
    )
    other_name = f"{swarm_nodes.PREFIX}other-name:1"  # as the minimal example's name of the same image
    docker_client.images.get(users_image).tag(other_name)
    try:
        remove_everything(nodes, stopped["folder"])
        stopped["removed"] = True
        assert docker_client.images.get(other_name), "the clean-up removed another name of the users' image"
    finally:
        docker_client.images.remove(other_name)
    for node in swarm_nodes.NODES:
        client = nodes.client(node)
        left = [v.name for v in client.volumes.list() if v.name.startswith(("ai-lab-swarm-", f"{STACK}_"))]
        assert not left, f"volumes left on {node}: {left}"
        names = [n for image in client.images.list() for n in image.tags + (image.attrs["RepoDigests"] or [])]
        assert not [n for n in names if "/ai-lab-swarm-" in n], f"images left on {node}: {names}"
    here = [tag for image in docker_client.images.list() for tag in image.tags if tag.startswith(nodes.registry)]
    assert not here, f"images left on the build machine: {here}"
    assert not homes(nodes), f"labels left: {homes(nodes)}"
