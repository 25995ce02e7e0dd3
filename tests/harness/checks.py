"""What proves a code block of the guide right, and the checks themselves.

Each block gets checks by what it is (a Dockerfile, a hub config, a compose
file, a shell command, ...). Static checks need no Docker, so `pytest -m "not
docker"` runs them; Docker checks build the files and start the hub. A block
with no check at all must say why with `% unchecked: <reason>` above it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable

import docker
import docker.errors
import yaml
from ailab_guide import hubconfig, versions
from jupyterhub.spawner import Spawner
from traitlets import TraitError

from . import compose, engine, examples, paths, report
from .snippets import Block

PYTHON = {"python", "python3", "py", "ipython", "ipython3"}
SHELL = {"bash", "sh", "shell", "console", "shell-session", "zsh"}
CONFIG_MARKERS = re.compile(r"^\s*(c\s*=\s*get_config\(\)|c\.(JupyterHub|DockerSpawner)\.)", re.MULTILINE)
NAME_PREFIX = "ailab-guide-check-"  # containers and networks these checks create (and remove)


class CheckFailed(AssertionError):
    """A block does not do what the page says; the message says what and where."""


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    docker: bool
    run: Callable[..., str]  # run(block) or run(block, client); returns a detail, raises CheckFailed
    applies: Callable[[Block], bool] = lambda block: True


# --- classification ------------------------------------------------------------


def kind(block: Block) -> str:
    """What the block is: dockerfile, hub-config, compose, yaml, env, sh-file, shell, python, notebook or none."""
    file = pathlib.PurePosixPath(block.source).name
    language = block.language
    if file.startswith("Dockerfile") or language in ("dockerfile", "docker"):
        return "dockerfile"
    if file == "jupyterhub_config.py" or (language in PYTHON | {"none"} and CONFIG_MARKERS.search(block.text)):
        return "hub-config"
    if block.in_notebook_cell:
        return "notebook"
    if file in (
        "docker-compose.yml",
        "docker-compose.yaml",
        "compose.yml",
        "compose.yaml",
    ):
        return "compose"
    if file.endswith((".yml", ".yaml")) or language in ("yaml", "yml"):
        return "yaml"
    if file == ".env" or file.endswith((".env", ".ini")) or language in ("ini", "env", "dotenv", "properties"):
        return "env"
    if file.endswith(".sh"):
        return "sh-file"
    if language in SHELL:
        return "shell"
    if file.endswith(".py") or language in PYTHON:
        return "python"
    return "none"


def no_check_message(block: Block) -> str:
    return f"block at {block.id} has no check; add a check or a `% unchecked: <reason>` comment line right above it"


def classify(block: Block) -> list[Check]:
    """Every check of a block; a block with no check and no reason fails here."""
    if block.unchecked_reason:
        return []
    found = [check for check in CHECKS.get(kind(block), []) if check.applies(block)]
    if block.name and tests_using(block.name):
        found.append(Check("used by a test", False, _used_by_test))
    if not found:
        raise CheckFailed(no_check_message(block))
    return found


def static_checks(block: Block) -> list[Check]:
    return [check for check in classify(block) if not check.docker]


def docker_checks(block: Block) -> list[Check]:
    try:
        return [check for check in classify(block) if check.docker]
    except CheckFailed:
        return []


def run(block: Block, checks: list[Check], client: docker.DockerClient | None = None) -> None:
    """Run checks on a block, record each result, then fail with every failure's message."""
    failures = []
    for check in checks:
        try:
            detail = check.run(block, client) if check.docker else check.run(block)
            report.record(block.id, check.name, True, detail)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            report.record(block.id, check.name, False, message[-4000:])
            failures.append(f"[{check.name}] {message}")
    if failures:
        raise CheckFailed(f"{block.id} ({block.source or block.language}):\n" + "\n".join(failures))


# --- blocks that other tests run or reproduce -------------------------------------


@functools.cache
def _test_sources() -> dict[str, str]:
    """The text of each test file that may run a page's named block; read once, not once per block."""
    return {
        path.relative_to(paths.ROOT).as_posix(): path.read_text()
        for path in sorted((paths.ROOT / "tests").glob("test_*.py"))
        if path.name not in ("test_docs_snippets.py", "test_checks_fail.py")
    }


