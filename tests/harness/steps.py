"""Scenarios whose tests must run in a stated order: `@pytest.mark.step(n)`.

An end-to-end module that shares one running example between its tests (the
production example: each operation builds on the state the previous one left)
numbers every test. At collection, the numbers decide the order, not the
position in the file, and a module that numbers some tests must number all of
them, each number once; otherwise collection stops with a usage error.
"""

from __future__ import annotations

import pytest

MARKER = "step"


def order(items: list[pytest.Item]) -> None:
    """Sort each numbered module's tests by their step, in place; refuse incomplete or repeated numbering."""
    modules: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(index)
    for module, indexes in modules.items():
        numbered = [(items[i].get_closest_marker(MARKER), items[i]) for i in indexes]
        if not any(marker for marker, _ in numbered):
            continue
        missing = [item.name for marker, item in numbered if marker is None]
        if missing:
            raise pytest.UsageError(f"{module} numbers its tests with @pytest.mark.step; unnumbered: {missing}")
        numbers = [marker.args[0] for marker, _ in numbered]
        if len(set(numbers)) != len(numbers):
            raise pytest.UsageError(f"{module}: a step number is used twice: {sorted(numbers)}")
        ordered = [item for _, item in sorted(numbered, key=lambda pair: pair[0].args[0])]
        for slot, item in zip(indexes, ordered, strict=True):
            items[slot] = item
