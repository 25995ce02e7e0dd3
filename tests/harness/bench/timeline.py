"""Where one spawn's seconds go, from the hub's and the engine's own records; and the CPU one start uses.

Each start is a new user's, so it also creates the notebook volume, as a
class's first session does. Every step is dated on the host's clock: the
bench's own requests, the engine's events, and log lines the engine stamped as
the hub or the user's server wrote them.
"""

from __future__ import annotations

import statistics
import time

import docker

from .. import hub
from . import records
from .common import AI_LAB_USER, BARE_USER, PREFIX, URL, log
from .spawns import escaped

STEPS = (
    ("login", "logged in"),
    ("request", "spawn requested"),
    ("volume_created", "volume created"),
    ("container_created", "container created"),
    ("container_started", "container started"),
    ("server_listening", "server listening"),
    ("hub_ready", "hub sees it ready"),
    ("route_added", "route added"),
    ("api_ready", "API says ready"),
    ("page_served", "first page served"),
)


def one_start(client: docker.DockerClient, user: hub.User, secret: str) -> dict:
    """Log a new user in, start their server, load its first page; date every step."""
    hub_box = records.hub_container(client)
    hub_cpu_before, _ = records.cpu_seconds(client, hub_box)
    began = time.time()
    user.login(secret)
    logged_in = time.time()
    requested = time.time()
    response = user.api("POST", f"/users/{user.name}/server")
    if response.status_code not in (201, 202):
        raise hub.HubError(f"HTTP {response.status_code} {response.text[:300]}")
    container_name = f"{PREFIX}-{escaped(user.name)}"
    container, ready = None, None
    while time.time() - requested < 300:
        server = user.model().get("servers", {}).get("")
        if server and server.get("ready"):
            ready = time.time()
            break
        time.sleep(0.1)
    if ready is None:
        raise hub.HubError(f"{user.name}'s server was not ready in 300 s")
    container = client.containers.get(container_name)
    cpu_at_ready, source = records.cpu_seconds(client, container)
    hub_cpu_at_ready, _ = records.cpu_seconds(client, hub_box)
    page = user.session.get(f"{URL}/user/{user.name}/lab", timeout=120)
    page_served = time.time()
    cpu_at_page, _ = records.cpu_seconds(client, container)
    hub_lines = records.log_lines(hub_box, began - 1)
    server_lines = records.log_lines(container, began - 1)
    engine = records.events(client, began - 1, time.time() + 1, container=container_name)
    volume = records.events(client, began - 1, time.time() + 1, type="volume", volume=f"{PREFIX}-{escaped(user.name)}")
    moments = {
        "login": records.first(hub_lines, records.LOGIN_LINE, user.name) or logged_in,
        "request": requested,
        "volume_created": records.event_time(volume, "create"),
        "container_created": records.event_time(engine, "create"),
        "container_started": records.event_time(engine, "start"),
        "server_listening": records.first(server_lines, records.LISTENING_LINE),
        "hub_ready": records.first(hub_lines, records.READY_LINE, user.name),
        "route_added": records.first(hub_lines, records.ROUTE_LINE, user.name),
        "api_ready": ready,
        "page_served": page_served,
    }
    server_model = user.model()["servers"][""]
    result = {
        "user": user.name,
        "image": container.image.tags,
        "seconds_from_request": {
            key: round(value - requested, 3) if value is not None else None for key, value in moments.items()
        },
        "started_at": {
            "api_server_started": server_model.get("started"),
            "engine": container.attrs["State"]["StartedAt"],
        },
        "first_page_status": page.status_code,
        "cpu_seconds_until_ready": round(cpu_at_ready, 3),
        "cpu_seconds_until_page": round(cpu_at_page, 3),
        "hub_cpu_seconds": round(hub_cpu_at_ready - hub_cpu_before, 3),
        "cpu_source": source,
        "listening_line": next((text for _, text in server_lines if records.LISTENING_LINE.search(text)), ""),
    }
    user.stop(timeout=300)
    return result


def spawn_timeline(client: docker.DockerClient, secret: str, starts: int) -> dict:
    """`starts` new users per image, alternating; report every start and the one with the median ready time."""
    result: dict = {"steps": [{"key": key, "label": label} for key, label in STEPS], "images": {}}
    runs: dict[str, list[dict]] = {"ai-lab": [], "bare": []}
    for index in range(starts):
        for label, prefix in (("ai-lab", AI_LAB_USER), ("bare", BARE_USER)):
            runs[label].append(one_start(client, hub.User(URL, f"{prefix}-t{index}"), secret))
            seconds = runs[label][-1]["seconds_from_request"]
            log(f"timeline {label} {index + 1}/{starts}: ready {seconds['hub_ready']}, page {seconds['page_served']} s")
    for label, found in runs.items():
        ordered = sorted(found, key=lambda run: run["seconds_from_request"]["api_ready"])
        cpu = [run["cpu_seconds_until_ready"] for run in found]
        hub_cpu = [run["hub_cpu_seconds"] for run in found]
        result["images"][label] = {
            "median_start": ordered[len(ordered) // 2],
            "starts": found,
            "cpu_seconds_per_start": round(statistics.median(cpu), 3),
            "hub_cpu_seconds_per_start": round(statistics.median(hub_cpu), 3),
        }
        log(
            f"one {label} start: {statistics.median(cpu):.2f} CPU s in its container, "
            f"hub {statistics.median(hub_cpu):.2f} s"
        )
    return result
