"""Many users working at once: how fast the hub answers while every user's kernel computes.

While the users' servers run, the hub's login page and its REST API are asked
for at a steady rate, first with every server idle, then while each user runs
a CPU-bound cell in a kernel of their own, as JupyterLab does (harness.kernel).
A request's latency is the time until its answer arrived.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from .. import hub, kernel
from . import records
from .burst import memory_mib
from .common import PREFIX, URL, log

CELL = """\
import time
began = time.time()
while time.time() - began < {seconds}:
    sum(i * i for i in range(10_000))
print(began, time.time())
"""


class Probe:
    """Ask the hub for its login page and a user's model in turn, `rate` times a second, from a thread."""

    def __init__(self, user: hub.User, rate: float) -> None:
        self.user, self.rate = user, rate
        self.samples: list[tuple[float, str, float, int]] = []  # (sent at, what, seconds, status)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def one(self, what: str) -> None:
        sent = time.time()
        try:
            if what == "login page":
                status = requests.get(f"{URL}/hub/login", timeout=30).status_code
            else:
                status = self.user.api("GET", f"/users/{self.user.name}").status_code
        except requests.RequestException:
            status = 0
        self.samples.append((sent, what, time.time() - sent, status))

    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=16) as pool:  # a slow answer does not delay the next request
            tick = 0
            began = time.monotonic()
            while not self.stopping.is_set():
                pool.submit(self.one, "login page" if tick % 2 == 0 else "API")
                tick += 1
                time.sleep(max(0.0, began + tick / self.rate - time.monotonic()))

    def between(self, start: float, end: float) -> list[tuple[float, str, float, int]]:
        return [s for s in self.samples if start <= s[0] <= end]


def latency(samples: list[tuple[float, str, float, int]]) -> dict:
    seconds = [s[2] for s in samples]
    spread = records.quantiles(seconds)
    return {
        "n": len(seconds),
        "median": spread.get("median"),
        "p95": spread.get("p95"),
        "max": spread.get("last"),
        "errors": sum(1 for s in samples if not 200 <= s[3] < 400),
    }


def working(client, users: list[hub.User], seconds: float, rate: float, idle_seconds: float = 10) -> dict:
    """Latency of the hub idle and under load, memory per user and of the hub; the servers already run."""
    probe = Probe(users[0], rate)
    probe.thread.start()
    began = time.time()
    time.sleep(idle_seconds)
    idle_end = time.time()
    boxes = [c for c in client.containers.list(filters={"name": f"{PREFIX}-bench-"}) if c.name.startswith(PREFIX)]
    hub_box = records.hub_container(client)
    memory: dict = {}

    def sample_memory() -> None:
        time.sleep(seconds * 0.6)
        memory["per_user"] = [round(memory_mib(c), 1) for c in boxes]
        memory["hub"] = round(memory_mib(hub_box), 1)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        cells = list(pool.map(lambda u: kernel.run_code(u, CELL.format(seconds=seconds), timeout=600), users))
    sampler.join()
    probe.stopping.set()
    probe.thread.join()
    ran = [tuple(float(x) for x in out.split()) for out in cells]
    starts, ends = sorted(r[0] for r in ran), sorted(r[1] for r in ran)
    all_running = (starts[-1], ends[0])  # every cell computing
    window, window_kind = all_running, "every cell computing"
    if len(probe.between(*window)) < 10:
        window, window_kind = (statistics.median(starts), statistics.median(ends)), "at least half the cells computing"
    loaded = probe.between(*window)
    result = {
        "users": len(users),
        "cell_seconds": seconds,
        "rate_per_second": rate,
        "idle": latency(probe.between(began, idle_end)),
        "loaded": latency(loaded),
        "loaded_window": window_kind,
        "loaded_window_seconds": round(window[1] - window[0], 1),
        "cells_started_within_seconds": round(starts[-1] - starts[0], 1),
        "by_kind": {what: latency([s for s in loaded if s[1] == what]) for what in ("login page", "API")},
        "memory_per_user_mib": {
            "median": round(statistics.median(memory["per_user"]), 1),
            "max": max(memory["per_user"]),
        },
        "hub_memory_mib": memory["hub"],
    }
    log(
        f"{len(users)} users computing: hub p50 {result['loaded']['median']} s, p95 {result['loaded']['p95']} s "
        f"(idle p50 {result['idle']['median']} s, p95 {result['idle']['p95']} s), "
        f"{result['memory_per_user_mib']['median']} MiB per user, hub {memory['hub']} MiB"
    )
    return {"working": result}
