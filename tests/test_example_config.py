"""What the configuration page promises about bad settings, shown on the real config file."""

from __future__ import annotations

import pytest
from ailab_guide import hubconfig
from harness import paths
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

CONFIG = paths.MINIMAL / "jupyterhub_config.py"


@pytest.mark.parametrize("name", sorted(hubconfig.compose_environment("minimal")))
def test_a_missing_variable_stops_the_hub_naming_it(name: str) -> None:
    env = hubconfig.compose_environment("minimal")
    env[name] = ""
    with pytest.raises(SystemExit, match=f"set the environment variable {name}"):
        hubconfig.load(CONFIG, env)


def test_a_trial_password_under_8_characters_is_refused() -> None:
    env = {**hubconfig.compose_environment("minimal"), "TRIAL_PASSWORD": "short"}
    config = hubconfig.load(CONFIG, env)
    with pytest.raises(ValueError, match="at least 8 characters"):
        SharedPasswordAuthenticator(config=config)
