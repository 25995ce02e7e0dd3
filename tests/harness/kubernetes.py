"""The Kubernetes example's values.yaml, checked the two ways that need no cluster.

1. Helm's own check: the chart's defaults merged with the example's values must
   pass the chart's values schema (a copy of the chart's release in tests/data).
2. The hub's view: the chart's jupyterhub_config.py turns `singleuser.*` and
   `hub.config` into KubeSpawner settings. This module does the same for the
   keys the example uses, checks them against the installed KubeSpawner's
   traits, and asks KubeSpawner for the pod it would create.

Nothing here talks to a cluster: KubeSpawner is given a kube config whose
server is never contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import difflib
import importlib.metadata
import pathlib
import tempfile
import types
from collections.abc import Iterator

import jsonschema
import yaml
from ailab_guide import versions
from traitlets.config import Config

from . import checks, paths

EXAMPLE = "kubernetes"
VALUES = paths.EXAMPLES / EXAMPLE / "values.yaml"
CHARTS = paths.ROOT / "tests" / "data" / "z2jh"

# `singleuser.<key>` -> (config section, trait), as the chart's hub config
# (jupyterhub/files/hub/jupyterhub_config.py) sets them one to one.
SINGLEUSER_TRAITS: dict[str, tuple[str, str]] = {
    "image.pullPolicy": ("KubeSpawner", "image_pull_policy"),
    "cmd": ("Spawner", "cmd"),
    "defaultUrl": ("Spawner", "default_url"),
    "uid": ("KubeSpawner", "uid"),
    "fsGid": ("KubeSpawner", "fs_gid"),
    "allowPrivilegeEscalation": ("KubeSpawner", "allow_privilege_escalation"),
    "startTimeout": ("KubeSpawner", "start_timeout"),
    "storage.capacity": ("KubeSpawner", "storage_capacity"),
    "memory.limit": ("KubeSpawner", "mem_limit"),
    "memory.guarantee": ("KubeSpawner", "mem_guarantee"),
    "cpu.limit": ("KubeSpawner", "cpu_limit"),
    "cpu.guarantee": ("KubeSpawner", "cpu_guarantee"),
    "extraEnv": ("KubeSpawner", "environment"),
}
# Keys the chart combines into one setting (see `spawner_config`).
COMBINED = {"image.name", "image.tag", "storage.type", "storage.homeMountPath"}
# Keys that never reach the spawner: the chart renders Kubernetes objects from them.
NOT_SPAWNER = {"networkPolicy"}

# Where KubeSpawner looks for a cluster. The server is never contacted.
NOWHERE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: ai-lab}}]
current-context: none
"""


class ValuesInvalid(AssertionError):
    """values.yaml would be refused by helm or by the hub; the message names the key and the fix."""


def pins() -> dict[str, str]:
    return versions.pins(EXAMPLE)


def load(path: pathlib.Path = VALUES) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def chart_file(name: str, chart_version: str | None = None) -> dict:
    """A file of the chart release vendored in tests/data (values.yaml or values.schema.yaml)."""
    version = chart_version or pins()["Z2JH_CHART_VERSION"]
    path = CHARTS / version / name
    if not path.exists():
        raise ValuesInvalid(f"no copy of chart {version}'s {name} in {path.parent}; vendor it (see README.md there)")
    return yaml.safe_load(path.read_text())


def merge(defaults: dict, overrides: dict) -> dict:
    """Helm's merge of user values into chart defaults: maps key by key, null removes a key."""
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _explain(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - known)
        lines = []
        for key in extra:
            near = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(f'{where}.{n}' if where else n for n in near)}?" if near else ""
            name = f"{where}.{key}" if where else key
            lines.append(f"{name}: the chart has no such setting, helm would refuse the values.{hint}")
        return "\n".join(lines)
    return f"{where or '(top level)'}: {error.message}"


