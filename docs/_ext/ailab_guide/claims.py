"""Claims: a sentence that promises behaviour names the test that proves it.

On a page, ``{proven}`test_name` `` (or ``{proven}`tests/test_x.py::test_name` ``)
stands right after the sentence it proves. At build time the name is looked
up among the test functions in tests/ (read with ast, nothing is imported);
an unknown or ambiguous name is a warning, so `-W` fails the build. Readers
see a small "tested" mark that links to the list of all claims, which
``{claims-list}`` renders (on the testing page) with each claim's test.
"""

from __future__ import annotations

import ast
import functools
import pathlib
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from . import audit

logger = logging.getLogger(__name__)
ROOT = pathlib.Path(__file__).resolve().parents[3]
TESTS = ROOT / "tests"
SENTENCE_END = re.compile(r"[.!?]\s+")


class claim(nodes.Inline, nodes.Element):
    """A {proven} mark; replaced by a link when the page is written."""


class claims_list(nodes.General, nodes.Element):
    """Where {claims-list} puts the list of claims; filled when the page is written."""


@functools.cache
def test_functions(tests: pathlib.Path = TESTS) -> dict[str, str]:
    """Every test function as `tests/test_x.py::test_name` (methods as `...::TestClass::test_name`) -> its file."""
    found = {}
    for path in sorted(tests.glob("test_*.py")):
        module = path.relative_to(tests.parent).as_posix()
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                found[f"{module}::{node.name}"] = str(path)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                        found[f"{module}::{node.name}::{item.name}"] = str(path)
    return found


def resolve(name: str, known: dict[str, str]) -> tuple[str, str]:
    """(the test's full id, "") for a known test, else ("", why not)."""
    if name in known:
        return name, ""
    matches = [test for test in known if test.rsplit("::", 1)[1] == name]
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return "", f"{{proven}} `{name}` is ambiguous ({', '.join(matches)}): write tests/<file>.py::{name}"
    return "", f"{{proven}} `{name}` names no test function in tests/test_*.py"


class ProvenRole(SphinxRole):
    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        test, problem = resolve(self.text.strip(), test_functions())
        if problem:
            logger.warning(problem, location=self.get_location())
            return [], []
        self.env.note_dependency(test_functions()[test])  # a renamed test re-checks the page
        node = claim(test=test)
        self.set_source_info(node)
        return [node], []


