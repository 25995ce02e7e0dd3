"""Shared fixtures: the Docker engine, the base images and the built example images.

Tests marked `docker` need a real engine. Without one they fail in CI
(CI=true) and are skipped elsewhere, with a message saying how to get one.
"""

from __future__ import annotations

import pytest
from harness import background, engine, examples, report, standins, steps, swarm_nodes

_report = report  # the hook below has a parameter named report


def pytest_configure(config: pytest.Config) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")

    def past_the_capture(text: str) -> None:
        """Stand-in banners show live in the test output, not only when a test fails."""
        with capture.global_and_fixture_disabled():
            print(text, flush=True)

    standins.announcer = past_the_capture


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
    steps.order(items)
    narrowed = [
        f"-{flag} {value!r}" for flag, value in (("m", config.option.markexpr), ("k", config.option.keyword)) if value
    ]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        narrowed.append("only " + " ".join(config.args))
    report.narrowed(", ".join(narrowed))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note what the engine holds, if a selected test uses it; then start the slow checks (harness/background.py).

    A session without Docker tests leaves the engine alone: another session's work on it is not its own.
    """
    global _engine_before  # noqa: PLW0603 (one snapshot per session)
    if any(item.get_closest_marker("docker") for item in session.items):
        _engine_before = engine.inventory()
    background.start(getattr(item, "function", None) for item in session.items)


def pytest_deselected(items: list[pytest.Item]) -> None:
    report.deselected(len(items))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test's outcome, so the report credits a block only to tests that passed."""
    _report.outcome(report.nodeid, report.when, report.outcome)


_engine_before: engine.Inventory | None = None  # what the engine held before a session with Docker tests


def pytest_sessionfinish(session: pytest.Session) -> None:
    unproven = report.write()
    if unproven:
        standins.announce("The report finds blocks this full run did not prove:\n" + "\n".join(unproven))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _engine_before is None:
        return
    examples.remove_untagged_builds(engine.connect())
    now = engine.inventory()
    left = now - _engine_before if now is not None and _engine_before is not None else None
    if left:  # the base images the session pulled or built as stand-ins, and the swarm's node image, are a cache
        cached = {base.ref for base in standins.seen()} | {standins.BASE_TAG, swarm_nodes.NODE_IMAGE}
        left = left.without_images_tagged(cached)
    if left:
        standins.announce(f"The tests left these behind on the Docker engine; that is a test bug:\n{left}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def docker_client():
    try:
        return engine.connect()
    except engine.EngineUnavailable as exc:
        if engine.in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def base_images(docker_client) -> list[standins.BaseImage]:
    """The example's base images: real where present or pullable, else stand-ins."""
    return [standins.ensure(docker_client, ref) for ref in examples.base_image_refs("minimal")]


@pytest.fixture
def minimal_images(docker_client, base_images) -> dict[str, str]:
    """Build the minimal example's Dockerfiles; map Dockerfile name to image id.

    Built anew for each test (from cache, in about a second): a compose cleanup
    in an earlier test may have removed an image with the same id.
    """
    return {name: examples.build(docker_client, "minimal", name).id for name in examples.DOCKERFILES}
