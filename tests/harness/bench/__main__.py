"""Run every benchmark, print the figures and write the results for the Benchmarks page."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Callable

import docker
import docker.errors

from .. import compose, engine, examples, minimal_example, standins
from .common import PINS, PREFIX, PROJECT, RESULTS, ROUNDS, SITE_REPEATS, SPAWNS, log
from .images import bare_image, image_overhead
from .site import site_build, suite_time
from .spawns import concurrency, spawn_latency
from .stack import bench_hub, ours

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


TARGETS = {
    "spawn_ai_lab_median_s": ("<", 10.0),
    "spawn_ratio": ("<=", 1.3),
    "image_overhead_mb": ("<=", 90.0),
    "recipe_broken_packages": ("==", 0),
    "site_warm_median_s": ("<", 3.0),
}


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
    results["test_suite"] = suite_time(skip=args.quick)
    ai_lab_base = next(ref for ref in examples.base_image_refs("minimal") if ref.startswith("exasol/ai-lab:"))
    results["image_overhead"], jupyterlab = image_overhead(client, ai_lab_base)
    results["bare_image"] = bare_image(client, jupyterlab)

    secret = minimal_example.trial_password(start_block)
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
