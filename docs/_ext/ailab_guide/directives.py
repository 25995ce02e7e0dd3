"""The guide's directives: tables generated from the examples and the installed code.

- ``{tested-versions}``: the versions the examples pin (examples/<name>/.env).
- ``{config-reference} <example>``: every trait the example's jupyterhub_config.py
  sets, with type, default and help read from the installed JupyterHub and
  DockerSpawner.
- ``{verification-summary}``: the summary of docs/_build/verified-snippets.json,
  written by the test run, when it exists.
"""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import re
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from . import figures, hubconfig, versions

REPORT = pathlib.Path(__file__).resolve().parents[2] / "_build" / "verified-snippets.json"


def table(header: list[str], rows: list[list[str]], widths: list[int], classes=()) -> nodes.table:
    """A plain docutils table; cells are literal text or inline code."""
    group = nodes.tgroup(cols=len(header))
    group += [nodes.colspec(colwidth=width) for width in widths]

    def row(cells: list, head: bool = False) -> nodes.row:
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", cell if isinstance(cell, nodes.Node) else nodes.Text(str(cell)))
            line += entry
        return line

    thead = nodes.thead()
    thead += row(header, head=True)
    tbody = nodes.tbody()
    tbody += [row(cells) for cells in rows]
    group += [thead, tbody]
    result = nodes.table(classes=["colwidths-auto", *classes])
    result += group
    return result


class TestedVersions(SphinxDirective):
    """The versions an example pins, and what the last passing full test run ran them on.

    Pins come from the example's .env; engine, Compose, the test machine and whether
    each base image was real or a stand-in come from versions.TESTED_WITH, which
    that run wrote. A pin the run did not test says so in its row.
    """

    optional_arguments = 1
    NAMES: ClassVar[dict[str, str]] = {
        "AI_LAB_VERSION": "Exasol AI Lab image (exasol/ai-lab)",
        "JUPYTERHUB_VERSION": "JupyterHub (hub and single-user server)",
        "DOCKERSPAWNER_VERSION": "DockerSpawner",
        "NATIVEAUTHENTICATOR_VERSION": "jupyterhub-nativeauthenticator",
        "OAUTHENTICATOR_VERSION": "oauthenticator (OpenID Connect logins)",
        "LDAPAUTHENTICATOR_VERSION": "jupyterhub-ldapauthenticator (LDAP logins)",
        "IDLE_CULLER_VERSION": "jupyterhub-idle-culler",
    }
    IMAGES: ClassVar[dict[str, str]] = {
        "AI_LAB_VERSION": "exasol/ai-lab:{}",
        "JUPYTERHUB_VERSION": "quay.io/jupyterhub/jupyterhub:{}",
    }

    def run(self) -> list[nodes.Node]:
        example = self.arguments[0] if self.arguments else "minimal"
        env_file = versions.EXAMPLES / example / ".env"
        self.env.note_dependency(str(env_file))
        if versions.TESTED_WITH.exists():  # (a missing dependency is a warning of the last-updated extension)
            self.env.note_dependency(str(versions.TESTED_WITH))
        pins = versions.pins(example)
        record = versions.tested_with()
        tested_pins = record.get("pins", {}).get(example, {})
        stand_ins = {base["ref"]: base["stand_in"] for base in record.get("base_images", [])}
        rows = []
        for key, value in pins.items():
            if tested_pins.get(key) != value:
                how = f"not yet run at this version (last run: {tested_pins.get(key, 'none')})"
            elif key in self.IMAGES:
                ref = self.IMAGES[key].format(value)
                how = "a stand-in of the image" if stand_ins.get(ref, True) else "the real image"
                if key == "JUPYTERHUB_VERSION":
                    how = f"hub: {how}; users' server: from PyPI"
            else:
                how = "from PyPI"
            rows.append([self.NAMES.get(key, key), nodes.literal(text=value), how])
        environment = record.get("environment", {})
        for name, key in (("Docker Engine", "engine"), ("Docker Compose", "compose"), ("Test machine", "os")):
            rows.append([name, nodes.literal(text=environment.get(key) or "?"), "ran every command"])
        result = [table(["Component", "Version", "Tested with"], rows, [40, 25, 35])]
        run = record.get("run")
        caption = (
            f"From the last passing full test run, {run['date']} at commit {run['commit']}"
            f" ({run['tests_passed']} tests)."
            if run
            else "No passing full test run has been recorded yet (nox -s tests writes the record)."
        )
        return [*result, nodes.paragraph(text=caption)]


