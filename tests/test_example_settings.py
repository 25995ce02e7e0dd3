"""What the pages say an example sets up, read from its files, without Docker.

These prove sentences about configuration ("the example locks an account for
ten minutes after five wrong passwords"), not the upstream behaviour behind a
setting: each test loads a jupyterhub_config.py as JupyterHub does, or reads a
compose or stack file, and fails when the file stops setting what the page says.
"""

from __future__ import annotations

import asyncio
import fnmatch
import importlib.metadata
import re
import types
import urllib.parse

import pytest
import yaml
from ailab_guide import hubconfig, versions
from dockerspawner import DockerSpawner, SwarmSpawner
from harness import blocks, paths
from jupyterhub.app import JupyterHub

SOCKET = "/var/run/docker.sock"
NOTEBOOKS = "/home/jupyter/notebooks"
COMPOSE_EXAMPLES = ("minimal", "production")


def compose_file(example: str) -> dict:
    """An example's compose file (the swarm example's stack file), parsed."""
    folder = paths.EXAMPLES / example
    return yaml.safe_load((folder / ("docker-stack.yml" if example == "swarm" else "docker-compose.yml")).read_text())


def services(example: str) -> dict:
    return compose_file(example)["services"]


def config(example: str, **overrides: str):
    env = {**hubconfig.compose_environment(example), **overrides}
    return hubconfig.load(paths.EXAMPLES / example / "jupyterhub_config.py", env)


def spawner(example: str) -> DockerSpawner:
    """A DockerSpawner configured as the example's hub configures it, for one user (not started)."""
    return DockerSpawner(config=config(example), user=types.SimpleNamespace(name="alice"))


def prepared_spawner(example: str) -> DockerSpawner:
    """The spawner the example's hub makes for one user (its spawner_class), after its pre_spawn_hook ran."""
    loaded = config(example)
    spawner_class = loaded.JupyterHub.spawner_class
    if isinstance(spawner_class, str):  # the name of an entry point, such as "docker"
        [entry] = importlib.metadata.entry_points(group="jupyterhub.spawners", name=spawner_class)
        spawner_class = entry.load()
    made = spawner_class(config=loaded, user=types.SimpleNamespace(name="alice"))
    if made.pre_spawn_hook:
        made.pre_spawn_hook(made)
    return made


@pytest.mark.parametrize(
    ("example", "published"),
    [
        ("minimal", "127.0.0.1:${HUB_PORT:-8000}:8000"),
        ("production", "${HUB_ADDRESS:-127.0.0.1}:${HUB_PORT:-443}:8443"),
        ("swarm", {"target": 8443, "published": "${HUB_PORT:-443}", "protocol": "tcp", "mode": "host"}),
    ],
)
def test_hub_port_sets_the_only_published_port(example: str, published) -> None:
    """Only the hub publishes a port, at HUB_PORT on the host; on 127.0.0.1 only (production: until HUB_ADDRESS)."""
    ports = {name: service["ports"] for name, service in services(example).items() if service.get("ports")}
    assert ports == {"hub": [published]}, ports
    inside = published["target"] if isinstance(published, dict) else int(published.rsplit(":", 1)[1])
    bind_url = config(example).JupyterHub.bind_url
    assert urllib.parse.urlsplit(bind_url).port == inside, f"the proxy listens on another port: {bind_url}"
    if example in COMPOSE_EXAMPLES:  # nor does a user's server: the proxy reaches it on the Docker network only
        users = spawner(example)
        assert users.use_internal_ip, "DockerSpawner would publish each user's server on a port of the host"
        assert "port_bindings" not in users.extra_host_config, users.extra_host_config


