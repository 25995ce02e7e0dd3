"""A user's own packages in the production example: they live on her volume, and the AI Lab's stay as they are.

The production example starts from its page's download as the page sets it up;
a user runs the users page's `%pip install` line in a kernel (pip reaches PyPI
from her container), her server restarts, and a new kernel imports the package.
The copy runs with the page's layer of the team's packages, which only adds to
the constraints the user's installs are held to.
"""

from __future__ import annotations

import pytest
from ailab_guide import versions
from harness import blocks, production

PAGE = "users.md"
PASSWORD = "a-long-user-packages-password"


def block(name: str):
    return blocks.named(PAGE, name)


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("user-packages")
    with production.running(docker_client, scratch, ("ada",), steps=(block("users-team-packages"),)) as up:
        yield up


@pytest.fixture(scope="module")
def ada(stack):
    return production.started_user(stack, "ada", PASSWORD)


def test_a_package_a_user_installs_is_there_at_her_next_start(ada):
    installed = ada.run_code(block("users-pip-install").text, timeout=300)
    assert "Successfully installed tomli-w" in installed, installed[-2000:]
    assert "A new release of pip" not in installed, "pip advises an upgrade that would not take effect"
    ada.run_code("import tomli_w")  # a new kernel, as after a restart of hers
    ada.stop()
    ada.start()
    where = ada.run_code("import tomli_w; print(tomli_w.__file__)").strip()
    assert where.startswith("/home/jupyter/notebooks/.local/lib/"), where
    blocks.note(block("users-pip-install"), blocks.RAN)
    blocks.note(block("users-packages-config"), blocks.STARTED)


SQLALCHEMY = "import sqlalchemy, sqlalchemy_exasol; print(sqlalchemy.__version__, sqlalchemy.__file__)"


def test_an_install_that_would_change_the_ai_labs_packages_is_refused(ada):
    before = ada.run_code(SQLALCHEMY).split()
    assert before[0].startswith("1.") and before[1].startswith("/home/jupyter/jupyterenv/"), before
    refused = ada.run_code('%pip install "sqlalchemy>=2"', timeout=300)
    blocks.assert_in_output(block("users-pip-refused"), refused, each_line=True)
    assert ada.run_code(SQLALCHEMY).split() == before, "the AI Lab's SQLAlchemy changed"


def test_the_teams_packages_are_in_every_users_ai_lab(ada, docker_client):
    pins = versions.pins("production")
    image = production.user_container(docker_client, "ada").image
    team_image = f"ai-lab-production-team:{pins['AI_LAB_VERSION']}-jupyterhub-{pins['JUPYTERHUB_VERSION']}"
    assert team_image in image.tags, f"the hub started ada's server from {image.tags}, not the team's layer"
    where = ada.run_code("import slugify; print(slugify.__file__)").strip()
    assert where.startswith("/home/jupyter/jupyterenv/"), f"the team's package is not in the image: {where}"
    refused = ada.run_code("%pip install python-slugify==8.0.1", timeout=300)
    assert "The user requested (constraint) python-slugify==8.0.4" in refused, refused[-2000:]
    assert ada.run_code("import slugify; print(slugify.__file__)").strip() == where
    blocks.note(block("users-team-dockerfile"), blocks.RAN)
    blocks.note(block("users-team-compose"), blocks.STARTED)