def validate(values: dict, chart_version: str | None = None) -> dict:
    """Merge values into the chart's defaults and check the result as helm does; return the merged values."""
    merged = merge(chart_file("values.yaml", chart_version), values)
    validator = jsonschema.Draft7Validator(chart_file("values.schema.yaml", chart_version))
    errors = sorted(validator.iter_errors(merged), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise ValuesInvalid("\n".join(_explain(error) for error in errors))
    return merged


def _leaves(section: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """The dotted keys a values section sets, down to the keys this module knows.

    A dict is entered only when it groups known keys (`image`, `storage`); any
    other dict (`extraLabels`, say) is one setting.
    """
    known = SINGLEUSER_TRAITS.keys() | COMBINED | NOT_SPAWNER
    for key, value in section.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and any(name.startswith(f"{dotted}.") for name in known):
            yield from _leaves(value, f"{dotted}.")
        else:
            yield dotted, value


def spawner_config(values: dict, merged: dict) -> Config:
    """The hub config the chart builds from `values`, for the keys the example sets.

    `merged` (chart defaults plus values) supplies what the chart combines
    with defaults: the image reference and the storage volume.
    """
    config = Config()
    for key, value in _leaves(values.get("singleuser") or {}):
        if key in SINGLEUSER_TRAITS:
            section, trait = SINGLEUSER_TRAITS[key]
            config[section][trait] = value
        elif key not in COMBINED and key not in NOT_SPAWNER:
            raise ValuesInvalid(
                f"singleuser.{key}: this check does not know how the chart passes it to KubeSpawner. "
                "Add it to SINGLEUSER_TRAITS in tests/harness/kubernetes.py, as the chart's "
                "jupyterhub/files/hub/jupyterhub_config.py maps it."
            )
    single = merged["singleuser"]
    image, tag = single["image"]["name"], single["image"].get("tag")
    config.KubeSpawner.image = f"{image}:{tag}" if tag else image
    storage = single["storage"]
    if storage["type"] == "dynamic":
        name = storage["dynamic"]["volumeNameTemplate"]
        config.KubeSpawner.storage_pvc_ensure = True
        config.KubeSpawner.volumes = {name: {"name": name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
        config.KubeSpawner.volume_mounts = {
            name: {"mountPath": storage["homeMountPath"], "name": name, "subPath": storage["dynamic"]["subPath"]}
        }
    for section, settings in ((values.get("hub") or {}).get("config") or {}).items():
        config[section].update(settings)  # hub.config passes through unchanged
    return config


@contextlib.contextmanager
def kubeconfig_nowhere() -> Iterator[None]:
    """KubeSpawner loads a kube config when it is created; give it one that points nowhere.

    kubernetes_asyncio reads $KUBECONFIG once, at import, so the path is set
    on its module for the duration.
    """
    from kubernetes_asyncio.config import kube_config

    saved = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    with tempfile.TemporaryDirectory(prefix="ailab-guide-kube-") as tmp:
        path = pathlib.Path(tmp) / "config"
        path.write_text(NOWHERE_KUBECONFIG)
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(path)
        try:
            yield
        finally:
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved


def installed_kubespawner() -> str:
    """The installed KubeSpawner must be the chart's, or the trait check proves nothing."""
    pin = pins()["KUBESPAWNER_VERSION"]
    try:
        found = importlib.metadata.version("jupyterhub-kubespawner")
    except importlib.metadata.PackageNotFoundError:
        found = "none"
    if found != pin:
        raise ValuesInvalid(
            f"jupyterhub-kubespawner {found} is installed, the chart bundles {pin}; "
            f"install jupyterhub-kubespawner=={pin} (nox does)"
        )
    return found


def check_and_render(config: Config) -> tuple[str, dict]:
    """Check every key and value against the installed traits, then return the pod KubeSpawner would create."""
    from kubespawner import KubeSpawner

    installed_kubespawner()

    async def run() -> tuple[str, dict]:
        detail = checks.configs.check_config(config)  # KubeSpawner needs a running event loop to be created
        user = types.SimpleNamespace(name="alice", id=1, url="/user/alice/", escaped_name="alice")
        spawner = KubeSpawner(config=config, user=user, _mock=True)
        try:
            spawner.api_token = "not-a-secret"  # the hub sets it at spawn time; the manifest carries it
            pod = spawner.api.api_client.sanitize_for_serialization(await spawner.get_pod_manifest())
        finally:
            await spawner.api.api_client.close()
        return detail, pod

    with kubeconfig_nowhere():
        return asyncio.run(run())


def check(values: dict) -> tuple[dict, str, dict]:
    """Helm's schema check, then the hub's trait check; return merged values, a summary and the pod."""
    merged = validate(values)
    try:
        detail, pod = check_and_render(spawner_config(values, merged))
    except checks.CheckFailed as exc:
        origins = [
            f"{section}.{trait} is set by singleuser.{key} in values.yaml"
            for key, (section, trait) in SINGLEUSER_TRAITS.items()
            if f"{section}.{trait}" in str(exc) or f"'{trait}' trait" in str(exc)
        ]
        raise ValuesInvalid("\n".join([str(exc), *origins])) from exc
    return merged, detail, pod


def culler_command(merged: dict) -> list[str]:
    """The jupyterhub-idle-culler command line the chart's hub config builds from `cull` ([] when it is off).

    Only the flags that decide what is stopped and when; the chart adds the
    hub's API URL and runs it as a hub service with a role of its own.
    """
    cull = merged.get("cull") or {}
    if not cull.get("enabled"):
        return []
    # values key -> flag, for the keys that take a number (the chart leaves out a flag whose value is empty or 0)
    numbers = {"timeout": "--timeout", "every": "--cull-every", "concurrency": "--concurrency", "maxAge": "--max-age"}
    command = ["python3", "-m", "jupyterhub_idle_culler"]
    command += [f"{flag}={cull[key]}" for key, flag in numbers.items() if cull.get(key)]
    if cull.get("users"):
        command.append("--cull-users")
    if not cull.get("adminUsers"):
        command.append("--cull-admin-users=false")
    if cull.get("removeNamedServers"):
        command.append("--remove-named-servers")
    return command


def notebook_container(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")
