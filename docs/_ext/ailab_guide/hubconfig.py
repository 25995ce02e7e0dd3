"""Load an example's jupyterhub_config.py the way JupyterHub does, and look up its traits.

Used by the configuration page (its reference table) and by the tests (which
reject keys that are not traits). Both read the same installed JupyterHub and
DockerSpawner, so the table cannot drift from the code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import importlib.metadata
import inspect
import io
import os
import pathlib
import re
from collections.abc import Iterator

import yaml
from docutils import nodes
from docutils.core import publish_doctree
from traitlets import HasTraits
from traitlets.config.loader import Config, PyFileConfigLoader

from . import versions

PLACEHOLDER_SECRET = "placeholder-for-config-checks"
# What the reference shows, in words rather than as a value, for a trait without a fixed default.
COMPUTED, NOT_SET = "computed at start", "not set"
# Plugins that register no `jupyterhub.spawners` entry point (KubeSpawner 7 has none).
WITHOUT_ENTRY_POINTS = (("kubespawner", "KubeSpawner"),)


def compose_environment(example: str = "minimal", service: str = "hub") -> dict[str, str]:
    """The environment compose gives the hub, with .env substituted (secrets get a placeholder).

    A swarm example has a stack file instead of a compose file; its hub service is read the same way.
    """
    folder = versions.EXAMPLES / example
    file = folder / "docker-compose.yml"
    if not file.exists():
        file = folder / "docker-stack.yml"
    compose = yaml.safe_load(file.read_text())
    pins = versions.pins(example)

    def substitute(value: str) -> str:
        def one(match: re.Match) -> str:
            name, _, default = match.group(1).partition(":-")
            return pins.get(name) or os.environ.get(name) or default or PLACEHOLDER_SECRET

        return re.sub(r"\$\{([^}]+)\}", one, str(value))

    env = compose["services"][service].get("environment", {})
    return {key: substitute(value) for key, value in env.items()}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a config load."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load(path: pathlib.Path, env: dict[str, str]) -> Config:
    """Execute a config file as JupyterHub would and return the Config it builds."""
    with environment(env):
        return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def shared_volumes(config: Config) -> frozenset[str]:
    """The volumes every user's container mounts alike (the production team folder): named without `{username}`."""
    return frozenset(name for name in config.DockerSpawner.volumes if "{username}" not in name)


def configurable_classes() -> dict[str, type[HasTraits]]:
    """Every class a jupyterhub_config.py may name: the hub's own and all installed plugins."""
    from jupyterhub.app import JupyterHub

    found: dict[str, type[HasTraits]] = {}

    def add(cls: type) -> None:
        for klass in cls.__mro__:
            if isinstance(klass, type) and issubclass(klass, HasTraits) and klass is not HasTraits:
                found.setdefault(klass.__name__, klass)

    add(JupyterHub)
    for cls in JupyterHub().classes:
        add(cls)
    for group in ("jupyterhub.spawners", "jupyterhub.authenticators", "jupyterhub.proxies"):
        for entry in importlib.metadata.entry_points(group=group):
            with contextlib.suppress(Exception):  # a broken plugin must not hide the others
                add(entry.load())
    for module, name in WITHOUT_ENTRY_POINTS:
        with contextlib.suppress(Exception):  # not installed
            add(getattr(importlib.import_module(module), name))
    return found


@dataclasses.dataclass(frozen=True)
class Setting:
    """One `c.Class.trait = value` line, resolved against the installed code."""

    section: str
    name: str
    value: object
    problem: str = ""  # empty when the key is a configurable trait


def settings(config: Config) -> list[Setting]:
    """Every key the config sets, each checked against its class's configurable traits."""
    classes = configurable_classes()
    result = []
    for section, values in config.items():
        if not isinstance(values, Config):
            result.append(Setting("", section, values, f"`c.{section}` names no class; write c.<Class>.<trait>."))
            continue
        cls = classes.get(section)
        for name, value in values.items():
            if cls is None:
                near = difflib.get_close_matches(section, classes, n=3)
                hint = f" Did you mean {', '.join(near)}?" if near else ""
                problem = f"c.{section}.{name}: no installed class is called {section}.{hint}"
            elif name not in cls.class_traits(config=True):
                near = difflib.get_close_matches(name, cls.class_traits(config=True), n=3, cutoff=0.5)
                hint = f" Closest traits: {', '.join(f'{section}.{n}' for n in near)}." if near else ""
                problem = f"c.{section}.{name}: {section} has no configurable trait {name!r}.{hint}"
            else:
                problem = ""
            result.append(Setting(section, name, value, problem))
    return result


