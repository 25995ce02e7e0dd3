"""What the configuration page promises about bad settings, shown on the real config file."""

from __future__ import annotations

import asyncio

import pytest
from ailab_guide import hubconfig
from harness import paths
from jupyterhub.app import JupyterHub
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

CONFIG = paths.MINIMAL / "jupyterhub_config.py"


@pytest.mark.parametrize("name", sorted(hubconfig.compose_environment("minimal")))
def test_a_missing_variable_stops_the_hub_naming_it(name: str) -> None:
    env = hubconfig.compose_environment("minimal")
    env[name] = ""
    with pytest.raises(SystemExit, match=f"set the environment variable {name}"):
        hubconfig.load(CONFIG, env)


def test_a_trial_password_under_8_characters_is_refused(monkeypatch) -> None:
    """The password exported before `docker compose up` reaches the hub through compose; under 8 characters it fails."""
    monkeypatch.setenv("TRIAL_PASSWORD", "short")  # as `export TRIAL_PASSWORD=...` sets it for compose
    env = hubconfig.compose_environment("minimal")
    config = hubconfig.load(CONFIG, env)
    with pytest.raises(ValueError, match="at least 8 characters"):
        SharedPasswordAuthenticator(config=config)


def admitted(config, name: str) -> bool:
    """Whether the authenticator the config names lets `name` in with the trial password."""
    authenticator = JupyterHub(config=config).authenticator_class(config=config)
    login = {"username": name, "password": config.SharedPasswordAuthenticator.user_password}
    return asyncio.run(authenticator.get_authenticated_user(None, login)) is not None


def test_without_allow_all_or_allowed_users_nobody_may_log_in() -> None:
    """Without its allow_all line the example's hub admits nobody, even with the right password; a list admits."""
    config = hubconfig.load(CONFIG, hubconfig.compose_environment("minimal"))
    assert admitted(config, "alice"), "the example as it is must let alice in: the check below would prove nothing"
    assert config.Authenticator.pop("allow_all") is True
    assert not admitted(config, "alice"), "without allow_all or allowed_users, alice got in"
    config.Authenticator.allowed_users = {"alice"}
    assert admitted(config, "alice") and not admitted(config, "bob"), "allowed_users does not decide who gets in"
