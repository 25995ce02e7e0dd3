"""A real OpenLDAP directory (Debian's slapd) for the production example's LDAP login.

slapd runs as a process on this machine with a configuration made here
(cn=config), a test CA and a server certificate, and the entries of the page's
LDIF. It listens on the host's address on Docker's default network, which the
hub's container reaches, and on 127.0.0.1 for the test's own ldapadd. Every
bind needs TLS (`olcSecurity: tls=1`): a hub that skipped StartTLS could not
log anyone in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import subprocess
from collections.abc import Iterator

from .certificates import free_port, make_ca, make_server_certificate
from .processes import serving

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "directory-admin-secret"  # the test directory's own manager, never shown to the hub

CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder}/slapd.pid
olcTLSCACertificateFile: {folder}/ca.crt
olcTLSCertificateFile: {folder}/server.crt
olcTLSCertificateKeyFile: {folder}/server.key
olcSecurity: tls=1

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {suffix}
olcDbDirectory: {folder}/data
olcRootDN: {root_dn}
olcRootPW: {root_password}
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none
"""


@dataclasses.dataclass(frozen=True)
class Directory:
    """A running directory: where the hub reaches it, and the CA that signed its certificate."""

    host: str
    port: int
    ca: pathlib.Path


def ldap_tool(tool: str, port: int, ca: pathlib.Path, *args: str, stdin: str | None = None):
    """ldapsearch or ldapadd as the directory's manager, over StartTLS (-ZZ), verifying the CA."""
    env = {"LDAPTLS_CACERT": str(ca), "LDAPTLS_REQCERT": "demand", "PATH": "/usr/bin:/bin"}
    command = [tool, "-x", "-ZZ", "-H", f"ldap://127.0.0.1:{port}", "-D", ROOT_DN, "-w", ROOT_PASSWORD, *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, check=False, timeout=30)


@contextlib.contextmanager
def directory(folder: pathlib.Path, host: str, entries: str) -> Iterator[Directory]:
    """Run slapd on `host` with the LDIF `entries` loaded; stop it at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").mkdir()
    (folder / "data").mkdir()
    ca = make_ca(folder)
    make_server_certificate(folder, host)
    hashed = subprocess.run(["slappasswd", "-s", ROOT_PASSWORD], capture_output=True, text=True, check=True)
    config = CONFIG.format(folder=folder, suffix=SUFFIX, root_dn=ROOT_DN, root_password=hashed.stdout.strip())
    subprocess.run(["slapadd", "-n0", "-F", str(folder / "config")], input=config, text=True, check=True,
                   capture_output=True)  # fmt: skip
    port = free_port(host)
    urls = " ".join(f"ldap://{address}:{port}/" for address in dict.fromkeys((host, "127.0.0.1")))

    def answers() -> bool:
        return ldap_tool("ldapsearch", port, ca, "-s", "base", "-b", SUFFIX).returncode in (0, 32)

    slapd = ["slapd", "-d", "none", "-h", urls, "-F", str(folder / "config")]
    with serving(slapd, folder / "slapd.log", "slapd (over StartTLS)", answers):
        added = ldap_tool("ldapadd", port, ca, stdin=entries)
        assert added.returncode == 0, f"ldapadd refused the entries:\n{added.stderr}"
        yield Directory(host, port, ca)
