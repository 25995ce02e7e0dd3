"""The production config without Docker: each way to log in loads and names only real traits.

The logins themselves run against real servers elsewhere (test_production_oidc.py,
test_production_ldap.py); here each branch is loaded as JupyterHub loads it, and
every setting must be a trait of the installed authenticator.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import types

import pytest
from ailab_guide import hubconfig, versions
from harness import blocks, checks, paths
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler

CONFIG = paths.EXAMPLES / "production" / "jupyterhub_config.py"
PAGE = "production.md"


def quote(name: str) -> str:
    return blocks.named(PAGE, name).text.strip()


def load(**overrides: str):
    env = {**hubconfig.compose_environment("production"), **overrides}
    return hubconfig.load(CONFIG, env)


def test_native_login_is_the_default():
    config = load()
    assert issubclass(config.JupyterHub.authenticator_class, NativeAuthenticator)
    assert config.NativeAuthenticator.open_signup is False, "sign-ups must wait for an admin"
    checks.configs.check_config(config)


def test_nativeauthenticator_still_needs_the_statsd_workaround():
    """The page says nativeauthenticator's login fails on JupyterHub 6 without the workaround: reproduce it.

    When this fails, a release has fixed it: remove the workaround from the
    config and the page.
    """
    handler = LoginHandler.__new__(LoginHandler)  # the login page's handler, without a running hub
    handler.request = types.SimpleNamespace(arguments={})
    with pytest.raises(AttributeError) as caught:
        asyncio.run(handler.post())
    error = f"AttributeError: {caught.value}"
    blocks.assert_in_output(blocks.named(PAGE, "production-statsd-error"), error, exact=True)
    assert "class NativeLoginHandler(LoginHandler)" in quote("production-statsd-workaround")
    workaround = load().JupyterHub.authenticator_class
    handlers = dict(workaround.get_handlers(workaround.__new__(workaround), app=None))
    assert handlers["/login"].statsd.timer("login.authenticate").start().stop() is None


def test_the_openid_connect_branch_names_only_real_traits():
    """The load takes the branch the page shows (its lines run), so the check speaks for that block."""
    settings = {"HUB_LOGIN": "oidc", "HUB_PUBLIC_URL": "https://hub.example.com"}
    shown = blocks.named(PAGE, "production-oidc")
    assert not checks.configs.runs_by_default(shown), "the default settings now run the OpenID Connect branch"
    env = {**hubconfig.compose_environment("production"), **settings}
    assert checks.configs.fragment_lines(shown) & checks.configs.lines_run(CONFIG, env), "the branch did not run"
    config = load(**settings)
    assert config.JupyterHub.authenticator_class == "generic-oauth"
    assert config.GenericOAuthenticator.oauth_callback_url == "https://hub.example.com/hub/oauth_callback"
    checks.configs.check_config(config)
    blocks.note(shown, blocks.VALIDATED)


def test_the_ldap_branch_names_only_real_traits():
    """The LDAP branch with the page's settings (and what ldap.yml adds) loads, and names only real traits."""
    shown = blocks.named("https-and-logins.md", "ldap-login")
    settings = {
        **dict(re.findall(r"^(LDAP_\w+)=(.*)$", blocks.named("https-and-logins.md", "ldap-settings").text, re.M)),
        "HUB_LOGIN": "ldap",
        "LDAP_PORT": "389",
    }
    assert not checks.configs.runs_by_default(shown), "the default settings now run the LDAP branch"
    env = {**hubconfig.compose_environment("production"), **settings}
    assert checks.configs.fragment_lines(shown) & checks.configs.lines_run(CONFIG, env), "the branch did not run"
    config = load(**settings)
    assert config.JupyterHub.authenticator_class == "ldap"
    assert config.LDAPAuthenticator.bind_dn_template == ["uid={username},ou=people,dc=example,dc=org"]
    checks.configs.check_config(config)
    blocks.note(shown, blocks.VALIDATED)


def test_an_unknown_login_stops_the_hub_with_the_choices():
    with pytest.raises(SystemExit, match="HUB_LOGIN=ladp is none of native, oidc, ldap"):
        load(HUB_LOGIN="ladp")


def test_the_page_shows_exactly_the_openid_connect_branch():
    """The page includes the branch between its markers; moved markers would show the wrong lines."""
    shown = blocks.named(PAGE, "production-oidc").text
    assert shown.startswith("# Log in with"), shown[:80]
    assert 'c.JupyterHub.authenticator_class = "generic-oauth"' in shown
    assert "NativeAuthenticator" not in shown and "[oidc-login" not in shown


@pytest.mark.parametrize("variable", ["HUB_ADMIN", "IDLE_TIMEOUT", "USER_MEM_LIMIT"])
def test_a_missing_setting_stops_the_hub_with_its_name(variable):
    with pytest.raises(SystemExit, match=variable):
        load(**{variable: ""})


def test_the_checks_use_the_versions_the_example_pins():
    """The trait checks and the reference read the installed packages: they must be the pinned ones."""
    pins = versions.pins("production")
    for package, key in [
        ("jupyterhub", "JUPYTERHUB_VERSION"),
        ("dockerspawner", "DOCKERSPAWNER_VERSION"),
        ("jupyterhub-nativeauthenticator", "NATIVEAUTHENTICATOR_VERSION"),
        ("oauthenticator", "OAUTHENTICATOR_VERSION"),
        ("jupyterhub-ldapauthenticator", "LDAPAUTHENTICATOR_VERSION"),
        ("jupyterhub-idle-culler", "IDLE_CULLER_VERSION"),
    ]:
        assert importlib.metadata.version(package) == pins[key], f"{package}: install with nox (noxfile.install)"


def test_both_examples_pin_the_same_versions_where_they_share_them():
    """Both build the users' image from one Dockerfile; different pins would give two images under one recipe."""
    minimal, production = versions.pins("minimal"), versions.pins("production")
    for key in minimal:
        assert production.get(key) == minimal[key], f"{key} differs between minimal/.env and production/.env"


def test_the_pages_table_of_settings_shows_the_compose_files_defaults():
    """The page lists each variable with its default; compose's `${NAME:-default}` is the truth."""
    compose_text = (paths.EXAMPLES / "production" / "docker-compose.yml").read_text()
    defaults = dict(re.findall(r"\$\{(\w+):-([^}]*)\}", compose_text))
    read = set(re.findall(r"\$\{(\w+)", compose_text))  # every variable compose reads
    page = (paths.DOCS / PAGE).read_text()
    rows = re.findall(r"^\| (`\w+`(?:, `\w+`)*) \| ([^|]+) \|", page, re.M)
    assert rows, "the settings table is gone from the production page"
    listed = {name for names, _ in rows for name in re.findall(r"`(\w+)`", names)}
    unlisted = read - listed - set(versions.pins("production"))  # the versions are .env's, explained above
    assert not unlisted, f"docker-compose.yml reads {sorted(unlisted)}, which the page's table of settings leaves out"
    for names, shown in rows:
        for name, value in zip(re.findall(r"`(\w+)`", names), re.findall(r"`([^`]*)`", shown) or [""], strict=False):
            assert name in read, f"the page's table lists {name}, which docker-compose.yml does not read"
            if defaults.get(name) or value:  # a value the page shows must be compose's default, and the reverse
                assert value == defaults.get(name), (
                    f"the page says {name} defaults to {value!r}, compose to {defaults.get(name)!r}"
                )
