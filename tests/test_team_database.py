"""The team's Exasol database in every AI Lab: the admin's settings reach each user's own configuration store.

The production example starts with the users page's settings block in .env;
its host and port come from the environment and name a TCP listener of this
test (no Exasol database runs here), which the report records. A user opens
her store with the AI Lab's own widget in a kernel, as she would by clicking
Open in main_config.ipynb; other kernels read it back through the connector's API.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading

import pytest
from harness import blocks, engine, production
from harness.certificates import free_port

PAGE = "users.md"
PASSWORD = "a-long-team-database-password"
MASTER = "adas-own-master-password"
STORE = 'Path(os.environ["NOTEBOOKS"]) / "ai_lab_secure_configuration_storage.sqlite"'

OPEN_WITH_THE_WIDGET = """
import ipywidgets
from exasol.nb_connector.ui.access.access_store import get_access_store

def parts(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from parts(child)

form = list(parts(get_access_store()))
{file_line}
next(w for w in form if isinstance(w, ipywidgets.Password)).value = {master!r}
next(w for w in form if isinstance(w, ipywidgets.Button)).click()
print(type(ai_lab_config).__name__)
"""

READ_BACK = """
import json, os
from pathlib import Path
from exasol.nb_connector.ai_lab_config import AILabConfig as CKey
from exasol.nb_connector.secret_store import Secrets

store = Secrets({store}, {master!r})
print(json.dumps({{key.name: store.get(key) for key in CKey}}))
"""


def block(name: str):
    return blocks.named(PAGE, name)


class Listener:
    """A TCP listener in place of the database: it records the first bytes of each connection."""

    def __init__(self, host: str) -> None:
        self.host, self.port, self.seen = host, free_port(host), []
        self.server = socket.create_server((host, self.port))
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        with contextlib.suppress(OSError):  # closed at the end
            while True:
                connection, _ = self.server.accept()
                with connection:
                    connection.settimeout(5)
                    with contextlib.suppress(OSError):
                        self.seen.append(connection.recv(64))


@pytest.fixture(scope="module")
def database(docker_client):
    listener = Listener(engine.host_address(docker_client))
    yield listener
    listener.server.close()


@pytest.fixture(scope="module")
def stack(docker_client, base_images, database, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("team-database")
    env = {"EXASOL_DB_HOST": database.host, "EXASOL_DB_PORT": str(database.port)}
    with production.running(docker_client, scratch, ("ada",), env=env, steps=(block("users-team-database"),)) as up:
        yield up


@pytest.fixture(scope="module")
def ada(stack):
    return production.started_user(stack, "ada", PASSWORD)


def opened(user, file: str | None = None) -> None:
    """The user opens a store with the AI Lab's widget (her default one, or `file`)."""
    file_line = "" if file is None else f"next(w for w in form if type(w) is ipywidgets.Text).value = {file!r}"
    shown = user.run_code(OPEN_WITH_THE_WIDGET.format(file_line=file_line, master=MASTER))
    assert shown.strip() == "Secrets", shown


def read_back(user, store: str = STORE) -> dict:
    return json.loads(user.run_code(READ_BACK.format(store=store, master=MASTER)))


def test_the_team_database_is_offered_in_a_users_ai_lab_configuration(stack, ada, database, docker_client):
    settings = dict(line.split("=", 1) for line in block("users-team-database").text.splitlines() if "=" in line)
    container = production.user_container(docker_client, "ada")
    passed = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert passed["EXASOL_DB_HOST"] == database.host and passed["EXASOL_DB_SCHEMA"] == settings["EXASOL_DB_SCHEMA"]
    opened(ada)
    store = read_back(ada)
    offered = {key: store[key] for key in ("db_host_name", "db_port", "db_schema", "cert_vld")}
    assert offered == {
        "db_host_name": database.host,
        "db_port": str(database.port),
        "db_schema": settings["EXASOL_DB_SCHEMA"],
        "cert_vld": "True",
    }, store
    assert (store["storage_backend"], store["use_itde"]) == ("onprem", "False"), store
    assert store["db_user"] is None and store["db_password"] is None, "credentials filled in for her"
    ada.stop()
    ada.start()
    assert read_back(ada) == store, "the store changed over a restart"
    blocks.note(block("users-team-database-config"), blocks.STARTED)


def test_a_users_own_setting_wins_over_the_teams(stack, ada):
    own = 'Path(os.environ["NOTEBOOKS"]) / "own.sqlite"'
    ada.run_code(
        READ_BACK.format(store=own, master=MASTER).replace("print(", "store.save(CKey.db_schema, 'MINE'); print(")
    )
    opened(ada, "/home/jupyter/notebooks/own.sqlite")
    assert read_back(ada, own)["db_schema"] == "MINE"
    saas = 'Path(os.environ["NOTEBOOKS"]) / "saas.sqlite"'
    ada.run_code(
        READ_BACK.format(store=saas, master=MASTER).replace(
            "print(", "store.save(CKey.storage_backend, 'saas'); print("
        )
    )
    opened(ada, "/home/jupyter/notebooks/saas.sqlite")
    assert read_back(ada, saas)["db_host_name"] is None, "a SaaS user got the team's on-premise database"


def test_the_connector_connects_to_the_teams_database(stack, ada, database):
    opened(ada)
    attempt = READ_BACK.format(store=STORE, master=MASTER) + (
        "store.save(CKey.db_user, 'ada').save(CKey.db_password, 'her-database-password')\n"
        "from exasol.nb_connector.connections import open_pyexasol_connection\n"
        "try:\n    open_pyexasol_connection(store, connection_timeout=5)\n"
        "except Exception as failed:\n    print(type(failed).__name__)\n"
    )
    before = len(database.seen)
    ada.run_code(attempt)
    arrived = database.seen[before:]
    assert arrived and arrived[0][:2] == b"\x16\x03", f"no TLS handshake reached the listener: {arrived}"