@pytest.mark.parametrize("example", [*COMPOSE_EXAMPLES, "swarm"])
def test_only_the_hub_gets_the_docker_socket(example: str) -> None:
    with_socket = [
        name
        for name, service in services(example).items()
        if any(str(volume).startswith(f"{SOCKET}:") for volume in service.get("volumes", []))
    ]
    assert with_socket == ["hub"], with_socket
    loaded = config(example)
    for section in ("DockerSpawner", "SwarmSpawner"):
        assert SOCKET not in str(loaded[section].get("volumes", {})), f"{section} mounts the socket for users"
    # Everything a user's container or service is made with, hooks included (the swarm's mounts come from one).
    users = prepared_spawner(example)
    given = [getattr(users, name, None) for name in ("volumes", "read_only_volumes", "mounts", "extra_host_config")]
    given += [getattr(users, name, None) for name in ("extra_create_kwargs", "extra_container_spec")]
    assert "docker.sock" not in str(given), f"a user's AI Lab gets the Docker socket: {given}"


@pytest.mark.parametrize("example", COMPOSE_EXAMPLES)
def test_the_hub_spawns_the_image_compose_builds_and_never_pulls(example: str) -> None:
    found = services(example)
    assert found["hub"]["environment"]["AI_LAB_IMAGE"] == found["ai-lab-image"]["image"]
    assert "ai-lab-image" in found["hub"]["depends_on"], "the users' image must be built before the hub starts"
    loaded = config(example)
    assert loaded.DockerSpawner.image == hubconfig.compose_environment(example)["AI_LAB_IMAGE"]
    assert loaded.DockerSpawner.pull_policy == "never"
    assert not spawner(example).allowed_images, "users may choose another image at start"
    # Built once, on the AI Lab release .env pins exactly (a release number, not a moving tag like `latest`).
    build = found["ai-lab-image"]["build"]
    recipe = (paths.EXAMPLES / example / build["context"] / build["dockerfile"]).read_text()
    assert re.search(r"^FROM exasol/ai-lab:\$\{AI_LAB_VERSION\}$", recipe, re.M), "not built on the pinned AI Lab"
    assert build["args"]["AI_LAB_VERSION"] == "${AI_LAB_VERSION}", build["args"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.pins(example)["AI_LAB_VERSION"]), versions.pins(example)


def test_compose_passes_the_env_pins_to_both_builds_and_the_hub() -> None:
    """The minimal example's .env is where compose takes every version from, for both Dockerfiles and the hub.

    Each ARG of both Dockerfiles is a build argument `${NAME}` that .env defines (none is typed into
    docker-compose.yml), and the hub's AI_LAB_IMAGE names the users' image by the same pins.
    """
    pins = versions.pins("minimal")
    found = services("minimal")
    built = {name: service["build"] for name, service in found.items() if "build" in service}
    assert sorted(built) == ["ai-lab-image", "hub"], sorted(built)
    for name, build in built.items():
        declared = set(re.findall(r"^ARG (\w+)", (paths.MINIMAL / build["dockerfile"]).read_text(), re.M))
        assert build["args"] == {arg: f"${{{arg}}}" for arg in declared}, f"{name}: {build['args']}"
        assert declared <= set(pins), f"{name}: .env lacks {sorted(declared - set(pins))}"
    image = "ai-lab-singleuser:${AI_LAB_VERSION}-jupyterhub-${JUPYTERHUB_VERSION}"
    assert found["hub"]["environment"]["AI_LAB_IMAGE"] == found["ai-lab-image"]["image"] == image


@pytest.mark.parametrize("example", COMPOSE_EXAMPLES)
def test_the_image_service_only_prints_its_version_without_a_network(example: str) -> None:
    service = services(example)["ai-lab-image"]
    assert service["network_mode"] == "none"
    assert "jupyterhub.__version__" in " ".join(service["entrypoint"])
    assert service["restart"] == "no"


