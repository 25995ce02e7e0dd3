"""`.ci/setup-machine --plan` on stock Debian 12, for the machines CI and readers start from.

Each case puts on PATH the Docker commands such a machine has, as small
scripts that answer (or fail) the way the real ones do, and checks what the
plan would install and start. The real installation is what `.ci/run` does
before these tests; this proves the decisions for the machines it did not meet.
"""

from __future__ import annotations

import os
import uuid

import pytest
from harness import compose, paths, shell, standins

# Commands as a machine has them: name -> script body. `docker info` failing is a CLI without an engine.
CLI_WITHOUT_ENGINE = {
    "docker": 'case "$1" in info) exit 1 ;; *) echo "docker: unknown command: docker $1" >&2; exit 1 ;; esac',
    "chromium": "exit 127",  # a Chromium that does not run
}
ENGINE_WITH_PLUGIN = {
    "docker": 'case "$1" in info) exit 0 ;; compose) echo 2.29.7 ;; *) exit 1 ;; esac',
    "dockerd": "exit 0",
    "chromium": "echo Chromium 156.0.8078.114",
}
ENGINE_WITH_COMPOSE_V1 = {
    "docker": 'case "$1" in info) exit 0 ;; *) echo "docker: unknown command: docker $1" >&2; exit 1 ;; esac',
    "dockerd": "exit 0",
    "docker-compose": "echo 1.29.2",
}
STOPPED_ENGINE_WITH_STANDALONE_V2 = {
    "docker": 'case "$1" in info) exit 1 ;; *) echo "docker: unknown command: docker $1" >&2; exit 1 ;; esac',
    "dockerd": "exit 0",
    "docker-compose": "echo v2.26.1",
}

CASES = {
    "nothing installed": (
        {},
        [
            "would add Debian's trixie suite at pin priority 100",
            "docker.io/trixie",
            "docker-cli/trixie",
            "docker-compose/trixie",
            "would start the Docker engine",
        ],
        [],
    ),
    "a CLI without an engine": (
        CLI_WITHOUT_ENGINE,
        ["docker.io/trixie", "docker-compose/trixie", "would start the Docker engine", "chromium"],
        ["docker-cli/trixie"],
    ),
    "an engine with the Compose plugin": (
        ENGINE_WITH_PLUGIN,
        ["engine: answers, used as it is"],
        ["docker.io", "docker-compose", "trixie", "would start", "chromium"],
    ),
    "Compose v1 only": (
        ENGINE_WITH_COMPOSE_V1,
        ["docker-compose/trixie", "engine: answers, used as it is"],
        ["docker.io", "would start"],
    ),
    "a stopped engine and a stand-alone Compose v2": (
        STOPPED_ENGINE_WITH_STANDALONE_V2,
        ["would start the Docker engine", "link /stub/docker-compose as the Compose plugin"],
        ["docker.io", "docker-compose/trixie"],
    ),
}


def stub_script(commands: dict[str, str]) -> str:
    """Shell lines that make /stub/<name> answer as `commands` says, first on PATH."""
    lines = ["mkdir -p /stub"]
    for name, body in commands.items():
        lines.append(f"printf '%s\\n' '#!/bin/sh' {body!r} > /stub/{name} && chmod +x /stub/{name}")
    return " && ".join(lines)


@pytest.fixture(scope="module")
def plans(docker_client) -> dict[str, str]:
    """Every case's plan, from one stock Debian container (the stand-ins' debootstrap base)."""
    standins.ensure_debian_base(docker_client)
    script = []
    for name, (commands, _, _) in CASES.items():
        script.append(
            f"echo '=== {name}'; rm -rf /stub; {stub_script(commands) if commands else 'true'}; "
            'PATH=/stub:/usr/sbin:/usr/bin:/sbin:/bin bash /ci/setup-machine --plan 2>&1; echo "exit $?"'
        )
    script.append(
        "echo '=== after'; ls -A /etc/apt/sources.list.d /etc/apt/preferences.d; "
        "for c in dockerd docker-compose chromium node; do command -v $c >/dev/null && echo present: $c; done; true"
    )
    output = docker_client.containers.run(
        standins.BASE_TAG,
        ["bash", "-c", "\n".join(script)],
        name=f"ailab-guide-plan-{uuid.uuid4().hex[:8]}",
        volumes={str(paths.ROOT / ".ci"): {"bind": "/ci", "mode": "ro"}},
        remove=True,
    ).decode()
    found = {}
    for part in output.split("=== ")[1:]:
        name, _, text = part.partition("\n")
        found[name] = text
    return found


@pytest.mark.parametrize("case", CASES)
def test_the_set_up_plans_what_the_machine_lacks(plans, case) -> None:
    """On stock Debian 12 the plan names the packages and steps this machine needs, and nothing it has."""
    _, present, absent = CASES[case]
    plan = plans[case]
    assert plan.rstrip().endswith("exit 0"), plan
    assert "setup-machine: plan for debian 12 (nothing is changed)" in plan, plan
    for text in present:
        assert text in plan, f"{case}: the plan lacks {text!r}:\n{plan}"
    installs = "\n".join(
        line for line in plan.splitlines() if "would install" in line or "would add" in line or "would start" in line
    )
    for text in absent:
        assert text not in installs, f"{case}: the plan should not say {text!r}:\n{plan}"


def test_a_plan_changes_nothing(plans) -> None:
    """--plan installs nothing: afterwards the container has no engine, Chromium, Node.js or apt source of ours."""
    after = plans["after"]
    assert "ailab-guide" not in after, after
    assert "present:" not in after, after


def stub_commands(folder, commands: dict[str, str]) -> None:
    """Executables in `folder` that answer as `commands` says (name -> shell lines)."""
    for name, body in commands.items():
        (folder / name).write_text(f"#!/bin/sh\n{body}\n")
        (folder / name).chmod(0o755)


def test_the_tests_run_docker_compose_as_written_and_stop_without_compose_v2(monkeypatch, tmp_path) -> None:
    """The harness runs a page's `docker compose` line unchanged; with only Compose v1 it stops and names the fix.

    Stub commands first on PATH stand for the machine: they print how they were called.
    """
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    compose.version.cache_clear()  # the harness asks once per session; these machines are new
    try:
        # Compose v2, the plugin: the command runs as the page has it, not respelled as `docker-compose`.
        stub_commands(tmp_path, {
            "docker": 'case "$1 $2" in "compose version") echo 2.29.7 ;; *) echo "ran: docker $*" ;; esac',
            "docker-compose": 'echo "ran: docker-compose $*"',
        })  # fmt: skip
        assert shell.run_commands("docker compose up --detach", tmp_path).strip() == "ran: docker compose up --detach"
        compose.version.cache_clear()
        # Only the end-of-life Compose v1 (`docker-compose` stays): the run stops before any command, with the fix.
        stub_commands(tmp_path, {"docker": 'echo "docker: unknown command: docker $1" >&2; exit 1'})
        with pytest.raises(RuntimeError) as stopped:
            shell.run_commands("docker compose up --detach", tmp_path)
    finally:
        compose.version.cache_clear()
    assert "Compose v1" in str(stopped.value) and "setup-machine" in str(stopped.value), stopped.value
