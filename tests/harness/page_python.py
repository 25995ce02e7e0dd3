"""A page's Python blocks, run by pytest-examples against a running example and credited to the block.

pytest-examples reads the ```python fences of a page's Markdown and checks what
they print against their `#>` lines; the report knows blocks from the built
doctrees. A test fetches a block by its name (MyST's `{#name}` line above the
fence; blocks.named), runs the fence of the same text with print checking, and
only then notes the block as run.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_examples import CodeExample, EvalExample, find_examples

from . import blocks, paths, snippets


def examples(page: str) -> list[CodeExample]:
    """Every Python fence of a page, in page order, as pytest-examples reads it."""
    return list(find_examples(paths.DOCS / page))


def example(block: snippets.Block) -> CodeExample:
    """The fence of the page's Markdown that the reader sees as this block."""
    found = [fence for fence in examples(block.page) if fence.source.strip() == block.text.strip()]
    assert len(found) == 1, f"{block.id} ({block.name}) matches {len(found)} Python fences of {block.page}, not one"
    return found[0]


def check_prints(eval_example: EvalExample, fence: CodeExample, module_globals: dict[str, Any]) -> dict[str, Any]:
    """Run a fence and compare its printed lines with its `#>` lines (pytest.fail if they differ).

    An error inside the fence is re-raised without the fence's frames: pytest
    cannot draw the traceback pytest-examples makes for them (its report of the
    test would stop the whole session with an INTERNALERROR).
    """
    try:
        return eval_example.run_print_check(fence, module_globals=module_globals, rewrite_assertions=False)
    except pytest.fail.Exception:
        raise  # pytest-examples' own report: the printed lines that differ
    except Exception as exc:
        raise AssertionError(f"{fence} fails: {type(exc).__name__}: {exc}") from None


def run(eval_example: EvalExample, block: snippets.Block, module_globals: dict[str, Any]) -> dict[str, Any]:
    """Run the block's fence with `module_globals`; fail if it prints other than its `#>` lines; note it as run."""
    result = check_prints(eval_example, example(block), module_globals)
    blocks.note(block, blocks.RAN)
    return result


def as_one_script(page: str) -> CodeExample:
    """The page's Python fences joined in order, as readers run them: one script to lint."""
    fences = examples(page)
    assert fences, f"{page} has no Python fences"
    return CodeExample.create("\n".join(fence.source for fence in fences), path=paths.DOCS / page)
