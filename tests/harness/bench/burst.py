"""A class logs in at once: every user's wait, against the CPU floor, with today's and other start settings.

All users of a round log in first, then ask for their servers at the same
moment, each from its own thread. A user's wait runs from their first request
to the moment the hub logged their server as started (its own record, dated by
the engine), so polling does not blur it. A user the hub turns away with HTTP
429 tries again after the time the hub asks for (Retry-After), as a person
reading "Try again in 20 seconds" would.

The CPU floor is the shortest time the last user could wait if the cores did
nothing but these starts: users x CPU seconds of one start / cores.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import docker

from .. import compose, hub
from . import records
from .common import MIB, PREFIX, URL, log
from .spawns import log_in

# Ratios the largest round must meet (issue 14), each within one run.
MEDIAN_TO_LAST = 0.6  # the median user waits at most this share of the last user's wait
LAST_TO_FLOOR = 1.5  # the last user waits at most this multiple of the CPU floor


def memory_mib(container) -> float:
    """Memory in use minus page cache, as `docker stats` shows it."""
    stats = container.stats(stream=False, one_shot=True)["memory_stats"]
    detail = stats.get("stats", {})
    cache = detail.get("inactive_file", detail.get("cache", 0))  # cgroup v2, v1
    return (stats.get("usage", 0) - cache) / MIB


def ask_and_wait(user: hub.User, go: threading.Event, poll: float, timeout: float = 600) -> dict:
    """Ask for the server (again after a 429, when the hub says) and wait until the hub lists it ready."""
    go.wait()
    began = time.time()
    attempts, told = 0, []
    while True:
        attempts += 1
        response = user.api("POST", f"/users/{user.name}/server")
        if response.status_code != 429:
            break
        wait = float(response.headers.get("Retry-After", 30))
        told.append(response.json().get("message", "") if response.text.startswith("{") else response.text[:200])
        time.sleep(wait)
    if response.status_code not in (201, 202):
        raise hub.HubError(f"HTTP {response.status_code} {response.text[:300]}")
    accepted = time.time()
    while time.time() - began < timeout:
        server = user.model().get("servers", {}).get("")
        if server and server.get("ready"):
            return {"requested": began, "seen_ready": time.time(), "attempts": attempts, "told": told[:1]}
        if server is None and time.time() - accepted > 5:
            raise hub.HubError("the server stopped while starting")
        time.sleep(poll)
    raise hub.HubError(f"not ready within {timeout:.0f} s")


def _stop(user: hub.User) -> str:
    try:
        user.stop(timeout=300)
        return ""
    except Exception as exc:  # reported; the cleanup removes the container
        return f"{user.name}: {exc}"


def burst_round(
    client: docker.DockerClient,
    secret: str,
    users: list[hub.User],
    while_running: Callable[[list[hub.User]], dict] | None = None,
) -> dict:
    """The users ask for their servers at the same moment; measure each wait, then stop them all."""
    for user in users:
        log_in(user, secret)
    count = len(users)
    poll = max(1.0, count / 10)  # about 10 requests a second to the hub, whatever the count
    go = threading.Event()
    hub_box = records.hub_container(client)
    began = time.time()
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(ask_and_wait, user, go, poll) for user in users]
        go.set()
        outcomes, errors = {}, []
        for user, future in zip(users, futures, strict=True):
            try:
                outcomes[user.name] = future.result()
            except Exception as exc:  # a failed spawn is a result here
                errors.append(f"{user.name}: {exc}")
    logged = records.ready_stamps(records.log_lines(hub_box, began - 1))
    waits = {name: logged.get(name, o["seen_ready"]) - o["requested"] for name, o in outcomes.items()}
    result = {
        "users": count,
        "poll_seconds": poll,
        "failures": len(errors),
        "errors": errors[:5],
        "per_user_seconds": sorted(round(s, 3) for s in waits.values()),
        "ready_from_hub_log": sum(name in logged for name in outcomes),
        "retried_users": sum(o["attempts"] > 1 for o in outcomes.values()),
        "max_attempts": max((o["attempts"] for o in outcomes.values()), default=0),
        "told": next((o["told"][0] for o in outcomes.values() if o["told"]), ""),
    }
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews a round
    result["all_ready_seconds"] = round(max(waits.values()), 3) if not errors and waits else None
    result["distribution"] = records.quantiles(list(waits.values()))
    running = [c for c in client.containers.list(filters={"name": f"{PREFIX}-bench-"}) if c.name.startswith(PREFIX)]
    cpu = [records.cpu_seconds(client, c)[0] for c in running]
    result["cpu_seconds_per_start_in_burst"] = round(statistics.mean(cpu), 3) if cpu else None
    if while_running:
        result.update(while_running(users))
    time.sleep(5)  # let the servers go idle
    memory = [round(memory_mib(c), 1) for c in running]
    result["idle_memory_mib"] = {"samples": memory, "median": round(statistics.median(memory), 1) if memory else None}
    result["hub_memory_mib"] = round(memory_mib(hub_box), 1) if hub_box else None
    if errors:
        # What the hub logged about the failed users' starts (its warnings and errors), not just its last lines.
        failed = {error.split(":", 1)[0] for error in errors}
        lines = records.log_lines(hub_box, began - 1) if hub_box else []
        result["hub_log_failures"] = [
            text[:300]
            for _, text in lines
            if text.startswith(("[W", "[E")) and "XSRF" not in text and any(n in text for n in failed)
        ][:20]
    stopping = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        stops = list(pool.map(_stop, users))
    result["stop_seconds"] = round(time.monotonic() - stopping, 3)
    result["stop_failures"] = [s for s in stops if s]
    left = [c.name for c in client.containers.list(all=True, filters={"name": f"{PREFIX}-bench-"})]
    compose.remove_leftovers(client, containers=left)  # a failed spawn may leave one; it must not count next round
    spread = result["distribution"]
    log(
        f"{count} users at once: first {spread.get('first')} s, median {spread.get('median')} s, "
        f"last {spread.get('last')} s, failures {len(errors)}, retried {result['retried_users']}"
    )
    return result


def with_floor(result: dict, cpu_per_start: float, cores: int) -> dict:
    """Add the CPU floor of the round and its ratios, unrounded: a verdict must not round its way to "met"."""
    floor = result["users"] * cpu_per_start / cores
    spread = result["distribution"]
    result["cpu_floor_seconds"] = round(floor, 2)
    if spread.get("n"):
        result["median_to_last"] = spread["median"] / spread["last"]
        result["last_to_floor"] = spread["last"] / floor
    return result


RATIOS = ("median_to_last", "last_to_floor")


def median_over_repeats(run: dict, name: str) -> float:
    """A figure of a setting (`last`, or a ratio): the median over its repeats, or its one run's value."""
    repeated = run.get("repeats", {}).get(name)
    if repeated:
        return repeated["median"]
    return run["distribution"]["last"] if name == "last" else run[name]


