"""Benchmarks of the guide: spawn latency, image overhead, many users at once, the site build.

Run with `nox -s bench` (or `python -m harness.bench` with tests/ and docs/_ext
on sys.path). It needs the Docker engine, takes about 15 minutes on 2 cores,
prints the figures as a table and writes docs/_static/bench/results.json,
which the Benchmarks page plots when the site is built.

It runs beside the test suite without touching anything the tests use: its own
compose project, port, network, user names, container, volume and image names.
It starts the example with the page's own `minimal-start` block, but does not
clean up with `minimal-cleanup`, which removes the images and volumes the tests
share; it removes only what it created, and checks that nothing of it is left.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors
from ailab_guide import versions

from . import compose, engine, examples, hub, minimal_example, paths, snippets, standins

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

BUDGET = 15 * 60  # seconds for the whole run on 2 cores
RESERVE = 90  # seconds kept for cleanup and writing the results
SPAWNS = 6  # timed spawns per image, after a first one that creates the user's volume
ROUNDS = (10, 20, 40)  # users spawning at once
SITE_REPEATS = 3
MB = 1e6
MIB = 2**20

AI_LAB_USER = "bench-ailab"
BARE_USER = "bench-bare"  # the hook below gives users with this prefix the bare image
BARE_HOME = "/home/bench/work"

# Appended to the copied jupyterhub_config.py: names of the bench's own, and a
# hook that gives the bare-image user the bare image, so both images are timed
# by the same hub in the same run, spawn after spawn.
CONFIG_ADDITION = f'''

# --- Added by the benchmark (tests/harness/bench.py) -------------------------
c.DockerSpawner.name_template = "{PREFIX}-{{username}}"
c.DockerSpawner.volumes = {{"{PREFIX}-{{username}}": "/home/jupyter/notebooks"}}


def bench_bare_image(spawner):
    """The comparison user gets the bare single-user image, with its volume at that image's home."""
    if spawner.user.name.startswith("{BARE_USER}"):
        spawner.image = "{BARE_TAG}"
        spawner.volumes = {{"{PREFIX}-{{username}}": "{BARE_HOME}"}}
        spawner.notebook_dir = "{BARE_HOME}"
        spawner.default_url = "/lab"


