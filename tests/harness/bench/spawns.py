"""How long users wait: one spawn at a time, and many users at once."""

from __future__ import annotations

import statistics
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors

from .. import compose, hub
from .common import AI_LAB_USER, BARE_USER, BUDGET, MIB, PREFIX, PROJECT, RESERVE, URL, log, spread

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
