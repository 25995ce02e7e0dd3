"""Run every benchmark, print the figures and write the results for the Benchmarks page."""

from __future__ import annotations

import argparse
import datetime
import json
import operator
import os
import pathlib
import platform
import sys
import tempfile
import time

import docker
import docker.errors
from ailab_guide import hubconfig

from .. import compose, engine, examples, minimal_example, standins
from ..paths import EXAMPLES
from . import burst
from .common import (
    BARE_TAG,
    BURST_REPEATS,
    PINS,
    PREFIX,
    PROBE_RATE,
    PROJECT,
    RESULTS,
    ROUNDS,
    SITE_REPEATS,
    SPAWNS,
    START_SETTINGS,
    WORKING_CELL_SECONDS,
    WORKING_USERS,
    log,
)
from .images import bare_image, image_overhead, recipe_jupyterlab
from .site import site_build, start_block_alone, suite_time
from .spawns import spawn_latency
from .stack import BenchHub, bench_hub, ours
from .timeline import spawn_timeline
from .working import working

# Parts of the bench, and the keys of results.json each one writes. `--only`
# runs some of them and keeps the others' results from the last run.
SECTIONS = {
    "site": ("site_build", "test_suite"),
    "images": ("image_overhead", "bare_image"),
    "spawns": ("spawn_latency",),
    "timeline": ("spawn_timeline",),
    "burst": ("concurrency", "start_settings"),
    "working": ("working",),
}
NEEDS_HUB = {"spawns", "timeline", "burst", "working"}

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
    """The targets' rows for the parts measured so far (a full run saves after each part, the first on its own)."""
    values = {}
    if "spawn_latency" in results:
        spawn = results["spawn_latency"]["stats"]
        values["spawn_ai_lab_median_s"] = spawn["ai-lab"]["median"]
        values["spawn_ratio"] = round(spawn["ai-lab"]["median"] / spawn["bare"]["median"], 2)
    if "image_overhead" in results:
        recipe = results["image_overhead"]["recipe"]
        values["image_overhead_mb"] = recipe["mb"]
        values["recipe_broken_packages"] = 0 if recipe["pip_check_ok"] else 1
    if "site_build" in results:
        values["site_warm_median_s"] = results["site_build"]["warm"]["median"]
    labels = {
        "spawn_ai_lab_median_s": ("Spawn, AI Lab image, median", "s"),
        "spawn_ratio": ("Spawn, AI Lab / bare image (medians)", "x"),
        "image_overhead_mb": ("MB the recipe adds to the AI Lab image", "MB"),
        "recipe_broken_packages": ("Broken packages after the recipe (pip check)", ""),
        "site_warm_median_s": ("Site build, warm, median", "s"),
    }
    rows = [target_row(key, labels[key][0], value, TARGETS[key], labels[key][1]) for key, value in values.items()]
    rows += burst_rows(results)
    return rows


def burst_rows(results: dict) -> list[dict]:
    """Issue 14's targets for the largest round, with the setting the production example adopts; the hub under load."""
    rows = []
    settings = results.get("start_settings")
    if settings and settings.get("adopted"):
        adopted, today = settings["rounds"][settings["adopted"]], settings["today"]
        median = burst.median_over_repeats
        last_to_today = median(adopted, "last") / median(today, "last")
        runs = adopted.get("repeats", {}).get("runs", 1)
        where = f"({settings['adopted']}, {adopted['users']} users, median of {runs} run{'s' * (runs > 1)})"
        rows += [
            (
                "burst_median_to_last",
                f"Class at once: median / last wait {where}",
                median(adopted, "median_to_last"),
                ("<=", burst.MEDIAN_TO_LAST),
                "x",
            ),
            (
                "burst_last_to_floor",
                f"Class at once: last wait / CPU floor {where}",
                median(adopted, "last_to_floor"),
                ("<=", burst.LAST_TO_FLOOR),
                "x",
            ),
            ("burst_last_to_today", f"Class at once: last wait / all at once {where}", last_to_today, ("<=", 1), "x"),
            (
                "burst_failures",
                f"Class at once: failed starts {where}",
                adopted.get("repeats", {}).get("failures", adopted["failures"]),
                ("==", 0),
                "",
            ),
        ]
    work = results.get("working")
    if work:
        rows.append(
            (
                "working_hub_p95",
                f"Hub answers, 95th pct., {work['users']} users computing",
                work["loaded"]["p95"],
                ("<", 1),
                "s",
            )
        )
    return [target_row(*row) for row in rows]


