"""jupyterhub_config.py checks: every key a real trait with a valid value, and a real hub starting from it.

Loading and trait validation live beside the site's reference table in
ailab_guide.hubconfig, so the page and the tests judge a config alike.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import sys
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


def lines_run(path: pathlib.Path, env: dict[str, str]) -> frozenset[int]:
    """The lines of a config file that loading it with `env` executed: a branch not taken has none."""
    target, seen = os.path.realpath(path), set()

    def local(frame, event, arg):
        if event == "line":
            seen.add(frame.f_lineno)
        return local

    def calls(frame, event, arg):
        return local if os.path.realpath(frame.f_code.co_filename) == target else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        hubconfig.load(path, env)
    finally:
        sys.settrace(previous)
    return frozenset(seen)


def fragment_lines(block: Block) -> frozenset[int]:
    """The code lines of the file that a block showing part of it shows; empty for a whole file or typed text."""
    if not block.source_path:
        return frozenset()
    text = block.source_path.read_text()
    if block.text.split() == text.split():
        return frozenset()
    lines = [line.strip() for line in text.splitlines()]
    shown = [line.strip() for line in block.text.strip("\n").splitlines()]
    for start in range(len(lines) - len(shown) + 1):
        if lines[start : start + len(shown)] == shown:
            return frozenset(start + 1 + i for i, line in enumerate(shown) if line and not line.startswith("#"))
    raise CheckFailed(f"{block.id}: the lines it shows are not in {block.source}")


@functools.cache  # collection asks once per block and check; one traced load each is enough
def runs_by_default(block: Block) -> bool:
    """Whether loading the file with the example's own settings runs the part a block shows.

    A part inside a branch the default settings skip (the production example's
    OpenID Connect login) is not proven by that load: its test loads the file
    with settings that take the branch and credits the block (harness.blocks.note).
    """
    shown = fragment_lines(block)
    if not shown:
        return True
    return bool(shown & lines_run(block.source_path, hubconfig.compose_environment(block.example or "minimal")))


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
