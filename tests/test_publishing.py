"""The site can be published: on Read the Docs, on GitHub Pages, and from the README on a fresh machine.

- The site settings (docs/_ext/ailab_guide/site.py) come from the environment.
- The built site has what its settings promise (harness/publishing.py checks it).
- .readthedocs.yaml and the GitHub workflows validate, offline, against the
  schemas check-jsonschema ships; broken copies do not.
- The Read the Docs build, emulated: a fresh clone and virtual environment, the
  file's commands in order, with the variables Read the Docs sets.
- AILAB_GUIDE_REAL_IMAGES=1 refuses stand-ins (the tests workflow sets it).
- The README's site command, read from the README, builds the site in a stock
  Debian container.
"""

from __future__ import annotations

import io
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import zipfile

import pytest
import yaml
from ailab_guide import site as site_settings
from harness import background, blocks, engine, paths, publishing, report, standins

READTHEDOCS_CONFIG = paths.ROOT / ".readthedocs.yaml"
WORKFLOWS = sorted((paths.ROOT / ".github" / "workflows").glob("*.yml"))
README = paths.ROOT / "README.md"
# Variables of this machine that would change what the build does; the emulated hosts set their own.
SITE_VARIABLES = ("SITE_URL", "REPOSITORY_URL", "REPOSITORY_BRANCH", "VIRTUAL_ENV", "NOX_CURRENT_SESSION")


# --- Site settings -----------------------------------------------------------------------------


def test_settings_default_to_a_local_preview() -> None:
    site = site_settings.from_environment({})
    assert site == site_settings.Site(url="", repository_url="", repository_branch="main")
    assert site.path == "/"
    assert site.extensions() == []
    assert site.theme_options() == {}


def test_settings_from_the_environment() -> None:
    site = site_settings.from_environment(
        {"SITE_URL": "https://owner.github.io/guide", "REPOSITORY_URL": "https://github.com/owner/guide.git"}
    )
    assert site.url == "https://owner.github.io/guide/"
    assert site.path == "/guide/"
    assert site.extensions() == ["sphinxext.opengraph", "sphinx_sitemap"]
    assert site.theme_options()["repository_url"] == "https://github.com/owner/guide"
    assert site.theme_options()["repository_branch"] == "main"
    assert site.robots_txt().endswith("Sitemap: https://owner.github.io/guide/sitemap.xml\n")


def test_read_the_docs_variables_are_the_fallback() -> None:
    rtd = {
        "READTHEDOCS_CANONICAL_URL": "https://guide.readthedocs.io/en/latest/",
        "READTHEDOCS_GIT_CLONE_URL": "https://github.com/owner/guide.git",
    }
    site = site_settings.from_environment(rtd)
    assert (site.url, site.path, site.repository_url) == (
        "https://guide.readthedocs.io/en/latest/",
        "/en/latest/",
        "https://github.com/owner/guide",
    )
    # An SSH clone address is no web page; an explicit setting wins.
    assert site_settings.from_environment({"READTHEDOCS_GIT_CLONE_URL": "git@github.com:o/g.git"}).repository_url == ""
    assert site_settings.from_environment({**rtd, "SITE_URL": "https://docs.example.org/"}).path == "/"


# --- The built site ----------------------------------------------------------------------------


def test_local_build_has_what_its_settings_promise() -> None:
    """docs/_build/html, built by nox just before the tests with this environment's settings."""
    assert publishing.problems(paths.BUILD / "html", site_settings.from_environment()) == []


def test_the_checker_notices_a_build_for_another_address() -> None:
    elsewhere = site_settings.Site(url="https://elsewhere.example/sub/", repository_url="https://example.org/repo")
    found = "\n".join(publishing.problems(paths.BUILD / "html", elsewhere))
    if site_settings.from_environment().url != elsewhere.url:
        assert "canonical link" in found
        assert "404.html" in found  # its links are not under /sub/
    assert "https://example.org/repo" in found


def test_the_checker_notices_a_relative_link_on_the_404_page(tmp_path) -> None:
    shutil.copytree(paths.BUILD / "html", tmp_path / "html")
    page = tmp_path / "html" / "404.html"
    page.write_text(page.read_text().replace("</body>", '<a href="index.html">start</a></body>'))
    site = site_settings.from_environment()  # the settings the build was made with
    found = publishing.not_found_page_problems(tmp_path / "html", site)
    assert found == [f"404.html: <a href='index.html'> is not under {site.path}"]