@pytest.mark.parametrize("example", [*COMPOSE_EXAMPLES, "swarm"])
def test_users_join_the_network_the_file_names(example: str) -> None:
    """The network has an explicit name, `ai-lab-<example>` unless AI_LAB_NETWORK says otherwise; the hub gets it."""
    network = compose_file(example)["networks"]["ai-lab"]["name"]
    default = f"ai-lab-{example}"
    assert network in (default, f"${{AI_LAB_NETWORK:-{default}}}"), network
    assert services(example)["hub"]["environment"]["DOCKER_NETWORK_NAME"] == network
    assert "ai-lab" in services(example)["hub"]["networks"], "the hub is not on the users' network"
    assert prepared_spawner(example).network_name == hubconfig.compose_environment(example)["DOCKER_NETWORK_NAME"]


@pytest.mark.parametrize(("example", "prefix"), [("minimal", "ai-lab-"), ("production", "ai-lab-production-")])
def test_each_user_gets_a_container_and_a_named_volume_of_their_own(example: str, prefix: str) -> None:
    loaded = config(example)
    assert loaded.DockerSpawner.name_template == f"{prefix}{{username}}"
    # Volumes without {username} are shared by everyone (the production example's team folder).
    own = {name: target for name, target in loaded.DockerSpawner.volumes.items() if "{username}" in name}
    assert own == {f"{prefix}notebooks-{{username}}": NOTEBOOKS}


def test_the_production_example_names_its_users_containers_and_images_apart_from_the_minimal_examples() -> None:
    """The production example's users' containers and volumes and its images are named `ai-lab-production-…`;
    neither example's clean-up block reaches the other's (a name filter matches every name that contains it)."""
    minimal, production = config("minimal").DockerSpawner, config("production").DockerSpawner
    assert minimal.name_template != production.name_template
    assert set(minimal.volumes).isdisjoint(production.volumes)
    images = {example: {s["image"].split(":")[0] for s in services(example).values()} for example in COMPOSE_EXAMPLES}
    assert images["minimal"].isdisjoint(images["production"]), images
    names = {
        example: [users.name_template.format(username="ada"), *(v.format(username="ada") for v in users.volumes)]
        for example, users in (("minimal", minimal), ("production", production))
    }
    outside = [
        name for name in [*names["production"], *images["production"]] if not name.startswith("ai-lab-production-")
    ]
    assert not outside, f"the production example names these outside ai-lab-production-: {outside}"
    for page, cleanup, other in (
        ("minimal-example.md", "minimal-cleanup", "production"),
        ("production.md", "production-uninstall", "minimal"),
    ):
        text = blocks.named(page, cleanup).text
        by_name = re.findall(r"--filter name=([\w.-]+)", text)
        by_reference = re.findall(r"--filter '?reference=([\w.*-]+)", text)
        assert by_name, f"{cleanup} no longer filters by name: update this test"
        reached = [name for name in names[other] if any(part in name for part in by_name)]
        reached += [image for image in images[other] if any(fnmatch.fnmatch(image, p) for p in by_reference)]
        assert not reached, f"{page}'s clean-up ({cleanup}) would remove the {other} example's {reached}"


def test_the_trial_admits_any_name_with_one_password() -> None:
    loaded = config("minimal")
    assert loaded.JupyterHub.authenticator_class == "shared-password"
    assert loaded.Authenticator.allow_all is True
    password = hubconfig.compose_environment("minimal")["TRIAL_PASSWORD"]
    assert loaded.SharedPasswordAuthenticator.user_password == password
    # The authenticator the hub makes from the file: any name gets in with that password, and only with it.
    authenticator = JupyterHub(config=loaded).authenticator_class(config=loaded)

    def login(name: str, password: str):
        return asyncio.run(authenticator.get_authenticated_user(None, {"username": name, "password": password}))

    for name in ("alice", "bob", "someone-new"):
        assert login(name, password)["name"] == name, f"{name} was refused with the trial password"
        assert login(name, password + "-wrong") is None, f"{name} got in with a wrong password"


