"""The production example behind Caddy, with a certificate from a real ACME CA (pebble) that Caddy renews.

The page's download starts with the page's settings block in .env, unchanged,
and without the certificate step. Caddy runs the page's Caddyfile with the
global options the page names as the tests' difference (pebble's address and
HTTPS certificate, a short renewal check, a data folder), on ports 80 and 443.
Clients reach the page's site name, which resolves to 127.0.0.1 in this process.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from harness import acme, blocks, production
from harness.wait import wait_until

PAGE = "https-and-logins.md"
PEOPLE = ("ada",)
PASSWORD = "a-long-caddy-password"
VALIDITY = 60  # seconds a test certificate lives: Caddy renews it after about 40


def block(name: str):
    return blocks.named(PAGE, name)


def site_name() -> str:
    """The name the page's Caddyfile serves (its one site block)."""
    names = re.findall(r"^([\w.-]+\.\w+) \{$", block("acme-caddyfile").text, re.M)
    assert len(names) == 1, f"the page's Caddyfile should serve one name: {names}"
    return names[0]


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("production-acme")
    steps = (block("acme-settings"),)
    with production.running(
        docker_client, scratch, PEOPLE, steps=steps, certificate=False, url="http://127.0.0.1:8000"
    ) as up:
        yield up


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    with acme.authority(tmp_path_factory.mktemp("pebble"), VALIDITY) as running:
        yield running


@pytest.fixture(scope="module")
def site(stack, authority, tmp_path_factory):
    """Caddy with the page's Caddyfile; the running copy as browsers reach it, at https://<the page's name>."""
    folder = tmp_path_factory.mktemp("caddy")
    caddyfile = acme.with_globals(block("acme-caddyfile").text, acme.pebble_globals(authority, folder))
    name = site_name()
    with acme.resolved(name), acme.caddy(folder, caddyfile) as caddy:
        wait_until(lambda: served_by(authority, name), 60, f"Caddy got no certificate for {name} from pebble")
        yield {**stack, "url": f"https://{name}", "verify": str(authority.roots), "caddy": caddy, "name": name}


def served_by(authority, name: str) -> bool:
    try:
        acme.issued_certificate(name, authority.roots)
    except (OSError, ValueError):
        return False
    return True


def test_caddy_serves_the_hub_with_a_certificate_from_the_acme_ca(site, docker_client):
    answer = requests.get(f"{site['url']}/hub/api/", verify=site["verify"], timeout=10)
    assert answer.status_code == 200 and "version" in answer.json(), answer.text[:300]
    hub = production.hub_container(docker_client)
    assert hub.attrs["HostConfig"]["PortBindings"] == {"8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}
    assert requests.get("http://127.0.0.1:8000/hub/api/", timeout=10).ok  # the hub itself: plain HTTP
    blocks.note(block("acme-caddyfile"), blocks.STARTED)


def test_plain_http_gets_a_redirect_to_https(site):
    answer = requests.get(f"http://{site['name']}/hub/login", allow_redirects=False, timeout=10)
    assert answer.status_code in (301, 308), answer.status_code
    assert answer.headers["Location"] == f"https://{site['name']}/hub/login", answer.headers


def test_a_kernel_runs_through_caddy(site):
    admin = production.signed_up_admin(site, PASSWORD)
    ada = production.approved_user(site, admin, "ada", PASSWORD)
    ada.start()
    assert ada.run_code("print(6 * 7)").strip() == "42"


def test_caddy_renews_the_certificate_without_a_restart(site, authority):
    first = acme.issued_certificate(site["name"], authority.roots)
    wait_until(
        lambda: acme.served_certificate(site["name"]) != first, 2 * VALIDITY, "Caddy served no renewed certificate"
    )
    seen = time.time()
    assert site["caddy"].poll() is None, "Caddy exited: the renewal must happen in the running process"
    assert acme.issued_certificate(site["name"], authority.roots) != first  # the new one is pebble's too
    assert seen < acme.expiry(first), "the new certificate came only after the old one had expired"
    assert requests.get(f"{site['url']}/hub/api/", verify=site["verify"], timeout=10).ok
