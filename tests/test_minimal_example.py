"""The minimal example, end to end, exactly as its page tells a user to run it.

The page's download of examples/minimal is brought up with the page's own commands; two
users log in through the login form, get their AI Lab, run code in a kernel
through the proxy, restart and keep their files, and cannot reach each
other's servers. Everything the test creates is removed afterwards.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from ailab_guide import versions
from harness import blocks, browser, compose, hub, minimal_example, paths, report, shell, wait
from playwright.sync_api import TimeoutError as PlaywrightTimeout

URL = minimal_example.URL
USERS = ("alice", "bob")
PROJECT = minimal_example.PROJECT
AI_LAB_PACKAGES = "import exasol.nb_connector, pyexasol, sqlalchemy_exasol"


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    """The example folder copied as a user would, brought up with the page's commands."""
    with minimal_example.running_copy(docker_client, tmp_path_factory.mktemp("e2e"), None, USERS) as up:
        report.timing("minimal example: build and start (minimal-start)", up["up_seconds"])
        yield up


@pytest.fixture(scope="module")
def users(stack):
    """Both users logged in through the form, each with a running AI Lab."""
    logged_in = {}
    for name in USERS:
        user = hub.User(URL, name)
        user.login(minimal_example.trial_password())
        report.timing(f"spawn of {name}'s AI Lab (first start)", user.start())
        logged_in[name] = user
    return logged_in


def test_ai_lab_notebooks_are_in_each_users_folder(users):
    for user in users.values():
        response = user.server("GET", "/contents/")
        assert response.status_code == 200, response.text
        names = {item["name"] for item in response.json()["content"]}
        assert {"start.ipynb", "main_config.ipynb"} <= names, f"{user.name} sees {sorted(names)}"


def test_code_runs_in_a_kernel_as_the_notebook_user(users):
    """As `jupyter`, with SQLAlchemy 1.4, no Linux capability left (empty bounding set) and no way to gain one."""
    output = users["alice"].run_code(
        f"{AI_LAB_PACKAGES}\nimport getpass, sqlalchemy\nprint(getpass.getuser(), sqlalchemy.__version__)\n"
        "print(*[line.split()[1] for line in open('/proc/self/status') if line.startswith(('CapBnd:', 'NoNewPrivs:'))])"
    )
    user, sqlalchemy_version, bounding_set, no_new_privileges = output.split()
    assert user == "jupyter"
    assert sqlalchemy_version.startswith("1.4."), "the AI Lab needs SQLAlchemy 1.4 for sqlalchemy-exasol"
    assert int(bounding_set, 16) == 0, f"the server's processes keep Linux capabilities: CapBnd {bounding_set}"
    assert no_new_privileges == "1", "a setuid program such as sudo could still gain rights"


def test_the_users_container_starts_with_the_script_the_pages_show(users, docker_client, stack):
    """The image's entrypoint is the downloaded start-ai-lab.sh, byte for byte what the pages show."""
    container = docker_client.containers.get("ai-lab-alice")
    assert container.attrs["Config"]["Entrypoint"] == ["/usr/local/bin/start-ai-lab.sh"]
    running = container.exec_run(["cat", "/usr/local/bin/start-ai-lab.sh"])
    assert running.exit_code == 0, running.output
    assert running.output.decode() == (stack["folder"] / "start-ai-lab.sh").read_text()
    blocks.assert_files_in_use("minimal", {"start-ai-lab.sh": running.output.decode()})


def test_files_survive_a_server_restart(users):
    alice = users["alice"]
    alice.run_code("open('kept.txt', 'w').write('written before the restart')")
    alice.stop()
    alice.start()
    response = alice.server("GET", "/contents/kept.txt?content=1")
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "written before the restart"


def test_a_stopped_server_leaves_no_container(users, docker_client):
    """`remove = True`: stopping a server removes its container; the next start makes a new one."""
    bob = users["bob"]
    before = docker_client.containers.get("ai-lab-bob").id
    bob.stop()
    # The engine removes a stopped container on its own (DockerSpawner's auto-remove), a moment later.
    wait.wait_until(
        lambda: not docker_client.containers.list(all=True, filters={"name": "^ai-lab-bob$"}),
        timeout=30,
        what="bob's container outlived his server",
    )
    bob.start()
    assert docker_client.containers.get("ai-lab-bob").id != before


