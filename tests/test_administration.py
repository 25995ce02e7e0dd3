"""The administration page and the production symptoms of the troubleshooting page, on one production copy.

One copy of the production example starts with its page's set-up. The admin
and ada sign up; the admin requests an API token on /hub/token in Chromium
(the page's screenshots), and the Python blocks of the administration page run
in page order through pytest-examples, which checks every `#>` line they print.
Then the troubleshooting page's production symptoms are reproduced on the same
copy: curl and the self-signed certificate, the failed-login lockout, a
renewed certificate, and a server that exits at once. For that last one the
copy carries a hook that gives one user, `crashes`, a server command that
exits; every other user gets the example's configuration unchanged.
"""

from __future__ import annotations

import copy
import os
import re
import ssl
import subprocess
import time

import docker.errors
import pytest
from harness import blocks, browser, hub, kernel, oidc, page_python, paths, production, shell, standins

PAGE = "administration.md"
TROUBLE = "troubleshooting.md"
ADA, GRACE, CRASHES = "ada", "grace", "crashes"
PASSWORD = "a-long-test-passphrase-for-"
# The permissions the page asks for on /hub/token, as its list shows them ("**Permissions**: `...`").
SCOPES = re.search(r"\*\*Permissions\*\*: `([^`]+)`", (paths.DOCS / PAGE).read_text()).group(1)

CRASHING_SERVER = """
# Test only: one user's server exits at once, as a broken user image's would.
# The example's own hook (the size form's) still runs first.
example_hook = c.DockerSpawner.get("pre_spawn_hook")


def exits_at_once(spawner):
    if example_hook:
        example_hook(spawner)
    if spawner.user.name == "crashes":
        spawner.cmd = ["sh", "-c", "echo 'the server cannot start' >&2; sleep 3; exit 3"]


c.DockerSpawner.pre_spawn_hook = exits_at_once
"""


SUBMIT_HANDLER_BOUND = """() => {
    const form = document.getElementById("request-token-form");
    const events = window.jQuery && form && jQuery._data(form, "events");
    return Boolean(events && events.submit);
}"""


def add_crashing_server(folder):
    """a test-only pre_spawn_hook appended to jupyterhub_config.py: the user `crashes` gets a server that exits"""
    config = folder / "jupyterhub_config.py"
    config.write_text(config.read_text() + CRASHING_SERVER)