def test_shallow_clone_and_uncommitted_page_build_without_warnings(tmp_path) -> None:
    """CI and Read the Docs clone shallow, and writers build before they commit: neither may fail the build.

    The pages then show no "last updated" date rather than a wrong one.
    """
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{paths.ROOT}", str(checkout)], check=True)
    (checkout / "docs" / "not-committed.md").write_text("---\norphan: true\n---\n\n# Not committed\n\nNew.\n")
    sphinx = pathlib.Path(sys.executable).with_name("sphinx-build")
    out = tmp_path / "html"
    command = [sphinx, "-q", "-c", ".", "-d", tmp_path / "doctrees", "docs", out, "-W", "--keep-going", "-n"]
    done = subprocess.run(command, cwd=checkout, env=_clean_environment(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    dated = [page.name for page in out.glob("*.html") if "article:modified_time" in page.read_text()]
    assert dated == [], f"a depth-1 clone has no page's last change, yet these show a date: {dated}"


# --- Configurations, validated offline -----------------------------------------------------------


def check_jsonschema(schema: str, *files: pathlib.Path) -> subprocess.CompletedProcess:
    """check-jsonschema with a schema it ships (no download: --builtin-schema)."""
    command = [pathlib.Path(sys.executable).with_name("check-jsonschema"), "--builtin-schema", schema, *files]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_readthedocs_config_validates() -> None:
    done = check_jsonschema("vendor.readthedocs", READTHEDOCS_CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_validate() -> None:
    assert {path.name for path in WORKFLOWS} == {"pages.yml", "tests.yml"}
    done = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("schema", "source", "breakage"),
    [
        ("vendor.readthedocs", READTHEDOCS_CONFIG, lambda data: data.update(version=3)),
        ("vendor.readthedocs", READTHEDOCS_CONFIG, lambda data: data["build"].update(commands="nox -s docs")),
        ("vendor.github-workflows", paths.ROOT / ".github/workflows/pages.yml", lambda data: data.pop("jobs")),
        (
            "vendor.github-workflows",
            paths.ROOT / ".github/workflows/tests.yml",
            lambda data: data["jobs"]["tests"].update({"runs_on": "ubuntu-24.04"}),
        ),
    ],
    ids=["rtd-version", "rtd-commands-not-a-list", "workflow-without-jobs", "workflow-misspelt-key"],
)
def test_broken_configs_are_refused(tmp_path, schema, source, breakage) -> None:
    data = yaml.safe_load(source.read_text())
    breakage(data)
    broken = tmp_path / source.name
    broken.write_text(yaml.safe_dump(data))
    done = check_jsonschema(schema, broken)
    assert done.returncode != 0, f"{schema} accepted a broken {source.name}"


# --- Read the Docs, emulated ---------------------------------------------------------------------


def _clean_environment() -> dict[str, str]:
    """This machine's environment without our settings and without the nox session's venv on PATH."""
    env = {name: value for name, value in os.environ.items() if name not in SITE_VARIABLES}
    env["PATH"] = os.pathsep.join(
        entry for entry in env["PATH"].split(os.pathsep) if not entry.startswith(str(paths.ROOT / ".nox"))
    )
    return env


def readthedocs_build() -> tuple[pathlib.Path, dict[str, str]]:
    """Read the Docs' steps: a shallow clone, a fresh virtual environment, the commands in order.

    Read the Docs builds a commit, so this clones HEAD (uncommitted changes are not in it).
    It takes minutes: the fresh environment installs every pinned package (pip's cache helps),
    so it runs in the background from the start of the session. Returns the scratch
    folder (the test removes it) and the environment the commands ran with.
    """
    began = time.monotonic()
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="ailab-guide-readthedocs-"))
    try:
        checkout = tmp_path / "checkout"
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{paths.ROOT}", str(checkout)], check=True)
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True, check=True
        ).stdout
        env = _clean_environment()
        python = shutil.which("python3.11", path=env["PATH"]) or sys.executable
        venv = tmp_path / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        output = checkout / "_readthedocs"
        env.update(
            PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
            READTHEDOCS="True",
            READTHEDOCS_PRODUCTION_DOMAIN="readthedocs.org",
            READTHEDOCS_PROJECT="ailab-guide",
            READTHEDOCS_LANGUAGE="en",
            READTHEDOCS_VERSION="latest",
            READTHEDOCS_VERSION_NAME="latest",
            READTHEDOCS_VERSION_TYPE="branch",
            READTHEDOCS_VIRTUALENV_PATH=str(venv),
            READTHEDOCS_OUTPUT=f"{output}/",
            READTHEDOCS_CANONICAL_URL="https://ailab-guide.readthedocs.io/en/latest/",
            READTHEDOCS_REPOSITORY_PATH=str(checkout),
            READTHEDOCS_GIT_CLONE_URL="https://github.com/example-owner/ailab-guide.git",
            READTHEDOCS_GIT_IDENTIFIER="main",
            READTHEDOCS_GIT_COMMIT_HASH=commit.strip(),
        )
        log = tmp_path / "build.log"
        with log.open("w") as sink:
            for command in yaml.safe_load(READTHEDOCS_CONFIG.read_text())["build"]["commands"]:
                sink.write(f"$ {command}\n")
                sink.flush()
                done = subprocess.run(
                    ["bash", "-c", command], cwd=checkout, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False
                )
                assert done.returncode == 0, f"`{command}` failed:\n{log.read_text()[-4000:]}"
    except BaseException:
        shutil.rmtree(tmp_path, ignore_errors=True)
        raise
    report.timing("readthedocs_emulated_build (in the background)", time.monotonic() - began)
    return tmp_path, env