c.Spawner.pre_spawn_hook = bench_bare_image
'''

# The same jupyterhub-singleuser at the hub's version, with the AI Lab's
# JupyterLab version, in a plain Python: what a spawn costs without the AI Lab.
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

TARGETS = {
    "spawn_ai_lab_median_s": ("<", 10.0),
    "spawn_ratio": ("<=", 1.3),
    "image_overhead_mb": ("<=", 90.0),
    "recipe_broken_packages": ("==", 0),
    "site_warm_median_s": ("<", 3.0),
}


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


# --- The machine --------------------------------------------------------------


def machine(client: docker.DockerClient, bases: list[standins.BaseImage]) -> dict:
    info = client.info()
    others = [c.name for c in client.containers.list() if not c.name.startswith((PREFIX, PROJECT))]
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(info["MemTotal"] / 2**30, 1),
        "docker_server": client.version()["Version"],
        "cgroup_version": info.get("CgroupVersion", ""),
        "os": info.get("OperatingSystem", ""),
        "kernel": info.get("KernelVersion", ""),
        "python": platform.python_version(),
        "base_images": [{"ref": b.ref, "origin": b.origin, "stand_in": b.is_standin} for b in bases],
        "stand_ins": any(b.is_standin for b in bases),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "other_containers_at_start": len(others),
    }


# --- 4. The project's own loop: the site build ----------------------------------


def site_build(repeats: int) -> tuple[dict, str]:
    """Cold and warm sphinx-build of the site into temp dirs; also return the minimal-start block."""
    cold, warm, start_block = [], [], ""
    for run in range(repeats):
        with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-site-") as tmp:
            command = [sys.executable, "-m", "sphinx", "-c", ".", "-d", f"{tmp}/doctrees", "docs", f"{tmp}/html"]
            command += ["-b", "html", "-W", "--keep-going", "-n", "-q"]
            cold.append(timed(command, paths.ROOT))
            warm.append(timed(command, paths.ROOT))
            log(f"site build {run + 1}/{repeats}: cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s")
            if not start_block:
                # The block as this build parsed it, not from docs/_build, which the tests may be rewriting.
                found = [
                    b.text
                    for b in snippets.collect(pathlib.Path(tmp) / "doctrees")
                    if b.page == minimal_example.PAGE and b.name == "minimal-start"
                ]
                assert len(found) == 1, f"{minimal_example.PAGE} must have one block named minimal-start"
                start_block = found[0]
    result = {
        "command": "sphinx-build -c . -d <tmp>/doctrees docs <tmp>/html -b html -W --keep-going -n -q",
        "cold_seconds": [round(s, 3) for s in cold],
        "warm_seconds": [round(s, 3) for s in warm],
        "cold": spread(cold),
        "warm": spread(warm),
    }
    return result, start_block


def suite_time() -> dict:
    seconds = os.environ.get("BENCH_TEST_SUITE_SECONDS", "")
    if seconds:
        return {
            "seconds": float(seconds),
            "note": "from BENCH_TEST_SUITE_SECONDS (a `nox -s tests` run, images cached)",
        }
    return {"seconds": None, "note": "not measured: set BENCH_TEST_SUITE_SECONDS to a timed `nox -s tests` run"}


# --- 2. Image overhead ---------------------------------------------------------


def image_overhead(client: docker.DockerClient, base_ref: str) -> tuple[dict, str]:
    """MB the recipe adds to the AI Lab image, against a naive install and the wheel; also JupyterLab's version."""
    base = client.images.get(base_ref)
    recipe = examples.build(client, "minimal", "Dockerfile.ai-lab")
    code, check = in_image(client, recipe.id, '"$JUPYTER_VENV/bin/pip" check')
    _, sqlalchemy = in_image(client, recipe.id, '"$JUPYTER_VENV/bin/pip" show sqlalchemy | sed -n "s/^Version: //p"')
    _, jupyterlab = in_image(client, recipe.id, '"$JUPYTER_VENV/bin/pip" show jupyterlab | sed -n "s/^Version: //p"')
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
    return result, jupyterlab.strip()


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


# --- The bench's own copy of the minimal example -------------------------------


def adapt(folder: pathlib.Path) -> None:
    """Give the copy names of its own, so it never touches the tests' images, containers or volumes."""
    compose_file = folder / "docker-compose.yml"
    text = compose_file.read_text()
    for old, new in (("image: ai-lab-hub:", f"image: {PREFIX}-hub:"), ("ai-lab-singleuser:", f"{PREFIX}-singleuser:")):
        assert old in text, f"docker-compose.yml no longer has {old!r}; update {__file__}"
        text = text.replace(old, new)
    compose_file.write_text(text)
    config = folder / "jupyterhub_config.py"
    config.write_text(config.read_text() + CONFIG_ADDITION)


def ours(client: docker.DockerClient) -> dict[str, list[str]]:
    """Everything on the engine that the bench created."""
    project = {"label": f"com.docker.compose.project={PROJECT}"}
    containers = [c.name for c in client.containers.list(all=True, filters={"name": PREFIX})]
    containers += [c.name for c in client.containers.list(all=True, filters=project)]
    return {
        "containers": sorted({n for n in containers if n.startswith((PREFIX, PROJECT))}),
        "volumes": sorted(v.name for v in client.volumes.list() if v.name.startswith((PREFIX, PROJECT))),
        "networks": sorted(n.name for n in client.networks.list(names=[NETWORK]) if n.name == NETWORK),
    }


def clean_up(client: docker.DockerClient, folder: pathlib.Path, env: dict[str, str]) -> None:
    """Remove the bench's users' containers, then the compose project (no --rmi), then anything left."""
    compose.remove_leftovers(client, containers=[n for n in ours(client)["containers"] if n.startswith(PREFIX)])
    try:
        compose.run_block("docker compose down --volumes", folder, env, timeout=300)
    finally:
        left = ours(client)
        compose.remove_leftovers(client, **left)
        for tag in (BENCH_HUB_TAG, BENCH_AI_LAB_TAG):
            # By tag and without force: an image the tests also tag only loses the bench's name.
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag)
    still = {kind: names for kind, names in ours(client).items() if names}
    if still:
        raise RuntimeError(f"The bench could not remove: {still}")


@contextlib.contextmanager
def bench_hub(client: docker.DockerClient, scratch: pathlib.Path, start_block: str) -> Iterator[pathlib.Path]:
    """The minimal example, copied and adapted, started with the page's block; always cleaned up."""
    folder = scratch / "minimal"
    shutil.copytree(paths.MINIMAL, folder)
    adapt(folder)
    env = {"COMPOSE_PROJECT_NAME": PROJECT, "HUB_PORT": str(PORT), "AI_LAB_NETWORK": NETWORK}
    try:
        began = time.monotonic()
        compose.run_block(start_block, folder, env, timeout=1200)
        hub.wait_until_up(URL)
        log(f"bench hub up on {URL} in {time.monotonic() - began:.0f} s")
        yield folder
    finally:
        clean_up(client, folder, env)
        log("bench hub removed, with its containers, volumes and network")


def password(start_block: str) -> str:
    for line in start_block.splitlines():
        if line.startswith(minimal_example.PASSWORD_LINE_PREFIX):
            return line.removeprefix(minimal_example.PASSWORD_LINE_PREFIX).strip("'\"")
    raise AssertionError("The minimal-start block no longer sets TRIAL_PASSWORD.")


# --- 1. Spawn latency ------------------------------------------------------------


def log_in(user: hub.User, secret: str) -> None:
    """Log in, and make sure that did not start the server: the spawn is timed from its request."""
    user.login(secret)
    if user.model().get("servers"):
        raise hub.HubError(f"Logging in started {user.name}'s server; the spawn would not be timed from its request.")


def escaped(name: str) -> str:
    """A user name as DockerSpawner writes it into {username}: `bench-ailab` becomes `bench-2dailab`."""
    return "".join(ch if ch in string.ascii_lowercase + string.digits else f"-{ord(ch):02x}" for ch in name)


def spawn_latency(client: docker.DockerClient, secret: str, spawns: int) -> dict:
    """Start and stop one user per image, alternating; the first start of each creates its volume."""
    users = {"ai-lab": hub.User(URL, AI_LAB_USER), "bare": hub.User(URL, BARE_USER)}
    for user in users.values():
        log_in(user, secret)
    first, samples, images = {}, {label: [] for label in users}, {}
    for run in range(spawns + 1):
        order = list(users.items()) if run % 2 == 0 else list(reversed(users.items()))
        for label, user in order:
            seconds = user.start(timeout=300)
            if run == 0:
                images[label] = client.containers.get(f"{PREFIX}-{escaped(user.name)}").image.tags
                first[label] = round(seconds, 3)
            else:
                samples[label].append(round(seconds, 3))
            user.stop()
        log(f"spawn {run}/{spawns}: " + ", ".join(f"{k} {(samples[k] or [first[k]])[-1]:.2f} s" for k in users))
    return {
        "timed_spawns_per_image": spawns,
        "users": {label: user.name for label, user in users.items()},
        "images": images,
        "first_start_seconds": first,
        "samples": samples,
        "stats": {label: spread(values) for label, values in samples.items()},
    }


# --- 3. Many users at once ---------------------------------------------------------


def memory_mib(container) -> float:
    """Memory in use minus page cache, as `docker stats` shows it."""
    stats = container.stats(stream=False, one_shot=True)["memory_stats"]
    detail = stats.get("stats", {})
    cache = detail.get("inactive_file", detail.get("cache", 0))  # cgroup v2, v1
    return (stats.get("usage", 0) - cache) / MIB


def spawn_and_wait(user: hub.User, go: threading.Event, poll: float, timeout: float = 600) -> float:
    """Like hub.User.start, polling less often so that many users do not load the hub themselves."""
    go.wait()
    began = time.monotonic()
    response = user.api("POST", f"/users/{user.name}/server")
    if response.status_code not in (201, 202):
        raise hub.HubError(f"HTTP {response.status_code} {response.text[:300]}")
    while time.monotonic() - began < timeout:
        server = user.model().get("servers", {}).get("")
        if server and server.get("ready"):
            return time.monotonic() - began
        if server is None and time.monotonic() - began > 5:
            raise hub.HubError("the server stopped while starting")
        time.sleep(poll)
    raise hub.HubError(f"not ready within {timeout:.0f} s")


def concurrency_round(client: docker.DockerClient, secret: str, count: int, first: int) -> dict:
    """`count` new users ask for their servers at the same moment."""
    users = [hub.User(URL, f"bench-{first + i:02d}") for i in range(count)]
    for user in users:
        log_in(user, secret)
    poll = max(1.0, count / 10)  # about 10 requests a second to the hub, whatever the count
    go = threading.Event()
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(spawn_and_wait, user, go, poll) for user in users]
        began = time.monotonic()
        go.set()
        seconds, errors = [], []
        for user, future in zip(users, futures, strict=True):
            try:
                seconds.append(round(future.result(), 3))
            except Exception as exc:  # a failed spawn is a result here
                errors.append(f"{user.name}: {exc}")
        all_done = time.monotonic() - began
    result = {
        "users": count,
        "poll_seconds": poll,
        "failures": len(errors),
        "errors": errors[:5],
        "all_ready_seconds": round(all_done, 3) if not errors else None,
        "per_user_seconds": sorted(seconds),
    }
    time.sleep(5)  # let the servers go idle
    running = [c for c in client.containers.list(filters={"name": f"{PREFIX}-bench-"}) if c.name.startswith(PREFIX)]
    memory = [round(memory_mib(c), 1) for c in running]
    result["idle_memory_mib"] = {"samples": memory, "median": round(statistics.median(memory), 1) if memory else None}
    hub_container = client.containers.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
    result["hub_memory_mib"] = round(memory_mib(hub_container[0]), 1) if hub_container else None
    if errors:
        result["hub_log_tail"] = hub_container[0].logs(tail=15).decode(errors="replace") if hub_container else ""
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        stops = list(pool.map(_stop, users))
    result["stop_seconds"] = round(time.monotonic() - began, 3)
    result["stop_failures"] = [s for s in stops if s]
    left = [c.name for c in client.containers.list(all=True, filters={"name": f"{PREFIX}-bench-"})]
    compose.remove_leftovers(client, containers=left)  # a failed spawn may leave one; it must not count next round
    ready = f"all ready in {all_done:.1f} s" if not errors else f"{len(errors)} failed"
    log(f"{count} users at once: {ready}, idle AI Lab {result['idle_memory_mib']['median']} MiB (median)")
    return result


def _stop(user: hub.User) -> str:
    try:
        user.stop(timeout=300)
        return ""
    except Exception as exc:  # reported; the cleanup removes the container
        return f"{user.name}: {exc}"


def concurrency(client: docker.DockerClient, secret: str, started: float, counts: tuple[int, ...]) -> dict:
    rounds, skipped, first = [], [], 0
    for count in counts:
        if rounds:
            # Spawning and stopping grow about linearly with the count on a fixed number of cores.
            last = rounds[-1]
            ready = last["all_ready_seconds"] or max(last["per_user_seconds"], default=300)
            estimate = ready + last["stop_seconds"] + 15
            estimate *= count / last["users"]
            left = BUDGET - RESERVE - (time.monotonic() - started)
            if estimate > left:
                reason = f"estimated {estimate:.0f} s, {max(left, 0):.0f} s left of the {BUDGET // 60} min budget"
                skipped.append({"users": count, "reason": reason})
                log(f"skipping {count} users: {reason}")
                continue
        rounds.append(concurrency_round(client, secret, count, first))
        first += count
    return {"image": "ai-lab", "rounds": rounds, "skipped": skipped}


# --- Summary, table, JSON ------------------------------------------------------------


def summary(results: dict) -> list[dict]:
    spawn = results["spawn_latency"]["stats"]
    images = results["image_overhead"]
    values = {
        "spawn_ai_lab_median_s": spawn["ai-lab"]["median"],
        "spawn_ratio": round(spawn["ai-lab"]["median"] / spawn["bare"]["median"], 2),
        "image_overhead_mb": images["recipe"]["mb"],
        "recipe_broken_packages": 0 if images["recipe"]["pip_check_ok"] else 1,
        "site_warm_median_s": results["site_build"]["warm"]["median"],
    }
    labels = {
        "spawn_ai_lab_median_s": ("Spawn, AI Lab image, median", "s"),
        "spawn_ratio": ("Spawn, AI Lab / bare image (medians)", "x"),
        "image_overhead_mb": ("MB the recipe adds to the AI Lab image", "MB"),
        "recipe_broken_packages": ("Broken packages after the recipe (pip check)", ""),
        "site_warm_median_s": ("Site build, warm, median", "s"),
    }
    compare: dict[str, Callable[[float, float], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        "==": lambda a, b: a == b,
    }
    rows = []
    for key, value in values.items():
        operator, limit = TARGETS[key]
        label, unit = labels[key]
        rows.append(
            {
                "key": key,
                "figure": label,
                "value": value,
                "unit": unit,
                "target": f"{operator} {limit:g}",
                "met": compare[operator](value, limit),
            }
        )
    return rows


def table(results: dict) -> str:
    lines = [f"{'Figure':<48} {'Value':>10}  {'Target':<8} Result", "-" * 78]
    for row in results["summary"]:
        value = f"{row['value']:g} {row['unit']}".strip()
        lines.append(f"{row['figure']:<48} {value:>10}  {row['target']:<8} {'met' if row['met'] else 'MISSED'}")
    spawn = results["spawn_latency"]["stats"]
    lines.append("")
    for label, stats in spawn.items():
        lines.append(
            f"Spawn {label:<7} median {stats['median']:.2f} s  min {stats['min']:.2f}  max {stats['max']:.2f}  "
            f"stdev {stats['stdev']:.2f}  (n={stats['n']}; first start "
            f"{results['spawn_latency']['first_start_seconds'][label]:.2f} s)"
        )
    images = results["image_overhead"]
    lines.append(
        f"Image: recipe +{images['recipe']['mb']} MB (pip check ok: {images['recipe']['pip_check_ok']}), "
        f"naive +{images['naive']['mb']} MB (pip check ok: {images['naive']['pip_check_ok']}), "
        f"wheel floor {images['wheel_floor']['mb']} MB"
    )
    for run in results["concurrency"]["rounds"]:
        ready = f"{run['all_ready_seconds']:.1f} s" if run["all_ready_seconds"] is not None else "-"
        lines.append(
            f"{run['users']:>3} users at once: all ready {ready}, failures {run['failures']}, "
            f"idle AI Lab {run['idle_memory_mib']['median']} MiB, hub {run['hub_memory_mib']} MiB"
        )
    for skip in results["concurrency"]["skipped"]:
        lines.append(f"{skip['users']:>3} users at once: skipped ({skip['reason']})")
    site = results["site_build"]
    lines.append(f"Site build: cold {site['cold']['median']:.1f} s, warm {site['warm']['median']:.1f} s (medians)")
    lines.append(f"Bench took {results['bench_seconds'] / 60:.1f} min")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few samples, for trying the bench out (minutes)")
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args(argv)
    spawns, rounds, repeats = (2, (3,), 1) if args.quick else (SPAWNS, ROUNDS, SITE_REPEATS)
    started = time.monotonic()
    client = engine.connect()
    bases = [standins.ensure(client, ref) for ref in examples.base_image_refs("minimal")]
    results: dict = {"schema": 1, "quick": args.quick, "machine": machine(client, bases), "pins": PINS}
    leftovers = {kind: names for kind, names in ours(client).items() if names}
    if leftovers:
        log(f"removing what an earlier bench left: {leftovers}")
        compose.remove_leftovers(client, **leftovers)

    results["site_build"], start_block = site_build(repeats)
    results["test_suite"] = suite_time()
    ai_lab_base = next(ref for ref in examples.base_image_refs("minimal") if ref.startswith("exasol/ai-lab:"))
    results["image_overhead"], jupyterlab = image_overhead(client, ai_lab_base)
    results["bare_image"] = bare_image(client, jupyterlab)

    secret = password(start_block)
    with (
        tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as scratch,
        bench_hub(client, pathlib.Path(scratch), start_block),
    ):
        results["spawn_latency"] = spawn_latency(client, secret, spawns)
        results["concurrency"] = concurrency(client, secret, started, rounds)

    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    results["summary"] = summary(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
