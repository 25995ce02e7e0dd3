"""Three Docker engines on one machine, for the swarm page: a manager, two workers and a registry.

Each node is a privileged container running Debian's own Docker engine (the
docker.io the host gets from trixie), with its own address on a bridge
network of the test's; its /var/lib/docker is a volume (overlay2 cannot sit
on overlay2). A fourth container runs Debian's registry (docker-registry) over
TLS, with a test CA. The harness does not join the nodes into a swarm or make
them trust the registry: the swarm page's own blocks do that, run against each
node's engine through its socket, which each node also offers at
/run/ailab-guide-swarm/<node>/docker.sock on the host.

Everything on the host engine is named `ailab-guide-swarm-…` and removed in
`finally`, with the host's trust of the registry (which the page's block adds).
The host's own engine never joins the swarm.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pathlib
import shutil
import tarfile
import tempfile
from collections.abc import Iterator

import docker
import docker.errors

from . import certificates, wait

PREFIX = "ailab-guide-swarm-"
BASE_IMAGE = "ailab-guide/debian-base:bookworm"
NODE_IMAGE = f"{PREFIX}node:bookworm"
NETWORK = f"{PREFIX}net"
NODES = ("manager", "worker1", "worker2")  # also their hostnames, the names `docker node ls` shows
REGISTRY_PORT = 5000
SOCKETS = pathlib.Path("/run/ailab-guide-swarm")
HOST_CERTS_D = pathlib.Path("/etc/docker/certs.d")

# The same engine as the host's (.ci/setup-machine: docker.io from trixie, pinned low so that only
# what is asked for comes from there); bookworm's docker-registry in the same image, so one build
# serves nodes and registry. A restarted node finds the pid files of its last run, which name
# processes that are gone: dockerd would refuse to start, so they go first.
DOCKERFILE = f"""\
FROM {BASE_IMAGE}
RUN printf 'deb http://deb.debian.org/debian trixie main\\n' >/etc/apt/sources.list.d/trixie.list \\
 && printf 'Package: *\\nPin: release n=trixie\\nPin-Priority: 100\\n' >/etc/apt/preferences.d/trixie \\
 && apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      docker.io/trixie docker-cli/trixie iptables iproute2 ca-certificates procps docker-registry \\
 && rm -rf /var/lib/apt/lists/*
LABEL org.ailab-guide.test-node="a Docker engine for the swarm page's tests"
CMD ["sh", "-c", "rm -rf /var/run/docker.pid /var/run/docker && \\
exec dockerd -H unix:///var/run/docker.sock -H unix:///sockets/docker.sock"]
"""

REGISTRY_CONFIG = f"""\
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
http:
  addr: :{REGISTRY_PORT}
  tls:
    certificate: /certs/registry.crt
    key: /certs/registry.key
"""
# The certificate names the registry's address, known only once its container runs: it waits for it.
REGISTRY_COMMAND = [
    "sh",
    "-c",
    "while [ ! -e /certs/ready ]; do sleep 0.1; done; exec docker-registry serve /etc/docker/registry/config.yml",
]


@dataclasses.dataclass
class Nodes:
    """The running engines and registry: what the test needs to address them."""

    containers: dict[str, docker.models.containers.Container]  # node name -> its container on the host
    addresses: dict[str, str]  # node name -> its address on NETWORK
    registry: str  # host:port
    ca_certificate: bytes  # the test CA that signed the registry's certificate

    def host(self, node: str) -> str:
        """DOCKER_HOST for a node's engine, for the docker CLI and SDK on this machine."""
        return f"unix://{SOCKETS / node / 'docker.sock'}"

    def client(self, node: str) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host(node), timeout=300)

    def run_as_root(self, node: str, script: str, files: dict[str, bytes] | None = None) -> str:
        """A shell script on the node itself (not through its engine), as its admin runs one; its output."""
        container = self.containers[node]
        if files:
            put_files(container, files)
        done = container.exec_run(["bash", "-euo", "pipefail", "-c", script], workdir="/root")
        output = done.output.decode(errors="replace")
        assert done.exit_code == 0, f"on {node} (exit {done.exit_code}):\n{script}\n--- output ---\n{output}"
        return output

    def stop(self, node: str) -> None:
        """The node goes away, as a machine that is switched off."""
        self.containers[node].kill()

    def start(self, node: str) -> None:
        """The node comes back: its engine starts again with its old state (the volume)."""
        self.containers[node].start()
        wait.wait_until(lambda: _answers(self.host(node)), 120, f"{node}'s engine did not answer after a start")


def put_files(container, files: dict[str, bytes], mode: int = 0o644) -> None:
    """Copy files into a container (put_archive takes a tar); parent folders are made."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    assert container.put_archive("/", buffer.getvalue())


def _answers(base_url: str) -> bool:
    try:
        return docker.DockerClient(base_url=base_url, timeout=5).ping()
    except docker.errors.DockerException:
        return False


def remove_everything(client: docker.DockerClient) -> None:
    """Every container, volume and network named ailab-guide-swarm-…, the sockets' folder and the host's trust."""
    for container in client.containers.list(all=True, filters={"name": PREFIX}):
        if container.name.startswith(PREFIX):
            container.remove(force=True, v=True)
    for volume in client.volumes.list(filters={"name": PREFIX}):
        if volume.name.startswith(PREFIX):
            volume.remove(force=True)
    for network in client.networks.list(names=[NETWORK]):
        network.remove()
    shutil.rmtree(SOCKETS, ignore_errors=True)


def _registry(client: docker.DockerClient) -> tuple[str, bytes]:
    """Start the registry; return its host:port and the CA that signed its certificate."""
    container = client.containers.run(
        NODE_IMAGE, REGISTRY_COMMAND, name=f"{PREFIX}registry", hostname="registry", detach=True, network=NETWORK,
        volumes={f"{PREFIX}registry-data": {"bind": "/var/lib/docker-registry", "mode": "rw"}},
    )  # fmt: skip
    container.reload()
    address = container.attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
    with tempfile.TemporaryDirectory(prefix=PREFIX) as scratch:
        folder = pathlib.Path(scratch)
        certificates.make_ca(folder)
        certificates.make_server_certificate(folder, address)
        put_files(container, {
            "/etc/docker/registry/config.yml": REGISTRY_CONFIG.encode(),
            "/certs/registry.crt": (folder / "server.crt").read_bytes(),
            "/certs/registry.key": (folder / "server.key").read_bytes(),
            "/certs/ready": b"",
        })  # fmt: skip
        ca = (folder / "ca.crt").read_bytes()
    registry = f"{address}:{REGISTRY_PORT}"
    probe = [
        "python3", "-c",
        f"import ssl, urllib.request as u; u.urlopen('https://{registry}/v2/', context=ssl.create_default_context("
        f"cadata={ca.decode()!r}))",
    ]  # fmt: skip
    wait.wait_until(lambda: container.exec_run(probe).exit_code == 0, 30, "the registry did not answer over TLS")
    return registry, ca


@contextlib.contextmanager
def running(client: docker.DockerClient) -> Iterator[Nodes]:
    """Build the node image, start three engines and the registry; remove everything in `finally`.

    The page's block that makes this machine (the build machine) trust the registry adds a folder
    under /etc/docker/certs.d: it goes too, with the folders above it that were not there before.
    """
    remove_everything(client)  # a killed run's leftovers
    missing = [folder for folder in (HOST_CERTS_D.parent, HOST_CERTS_D) if not folder.exists()]
    registry = ""
    try:
        with tempfile.TemporaryDirectory(prefix=PREFIX) as context:
            (pathlib.Path(context) / "Dockerfile").write_text(DOCKERFILE)
            client.images.build(path=context, tag=NODE_IMAGE, rm=True, forcerm=True)  # no buildx here
        client.networks.create(NETWORK, driver="bridge")
        containers = {}
        for node in NODES:
            (SOCKETS / node).mkdir(parents=True, exist_ok=True)
            containers[node] = client.containers.run(
                NODE_IMAGE, name=f"{PREFIX}{node}", hostname=node, privileged=True, detach=True, network=NETWORK,
                volumes={
                    f"{PREFIX}{node}-lib": {"bind": "/var/lib/docker", "mode": "rw"},
                    str(SOCKETS / node): {"bind": "/sockets", "mode": "rw"},
                },
            )  # fmt: skip
        registry, ca = _registry(client)
        nodes = Nodes(containers, {}, registry, ca)
        for node, container in containers.items():
            wait.wait_until(lambda n=node: _answers(nodes.host(n)), 120, f"{node}'s engine did not answer")
            container.reload()
            nodes.addresses[node] = container.attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
        yield nodes
    finally:
        remove_everything(client)
        if registry:
            shutil.rmtree(HOST_CERTS_D / registry, ignore_errors=True)
        for folder in reversed(missing):
            with contextlib.suppress(OSError):
                folder.rmdir()