COMPARE = {"<": operator.lt, "<=": operator.le, "==": operator.eq}


def target_row(key: str, figure: str, value: float, target: tuple[str, float], unit: str) -> dict:
    """One row of the summary: a figure, its target (comparison, limit), and whether the figure meets it."""
    compare, limit = target
    met = COMPARE[compare](value, limit)
    return {"key": key, "figure": figure, "value": value, "unit": unit, "target": f"{compare} {limit:g}", "met": met}


def table(results: dict) -> str:
    width = max((len(row["figure"]) for row in results["summary"]), default=len("Figure"))
    lines = [f"{'Figure':<{width}} {'Value':>10}  {'Target':<8} Result", "-" * (width + 30)]
    for row in results["summary"]:
        value = f"{row['value']:g} {row['unit']}".strip()
        lines.append(f"{row['figure']:<{width}} {value:>10}  {row['target']:<8} {'met' if row['met'] else 'MISSED'}")
    spawn = results.get("spawn_latency", {}).get("stats", {})  # a part run alone into a new file has only its own
    lines.append("")
    for label, stats in spawn.items():
        lines.append(
            f"Spawn {label:<7} median {stats['median']:.2f} s  min {stats['min']:.2f}  max {stats['max']:.2f}  "
            f"stdev {stats['stdev']:.2f}  (n={stats['n']}; first start "
            f"{results['spawn_latency']['first_start_seconds'][label]:.2f} s)"
        )
    images = results.get("image_overhead")
    lines += (
        []
        if not images
        else [
            f"Image: recipe +{images['recipe']['mb']} MB (pip check ok: {images['recipe']['pip_check_ok']}), "
            f"naive +{images['naive']['mb']} MB (pip check ok: {images['naive']['pip_check_ok']}), "
            f"wheel floor {images['wheel_floor']['mb']} MB"
        ]
    )
    rounds = [("today", r) for r in results.get("concurrency", {}).get("rounds", [])]
    rounds += list(results.get("start_settings", {}).get("rounds", {}).items())
    for setting, run in rounds:
        spread = run.get("distribution", {})
        lines.append(
            f"{run['users']:>3} users at once ({setting}): first {spread.get('first')} s, "
            f"median {spread.get('median')} s, p90 {spread.get('p90')} s, last {spread.get('last')} s, "
            f"CPU floor {run.get('cpu_floor_seconds')} s, "
            f"failures {run['failures']}, idle AI Lab {run['idle_memory_mib']['median']} MiB"
        )
    if results.get("working"):
        work = results["working"]
        lines.append(
            f"{work['users']} users computing: hub p50 {work['loaded']['median']} s, p95 {work['loaded']['p95']} s; "
            f"idle p50 {work['idle']['median']} s, p95 {work['idle']['p95']} s"
        )
    for setting, run in results.get("start_settings", {}).get("rounds", {}).items():
        repeats = run.get("repeats", {})
        if repeats.get("runs", 1) > 1:
            last, ratio = repeats["last"], repeats["last_to_floor"]
            lines.append(
                f"{setting} over {repeats['runs']} runs: last user median {last['median']:.1f} s "
                f"(range {last['min']:.1f} to {last['max']:.1f}), last / floor median {ratio['median']:.4f} "
                f"(range {ratio['min']:.4f} to {ratio['max']:.4f}); verdict {run['verdict']}"
            )
    site = results.get("site_build")
    if site:
        lines.append(f"Site build: cold {site['cold']['median']:.1f} s, warm {site['warm']['median']:.1f} s (medians)")
    if "bench_seconds" in results:
        lines.append(f"Bench took {results['bench_seconds'] / 60:.1f} min")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few samples, for trying the bench out (minutes)")
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument(
        "--only",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        default=list(SECTIONS),
        help=f"comma-separated parts to run ({', '.join(SECTIONS)}); the others' results are kept. "
        "burst also runs timeline (its CPU floor comes from the same run)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    only = set(args.only) | ({"timeline"} if "burst" in args.only else set())
    started = time.monotonic()
    client = engine.connect()
    bases = [standins.ensure(client, ref) for ref in examples.base_image_refs("minimal")]
    everything = only == set(SECTIONS)
    results: dict = {} if everything or not args.output.exists() else json.loads(args.output.read_text())
    results.setdefault("sections", {})
    for name, keys in SECTIONS.items():  # results from before sections were dated
        if name not in results["sections"] and all(key in results for key in keys):
            results["sections"][name] = {"date": results["machine"]["date"], "seconds": None, "quick": results["quick"]}
    results.update({"schema": 2, "quick": args.quick, "machine": machine(client, bases), "pins": PINS})
    leftovers = {kind: names for kind, names in ours(client).items() if names}
    if leftovers:
        log(f"removing what an earlier bench left: {leftovers}")
        compose.remove_leftovers(client, **leftovers)
    timer = Sections(results, args.quick, args.output)
    try:
        run(client, results, only, args.quick, timer)
    finally:
        compose.remove_leftovers(client, images=[BARE_TAG])
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if everything:
        results["bench_seconds"] = round(time.monotonic() - started, 1)
    results["last_run"] = {"parts": sorted(only), "seconds": round(time.monotonic() - started, 1)}
    timer.save()
    print(table(results))
    log(f"wrote {args.output}")
    return 0


class Sections:
    """Dates and times each part of the bench, in results["sections"]; saves the results after each part."""

    def __init__(self, results: dict, quick: bool, output: pathlib.Path) -> None:
        self.results, self.quick, self.output = results, quick, output

    def done(self, name: str, began: float) -> None:
        self.results["sections"][name] = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - began, 1),
            "quick": self.quick,
        }
        self.save()

    def save(self) -> None:
        """Write what is measured so far, so an interrupted run (Ctrl-C cleans up) keeps its finished parts."""
        self.results["summary"] = summary(self.results)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_text(json.dumps(self.results, indent=2) + "\n")


