"""Base images for the examples: the real ones where they can be had, else stand-ins.

The examples start `FROM exasol/ai-lab:<version>` and
`FROM quay.io/jupyterhub/jupyterhub:<version>`. On a machine that reaches a
registry those real images are used. On a machine that cannot pull (such as
this project's CI) the project builds local stand-ins under the same names,
from a Debian root file system made with debootstrap. Stand-ins carry the
label ``org.ailab-guide.stand-in`` and are announced loudly, so nobody mistakes
a green run on a stand-in for a run on the real image.

Where the real images must be tested (the GitHub workflow, which reaches the
registries), ``AILAB_GUIDE_REAL_IMAGES=1`` turns every fallback to a stand-in
into an error: a registry outage then fails the run instead of quietly
testing a stand-in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import docker
import docker.errors
from ailab_guide import versions

from . import paths

STANDIN_LABEL = "org.ailab-guide.stand-in"
INPUTS_LABEL = "org.ailab-guide.stand-in.inputs"  # a digest of what a stand-in is built from; a change rebuilds it
BASE_TAG = "ailab-guide/debian-base:bookworm"
_debian_base_lock = threading.Lock()  # see ensure_debian_base
BASE_PACKAGES = "ca-certificates,python3,python3-venv,sudo,procps"
HOST_CA_BUNDLE = pathlib.Path("/etc/ssl/certs/ca-certificates.crt")
CONFIGURABLE_HTTP_PROXY = "configurable-http-proxy@5.3.0"
REAL_IMAGES = "AILAB_GUIDE_REAL_IMAGES"

# What each AI Lab release installs into its jupyter venv (read from the exasol/ai-lab
# sources of that tag: roles/jupyter/files/*requirements.txt), on which Python, and the
# day its packages were resolved (the tag's date). harness/standin_lock.py resolves it
# into tests/standins/ai-lab/requirements-<version>.lock. Another release needs a row.
AI_LAB_CONTRACT = {
    "6.0.0": {
        "connector": "3.0.0",
        "extras": (
            "sqlalchemy", "pyexasol", "pyexasol-extra", "bucketfs", "docker-db",
            "slc", "ibis", "transformers", "text-ai", "notebook-dependencies",
        ),
        "jupyterlab": ">=4.4.8,<5",
        "pexpect": ">=4.8,<5",
        "python": "3.10",
        "resolved_as_of": "2026-06-19T23:59:59Z",
    },
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class BaseImage:
    """Where a base image came from, for the report and the banner."""

    ref: str
    origin: str  # "present", "pulled", "stand-in (built)", "stand-in (cached)"
    seconds: float = 0.0  # how long making it available took

    @property
    def is_standin(self) -> bool:
        return self.origin.startswith("stand-in")


_seen: dict[str, BaseImage] = {}


def seen() -> list[BaseImage]:
    """Every base image this process resolved, for the report."""
    return list(_seen.values())


def _print_to_stderr(text: str) -> None:
    print(text, file=sys.__stderr__, flush=True)


# Where announcements go; under pytest, conftest.py points this past the output capture.
announcer = _print_to_stderr


def announce(message: str) -> None:
    """Say something nobody may miss (a stand-in is in use), framed by a bar."""
    bar = "!" * 78
    announcer(f"\n{bar}\n{message}\n{bar}")


def _local(client: docker.DockerClient, ref: str):
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


class RealImageMissing(RuntimeError):
    """The real image was required (AILAB_GUIDE_REAL_IMAGES=1) but only a stand-in could be had."""


def real_images_required() -> bool:
    """Whether this run must test the real base images (AILAB_GUIDE_REAL_IMAGES set and not 0)."""
    return os.environ.get(REAL_IMAGES, "") not in ("", "0")


def ensure(client: docker.DockerClient, ref: str) -> BaseImage:
    """Make `ref` available locally: present, pulled, or built as a stand-in.

    With AILAB_GUIDE_REAL_IMAGES=1 a stand-in, cached or to be built, raises RealImageMissing.
    """
    if ref in _seen:
        return _seen[ref]
    began = time.monotonic()
    image, rebuilt = _local(client, ref), False
    if image is not None and STANDIN_LABEL in (image.labels or {}) and not real_images_required():
        if (image.labels or {}).get(INPUTS_LABEL) != inputs_digest(ref):
            announce(
                f"STAND-IN: the cached {ref} was built from other inputs (its recipe or lock changed); rebuilding it."
            )
            _build_standin(client, ref)
            with contextlib.suppress(docker.errors.APIError):  # the old one, now untagged, unless a container holds it
                client.images.remove(image.id)
            image, rebuilt = _local(client, ref), True
    if image is not None:
        origin = "stand-in (cached)" if STANDIN_LABEL in (image.labels or {}) else "present"
        if origin != "present" and rebuilt:
            origin = "stand-in (built)"
        if origin != "present" and real_images_required():
            raise RealImageMissing(
                f"{ref} on this Docker engine is a stand-in (label {STANDIN_LABEL}), but {REAL_IMAGES}=1 "
                f"asks for the real image. Remove the stand-in (`docker image rm {ref}`) so that the run "
                f"pulls the real one, or unset {REAL_IMAGES} to test on the stand-in."
            )
    else:
        try:
            client.images.pull(ref)
            origin = "pulled"
        except docker.errors.APIError as exc:
            if real_images_required():
                raise RealImageMissing(
                    f"{ref} is not present and cannot be pulled ({exc.explanation}), and {REAL_IMAGES}=1 "
                    f"forbids a stand-in. Make its registry reachable (and `docker login` if it needs one), "
                    f"or unset {REAL_IMAGES} to test on a stand-in."
                ) from exc
            announce(
                f"STAND-IN: {ref} is not present and cannot be pulled ({exc.explanation}).\n"
                f"Building a local stand-in under that name, labelled {STANDIN_LABEL}.\n"
                "Results on a stand-in prove the recipe against the documented contract,\n"
                "not against the real image."
            )
            _build_standin(client, ref)
            origin = "stand-in (built)"
    result = BaseImage(ref, origin, round(time.monotonic() - began, 1))
    _seen[ref] = result
    if result.is_standin:
        announce(f"STAND-IN in use: {ref} ({result.origin}, {result.seconds} s)")
        from . import report  # (report imports this module)

        report.deviation(
            f"base image {ref}",
            "a stand-in, whose base carries this machine's CA bundle and PIP_CERT, REQUESTS_CA_BUNDLE, "
            "SSL_CERT_FILE and NODE_EXTRA_CA_CERTS, so that pip and npm in builds trust this machine's proxy",
        )
    return result


def inputs_digest(ref: str) -> str | None:
    """A digest of the files and versions a stand-in of `ref` is built from (None: no stand-in for it)."""
    name, _, version = ref.rpartition(":")
    if name == "exasol/ai-lab":
        contract = AI_LAB_CONTRACT.get(version, {})
        files = [
            *sorted((paths.STANDINS / "ai-lab").iterdir()),
            versions.standin_lock_path(version),
        ]
        extra = [contract.get("python", "")]
    elif name == "quay.io/jupyterhub/jupyterhub":
        files, extra = [paths.STANDINS / "jupyterhub" / "Dockerfile"], [CONFIGURABLE_HTTP_PROXY]
    else:
        return None
    digest = hashlib.sha256("\0".join([version, *extra]).encode())
    for file in files:
        if file.is_file():
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _build_standin(client: docker.DockerClient, ref: str) -> None:
    name, _, version = ref.rpartition(":")
    if name == "exasol/ai-lab":
        _build_ai_lab(client, ref, version)
    elif name == "quay.io/jupyterhub/jupyterhub":
        _build_jupyterhub(client, ref, version)
    else:
        raise RuntimeError(
            f"{ref} is not present, cannot be pulled, and this project has no stand-in for it. "
            "Pull or build it yourself, then run again."
        )


def ensure_debian_base(client: docker.DockerClient) -> None:
    """Build the Debian base of every stand-in once, with debootstrap.

    A background check (the README on Debian) may ask for it while the first
    test builds the stand-ins: the lock makes the second caller wait for the one build.
    """
    with _debian_base_lock:
        if _local(client, BASE_TAG) is None:
            _build_debian_base(client)


def _build_debian_base(client: docker.DockerClient) -> None:
    if shutil.which("debootstrap") is None:
        raise RuntimeError(
            "Stand-in base images need debootstrap: `apt-get install debootstrap` "
            "(or run `bash .ci/setup-machine` as root)."
        )
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="ailab-guide-rootfs-") as tmp:
        root = pathlib.Path(tmp) / "root"
        announce(f"Building the stand-ins' Debian base with debootstrap from {mirror}")
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", str(root), mirror],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # This machine reaches package registries through a TLS-inspecting proxy;
        # containers built from the stand-ins must trust the same authorities.
        shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
        subprocess.run(["rm", "-rf", str(root / "var/cache/apt/archives"), str(root / "var/lib/apt/lists")], check=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        archive = pathlib.Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(archive), "."], check=True)
        repository, tag = BASE_TAG.split(":")
        client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=tag,
            changes=[
                f'LABEL {STANDIN_LABEL}="debootstrap Debian bookworm base of the stand-ins"',
                "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
                "ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
                "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
                'CMD ["/bin/bash"]',
            ],
        )


DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"


def debian_mirror() -> str:
    """The Debian mirror that this machine's apt already uses, else Debian's own (an Ubuntu machine has none)."""
    sources = [pathlib.Path("/etc/apt/sources.list"), *pathlib.Path("/etc/apt/sources.list.d").glob("*")]
    for source in sources:
        if not source.is_file():
            continue
        text = source.read_text()
        match = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+bookworm\b", text, re.M
        )
        if match:
            return match.group(1)
    return DEFAULT_DEBIAN_MIRROR


def _build(client: docker.DockerClient, context: pathlib.Path, ref: str, buildargs: dict[str, str]) -> None:
    digest = inputs_digest(ref)
    labels = {INPUTS_LABEL: digest} if digest else {}
    try:
        client.images.build(path=str(context), tag=ref, buildargs=buildargs, labels=labels, rm=True, forcerm=True)
    except docker.errors.BuildError as exc:
        log = "".join(chunk.get("stream", "") for chunk in exc.build_log)
        raise RuntimeError(f"Building the stand-in {ref} failed: {exc}\n{log[-4000:]}") from exc


def _build_ai_lab(client: docker.DockerClient, ref: str, version: str) -> None:
    contract = AI_LAB_CONTRACT.get(version)
    lock = versions.standin_lock_path(version)
    if contract is None or not lock.exists():
        raise RuntimeError(
            f"No stand-in contract for AI Lab {version}; add it to AI_LAB_CONTRACT in {__file__} "
            f"(known: {', '.join(AI_LAB_CONTRACT)}) and run `nox -s standin-lock -- {version}`."
        )
    ensure_debian_base(client)
    with tempfile.TemporaryDirectory(prefix="ailab-guide-ai-lab-") as tmp:
        context = pathlib.Path(tmp)
        for name in ("Dockerfile", "entrypoint.py", "jupyter_lab_config.py"):
            shutil.copy(paths.STANDINS / "ai-lab" / name, context / name)
        shutil.copy(lock, context / "ai-lab.lock")
        copy_python(contract["python"], context / "python")
        _build(
            client,
            context,
            ref,
            {"BASE": BASE_TAG, "AI_LAB_VERSION": version, "PYTHON_VERSION": contract["python"]},
        )


def find_python(version: str) -> pathlib.Path:
    """This machine's CPython `version` (the real image's), which Debian 12 does not package.

    Machines of this project's kind carry one built by pyenv on Debian 12; any
    `python<version>` that runs will do.
    """
    pyenv = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"
    candidates = [f"python{version}", *sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))]
    for candidate in candidates:
        found = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            return pathlib.Path(found.stdout.strip())
    raise RuntimeError(
        f"The AI Lab stand-in needs CPython {version}, the real image's, and none runs here "
        f"(tried {', '.join(candidates)}). Install it (for example `pyenv install {version}`) and run again."
    )


def copy_python(version: str, into: pathlib.Path) -> None:
    """Copy CPython `version` (find_python) for the stand-in's /usr/local; it runs on the stand-ins' Debian 12 base."""
    python = find_python(version)
    prefix = pathlib.Path(
        subprocess.run(
            [python, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    skip = shutil.ignore_patterns("__pycache__", "test", "tests", "idlelib", "tkinter", "site-packages", "*.a")
    for part in ("bin", "lib", "include"):
        shutil.copytree(prefix / part, into / part, ignore=skip, symlinks=True)


def with_jupyterhub(client: docker.DockerClient, ai_lab_version: str, jupyterhub_version: str) -> str:
    """Build the AI Lab image of `ai_lab_version` with jupyterhub `jupyterhub_version` already in it (upstream #416).

    Returns the AI Lab version under which it is tagged (`<version>-jupyterhub-<jupyterhub version>`),
    so an example's Dockerfile builds on it with that AI_LAB_VERSION. The caller removes it.
    """
    tagged = f"{ai_lab_version}-jupyterhub-{jupyterhub_version}"
    base = f"exasol/ai-lab:{ai_lab_version}"
    ensure(client, base)
    _build(
        client,
        paths.STANDINS / "ai-lab-with-jupyterhub",
        f"exasol/ai-lab:{tagged}",
        {"BASE": base, "JUPYTERHUB_VERSION": jupyterhub_version},
    )
    return tagged


def _build_jupyterhub(client: docker.DockerClient, ref: str, version: str) -> None:
    ensure_debian_base(client)
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("The JupyterHub stand-in needs Node.js >= 20 and npm on this machine.")
    with tempfile.TemporaryDirectory(prefix="ailab-guide-hub-") as tmp:
        context = pathlib.Path(tmp)
        shutil.copy(paths.STANDINS / "jupyterhub" / "Dockerfile", context / "Dockerfile")
        # Debian bookworm's Node.js is 18; configurable-http-proxy 5 needs 20,
        # so the stand-in carries this machine's Node.js (also Debian 12).
        shutil.copy(node, context / "node")
        subprocess.run(
            [npm, "install", "--silent", "--global", "--prefix", str(context / "chp"), CONFIGURABLE_HTTP_PROXY],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _build(client, context, ref, {"BASE": BASE_TAG, "JUPYTERHUB_VERSION": version})
