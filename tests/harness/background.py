"""Slow checks that need nothing the other tests make, started when collection ends, awaited by their test.

The publishing checks spend minutes installing every pinned package into a
fresh environment, mostly waiting on pip. Run after the end-to-end tests they
add those minutes to the suite; run beside them, little. A test names its
work with `@background.runs(work)`; the session starts that work in a thread
as soon as it knows the test is selected, and the test collects the result
with `background.result(work)`, where failures surface as in any test. A test
run without the session hook (or a second time) simply does the work itself.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from typing import Any

ATTRIBUTE = "__background_work__"
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="background-check")
_started: dict[Callable[[], Any], concurrent.futures.Future] = {}


def runs(work: Callable[[], Any]) -> Callable:
    """Mark a test as the one that awaits `work` (a function without arguments)."""

    def mark(test: Callable) -> Callable:
        setattr(test, ATTRIBUTE, work)
        return test

    return mark


def start(tests: Iterable[Callable]) -> None:
    """Start the work of every marked test among `tests` (the selected ones)."""
    for test in tests:
        work = getattr(test, ATTRIBUTE, None)
        if work is not None and work not in _started:
            _started[work] = _pool.submit(work)


def result(work: Callable[[], Any], timeout: float = 1800) -> Any:
    """The work's return value (or its exception), waiting for it; done here if nobody started it."""
    future = _started.pop(work, None)
    return work() if future is None else future.result(timeout=timeout)


def settle(timeout: float = 1800) -> None:
    """Wait until every started work has ended (its result stays for its test).

    For a test that disturbs what background work may use: the engine restart stops every container.
    """
    concurrent.futures.wait(list(_started.values()), timeout=timeout)
