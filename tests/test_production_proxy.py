"""The production example behind nginx on a sub-path, as the page on HTTPS and logins sets it up.

The page's download starts with the page's proxy settings in .env, unchanged,
and without the certificate step. A real nginx runs in front of it with the
page's two blocks (harness/nginx.py); every request of these tests goes
through it, as a browser's would, except where a test checks the hub's own port.
"""

from __future__ import annotations

import base64
import dataclasses
import re

import pytest
import requests
import websocket
from harness import blocks, nginx, production

PAGE = "https-and-logins.md"
PEOPLE = ("ada",)
PASSWORD = "a-long-proxy-password"
HUB = "http://127.0.0.1:8000/jupyter"  # what the page's settings block makes of the hub: HUB_PORT and HUB_BASE_URL


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def block(name: str):
    return blocks.named(PAGE, name)


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("production-proxy")
    steps = (block("proxy-settings"),)
    with production.running(docker_client, scratch, PEOPLE, steps=steps, certificate=False, url=HUB) as up:
        yield up


@pytest.fixture(scope="module")
def front(stack, tmp_path_factory):
    """nginx with the page's blocks; the running copy as a browser reaches it there, under /jupyter."""
    with nginx.running(
        tmp_path_factory.mktemp("nginx"), block("proxy-nginx-map"), block("proxy-nginx-location")
    ) as url:
        yield {**stack, "url": f"{url}/jupyter", "nginx": url}


@pytest.fixture(scope="module")
def people(front):
    """The admin signed up and logged in through nginx, and ada approved and logged in there."""
    admin = production.signed_up_admin(front, PASSWORD)
    ada = production.approved_user(front, admin, "ada", PASSWORD)
    return admin, ada


def test_the_hub_behind_nginx_serves_plain_http_on_127_0_0_1_only(stack, docker_client):
    hub = production.hub_container(docker_client)
    files = hub.labels["com.docker.compose.project.config_files"].split(",")
    assert [f.rsplit("/", 1)[-1] for f in files] == ["docker-compose.yml", "behind-proxy.yml"], files
    blocks.assert_files_in_use("production", {"behind-proxy.yml": (stack["folder"] / "behind-proxy.yml").read_text()})
    assert hub.attrs["HostConfig"]["PortBindings"] == {"8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}
    answer = requests.get(f"{HUB}/hub/api/", timeout=10)
    assert answer.status_code == 200 and "version" in answer.json(), answer.text[:300]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(HUB.replace("http:", "https:") + "/hub/api/", timeout=10, verify=False)
    mounts = [m["Destination"] for m in hub.attrs["Mounts"]]
    assert not any(m.startswith("/run/secrets") for m in mounts), mounts


def test_a_user_logs_in_through_nginx_and_runs_code_over_the_websocket(front, people):
    _, ada = people
    ada.start()
    assert ada.model()["servers"][""]["url"] == "/jupyter/user/ada/", ada.model()["servers"]
    assert ada.run_code("print(6 * 7)").strip() == "42"
    for name in ("proxy-nginx-map", "proxy-nginx-location"):
        blocks.note(block(name), blocks.STARTED)


def test_the_admin_page_and_logout_work_through_nginx(front, people):
    admin, _ = people
    page = admin.session.get(f"{front['url']}/hub/admin", timeout=30)
    assert page.status_code == 200 and re.search(r"admin-react", page.text), page.status_code
    listed = admin.api("GET", "/users")
    assert listed.status_code == 200 and {"ada", production.admin_name()} <= {u["name"] for u in listed.json()}
    out = admin.session.get(f"{front['url']}/hub/logout", allow_redirects=False, timeout=30)
    assert out.status_code == 302 and out.headers["Location"].startswith("/jupyter/hub/"), out.headers
    assert admin.api("GET", "/users").status_code == 403


def test_an_upload_of_several_megabytes_passes_nginx(front, people):
    _, ada = people
    ada.start()
    data = base64.b64encode(bytes(range(256)) * 4 * 1024 * 5).decode()  # 5 MiB, as JupyterLab sends it
    put = ada.server("PUT", "/contents/upload.bin", json={"type": "file", "format": "base64", "content": data})
    assert put.status_code in (200, 201), f"HTTP {put.status_code}: {put.text[:200]}"
    assert ada.server("GET", "/contents/upload.bin?content=0").json()["size"] == 5 * 1024 * 1024


def test_without_the_websocket_headers_the_kernel_never_connects(front, people, docker_client, tmp_path_factory):
    _, ada = people
    ada.start()
    location = "\n".join(
        line
        for line in block("proxy-nginx-location").text.splitlines()
        if "Upgrade" not in line and "Connection" not in line
    )
    with nginx.running(tmp_path_factory.mktemp("nginx-no-websocket"), block("proxy-nginx-map"), location) as url:
        kernel = ada.server("POST", "/kernels", json={"name": "python3"})
        assert kernel.status_code == 201, kernel.status_code  # the REST API works
        kernel_id = kernel.json()["id"]
        cookie = "; ".join(f"{c.name}={c.value}" for c in ada.session.cookies)
        ws_url = f"{url.replace('http:', 'ws:')}/jupyter/user/ada/api/kernels/{kernel_id}/channels"
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(ws_url, cookie=cookie, origin=url, timeout=30)
        ada.server("DELETE", f"/kernels/{kernel_id}")
    assert refused.value.status_code == 400, refused.value
    body = refused.value.resp_body.decode() if refused.value.resp_body else ""
    log = production.user_container(docker_client, "ada").logs().decode()
    quote = blocks.named("troubleshooting.md", "trouble-proxy-websocket")
    this_kernel = dataclasses.replace(quote, text=re.sub(UUID, kernel_id, quote.text))  # the page's is another run's
    blocks.assert_in_output(this_kernel, f"{body}\n{log}", each_line=True)
