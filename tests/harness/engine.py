"""The Docker engine every test builds and runs on.

Tests talk to a real engine through the Docker SDK for Python. When there is
none, the error says how to get one instead of failing deep inside a test.
"""

from __future__ import annotations

import os

import docker
import docker.errors

HOW_TO_GET_ONE = (
    "Start a Docker engine and make sure `docker info` works for this user. "
    "On Debian or Ubuntu, as root: `bash .ci/setup-machine` installs and starts one. "
    "Elsewhere see https://docs.docker.com/engine/install/."
)


class EngineUnavailable(RuntimeError):
    """No Docker engine answers; the message names the fix."""


def in_ci() -> bool:
    """CI sets CI=true; there a missing engine is an error, never a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def connect() -> docker.DockerClient:
    """Return a client for the engine named by DOCKER_HOST (or the local socket)."""
    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        raise EngineUnavailable(f"No Docker engine answers ({exc}). {HOW_TO_GET_ONE}") from exc
    return client
