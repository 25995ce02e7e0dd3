"""JupyterHub configuration for the swarm example: the production hub, with one AI Lab service per user.

The production example's settings are loaded first: the same logins, HTTPS,
limits, sizes and idle culling. This file changes only what a swarm needs:
SwarmSpawner asks the swarm for a service per user, each user stays on the
node that holds her notebooks, and the hub is reached by its service name.
"""

import collections

from docker.types import Mount, RestartPolicy
from dockerspawner import SwarmSpawner

c = get_config()  # noqa: F821 (JupyterHub provides get_config when it loads this file)

# --- The production example's settings -------------------------------------------
# The path is relative to this file; the hub image keeps the two files as the
# download keeps the folders (Dockerfile.hub).
load_subconfig("../production/jupyterhub_config.py")  # noqa: F821 (provided like get_config)
if "authenticator_class" not in c.JupyterHub:  # load_subconfig passes over a missing file in silence
    raise SystemExit(
        "jupyterhub_config.py: ../production/jupyterhub_config.py is missing; "
        "keep the production folder next to this one (see the swarm page)."
    )

NOTEBOOKS = "/home/jupyter/notebooks"

# --- The hub, across nodes -----------------------------------------------------------
# The hub API listens on all of the hub container's interfaces; the users'
# services reach it by the service name `hub` on the overlay network. (Binding
# to the name itself fails where the name resolves to a virtual IP.)
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = "hub"

# --- One AI Lab service per user --------------------------------------------------------
# Settings for DockerSpawner (the production file's) hold for SwarmSpawner too,
# a subclass; these replace the ones a swarm cannot use.
# The node that runs a user's task pulls the image from the registry when the
# swarm gives it the task; the hub's node has no users' image to check.
c.SwarmSpawner.pull_policy = "skip"
# Given here so the hub's node does not need the image to read its command.
c.SwarmSpawner.cmd = ["jupyterhub-singleuser"]
# Names apart from the production example's containers and volumes.
c.SwarmSpawner.name_template = "ai-lab-swarm-{username}"
# SwarmSpawner makes bind mounts of `volumes`, which need a host path: the
# user's named volume is mounted by the hook at the end instead. The
# production example's team folder is left out: its volumes would be on one node.
c.SwarmSpawner.volumes = {}
# There is no `remove` to set: SwarmSpawner always removes a user's service
# when the server stops. The notebooks live on the user's volume.
# The hub, not the swarm, decides when a server runs: a server that exits is
# not restarted behind the hub's back.
c.SwarmSpawner.extra_task_spec = {"restart_policy": RestartPolicy(condition="none")}
# Least privilege: the server runs as the notebook user and needs no Linux
# capabilities. (Services take no `no-new-privileges` from SwarmSpawner, unlike
# the production example's containers.)
c.SwarmSpawner.extra_container_spec = {"cap_drop": ["ALL"]}
# The production limits hold (USER_MEM_LIMIT, the sizes); each server also
# reserves this much memory, which the swarm uses to place it on a node with room.
c.SwarmSpawner.mem_guarantee = "1G"


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


# The production example's hook: the size the user picked.
apply_size = c.DockerSpawner.pre_spawn_hook


def size_and_notebook_volume(spawner):
    """Apply the chosen size, then mount the user's named volume on the notebook folder.

    SwarmSpawner turns `volumes` into bind mounts, which need a host path; a
    named volume is what keeps the notebooks owned by the notebook user (Docker
    fills it from the image on first use). The volume lives on the node that
    runs the task.
    """
    apply_size(spawner)
    volume = Mount(target=NOTEBOOKS, source=f"ai-lab-swarm-notebooks-{spawner.escaped_name}", type="volume")
    spawner.extra_container_spec = {**spawner.extra_container_spec, "mounts": [volume]}


c.JupyterHub.spawner_class = AILabSwarmSpawner
c.SwarmSpawner.pre_spawn_hook = size_and_notebook_volume