class StandinLock(SphinxDirective):
    """What the AI Lab stand-in installs: the lock's key versions and what it leaves out, read from the lock."""

    KEY_PACKAGES = (
        "exasol-notebook-connector",
        "jupyterlab",
        "jupyter-server",
        "tornado",
        "traitlets",
        "pydantic",
        "sqlalchemy",
    )

    def run(self) -> list[nodes.Node]:
        version = versions.pins("minimal")["AI_LAB_VERSION"]
        path = versions.standin_lock_path(version)
        self.env.note_dependency(str(path))
        installed, left_out = versions.standin_lock(version)
        header = path.read_text()
        python = re.search(r"with uv for Python (\S+) ", header)
        as_of = re.search(r"as it stood on (\d{4}-\d{2}-\d{2})", header)
        intro = nodes.paragraph()
        intro += [
            nodes.Text(f"The AI Lab {version} stand-in installs exactly the {len(installed)} pins of its lock, "),
            nodes.literal(text=path.name),
            nodes.Text(" in "),
            nodes.literal(text="tests/standins/ai-lab/"),
            nodes.Text(
                f", resolved with uv for Python {python.group(1) if python else '?'} from PyPI as it stood on "
                f"{as_of.group(1) if as_of else '?'}, the release day. "
            ),
            nodes.literal(text="nox -s standin-lock"),
            nodes.Text(" resolves it again."),
        ]
        keys = [[name, nodes.literal(text=installed[name])] for name in self.KEY_PACKAGES if name in installed]
        by_reason: dict[str, list[str]] = {}
        for pin, why in left_out.items():
            by_reason.setdefault(why, []).append(pin)
        missing = [[nodes.literal(text=", ".join(pins)), why] for why, pins in by_reason.items()]
        return [
            intro,
            table(["Package", "Version in the stand-in"], keys, [60, 40]),
            nodes.paragraph(text=f"Left out ({len(left_out)}), because they cannot be had here:"),
            table(["Packages", "Why"], missing, [55, 45]),
        ]


FALSIFY = pathlib.Path(__file__).resolve().parents[2] / "_static" / "falsify.json"


