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

import dataclasses
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

from . import paths

STANDIN_LABEL = "org.ailab-guide.stand-in"
BASE_TAG = "ailab-guide/debian-base:bookworm"
_debian_base_lock = threading.Lock()  # see ensure_debian_base
BASE_PACKAGES = "ca-certificates,python3,python3-venv,sudo,procps"
HOST_CA_BUNDLE = pathlib.Path("/etc/ssl/certs/ca-certificates.crt")
CONFIGURABLE_HTTP_PROXY = "configurable-http-proxy@5.3.0"
REAL_IMAGES = "AILAB_GUIDE_REAL_IMAGES"

# What each AI Lab release installs into its jupyter venv (read from the
# exasol/ai-lab sources of that tag). A stand-in for another release needs a row.
AI_LAB_CONTRACT = {
    "6.0.0": {"connector": "3.0.0", "jupyterlab": ">=4.4.8,<5", "pexpect": ">=4.8,<5"},
}


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
    image = _local(client, ref)
    if image is not None:
        origin = "stand-in (cached)" if STANDIN_LABEL in (image.labels or {}) else "present"
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
    return result


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
    try:
        client.images.build(path=str(context), tag=ref, buildargs=buildargs, rm=True, forcerm=True)
    except docker.errors.BuildError as exc:
        log = "".join(chunk.get("stream", "") for chunk in exc.build_log)
        raise RuntimeError(f"Building the stand-in {ref} failed: {exc}\n{log[-4000:]}") from exc


def _build_ai_lab(client: docker.DockerClient, ref: str, version: str) -> None:
    contract = AI_LAB_CONTRACT.get(version)
    if contract is None:
        raise RuntimeError(
            f"No stand-in contract for AI Lab {version}; add it to AI_LAB_CONTRACT in {__file__} "
            f"(known: {', '.join(AI_LAB_CONTRACT)})."
        )
    ensure_debian_base(client)
    _build(
        client,
        paths.STANDINS / "ai-lab",
        ref,
        {
            "BASE": BASE_TAG,
            "AI_LAB_VERSION": version,
            "NOTEBOOK_CONNECTOR_VERSION": contract["connector"],
            "JUPYTERLAB_SPEC": contract["jupyterlab"],
            "PEXPECT_SPEC": contract["pexpect"],
        },
    )


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
