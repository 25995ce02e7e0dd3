"""The production example's LDAP login, against a real OpenLDAP directory (Debian's slapd).

The directory holds the page's LDIF, unchanged, and accepts binds only over TLS.
The page's settings block goes into .env unchanged; only the directory's
address and port come from the environment (the report records them), and the
CA is the test directory's own, copied where the page says. People log in
through the hub's login form, as a browser would.
"""

from __future__ import annotations

import shutil

import pytest
from harness import blocks, certificates, engine, hub, ldap, production

PAGE = "https-and-logins.md"
PEOPLE = ("alice", "ada", "eve")  # in the users' group, in the admins' group, in neither (the page's LDIF)
PASSWORDS = {name: f"{name}-ldap-password" for name in PEOPLE}  # what the LDIF's hashes were made from


def block(name: str):
    return blocks.named(PAGE, name)


@pytest.fixture(scope="module")
def directory(docker_client, tmp_path_factory):
    with ldap.directory(
        tmp_path_factory.mktemp("slapd"), engine.host_address(docker_client), block("ldap-directory").text
    ) as running:
        blocks.note(block("ldap-directory"), blocks.RAN)
        yield running


@pytest.fixture(scope="module")
def stack(docker_client, base_images, directory, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("production-ldap")
    env = {"LDAP_SERVER": directory.host, "LDAP_PORT": str(directory.port)}

    def copy_the_ca(folder):
        """The reader's step in words: the directory's CA certificate at secrets/ldap-ca.crt."""
        (folder / "secrets").mkdir(exist_ok=True)
        shutil.copyfile(directory.ca, folder / "secrets" / "ldap-ca.crt")

    steps = (block("ldap-settings"), copy_the_ca)
    with production.running(docker_client, scratch, PEOPLE, env=env, steps=steps) as up:
        yield up


def hub_log(docker_client) -> str:
    return production.hub_container(docker_client).logs().decode()


def test_a_member_of_the_ldap_users_group_logs_in_and_gets_an_ai_lab(stack, docker_client):
    container = production.hub_container(docker_client)
    files = container.labels["com.docker.compose.project.config_files"].split(",")
    assert [f.rsplit("/", 1)[-1] for f in files] == ["docker-compose.yml", "ldap.yml"], files
    blocks.assert_files_in_use("production", {"ldap.yml": (stack["folder"] / "ldap.yml").read_text()})
    assert "/run/secrets/ldap_ca" in [m["Destination"] for m in container.attrs["Mounts"]]
    alice = production.person(stack, "alice")
    alice.login(PASSWORDS["alice"])
    assert alice.model()["admin"] is False, alice.model()
    alice.start()
    assert alice.run_code("import getpass; print(getpass.getuser())").strip() == "jupyter"
    blocks.note(block("ldap-login"), blocks.STARTED)


def test_a_member_of_the_ldap_admins_group_becomes_an_admin(stack):
    ada = production.person(stack, "ada")
    ada.login(PASSWORDS["ada"])
    assert ada.model()["admin"] is True, ada.model()
    listed = ada.api("GET", "/users")
    assert listed.status_code == 200 and "ada" in {u["name"] for u in listed.json()}, listed.text[:300]


def test_someone_outside_the_ldap_groups_is_refused(stack, docker_client):
    eve = production.person(stack, "eve")
    shown = eve.login_error(PASSWORDS["eve"])
    blocks.assert_in_output(block("ldap-refused"), shown, exact=True)
    blocks.assert_in_output(blocks.named("troubleshooting.md", "trouble-ldap-not-allowed"), hub_log(docker_client))
    alice = production.person(stack, "alice")
    assert alice.login_error("not-alices-password") == shown
    blocks.assert_in_output(blocks.named("troubleshooting.md", "trouble-ldap-bind"), hub_log(docker_client))


def test_the_hub_trusts_only_the_directorys_ca(stack, directory, docker_client, tmp_path):
    """Another CA in the secret's file: the next login fails on the certificate; the right one back, it works."""
    secret = stack["folder"] / "secrets" / "ldap-ca.crt"
    other = certificates.make_ca(tmp_path, "other-ca")
    shutil.copyfile(other, secret)  # as `cp` does: the same file, new content
    try:
        alice = production.person(stack, "alice")
        with pytest.raises(hub.HubError):
            alice.login(PASSWORDS["alice"])
        quote = blocks.named("troubleshooting.md", "trouble-ldap-tls")
        blocks.assert_in_output(quote, hub_log(docker_client))
    finally:
        shutil.copyfile(directory.ca, secret)
    production.person(stack, "alice").login(PASSWORDS["alice"])
