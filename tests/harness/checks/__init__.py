"""Which checks prove a code block of the guide right, and running them.

Each block gets checks by what it is (kind): a Dockerfile, a hub config, a
compose file, a shell command, ... The checks live by concern in this
package: dockerfiles.py, configs.py (jupyterhub_config.py), files.py
(compose, YAML, .env, shell, Python), images.py (what a built image holds),
base.py (what they share). Static checks need no Docker, so `pytest -m "not
docker"` runs them; Docker checks build the files and start the hub.

A block with no check must either have a :name: (a test runs or reproduces it
through harness.blocks and harness.shell; a full run fails if none does) or
say why with `% unchecked: <reason>` above it (the page shows the reason).
"""

from __future__ import annotations

import pathlib
import re

import docker

from .. import report
from ..snippets import Block
from . import configs, dockerfiles, files, images
from .base import NAME_PREFIX, Check, CheckFailed

__all__ = [
    "CHECKS",
    "NAME_PREFIX",
    "Check",
    "CheckFailed",
    "classify",
    "configs",
    "dockerfiles",
    "expected",
    "files",
    "images",
    "kind",
    "run",
]

PYTHON = {"python", "python3", "py", "ipython", "ipython3"}
SHELL = {"bash", "sh", "shell", "console", "shell-session", "zsh"}
CONFIG_MARKERS = re.compile(r"^\s*(c\s*=\s*get_config\(\)|c\.(JupyterHub|DockerSpawner)\.)", re.MULTILINE)
COMPOSE_FILES = files.COMPOSE_FILES


def kind(block: Block) -> str:
    """What the block is: dockerfile, hub-config, compose, compose-override, yaml, env, sh-file, shell, python,
    notebook or none."""
    file = pathlib.PurePosixPath(block.source).name
    language = block.language
    if file.startswith("Dockerfile") or language in ("dockerfile", "docker"):
        return "dockerfile"
    if file == "jupyterhub_config.py" or (language in PYTHON | {"none"} and CONFIG_MARKERS.search(block.text)):
        return "hub-config"
    if block.in_notebook_cell:
        return "notebook"
    if file in COMPOSE_FILES:
        return "compose"
    if (
        block.source
        and file.endswith((".yml", ".yaml"))
        and block.source_path.parent.joinpath(COMPOSE_FILES[0]).exists()
    ):
        return "compose-override"  # a file .env's COMPOSE_FILE adds to the folder's docker-compose.yml
    if file.endswith((".yml", ".yaml")) or language in ("yaml", "yml"):
        return "yaml"
    if file == ".env" or file.endswith((".env", ".ini")) or language in ("ini", "env", "dotenv", "properties"):
        return "env"
    if file.endswith(".sh"):
        return "sh-file"
    if language in SHELL:
        return "shell"
    if file.endswith(".py") or language in PYTHON:
        return "python"
    return "none"


CHECKS: dict[str, list[Check]] = {
    "dockerfile": [
        Check("hadolint", False, dockerfiles.lint),
        Check("whole file", False, dockerfiles.whole_file),
        Check("docker build", True, dockerfiles.docker_build, dockerfiles.builds_alone),
    ],
    "hub-config": [
        Check("config traits", False, configs.config_keys, configs.runs_by_default),
        # Only the minimal hub starts alone; the production (TLS, secrets) and swarm hubs start in
        # their end-to-end tests, which find the page's file in the running hub (blocks.assert_is_running_file).
        Check("hub starts", True, configs.hub_starts_once, lambda block: block.example == "minimal"),
    ],
    "compose": [Check("compose config", False, files.compose_config), Check("yaml", False, files.yaml_parses)],
    # Compose's own YAML tags (`!reset`) are no plain YAML: Compose itself reads the override.
    "compose-override": [Check("compose config", False, files.compose_config)],
    "yaml": [Check("yaml", False, files.yaml_parses)],
    "env": [Check("KEY=VALUE", False, files.env_lines)],
    "sh-file": [Check("sh -n", False, files.sh_n)],
    "shell": [Check("bash -n", False, files.bash_n)],
    # A named Python block needs a running example (the administration page's API calls): its test
    # runs it there (harness/page_python.py); a full run fails if none does.
    "python": [Check("python", False, files.python_runs, lambda block: not block.name)],
    "notebook": [Check("executed in build", False, files.notebook)],
}


def no_check_message(block: Block) -> str:
    return (
        f"block at {block.id} has no check; give it a :name: and run or reproduce it in a test "
        "(harness.blocks), or add a `% unchecked: <reason>` comment line right above it"
    )


def classify(block: Block) -> list[Check]:
    """Every check of a block; an unnamed block with no check and no reason fails here."""
    if block.unchecked_reason:
        return []
    found = [check for check in CHECKS.get(kind(block), []) if check.applies(block)]
    if not found and not block.name:
        raise CheckFailed(no_check_message(block))
    return found


def expected(block: Block) -> list[str]:
    """The names of every check that applies to a block ([] for a block with no check)."""
    try:
        return [check.name for check in classify(block)]
    except CheckFailed:
        return []


def static_checks(block: Block) -> list[Check]:
    return [check for check in classify(block) if not check.docker]


def docker_checks(block: Block) -> list[Check]:
    try:
        return [check for check in classify(block) if check.docker]
    except CheckFailed:
        return []


def run(block: Block, checks: list[Check], client: docker.DockerClient | None = None) -> None:
    """Run checks on a block, record each result, then fail with every failure's message."""
    failures = []
    for check in checks:
        try:
            detail = check.run(block, client) if check.docker else check.run(block)
            report.record(block.id, check.name, True, detail)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            report.record(block.id, check.name, False, message[-4000:])
            failures.append(f"[{check.name}] {message}")
    if failures:
        raise CheckFailed(f"{block.id} ({block.source or block.language}):\n" + "\n".join(failures))
