"""The Kubernetes page: its values.yaml, its versions and the image its build command makes.

No cluster runs here. The values are checked against the chart's values
schema and KubeSpawner's traits (tests/harness/kubernetes.py); the image is
built with the page's own command on a real Docker engine and started the way
the pod would start it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib.metadata
import re
import subprocess
import uuid

import docker.errors
import pytest
from docker.types import Mount
from harness import blocks, checks, downloads, engine, paths, shell, standins
from harness import kubernetes as k8s
from traitlets.config import Config

PAGE = "kubernetes.md"


@pytest.fixture(scope="module")
def checked() -> tuple[dict, str, dict]:
    return k8s.check(k8s.load())


def values_with(change) -> dict:
    values = copy.deepcopy(k8s.load())
    change(values)
    return values


def jupyter_ids(client, image: str) -> tuple[int, int]:
    """uid and gid of the image's `jupyter` user, as `id jupyter` prints them."""
    code, output = checks.images.run_in_image(client, image, ["jupyter"], entrypoint=["id"])
    assert code == 0, output
    match = re.search(r"uid=(\d+)\(jupyter\) gid=(\d+)\(", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


# --- the values, without Docker ----------------------------------------------------


def test_values_pass_the_chart_schema_and_kubespawner(checked) -> None:
    """helm would accept the values, every setting is a KubeSpawner trait, and the pod is as the page says."""
    merged, detail, pod = checked
    values = k8s.load()
    single = values["singleuser"]
    container = k8s.notebook_container(pod)
    assert container["image"] == f"{single['image']['name']}:{single['image']['tag']}"
    # cmd becomes the arguments: the image's ENTRYPOINT (start-ai-lab.sh) stays.
    assert "command" not in container or not container["command"]
    assert container["args"] == [single["cmd"]]
    mounts = [mount["mountPath"] for mount in container["volumeMounts"]]
    assert mounts == ["/home/jupyter/notebooks"]
    context = container["securityContext"]
    assert context["runAsUser"] == single["uid"]
    assert context["runAsGroup"] == single["fsGid"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["fsGroup"] == single["fsGid"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/lab/tree/start.ipynb"
    assert merged["singleuser"]["startTimeout"] > 300, "the chart's 300 s is short for a first pull of the AI Lab"
    assert merged["prePuller"]["hook"]["enabled"] and merged["prePuller"]["continuous"]["enabled"]
    assert "all configurable traits" in detail


def test_nobody_logs_in_until_an_authenticator_is_configured(checked) -> None:
    """The chart's dummy login admits anyone; with the example's hub.config it admits nobody."""
    merged, _, _ = checked
    hub_config = merged["hub"]["config"]
    name = hub_config["JupyterHub"]["authenticator_class"]
    assert name == "dummy", "the chart's default login changed; review the page's authentication advice"
    authenticator = importlib.metadata.entry_points(group="jupyterhub.authenticators")[name].load()
    login = {"username": "mallory", "password": "anything"}
    assert asyncio.run(authenticator().get_authenticated_user(None, login)) is not None  # the chart alone
    configured = authenticator(config=Config({"Authenticator": hub_config["Authenticator"]}))
    assert asyncio.run(configured.get_authenticated_user(None, login)) is None
    text = k8s.VALUES.read_text().lower()
    assert "password:" not in text and "secret" not in text


def test_env_pins_what_the_chart_bundles() -> None:
    """.env names the JupyterHub and KubeSpawner of the chart's hub image (its requirements.txt).

    values.yaml keeps that image: with a `hub.image` of its own, the hub's JupyterHub would be whatever
    that image installs, and the comparison below would prove nothing about it.
    """
    values = k8s.load()
    assert "image" not in (values.get("hub") or {}), (
        "values.yaml sets hub.image, so the hub no longer runs the chart's JupyterHub; the Kubernetes page "
        "says it does and that the tests refuse such a values.yaml"
    )
    assert k8s.validate(values)["hub"]["image"]["name"] == "quay.io/jupyterhub/k8s-hub", "the chart's hub image moved"
    pins = k8s.pins()
    requirements = (k8s.CHARTS / pins["Z2JH_CHART_VERSION"] / "hub-requirements.txt").read_text()
    bundled = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements, re.M))
    assert bundled["jupyterhub"] == pins["JUPYTERHUB_VERSION"]
    assert bundled["jupyterhub-kubespawner"] == pins["KUBESPAWNER_VERSION"]
    assert k8s.installed_kubespawner() == pins["KUBESPAWNER_VERSION"]


def test_the_pinned_hub_predates_jupyterhub_5_5_1() -> None:
    """The JupyterHub that .env pins, the chart's, is older than the security release 5.5.1 (as the page says)."""
    pinned = k8s.pins()["JUPYTERHUB_VERSION"]
    assert tuple(int(part) for part in pinned.split(".")) < (5, 5, 1), (
        f".env pins JupyterHub {pinned}, which has the fixes of 5.5.1: revise 'JupyterHub updates' on kubernetes.md"
    )


def bytes_of(size: str | int) -> int:
    """A KubeSpawner memory size in bytes: K, M, G and T count in 1024s (2G is 2 GiB)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", str(size))
    assert match, f"{size!r} is no memory size KubeSpawner reads"
    number, unit = match.groups()
    return int(float(number) * 1024 ** ("_KMGT".index(unit) if unit else 0))


def test_each_user_gets_the_memory_and_cpu_values_yaml_sets(checked) -> None:
    """The chart sets no limit; values.yaml's limits become the pod's limits and its guarantees the pod's requests.

    Memory sizes reach the pod in bytes, with G read as GiB. The CPU guarantee is set and below the
    limit, so Kubernetes does not reserve the whole limit for every pod.
    """
    _, _, pod = checked
    chart = k8s.chart_file("values.yaml")["singleuser"]
    assert chart["memory"]["limit"] is None and chart["cpu"]["limit"] is None, "the chart sets a limit of its own now"
    single = k8s.load()["singleuser"]
    memory, cpu = single["memory"], single["cpu"]
    resources = k8s.notebook_container(pod)["resources"]
    assert resources["limits"]["memory"] == bytes_of(memory["limit"])
    assert resources["requests"]["memory"] == bytes_of(memory["guarantee"])
    assert str(memory["limit"]).endswith("G"), "the page and values.yaml speak of G read as GiB"
    assert resources["limits"]["cpu"] == cpu["limit"]
    assert resources["requests"]["cpu"] == cpu["guarantee"], "without a CPU guarantee the request is the limit"
    assert resources["requests"]["memory"] <= resources["limits"]["memory"], "Kubernetes refuses requests > limits"
    assert resources["requests"]["cpu"] < resources["limits"]["cpu"]


def test_idle_servers_are_culled_with_the_chart_defaults(checked) -> None:
    """values.yaml writes out the chart's culling defaults; the culler gets them; the notebooks are on a claim.

    The culler stops servers, not users (no --cull-users), and stopping a server deletes its pod: the
    notebooks folder is a mount of the user's PersistentVolumeClaim, not part of the pod.
    """
    merged, _, pod = checked
    cull = k8s.load()["cull"]
    defaults = k8s.chart_file("values.yaml")["cull"]
    assert defaults["enabled"] is True, "the chart no longer culls by default"
    assert {key: defaults[key] for key in cull} == cull, "values.yaml changes a culling default; the page says not"
    command = k8s.culler_command(merged)
    assert f"--timeout={cull['timeout']}" in command and f"--cull-every={cull['every']}" in command, command
    assert "--cull-users" not in command
    notebooks = k8s.load()["singleuser"]["storage"]["homeMountPath"]
    mounted = {m["name"] for m in k8s.notebook_container(pod).get("volumeMounts") or [] if m["mountPath"] == notebooks}
    claims = {v["name"] for v in pod["spec"].get("volumes") or [] if v.get("persistentVolumeClaim")}
    assert mounted and mounted <= claims, f"{notebooks} is not a mount of the user's volume claim"


def test_image_tag_names_the_pinned_versions() -> None:
    """values.yaml's tag names both pins of .env, and is the tag the page's build command gives the image.

    The install command's --version is compared with .env's chart version too (test_install_command_... in detail).
    """
    pins = k8s.pins()
    image = k8s.load()["singleuser"]["image"]
    tag = image["tag"]
    assert tag == f"{pins['AI_LAB_VERSION']}-jupyterhub-{pins['JUPYTERHUB_VERSION']}", (
        "values.yaml's image tag must name the versions in examples/kubernetes/.env, as the build command does"
    )
    # The build block's lines up to `docker build`, run from examples/ as the page says: the image they name.
    build = blocks.named(PAGE, "kubernetes-build").text.split("docker build", 1)[0] + 'echo "$IMAGE"'
    named = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", build], cwd=paths.EXAMPLES, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert named == f"{image['name']}:{tag}", f"the page builds {named}, values.yaml names {image['name']}:{tag}"
    install = blocks.named(PAGE, "kubernetes-install").text
    assert re.findall(r"--version (\S+)", install) == [pins["Z2JH_CHART_VERSION"]], "--version is not .env's chart"


@pytest.mark.usefixtures("checked")
def test_page_shows_the_checked_values_file() -> None:
    """The page's values block is the whole file that the chart's schema and KubeSpawner accepted (`checked`)."""
    blocks.assert_same_file(blocks.named(PAGE, "kubernetes-values"), k8s.VALUES.read_text(), blocks.VALIDATED)


def test_install_command_uses_the_pinned_chart_version() -> None:
    install = blocks.named(PAGE, "kubernetes-install").text
    assert re.findall(r"--version (\S+)", install) == [k8s.pins()["Z2JH_CHART_VERSION"]]
    assert "--values kubernetes/values.yaml" in install


def test_misspelt_key_is_refused_with_the_fix() -> None:
    values = values_with(lambda v: v["singleuser"].update(imag=v["singleuser"].pop("image")))
    with pytest.raises(k8s.ValuesInvalid) as failure:
        k8s.validate(values)
    assert str(failure.value) == (
        "singleuser.imag: the chart has no such setting, helm would refuse the values. Did you mean singleuser.image?"
    )


def test_wrong_type_is_refused() -> None:
    values = values_with(lambda v: v["singleuser"].update(startTimeout="ten minutes"))
    with pytest.raises(k8s.ValuesInvalid, match=r"singleuser\.startTimeout: 'ten minutes' is not of type"):
        k8s.validate(values)


def test_value_kubespawner_rejects_is_refused() -> None:
    """The schema lets anything through hub.config; KubeSpawner's trait does not."""
    values = values_with(lambda v: v["hub"]["config"]["KubeSpawner"].update(container_security_context="drop-all"))
    k8s.validate(values)  # helm would accept it
    with pytest.raises(k8s.ValuesInvalid, match=r"c\.KubeSpawner: The 'container_security_context' trait"):
        k8s.check(values)


def test_misspelt_trait_in_hub_config_names_the_trait() -> None:
    def misspell(values):
        section = values["hub"]["config"]["KubeSpawner"]
        section["container_securty_context"] = section.pop("container_security_context")

    with pytest.raises(k8s.ValuesInvalid) as failure:
        k8s.check(values_with(misspell))
    assert "KubeSpawner has no configurable trait 'container_securty_context'" in str(failure.value)
    assert "KubeSpawner.container_security_context" in str(failure.value)


def test_singleuser_value_kubespawner_rejects_names_the_values_key() -> None:
    values = values_with(lambda v: v["singleuser"].update(cmd=["jupyterhub-singleuser", 8888]))
    k8s.validate(values)
    with pytest.raises(k8s.ValuesInvalid, match=r"Spawner\.cmd is set by singleuser\.cmd in values\.yaml"):
        k8s.check(values)


def test_setting_the_check_cannot_map_is_refused() -> None:
    values = values_with(lambda v: v["singleuser"].update(extraLabels={"team": "ai"}))
    k8s.validate(values)  # a real chart setting
    with pytest.raises(k8s.ValuesInvalid, match=r"singleuser\.extraLabels: this check does not know"):
        k8s.check(values)


# --- the image, built with the page's command ------------------------------------------


def run_like_the_pod(client, image: str, pod: dict, volume: str) -> tuple[int, str]:
    """Start the image as KubeSpawner's pod would, on an empty volume prepared the way fsGroup prepares one."""
    container = k8s.notebook_container(pod)
    context, fs_group = container["securityContext"], pod["spec"]["securityContext"]["fsGroup"]
    mount_path = container["volumeMounts"][0]["mountPath"]
    # kubelet gives the volume to the fsGroup, group-writable with setgid; Docker has no fsGroup.
    code, output = engine.run_once(
        client,
        image,
        ["-c", f"chgrp {fs_group} /volume && chmod 2775 /volume"],
        entrypoint=["/bin/sh"],
        user="0",
        network_disabled=True,
        mounts=[Mount("/volume", volume, type="volume", no_copy=True)],
    )
    assert code == 0, output
    return engine.run_once(
        client,
        image,
        [*container["args"], "--version"],
        user=f"{context['runAsUser']}:{context['runAsGroup']}",
        group_add=[str(fs_group)],
        cap_drop=context["capabilities"]["drop"],
        security_opt=["no-new-privileges"],
        network_disabled=True,
        mounts=[Mount(mount_path, volume, type="volume", no_copy=True)],
    )


@pytest.mark.usefixtures("base_images")
def test_page_build_makes_the_image_values_yaml_runs(checked, docker_client, tmp_path) -> None:
    """The page's build command makes the image values.yaml names, with the chart's JupyterHub and its ids."""
    pins = k8s.pins()
    standins.ensure(docker_client, f"exasol/ai-lab:{pins['AI_LAB_VERSION']}")
    _, _, pod = checked
    image = k8s.notebook_container(pod)["image"]
    volume = f"{checks.NAME_PREFIX}k8s-{uuid.uuid4().hex[:8]}"
    try:
        examples_folder = downloads.unpacked_example(PAGE, "kubernetes", tmp_path / "download").parent
        shell.run_commands(blocks.named(PAGE, "kubernetes-build"), examples_folder, timeout=1200)
        docker_client.images.get(image)  # the tag values.yaml names exists now
        blocks.assert_files_in_use("kubernetes", {".env": (examples_folder / "kubernetes" / ".env").read_text()})

        assert checks.images.jupyterhub_version(docker_client, image) == pins["JUPYTERHUB_VERSION"]
        single = k8s.load()["singleuser"]
        assert jupyter_ids(docker_client, image) == (single["uid"], single["fsGid"]), (
            "singleuser.uid and fsGid in values.yaml must be `id jupyter` of the built image"
        )

        docker_client.volumes.create(volume)
        code, output = run_like_the_pod(docker_client, image, pod, volume)
        assert code == 0, f"entrypoint and cmd fail as the pod's user:\n{output[-3000:]}"
        assert output.strip().splitlines()[-1] == pins["JUPYTERHUB_VERSION"], output
        code, output = engine.run_once(
            docker_client,
            image,
            ["-c", "stat -c %U /notebooks/start.ipynb"],
            entrypoint=["/bin/sh"],
            network_disabled=True,
            mounts=[Mount("/notebooks", volume, type="volume", no_copy=True)],
        )
        assert (code, output.strip()) == (0, "jupyter"), f"start.ipynb was not copied into the volume: {output}"

        # The chart's image puller runs the image with its own command and security context.
        puller = k8s.validate(k8s.load())["prePuller"]["containerSecurityContext"]
        code, output = engine.run_once(
            docker_client,
            image,
            ["-c", 'echo "Pulling complete"'],
            entrypoint=["/bin/sh"],
            user=f"{puller['runAsUser']}:{puller['runAsGroup']}",
            cap_drop=puller["capabilities"]["drop"],
            security_opt=["no-new-privileges"],
            network_disabled=True,
        )
        assert (code, output.strip()) == (0, "Pulling complete"), output
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(volume).remove(force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(image)