class ClaimsList(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        self.env.ailab_claims_page = self.env.docname
        return [claims_list()]


def sentence_before(node: claim) -> str:
    """The sentence a mark stands after: the text of its paragraph up to it, from the last sentence end."""
    paragraph = node.parent
    while paragraph is not None and not isinstance(paragraph, nodes.paragraph | nodes.list_item | nodes.entry):
        paragraph = paragraph.parent
    if paragraph is None:
        return ""
    text = ""
    for part in paragraph.findall(lambda n: n is node or isinstance(n, nodes.Text)):
        if part is node:
            break
        text += part.astext()
    body = text.rstrip()
    starts = [match.end() for match in SENTENCE_END.finditer(body.rstrip(".!?"))]
    return " ".join(body[starts[-1] if starts else 0 :].split())


def collect(app: Sphinx, doctree: nodes.document) -> None:
    """At read time, note each claim of the page with its sentence, test and audit (tests/claims/<page>.yaml)."""
    env = app.env
    claims = getattr(env, "ailab_claims", [])
    if audit.audit_file(env.docname).exists():
        env.note_dependency(str(audit.audit_file(env.docname)))
    audited = audit.keyed(env.docname)
    places: dict[str, int] = {}
    for number, node in enumerate(doctree.findall(claim), start=1):
        node["anchor"] = f"claim-{env.docname.replace('/', '-')}-{number}"
        places[node["test"]] = places.get(node["test"], 0) + 1
        entry = audited.get((env.docname, node["test"], places[node["test"]]), {})
        if entry.get("verdict") not in audit.VERDICTS or not entry.get("false_if"):
            logger.warning(
                f"the claim proven by {node['test']} has no audited entry in tests/claims/{env.docname}.yaml "
                "(nox -s claims-audit adds it; then write its false_if and verdict)",
                location=node,
            )
        claims.append(
            {
                "docname": env.docname,
                "anchor": node["anchor"],
                "sentence": sentence_before(node),
                "test": node["test"],
                "false_if": entry.get("false_if", ""),
                "verdict": entry.get("verdict", audit.UNAUDITED),
                "falsifiers": entry.get("falsifiers", []),
            }
        )
    env.ailab_claims = claims


def purge(app: Sphinx, env, docname: str) -> None:
    env.ailab_claims = [entry for entry in getattr(env, "ailab_claims", []) if entry["docname"] != docname]


def merge(app: Sphinx, env, docnames: set[str], other) -> None:
    env.ailab_claims = getattr(env, "ailab_claims", []) + [
        entry for entry in getattr(other, "ailab_claims", []) if entry["docname"] in docnames
    ]
    if getattr(other, "ailab_claims_page", None):
        env.ailab_claims_page = other.ailab_claims_page


def list_page_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """The claims list shows every page's claims: rebuild it when any page changes."""
    page = getattr(env, "ailab_claims_page", None)
    return [page] if page and (added or changed or removed) and page in env.found_docs else []


def resolve_nodes(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """At write time, marks become small links to the list; the list becomes a table."""
    env, builder = app.env, app.builder
    page = getattr(env, "ailab_claims_page", None)
    for node in list(doctree.findall(claim)):
        if page:
            link = nodes.reference(
                "",
                "tested",
                refuri=builder.get_relative_uri(docname, page) + "#" + node["anchor"],
                classes=["claim-proven"],
            )
            link["reftitle"] = f"proven by {node['test']}"
            node.replace_self(link)
        else:
            node.replace_self([])
    for node in list(doctree.findall(claims_list)):
        claims = sorted(
            getattr(env, "ailab_claims", []), key=lambda c: (c["docname"], int(c["anchor"].rsplit("-", 1)[1]))
        )
        node.replace_self(claims_by_page(app, docname, claims))


def claims_by_page(app: Sphinx, docname: str, claims: list[dict]) -> nodes.Node:
    """The claims grouped by page, each with the test that proves it.

    A list, not a table: a sentence beside a long test name leaves a phone's
    screen no room for either.
    """
    if not claims:
        return nodes.paragraph(text="No page marks a claim yet.")
    result = nodes.container(classes=["claims-list"])
    for page in dict.fromkeys(entry["docname"] for entry in claims):
        title = app.env.titles.get(page)
        heading = nodes.paragraph(classes=["claims-page"])
        heading += nodes.reference(
            "", title.astext() if title else page, refuri=app.builder.get_relative_uri(docname, page)
        )
        items = nodes.bullet_list()
        for entry in (entry for entry in claims if entry["docname"] == page):
            item = nodes.list_item(ids=[entry["anchor"]])
            item += nodes.paragraph(text=entry["sentence"])
            proof = nodes.paragraph(classes=["claims-test"])
            proof += [nodes.Text("Proven by "), nodes.literal(text=entry["test"])]
            item += proof
            if entry.get("false_if"):
                false_if = nodes.paragraph(classes=["claims-false-if"])
                false_if += nodes.strong(text="False if: ")
                for index, part in enumerate(entry["false_if"].split("`")):  # `code` as on the pages
                    false_if += nodes.literal(text=part) if index % 2 else nodes.Text(part)
                if entry.get("falsifiers"):
                    false_if += nodes.Text(" Falsifier: ")
                    false_if += [nodes.literal(text=", ".join(entry["falsifiers"]))]
                item += false_if
            items += item
        result += [heading, items]
    return result


def setup(app: Sphinx) -> None:
    app.add_node(claim)
    app.add_node(claims_list)
    app.add_role("proven", ProvenRole())
    app.add_directive("claims-list", ClaimsList)
    app.connect("doctree-read", collect)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", list_page_outdated)
    app.connect("doctree-resolved", resolve_nodes)