def over_repeats(runs: list[dict], today: dict | None = None) -> dict:
    """The runs of one setting at one size: the median run stands for it, with the range of every compared figure.

    The median run is the one whose last user's wait is the median of the runs'
    (the middle one of three). Its `repeats` holds each figure's median, min
    and max over the runs and, with `today` (today's repeats, in the same form),
    a verdict from the medians, and in how many runs each target was met.
    """
    ordered = sorted(runs, key=lambda r: r["distribution"].get("last", 1e9))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    figures = {"last": [r["distribution"].get("last", 1e9) for r in runs]} | {
        ratio: [r.get(ratio, 99.0) for r in runs] for ratio in RATIOS
    }
    chosen["repeats"] = {
        "runs": len(runs),
        **{
            name: {"median": statistics.median(values), "min": min(values), "max": max(values), "each": values}
            for name, values in figures.items()
        },
        "failures": sum(r["failures"] for r in runs),
    }
    if today is not None:
        chosen["verdict"] = verdict(today, chosen)
        chosen["verdict"]["met_in_runs"] = {
            name: sum(verdict(today, run)["checks"][name] for run in runs) for name in chosen["verdict"]["checks"]
        }
    return chosen


class Users:
    """New user names for every round, so every start also creates a notebook volume."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, count: int) -> list[hub.User]:
        users = [hub.User(URL, f"bench-{self.next + i:03d}") for i in range(count)]
        self.next += count
        return users


def verdict(today: dict, setting: dict) -> dict:
    """Whether a setting meets issue 14's targets against today's setting in the same run, on unrounded values.

    Given the median runs of repeats, it compares the medians over the runs; given single runs, those runs.
    """

    def figure(run: dict, name: str, missing: float) -> float:
        try:
            return median_over_repeats(run, name)
        except KeyError:
            return missing

    checks = {
        "median_to_last": figure(setting, "median_to_last", 1) <= MEDIAN_TO_LAST,
        "last_to_floor": figure(setting, "last_to_floor", 99) <= LAST_TO_FLOOR,
        "last_not_later_than_today": figure(setting, "last", 1e9) <= figure(today, "last", 0),
        "no_failures": setting.get("repeats", {}).get("failures", setting["failures"]) == 0,
    }
    return {"checks": checks, "met": all(checks.values())}
