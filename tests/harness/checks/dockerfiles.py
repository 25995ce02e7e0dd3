"""Dockerfile checks: hadolint, "pages include whole files", and a real build with the example's pins."""

from __future__ import annotations

import pathlib
import re

import docker
from ailab_guide import versions

from .. import examples, paths, report
from ..snippets import Block
from . import files
from .base import CheckFailed, run_process, tool


def hadolint(dockerfile: pathlib.Path | str) -> str:
    """Lint a Dockerfile (a path, or its text); findings fail with hadolint's output.

    Runs in the repository root, so a project .hadolint.yaml there (if any) applies.
    """
    args = [tool("hadolint"), "--no-color"]
    if isinstance(dockerfile, pathlib.Path):
        result = run_process([*args, str(dockerfile)], cwd=paths.ROOT)
    else:
        result = run_process([*args, "-"], stdin=dockerfile, cwd=paths.ROOT)
    if result.returncode != 0:
        raise CheckFailed(f"hadolint finds problems:\n{(result.stdout + result.stderr).strip()}")
    return "hadolint: no findings"


def lint(block: Block) -> str:
    return hadolint(block.source_path or block.text)


def whole_file(block: Block) -> str:
    if not block.source:
        raise CheckFailed(
            f"{block.id} is a Dockerfile typed into the page. The docs must include whole files: "
            "put it under examples/ and show it with {literalinclude} (:lines: for a part), so it is built."
        )
    return f"included from {block.source}"


_built: dict[tuple[str, str], object] = {}


def build(client: docker.DockerClient, example: str, dockerfile: str, context=None):
    """Build an example's Dockerfile (examples.build, with the .env pins); a failure is remembered.

    Builds are cached by Docker, so building again is cheap; it also guards against
    another process removing an image this session built earlier.
    """
    key = (example, dockerfile)
    if context is None and isinstance(_built.get(key), Exception):
        raise _built[key]
    try:
        return examples.build(client, example, dockerfile, context=context)
    except examples.BuildFailed as exc:
        if context is None:
            _built[key] = exc
        raise


def build_folder(client: docker.DockerClient, folder: pathlib.Path, dockerfile: str):
    """Build a Dockerfile of any example-like folder with that folder's own .env pins."""
    try:
        pins = versions.parse_env((folder / ".env").read_text())
    except ValueError as exc:
        raise CheckFailed(str(exc)) from exc
    return examples.build(client, folder.name, dockerfile, context=folder, buildargs=pins)


def docker_build(block: Block, client: docker.DockerClient) -> str:
    if not block.example:
        raise CheckFailed(f"{block.id}: only files under examples/<name>/ can be built (got {block.source!r}).")
    image = build(client, block.example, block.source_path.name)
    report.count("dockerfiles_built", block.source)
    return f"built {block.source}: {image.short_id}"


def builds_alone(block: Block) -> bool:
    """False for a layer built on an image that another build of its example makes first.

    Two kinds: a Dockerfile that a Compose override file of its folder builds on the example's
    own users' image (the team's packages), and one whose base image is a build argument without
    a default (the swarm's hub, on the production hub). The end-to-end test that builds it the
    page's way notes the block.
    """
    path = block.source_path
    if path is None:
        return True
    overrides = [file for file in path.parent.glob("*.yml") if file.name not in files.COMPOSE_FILES]
    if any(f"dockerfile: {path.name}\n" in file.read_text() for file in overrides):
        return False
    text = path.read_text()
    base = re.search(r"^FROM \$\{?(\w+)\}?", text, re.M)
    return not (base and re.search(rf"^ARG {base.group(1)}$", text, re.M))
