"""The AI Lab stand-in's package lock: the real image's requirements, resolved as PyPI stood on its release day.

exasol/ai-lab builds its jupyter environment with pip from two requirement
files (read from its sources at the release tag) on Python 3.10, on the day
of the release. `nox -s standin-lock` resolves the same list with uv for that
Python and that day and writes tests/standins/ai-lab/requirements-<version>.lock.
The stand-in installs exactly those pins (`pip install --no-deps`).

What cannot be had here is left out by name, in the lock's header: PyTorch
(the image takes its CPU build from PyTorch's own index, which these machines
do not reach; PyPI's build is the CUDA one, with gigabytes of NVIDIA
libraries the real image does not carry) and the packages that need it.

Run: python -m harness.standin_lock VERSION (from tests/, with uv on PATH).
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tempfile

from ailab_guide import versions

from . import standins

# The CUDA build's runtime, which PyPI's torch pulls in and the real image's CPU torch does not.
CUDA_ONLY = re.compile(r"^(nvidia-.*|triton|cuda-.*)$")
LEFT_OUT_ROOT = "torch"
PLATFORM = "x86_64-manylinux_2_28"


def lock_path(version: str):
    return versions.standin_lock_path(version)


def requirements(contract: dict) -> list[str]:
    return [
        f"jupyterlab{contract['jupyterlab']}",
        f"pexpect{contract['pexpect']}",
        f"exasol-notebook-connector[{','.join(contract['extras'])}]=={contract['connector']}",
    ]


def parse(compiled: str) -> dict[str, str]:
    """uv's output -> {name: version}."""
    return {name.lower(): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", compiled, re.M)}


def left_out(packages: dict[str, str], python: str) -> dict[str, str]:
    """Name -> why it is left out: torch, the CUDA runtime, and what then fails `pip check`.

    Which packages need torch is asked of pip itself: the rest is installed
    into a scratch environment and every package `pip check` reports as missing
    a requirement is taken out, until the check is clean (uv's annotations also
    count optional extras, which `pip check` rightly ignores).
    """
    why = {LEFT_OUT_ROOT: "PyTorch: the image takes its CPU build from PyTorch's index, which is not reachable here"}
    why |= {
        name: "CUDA runtime of PyPI's torch; the image's CPU torch has none"
        for name in packages
        if CUDA_ONLY.match(name)
    }
    with tempfile.TemporaryDirectory(prefix="ailab-guide-lock-") as tmp:
        venv = pathlib.Path(tmp) / "venv"
        subprocess.run(
            ["uv", "venv", "--quiet", "--seed", "--python", str(standins.find_python(python)), str(venv)], check=True
        )
        pins = "\n".join(f"{name}=={version}" for name, version in packages.items() if name not in why)
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", str(venv), "--no-deps", "-r", "-"],
            input=pins,
            text=True,
            check=True,
        )
        while True:
            check = subprocess.run(
                [venv / "bin/python", "-m", "pip", "check"], capture_output=True, text=True, check=False
            )
            missing = re.findall(r"^(\S+) \S+ requires (\S+), which is not installed\.$", check.stdout, re.M)
            if check.returncode == 0 or not missing:
                break
            for name, needs in missing:
                why[name.lower()] = f"requires {needs.lower()}"
            subprocess.run(
                ["uv", "pip", "uninstall", "--quiet", "--python", str(venv), *(n for n, _ in missing)], check=True
            )
        if check.returncode != 0:
            raise RuntimeError(f"The lock is inconsistent beyond what is left out:\n{check.stdout}")
    return why


def write(version: str) -> None:
    contract = standins.AI_LAB_CONTRACT[version]
    wanted = requirements(contract)
    command = [
        "uv", "pip", "compile", "-", "--python-version", contract["python"],
        "--python-platform", PLATFORM, "--exclude-newer", contract["resolved_as_of"], "--no-header", "--no-annotate",
    ]  # fmt: skip
    compiled = subprocess.run(command, input="\n".join(wanted), capture_output=True, text=True, check=True).stdout
    packages = parse(compiled)
    skipped = left_out(packages, contract["python"])
    header = [
        f"# exasol/ai-lab {version}'s jupyter environment, for the stand-in (tests/harness/standin_lock.py).",
        f"# Resolved by `nox -s standin-lock` with uv for Python {contract['python']} on {PLATFORM},",
        f"# from PyPI as it stood on {contract['resolved_as_of']} (the release day), for:",
        *(f"#   {line}" for line in wanted),
        "# The image ran pip twice (JupyterLab first, then the connector, both --upgrade); this is one pass.",
        f"# Installed: {len(packages) - len(skipped)} packages. Left out, by name ({len(skipped)}):",
        *(f"#   {name}=={packages[name]}: {reason}" for name, reason in sorted(skipped.items())),
    ]
    pins = [f"{name}=={pinned}" for name, pinned in sorted(packages.items()) if name not in skipped]
    lock_path(version).write_text("\n".join(header + pins) + "\n")
    print(f"wrote {lock_path(version)}: {len(pins)} pins, {len(skipped)} left out")


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else next(iter(standins.AI_LAB_CONTRACT)))
