"""A real ACME certificate authority (pebble, Let's Encrypt's test server) and Caddy in front of the hub.

Both are Debian's packages, run as processes on this machine, as the page's
reader runs Caddy on the hub's server. pebble validates for real: it resolves
the site's name through pebble-challtestsrv (which answers 127.0.0.1 for every
name) and fetches the HTTP-01 or TLS-ALPN-01 answer from Caddy on ports 80 and
443. Its certificates live for `validity` seconds, so that Caddy renews one
while a test watches. Clients reach the site's name through `resolved`, which
points that one name at 127.0.0.1 inside this process, as DNS would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import socket
import ssl
import subprocess
from collections.abc import Iterator
from unittest import mock

import requests

from .certificates import free_port, make_ca, make_server_certificate
from .processes import serving


@dataclasses.dataclass(frozen=True)
class Authority:
    """A running pebble: its ACME directory, the CA of its own HTTPS, and the root it issues under."""

    directory: str
    https_ca: pathlib.Path
    roots: pathlib.Path  # pebble's issuing root and intermediate, which a client of the site trusts


@contextlib.contextmanager
def authority(folder: pathlib.Path, validity: int) -> Iterator[Authority]:
    """Run pebble (and its DNS) until the end; its certificates are valid for `validity` seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    make_ca(folder)  # pebble serves its ACME API over HTTPS: a certificate for localhost, from a test CA
    make_server_certificate(folder, "127.0.0.1")
    dns, acme, management = free_port("127.0.0.1"), free_port("127.0.0.1"), free_port("127.0.0.1")
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{acme}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(folder / "server.crt"),
            "privateKey": str(folder / "server.key"),
            "httpPort": 80,  # where it validates: the ports Caddy serves for the site, as Let's Encrypt does
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
            "certificateValidityPeriod": validity,
        }
    }
    (folder / "pebble.json").write_text(json.dumps(config))
    names = ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-management", f"127.0.0.1:{free_port('127.0.0.1')}", "-defaultIPv6", ""]  # fmt: skip
    calm = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
    directory = f"https://localhost:{acme}/dir"

    def answers() -> bool:
        try:
            return requests.get(directory, verify=str(folder / "ca.crt"), timeout=2).ok
        except requests.ConnectionError:
            return False

    pebble = ["pebble", "-config", str(folder / "pebble.json"), "-dnsserver", f"127.0.0.1:{dns}"]
    with (
        serving(names, folder / "dns.log", "pebble's DNS"),
        serving(pebble, folder / "pebble.log", "pebble", answers, env=calm),
    ):
        issued = [
            requests.get(f"https://localhost:{management}/{path}", verify=str(folder / "ca.crt"), timeout=10).text
            for path in ("roots/0", "intermediates/0")
        ]
        (folder / "roots.pem").write_text("".join(issued))
        yield Authority(directory, folder / "ca.crt", folder / "roots.pem")


def pebble_globals(ca: Authority, folder: pathlib.Path) -> list[str]:
    """The global options the tests add to the page's Caddyfile: pebble as the CA, and a renewal check every 2 s."""
    return [
        f"acme_ca {ca.directory}",
        f"acme_ca_root {ca.https_ca}",
        "renew_interval 2s",
        f"storage file_system {folder / 'data'}",
        "admin off",
    ]


def with_globals(caddyfile: str, extra: list[str]) -> str:
    """The page's Caddyfile with more lines at the top of its global options block (which must come first)."""
    head, brace, rest = caddyfile.lstrip().partition("{")
    assert brace and not head.strip(), "the page's Caddyfile no longer starts with its global options block"
    return "{\n" + "".join(f"\t{line}\n" for line in extra) + rest


@contextlib.contextmanager
def caddy(folder: pathlib.Path, caddyfile: str) -> Iterator[subprocess.Popen]:
    """Run Caddy with this Caddyfile (on ports 80 and 443, as the page's) until the end."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Caddyfile").write_text(caddyfile)
    env = {"XDG_DATA_HOME": str(folder / "xdg"), "XDG_CONFIG_HOME": str(folder / "xdg"), "HOME": str(folder)}
    checked = subprocess.run(["caddy", "validate", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
                             capture_output=True, text=True, env={**os.environ, **env}, check=False)  # fmt: skip
    assert checked.returncode == 0, f"Caddy refuses the page's Caddyfile:\n{checked.stdout}{checked.stderr}"
    command = ["caddy", "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"]
    with serving(command, folder / "caddy.log", "Caddy", env=env) as process:
        yield process


@contextlib.contextmanager
def resolved(name: str, address: str = "127.0.0.1") -> Iterator[None]:
    """Inside this process, `name` resolves to `address` (what the site's DNS record does for a browser)."""
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return original(address if host == name else host, *args, **kwargs)

    with mock.patch("socket.getaddrinfo", getaddrinfo):
        yield


def served_certificate(name: str, port: int = 443) -> bytes:
    """The certificate the site serves for `name` (DER), fetched without checking it."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        return tls.getpeercert(binary_form=True)


def issued_certificate(name: str, roots: pathlib.Path, port: int = 443) -> bytes:
    """The certificate the site serves for `name`, checked against `roots` and `name` (DER)."""
    context = ssl.create_default_context(cafile=str(roots))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        return tls.getpeercert(binary_form=True)


def expiry(certificate: bytes) -> float:
    """When a certificate (DER) expires, in seconds since the epoch."""
    said = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-enddate"], input=certificate,
                          capture_output=True, check=True)  # fmt: skip
    return ssl.cert_time_to_seconds(said.stdout.decode().strip().removeprefix("notAfter="))