def test_the_image_checks_on_the_custom_image_page_pass(stack):
    """The commands under "Check the image" print what the page says they print."""
    output = shell.run_commands(blocks.named("custom-image.md", "check-image"), paths.ROOT, stack["env"])
    # A line of its own: the build's output names the version too, in the image's tag.
    assert versions.pins("minimal")["JUPYTERHUB_VERSION"] in [line.strip() for line in output.splitlines()], output
    assert re.search(r"^uid=\d+\(jupyter\) ", output, re.M), output
    assert "No broken requirements found." in output


def test_the_status_commands_show_the_running_hub(stack, docker_client):
    """The page's "see what happens" commands run and show the hub and the users' image version.

    The users' image service only prints its version: it has exited, with code 0.
    """
    output = shell.run_commands(blocks.named(minimal_example.PAGE, "minimal-status"), stack["folder"], stack["env"])
    output = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", output)  # compose clears each log line with an escape code
    version = versions.pins("minimal")["JUPYTERHUB_VERSION"]
    # The users' image service's own line, prefixed by compose with its name (not the hub's version line).
    assert re.search(rf"^ai-lab-image-1\s+\| AI Lab image ready with jupyterhub {re.escape(version)}$", output, re.M), (
        output
    )
    assert re.search(rf"^hub-1\s+\| .*Running JupyterHub version {re.escape(version)}", output, re.M), output

    def exited() -> bool:
        image_service = docker_client.containers.get(f"{PROJECT}-ai-lab-image-1")  # compose's name for it
        return image_service.status == "exited" and image_service.attrs["State"]["ExitCode"] == 0

    wait.wait_until(exited, 60, "the ai-lab-image service did not exit with code 0 after printing its version")


def test_the_image_size_commands_list_both_images(stack):
    """The custom image page's `docker image ls` lines list the base image and the users' image."""
    output = shell.run_commands(blocks.named("custom-image.md", "image-sizes"), stack["folder"], stack["env"])
    assert "exasol/ai-lab" in output and "ai-lab-singleuser" in output, output


def test_the_minimal_hub_outweighs_a_users_container_for_the_cpu(users, docker_client):
    """The compose file's cpu_shares reach the hub's container; the users' containers keep the default."""
    hub_box = compose.service_container(docker_client, PROJECT, "hub")
    compose.assert_hub_outweighs(hub_box, docker_client.containers.get("ai-lab-alice"))


def test_one_user_cannot_reach_another_users_server(users):
    """Logged in, bob asks for alice's files and her JupyterLab: the hub's authorization, not a missing cookie, refuses.

    The request carries bob's hub login; alice's server sends him to the hub's OAuth
    page for her server, and the hub refuses bob there with 403.
    """
    bob = users["bob"]
    assert bob.model()["name"] == "bob"  # bob is logged in: the hub answers his cookie
    response = bob.session.get(f"{URL}/user/alice/lab", timeout=30)
    assert response.status_code == 403, f"bob got HTTP {response.status_code} from alice's JupyterLab at {response.url}"
    assert "/hub/api/oauth2/authorize" in response.url, response.url  # refused by the hub, for alice's server
    files = bob.session.get(f"{URL}/user/alice/api/contents/", timeout=30)
    assert files.status_code == 403, f"bob got HTTP {files.status_code} from alice's files"


@pytest.mark.usefixtures("users")
def test_anonymous_requests_land_on_the_login_page():
    anonymous = hub.User(URL, "nobody")
    response = anonymous.session.get(f"{URL}/user/alice/lab", timeout=30)
    assert response.url.startswith(f"{URL}/hub/login"), response.url
    assert 'name="password"' in response.text


@pytest.mark.usefixtures("users")
def test_the_ai_lab_default_password_opens_nothing():
    """The stock image's password `ailab` is ignored: only the hub grants access."""
    visitor = hub.User(URL, "visitor")
    response = visitor.session.get(f"{URL}/user/alice/api/contents/?token=ailab", timeout=30)
    assert response.status_code == 403, response.status_code


