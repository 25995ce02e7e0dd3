"""Names, limits and small helpers every part of the benchmark shares."""

from __future__ import annotations

import pathlib
import statistics
import subprocess
import time

import docker
import docker.errors
from ailab_guide import versions

from .. import engine, paths

RESULTS = paths.DOCS / "_static" / "bench" / "results.json"
PROJECT = "ailabguidebench"
PORT = 8100
URL = f"http://127.0.0.1:{PORT}"
NETWORK = "ai-lab-bench"
PREFIX = "ailab-bench"  # every container, volume and image tag the bench makes
PINS = versions.pins("minimal")
HUB_VERSION = PINS["JUPYTERHUB_VERSION"]
BENCH_HUB_TAG = f"{PREFIX}-hub:{HUB_VERSION}"
BENCH_AI_LAB_TAG = f"{PREFIX}-singleuser:{PINS['AI_LAB_VERSION']}-jupyterhub-{HUB_VERSION}"
BARE_TAG = f"{PREFIX}-bare:{HUB_VERSION}"
NAIVE_TAG = f"{PREFIX}-naive:{HUB_VERSION}"
PYTHON_IMAGE = "python:3.11-slim-bookworm"

SPAWNS = 6  # timed spawns per image, after a first one that creates the user's volume
ROUNDS = (10, 20, 40)  # users spawning at once, with the example's settings
# Tried on the largest round, for a machine with n cores; the production example's queue is among them.
START_SETTINGS = ("queue-{n}", "queue-{2n}", "spawn-limit-{2n}", "executor-4")
BURST_REPEATS = 3  # runs at the largest size of today's setting and each queue, which the verdict compares
START_SETTING_VARIABLE = "BENCH_START_SETTING"  # the hub's environment; see stack.py
WORKING_USERS = 20  # users each running a CPU-bound cell while the hub is asked for pages
WORKING_CELL_SECONDS = 30
PROBE_RATE = 5  # requests a second to the hub's login page and API
SITE_REPEATS = 3
MB = 1e6
MIB = 2**20

AI_LAB_USER = "bench-ailab"
BARE_USER = "bench-bare"  # the hook below gives users with this prefix the bare image
BARE_HOME = "/home/bench/work"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def spread(samples: list[float]) -> dict:
    """Median and spread of a list of seconds."""
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "stdev": round(statistics.stdev(samples), 3) if len(samples) > 1 else 0.0,
    }


def timed(command: list[str], cwd: pathlib.Path) -> float:
    began = time.monotonic()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - began
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds


def in_image(client: docker.DockerClient, image: str, shell: str) -> tuple[int, str]:
    """Run a shell line in a throwaway container of the image, past its entrypoint."""
    return engine.run_once(client, image, [shell], entrypoint=["sh", "-c"], network_disabled=True)
