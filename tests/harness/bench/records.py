"""What the hub and the engine recorded themselves: log lines with the engine's timestamps, events, CPU time.

A burst's ready times and a spawn's timeline are read from these records, not
from the bench's polling, so they are as exact as the hub's own log and the
same clock (the host's) dates every step.
"""

from __future__ import annotations

import datetime
import glob
import re
import statistics

import docker

from .common import PROJECT

READY_LINE = re.compile(r"User (\S+?):? took ([\d.]+) seconds to start")
ROUTE_LINE = re.compile(r"Adding user (\S+) to proxy")
LOGIN_LINE = re.compile(r"User logged in: (\S+)")
LISTENING_LINE = re.compile(r"is running at|Serving notebooks from|Jupyter Server \S+ is running")


def epoch(stamp: str) -> float:
    """Seconds since the epoch of an engine timestamp such as 2026-11-29T09:01:02.123456789Z."""
    head, _, fraction = stamp.rstrip("Z").partition(".")
    moment = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.UTC)
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def log_lines(container, since: float) -> list[tuple[float, str]]:
    """A container's log lines since `since` (epoch seconds), each with the engine's timestamp."""
    raw = container.logs(timestamps=True, since=int(since)).decode(errors="replace")
    lines = []
    for line in raw.splitlines():
        stamp, _, text = line.partition(" ")
        if stamp[:2] == "20":
            lines.append((epoch(stamp), text))
    return lines


def hub_container(client: docker.DockerClient):
    found = client.containers.list(
        filters={"label": [f"com.docker.compose.project={PROJECT}", "com.docker.compose.service=hub"]}
    )
    return found[0] if found else None


def first(lines: list[tuple[float, str]], pattern: re.Pattern, name: str | None = None) -> float | None:
    """When the first line matching `pattern` (for user `name`, if given) was logged."""
    for stamp, text in lines:
        match = pattern.search(text)
        if match and (name is None or match.group(1).rstrip(":") == name):
            return stamp
    return None


def ready_stamps(lines: list[tuple[float, str]]) -> dict[str, float]:
    """When the hub logged each user's server as started ("User x took n seconds to start")."""
    found: dict[str, float] = {}
    for stamp, text in lines:
        match = READY_LINE.search(text)
        if match:
            found.setdefault(match.group(1).rstrip(":"), stamp)
    return found


def events(client: docker.DockerClient, since: float, until: float, **filters: str) -> list[dict]:
    """The engine's events between two moments, oldest first."""
    # Whole seconds: the engine would read a fraction after the point as nanoseconds.
    stream = client.events(since=int(since), until=int(until) + 1, decode=True, filters=filters)
    return list(stream)


def event_time(found: list[dict], action: str) -> float | None:
    for event in found:
        if event.get("Action") == action:
            return event["timeNano"] / 1e9
    return None


def cpu_seconds(client: docker.DockerClient, container) -> tuple[float, str]:
    """CPU seconds a container used so far: its cgroup's cpuacct.usage (v1), else the engine's stats."""
    matches = glob.glob(f"/sys/fs/cgroup/cpuacct*/**/*{container.id}*/cpuacct.usage", recursive=True)
    if matches:
        with open(matches[0]) as usage:
            return int(usage.read()) / 1e9, "cgroup v1 cpuacct.usage"
    stats = container.stats(stream=False)
    return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9, "engine stats total_usage"


def quantiles(samples: list[float]) -> dict:
    """The distribution a burst reports: first, median, 90th and 95th percentile, last."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=20, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 19
    return {
        "n": len(ordered),
        "first": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p90": round(cuts[17], 3),
        "p95": round(cuts[18], 3),
        "last": round(ordered[-1], 3),
    }