def tests_using(name: str) -> list[str]:
    """Test files that look a named block up by its :name: (quoted), e.g. a reproduced symptom."""
    pattern = re.compile(rf"""["']{re.escape(name)}["']""")
    return [path for path, text in _test_sources().items() if pattern.search(text)]


def _used_end_to_end(block: Block) -> bool:
    return bool(block.name and tests_using(block.name))


def _used_by_test(block: Block) -> str:
    return f"`{block.name}` is run or reproduced by {', '.join(tests_using(block.name))} (Docker tests)"


# --- helpers ---------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(pathlib.Path(sys.executable).parent))
    if not found:
        raise CheckFailed(f"`{name}` is not installed; install docs/requirements.txt (nox does).")
    return found


def _run(
    args: list[str],
    *,
    stdin: str | None = None,
    cwd=None,
    env=None,
    timeout: float = 120,
):
    return subprocess.run(
        args,
        check=False,
        input=stdin,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _file_or_text(block: Block) -> str:
    """A block from a file is checked as the whole file: that is what readers download."""
    return block.source_path.read_text() if block.source_path else block.text


def env_pins(text: str) -> dict[str, str]:
    """The KEY=VALUE pairs of a .env text, parsed as the site and nox parse the examples' pins."""
    try:
        return versions.parse_env(text)
    except ValueError as exc:
        raise CheckFailed(str(exc)) from exc


# --- Dockerfiles -----------------------------------------------------------------


def hadolint(dockerfile: pathlib.Path | str) -> str:
    """Lint a Dockerfile (a path, or its text); findings fail with hadolint's output.

    Runs in the repository root, so a project .hadolint.yaml there (if any) applies.
    """
    args = [_tool("hadolint"), "--no-color"]
    if isinstance(dockerfile, pathlib.Path):
        result = _run([*args, str(dockerfile)], cwd=paths.ROOT)
    else:
        result = _run([*args, "-"], stdin=dockerfile, cwd=paths.ROOT)
    if result.returncode != 0:
        raise CheckFailed(f"hadolint finds problems:\n{(result.stdout + result.stderr).strip()}")
    return "hadolint: no findings"


def _hadolint(block: Block) -> str:
    return hadolint(block.source_path or block.text)


def _whole_file(block: Block) -> str:
    if not block.source:
        raise CheckFailed(
            f"{block.id} is a Dockerfile typed into the page. The docs must include whole files: "
            "put it under examples/ and show it with {literalinclude} (:lines: for a part), so it is built."
        )
    return f"included from {block.source}"


_built: dict[tuple[str, str], object] = {}


def build(client: docker.DockerClient, example: str, dockerfile: str, context=None):
    """Build an example's Dockerfile (examples.build, with the .env pins); a failure is remembered.

    Builds are cached by Docker, so building again is cheap; it also guards against
    another process removing an image this session built earlier.
    """
    key = (example, dockerfile)
    if context is None and isinstance(_built.get(key), Exception):
        raise _built[key]
    try:
        return examples.build(client, example, dockerfile, context=context)
    except examples.BuildFailed as exc:
        if context is None:
            _built[key] = exc
        raise


def build_folder(client: docker.DockerClient, folder: pathlib.Path, dockerfile: str):
    """Build a Dockerfile of any example-like folder with that folder's own .env pins."""
    pins = env_pins((folder / ".env").read_text())
    return examples.build(client, folder.name, dockerfile, context=folder, buildargs=pins)


def _docker_build(block: Block, client: docker.DockerClient) -> str:
    if not block.example:
        raise CheckFailed(f"{block.id}: only files under examples/<name>/ can be built (got {block.source!r}).")
    image = build(client, block.example, block.source_path.name)
    report.count("dockerfiles_built", block.source)
    return f"built {block.source}: {image.short_id}"


# --- jupyterhub_config.py ----------------------------------------------------------


def load_config(block: Block):
    """The Config a block's jupyterhub_config.py (or a typed fragment of one) builds."""
    env = hubconfig.compose_environment(block.example or "minimal")
    if block.source_path:
        return hubconfig.load(block.source_path, env), block.source
    text = block.text if "get_config()" in block.text else "c = get_config()  # noqa: F821\n" + block.text
    with tempfile.TemporaryDirectory(prefix="ailab-guide-config-") as tmp:
        path = pathlib.Path(tmp) / "jupyterhub_config.py"
        path.write_text(text)
        return hubconfig.load(path, env), "a fragment typed into the page"


def check_config(config) -> str:
    """Every key must be a configurable trait, and every value valid for it."""
    settings = hubconfig.settings(config)
    problems = [setting.problem for setting in settings if setting.problem]
    if problems:
        raise CheckFailed("\n".join(problems))
    classes = hubconfig.configurable_classes()
    user = types.SimpleNamespace(
        name="snippet-check",
        id=1,
        url="/user/snippet-check/",
        escaped_name="snippet-check",
    )
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
            raise CheckFailed(f"c.{section}: {exc}") from exc
    return f"{len(settings)} settings, all configurable traits with valid values"


def _config_keys(block: Block) -> str:
    try:
        config, origin = load_config(block)
    except SystemExit as exc:
        raise CheckFailed(f"loading the config stopped: {exc}") from exc
    detail = check_config(config)
    report.count("configs_loaded", block.source or block.id)
    return f"{origin}: {detail}"


def _exec(client: docker.DockerClient, container, code: str) -> tuple[int, str]:
    result = container.exec_run(["python3", "-c", code])
    return result.exit_code, result.output.decode(errors="replace")


def hub_starts(client: docker.DockerClient, example: str = "minimal", timeout: float = 120) -> str:
    """Start the example's hub image on a fresh network, as compose would, and ask its API for its version."""
    image = build(client, example, "Dockerfile.hub")
    name = f"{NAME_PREFIX}{uuid.uuid4().hex[:8]}"
    network = client.networks.create(name, driver="bridge")
    container_id = None
    try:
        env = {**hubconfig.compose_environment(example), "DOCKER_NETWORK_NAME": name}
        api = client.api
        container_id = api.create_container(
            image.id,
            name=name,
            environment=env,
            # The data volume of the compose file: here a throwaway tmpfs.
            host_config=api.create_host_config(network_mode=name, tmpfs={"/srv/jupyterhub/data": ""}),
            networking_config=api.create_networking_config({name: api.create_endpoint_config(aliases=["hub"])}),
        )["Id"]
        api.start(container_id)
        container = client.containers.get(container_id)
        code = (
            "import urllib.request; "
            "print(urllib.request.urlopen('http://127.0.0.1:8000/hub/api/', timeout=5).read().decode())"
        )
        deadline, last = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            container.reload()
            if container.status != "running":
                logs = container.logs().decode(errors="replace")[-3000:]
                raise CheckFailed(f"the hub container exited ({container.status}):\n{logs}")
            code_, output = _exec(client, container, code)
            if code_ == 0:
                version = json.loads(output).get("version")
                pin = versions.pins(example)["JUPYTERHUB_VERSION"]
                if version != pin:
                    raise CheckFailed(f"the hub reports jupyterhub {version}, but .env pins {pin}")
                return f"hub from {example}/jupyterhub_config.py answered /hub/api/ with version {version}"
            last = output.strip().splitlines()[-1:] or [""]
            time.sleep(1)
        logs = container.logs().decode(errors="replace")[-3000:]
        raise CheckFailed(f"the hub did not answer within {timeout:.0f} s (last: {last[0]}):\n{logs}")
    finally:
        if container_id:
            client.api.remove_container(container_id, force=True, v=True)
        network.remove()


_hubs: dict[str, object] = {}


def _hub_starts(block: Block, client: docker.DockerClient) -> str:
    example = block.example or "minimal"
    if example not in _hubs:
        try:
            _hubs[example] = hub_starts(client, example)
        except Exception as exc:
            _hubs[example] = exc
    result = _hubs[example]
    if isinstance(result, Exception):
        raise result
    return result


# --- versions in built images --------------------------------------------------------


def run_in_image(client: docker.DockerClient, image: str, command: list[str], entrypoint=None) -> tuple[int, str]:
    """Run a command in a throwaway container without network; return exit code and output."""
    return engine.run_once(client, image, command, entrypoint=entrypoint, network_disabled=True)


def jupyterhub_version(client: docker.DockerClient, image: str) -> str:
    """The jupyterhub version importable by the image's first python3 on PATH."""
    code, output = run_in_image(
        client,
        image,
        ["python3", "-c", "import jupyterhub; print(jupyterhub.__version__)"],
        entrypoint=[],
    )
    if code != 0:
        raise CheckFailed(f"jupyterhub is not importable in {image}:\n{output[-2000:]}")
    return output.strip().splitlines()[-1]


def assert_same_jupyterhub(hub: str, singleuser: str) -> None:
    """Hub and single-user server must run the same JupyterHub release."""
    if hub != singleuser:
        raise CheckFailed(
            f"hub runs jupyterhub {hub} but the AI Lab image has {singleuser}; "
            "set one JUPYTERHUB_VERSION in .env for both Dockerfiles"
        )


# --- compose, yaml, env, shell, python -------------------------------------------------


def _compose_config(block: Block) -> str:
    folder = block.source_path.parent
    env = {**os.environ, "TRIAL_PASSWORD": hubconfig.PLACEHOLDER_SECRET}
    try:
        spelled = compose.compose_command()
    except RuntimeError as exc:
        raise CheckFailed(str(exc)) from exc
    command = [*spelled.split(), "-f", block.source_path.name, "config", "-q"]
    result = _run(command, cwd=folder, env=env)
    if result.returncode != 0:
        raise CheckFailed(f"`{' '.join(command)}` fails:\n{(result.stdout + result.stderr).strip()}")
    return f"`{' '.join(command)}` accepts {block.source}"


def _yaml(block: Block) -> str:
    try:
        yaml.safe_load(_file_or_text(block))
    except yaml.YAMLError as exc:
        raise CheckFailed(f"not valid YAML: {exc}") from exc
    return "valid YAML"


def _env(block: Block) -> str:
    return f"{len(env_pins(_file_or_text(block)))} KEY=VALUE lines"


def commands_of(block: Block) -> str:
    """The commands of a shell block: for a console, the `$ ` lines and their continuations."""
    lines = block.text.splitlines()
    if block.language != "console" and not any(line.startswith("$ ") for line in lines):
        return block.text
    commands, continued = [], False
    for line in lines:
        if line.startswith("$ ") or line == "$":
            commands.append(line[2:])
            continued = line.endswith("\\")
        elif continued:
            commands.append(line)
            continued = line.endswith("\\")
    return "\n".join(commands) + "\n"


def _syntax(shell: str, text: str) -> str:
    result = _run([shell, "-n"], stdin=text)
    if result.returncode != 0:
        raise CheckFailed(f"`{shell} -n` finds a syntax error:\n{result.stderr.strip()}")
    return f"`{shell} -n` accepts it"


def _bash_n(block: Block) -> str:
    return _syntax("bash", commands_of(block))


def _sh_n(block: Block) -> str:
    return _syntax("sh", _file_or_text(block))


def _python(block: Block) -> str:
    text = _file_or_text(block)
    try:
        compile(text, block.source or block.id, "exec")
    except SyntaxError as exc:
        raise CheckFailed(f"not valid Python: {exc}") from exc
    lint = _run(
        [_tool("ruff"), "check", "--no-cache", "--stdin-filename", "snippet.py", "-"],
        stdin=text,
    )
    if lint.returncode != 0:
        raise CheckFailed(f"ruff finds problems:\n{lint.stdout.strip()}")
    try:
        result = _run([sys.executable, "-"], stdin=text, timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed("running it took longer than 60 s") from exc
    if result.returncode != 0:
        raise CheckFailed(f"running it fails:\n{result.stderr[-2000:]}")
    return "compiles, ruff-clean, runs"


def _notebook(block: Block) -> str:
    what = "output" if block.is_output else "cell"
    return f"notebook {what}: executed by myst-nb during the site build (nb_execution_raise_on_error)"


CHECKS: dict[str, list[Check]] = {
    "dockerfile": [
        Check("hadolint", False, _hadolint),
        Check("whole file", False, _whole_file),
        Check("docker build", True, _docker_build),
    ],
    "hub-config": [
        Check("config traits", False, _config_keys),
        # An example whose config an end-to-end test starts (the block is named
        # and used by a test) is not started a second time here.
        Check("hub starts", True, _hub_starts, lambda block: bool(block.example) and not _used_end_to_end(block)),
    ],
    "compose": [
        Check("compose config", False, _compose_config),
        Check("yaml", False, _yaml),
    ],
    "yaml": [Check("yaml", False, _yaml)],
    "env": [Check("KEY=VALUE", False, _env)],
    "sh-file": [Check("sh -n", False, _sh_n)],
    "shell": [Check("bash -n", False, _bash_n)],
    "python": [Check("python", False, _python)],
    "notebook": [Check("executed in build", False, _notebook)],
}