@dataclasses.dataclass(frozen=True)
class TraitInfo:
    """What the reference table shows for one trait."""

    section: str
    name: str
    type: str
    default: str
    help: str  # the whole help text, reStructuredText as the class writes it


def describe(section: str, name: str) -> TraitInfo:
    """Type, default and help of a trait, as the installed class defines them."""
    cls = configurable_classes()[section]
    trait = cls.class_traits(config=True)[name]
    generator = getattr(cls, "_all_trait_default_generators", {}).get(name)
    if generator is not None and getattr(generator, "__self__", None) is not trait:
        default = COMPUTED  # a @default method, not a fixed value
    else:
        default = trait.default_value_repr()
        if "Undefined" in default:
            default = NOT_SET
    return TraitInfo(section, name, type(trait).__name__, default, inspect.cleandoc(trait.help or ""))


def help_nodes(text: str) -> list[nodes.Node]:
    """The first paragraph of a trait's help, parsed from the reStructuredText it is written in.

    Plain docutils parses it, so Sphinx roles such as :class:`X` are unknown
    there: they come out as their text in code style instead of as an error.
    """
    first = text.strip().split("\n\n")[0]
    if not first:
        return []
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": io.StringIO(), "doctitle_xform": False}
    document = publish_doctree(first, settings_overrides=settings)
    for problem in list(document.findall(nodes.problematic)):
        role_text = re.sub(r"^:[\w:+-]+:`(.*)`$", r"\1", problem.astext(), flags=re.DOTALL)
        problem.replace_self(nodes.literal(text=role_text.lstrip("~!")))
    for message in list(document.findall(nodes.system_message)):
        message.parent.remove(message)
    return [child.deepcopy() for child in document.children]


class InvalidConfig(ValueError):
    """A config sets a key that is no configurable trait, or a value the trait refuses."""


def load_fragment(text: str, env: dict[str, str]) -> Config:
    """The Config a page's typed fragment of a jupyterhub_config.py builds (it may omit `c = get_config()`)."""
    import tempfile

    if "get_config()" not in text:
        text = "c = get_config()  # noqa: F821\n" + text
    with tempfile.TemporaryDirectory(prefix="ailab-guide-config-") as tmp:
        path = pathlib.Path(tmp) / "jupyterhub_config.py"
        path.write_text(text)
        return load(path, env)


def validate(config: Config) -> str:
    """Every key must be a configurable trait and every value valid for it; say how many settings were checked.

    traitlets only warns about an unknown key and a running hub ignores it; this
    raises InvalidConfig instead. Values are checked by creating each configured
    class with the config.
    """
    import types

    from jupyterhub.spawner import Spawner
    from traitlets import TraitError

    found = settings(config)
    problems = [setting.problem for setting in found if setting.problem]
    if problems:
        raise InvalidConfig("\n".join(problems))
    classes = configurable_classes()
    user = types.SimpleNamespace(name="snippet-check", id=1, url="/user/snippet-check/", escaped_name="snippet-check")
    for section in config:
        cls = classes[section]
        try:
            try:
                if issubclass(cls, Spawner):  # a spawner belongs to a user; these checks use a made-up one
                    cls(config=config, user=user)
                else:
                    cls(config=config)
            except (TraitError, ValueError):
                raise
            except Exception:
                # The constructor needs a running hub (NativeAuthenticator opens the hub's
                # database): load the config into an instance that skips it. Trait
                # validation and the class's own @validate and @observe checks still run.
                cls.__new__(cls).update_config(config)
        except (TraitError, ValueError) as exc:
            raise InvalidConfig(f"c.{section}: {exc}") from exc
    return f"{len(found)} settings, all configurable traits with valid values"
