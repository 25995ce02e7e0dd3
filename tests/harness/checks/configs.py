"""jupyterhub_config.py checks: every key a real trait with a valid value, and a real hub starting from it.

Loading and trait validation live beside the site's reference table in
ailab_guide.hubconfig, so the page and the tests judge a config alike.
"""

from __future__ import annotations

import json
import uuid

import docker
from ailab_guide import hubconfig, versions

from .. import report
from ..snippets import Block
from ..wait import wait_until
from .base import NAME_PREFIX, CheckFailed
from .dockerfiles import build


def load_config(block: Block):
    """The Config a block's jupyterhub_config.py (or a typed fragment of one) builds, and where it came from."""
    env = hubconfig.compose_environment(block.example or "minimal")
    if block.source_path:
        return hubconfig.load(block.source_path, env), block.source
    return hubconfig.load_fragment(block.text, env), "a fragment typed into the page"


def check_config(config) -> str:
    """hubconfig.validate, failing as a check."""
    try:
        return hubconfig.validate(config)
    except hubconfig.InvalidConfig as exc:
        raise CheckFailed(str(exc)) from exc


def config_keys(block: Block) -> str:
    try:
        config, origin = load_config(block)
    except SystemExit as exc:
        raise CheckFailed(f"loading the config stopped: {exc}") from exc
    detail = check_config(config)
    report.count("configs_loaded", block.source or block.id)
    return f"{origin}: {detail}"


def hub_starts(client: docker.DockerClient, example: str = "minimal", timeout: float = 120) -> str:
    """Start the example's hub image on a fresh network, as compose would, and ask its API for its version."""
    image = build(client, example, "Dockerfile.hub")
    name = f"{NAME_PREFIX}{uuid.uuid4().hex[:8]}"
    network = client.networks.create(name, driver="bridge")
    container_id = None
    try:
        env = {**hubconfig.compose_environment(example), "DOCKER_NETWORK_NAME": name}
        api = client.api
        container_id = api.create_container(
            image.id,
            name=name,
            environment=env,
            # The data volume of the compose file: here a throwaway tmpfs.
            host_config=api.create_host_config(network_mode=name, tmpfs={"/srv/jupyterhub/data": ""}),
            networking_config=api.create_networking_config({name: api.create_endpoint_config(aliases=["hub"])}),
        )["Id"]
        api.start(container_id)
        container = client.containers.get(container_id)
        code = (
            "import urllib.request; "
            "print(urllib.request.urlopen('http://127.0.0.1:8000/hub/api/', timeout=5).read().decode())"
        )
        last = ""

        def answers() -> str:
            nonlocal last
            container.reload()
            if container.status != "running":
                logs = container.logs().decode(errors="replace")[-3000:]
                raise CheckFailed(f"the hub container exited ({container.status}):\n{logs}")
            result = container.exec_run(["python3", "-c", code])
            output = result.output.decode(errors="replace")
            if result.exit_code != 0:
                last = (output.strip().splitlines()[-1:] or [""])[0]
                return ""
            return output

        def not_answering() -> str:
            return f"the hub did not answer (last: {last}):\n{container.logs().decode(errors='replace')[-3000:]}"

        output = wait_until(answers, timeout, not_answering, error=CheckFailed)
        version = json.loads(output).get("version")
        pin = versions.pins(example)["JUPYTERHUB_VERSION"]
        if version != pin:
            raise CheckFailed(f"the hub reports jupyterhub {version}, but .env pins {pin}")
        return f"hub from {example}/jupyterhub_config.py answered /hub/api/ with version {version}"
    finally:
        if container_id:
            client.api.remove_container(container_id, force=True, v=True)
        network.remove()


_hubs: dict[str, object] = {}


def hub_starts_once(block: Block, client: docker.DockerClient) -> str:
    """hub_starts for the block's example, once per session (blocks of one example share the result)."""
    example = block.example or "minimal"
    if example not in _hubs:
        try:
            _hubs[example] = hub_starts(client, example)
        except Exception as exc:
            _hubs[example] = exc
    result = _hubs[example]
    if isinstance(result, Exception):
        raise result
    return result
