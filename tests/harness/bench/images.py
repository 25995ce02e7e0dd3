"""What the image recipe costs: MB added, against a naive install and the wheel itself."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
import time
import zipfile

import docker
import docker.errors

from .. import compose, examples, standins
from .common import BARE_HOME, BARE_TAG, HUB_VERSION, MB, NAIVE_TAG, PREFIX, PYTHON_IMAGE, in_image, log

BARE_DOCKERFILE = f"""\
ARG BASE
FROM ${{BASE}}
ARG JUPYTERHUB_VERSION
ARG JUPYTERLAB_VERSION
RUN useradd --create-home --shell /bin/bash bench \\
 && python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --quiet \\
      "jupyterhub==${{JUPYTERHUB_VERSION}}" "jupyterlab==${{JUPYTERLAB_VERSION}}" \\
 && install -d -o bench -g bench {BARE_HOME}
ENV PATH=/opt/venv/bin:$PATH
USER bench
WORKDIR {BARE_HOME}
CMD ["jupyterhub-singleuser"]
"""

# What the recipe avoids: installing JupyterHub into the AI Lab's venv without constraints.
NAIVE_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG JUPYTERHUB_VERSION
USER root
RUN "${JUPYTER_VENV}/bin/pip" install --no-cache-dir --quiet "jupyterhub==${JUPYTERHUB_VERSION}"
"""


# --- 2. Image overhead ---------------------------------------------------------


def image_overhead(client: docker.DockerClient, base_ref: str) -> tuple[dict, str]:
    """MB the recipe adds to the AI Lab image, against a naive install and the wheel; also JupyterLab's version."""
    base = client.images.get(base_ref)
    recipe = examples.build(client, "minimal", "Dockerfile.ai-lab")
    code, check = in_image(client, recipe.id, '"$JUPYTER_VENV/bin/pip" check')
    _, sqlalchemy = in_image(client, recipe.id, '"$JUPYTER_VENV/bin/pip" show sqlalchemy | sed -n "s/^Version: //p"')
    jupyterlab = pip_version(client, recipe.id, "jupyterlab")
    result = {
        "base": {"ref": base_ref, "mb": round(base.attrs["Size"] / MB, 1)},
        "recipe": {
            "mb": round((recipe.attrs["Size"] - base.attrs["Size"]) / MB, 1),
            "pip_check_ok": code == 0,
            "pip_check_first_line": check.strip().splitlines()[0] if check.strip() else "",
            "sqlalchemy": sqlalchemy.strip(),
        },
    }
    log(f"recipe adds {result['recipe']['mb']} MB; pip check: {result['recipe']['pip_check_first_line']}")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-naive-") as tmp:
        pathlib.Path(tmp, "Dockerfile").write_text(NAIVE_DOCKERFILE)
        try:
            naive, _ = client.images.build(
                path=tmp,
                tag=NAIVE_TAG,
                buildargs={"BASE": base_ref, "JUPYTERHUB_VERSION": HUB_VERSION},
                rm=True,
                forcerm=True,
            )
            code, check = in_image(client, naive.id, '"$JUPYTER_VENV/bin/pip" check')
            _, naive_sqlalchemy = in_image(
                client, naive.id, '"$JUPYTER_VENV/bin/pip" show sqlalchemy | sed -n "s/^Version: //p"'
            )
            result["naive"] = {
                "mb": round((naive.attrs["Size"] - base.attrs["Size"]) / MB, 1),
                "pip_check_ok": code == 0,
                "pip_check_first_line": check.strip().splitlines()[0] if check.strip() else "",
                "sqlalchemy": naive_sqlalchemy.strip(),
                "build_seconds": round(time.monotonic() - began, 1),
            }
        finally:
            compose.remove_leftovers(client, images=[NAIVE_TAG])
    log(f"naive install adds {result['naive']['mb']} MB; pip check: {result['naive']['pip_check_first_line']}")
    result["wheel_floor"] = wheel_floor()
    log(f"jupyterhub wheel unpacked: {result['wheel_floor']['mb']} MB")
    return result, jupyterlab


def pip_version(client: docker.DockerClient, image: str, package: str) -> str:
    """The version of a package in the AI Lab's environment of an image."""
    _, version = in_image(client, image, f'"$JUPYTER_VENV/bin/pip" show {package} | sed -n "s/^Version: //p"')
    return version.strip()


def recipe_jupyterlab(client: docker.DockerClient) -> str:
    """JupyterLab's version in the recipe's image, for the bare image, when the image overhead is not measured."""
    return pip_version(client, examples.build(client, "minimal", "Dockerfile.ai-lab").id, "jupyterlab")


def wheel_floor() -> dict:
    """The unpacked size of the jupyterhub wheel: no install can add less."""
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-wheel-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"jupyterhub=={HUB_VERSION}", "-d", tmp],
            check=True,
            capture_output=True,
        )
        wheel = next(pathlib.Path(tmp).glob("jupyterhub-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            files = [i for i in archive.infolist() if not i.is_dir()]
        return {
            "wheel": wheel.name,
            "wheel_mb": round(wheel.stat().st_size / MB, 1),
            "mb": round(sum(i.file_size for i in files) / MB, 1),
            "files": len(files),
        }


def bare_image(client: docker.DockerClient, jupyterlab: str) -> dict:
    """Build the bare single-user image: Python image where one can be had, else the stand-ins' Debian."""
    try:
        client.images.get(PYTHON_IMAGE)
        base = PYTHON_IMAGE
    except docker.errors.ImageNotFound:
        try:
            client.images.pull(PYTHON_IMAGE)
            base = PYTHON_IMAGE
        except docker.errors.APIError:
            standins.ensure_debian_base(client)
            base = standins.BASE_TAG
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-bare-") as tmp:
        pathlib.Path(tmp, "Dockerfile").write_text(BARE_DOCKERFILE)
        image, _ = client.images.build(
            path=tmp,
            tag=BARE_TAG,
            buildargs={"BASE": base, "JUPYTERHUB_VERSION": HUB_VERSION, "JUPYTERLAB_VERSION": jupyterlab},
            rm=True,
            forcerm=True,
        )
    log(f"bare image {BARE_TAG} from {base} in {time.monotonic() - began:.0f} s")
    return {"tag": BARE_TAG, "base": base, "jupyterlab": jupyterlab, "mb": round(image.attrs["Size"] / MB, 1)}