# Docker's memory and CPU limits, as docker-py's create_host_config names them.
HOST_CONFIG_LIMITS = {"mem_limit", "memswap_limit", "nano_cpus", "cpu_quota", "cpuset_cpus", "cpu_count", "cpu_percent"}


def test_the_minimal_example_sets_no_limits_and_stops_no_idle_server() -> None:
    """DockerSpawner's defaults, 0, give Docker no memory limit and no CPU quota; nor does the host config.

    No service (a culler) stops idle servers, and the servers get no options (such as an idle shutdown).
    """
    users = spawner("minimal")
    assert not users.mem_limit and not users.cpu_limit, (users.mem_limit, users.cpu_limit)
    host_config = {**users.extra_host_config, **users.extra_create_kwargs.get("host_config", {})}
    assert not HOST_CONFIG_LIMITS & set(host_config), f"the minimal example limits its users: {host_config}"
    assert "services" not in config("minimal").JupyterHub, "the minimal example now runs a service (a culler?)"
    assert not users.args, f"the minimal example gives the servers options (an idle shutdown?): {users.args}"


def test_dockerspawner_keeps_a_stopped_container_unless_remove_is_set() -> None:
    assert DockerSpawner().remove is False, "DockerSpawner's default changed: the troubleshooting page says False"
    for example in COMPOSE_EXAMPLES:
        assert spawner(example).remove is True, example


def test_dockerspawner_runs_the_images_own_command() -> None:
    """No `cmd` in the config: DockerSpawner then runs the image's CMD, which the Dockerfile sets."""
    for example in COMPOSE_EXAMPLES:
        assert spawner(example).cmd is None, example
    dockerfile = (paths.MINIMAL / "Dockerfile.ai-lab").read_text().splitlines()
    assert [line for line in dockerfile if line.startswith("CMD ")] == ['CMD ["jupyterhub-singleuser"]']


def test_the_users_image_replaces_the_ai_lab_entrypoint() -> None:
    """The image's last ENTRYPOINT is the start script, which ends by running the command it is given."""
    dockerfile = (paths.MINIMAL / "Dockerfile.ai-lab").read_text().splitlines()
    entrypoints = [line for line in dockerfile if line.startswith("ENTRYPOINT ")]
    assert entrypoints == ['ENTRYPOINT ["/usr/local/bin/start-ai-lab.sh"]'], entrypoints
    script = (paths.MINIMAL / "start-ai-lab.sh").read_text().strip().splitlines()
    assert script[-1] == 'exec "$@"', script[-1]
    # Nor does the script start the AI Lab's own entrypoint or its JupyterLab on port 49494.
    assert "49494" not in "\n".join(script) and "entrypoint.py" not in "\n".join(script), script
    # The command it is given, the image's CMD, is the single-user server.
    assert [line for line in dockerfile if line.startswith("CMD ")] == ['CMD ["jupyterhub-singleuser"]']


def test_the_production_example_asks_for_12_characters_and_no_common_password() -> None:
    native = config("production").NativeAuthenticator
    assert native.minimum_password_length == 12
    assert native.check_common_password is True


def test_the_production_example_locks_an_account_for_ten_minutes_after_five_wrong_passwords() -> None:
    native = config("production").NativeAuthenticator
    assert native.allowed_failed_logins == 5
    assert native.seconds_before_next_try == 600


def test_the_production_limits_come_from_the_settings() -> None:
    """USER_MEM_LIMIT and USER_CPU_LIMIT, whatever their values, become a server's limits; processes stop at 1024."""
    users = DockerSpawner(
        config=config("production", USER_MEM_LIMIT="3G", USER_CPU_LIMIT="0.5"), user=types.SimpleNamespace(name="ada")
    )
    users.pre_spawn_hook(users)  # no size chosen: the standard size
    assert (users.mem_limit, users.cpu_limit) == (3 * 2**30, 0.5), (users.mem_limit, users.cpu_limit)
    assert users.extra_host_config["pids_limit"] == 1024, users.extra_host_config


