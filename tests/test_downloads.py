"""The example downloads: every example page links an archive that holds what its commands use.

No Docker: these read the built site (docs/_build/html and its doctrees) and
unpack the archives with the pages' own commands. The end-to-end tests start
from the same archives (harness/downloads.py).
"""

from __future__ import annotations

import shutil

import pytest
from ailab_guide import downloads as archives
from harness import blocks, downloads, paths


def page_of(example: str) -> str:
    """The page whose example-download directive offers this example."""
    name = archives.block_name(example)
    pages = [block.page for block in blocks.every() if block.name == name]
    assert len(pages) == 1, f"examples/{example} must be offered by exactly one page ({{example-download}}), is {pages}"
    return pages[0]


@pytest.mark.parametrize("example", archives.examples())
def test_every_example_page_links_an_archive_with_what_the_page_uses(example, tmp_path):
    folder = downloads.unpacked_example(page_of(example), example, tmp_path / "reader")
    assert folder.is_dir()
    assert sorted(p.relative_to(tmp_path / "reader") for p in (tmp_path / "reader").rglob("*") if p.is_file()) == [
        *archives.members(example)
    ]


def test_the_zip_holds_the_same_files_as_the_tar(tmp_path):
    import tarfile
    import zipfile

    for example, (tar, zipped) in archives.build(tmp_path).items():
        with tarfile.open(tar) as t, zipfile.ZipFile(zipped) as z:
            tar_files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
            zip_files = {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
        assert tar_files == zip_files, example
        assert sorted(tar_files) == [p.as_posix() for p in archives.members(example)]


def unpacked_without(tmp_path, example: str, left_out: str):
    """The example's archive with one file left out, unpacked as a reader would."""
    files = [p for p in archives.members(example) if p.as_posix() != left_out]
    assert len(files) == len(archives.members(example)) - 1, f"{left_out} is not in the {example} archive"
    archive = tmp_path / "short.tar.gz"
    archives.write_tar(archive, files)
    return downloads.unpack(archive, tmp_path / "reader")


def test_an_archive_without_a_file_of_a_sibling_folder_fails(tmp_path):
    """Production builds from ../minimal: an archive without minimal/start-ai-lab.sh must be refused."""
    unpacked = unpacked_without(tmp_path, "production", "examples/minimal/start-ai-lab.sh")
    with pytest.raises(AssertionError, match=r"examples/minimal/start-ai-lab\.sh"):
        downloads.check("production.md", unpacked, "production")


def test_an_archive_without_a_file_the_page_includes_fails(tmp_path):
    unpacked = unpacked_without(tmp_path, "minimal", "examples/minimal/Dockerfile.hub")
    with pytest.raises(AssertionError, match=r"includes examples/minimal/Dockerfile\.hub, which its archive lacks"):
        downloads.check("minimal-example.md", unpacked, "minimal")


def test_a_page_without_an_archive_link_fails(tmp_path):
    (tmp_path / "minimal-example.html").write_text('<a href="downloads/other.zip">zip only</a>')
    with pytest.raises(AssertionError, match=r"must link exactly one \.tar\.gz"):
        downloads.linked_archive("minimal-example.md", html_root=tmp_path)


def test_the_archives_are_reproducible_and_leave_out_what_git_ignores(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(paths.EXAMPLES, root / "examples")
    shutil.copy(paths.ROOT / ".gitignore", root / ".gitignore")
    (root / "examples" / "production" / "secrets").mkdir(exist_ok=True)
    (root / "examples" / "production" / "secrets" / "tls.key").write_text("private")
    members = [p.as_posix() for p in archives.members("production", root)]
    assert "examples/production/secrets/tls.key" not in members
    assert "examples/minimal/Dockerfile.ai-lab" in members, "production names ../minimal: minimal/ goes with it"
    first, second = archives.build(tmp_path / "one"), archives.build(tmp_path / "two")
    for example in first:
        for a, b in zip(first[example], second[example], strict=True):
            assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two builds"
