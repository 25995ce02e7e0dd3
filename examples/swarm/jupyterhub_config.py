"""JupyterHub configuration for the swarm example: one AI Lab service per user.

SwarmSpawner asks the swarm for a service per user; the swarm picks a node
and runs the service's one task there. Values that differ per installation
come from the environment, which docker-stack.yml sets.
"""

import collections
import os

from docker.types import Mount, RestartPolicy
from dockerspawner import SwarmSpawner

c = get_config()  # noqa: F821 (JupyterHub provides get_config when it loads this file)


def required(name: str) -> str:
    """Read a setting from the environment, or stop with a message naming it."""
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"jupyterhub_config.py: set the environment variable {name} (see the swarm page).")
    return value


NOTEBOOKS = "/home/jupyter/notebooks"

# --- Login: a trial -----------------------------------------------------------
# Any user name with one shared password, as in the minimal example. Swarm
# publishes the port on every interface of the node: keep it behind a firewall,
# or use the authenticator and HTTPS of the production setup instead.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = required("TRIAL_PASSWORD")
c.Authenticator.allow_all = True

# --- The hub and its state ------------------------------------------------------
c.JupyterHub.bind_url = "http://0.0.0.0:8000"
# The hub API listens on all of the hub container's interfaces; the users'
# services reach it by the service name `hub` on the overlay network. (Binding
# to the name itself fails where the name resolves to a virtual IP.)
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = "hub"
# Database and cookie secret on the hub-data volume (see docker-stack.yml).
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/srv/jupyterhub/data/jupyterhub_cookie_secret"

# --- One AI Lab service per user ------------------------------------------------
c.SwarmSpawner.image = required("AI_LAB_IMAGE")
# SwarmSpawner never pulls (its pull_policy defaults to "skip"): the node that
# runs a user's task must have the image, built there or pulled from a registry.
# The command is given here so the hub's node does not need the image to read it.
c.SwarmSpawner.cmd = ["jupyterhub-singleuser"]
# The overlay network of the stack, by its real name.
c.SwarmSpawner.network_name = required("DOCKER_NETWORK_NAME")
# Names apart from the minimal example's containers and volumes, so both can
# run on one machine.
c.SwarmSpawner.name_template = "ai-lab-swarm-{username}"
# There is no `remove` to set: SwarmSpawner always removes a user's service
# when the server stops. The notebooks live on the user's volume.
# The hub, not the swarm, decides when a server runs: a server that exits is
# not restarted behind the hub's back.
c.SwarmSpawner.extra_task_spec = {"restart_policy": RestartPolicy(condition="none")}
# Least privilege: the server runs as the notebook user and needs no Linux
# capabilities. (Swarm services have no `no-new-privileges` option on Docker
# 20.10, unlike the minimal example's containers.)
c.SwarmSpawner.extra_container_spec = {"cap_drop": ["ALL"]}
# Limits per server, and a reservation that the swarm uses to place services
# on nodes with room. Size them to your nodes and notebooks.
c.SwarmSpawner.mem_limit = "4G"
c.SwarmSpawner.mem_guarantee = "1G"
c.SwarmSpawner.cpu_limit = 1.0
c.SwarmSpawner.notebook_dir = NOTEBOOKS
c.SwarmSpawner.default_url = "/lab/tree/start.ipynb"
c.SwarmSpawner.start_timeout = 300
c.SwarmSpawner.http_timeout = 120


# A user's notebooks stay on the node of her first start: a named volume lives
# on one node. This node label names that node for her; the admin moves a user
# by moving her volume and the label (see "A node goes away" on the swarm page).
HOME_LABEL = "ai-lab-swarm.home.{}"


class AILabSwarmSpawner(SwarmSpawner):
    """SwarmSpawner that keeps each user on one node, and reaches her server at its task's address."""

    async def start(self):
        home = await self.home_node()
        self.extra_placement_spec = {"constraints": [f"node.id == {home['ID']}"]}
        return await super().start()

    async def home_node(self) -> dict:
        """The node with the user's notebooks; at her first start, the worker with the most memory unreserved."""
        label = HOME_LABEL.format(self.escaped_name)
        nodes = await self.docker("nodes")
        homes = [node for node in nodes if label in node["Spec"].get("Labels", {})]
        if homes:
            home = homes[0]
            state, availability = home["Status"]["State"], home["Spec"]["Availability"]
            if (state, availability) != ("ready", "active"):
                why = state if state != "ready" else {"drain": "drained", "pause": "paused"}.get(availability)
                raise RuntimeError(
                    f"Your notebooks are on the node {home['Description']['Hostname']}, which is {why}. "
                    "Ask your admin to bring it back or to move your notebooks to another node."
                )
            return home
        workers = [
            node
            for node in nodes
            if node["Spec"]["Role"] == "worker"
            and node["Status"]["State"] == "ready"
            and node["Spec"]["Availability"] == "active"
        ]
        if not workers:
            raise RuntimeError("No worker node of the swarm is ready for a new user's notebooks.")
        reserved = collections.Counter()
        for task in await self.docker("tasks", filters={"desired-state": "running"}):
            reservations = task["Spec"].get("Resources", {}).get("Reservations", {})
            reserved[task.get("NodeID")] += reservations.get("MemoryBytes", 0)

        def room(node):
            return node["Description"]["Resources"]["MemoryBytes"] - reserved[node["ID"]]

        home = min(workers, key=lambda node: (-room(node), node["Description"]["Hostname"]))
        spec = {**home["Spec"], "Labels": {**home["Spec"].get("Labels", {}), label: "true"}}
        await self.docker("update_node", home["ID"], home["Version"]["Index"], spec)
        self.log.info("%s's notebooks go to the node %s", self.user.name, home["Description"]["Hostname"])
        return home

    async def get_ip_and_port(self):
        """The task's own address: the service name went on resolving to a stopped server's address.

        When a user restarts, the new service has the same name, and the hub's
        DNS answered with the old task's address: the new server never showed up.
        """
        task = await self.get_task()
        for attachment in task["NetworksAttachments"]:
            if attachment["Network"]["Spec"]["Name"] == self.network_name:
                return attachment["Addresses"][0].split("/")[0], self.port
        raise RuntimeError(f"{self.object_name} has no address on the network {self.network_name}")


def mount_notebook_volume(spawner):
    """Mount the user's named volume on the notebook folder.

    SwarmSpawner turns `volumes` into bind mounts, which need a host path; a
    named volume is what keeps the notebooks owned by the notebook user (Docker
    fills it from the image on first use). The volume lives on the node that
    runs the task.
    """
    volume = Mount(target=NOTEBOOKS, source=f"ai-lab-swarm-notebooks-{spawner.escaped_name}", type="volume")
    spawner.extra_container_spec = {**spawner.extra_container_spec, "mounts": [volume]}


c.JupyterHub.spawner_class = AILabSwarmSpawner
c.Spawner.pre_spawn_hook = mount_notebook_volume
