"""JupyterHub configuration for the minimal example: one AI Lab container per user.

Values that differ per installation come from the environment, which
docker-compose.yml sets; everything else is fixed here with the reason for it.
"""

import os

c = get_config()  # noqa: F821 (JupyterHub provides get_config when it loads this file)


def required(name: str) -> str:
    """Read a setting from the environment, or stop with a message naming it."""
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"jupyterhub_config.py: set the environment variable {name} (see the minimal example page).")
    return value


# --- Login: a trial on this machine only -------------------------------------
# Any user name with one shared password (at least 8 characters). Acceptable
# only because the login page is published on 127.0.0.1: do not share this hub
# beyond this machine without a real authenticator (see the limitations page).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = required("TRIAL_PASSWORD")
# Since JupyterHub 5 nobody may log in unless allowed; in this trial, everyone.
c.Authenticator.allow_all = True

# --- The hub and its state ----------------------------------------------------
# Inside the container the proxy listens on all interfaces; compose publishes
# it on the host's 127.0.0.1 only.
c.JupyterHub.bind_url = "http://0.0.0.0:8000"
# The hub API binds to the hub container's address on the user network, where
# the AI Lab containers reach it by the service name (the default 127.0.0.1
# is unreachable from another container).
c.JupyterHub.hub_ip = "hub"
# Database and cookie secret live on the hub-data volume, so users and their
# logins survive `docker compose down` and `up` (the hub stops running servers
# when it stops). The cookie secret is generated on first start; no secret is
# in this folder or the image.
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/srv/jupyterhub/data/jupyterhub_cookie_secret"

# --- One AI Lab container per user -------------------------------------------
c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = required("AI_LAB_IMAGE")
# The image is built on this machine by compose; there is nothing to pull.
c.DockerSpawner.pull_policy = "never"
# The compose network; its real name, which compose does not prefix.
c.DockerSpawner.network_name = required("DOCKER_NETWORK_NAME")
# Containers are disposable: the notebooks live on the user's volume. A kept
# container would be started again as it is, with the image and settings it was
# created with, even after the image or this file changed.
c.DockerSpawner.remove = True
c.DockerSpawner.name_template = "ai-lab-{username}"
# One named volume per user, on the AI Lab's notebook folder. On first use
# Docker fills it from the image, owned by the notebook user.
c.DockerSpawner.volumes = {"ai-lab-notebooks-{username}": "/home/jupyter/notebooks"}
c.DockerSpawner.notebook_dir = "/home/jupyter/notebooks"
# Open the AI Lab start page after login.
c.DockerSpawner.default_url = "/lab/tree/start.ipynb"
# The AI Lab image is large; give a cold start time before the hub gives up.
c.DockerSpawner.start_timeout = 300
c.DockerSpawner.http_timeout = 120
# Least privilege: the server runs as the notebook user and needs no Linux
# capabilities; sudo inside the container cannot gain any either.
c.DockerSpawner.extra_host_config = {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"]}
