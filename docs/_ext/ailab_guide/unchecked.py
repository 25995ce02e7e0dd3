"""Show readers why a block is not run by the tests.

A page exempts a block from the tests with a comment line right above it,
`% unchecked: <reason>`. Comments are invisible in HTML, so this transform
adds the reason as a small note under the block: a reader sees which commands
the tests did not run, and why. The comment stays in the doctree, where the
tests read it (tests/harness/snippets.py).
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

PREFIX = "unchecked:"
NOTE_CLASS = "unchecked-note"


class ShowUncheckedReasons(SphinxTransform):
    """After each block with a `% unchecked:` comment, a paragraph: "Not run by the tests: <reason>"."""

    default_priority = 700

    def apply(self, **kwargs) -> None:
        for comment in list(self.document.findall(nodes.comment)):
            text = comment.astext().strip()
            parent = comment.parent
            if not text.startswith(PREFIX) or parent is None:
                continue
            index = parent.index(comment)
            following = parent[index + 1] if index + 1 < len(parent) else None
            if following is None or not following.next_node(nodes.literal_block, include_self=True):
                self.document.reporter.warning(
                    "a `% unchecked:` comment must stand right above a code block", base_node=comment
                )
                continue
            note = nodes.paragraph(classes=[NOTE_CLASS])
            note += nodes.emphasis(text="Not run by this guide's tests: ")
            # `code` in the reason shows as code, as it would in the page's own text.
            for number, part in enumerate(text.removeprefix(PREFIX).strip().split("`")):
                note += nodes.literal(text=part) if number % 2 else nodes.Text(part)
            parent.insert(index + 2, note)


def setup(app: Sphinx) -> None:
    app.add_transform(ShowUncheckedReasons)
