"""One session per job: build the site, lint, test, regenerate screenshots.

Run `nox -l` for the list. Python packages come from docs/requirements.txt;
JupyterHub and DockerSpawner come at the versions pinned in examples/minimal/.env,
so the site's reference tables describe exactly what the examples run.
"""

import json
import os
import pathlib
import shlex
import sys

import nox

sys.path.insert(0, str(pathlib.Path(__file__).parent / "docs" / "_ext"))
from ailab_guide import versions

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["docs", "lint", "tests"]

PYTHON = "3.11"
BUILD = "docs/_build"
SPHINX = ["sphinx-build", "-c", ".", "-d", f"{BUILD}/doctrees", "docs"]
TEST_SITE_URL = "https://example.org/ailab-guide/"  # where `tests` builds the site for
PYTEST = ["pytest", "-c", "tests/pytest.ini", "--rootdir", "."]  # the tests' configuration lives in tests/


def install(session: nox.Session) -> None:
    pins, production = versions.pins("minimal"), versions.pins("production")
    session.install(
        "-r",
        "docs/requirements.txt",
        f"jupyterhub=={pins['JUPYTERHUB_VERSION']}",
        f"dockerspawner=={pins['DOCKERSPAWNER_VERSION']}",
        # The production hub's plugins, so the config checks know their traits.
        f"jupyterhub-nativeauthenticator=={production['NATIVEAUTHENTICATOR_VERSION']}",
        f"oauthenticator=={production['OAUTHENTICATOR_VERSION']}",
        f"jupyterhub-ldapauthenticator=={production['LDAPAUTHENTICATOR_VERSION']}",
        f"jupyterhub-idle-culler=={production['IDLE_CULLER_VERSION']}",
        # KubeSpawner as the Kubernetes example's chart bundles it, for its trait checks.
        f"jupyterhub-kubespawner=={versions.pins('kubernetes')['KUBESPAWNER_VERSION']}",
    )


def install_node_packages(session: nox.Session) -> None:
    """The pins of tests/package-lock.json: axe-core (the site audit) and oidc-provider (the login test)."""
    session.run("npm", "ci", "--prefix", "tests", "--no-audit", "--no-fund", external=True)


def build_site(session: nox.Session, *extra: str) -> None:
    """Build the HTML site; any warning fails. `extra` goes to sphinx-build (only `docs` passes posargs)."""
    session.run(*SPHINX, f"{BUILD}/html", "-b", "html", "-W", "--keep-going", "-n", *extra)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html; any warning fails the build."""
    install(session)
    build_site(session, *session.posargs)
    session.log(f"Open {pathlib.Path(BUILD, 'html', 'index.html').resolve()}")


@nox.session(name="docs-live", python=PYTHON)
def docs_live(session: nox.Session) -> None:
    """Serve the site and rebuild on every change, for writers."""
    install(session)
    session.run("sphinx-autobuild", "-c", ".", "docs", f"{BUILD}/html", "--watch", "examples", "--watch", "conf.py")


@nox.session(python=PYTHON)
def linkcheck(session: nox.Session) -> None:
    """Check external links (needs the internet, so it is not run by default)."""
    install(session)
    session.run(*SPHINX, f"{BUILD}/linkcheck", "-b", "linkcheck")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Checks that need no Docker: ruff, hadolint and the config keys of every page."""
    install(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    build_site(session)
    # The browser audit of the site runs in `tests` (it needs Chromium and axe-core from npm).
    session.run(*PYTEST, "-m", "not docker and not browser", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Build the site, run every test against a real Docker engine, then build the site with the report."""
    install(session)
    install_node_packages(session)
    # Built for an address under a sub-path, as GitHub project pages serve it, so that the
    # site audit proves the 404 page and every link work there (example.org: a test address).
    session.env["SITE_URL"] = os.environ.get("SITE_URL") or TEST_SITE_URL
    build_site(session)
    session.run(*PYTEST, "--durations=12", *session.posargs)
    build_site(session)  # now with the test report's summary on the testing page


@nox.session(python=PYTHON)
def screenshots(session: nox.Session) -> None:
    """Regenerate the screenshots of the minimal example and the administration page with a real browser."""
    install(session)
    modules = ["tests/test_minimal_example.py", "tests/test_administration.py"]
    session.run(*PYTEST, *modules, "-k", "browser", env={"UPDATE_SCREENSHOTS": "1"})


@nox.session(python=PYTHON)
def falsify(session: nox.Session) -> None:
    """Apply each falsifier of tests/falsifiers/ to a scratch copy and run its tests: each must fail.

    Not part of `tests` (it runs the Docker modules once per falsifier); `-- --only ID,ID` runs some.
    """
    install(session)
    install_node_packages(session)
    env = {
        "PYTHONPATH": "tests:docs/_ext",
        "SITE_URL": os.environ.get("SITE_URL") or TEST_SITE_URL,
        "FALSIFY_PYTEST": json.dumps(["python", "-m", *PYTEST]),
    }
    session.run("python", "-m", "harness.falsify", *session.posargs, env=env)


@nox.session(name="claims-audit", python=PYTHON)
def claims_audit(session: nox.Session) -> None:
    """Refresh tests/claims/ from the pages (lines, sentences, new and removed marks) and list what awaits an audit."""
    install(session)
    session.run("python", "-m", "ailab_guide.audit", "--update", *session.posargs, env={"PYTHONPATH": "docs/_ext"})


@nox.session(name="standin-lock", python=PYTHON)
def standin_lock(session: nox.Session) -> None:
    """Resolve the AI Lab stand-in's packages as PyPI stood on its release day (`-- VERSION`; default: .env's)."""
    install(session)
    version = session.posargs[0] if session.posargs else versions.pins("minimal")["AI_LAB_VERSION"]
    session.run("python", "-m", "harness.standin_lock", version, env={"PYTHONPATH": "tests:docs/_ext"})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmark spawns, image size, many users at once and the site build (needs Docker; Benchmarks says how long)."""
    install(session)
    install_node_packages(session)  # the site part runs the whole test suite, as `tests` does
    env = {
        "PYTHONPATH": "tests:docs/_ext",
        "SITE_URL": os.environ.get("SITE_URL") or TEST_SITE_URL,
        "BENCH_PYTEST": shlex.join(PYTEST),  # how the bench runs the suite: exactly as `tests` does
    }
    session.run("python", "-m", "harness.bench", *session.posargs, env=env)
