"""The background checks (harness/background.py): started once, awaited by their test, failures kept."""

from __future__ import annotations

import threading

import pytest
from harness import background


def test_started_work_runs_once_in_another_thread_and_its_result_reaches_the_test() -> None:
    threads = []

    def work() -> str:
        threads.append(threading.current_thread().name)
        return "built"

    @background.runs(work)
    def a_test() -> None: ...

    background.start([a_test, a_test, None])
    assert background.result(work) == "built"
    assert threads == [threads[0]] and threads[0].startswith("background-check"), threads


def test_a_failure_in_the_background_fails_the_test_that_awaits_it() -> None:
    def work() -> None:
        raise AssertionError("pip could not install the pins")

    @background.runs(work)
    def a_test() -> None: ...

    background.start([a_test])
    with pytest.raises(AssertionError, match="pip could not install the pins"):
        background.result(work)


def test_work_nobody_started_is_done_by_the_test_itself() -> None:
    assert background.result(lambda: threading.current_thread() is threading.main_thread())


def test_settle_waits_for_started_work_and_keeps_its_result() -> None:
    release = threading.Event()

    def work() -> str:
        release.wait(5)
        return "done"

    @background.runs(work)
    def a_test() -> None: ...

    background.start([a_test])
    threading.Timer(0.2, release.set).start()
    background.settle(timeout=10)
    assert release.is_set(), "settle returned before the work could end"
    assert background.result(work, timeout=0) == "done"
