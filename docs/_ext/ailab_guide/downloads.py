"""Every example folder as a .zip and a .tar.gz, built with the site, at stable URLs.

A reader gets an example with one download instead of retyping its files.
The archives are made from examples/ on every build, so they always hold the
files the pages show:

- Each archive unpacks to `examples/<name>/`, the repository's own layout, so
  the pages' commands and relative paths work the same in a clone and in a
  download.
- An example whose files name a sibling folder (`../minimal`, as the
  production compose file's build context does) gets that folder too. The
  example's own files are the one source of what it needs; nothing lists
  files by hand.
- Files the repository's .gitignore excludes (keys, backups) stay out.
- The bytes depend on the files only: fixed times, owners and modes, sorted
  entries. The URL `<site>/downloads/<archive>` stays the same across builds,
  so a reader's `curl -fLO` keeps working.

The ``{example-download} <name>`` directive puts the links and the commands at
the top of an example's page; naming an example that has no archive fails the
build.
"""

from __future__ import annotations

import gzip
import io
import pathlib
import re
import stat
import tarfile
import time
import zipfile
from typing import ClassVar

import pathspec

from . import site
from .versions import EXAMPLES

ROOT = EXAMPLES.parent
FOLDER = "downloads"  # under the site's root
FORMATS = ("tar.gz", "zip")
MTIME = 946684800  # 2000-01-01 00:00 UTC, for every entry: the bytes must not depend on checkout times
SIBLING = re.compile(r"\.\./([A-Za-z0-9][\w-]*)(?=/|\s|$|[\"'])", re.M)


def site_url() -> str:
    """The published site's address with a trailing slash, or "" for a local build (see site.py)."""
    return site.from_environment().url


def repository_url() -> str:
    """The repository's address for `git clone`, or "" when it is not known (see site.py)."""
    return site.from_environment().repository_url.rstrip("/")


def archive_name(example: str, fmt: str) -> str:
    """The file name of an example's archive, e.g. ai-lab-jupyterhub-minimal.tar.gz."""
    return f"ai-lab-jupyterhub-{example}.{fmt}"


def examples(root: pathlib.Path = ROOT) -> list[str]:
    """Every example folder."""
    return sorted(p.name for p in (root / "examples").iterdir() if p.is_dir() and not p.name.startswith("."))


def ignored(root: pathlib.Path = ROOT) -> pathspec.PathSpec:
    """What the repository's .gitignore excludes: it never goes into an archive."""
    gitignore = root / ".gitignore"
    return pathspec.GitIgnoreSpec.from_lines(gitignore.read_text().splitlines() if gitignore.exists() else [])


def _files(folder: pathlib.Path, root: pathlib.Path, skip: pathspec.PathSpec) -> list[pathlib.Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not skip.match_file(p.relative_to(root).as_posix())]


def folders(example: str, root: pathlib.Path = ROOT) -> list[str]:
    """The example's folder and every sibling folder its files name as `../<sibling>`, recursively."""
    wanted, todo = [], [example]
    skip = ignored(root)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        if not (root / "examples" / name).is_dir():
            raise FileNotFoundError(f"examples/{name} does not exist (named as ../{name} in an example)")
        wanted.append(name)
        for path in _files(root / "examples" / name, root, skip):
            todo += [match for match in SIBLING.findall(path.read_text(errors="replace")) if match not in wanted]
    return sorted(wanted)