class FalsifySummary(SphinxDirective):
    """The falsifiers' latest results (`nox -s falsify`): how many their tests killed, when, at which commits."""

    def run(self) -> list[nodes.Node]:
        if not FALSIFY.exists():
            return [nodes.paragraph(text="No falsify run has been recorded yet (nox -s falsify writes it).")]
        self.env.note_dependency(str(FALSIFY))
        record = json.loads(FALSIFY.read_text())
        results, runs = record["results"], record["runs"]
        killed = [r for r in results if r["outcome"] == "killed"]
        docker = sum(1 for r in killed if r.get("docker"))
        dates = sorted(r["date"] for r in results)
        commits = ", ".join(dict.fromkeys(r["commit"] for r in results))
        text = (
            f"Latest results: {len(killed)} of {len(results)} falsifiers killed ({docker} of the killed need Docker), "
            f"run between {dates[0]} and {dates[-1]} at commit {commits}; "
            f"the runs took {sum(run['seconds'] for run in runs if run['date'] >= dates[0]) / 60:.0f} minutes."
        )
        if record["listed"] > len(results):
            text += f" {record['listed'] - len(results)} newer falsifiers have not run yet."
        result: list[nodes.Node] = [nodes.paragraph(text=text)]
        # Per page, not per falsifier: two hundred rows would bury the few that matter, which are listed below.
        pages: dict[str, list[dict]] = {}
        for r in results:
            pages.setdefault(r["claim"].split(".md:", 1)[0], []).append(r)
        rows = [
            [f"{page}.md", str(len(done)), str(sum(r.get("docker", False) for r in done)),
             str(sum(r["outcome"] == "killed" for r in done))]
            for page, done in sorted(pages.items())
        ]  # fmt: skip
        result.append(table(["Page", "Falsifiers run", "With Docker", "Killed"], rows, [40, 20, 20, 20]))
        others = [r for r in results if r["outcome"] != "killed"]
        if others:
            items = nodes.bullet_list()
            for r in others:
                item = nodes.list_item()
                what = nodes.Text(f" {r['outcome']}: {r['claim']}")
                item += nodes.paragraph("", "", nodes.literal(text=r["id"]), what)
                items += item
            result += [nodes.paragraph(text="Not killed, each a defect to fix:"), items]
        return result


class ConfigReference(SphinxDirective):
    """Every trait an example's jupyterhub_config.py sets, described by the installed code.

    A definition list, one item per setting: the setting, its type and default
    on one line, the first paragraph of its help below. A list wraps at any
    width, where a three-column table was too wide for the content column.
    """

    required_arguments = 1
    option_spec: ClassVar[dict] = {"file": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        example = self.arguments[0]
        path = versions.EXAMPLES / example / self.options.get("file", "jupyterhub_config.py")
        self.env.note_dependency(str(path))
        config = hubconfig.load(path, hubconfig.compose_environment(example))
        items = nodes.definition_list(classes=["config-reference"])
        for setting in hubconfig.settings(config):
            if setting.problem:
                raise self.error(f"{path}: {setting.problem}")
            info = hubconfig.describe(setting.section, setting.name)
            term = nodes.term()
            term += [
                nodes.literal(text=f"c.{info.section}.{info.name}", classes=["setting"]),
                nodes.inline(text=f" {info.type}, default ", classes=["trait-meta"]),
                nodes.inline(text=info.default, classes=["trait-meta"])
                if info.default in (hubconfig.COMPUTED, hubconfig.NOT_SET)
                else nodes.literal(text=info.default, classes=["trait-default"]),
            ]
            definition = nodes.definition()
            definition += hubconfig.help_nodes(info.help) or [nodes.paragraph(text="(no help text)")]
            item = nodes.definition_list_item()
            item += [term, definition]
            items += item
        installed = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("jupyterhub", "dockerspawner"))
        caption = nodes.paragraph(text=f"Generated when this site was built, from {installed}.")
        return [items, caption]


class VerificationSummary(SphinxDirective):
    """Counts from the last test run's report, or how to produce one."""

    def run(self) -> list[nodes.Node]:
        # Noted even while missing: Sphinx then re-reads this page until a test run writes the report.
        self.env.note_dependency(str(REPORT))
        if not REPORT.exists():
            paragraph = nodes.paragraph()
            paragraph += [
                nodes.Text("No test report was present when this site was built. Run "),
                nodes.literal(text="nox -s tests"),
                nodes.Text(", then build the site again to see the summary here."),
            ]
            return [paragraph]
        report = json.loads(REPORT.read_text())
        return [
            *run_line(report.get("run")),
            *level_table(report),
            *measures(report),
            *deviations(report),
            *run_end_to_end(report),
        ]


