"""Every code block of the site, as Sphinx sees it after parsing (from the pickled doctrees).

Reading the doctrees instead of the Markdown means literalincludes, myst-nb
cells and blocks inside tabs or admonitions are all found, with the text the
reader sees. A block may be exempt from checks only with a comment line
`% unchecked: <reason>` right above it.
"""

from __future__ import annotations

import dataclasses
import pathlib
import pickle

from docutils import nodes

from . import paths

DOCTREES = paths.BUILD / "doctrees"
UNCHECKED = "unchecked:"


class NoDoctrees(RuntimeError):
    """The site was not built, so there are no blocks to check."""


@dataclasses.dataclass(frozen=True)
class Block:
    """One code block of one page."""

    page: str  # the page's file, relative to docs/, e.g. "minimal-example.md"
    line: int
    language: str
    text: str
    source: str = ""  # the included file, relative to the repository, e.g. "examples/minimal/Dockerfile.hub"
    name: str = ""  # the block's :name:, e.g. "minimal-start"
    unchecked_reason: str = ""
    in_notebook_cell: bool = False  # a myst-nb cell input or output: executed by the site build
    is_output: bool = False
    occurrence: int = 1  # more than one block reported on the same line (rare: generated blocks)

    @property
    def id(self) -> str:
        """Stable across builds as long as the page does not move the block: `page.md:42`."""
        base = f"{self.page}:{self.line}"
        return base if self.occurrence == 1 else f"{base}#{self.occurrence}"

    @property
    def source_path(self) -> pathlib.Path | None:
        return paths.ROOT / self.source if self.source else None

    @property
    def example(self) -> str:
        """The example folder the block's file belongs to ("" when the block is typed in the page)."""
        parts = pathlib.PurePosixPath(self.source).parts
        return parts[1] if len(parts) > 2 and parts[0] == "examples" else ""


def _language(node: nodes.literal_block) -> str:
    language = node.get("language") or ""
    if not language:
        for cls in node.get("classes", []):
            if cls.startswith("highlight-"):
                language = cls.removeprefix("highlight-")
    return "none" if language in ("", "default", "text") else language.lower()


def _unchecked_reason(node: nodes.Node) -> str:
    """The reason of a `% unchecked: ...` comment that is the block's previous sibling."""
    parent = node.parent
    if parent is None:
        return ""
    index = parent.index(node)
    # A block inside a container (a named block, a notebook cell) looks above its container too.
    if index == 0 and isinstance(parent, nodes.container) and parent.parent is not None:
        return _unchecked_reason(parent)
    previous = parent[index - 1] if index > 0 else None
    if isinstance(previous, nodes.comment):
        text = previous.astext().strip()
        if text.startswith(UNCHECKED):
            return text.removeprefix(UNCHECKED).strip()
    return ""


def _relative_source(node: nodes.literal_block) -> str:
    source = node.attributes.get("source")
    if not source:
        return ""
    path = pathlib.Path(source).resolve()
    try:
        return path.relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)


def _cell_role(node: nodes.Node) -> tuple[bool, bool]:
    """(inside a notebook cell, is a cell output) from myst-nb's container classes."""
    parent, in_cell, output = node.parent, False, "output" in node.get("classes", [])
    while parent is not None:
        classes = parent.get("classes", []) if isinstance(parent, nodes.Element) else []
        if "cell" in classes:
            in_cell = True
        if "cell_output" in classes:
            output = True
        parent = parent.parent
    return in_cell, output


def _page(doctree: nodes.document, docname: str) -> str:
    source = pathlib.Path(doctree.get("source") or f"{docname}.md")
    try:
        return source.resolve().relative_to(paths.DOCS).as_posix()
    except ValueError:
        return f"{docname}{source.suffix}"


def blocks_of(doctree: nodes.document, docname: str) -> list[Block]:
    """The code blocks of one page in document order."""
    page = _page(doctree, docname)
    result = []
    for node in doctree.findall(nodes.literal_block):
        in_cell, output = _cell_role(node)
        names = node.get("names") or node.get("ids") or []
        if not names and isinstance(node.parent, nodes.container):
            names = node.parent.get("names") or []
        result.append(
            Block(
                page=page,
                line=node.line or (node.parent.line if node.parent is not None else 0) or 0,
                language=_language(node),
                text=node.astext(),
                source=_relative_source(node),
                name=names[0] if names else "",
                unchecked_reason=_unchecked_reason(node),
                in_notebook_cell=in_cell,
                is_output=output,
            )
        )
    return result


def collect(doctrees: pathlib.Path = DOCTREES) -> list[Block]:
    """Every code block of every page; ids are unique (a repeated `page:line` gets `#2`)."""
    files = sorted(doctrees.glob("**/*.doctree")) if doctrees.is_dir() else []
    if not files:
        raise NoDoctrees(f"No doctrees in {doctrees}: build the site first (run `nox -s docs`).")
    found: list[Block] = []
    seen: dict[str, int] = {}
    for file in files:
        docname = file.relative_to(doctrees).with_suffix("").as_posix()
        with file.open("rb") as handle:
            doctree = pickle.load(handle)
        for block in blocks_of(doctree, docname):
            seen[block.id] = seen.get(block.id, 0) + 1
            if seen[block.id] > 1:
                block = dataclasses.replace(block, occurrence=seen[block.id])
            found.append(block)
    return found


def stale(doctrees: pathlib.Path = DOCTREES) -> list[str]:
    """What changed since the site was built: pages, and files they include, newer than the page's doctree.

    Sphinx rebuilds such pages on the next build; tests reading the old
    doctrees would check blocks the reader no longer sees.
    """
    built = {
        file.relative_to(doctrees).with_suffix("").as_posix(): file.stat().st_mtime
        for file in doctrees.glob("**/*.doctree")
    }
    problems = []
    for page in sorted(paths.DOCS.glob("**/*.md")):
        docname = page.relative_to(paths.DOCS).with_suffix("").as_posix()
        if docname.startswith("_"):
            continue
        if docname not in built:
            problems.append(f"{page.relative_to(paths.ROOT)} has no doctree")
        elif page.stat().st_mtime > built[docname]:
            problems.append(f"{page.relative_to(paths.ROOT)} changed after its doctree was built")
    for block in collect(doctrees):
        docname = pathlib.PurePosixPath(block.page).with_suffix("").as_posix()
        path = block.source_path
        if path and docname in built and path.exists() and path.stat().st_mtime > built[docname]:
            problems.append(f"{block.source} (shown on {block.page}) changed after that page was built")
    return sorted(set(problems))