def members(example: str, root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The files of an example's archive, relative to the repository, sorted."""
    skip = ignored(root)
    files = [path for name in folders(example, root) for path in _files(root / "examples" / name, root, skip)]
    return sorted(path.relative_to(root) for path in files)


def _mode(path: pathlib.Path) -> int:
    return 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644


def _directories(files: list[pathlib.PurePath]) -> list[pathlib.PurePath]:
    return sorted({parent for file in files for parent in file.parents if parent != pathlib.PurePath(".")})


def write_tar(target: pathlib.Path, files: list[pathlib.PurePath], root: pathlib.Path = ROOT) -> None:
    """A gzipped tar of `files` (relative to `root`) with fixed metadata."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for entry in sorted([*_directories(files), *files], key=lambda p: p.as_posix()):
            info = tarfile.TarInfo(entry.as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            source = root / entry
            if source.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                data = source.read_bytes()
                info.size, info.mode = len(data), _mode(source)
                archive.addfile(info, io.BytesIO(data))
    with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=MTIME) as zipped:
        zipped.write(buffer.getvalue())


def write_zip(target: pathlib.Path, files: list[pathlib.PurePath], root: pathlib.Path = ROOT) -> None:
    """A zip of `files` (relative to `root`) with fixed metadata."""
    stamp = time.gmtime(MTIME)[:6]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted([*_directories(files), *files], key=lambda p: p.as_posix()):
            source = root / entry
            if source.is_dir():
                info = zipfile.ZipInfo(entry.as_posix() + "/", stamp)
                info.external_attr = (stat.S_IFDIR | 0o755) << 16
                archive.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(entry.as_posix(), stamp)
                info.external_attr = (stat.S_IFREG | _mode(source)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, source.read_bytes())


def build(outdir: pathlib.Path) -> dict[str, list[pathlib.Path]]:
    """Write every example's archives into `outdir`/downloads; map each example to its archives."""
    target = pathlib.Path(outdir) / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    built = {}
    for example in examples():
        files = members(example)
        built[example] = []
        for fmt, write in zip(FORMATS, (write_tar, write_zip), strict=True):
            path = target / archive_name(example, fmt)
            write(path, files)
            built[example].append(path)
    return built


def block_name(example: str) -> str:
    """The name of the block with the download commands, e.g. minimal-download."""
    return f"{example}-download"


def _size(path: pathlib.Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def _commands(example: str, site: str, workdir: str) -> str:
    tar = archive_name(example, "tar.gz")
    fetch = [f"curl -fLO {site}{FOLDER}/{tar}"] if site else []
    return "\n".join([*fetch, f"tar -xzf {tar}", f"cd {workdir}"])


def directive():
    """The ``{example-download} <name>`` directive class (Sphinx is imported only here)."""
    from docutils import nodes
    from docutils.parsers.rst import directives
    from sphinx.util.docutils import SphinxDirective

    class ExampleDownload(SphinxDirective):
        """Links to an example's archives and the commands that unpack it, at the top of its page."""

        required_arguments = 1
        # The folder the page's commands run in, when it is not the example's own (Kubernetes: examples).
        option_spec: ClassVar[dict] = {"cd": directives.unchanged}

        def run(self) -> list[nodes.Node]:
            example = self.arguments[0]
            outdir = pathlib.Path(self.env.app.outdir) / FOLDER
            archives = {fmt: outdir / archive_name(example, fmt) for fmt in FORMATS}
            missing = [path.name for path in archives.values() if not path.is_file()]
            if missing:
                raise self.error(f"no archive {', '.join(missing)} in {outdir}: is examples/{example} a folder?")
            for member in members(example):
                self.env.note_dependency(str(ROOT / member))
            beside = [name for name in folders(example) if name != example]

            intro = nodes.paragraph()
            intro += nodes.Text("Get the folder: download ")
            for index, path in enumerate(archives.values()):
                if index:
                    intro += nodes.Text(" or ")
                link = nodes.reference("", "", internal=False, refuri=f"{FOLDER}/{path.name}", classes=["download"])
                link["ailab_download"] = path.name
                link += nodes.literal(text=path.name)
                intro += [link, nodes.Text(f" ({_size(path)})")]
            intro += nodes.Text(" and unpack it. It unpacks to ")
            intro += nodes.literal(text=f"examples/{example}/")
            if beside:
                intro += nodes.Text(", with ")
                for index, name in enumerate(beside):
                    intro += [nodes.Text(", " if index else ""), nodes.literal(text=f"examples/{name}/")]
                intro += nodes.Text(" beside it, because this example builds from there.")
            else:
                intro += nodes.Text(".")
            workdir = self.options.get("cd", f"examples/{example}")
            commands = self._code(_commands(example, site_url(), workdir))
            commands["names"] = [block_name(example)]  # the tests run this block on the linked archive
            result = [intro, commands]
            repository = repository_url()
            if repository:
                clone = nodes.paragraph(text="Or clone the repository, which holds every example:")
                folder = repository.rsplit("/", 1)[-1].removesuffix(".git")
                result += [clone, self._code(f"git clone {repository}\ncd {folder}/{workdir}")]
            return result

        def _code(self, text: str) -> nodes.literal_block:
            block = nodes.literal_block(text, text, language="bash")
            self.set_source_info(block)
            return block

    return ExampleDownload


def _relative_links(app, doctree, docname: str) -> None:
    """Point the download links at <site root>/downloads/ from wherever the page is (any builder, any depth)."""
    from docutils import nodes
    from sphinx.util.osutil import relative_uri

    for link in doctree.findall(nodes.reference):
        if "ailab_download" in link:
            link["refuri"] = relative_uri(app.builder.get_target_uri(docname), f"{FOLDER}/{link['ailab_download']}")


def setup(app) -> dict:
    """Build the archives before any page is read, so the directive can check them; register it."""
    app.connect("builder-inited", lambda app: build(pathlib.Path(app.outdir)))
    app.connect("doctree-resolved", _relative_links)
    app.add_directive("example-download", directive())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
