"""The one polling loop of the tests: ask again until a condition holds or time runs out.

Hubs, servers and containers come up and go down in their own time; every
wait in the harness goes through `wait_until`, so a timeout always says what
was awaited and what was last seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    timeout: float,
    what: str | Callable[[], str],
    *,
    every: float = 1.0,
    error: type[Exception] = AssertionError,
) -> T:
    """Call `check` until it returns something truthy and return that; `check` may raise to give up early.

    After `timeout` seconds, raise `error` with `what` (a text, or a function
    that describes the last state seen), and the seconds waited.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise error(f"{described} (waited {timeout:.0f} s)")
        time.sleep(every)