@pytest.mark.usefixtures("users")
def test_no_single_user_port_is_published_on_the_host(docker_client):
    for name in USERS:
        container = docker_client.containers.get(f"ai-lab-{name}")
        ports = container.attrs["NetworkSettings"]["Ports"] or {}
        published = {port: bindings for port, bindings in ports.items() if bindings}
        assert not published, f"{container.name} publishes {published}"
        assert container.attrs["Config"]["User"] == "jupyter"
        assert not any("docker.sock" in mount["Source"] for mount in container.attrs["Mounts"])
        # The container's first process, the server itself, is jupyterhub-singleuser, run by jupyter.
        first = container.exec_run(["sh", "-c", 'stat -c %U /proc/1; tr "\\0" " " < /proc/1/cmdline'])
        assert first.exit_code == 0, first.output
        owner, command = first.output.decode().split("\n", 1)
        assert (owner, "jupyterhub-singleuser" in command) == ("jupyter", True), first.output


def test_hub_state_survives_down_and_up(users, stack):
    """Users, cookie secret and database live on a volume: a login stays valid."""
    alice = users["alice"]
    shell.run_commands(blocks.named(minimal_example.PAGE, "minimal-stop"), stack["folder"], stack["env"], timeout=300)
    shell.run_commands(blocks.named(minimal_example.PAGE, "minimal-start"), stack["folder"], stack["env"])
    hub.wait_until_up(URL)
    assert alice.model()["name"] == "alice", "the login cookie from before `down` no longer works"
    assert "" not in alice.model()["servers"], "the page says the hub stops running servers when it stops"
    alice.start()
    response = alice.server("GET", "/contents/kept.txt?content=1")
    assert response.status_code == 200, response.text


def test_a_browser_logs_in_and_opens_the_ai_lab_start_page(tmp_path, docker_client, users):
    """A real Chromium: the login form, then JupyterLab showing the AI Lab start notebook.

    alice's server is stopped first, so the login is what starts her AI Lab container (a new one).
    The hub gave the server its address, folder and start page as environment variables, and no arguments.
    """
    before = docker_client.containers.get("ai-lab-alice").id
    users["alice"].stop()
    wait.wait_until(
        lambda: not docker_client.containers.list(all=True, filters={"name": "^ai-lab-alice$"}),
        timeout=30,
        what="alice's container outlived her server",
    )
    # Any user name: one that no other test uses gets in with the same password.
    hub.User(URL, "reader").login(minimal_example.trial_password())
    shots = browser.screenshot_folder(tmp_path)
    with browser.page(scale=2) as page:  # sharp on high-density screens, as the pages show them
        page.goto(f"{URL}/hub/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", minimal_example.trial_password())
        browser.screenshot_around(page, "#login-main form", shots / "login.png")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url("**/user/alice/lab/**", timeout=120_000)
        page.get_by_role("tab", name="start.ipynb").wait_for(timeout=120_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        news = page.get_by_role("button", name="No", exact=True)  # JupyterLab's "notify about news?" toast
        with contextlib.suppress(PlaywrightTimeout):
            news.click(timeout=10_000)
        page.wait_for_timeout(2000)  # let the notebook finish rendering before the picture
        # start.ipynb shows the Exasol logo from GitHub: without internet access it stays a broken image.
        # Everything the hub and the user's server serve must load.
        broken = browser.broken_images(page)
        own = [src for src in broken if src.startswith(URL)]
        assert not own, f"images of the hub or the AI Lab do not load: {own}"
        page.screenshot(path=str(shots / "ai-lab-start.png"))
        assert "/user/alice/lab/tree/start.ipynb" in page.url
    for name in ("login.png", "ai-lab-start.png"):
        assert (shots / name).stat().st_size > 10_000, f"{name} looks empty"
    started = docker_client.containers.get("ai-lab-alice")
    assert started.id != before, "the login did not start a new container for alice"
    created = started.attrs["Config"]
    env = dict(item.split("=", 1) for item in created["Env"])
    assert env.get("JUPYTERHUB_ROOT_DIR") == "/home/jupyter/notebooks", env.get("JUPYTERHUB_ROOT_DIR")
    assert env.get("JUPYTERHUB_DEFAULT_URL") == "/lab/tree/start.ipynb", env.get("JUPYTERHUB_DEFAULT_URL")
    assert env.get("JUPYTERHUB_SERVICE_URL", "").startswith("http://"), "the hub gave the server no address"
    assert created["Cmd"] == ["jupyterhub-singleuser"], f"the server was started with arguments: {created['Cmd']}"