def run_line(run: dict | None) -> list[nodes.Node]:
    """Which run wrote the report: date, commit, and whether it was the whole suite."""
    if not run:
        return [nodes.paragraph(text="The report does not say which run wrote it (an older format).")]
    text = f"From a {run['scope']} test run on {run['date']} at commit {run['commit'] or 'unknown'}"
    text += f" ({run['tests_passed']} tests passed, {run['tests_failed']} failed)"
    if run["partial_because"]:
        text += "; partial because: " + "; ".join(run["partial_because"])
    environment = run.get("environment") or {}
    if environment:
        text += (
            f", with Docker Engine {environment.get('engine') or '?'} and Docker Compose"
            f" {environment.get('compose') or '?'} on {environment.get('os') or '?'}"
        )
    return [nodes.paragraph(text=text + ".")]


def deviations(report: dict) -> list[nodes.Node]:
    """What the tests ran differently from the pages, as the harness recorded it while applying it."""
    found = report.get("deviations", [])
    if not found:
        return []
    items = nodes.bullet_list(classes=["deviations"])  # long KEY=VALUE words wrap (guide.css)
    for deviation in found:
        item = nodes.list_item()
        paragraph = nodes.paragraph()
        paragraph += [nodes.literal(text=deviation["where"]), nodes.Text(f": {deviation['what']}")]
        item += paragraph
        items += item
    return [nodes.paragraph(text="Where the tests ran a page's commands differently from the page:"), items]


def level_table(report: dict) -> list[nodes.Node]:
    """Blocks per verification level; only the first `verified_levels` count as verified."""
    summary = report["summary"]
    levels, verified = summary.get("levels", {}), summary.get("verified_levels", 6)
    rows = [[name, str(count), "yes" if i < verified else "no"] for i, (name, count) in enumerate(levels.items())]
    rows.append(["all blocks", str(summary["blocks"]), f"{summary['verified']} verified"])
    return [table(["Level", "Blocks", "Verified"], rows, [50, 20, 30])]


def measures(report: dict) -> list[nodes.Node]:
    summary = report["summary"]
    skip = {"blocks", "verified", "levels", "verified_levels"}
    rows = [[key.replace("_", " "), str(value)] for key, value in summary.items() if key not in skip]
    result = [table(["Measure", "Value"], rows, [60, 40])]
    bases = report.get("base_images", [])
    if bases:
        items = nodes.bullet_list()
        for base in bases:
            item = nodes.list_item()
            item += nodes.paragraph(text=f"{base['ref']}: {base['origin']}")
            items += item
        result += [nodes.paragraph(text="Base images of that run:"), items]
    return result


def run_end_to_end(report: dict) -> list[nodes.Node]:
    """The blocks a passing test ran, reproduced or started, with the tests: each count traced to a test."""
    items = nodes.bullet_list(classes=["block-tests"])  # guide.css lets the long test ids wrap on a phone
    for entry in report["blocks"]:
        tests = sorted(
            {use["test"] for use in entry.get("tests", []) if use["outcome"] == "passed" and use["use"] != "read"}
        )
        if not tests:
            continue
        item = nodes.list_item()
        paragraph = nodes.paragraph()
        paragraph += [nodes.literal(text=entry.get("name") or entry["id"]), nodes.Text(f" ({entry['level']}): ")]
        for index, test in enumerate(tests):
            paragraph += [nodes.Text(", " if index else ""), nodes.literal(text=test)]
        item += paragraph
        items += item
    if not len(items):
        return []
    return [nodes.paragraph(text="Blocks that passing tests ran, started or reproduced, and those tests:"), items]


def add_figures(app: Sphinx, config) -> None:
    """Give the pages the measured figures as MyST substitutions, and tag a bench on stand-ins."""
    config.myst_substitutions = {**config.myst_substitutions, **figures.substitutions()}
    if figures.stand_ins():
        app.tags.add("bench_stand_ins")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", add_figures)
    app.add_directive("tested-versions", TestedVersions)
    app.add_directive("config-reference", ConfigReference)
    app.add_directive("standin-lock", StandinLock)
    app.add_directive("falsify-summary", FalsifySummary)
    app.add_directive("verification-summary", VerificationSummary)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
