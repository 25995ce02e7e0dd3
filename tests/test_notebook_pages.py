"""Links stay out of notebook cells, where Sphinx cannot check them.

A link that a code cell prints (a Markdown() output) is copied to the page as
it is: Sphinx neither rewrites `page.md#anchor` to the built page nor reports
it when it is broken. So the pages that compute something keep their links in
the page's own Markdown, with {only} or a substitution where the text depends
on the data, and this test fails on a link inside a code cell.
"""

from __future__ import annotations

import re

from harness import paths

CODE_CELL = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)
LINK = re.compile(r"\]\([^)]*\)|href=|<https?://")


def links_in_code_cells(source: str) -> list[str]:
    """The links that a page's code cells contain."""
    return [match.group(0) for cell in CODE_CELL.finditer(source) for match in LINK.finditer(cell.group(2))]


def test_no_page_prints_a_link_from_a_code_cell():
    found = {page.name: links_in_code_cells(page.read_text()) for page in sorted(paths.DOCS.glob("*.md"))}
    assert not {name: links for name, links in found.items() if links}, (
        "move these links into the page's Markdown, where Sphinx checks them"
    )


def test_a_link_in_a_code_cell_is_found():
    """The check can fail: the link that once was a 404 on the Benchmarks page is caught."""
    page = (
        '```{code-cell} python\nMarkdown("the [stand-ins](testing.md#stand-in-base-images)")\n```\n[fine](testing.md)\n'
    )
    assert links_in_code_cells(page) == ["](testing.md#stand-in-base-images)"]