def production_queue() -> str:
    """The start setting the production example ships: its queue, with the slots it has on this machine."""
    path = EXAMPLES / "production" / "jupyterhub_config.py"
    config = hubconfig.load(path, hubconfig.compose_environment("production"))
    return f"queue-{config.JupyterHub.spawner_class.slots._value}"


def run(client: docker.DockerClient, results: dict, only: set[str], quick: bool, timer: Sections) -> None:
    """Run the chosen parts in an order that lets them share one hub and one set of images."""
    spawns, rounds, repeats = (2, (3,), 1) if quick else (SPAWNS, ROUNDS, SITE_REPEATS)
    burst_repeats = 1 if quick else BURST_REPEATS
    settings = START_SETTINGS[:1] if quick else START_SETTINGS
    work = (3, 5) if quick else (WORKING_USERS, WORKING_CELL_SECONDS)
    began = time.monotonic()
    start_block = ""
    if "site" in only:
        results["site_build"], start_block = site_build(repeats)
        results["test_suite"] = suite_time(skip=quick)
        timer.done("site", began)
    if not only & NEEDS_HUB and "images" not in only:
        return
    ai_lab_base = next(ref for ref in examples.base_image_refs("minimal") if ref.startswith("exasol/ai-lab:"))
    began = time.monotonic()
    if "images" in only:
        results["image_overhead"], jupyterlab = image_overhead(client, ai_lab_base)
        results["bare_image"] = bare_image(client, jupyterlab)
        timer.done("images", began)
    elif only & {"spawns", "timeline"}:
        bare_image(client, recipe_jupyterlab(client))
    if not only & NEEDS_HUB:
        return
    start_block = start_block or start_block_alone()
    secret = minimal_example.trial_password(start_block)
    with (
        tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as scratch,
        bench_hub(client, pathlib.Path(scratch), start_block) as hub,
    ):
        if "spawns" in only:
            began = time.monotonic()
            results["spawn_latency"] = spawn_latency(client, secret, spawns)
            timer.done("spawns", began)
        if "timeline" in only:
            began = time.monotonic()
            results["spawn_timeline"] = spawn_timeline(client, secret, 1 if quick else 3)
            timer.done("timeline", began)
        plan = {"rounds": rounds, "settings": settings, "work": work, "repeats": burst_repeats}
        many_users(client, hub, secret, results, only=only, plan=plan, timer=timer)


