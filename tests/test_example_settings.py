"""What the pages say an example sets up, read from its files, without Docker.

These prove sentences about configuration ("the example locks an account for
ten minutes after five wrong passwords"), not the upstream behaviour behind a
setting: each test loads a jupyterhub_config.py as JupyterHub does, or reads a
compose or stack file, and fails when the file stops setting what the page says.
"""

from __future__ import annotations

import types

import pytest
import yaml
from ailab_guide import hubconfig
from dockerspawner import DockerSpawner, SwarmSpawner
from harness import paths

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


@pytest.mark.parametrize(
    ("example", "published"),
    [
        ("minimal", "127.0.0.1:${HUB_PORT:-8000}:8000"),
        ("production", "${HUB_PORT:-443}:8443"),
        ("swarm", {"target": 8000, "published": "${HUB_PORT:-8000}", "protocol": "tcp", "mode": "host"}),
    ],
)
def test_hub_port_sets_the_only_published_port(example: str, published) -> None:
    """Only the hub publishes a port: the minimal one on 127.0.0.1 only, each at HUB_PORT on the host."""
    ports = {name: service["ports"] for name, service in services(example).items() if service.get("ports")}
    assert ports == {"hub": [published]}, ports
    inside = published["target"] if isinstance(published, dict) else int(published.rsplit(":", 1)[1])
    assert config(example).JupyterHub.bind_url.endswith(f":{inside}"), "the proxy listens on another port"


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


@pytest.mark.parametrize("example", COMPOSE_EXAMPLES)
def test_the_hub_spawns_the_image_compose_builds_and_never_pulls(example: str) -> None:
    found = services(example)
    assert found["hub"]["environment"]["AI_LAB_IMAGE"] == found["ai-lab-image"]["image"]
    assert "ai-lab-image" in found["hub"]["depends_on"], "the users' image must be built before the hub starts"
    loaded = config(example)
    assert loaded.DockerSpawner.image == hubconfig.compose_environment(example)["AI_LAB_IMAGE"]
    assert loaded.DockerSpawner.pull_policy == "never"


@pytest.mark.parametrize("example", COMPOSE_EXAMPLES)
def test_the_image_service_only_prints_its_version_without_a_network(example: str) -> None:
    service = services(example)["ai-lab-image"]
    assert service["network_mode"] == "none"
    assert "jupyterhub.__version__" in " ".join(service["entrypoint"])
    assert service["restart"] == "no"


@pytest.mark.parametrize(
    ("example", "section"), [("minimal", "DockerSpawner"), ("production", "DockerSpawner"), ("swarm", "SwarmSpawner")]
)
def test_users_join_the_network_the_file_names(example: str, section: str) -> None:
    network = compose_file(example)["networks"]["ai-lab"]["name"]
    assert services(example)["hub"]["environment"]["DOCKER_NETWORK_NAME"] == network
    assert config(example)[section].network_name == hubconfig.compose_environment(example)["DOCKER_NETWORK_NAME"]


@pytest.mark.parametrize(("example", "prefix"), [("minimal", "ai-lab-"), ("production", "ai-lab-production-")])
def test_each_user_gets_a_container_and_a_named_volume_of_their_own(example: str, prefix: str) -> None:
    loaded = config(example)
    assert loaded.DockerSpawner.name_template == f"{prefix}{{username}}"
    # Volumes without {username} are shared by everyone (the production example's team folder).
    own = {name: target for name, target in loaded.DockerSpawner.volumes.items() if "{username}" in name}
    assert own == {f"{prefix}notebooks-{{username}}": NOTEBOOKS}


def test_the_production_example_names_its_users_containers_and_images_apart_from_the_minimal_examples() -> None:
    minimal, production = config("minimal").DockerSpawner, config("production").DockerSpawner
    assert minimal.name_template != production.name_template
    assert set(minimal.volumes).isdisjoint(production.volumes)
    images = {example: {s["image"].split(":")[0] for s in services(example).values()} for example in COMPOSE_EXAMPLES}
    assert images["minimal"].isdisjoint(images["production"]), images


def test_the_trial_admits_any_name_with_one_password() -> None:
    loaded = config("minimal")
    assert loaded.JupyterHub.authenticator_class == "shared-password"
    assert loaded.Authenticator.allow_all is True
    assert (
        loaded.SharedPasswordAuthenticator.user_password == hubconfig.compose_environment("minimal")["TRIAL_PASSWORD"]
    )


def test_the_minimal_example_sets_no_limits_and_stops_no_idle_server() -> None:
    """DockerSpawner's defaults, 0, give Docker no memory limit and no CPU quota."""
    users = spawner("minimal")
    assert not users.mem_limit and not users.cpu_limit, (users.mem_limit, users.cpu_limit)
    assert "services" not in config("minimal").JupyterHub, "the minimal example now runs a service (a culler?)"


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
    assert "49494" not in "\n".join(script)


def test_the_production_example_asks_for_12_characters_and_no_common_password() -> None:
    native = config("production").NativeAuthenticator
    assert native.minimum_password_length == 12
    assert native.check_common_password is True


def test_the_production_example_locks_an_account_for_ten_minutes_after_five_wrong_passwords() -> None:
    native = config("production").NativeAuthenticator
    assert native.allowed_failed_logins == 5
    assert native.seconds_before_next_try == 600


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


def test_openid_connect_gives_the_users_group_an_ai_lab_and_the_admins_group_the_admin_role() -> None:
    oauth = config(
        "production", HUB_LOGIN="oidc", OIDC_USERS_GROUP="lab-users", OIDC_ADMINS_GROUP="lab-admins"
    ).GenericOAuthenticator
    assert oauth.allow_all is False
    assert oauth.allowed_groups == {"lab-users"} and oauth.admin_groups == {"lab-admins"}
    assert oauth.auth_state_groups_key == "oauth_user.groups"


def test_swarmspawner_offers_no_remove_setting() -> None:
    """The swarm page says services are always removed: SwarmSpawner has no configurable `remove`."""
    assert "remove" in DockerSpawner.class_traits(config=True), "the check looks for the wrong name"
    assert "remove" not in SwarmSpawner.class_traits(config=True)


@pytest.mark.parametrize("example", [*COMPOSE_EXAMPLES, "swarm"])
def test_the_hub_keeps_its_database_and_cookie_secret_on_hub_data(example: str) -> None:
    """Both files the hub writes lie under the mount of `hub-data`; none ships in the example folder."""
    [target] = [v.split(":")[1] for v in services(example)["hub"]["volumes"] if v.startswith("hub-data:")]
    hub = config(example).JupyterHub
    assert hub.db_url == f"sqlite:///{target}/jupyterhub.sqlite"
    assert hub.cookie_secret_file == f"{target}/jupyterhub_cookie_secret"
    shipped = {path.name for path in (paths.EXAMPLES / example).iterdir()}
    assert not shipped & {"jupyterhub.sqlite", "jupyterhub_cookie_secret"}, shipped


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
