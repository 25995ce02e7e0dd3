"""The example folder a reader gets: the archive the built page links, unpacked into an empty folder.

The end-to-end tests start from it, not from examples/, so that a file the
archive lacks fails them as it would fail a reader. `check` says which file
is missing before any command runs.
"""

from __future__ import annotations

import contextlib
import html.parser
import pathlib
import re
import shutil
import tarfile
import urllib.parse

from ailab_guide import downloads, site

from . import blocks, paths, report, shell, site_server

HTML = paths.BUILD / "html"
# A path-like word in a command or a file: `../minimal`, `minimal/Dockerfile.ai-lab`, `start-ai-lab.sh`.
PATH_WORD = re.compile(r"[\w./-]*[A-Za-z][\w./-]*")


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def linked_archive(page: str, html_root: pathlib.Path = HTML) -> pathlib.Path:
    """The one .tar.gz the built page links, as a file of the built site."""
    document = html_root / pathlib.PurePosixPath(page).with_suffix(".html")
    assert document.is_file(), f"{document} is missing: build the site first (nox -s docs)"
    parser = _Links()
    parser.feed(document.read_text())
    hrefs = sorted({href for href in parser.hrefs if urllib.parse.urlsplit(href).path.endswith(".tar.gz")})
    assert len(hrefs) == 1, f"{document.name} must link exactly one .tar.gz archive of its example, links {hrefs}"
    archive = (document.parent / urllib.parse.unquote(urllib.parse.urlsplit(hrefs[0]).path)).resolve()
    assert archive.is_file(), f"{document.name} links {hrefs[0]}, which the built site does not have"
    return archive


def unpack(archive: pathlib.Path, into: pathlib.Path) -> pathlib.Path:
    """Unpack into an empty folder as `tar -xzf` does; return its examples/ folder."""
    into.mkdir(parents=True, exist_ok=True)
    assert not any(into.iterdir()), f"{into} is not empty"
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "examples"


def _paths_named(text: str, folder: pathlib.Path) -> set[pathlib.Path]:
    """The files and folders under examples/ that `text`, read in `folder`, names by a relative path.

    A bare name (`start-ai-lab.sh`) counts in `folder`; a path with a slash
    (`../minimal`, `minimal/Dockerfile.ai-lab`) also from examples/, where
    the Kubernetes page's build runs.
    """
    named = set()
    for word in PATH_WORD.findall(text):
        for base in (folder, paths.EXAMPLES) if "/" in word else (folder,):
            candidate = (base / word.rstrip("/.")).resolve()
            if candidate.is_relative_to(paths.EXAMPLES) and candidate != paths.EXAMPLES and candidate.exists():
                named.add(candidate)
    return named


def check(page: str, unpacked: pathlib.Path, example: str) -> None:
    """Fail, naming the file, unless the unpacked examples/ folder holds what the page and its files use.

    That is every file the page includes, with the same text, and every file
    or folder under examples/ that the page's blocks, the example's files, or
    the files those name, name by a relative path (`../minimal`,
    `minimal/Dockerfile.ai-lab`, `start-ai-lab.sh`).
    """
    skip = downloads.ignored(paths.ROOT)

    def kept(path: pathlib.Path) -> bool:
        return path.is_file() and not skip.match_file(path.relative_to(paths.ROOT).as_posix())

    todo: set[pathlib.Path] = {path for path in (paths.EXAMPLES / example).rglob("*") if kept(path)}
    for block in (block for block in blocks.every() if block.page == page):
        if block.source.startswith("examples/"):
            shipped = unpacked.parent / block.source
            assert shipped.is_file(), f"{page} includes {block.source}, which its archive lacks"
            # A part (:lines:, :start-after:) may be dedented: compare the words.
            shown, file = " ".join(block.text.split()), " ".join(shipped.read_text().split())
            assert shown in file, f"{block.source} in the archive differs from what {page} shows"
            todo.add(paths.ROOT / block.source)
        todo |= _paths_named(block.text, paths.EXAMPLES / example)
    needed: set[pathlib.Path] = set()
    while todo:
        path = todo.pop()
        files = {p for p in (path.rglob("*") if path.is_dir() else [path]) if kept(p)} - needed
        needed |= files
        for file in files:
            todo |= _paths_named(file.read_text(errors="replace"), file.parent)
    for file in sorted(needed):
        relative = file.relative_to(paths.ROOT)
        assert (unpacked.parent / relative).is_file(), (
            f"{page} or the files it uses name {relative}; the archive lacks it"
        )


def unpacked_example(page: str, example: str, scratch: pathlib.Path) -> pathlib.Path:
    """The example's folder as a reader gets it, checked; `scratch` must be empty.

    The page's own commands run in `scratch`: when the site's address is known,
    its `curl -fLO` line fetches the archive from the built site, served as it
    is published (under its sub-path) on a local port that stands in for the
    site's host; then they unpack it and change into the folder. Without an
    address the block has no curl line, and the archive the page links is
    put into `scratch` as a browser download would.
    """
    archive = linked_archive(page)
    assert not scratch.exists() or not any(scratch.iterdir()), f"{scratch} is not empty"
    scratch.mkdir(parents=True, exist_ok=True)
    block = blocks.named(page, downloads.block_name(example))  # from the example-download directive
    published = site.from_environment().url
    use = blocks.RAN
    with contextlib.ExitStack() as stack:
        commands = block.text
        if published and "curl " in commands:
            use = blocks.RAN_ELSEWHERE
            local = stack.enter_context(site_server.serve(HTML))
            commands = commands.replace(published, local)
            assert commands != block.text, f"{page}'s download block does not fetch from {published}"
            report.deviation(
                f"{page}: {block.name}", f"the site's address {published} replaced by a local server of the built site"
            )
        else:
            shutil.copyfile(archive, scratch / archive.name)
        shell.run_commands(commands, scratch)
    blocks.note(block, use)
    fetched = scratch / archive.name
    assert fetched.read_bytes() == archive.read_bytes(), f"{page}'s download block fetched another file"
    fetched.unlink()
    check(page, scratch / "examples", example)
    return scratch / "examples" / example
