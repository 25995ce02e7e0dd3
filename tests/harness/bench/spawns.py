"""How long a user waits: one spawn at a time, the AI Lab image against the bare one."""

from __future__ import annotations

import string

import docker
import docker.errors

from .. import hub
from .common import AI_LAB_USER, BARE_USER, PREFIX, URL, log, spread

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
