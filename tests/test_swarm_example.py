"""The swarm example, end to end, on a single-node swarm, with the commands of its page.

The test makes the engine a swarm manager when it is not one yet, builds and
deploys the page's download with the page's blocks, logs in through the
published port, and checks that the user's AI Lab is a swarm service on the
overlay network that runs code and keeps files across a restart. Afterwards
it runs the page's stop and clean-up blocks and puts the engine back as it
found it: swarm state, networks, volumes and services.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from ailab_guide import versions
from harness import blocks, compose, downloads, hub, minimal_example, report, shell, wait

PAGE = "swarm.md"
STACK = "ailabguideswarm"
NETWORK = "ai-lab-swarm"
PORT = 8200  # not 8000: the minimal example's tests may run at the same time
URL = f"http://127.0.0.1:{PORT}"
USER = "alice"
SERVICE = f"ai-lab-swarm-{USER}"
VOLUME = f"ai-lab-swarm-notebooks-{USER}"
HUB_VOLUME = f"{STACK}_hub-data"
NOTEBOOKS = "/home/jupyter/notebooks"


def block(name: str):
    return blocks.named(PAGE, name)


def swarm_state(client: docker.DockerClient) -> str:
    return client.info()["Swarm"]["LocalNodeState"]


def network_names(client: docker.DockerClient) -> set[str]:
    return {network.name for network in client.networks.list()}


@contextlib.contextmanager
def single_node_swarm(client: docker.DockerClient) -> Iterator[None]:
    """The engine as a swarm manager; a swarm this made is left again, with the networks it added."""
    state, networks = swarm_state(client), network_names(client)
    assert state in ("inactive", "active"), f"the engine's swarm state is {state!r}; the test needs a clean one"
    if state == "active":
        assert client.info()["Swarm"]["ControlAvailable"], "the engine is in a swarm but not a manager"
    else:
        # 127.0.0.1: a one-node swarm needs no address that other nodes can reach.
        client.swarm.init(advertise_addr="127.0.0.1")
    try:
        yield
    finally:
        if state == "inactive":
            client.swarm.leave(force=True)
            # `ingress` goes with the swarm; the bridge that links tasks to the host stays.
            compose.remove_leftovers(client, networks=sorted({"docker_gwbridge", "ingress"} - networks))
        assert swarm_state(client) == state, f"the engine's swarm state is {swarm_state(client)!r}, was {state!r}"


def remove_leftovers(client: docker.DockerClient) -> None:
    """What a failed step may have left: the user's service, the stack, the volumes and the network."""
    for service in client.services.list(filters={"name": SERVICE}) + client.services.list(
        filters={"label": f"com.docker.stack.namespace={STACK}"}
    ):
        service.remove()
    for name in (VOLUME, HUB_VOLUME):
        for container in client.containers.list(all=True, filters={"volume": name}):
            container.remove(force=True)
    compose.remove_leftovers(client, volumes=[VOLUME, HUB_VOLUME], networks=[NETWORK])


def assert_nothing_left(client: docker.DockerClient) -> None:
    if swarm_state(client) == "active":
        services = [s.name for s in client.services.list() if s.name == SERVICE or s.name.startswith(f"{STACK}_")]
        assert not services, f"services left: {services}"
    volumes = {v.name for v in client.volumes.list()} & {VOLUME, HUB_VOLUME}
    assert not volumes, f"volumes left: {volumes}"
    assert NETWORK not in network_names(client), f"network {NETWORK} left"


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    """The page's download (swarm builds from minimal/, which it holds), built and deployed with its blocks.

    The last two tests run the page's stop and clean-up blocks themselves; if a
    failure kept them from it, the teardown runs them, then removes whatever is left.
    """
    folder = downloads.unpacked_example(PAGE, "swarm", tmp_path_factory.mktemp("swarm"))
    env = {"STACK_NAME": STACK, "HUB_PORT": str(PORT)}
    for key, value in env.items():
        report.deviation(f"{PAGE}: swarm-deploy", f"{key}={value} in the environment of the commands")
    with single_node_swarm(docker_client):
        up = {"folder": folder, "env": env, "stopped": False, "removed": False}
        try:
            shell.run_commands(block("swarm-build"), folder, env)
            shell.run_commands(block("swarm-deploy"), folder, env)
            hub.wait_until_up(URL, timeout=180)
            used = {name: (folder / name).read_text() for name in (".env", "docker-stack.yml")}
            blocks.assert_files_in_use("swarm", used)  # the deploy read them
            yield up
        finally:
            try:
                if not up["stopped"]:
                    shell.run_commands(block("swarm-stop"), folder, env, timeout=300)
                if not up["removed"]:
                    shell.run_commands(block("swarm-cleanup"), folder, env, timeout=300)
            finally:
                remove_leftovers(docker_client)
            assert_nothing_left(docker_client)
    assert_nothing_left(docker_client)


@pytest.fixture(scope="module")
def alice(stack):
    user = hub.User(URL, USER)
    user.login(minimal_example.trial_password(block("swarm-deploy").text))
    report.timing("swarm example: spawn of alice's AI Lab service (first start)", user.start(timeout=420))
    return user


@pytest.mark.step(1)
@pytest.mark.usefixtures("stack")
def test_the_page_shows_the_config_the_test_deploys(docker_client):
    """The file inside the running hub's task (the build copied it in) is the one the page shows."""
    tasks = docker_client.containers.list(filters={"label": f"com.docker.swarm.service.name={STACK}_hub"})
    assert len(tasks) == 1, f"expected one running hub task, found {len(tasks)}"
    running = tasks[0].exec_run(["cat", "/srv/jupyterhub/jupyterhub_config.py"])
    assert running.exit_code == 0, running.output
    blocks.assert_is_running_file(block("swarm-config"), running.output.decode())


