"""The production example's OpenID Connect login, through a real provider (npm's oidc-provider).

The page's download starts after the page's OIDC settings block has gone into
.env, unchanged. The provider is registered with that block's client id, secret
and group names; only its addresses differ (the page's are example.com), and the
environment gives the real ones, which the report records. Three people log in
as a browser would: a member of the users' group, someone outside it, and a
member of the admins' group.
"""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from harness import blocks, engine, oidc, production

PAGE = production.PAGE
PEOPLE = ("ada", "bob", "cy")  # in the users' group, in neither group, in the admins' group
HUB = f"https://127.0.0.1:{production.PORT}"


@pytest.fixture(scope="module")
def settings() -> dict[str, str]:
    """What the page's block writes into .env: the client, its secret and the two groups."""
    return oidc.page_settings(production.block("production-oidc-settings"))


@pytest.fixture(scope="module")
def provider(docker_client, settings):
    groups = [[settings["OIDC_USERS_GROUP"]], ["sales"], [settings["OIDC_ADMINS_GROUP"]]]
    client = oidc.registered_client(settings, HUB)
    with oidc.provider(engine.host_address(docker_client), client, dict(zip(PEOPLE, groups, strict=True))) as running:
        yield running


@pytest.fixture(scope="module")
def stack(docker_client, base_images, provider, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("production-oidc")
    addresses = provider.addresses(HUB)
    with production.running(
        docker_client, scratch, PEOPLE, env=addresses, steps=(production.block("production-oidc-settings"),)
    ) as up:
        yield up


def test_a_member_of_the_users_group_logs_in_with_pkce_and_gets_an_ai_lab(stack, settings):
    ada = production.person(stack, "ada")
    authorize, answer = oidc.log_in(ada)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    assert query.get("code_challenge_method") == ["S256"] and query.get("code_challenge"), authorize
    assert answer.status_code == 302 and "jupyterhub-session-id" in ada.session.cookies, answer.status_code
    model = ada.model()
    assert (model["admin"], model["groups"]) == (False, [settings["OIDC_USERS_GROUP"]]), model
    ada.start()
    assert ada.run_code("import getpass; print(getpass.getuser())").strip() == "jupyter"
    blocks.note(blocks.named(PAGE, "production-oidc"), blocks.STARTED)


def test_someone_outside_the_users_group_is_refused(stack):
    bob = production.person(stack, "bob")
    _, answer = oidc.log_in(bob)
    assert answer.status_code == 403, f"bob got HTTP {answer.status_code}"
    assert "jupyterhub-session-id" not in bob.session.cookies
    blocks.assert_in_output(blocks.named(PAGE, "production-oidc-refused"), oidc.visible_text(answer.text))


def test_a_member_of_the_admins_group_becomes_an_admin(stack):
    cy = production.person(stack, "cy")
    _, answer = oidc.log_in(cy)
    assert answer.status_code == 302, f"cy got HTTP {answer.status_code}"
    assert cy.model()["admin"] is True, cy.model()
    listed = cy.api("GET", "/users")
    assert listed.status_code == 200 and {"ada", "cy"} <= {u["name"] for u in listed.json()}, listed.text[:300]


def test_a_redirect_url_the_provider_does_not_know_is_refused_as_quoted(stack, settings, docker_client):
    """The hub's own request to a provider that registered another redirect URL for the client (a second provider)."""
    client = oidc.registered_client(settings, settings["HUB_PUBLIC_URL"])  # the page's example address
    visitor = production.person(stack, "ada")
    request = visitor.session.get(f"{stack['url']}/hub/oauth_login", allow_redirects=False, timeout=30)
    query = urllib.parse.urlsplit(request.headers["Location"]).query
    with oidc.provider(
        engine.host_address(docker_client), client, {"ada": [settings["OIDC_USERS_GROUP"]]}
    ) as elsewhere:
        refused = requests.get(f"{elsewhere.issuer}/auth?{query}", timeout=30)
    assert refused.status_code == 400, refused.status_code
    blocks.assert_in_output(
        blocks.named("troubleshooting.md", "trouble-oidc-redirect"), oidc.visible_text(refused.text)
    )
