"""Offers the team's Exasol database in a user's AI Lab configuration (an IPython startup file).

The hub's admin names the database once (EXASOL_DB_HOST and the others below,
which the hub passes to every AI Lab). Each user keeps her settings in her own
Secure Configuration Storage, which only her master password opens. When she
opens it with the AI Lab's "Open" button, which puts it into the kernel as
`ai_lab_config`, this fills in the database's address wherever her store has
none yet, through the notebook connector's own API. What she set herself wins,
and her credentials and master password stay hers alone.
"""

import os

from IPython import get_ipython

SETTINGS = {  # the connector's key: the variable the hub sets
    "db_host_name": "EXASOL_DB_HOST",
    "db_port": "EXASOL_DB_PORT",
    "db_schema": "EXASOL_DB_SCHEMA",
    "cert_vld": "EXASOL_DB_CERT_VALIDATION",
}


def offered_settings() -> dict[str, str]:
    """The admin's settings, in the connector's words (booleans as "True" and "False", as its UI stores them)."""
    offered = {key: os.environ[name].strip() for key, name in SETTINGS.items() if os.environ.get(name, "").strip()}
    if "cert_vld" in offered:
        offered["cert_vld"] = str(offered["cert_vld"].lower() in ("1", "true", "yes", "on"))
    # An Exasol database elsewhere (not the AI Lab's own Docker-DB); BucketFS on the same host.
    return {"storage_backend": "onprem", "use_itde": "False", "bfs_host_name": offered["db_host_name"], **offered}


def offer_team_database(*_):
    """After each cell: if the user's store is open, fill in what it lacks of the team's database."""
    from exasol.nb_connector.ai_lab_config import AILabConfig as CKey
    from exasol.nb_connector.secret_store import Secrets

    store = get_ipython().user_ns.get("ai_lab_config")
    if not isinstance(store, Secrets):
        return
    if store.get(CKey.storage_backend) == "saas" or store.get(CKey.use_itde) == "True":
        return  # she chose Exasol SaaS or the Docker-DB: leave her choice alone
    for key, value in offered_settings().items():
        if store.get(CKey[key]) is None:
            store.save(CKey[key], value)


if os.environ.get("EXASOL_DB_HOST", "").strip() and get_ipython() is not None:
    get_ipython().events.register("post_run_cell", offer_team_database)