@pytest.mark.step(2)
@pytest.mark.usefixtures("alice")
def test_the_status_commands_show_the_stack_and_the_users_service(stack, docker_client):
    """The page's "see what happens" commands run and name the hub's and alice's services.

    The deploy made the network; every block names the stack `ai-lab` unless STACK_NAME says otherwise.
    """
    output = shell.run_commands(block("swarm-status"), stack["folder"], stack["env"])
    assert f"{STACK}_hub" in output and SERVICE in output, output
    assert NETWORK in network_names(docker_client), f"the deploy made no network {NETWORK}"
    for name in ("swarm-deploy", "swarm-status", "swarm-stop", "swarm-cleanup"):
        defaults = re.findall(r"\$\{STACK_NAME:-([^}]*)\}", block(name).text)
        assert defaults and set(defaults) == {"ai-lab"}, f"{name}: the stack's name defaults to {defaults}"


@pytest.mark.step(3)
@pytest.mark.usefixtures("alice")
def test_the_users_server_is_a_swarm_service_on_the_overlay_network(docker_client):
    service = docker_client.services.get(SERVICE)
    network = docker_client.networks.get(NETWORK)
    assert network.attrs["Driver"] == "overlay" and network.attrs["Attachable"], network.attrs
    spec = service.attrs["Spec"]["TaskTemplate"]
    assert [n["Target"] for n in spec["Networks"]] == [network.id], spec["Networks"]
    assert not service.attrs["Endpoint"].get("Ports"), "a user's server must not publish a port"
    container = spec["ContainerSpec"]
    assert container["CapabilityDrop"] == ["ALL"]
    assert container["Mounts"] == [{"Type": "volume", "Source": VOLUME, "Target": NOTEBOOKS}]
    assert not any("docker.sock" in m["Source"] for m in container["Mounts"])
    assert spec["Resources"]["Limits"] == {"NanoCPUs": 10**9, "MemoryBytes": 4 * 1024**3}
    assert spec["Resources"].get("Reservations", {}).get("MemoryBytes") == 1024**3, spec["Resources"]
    assert spec["RestartPolicy"]["Condition"] == "none"
    tasks = service.tasks(filters={"desired-state": "running"})
    assert [t["Status"]["State"] for t in tasks] == ["running"], tasks


@pytest.mark.step(4)
def test_code_runs_in_the_users_kernel(alice):
    output = alice.run_code(
        "import exasol.nb_connector, getpass, os\nprint(os.environ['JUPYTERHUB_USER'], getpass.getuser())"
    )
    assert output.split() == [USER, "jupyter"], output


@pytest.mark.step(5)
def test_files_survive_a_restart_on_the_users_volume(alice, docker_client):
    alice.run_code("open('kept.txt', 'w').write('written before the restart')")
    alice.stop()
    assert not docker_client.services.list(filters={"name": SERVICE}), "stopping must remove the service"
    alice.start(timeout=420)
    response = alice.server("GET", "/contents/kept.txt?content=1")
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "written before the restart"


@pytest.mark.step(6)
def test_the_swarm_example_pins_the_minimal_examples_versions():
    """Both examples build the same users' image: their pins must not drift apart."""
    assert versions.pins("swarm") == versions.pins("minimal")


def stack_volumes(client: docker.DockerClient) -> set[str]:
    return {v.name for v in client.volumes.list()} & {VOLUME, HUB_VOLUME}


@pytest.mark.step(7)
def test_stop_removes_the_services_and_the_network_and_keeps_the_volumes(stack, docker_client):
    shell.run_commands(block("swarm-stop"), stack["folder"], stack["env"], timeout=300)
    stack["stopped"] = True
    wait.wait_until(
        lambda: (
            not docker_client.services.list(filters={"name": SERVICE})
            and not docker_client.services.list(filters={"label": f"com.docker.stack.namespace={STACK}"})
            and NETWORK not in network_names(docker_client)
        ),
        timeout=120,
        what="after `swarm-stop` the users' services, the hub's service or the network are still there",
    )
    assert stack_volumes(docker_client) == {VOLUME, HUB_VOLUME}, "the page says `swarm-stop` keeps both volumes"


@pytest.mark.step(8)
def test_remove_everything_removes_the_volumes_and_the_images(stack, docker_client):
    """The block waits for containers that still use a volume, then removes the volumes and the images.

    A container that holds alice's volume for a few seconds more stands for a task the swarm has not
    removed yet: `docker volume rm` fails while it runs, so the block must wait for it to go.
    """
    pins = versions.pins("swarm")
    users_image = f"ai-lab-swarm-singleuser:{pins['AI_LAB_VERSION']}-jupyterhub-{pins['JUPYTERHUB_VERSION']}"
    docker_client.containers.run(
        users_image,
        entrypoint=["sleep", "10"],
        volumes={VOLUME: {"bind": "/mnt/notebooks", "mode": "ro"}},
        network_mode="none",
        detach=True,
        auto_remove=True,
    )
    shell.run_commands(block("swarm-cleanup"), stack["folder"], stack["env"], timeout=300)
    stack["removed"] = True
    assert not stack_volumes(docker_client), f"volumes left: {stack_volumes(docker_client)}"
    for tag in (
        f"ai-lab-swarm-hub:{pins['JUPYTERHUB_VERSION']}",
        f"ai-lab-swarm-singleuser:{pins['AI_LAB_VERSION']}-jupyterhub-{pins['JUPYTERHUB_VERSION']}",
    ):
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(tag)
