"""Python code a user runs in her own kernel to find out what else she can reach.

Each function returns the source of a snippet; run in a kernel
(hub.User.run_code), it prints one JSON object with what it found. The
snippets use only the standard library, as any user's code could, and never
follow a redirect, so the page can quote each answer as it comes.
"""

from __future__ import annotations

import json

_HELPERS = r"""
import http.client, json, os, socket, struct

def ask(host, port, method, path, token=None):
    connection = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return {"status": response.status, "reason": response.reason,
                "location": response.getheader("Location"), "body": response.read(4000).decode(errors="replace")}
    except OSError as error:
        return {"error": type(error).__name__}
    finally:
        connection.close()

def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return "open"
    except OSError as error:
        return type(error).__name__

def gateway():
    for line in open("/proc/net/route").read().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            return socket.inet_ntoa(struct.pack("<L", int(fields[2], 16)))
"""


def reach_other_server(container: str, owner: str) -> str:
    """Requests straight to another user's server on the Docker network, without and with the own token."""
    return (
        _HELPERS
        + f"""
token = os.environ["JUPYTERHUB_API_TOKEN"]
found = {{
    "no token": ask({container!r}, 8888, "GET", "/user/{owner}/api/contents"),
    "own token": ask({container!r}, 8888, "GET", "/user/{owner}/api/contents", token),
    "page": ask({container!r}, 8888, "GET", "/user/{owner}/lab"),
}}
print(json.dumps(found))
"""
    )


def use_own_token(me: str, other: str) -> str:
    """What the server's own API token (JUPYTERHUB_API_TOKEN) may do at the hub's API."""
    return (
        _HELPERS
        + f"""
from urllib.parse import urlparse
token = os.environ["JUPYTERHUB_API_TOKEN"]
api = urlparse(os.environ["JUPYTERHUB_API_URL"])
calls = {{
    "GET /user": ("GET", "/user"),
    "GET /users/{me}": ("GET", "/users/{me}"),
    "GET /users": ("GET", "/users"),
    "GET /users/{other}": ("GET", "/users/{other}"),
    "POST /users/{other}/server": ("POST", "/users/{other}/server"),
    "DELETE /users/{other}/server": ("DELETE", "/users/{other}/server"),
    "POST /users/{other}/tokens": ("POST", "/users/{other}/tokens"),
    "POST /users/{me}/tokens": ("POST", "/users/{me}/tokens"),
}}
found = {{name: ask(api.hostname, api.port, method, api.path + path, token) for name, (method, path) in calls.items()}}
found["GET /users without a token"] = ask(api.hostname, api.port, "GET", api.path + "/users")
found["GET / without a token"] = ask(api.hostname, api.port, "GET", api.path + "/")
own = found["GET /user"]
found["own model"] = json.loads(own.pop("body")) if own.get("status") == 200 else {{}}
print(json.dumps(found))
"""
    )


def reach_the_engine_and_the_hub() -> str:
    """The Docker socket, the engine's TCP ports at the gateway, the proxy's API, the hub's files."""
    return (
        _HELPERS
        + """
from urllib.parse import urlparse
api = urlparse(os.environ["JUPYTERHUB_API_URL"])
found = {
    "gateway": gateway(),
    "docker.sock": os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock"),
    "2375": connect(gateway(), 2375),
    "2376": connect(gateway(), 2376),
    "hub api": connect(api.hostname, api.port),
    "proxy api": connect(api.hostname, 8001),
    "hub data": os.path.exists("/srv/jupyterhub"),
    "mounts": [line.split()[4] for line in open("/proc/self/mountinfo")],
}
print(json.dumps(found))
"""
    )


def serve_own_files(port: int) -> str:
    """Start a plain web server on the user's notebooks, as a user might for a quick dashboard or a file share."""
    return f"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-m", "http.server", "{port}", "--directory", "/home/jupyter/notebooks"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1)
print("serving")
"""


def fetch(host: str, port: int, path: str = "/") -> str:
    """One plain HTTP request from the user's container."""
    return _HELPERS + f"\nprint(json.dumps(ask({host!r}, {port}, 'GET', {path!r})))\n"


def reach_beyond_the_hub(metadata: str, host_port: int, outside: str) -> str:
    """The cloud's metadata address, a service on the host (at the network's gateway) and an address on the internet."""
    return (
        _HELPERS
        + f"""
import urllib.request
def get(url):
    try:
        return urllib.request.urlopen(url, timeout=10).status
    except OSError as error:
        return type(getattr(error, "reason", error)).__name__
print(json.dumps({{"metadata": get("http://{metadata}/"), "host": connect(gateway(), {host_port}),
                  "outside": get({outside!r})}}))
"""
    )


def parse(output: str) -> dict:
    """The one JSON line a probe printed."""
    return json.loads(output.strip().splitlines()[-1])