@background.runs(readthedocs_build)
def test_readthedocs_build_emulated() -> None:
    tmp_path, env = background.result(readthedocs_build)
    try:
        output = tmp_path / "checkout" / "_readthedocs"
        check_readthedocs_output(output, tmp_path / "checkout", env)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def check_readthedocs_output(output: pathlib.Path, checkout: pathlib.Path, env: dict[str, str]) -> None:
    site = site_settings.from_environment(env)
    assert site.url == "https://ailab-guide.readthedocs.io/en/latest/"
    assert publishing.problems(output / "html", site, checkout) == []
    zips = list((output / "htmlzip").iterdir())
    assert [path.suffix for path in zips] == [".zip"], "the htmlzip folder must hold exactly one zip"
    assert "html/index.html" in zipfile.ZipFile(zips[0]).namelist()


# --- Real images where they must be real ----------------------------------------------------------


def test_real_images_refuse_an_image_that_cannot_be_pulled(docker_client, monkeypatch) -> None:
    monkeypatch.setenv(standins.REAL_IMAGES, "1")
    ref = "exasol/ai-lab:0.0.0-never-released"
    with pytest.raises(standins.RealImageMissing) as refused:
        standins.ensure(docker_client, ref)
    assert ref in str(refused.value)
    assert f"unset {standins.REAL_IMAGES}" in str(refused.value)
    assert docker_client.images.list(name=ref) == []  # no stand-in was built
    assert ref not in [base.ref for base in standins.seen()]


def test_real_images_refuse_a_cached_stand_in(docker_client, monkeypatch) -> None:
    """A stand-in left on the engine is no real image either: an empty image with the label stands for it."""
    ref = f"ailab-guide/real-images-check:{uuid.uuid4().hex[:8]}"
    dockerfile = io.BytesIO(f'FROM scratch\nLABEL {standins.STANDIN_LABEL}="test_publishing"\n'.encode())
    docker_client.images.build(fileobj=dockerfile, tag=ref, rm=True)
    try:
        monkeypatch.setenv(standins.REAL_IMAGES, "1")
        with pytest.raises(standins.RealImageMissing, match=re.escape(f"docker image rm {ref}")):
            standins.ensure(docker_client, ref)
    finally:
        docker_client.images.remove(ref)


# --- The README on a fresh machine -----------------------------------------------------------------