def test_the_idle_culler_gets_only_the_rights_it_needs_and_the_idle_timeout() -> None:
    loaded = config("production", IDLE_TIMEOUT="1234")
    [culler] = loaded.JupyterHub.services
    assert "--timeout=1234" in culler["command"], culler["command"]
    [role] = loaded.JupyterHub.load_roles
    assert role["services"] == [culler["name"]]
    assert sorted(role["scopes"]) == ["delete:servers", "list:users", "read:servers", "read:users:activity"]


def test_the_production_hub_checks_its_servers_at_the_default_poll_interval() -> None:
    """The production page gives JupyterHub's default as the interval; the example must not change it."""
    assert spawner("production").poll_interval == float(hubconfig.describe("Spawner", "poll_interval").default)


def test_swarmspawner_offers_no_remove_setting() -> None:
    """The swarm page says services are always removed: SwarmSpawner has no configurable `remove`."""
    assert "remove" in DockerSpawner.class_traits(config=True), "the check looks for the wrong name"
    assert "remove" not in SwarmSpawner.class_traits(config=True)
    # Nor does the subclass the swarm example runs.
    spawner_class = config("swarm").JupyterHub.spawner_class
    assert issubclass(spawner_class, SwarmSpawner), spawner_class
    assert "remove" not in spawner_class.class_traits(config=True), f"{spawner_class.__name__} offers `remove`"


@pytest.mark.parametrize("example", [*COMPOSE_EXAMPLES, "swarm"])
def test_the_hub_keeps_its_database_and_cookie_secret_on_hub_data(example: str) -> None:
    """Both files the hub writes lie under the mount of `hub-data`; none ships in the example folder."""
    [target] = [v.split(":")[1] for v in services(example)["hub"]["volumes"] if v.startswith("hub-data:")]
    hub = config(example).JupyterHub
    assert hub.db_url == f"sqlite:///{target}/jupyterhub.sqlite"
    assert hub.cookie_secret_file == f"{target}/jupyterhub_cookie_secret"
    shipped = {path.name for path in (paths.EXAMPLES / example).iterdir()}
    assert not shipped & {"jupyterhub.sqlite", "jupyterhub_cookie_secret"}, shipped
    # No secret is given instead of that file: not in the config, the hub's environment or its image.
    assert "cookie_secret" not in hub, "the config sets a cookie secret, which would be in the folder and the image"
    assert "JPY_COOKIE_SECRET" not in services(example)["hub"].get("environment", {})
    recipe = paths.EXAMPLES / example / "Dockerfile.hub"
    assert not recipe.exists() or "COOKIE_SECRET" not in recipe.read_text().upper(), recipe


@pytest.mark.parametrize("example", COMPOSE_EXAMPLES)
def test_compose_declares_only_the_hubs_volume(example: str) -> None:
    """The users' volumes are not compose's: the hub's DockerSpawner creates them at a user's first start.

    Besides the hub's, compose declares exactly the volumes the hub mounts for all users alike
    (named without {username}: the production example's team folder), and nothing else.
    """
    declared = dict(compose_file(example)["volumes"])
    assert declared.pop("hub-data") is None
    names = {(spec or {}).get("name", key) for key, spec in declared.items()}
    assert names == hubconfig.shared_volumes(config(example))


@pytest.mark.parametrize("example", COMPOSE_EXAMPLES)
def test_the_hub_image_holds_its_config(example: str) -> None:
    """The config is copied into the hub image at build time, so a changed file needs a rebuild."""
    dockerfile = (paths.EXAMPLES / example / "Dockerfile.hub").read_text().splitlines()
    assert "COPY jupyterhub_config.py /srv/jupyterhub/jupyterhub_config.py" in dockerfile
    assert "jupyterhub_config.py" not in str(services(example)["hub"].get("volumes", [])), "the config is mounted"


