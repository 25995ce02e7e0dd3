"""The claims audit (tests/claims/) agrees with the pages, and its checks catch what they are for."""

from __future__ import annotations

import subprocess
import sys

from ailab_guide import audit, claims
from harness import falsify, paths


def test_every_claim_has_an_audited_entry() -> None:
    """Every mark: an entry with its line and sentence as the page has them, what would make it false, a verdict."""
    assert audit.problems({f.id for f in falsify.load()}) == []


def docker_free_tests(session, audited: set[str]) -> set[str]:
    """The test ids that run without the engine, as pytest collects them (`-m "not docker"`).

    A full run has collected every audited test already: their markers are read there. Run alone,
    this test asks a second pytest to collect the suite.
    """
    if audited <= {item.nodeid.split("[", 1)[0] for item in session.items}:
        return {item.nodeid.split("[", 1)[0] for item in session.items if not item.get_closest_marker("docker")}
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "tests/pytest.ini", "--rootdir", ".", "--collect-only", "-q",
         "-m", "not docker", "-p", "no:cacheprovider"],
        cwd=paths.ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {line.split("[", 1)[0] for line in listed.splitlines() if "::" in line}


def test_every_docker_free_claim_has_a_falsifier_that_runs_its_test(request) -> None:
    """A claim whose test needs no engine is cheap to falsify: each has a falsifier naming that test."""
    audited = {entry["test"] for page in audit.pages() for entry in audit.entries(page.stem)}
    free = docker_free_tests(request.session, audited)
    by_id = {f.id: f for f in falsify.load()}
    missing = []
    for page in audit.pages():
        for entry in audit.entries(page.stem):
            if entry["test"] not in free:
                continue
            named = [by_id[name] for name in entry.get("falsifiers", []) if name in by_id]
            runs = {test.split("[", 1)[0] for f in named for test in f.tests}  # a case runs its function
            if entry["test"] not in runs and entry["test"].split("::")[0] not in runs:
                missing.append(f"docs/{page.name}:{entry['line']} ({entry['test']})")
    assert not missing, "Docker-free claims without a falsifier that runs their test:\n" + "\n".join(missing)


def test_a_changed_sentence_or_a_new_mark_is_caught(tmp_path, monkeypatch) -> None:
    docs, audits = tmp_path / "docs", tmp_path / "claims"
    docs.mkdir()
    page = docs / "page.md"
    page.write_text("# Page\n\nThe hub starts. {proven}`test_a`\n")
    monkeypatch.setattr(audit, "DOCS", docs)
    monkeypatch.setattr(audit, "AUDIT", audits)
    resolve = lambda name: f"tests/test_x.py::{name}"  # noqa: E731
    assert audit.update(resolve) == 1, "a new mark awaits its audit"
    assert any("verdict 'unaudited'" in p for p in audit.problems(set(), resolve))
    entries = audit.entries("page")
    entries[0].update(false_if="the hub does not start", verdict="sound")
    audit.audit_file("page").write_text(audit.dump(entries))
    assert audit.problems(set(), resolve) == []
    page.write_text("# Page\n\nThe hub starts quickly. {proven}`test_a`\nIt stops. {proven}`test_b`\n")
    found = audit.problems(set(), resolve)
    assert any("sentence changed" in p for p in found) and any("test_b has no entry" in p for p in found), found
    audit.update(resolve)
    assert audit.entries("page")[0]["verdict"] == audit.UNAUDITED, "a changed sentence is audited again"


def test_the_audit_and_the_build_resolve_test_names_alike() -> None:
    name = "test_every_claim_has_an_audited_entry"
    assert audit.default_resolve(name) == claims.resolve(name, claims.test_functions())[0]


def test_a_mark_without_an_audited_entry_fails_the_build(tmp_path, monkeypatch) -> None:
    """The site build with -W, as nox runs it: a mark fails it until its entry has a false_if and a verdict.

    A sentence changed after its audit goes back to "unaudited" (`--update`), and the build fails again.
    """
    from sphinx.cmd.build import build_main

    source, audits = tmp_path / "docs", tmp_path / "claims"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["myst_parser", "ailab_guide.claims"]\nroot_doc = "page"\n')
    page = source / "page.md"
    page.write_text("# Page\n\nThe hub starts. {proven}`test_every_claim_has_an_audited_entry`\n")
    monkeypatch.setattr(audit, "DOCS", source)
    monkeypatch.setattr(audit, "AUDIT", audits)

    def builds() -> bool:
        return build_main(["-W", "-q", "-E", "-b", "dummy", str(source), str(tmp_path / "out")]) == 0

    assert not builds(), "a mark without an entry built"
    audit.update()
    assert not builds(), "a mark whose entry awaits its audit built"
    entries = audit.entries("page")
    entries[0].update(false_if="the hub does not start", verdict="sound")
    audit.audit_file("page").write_text(audit.dump(entries))
    assert builds(), "the audited mark does not build: the checks above failed for another reason"
    page.write_text("# Page\n\nThe hub starts at once. {proven}`test_every_claim_has_an_audited_entry`\n")
    audit.update()
    assert audit.entries("page")[0]["verdict"] == audit.UNAUDITED, "a changed sentence kept its verdict"
    assert not builds(), "a changed sentence built with its old audit"
