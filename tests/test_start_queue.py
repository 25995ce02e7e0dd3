"""The production example's start queue, run without Docker: how many servers start at once, and in which order.

The spawner class is the one the production jupyterhub_config.py defines,
loaded as JupyterHub loads it. Its engine address points at a socket that does
not exist, so a start that gets past the queue fails at its first call to the
engine; one that waits in the queue never gets there. The Benchmarks page
measures what the queue does to a class's waits on a real engine.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import tempfile
import types

import docker.errors
import requests
from ailab_guide import hubconfig
from dockerspawner import DockerSpawner
from harness import blocks, paths


def production_config(socket: pathlib.Path):
    config = hubconfig.load(
        paths.EXAMPLES / "production" / "jupyterhub_config.py", hubconfig.compose_environment("production")
    )
    config.DockerSpawner.client_kwargs = {"base_url": f"unix://{socket}"}
    return config


def spawner(config, name: str) -> DockerSpawner:
    """A spawner of the production hub's class for one user, as the hub creates it."""
    user = types.SimpleNamespace(name=name, id=1, url=f"/user/{name}/", escaped_name=name)
    return config.JupyterHub.spawner_class(config=config, user=user, hub=types.SimpleNamespace(url="http://hub:8081"))


def test_production_starts_one_server_per_core_at_a_time() -> None:
    """The production hub's spawner is a DockerSpawner whose start waits for a place, one per CPU core.

    With all places but one taken, a start goes on to the engine; with all taken, it waits.
    """
    with tempfile.TemporaryDirectory() as tmp:
        config = production_config(pathlib.Path(tmp) / "no-engine.sock")
        queued = config.JupyterHub.spawner_class
        assert isinstance(queued, type) and issubclass(queued, DockerSpawner), queued
        assert isinstance(queued.slots, asyncio.Semaphore)
        places = os.cpu_count()

        async def scenario() -> tuple[bool, bool]:
            for _ in range(places - 1):  # a queue with fewer places stops here (TimeoutError)
                await asyncio.wait_for(queued.slots.acquire(), 5)
            last = asyncio.ensure_future(spawner(config, "ada").start())
            await asyncio.wait([last], timeout=10)
            went_on = last.done() and isinstance(
                last.exception(), docker.errors.DockerException | requests.ConnectionError
            )
            await asyncio.wait_for(queued.slots.acquire(), 5)  # now every place is taken
            over = asyncio.ensure_future(spawner(config, "grace").start())
            await asyncio.sleep(0.5)
            waited = not over.done()
            over.cancel()
            await asyncio.gather(over, return_exceptions=True)
            for _ in range(places):
                queued.slots.release()
            return went_on, waited

        went_on, waited = asyncio.run(scenario())
    assert went_on, f"with {places - 1} of {places} places taken, a start did not go on to the engine"
    assert waited, f"with all {places} places taken, a start went on"


def test_queued_starts_go_in_the_order_users_asked() -> None:
    """With every slot taken, starts wait without calling the engine; a freed slot goes to the first who asked."""
    with tempfile.TemporaryDirectory() as tmp:
        config = production_config(pathlib.Path(tmp) / "no-engine.sock")
        queued = config.JupyterHub.spawner_class
        first, second = spawner(config, "ada"), spawner(config, "grace")

        async def scenario() -> tuple[bool, bool, BaseException | None]:
            held = queued.slots._value
            for _ in range(held):
                await queued.slots.acquire()
            try:
                tasks = [asyncio.ensure_future(first.start()), asyncio.ensure_future(second.start())]
                await asyncio.sleep(0.5)
                waited = not any(task.done() for task in tasks)
                queued.slots.release()  # one slot comes free
                done, _ = await asyncio.wait(tasks, timeout=10, return_when=asyncio.FIRST_COMPLETED)
                first_went = tasks[0] in done and tasks[1] not in done
                error = tasks[0].exception() if tasks[0].done() else None
                tasks[1].cancel()
                await asyncio.gather(tasks[1], return_exceptions=True)
                return waited, first_went, error
            finally:
                for _ in range(held - 1):
                    queued.slots.release()

        waited, first_went, error = asyncio.run(scenario())
    assert waited, "a start went past a full queue"
    assert first_went, "the freed slot did not go to the first user who asked"
    # Past the queue, the start's first call is to the engine, which is not there.
    assert isinstance(error, docker.errors.DockerException | requests.ConnectionError), repr(error)


def test_the_page_shows_the_queue_the_hub_uses() -> None:
    """The production page quotes the queue class, and the config makes it the hub's spawner class."""
    quoted = blocks.named("production.md", "production-start-queue").text
    assert "class QueuedDockerSpawner(DockerSpawner):" in quoted
    assert "c.JupyterHub.spawner_class = QueuedDockerSpawner" in quoted
    config = production_config(pathlib.Path("/nonexistent/docker.sock"))
    assert config.JupyterHub.spawner_class.__name__ == "QueuedDockerSpawner"