def test_production_builds_the_users_image_from_the_minimal_recipe() -> None:
    build = services("production")["ai-lab-image"]["build"]
    assert (build["context"], build["dockerfile"]) == ("../minimal", "Dockerfile.ai-lab")


def test_the_swarm_hub_runs_on_a_manager_and_users_reach_it_by_its_service_name() -> None:
    deploy = services("swarm")["hub"]["deploy"]
    assert deploy["placement"]["constraints"] == ["node.role == manager"]
    assert deploy["endpoint_mode"] == "dnsrr"
    hub = config("swarm").JupyterHub
    assert (hub.hub_ip, hub.hub_connect_ip) == ("0.0.0.0", "hub")


def test_the_stack_gives_the_hub_the_production_settings() -> None:
    """The swarm's hub gets every setting compose gives the production hub, with the same defaults.

    Only where the two differ by design: the image's name (the registry's) and the network's.
    """
    swarm, made = services("swarm")["hub"]["environment"], services("production")["hub"]["environment"]
    own = {"AI_LAB_IMAGE", "DOCKER_NETWORK_NAME"}
    assert {k: v for k, v in swarm.items() if k not in own} == {k: v for k, v in made.items() if k not in own}
    assert swarm["DOCKER_NETWORK_NAME"] == compose_file("swarm")["networks"]["ai-lab"]["name"]
    # The certificate and key, as the production hub gets them: secrets from the same files, at the same paths.
    assert compose_file("swarm")["secrets"] == compose_file("production")["secrets"]
    assert services("swarm")["hub"]["secrets"] == services("production")["hub"]["secrets"]


def test_the_swarm_config_is_the_production_config_with_swarmspawner() -> None:
    """Logins, HTTPS, culling and limits come from the production file; only the spawner's swarm settings differ."""
    swarm, made = config("swarm").JupyterHub, config("production").JupyterHub
    for name in ("authenticator_class", "bind_url", "ssl_cert", "ssl_key", "services", "load_roles", "db_url"):
        assert str(swarm[name]) == str(made[name]), name
    users = prepared_spawner("swarm")
    assert isinstance(users, SwarmSpawner)
    assert (users.mem_limit, users.cpu_limit) == (4 * 1024**3, 1.0), "not the production example's standard size"
    assert users.environment == spawner("production").environment
    assert users.pull_policy == "skip" and users.volumes == {}, (users.pull_policy, users.volumes)


def test_the_swarm_config_stops_without_the_production_config(tmp_path) -> None:
    """Alone, without ../production/, the swarm's settings stop with a message naming the missing file."""
    alone = tmp_path / "swarm"
    alone.mkdir()
    (alone / "jupyterhub_config.py").write_bytes((paths.EXAMPLES / "swarm" / "jupyterhub_config.py").read_bytes())
    with pytest.raises(SystemExit, match=r"\.\./production/jupyterhub_config\.py is missing"):
        hubconfig.load(alone / "jupyterhub_config.py", hubconfig.compose_environment("swarm"))


def test_the_swarm_example_reaches_a_server_at_its_tasks_address_on_the_network() -> None:
    """The swarm example's spawner asks the swarm for the service's current task and uses its address there.

    A fake swarm answers with a task on two networks; the spawner must pick the address on the example's own.
    """
    users = prepared_spawner("swarm")
    network = users.network_name
    task = {
        "NetworksAttachments": [
            {"Network": {"Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.9/24"]},
            {"Network": {"Spec": {"Name": network}}, "Addresses": ["10.0.1.7/24"]},
        ]
    }
    asked = []

    async def current_task():
        asked.append(users.service_name)
        return task

    users.get_task = current_task
    assert asyncio.run(users.get_ip_and_port()) == ("10.0.1.7", users.port)
    assert asked == ["ai-lab-swarm-alice"], f"the spawner asked for the task of {asked}"
