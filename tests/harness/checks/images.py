"""What a built image contains: run a command in it, read its JupyterHub version."""

from __future__ import annotations

import docker

from .. import engine
from .base import CheckFailed


def run_in_image(client: docker.DockerClient, image: str, command: list[str], entrypoint=None) -> tuple[int, str]:
    """Run a command in a throwaway container without network; return exit code and output."""
    return engine.run_once(client, image, command, entrypoint=entrypoint, network_disabled=True)


def jupyterhub_version(client: docker.DockerClient, image: str) -> str:
    """The jupyterhub version importable by the image's first python3 on PATH."""
    code, output = run_in_image(
        client, image, ["python3", "-c", "import jupyterhub; print(jupyterhub.__version__)"], entrypoint=[]
    )
    if code != 0:
        raise CheckFailed(f"jupyterhub is not importable in {image}:\n{output[-2000:]}")
    return output.strip().splitlines()[-1]


def assert_same_jupyterhub(hub: str, singleuser: str) -> None:
    """Hub and single-user server must run the same JupyterHub release."""
    if hub != singleuser:
        raise CheckFailed(
            f"hub runs jupyterhub {hub} but the AI Lab image has {singleuser}; "
            "set one JUPYTERHUB_VERSION in .env for both Dockerfiles"
        )
