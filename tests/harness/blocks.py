"""The one way a test gets a page's block, and the record of which test used which block.

Blocks are read once per session from the built site's doctrees (cached).
`named(page, name)` returns the block and notes, against the test that is
running (pytest's PYTEST_CURRENT_TEST), that the test read it. Stronger uses
are noted only where they happen: shell.run_commands notes "ran" once the
commands succeeded, and `assert_in_output` notes "output reproduced" once the
quoted text was found. Together with the outcome of each test (recorded by
the hook in conftest.py), the report then says which blocks a passing test
really ran; nothing is inferred from the test files' text.
"""

from __future__ import annotations

import functools
import os

from . import hub, snippets

READ = "read"
RAN = "ran"
REPRODUCED = "output reproduced"
STARTED = "loaded and started"
VALIDATED = "validated against a schema"
RAN_ELSEWHERE = "ran with the site's address replaced"

_uses: dict[str, dict[str, set[str]]] = {}  # block id -> use -> test node ids


@functools.cache
def every() -> tuple[snippets.Block, ...]:
    """Every code block of the site, read from the doctrees once per session."""
    return tuple(snippets.collect())


def named(page: str, name: str) -> snippets.Block:
    """The one block with this :name: on a page (e.g. "minimal-example.md", "minimal-start")."""
    found = [block for block in every() if block.page == page and block.name == name]
    assert len(found) == 1, f"{page} must have exactly one block named {name!r}, found {len(found)}"
    note(found[0], READ)
    return found[0]


def including(source: str) -> list[snippets.Block]:
    """Every block, on any page, that shows the file `source` (e.g. "examples/minimal/.env")."""
    found = [block for block in every() if block.source == source]
    for block in found:
        note(block, READ)
    return found


def assert_files_in_use(example: str, files: dict[str, str]) -> None:
    """The pages show exactly the files a running example was started from; note them as started.

    `files` maps a file's name in the example's folder (such as `.env`) to the
    text the start read.
    """
    for name, text in files.items():
        shown = including(f"examples/{example}/{name}")
        assert shown, f"no page shows examples/{example}/{name}"
        for block in shown:
            assert_is_running_file(block, text)


def current_test() -> str:
    """The node id of the running test ("" outside pytest, e.g. in the benchmark)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


def note(block: snippets.Block, use: str) -> None:
    """Record that the running test used a block this way (no-op outside a test)."""
    test = current_test()
    if test:
        _uses.setdefault(block.id, {}).setdefault(use, set()).add(test)


def uses() -> dict[str, dict[str, set[str]]]:
    """Block id -> use -> the tests that used it so; the report joins it with the tests' outcomes."""
    return _uses


def assert_in_output(block: snippets.Block, output: str, *, each_line: bool = False, exact: bool = False) -> None:
    """Assert that the text a page quotes appears in real output; then note it as reproduced.

    `each_line`: every line of the block must appear on its own (log lines that
    other lines separate), any IPv4 address in them standing for any other.
    `exact`: the output, stripped, is the quoted text and nothing else.
    """
    if each_line:
        for line in block.text.strip().splitlines():
            assert hub.contains_ignoring_addresses(output, line.strip()), (
                f"{block.id} quotes {line.strip()!r}, which the output lacks:\n{output[-3000:]}"
            )
    elif exact:
        assert output.strip() == block.text.strip(), (
            f"{block.id} quotes {block.text.strip()!r}, the output is {output.strip()!r}"
        )
    else:
        assert block.text.strip() in output, (
            f"{block.id} quotes {block.text.strip()!r}, which the output lacks:\n{output[-3000:]}"
        )
    note(block, REPRODUCED)


def assert_same_file(block: snippets.Block, text: str, use: str) -> None:
    """Assert that the page shows exactly `text` (a file a check or a running service used); then note the use."""
    assert text.strip() == block.text.strip(), f"{block.id} shows another file than the one used ({use})"
    note(block, use)


def assert_is_running_file(block: snippets.Block, running: str) -> None:
    """Assert that a running service uses exactly the file the page shows; then note the block as started."""
    assert_same_file(block, running, STARTED)