def adopted_below_largest(hub: BenchHub, queued: dict, counts, round_of, timer) -> None:
    """The production example's setting at today's smaller sizes, so each size has both side by side.

    Its round at the largest size is the one the start settings compare.
    """
    hub.use(queued["setting"])
    for count in counts:
        queued["rounds"].append(round_of(count))
        timer.save()


def summarise_settings(into: dict, runs: dict[str, list[dict]], adopted: str) -> None:
    """Each setting's median run with its range over the repeats, and the verdict from the medians."""
    today = burst.over_repeats(runs["today"])
    tried = {name: burst.over_repeats(done, today) for name, done in runs.items() if name != "today" and done}
    into.update(
        today=today,
        rounds=tried,
        runs=runs,
        adopted=adopted if adopted in tried else None,
        met=[name for name, r in tried.items() if r["verdict"]["met"]],
    )


def many_users(client, hub: BenchHub, secret: str, results: dict, *, only: set[str], plan: dict, timer) -> None:
    """Bursts with today's setting (the working load rides on the round of its size), then other settings."""
    users = burst.Users()
    work_users, cell = plan["work"]
    rounds = plan["rounds"]
    cores = results["machine"]["nproc"]
    settings = [s.replace("{2n}", str(2 * cores)).replace("{n}", str(cores)) for s in plan["settings"]]
    settings += [production_queue()] if production_queue() not in settings else []
    load = lambda people: working(client, people, cell, PROBE_RATE)  # noqa: E731
    began = time.monotonic()
    if "burst" not in only:
        if "working" in only:
            round_ = burst.burst_round(client, secret, users.take(work_users), load)
            results["working"] = round_["working"]
            timer.done("working", began)
        return
    cpu = results["spawn_timeline"]["images"]["ai-lab"]
    per_start = cpu["cpu_seconds_per_start"] + cpu["hub_cpu_seconds_per_start"]
    today = []
    for count in rounds:
        ride = load if "working" in only and count == work_users else None
        today.append(burst.with_floor(burst.burst_round(client, secret, users.take(count), ride), per_start, cores))
        if "working" in today[-1]:
            results["working"] = today[-1].pop("working")
            timer.done("working", began)
        results["concurrency"] = {"image": "ai-lab", "setting": "today", "rounds": today, "skipped": []}
        results["concurrency"]["cpu_seconds_per_start"] = per_start
        timer.save()
    if "working" in only and work_users not in rounds:
        results["working"] = burst.burst_round(client, secret, users.take(work_users), load)["working"]
        timer.done("working", began)
    largest, adopted = today[-1], production_queue()
    # The settings the verdict chooses between run `repeats` times at the largest size, interleaved so
    # that a slow spell of the machine falls on all of them; the others once.
    repeated = ["today", *(s for s in settings if s.startswith("queue-"))]
    runs: dict[str, list[dict]] = {"today": [largest]} | {setting: [] for setting in settings}
    results["start_settings"] = {"users": largest["users"], "repeats": plan["repeats"], "repeated": repeated}
    queued = results["concurrency"]["adopted"] = {"setting": adopted, "rounds": []}
    floored = lambda count: burst.with_floor(burst.burst_round(client, secret, users.take(count)), per_start, cores)  # noqa: E731
    adopted_below_largest(hub, queued, rounds[:-1], floored, timer)
    below = list(queued["rounds"])
    order = sorted(settings, key=lambda s: s != adopted)  # the production example's setting first
    for setting in order + [s for _ in range(plan["repeats"] - 1) for s in repeated]:
        hub.use(setting)
        try:
            runs[setting].append(floored(largest["users"]))
        except Exception as exc:  # one broken setting must not cost the others' figures
            log(f"{setting}: {exc!r}")
            results.setdefault("start_setting_errors", {})[setting] = repr(exc)[:500]
            continue
        summarise_settings(results["start_settings"], runs, adopted)
        queued["rounds"] = [*below, results["start_settings"]["rounds"][adopted]] if runs[adopted] else below
        timer.save()
    hub.use("today")
    log(f"start settings meeting every target: {results['start_settings'].get('met') or 'none'}")
    timer.done("burst", began)


if __name__ == "__main__":
    sys.exit(main())
