"""Test certificate authorities and server certificates, and free ports, for the real servers the tests run.

The LDAP directory, pebble's own HTTPS and the swarm's registry each need a
certificate that a client checks against a CA of the test's; one recipe serves all.
"""

from __future__ import annotations

import pathlib
import socket
import subprocess


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(folder: pathlib.Path, name: str = "ca") -> pathlib.Path:
    """A test certificate authority (`<name>.crt`, `<name>.key` in `folder`)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=AI Lab guide test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.crt"))  # fmt: skip
    return folder / f"{name}.crt"


def make_server_certificate(folder: pathlib.Path, host: str) -> pathlib.Path:
    """server.crt (and server.key) for `host` and localhost, signed by the CA `ca` in `folder`.

    The address is in the certificate twice, as an IP and as a DNS name: ldap3 on
    Python 3.12 and newer (the real hub image's) matches DNS names only.
    """
    (folder / "server.ext").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        f"subjectAltName=IP:{host},DNS:{host},IP:127.0.0.1,DNS:localhost\n"
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}",
            "-keyout", str(folder / "server.key"), "-out", str(folder / "server.csr"))  # fmt: skip
    openssl("x509", "-req", "-in", str(folder / "server.csr"), "-CA", str(folder / "ca.crt"),
            "-CAkey", str(folder / "ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(folder / "server.ext"), "-out", str(folder / "server.crt"))  # fmt: skip
    return folder / "server.crt"


def free_port(host: str) -> int:
    """A TCP port nothing listens on at `host` just now, for a server the test starts."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