@pytest.fixture(scope="module")
def stack(docker_client, base_images, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("administration")
    with production.running(docker_client, scratch, (ADA, GRACE, CRASHES), change=add_crashing_server) as up:
        yield up


@pytest.fixture(scope="module")
def admin(stack):
    return production.signed_up_admin(stack, PASSWORD + "admin")


@pytest.fixture(scope="module")
def ada(stack, admin):
    ada = production.approved_user(stack, admin, ADA, PASSWORD + ADA)
    ada.start()
    return ada


@pytest.fixture(scope="module")
def in_browser(stack, admin, ada, tmp_path_factory):
    """The admin in Chromium: requests the page's token on /hub/token, then opens the admin panel.

    Returns the token and the panel's text; takes the page's two screenshots.
    """
    shots = browser.screenshot_folder(tmp_path_factory.mktemp("shots"))
    url = stack["url"]
    with browser.browser() as instance:
        context = instance.new_context(ignore_https_errors=True, viewport={"width": 1000, "height": 620})
        page = context.new_page()
        page.goto(f"{url}/hub/login?next=/hub/token")
        page.fill("#username_input", production.admin_name())
        page.fill("#password_input", PASSWORD + "admin")
        page.click("#login_submit")
        page.wait_for_url("**/hub/token")
        page.fill("#token-note", "admin script")
        page.select_option("#token-expiration-seconds", label="1 Day")
        page.fill("#token-scopes", SCOPES)
        browser.screenshot_around(page, "#request-token-form", shots / "admin-token.png")
        # The page's script binds the form's submit handler only once requirejs has loaded it and its
        # modules; a click before that submits the form natively and no token ever shows (a slow machine).
        page.wait_for_function(SUBMIT_HANDLER_BOUND)
        page.click("#request-token-form button[type=submit]")
        page.wait_for_selector("#token-result:not(:empty)")
        token = page.inner_text("#token-result").strip()
        page.goto(f"{url}/hub/admin")
        page.wait_for_selector("text=Last Activity")
        page.wait_for_selector(f"text={ADA}")
        page.screenshot(path=str(shots / "admin-panel.png"))
        panel = page.inner_text("body")
        context.close()
    return {"token": token, "panel": panel}


@pytest.fixture(scope="module")
def script_env(stack, in_browser):
    """The environment variables the page asks readers to set."""
    return {"HUB_URL": stack["url"], "HUB_TOKEN": in_browser["token"], "REQUESTS_CA_BUNDLE": stack["verify"]}


@pytest.fixture(scope="module")
def script(script_env):
    """The globals the page's blocks share as one script, run after one another."""
    return {}


@pytest.fixture
def run_block(eval_example, script, script_env, monkeypatch):
    """Run one of the page's Python blocks by name, as the next part of the one script, with its environment."""
    for key, value in script_env.items():
        monkeypatch.setenv(key, value)

    def run(name: str) -> None:
        script.update(page_python.run(eval_example, blocks.named(PAGE, name), {**script}))

    return run


def login_error(stack, name: str, password: str) -> str:
    return production.person(stack, name).login_error(password)


@pytest.mark.step(1)
def test_the_token_has_only_the_scopes_the_page_asks_for(stack, admin, ada, in_browser):
    listed = admin.api("GET", f"/users/{production.admin_name()}/tokens").json()["api_tokens"]
    mine = [token for token in listed if token["note"] == "admin script"]
    assert len(mine) == 1, listed
    scopes = set(mine[0]["scopes"])  # as the hub expands them: admin:users includes users, list:users, ...
    assert set(SCOPES.split()) <= scopes, scopes
    assert not scopes & {"tokens", "read:tokens", "admin:groups", "groups", "shutdown", "admin:servers"}, scopes
    headers = {"Authorization": f"token {in_browser['token']}"}

    def call(method: str, path: str) -> int:
        response = admin.session.request(method, f"{stack['url']}/hub/api{path}", headers=headers, timeout=60)
        return response.status_code

    # What the two scopes allow: create, list and remove users; start and stop servers (the hub checks the
    # scope first, then answers 400 for a server already running and 204 for one that is not).
    assert call("POST", "/users/scope-check") == 201, "the token may not create a user"
    assert call("GET", "/users") == 200, "the token may not list users"
    assert call("DELETE", "/users/scope-check") == 204, "the token may not remove a user"
    assert call("POST", f"/users/{ADA}/server") == 400, "the token may not start a server"
    assert call("DELETE", f"/users/{production.admin_name()}/server") == 204, "the token may not stop a server"
    # And nothing more.
    for method, path in (
        ("GET", f"/users/{production.admin_name()}/tokens"),  # its owner's tokens
        ("GET", f"/users/{ADA}/tokens"),  # other users' tokens
        ("POST", "/groups/staff"),  # groups
        ("POST", "/shutdown"),  # the hub itself
    ):
        status = call(method, path)
        assert status == 403, f"the token may {method} {path}: HTTP {status}"


@pytest.mark.step(2)
def test_the_admin_panel_lists_the_users_in_a_browser(stack, admin, ada, in_browser):
    panel = in_browser["panel"]
    for text in (production.admin_name(), ADA, "Last Activity", "Stop All", "Add Users", "Edit User"):
        assert text in panel, f"the admin panel lacks {text!r}:\n{panel[:2000]}"
    response = ada.session.get(f"{stack['url']}/hub/admin", timeout=30)
    assert response.status_code == 403, f"{ADA} opened the admin panel: HTTP {response.status_code}"
    # The menu bar of the hub's pages links the panel as "Admin", for admins only.
    link = re.compile(r'href="/hub/admin"[^>]*>\s*Admin\s*</a>')
    assert link.search(admin.session.get(f"{stack['url']}/hub/home", timeout=30).text), "no Admin link for the admin"
    assert not link.search(ada.session.get(f"{stack['url']}/hub/home", timeout=30).text), f"{ADA} sees an Admin link"


@pytest.mark.step(3)
def test_the_pages_python_adds_a_user(eval_example, run_block):
    eval_example.lint_ruff(page_python.as_one_script(PAGE))
    run_block("admin-api-setup")
    run_block("admin-create-user")


def home_notice(person: hub.User) -> str:
    """The announcement on a user's hub home page, as a browser shows it ("" for none)."""
    page = person.session.get(f"{person.url}/hub/home", timeout=30)
    page.raise_for_status()
    notice = re.search(r'<div class="[^"]*announcement[^"]*">(.*?)</div>', page.text, re.S)
    return oidc.visible_text(notice.group(1)) if notice else ""


@pytest.mark.step(4)
def test_a_user_the_api_adds_signs_up_and_waits_for_approval(stack, admin, ada):
    """After step 3: the page's script added grace to the hub, without a password.

    While her sign-up waits, the admin's home page (not ada's) says so; once approved, it does not.
    """
    assert admin.api("GET", f"/users/{GRACE}").status_code == 200, "the hub does not know grace"
    assert login_error(stack, GRACE, PASSWORD + GRACE) == "Invalid username or password."
    assert home_notice(admin) == "", "a notice before anyone waits"
    grace = production.person(stack, GRACE)
    blocks.assert_in_output(
        blocks.named("production.md", "production-user-signup"), grace.sign_up(PASSWORD + GRACE), exact=True
    )
    assert grace.login_error(PASSWORD + GRACE) == f"User {GRACE} has not been authorized by an administrator yet."
    blocks.assert_in_output(
        blocks.named("production.md", "production-waiting-sign-ups"), home_notice(admin), exact=True
    )
    assert home_notice(ada) == "", "a user who is no admin sees the notice"
    response = admin.session.get(f"{stack['url']}/hub/authorize/{GRACE}", timeout=30)
    assert response.status_code == 200
    assert home_notice(admin) == "", "the notice stays after the approval"
    grace.login(PASSWORD + GRACE)
    blocks.note(blocks.named("production.md", "production-waiting-sign-ups-config"), blocks.STARTED)


def set_password(admin: hub.User, name: str, password: str) -> str:
    """The admin sets a user's password on NativeAuthenticator's page for it; return the page's message."""
    url = f"{admin.url}/hub/change-password/{name}"
    admin.session.get(url, timeout=30).raise_for_status()
    form = {"new_password": password, "new_password_confirmation": password, "_xsrf": admin.xsrf()}
    answer = admin.session.post(url, data=form, timeout=30)
    answer.raise_for_status()
    message = re.search(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', answer.text, re.S)
    assert message, f"the page shows no message:\n{answer.text[:1000]}"
    return oidc.visible_text(message.group(1))


@pytest.mark.step(4.5)
def test_the_admin_sets_a_new_password_for_a_user(stack, admin):
    """The page's reset for grace; then her password is set back, for step 6 (a removed user's old password)."""
    shown = set_password(admin, GRACE, PASSWORD + "new-for-" + GRACE)
    blocks.assert_in_output(blocks.named("production.md", "production-password-reset"), shown, exact=True)
    assert login_error(stack, GRACE, PASSWORD + GRACE) == "Invalid username or password."
    production.person(stack, GRACE).login(PASSWORD + "new-for-" + GRACE)
    set_password(admin, GRACE, PASSWORD + GRACE)
    production.person(stack, GRACE).login(PASSWORD + GRACE)


def watched(session, path: str) -> list[bool | None]:
    """Record, for each GET of `path` by the page's session, whether the user's server was ready (None: no server)."""
    seen: list[bool | None] = []
    original = session.get

    def get(url, *args, **kwargs):
        response = original(url, *args, **kwargs)
        if url.endswith(path):
            server = response.json()["servers"].get("")
            seen.append(None if server is None else bool(server.get("ready")))
        return response

    session.get = get
    return seen


@pytest.mark.step(5)
def test_the_pages_python_runs_against_the_hub_as_shown(ada, script, run_block):
    """After step 3 (the script's set-up, grace added). ada's server runs, with a kernel that holds a value."""
    held = ada.server("POST", "/kernels", json={"name": "python3"})
    held.raise_for_status()
    kernel_id = held.json()["id"]
    kernel.execute(ada, kernel_id, "answer = 42\nopen('saved.txt', 'w').write('saved before the stop')", 180)
    run_block("admin-list-users")
    seen = watched(script["session"], f"/users/{GRACE}")
    try:
        run_block("admin-start-stop")
    finally:
        del script["session"].get  # the session's own method again
    assert True in seen, f"the script went on before grace's server was ready: {seen}"
    assert seen[-1] is None, f"the script went on before grace's server was gone: {seen}"
    run_block("admin-stop-all")
    ada.start()  # after the maintenance
    running = {entry["id"] for entry in ada.server("GET", "/kernels").json()}
    assert kernel_id not in running, "ada's kernel outlived the stop"
    assert ada.run_code("print(open('saved.txt').read())").strip() == "saved before the stop"


@pytest.mark.step(6)
def test_a_removed_user_can_no_longer_log_in_and_her_volume_goes(stack, docker_client, run_block):
    run_block("admin-remove-user")
    assert login_error(stack, GRACE, PASSWORD + GRACE) == "Invalid username or password."
    docker_client.volumes.get(f"ai-lab-production-notebooks-{GRACE}")  # still there
    shell.run_commands(blocks.named(PAGE, "admin-remove-volume"), stack["folder"], stack["env"])
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(f"ai-lab-production-notebooks-{GRACE}")


@pytest.mark.step(7)
@pytest.mark.usefixtures("run_block")
def test_a_changed_output_line_fails_the_check(eval_example):
    """pytest-examples fails a block whose printed output differs from its `#>` line (the environment is set)."""
    altered = copy.copy(page_python.example(blocks.named(PAGE, "admin-api-setup")))
    altered.source = altered.source.replace(f"#> {production.admin_name()}", "#> somebody-else")
    assert altered.source != page_python.example(blocks.named(PAGE, "admin-api-setup")).source
    with pytest.raises(pytest.fail.Exception, match="somebody-else"):
        page_python.check_prints(eval_example, altered, {})


# --- The production symptoms of the troubleshooting page ----------------------------------------


def symptom(name: str):
    return blocks.named(TROUBLE, name)


def run_symptom(stack, name: str) -> str:
    """Run one of the troubleshooting page's command blocks in the running copy's folder."""
    return shell.run_commands(symptom(name), stack["folder"], stack["env"], timeout=300)


@pytest.mark.step(8)
def test_curl_does_not_trust_a_self_signed_certificate_as_quoted(stack):
    output = shell.run_failing(symptom("trouble-curl"), stack["folder"], stack["env"])
    blocks.assert_in_output(symptom("trouble-curl-untrusted"), output)
    answer = run_symptom(stack, "trouble-curl-cacert")
    assert '"version"' in answer, answer


@pytest.mark.step(9)
def test_five_wrong_passwords_lock_an_account_as_quoted(stack, ada):
    """Four wrong passwords lock nothing; after five the right one fails too; ada's running session is not touched."""
    for _ in range(4):
        assert production.person(stack, ADA).login_error("not-her-password") == "Invalid username or password."
    production.person(stack, ADA).login(PASSWORD + ADA)  # not locked yet; the login starts the count again
    locked = production.person(stack, ADA)
    for _ in range(5):
        assert locked.login_error("not-her-password") == "Invalid username or password."
    blocks.assert_in_output(symptom("trouble-locked"), locked.login_error(PASSWORD + ADA), exact=True)
    assert ada.model()["name"] == ADA


@pytest.mark.step(10)
def test_a_renewed_certificate_takes_effect_on_restart_and_keeps_logins_and_servers(stack, docker_client, ada):
    ada.start()  # stopped by the page's "stop every server"
    before = production.user_container(docker_client, ADA).id
    folder = stack["folder"]
    (folder / "renewed").mkdir()
    shell.run_commands(  # the test's stand-in for a renewed certificate from your certificate authority
        "openssl req -x509 -newkey rsa:3072 -nodes -days 60 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout renewed/tls.key -out renewed/tls.crt",
        folder,
    )
    renewed = ssl.PEM_cert_to_DER_cert((folder / "renewed" / "tls.crt").read_text())
    assert served_certificate() != renewed
    # Step 9 locked ada's account; what her right password gets just before the restart is step 11's premise.
    before_restart["ada's login"] = production.person(stack, ADA).login_error(PASSWORD + ADA)
    run = run_symptom(stack, "trouble-renew-certificate")
    hub.wait_until_up(stack["url"], verify=str(folder / "renewed" / "tls.crt"))
    assert served_certificate() == renewed, f"the hub still serves the old certificate:\n{run}"
    assert ada.model()["servers"][""]["ready"], "the restart logged ada out or lost her server"
    assert production.user_container(docker_client, ADA).id == before, "the restart replaced ada's container"
    assert (folder / "secrets" / "tls.key").stat().st_mode & 0o777 == 0o600, "cp changed the key's permissions"
    assert ada.run_code("print(6 * 7)").strip() == "42"


before_restart: dict[str, str] = {}  # what step 10 saw just before it restarted the hub


def served_certificate() -> bytes:
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", production.PORT)))


@pytest.mark.step(11)
def test_a_hub_restart_unlocks_a_locked_account(stack):
    """NativeAuthenticator counts failed logins in the hub's memory; the restart of step 10 forgot them.

    Step 10 saw the account still locked right before that restart: run alone, this test fails.
    """
    locked = before_restart.get("ada's login", "not seen: run steps 9 and 10 first")
    blocks.assert_in_output(symptom("trouble-locked"), locked, exact=True)
    production.person(stack, ADA).login(PASSWORD + ADA)


@pytest.mark.step(12)
def test_a_server_that_exits_shows_why_in_the_hub_log_only(stack, docker_client, admin):
    crashes = production.approved_user(stack, admin, CRASHES, PASSWORD + CRASHES)
    began = time.monotonic()
    with pytest.raises(hub.HubError):
        crashes.start(timeout=120)
    assert time.monotonic() - began < 60, "the hub took the http_timeout to notice"
    logs = run_symptom(stack, "trouble-hub-log")
    blocks.assert_in_output(symptom("trouble-exited"), logs, each_line=True)
    with pytest.raises(docker.errors.NotFound):  # remove = True: the container and its own log are gone
        production.user_container(docker_client, CRASHES)


OLDEST_PYTHON = "3.9"  # the oldest Python the page promises (Ubuntu 22.04 has 3.10, RHEL 9 3.9)
REQUESTS_FOR_OLDEST = (
    "requests==2.32.5"  # the last requests release for Python 3.9 (docs/requirements.txt pins a newer)
)


@pytest.mark.step(13)
def test_the_pages_python_runs_on_python_3_9(script_env, tmp_path):
    """The setup and listing blocks, as one script, on CPython 3.9 with requests: no 3.10+ syntax or library call."""
    venv = tmp_path / "venv"
    subprocess.run([standins.find_python(OLDEST_PYTHON), "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin/pip", "install", "--quiet", REQUESTS_FOR_OLDEST], check=True)
    script = "\n".join(blocks.named(PAGE, name).text for name in ("admin-api-setup", "admin-list-users"))
    done = subprocess.run(
        [venv / "bin/python", "-c", script],
        env={**os.environ, **script_env},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # Every block of the page, as one script, is Python 3.9 syntax (the others change the hub: compiled, not run).
    whole = page_python.as_one_script(PAGE).source
    compiled = subprocess.run(
        [venv / "bin/python", "-c", "import sys; compile(sys.stdin.read(), 'administration.md', 'exec')"],
        input=whole,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert compiled.returncode == 0, compiled.stderr
    version = subprocess.run([venv / "bin/python", "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith(f"Python {OLDEST_PYTHON}."), version
    assert f"{ADA} server running:" in done.stdout, done.stdout
