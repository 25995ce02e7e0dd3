"""Figures the pages quote, each computed from the one file that holds it.

A measured figure (megabytes, seconds, minutes) is typed on no page: the pages
write ``{{ bench_recipe_mb }}`` and the like, and this module fills them in
from the bench results (docs/_static/bench/results.json, written by
`nox -s bench`) and from the minimal example's jupyterhub_config.py. So when a
new bench run or a changed example moves a figure, every page that quotes it
moves with it.

It also sets the Sphinx tag ``bench_stand_ins`` when the bench ran on the
stand-in base images, so a page can say so with ``{only}`` right where it
quotes a figure.
"""

from __future__ import annotations

import functools
import json
import pathlib
import re

import yaml

from . import hubconfig, versions

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "_static" / "bench" / "results.json"


def _number(value: float, digits: int = 1) -> str:
    """A figure as pages print it: rounded, without a trailing .0."""
    return f"{round(value, digits):g}"


def _target(summary: list[dict], key: str) -> str:
    """The number in a summary target such as '<= 90'."""
    row = next(row for row in summary if row["key"] == key)
    match = re.search(r"[\d.]+", row["target"])
    if not match:
        raise ValueError(f"{RESULTS}: target of {key!r} has no number: {row['target']!r}")
    return match.group(0)


def spawn_verdict(stats: dict) -> str:
    """Compare the AI Lab's and the bare image's median start, in words a reader can check."""
    ai, bare = stats["ai-lab"], stats["bare"]
    difference = ai["median"] - bare["median"]
    if abs(difference) <= max(ai["stdev"], bare["stdev"]):
        return "a difference smaller than the spread of either image's starts"
    return f"{abs(difference):.1f} s {'slower' if difference > 0 else 'faster'} than the bare image"


def bench(results: dict) -> dict[str, str]:
    """Substitutions from the bench results, all named bench_*."""
    images, spawn = results["image_overhead"], results["spawn_latency"]
    rounds = results["concurrency"]["rounds"]
    largest = max(rounds, key=lambda r: r["users"])
    stats = spawn["stats"]
    return {
        "bench_date": results["machine"]["date"][:10],
        "bench_nproc": str(results["machine"]["nproc"]),
        "bench_minutes": _number(results["bench_seconds"] / 60),
        "bench_recipe_mb": _number(images["recipe"]["mb"]),
        "bench_naive_mb": _number(images["naive"]["mb"]),
        "bench_wheel_floor_mb": _number(images["wheel_floor"]["mb"]),
        "bench_overhead_target_mb": _target(results["summary"], "image_overhead_mb"),
        "bench_spawn_ai_lab_s": _number(stats["ai-lab"]["median"]),
        "bench_spawn_bare_s": _number(stats["bare"]["median"]),
        "bench_spawn_ratio": f"{stats['ai-lab']['median'] / stats['bare']['median']:.2f}",
        "bench_spawn_verdict": spawn_verdict(stats),
        "bench_idle_memory_mib": _number(largest["idle_memory_mib"]["median"], 0),
        "bench_largest_round_users": str(largest["users"]),
    }


def burst(results: dict) -> dict[str, str]:
    """Figures about a class logging in at once and many users working: bench_burst_*, bench_working_*."""
    if "start_settings" not in results or "working" not in results:
        return {}  # results from before these parts existed: the bench's own build needs no figures
    settings = results["start_settings"]
    today, adopted = settings["today"], settings["rounds"][settings["adopted"]]
    per_start = results["concurrency"]["cpu_seconds_per_start"]
    work = results["working"]
    found = {
        "bench_burst_users": str(today["users"]),
        "bench_timeline_starts": str(len(results["spawn_timeline"]["images"]["ai-lab"]["starts"])),
        "bench_timeline_ready_s": _number(
            results["spawn_timeline"]["images"]["ai-lab"]["median_start"]["seconds_from_request"]["hub_ready"], 0
        ),
        "bench_burst_setting": settings["adopted"],
        "bench_burst_cpu_per_start_s": _number(per_start),
        "bench_burst_floor_s": _number(today["cpu_floor_seconds"], 0),
        "bench_working_users": str(work["users"]),
        "bench_working_cell_s": _number(work["cell_seconds"], 0),
        "bench_working_rate": _number(work["rate_per_second"], 0),
        "bench_working_idle_p95_s": _number(work["idle"]["p95"], 2),
        "bench_working_p50_s": _number(work["loaded"]["median"], 2),
        "bench_working_p95_s": _number(work["loaded"]["p95"], 2),
        "bench_working_user_mib": _number(work["memory_per_user_mib"]["median"], 0),
        "bench_working_hub_mib": _number(work["hub_memory_mib"], 0),
    }
    for name, round_ in (("today", today), ("queue", adopted)):
        for key in ("first", "median", "last"):
            found[f"bench_burst_{name}_{key}_s"] = _number(round_["distribution"][key], 0)
        found[f"bench_burst_{name}_last_to_floor"] = f"{round_['last_to_floor']:.2f}"
        found[f"bench_burst_{name}_failures"] = str(round_["failures"])
    limit = settings["rounds"].get("spawn-limit-4")
    if limit:
        found["bench_burst_limit_last_s"] = _number(limit["distribution"]["last"], 0)
        found["bench_burst_limit_retried"] = str(limit["retried_users"])
    for cores in (4, 8, 16):  # the CPU floor of the same class on larger hosts
        found[f"bench_burst_floor_{cores}_cores_s"] = _number(today["users"] * per_start / cores, 0)
    return found


@functools.cache
def results() -> dict:
    """The bench results the site was built with."""
    return json.loads(RESULTS.read_text())


def config(example: str = "minimal") -> dict[str, str]:
    """Timeouts the example sets and JupyterHub's defaults for them, named <example>_* and default_*."""
    path = versions.EXAMPLES / example / "jupyterhub_config.py"
    loaded = hubconfig.load(path, hubconfig.compose_environment(example))
    result = {}
    for name in ("start_timeout", "http_timeout", "poll_interval"):
        for section in ("DockerSpawner", "SwarmSpawner", "Spawner"):
            if name in loaded.get(section, {}):
                result[f"{example}_{name}"] = str(loaded[section][name])
        result[f"default_{name}"] = hubconfig.describe("Spawner", name).default
    return result


def hub_weight() -> dict[str, str]:
    """The hub's CPU weight, hub_cpu_shares, which the minimal and production compose files must agree on."""
    found = {}
    for example in ("minimal", "production"):
        text = (versions.EXAMPLES / example / "docker-compose.yml").read_text()
        found[example] = yaml.safe_load(text)["services"]["hub"].get("cpu_shares")
    if len(set(found.values())) != 1 or None in found.values():
        raise ValueError(f"the hub's cpu_shares differ between the examples' docker-compose.yml: {found}")
    return {"hub_cpu_shares": str(found["minimal"])}


def substitutions() -> dict[str, str]:
    """Every figure substitution for the pages (see the module docstring)."""
    return {
        **bench(results()),
        **burst(results()),
        **config("minimal"),
        **config("swarm"),
        **config("production"),
        **hub_weight(),
    }


def stand_ins() -> bool:
    """Whether the bench ran on the stand-in base images (no PyTorch, fewer packages)."""
    return bool(results()["machine"]["stand_ins"])