def readme_site_command(text: str) -> str:
    """The command in the README's "Build the site" section (its first bash block)."""
    section = re.search(r"^## Build the site\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## Build the site' section"
    block = re.search(r"^```bash\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, "README.md's 'Build the site' section has no bash block"
    return block.group(1).strip()


def tracked_files_tar() -> bytes:
    """The repository as a fresh clone has it: the git-tracked files, as they are now, under src/."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, check=True).stdout
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names.decode().split("\0"):
            if name and (paths.ROOT / name).exists():
                tar.add(paths.ROOT / name, arcname=f"src/{name}", recursive=False)
    return buffer.getvalue()


def run_on_stock_debian(client, command: str, keep: str, into: pathlib.Path) -> tuple[int, str]:
    """Run `command` in /src of a stock Debian container holding the repository; copy `keep` out into `into`.

    This machine's pip cache is lent to the container: the same pinned packages, downloaded once.
    """
    standins.ensure_debian_base(client)
    pip_cache = pathlib.Path(os.environ.get("PIP_CACHE_DIR", pathlib.Path.home() / ".cache" / "pip"))
    container = client.containers.create(
        standins.BASE_TAG,
        ["bash", "-c", f"cd /src && {command}"],
        name=f"ailab-guide-readme-{uuid.uuid4().hex[:8]}",
        volumes={str(pip_cache): {"bind": "/root/.cache/pip", "mode": "rw"}} if pip_cache.is_dir() else {},
    )
    try:
        container.put_archive("/", tracked_files_tar())
        container.start()
        status = container.wait(timeout=1800)["StatusCode"]
        logs = container.logs().decode(errors="replace")
        if status == 0:
            stream, _ = container.get_archive(keep)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                tar.extractall(into, filter="data")
        return status, logs
    finally:
        container.remove(v=True, force=True)


def readme_site_command_on_debian() -> tuple[int, str, str, pathlib.Path]:
    """The README's site command in a stock Debian container (minutes of pip: run in the background).

    Returns its exit status, log, the command and the folder the built HTML was copied to.
    """
    command = readme_site_command(README.read_text())
    into = pathlib.Path(tempfile.mkdtemp(prefix="ailab-guide-readme-"))
    began = time.monotonic()
    status, logs = run_on_stock_debian(engine.connect(), command, "/src/docs/_build/html", into)
    report.timing("readme_site_command_on_debian (in the background)", time.monotonic() - began)
    return status, logs, command, into


@pytest.mark.usefixtures("docker_client")
@background.runs(readme_site_command_on_debian)
def test_readme_site_command_works_on_stock_debian() -> None:
    """Debian 12's own python3 (with python3-venv), no git, a copy of the repository: the README's command."""
    status, logs, command, into = background.result(readme_site_command_on_debian)
    try:
        assert status == 0, f"README command `{command}` failed ({status}):\n{logs[-4000:]}"
        built = {path.stem for path in (into / "html").glob("*.html")}
        assert set(publishing.pages()) <= built
        assert (into / "html" / "index.html").stat().st_size > 0
    finally:
        shutil.rmtree(into, ignore_errors=True)


def test_stock_debian_refuses_the_old_readme_command(docker_client, tmp_path) -> None:
    """The container is as strict as a fresh machine: Debian's Python is externally managed (PEP 668).

    Without python3-pip there is not even a pip; with it, pip refuses. Either way the old
    README command, `python3 -m pip install nox`, fails there.
    """
    command = "ls /usr/lib/python3*/EXTERNALLY-MANAGED && python3 -m pip install nox"
    status, logs = run_on_stock_debian(docker_client, command, "/src", tmp_path)
    assert "EXTERNALLY-MANAGED" in logs, logs
    assert status != 0, logs


def test_readme_command_is_read_from_its_section() -> None:
    text = "# T\n\n## Build the site\n\nSay.\n\n```bash\nmake site\n```\n\n## Next\n\n```bash\nother\n```\n"
    assert readme_site_command(text) == "make site"
    with pytest.raises(AssertionError, match="no '## Build the site' section"):
        readme_site_command(text.replace("Build the site", "Build it"))


def test_the_readmes_trial_is_the_minimal_pages_start() -> None:
    """The README's "Try it" block is the minimal example page's start block, in the example's folder."""
    section = re.search(r"^## Try it on your machine\n(.*?)(?=^## )", README.read_text(), re.S | re.M)
    assert section, "README.md has no '## Try it on your machine' section"
    block = re.search(r"^```bash\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, "README.md's 'Try it' section has no bash block"
    start = blocks.named("minimal-example.md", "minimal-start").text.strip()
    assert block.group(1).strip() == f"cd examples/minimal\n{start}", block.group(1)
