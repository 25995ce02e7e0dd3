"""The report and its helpers cannot be talked into crediting what did not happen.

Docker-free: each test feeds the report's rules a case that must NOT count
(a syntax check only, a failed test, a notebook output, a missing quote, an
unknown test name, a scenario numbered twice) and asserts that it does not.
"""

from __future__ import annotations

import html
import re
import types

import pytest
from ailab_guide import claims, unchecked
from harness import blocks, paths, report, steps
from harness.snippets import Block


def entry(checks=(), tests=(), kind="shell", reason="", not_run=()) -> dict:
    return {
        "id": "page.md:1",
        "name": "some-block",
        "kind": kind,
        "checks": [{"check": name, "passed": passed, "detail": ""} for name, passed in checks],
        "tests": [{"test": "tests/test_x.py::test_y", "use": use, "outcome": outcome} for use, outcome in tests],
        "unchecked_reason": reason,
        "not_run": list(not_run),
    }


def judged(**kwargs) -> dict:
    result = entry(**kwargs)
    result["level"] = report.level(result)
    result["verified"] = result["level"] in report.VERIFIED
    return result


def test_bash_n_alone_is_syntax_only_and_fails_a_full_run(monkeypatch) -> None:
    shell = judged(checks=[("bash -n", True)])
    assert shell["level"] == report.SYNTAX and not shell["verified"]
    assert report.problems([shell]), "a command block only `bash -n` read must fail a full run"
    # Unless the page says why: a block with a reason gets no check (checks.classify), only the reason, and passes.
    reasoned = judged(kind="shell", reason="it needs a cluster")
    assert reasoned["level"] == report.UNCHECKED and not report.problems([reasoned])
    # A problem fails the run: the session's end (conftest.py) turns it into a failed exit status.
    import conftest

    monkeypatch.setattr(report, "write", lambda: [f"{shell['id']}: only `bash -n` read it"])
    monkeypatch.setattr(conftest, "_engine_before", None)
    monkeypatch.setattr(conftest.engine, "inventory", lambda: None)
    monkeypatch.setattr(conftest.standins, "announce", lambda text: None)
    session = types.SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    conftest.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED


def test_a_block_counts_as_run_only_if_the_test_that_ran_it_passed(monkeypatch) -> None:
    assert judged(checks=[("bash -n", True)], tests=[(blocks.RAN, "passed")])["level"] == report.RUN
    failed = judged(checks=[("bash -n", True)], tests=[(blocks.RAN, "failed")])
    assert failed["level"] == report.SYNTAX
    assert judged(tests=[(blocks.READ, "passed")], kind="none")["level"] == report.NOT_RUN, "reading is not running"
    # A test has passed only if every phase did: a teardown that fails (a clean-up's verdict) fails it.
    test = "tests/test_x.py::test_y"
    monkeypatch.setattr(report, "_outcomes", {})
    monkeypatch.setattr(blocks, "_uses", {"page.md:1": {blocks.RAN: {test}}})
    for phase, result in (("setup", "passed"), ("call", "passed"), ("teardown", "failed")):
        report.outcome(test, phase, result)
    assert report._tests("page.md:1") == [{"test": test, "use": blocks.RAN, "outcome": "failed"}]


def test_notebook_outputs_are_not_verified() -> None:
    output = judged(checks=[("executed in build", True)], kind="notebook")
    assert output["level"] == report.GENERATED and not output["verified"]


def test_a_failed_check_wins_over_any_passing_one() -> None:
    assert judged(checks=[("hadolint", True), ("docker build", False)], kind="dockerfile")["level"] == report.FAILED


def test_a_deselected_docker_check_shows_as_not_run() -> None:
    linted = judged(checks=[("hadolint", True), ("whole file", True)], kind="dockerfile", not_run=["docker build"])
    assert linted["level"] == report.SYNTAX and not linted["verified"]
    assert judged(kind="none", not_run=["docker build"])["level"] == report.NOT_RUN


def test_a_quote_missing_from_the_output_fails_and_is_not_noted() -> None:
    quoted = Block(page="page.md", line=1, language="none", text="Spawn failed: timeout", name="symptom")
    before = dict(blocks.uses())
    with pytest.raises(AssertionError, match="which the output lacks"):
        blocks.assert_in_output(quoted, "everything is fine")
    assert blocks.uses() == before


def test_claims_name_only_existing_tests(tmp_path, capsys) -> None:
    """The lookup finds real test functions only, and the build, as nox runs it with -W, fails on a wrong name."""
    known = claims.test_functions(paths.ROOT / "tests")
    assert "tests/test_report.py::test_claims_name_only_existing_tests" in known
    assert claims.resolve("test_claims_name_only_existing_tests", known)[0]
    assert "names no test" in claims.resolve("test_that_does_not_exist", known)[1]
    from sphinx.cmd.build import build_main

    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["ailab_guide.claims"]\n')
    (source / "index.rst").write_text("Page\n====\n\nThe hub starts. :proven:`test_that_does_not_exist`\n")
    assert build_main(["-W", "-q", "-b", "dummy", str(source), str(tmp_path / "out")]) != 0
    assert "`test_that_does_not_exist` names no test function" in capsys.readouterr().err


def scenario(pytester: pytest.Pytester, name: str, *numbers: int | None) -> list[pytest.Item]:
    """A module of tests numbered as given (None: no number), collected in file order."""
    tests = [
        (f"@pytest.mark.step({number})\n" if number is not None else "") + f"def test_{index}(): pass\n"
        for index, number in enumerate(numbers)
    ]
    path = pytester.makepyfile(**{name: "import pytest\n\n" + "\n".join(tests)})
    return pytester.getitems(path)


def test_a_scenario_runs_by_its_numbers_not_its_file_order(pytester: pytest.Pytester) -> None:
    items = scenario(pytester, "test_ordered", 2, 3, 1)
    steps.order(items)
    assert [item.name for item in items] == ["test_2", "test_0", "test_1"]


def test_a_scenario_numbered_twice_or_partly_is_refused(pytester: pytest.Pytester) -> None:
    with pytest.raises(pytest.UsageError, match="used twice"):
        steps.order(scenario(pytester, "test_twice", 1, 2, 1))
    with pytest.raises(pytest.UsageError, match="unnumbered"):
        steps.order(scenario(pytester, "test_partly", 1, None))


def test_every_unchecked_reason_is_shown_to_readers() -> None:
    """A `% unchecked:` comment is invisible in HTML; the site shows its reason under the block instead."""
    pages = {block.page for block in blocks.every() if block.unchecked_reason}
    assert pages, "no page has an unchecked block, so this test proves nothing; remove it"
    for page in sorted(pages):
        reasons = [block.unchecked_reason for block in blocks.every() if block.page == page and block.unchecked_reason]
        text = (paths.BUILD / "html" / page.replace(".md", ".html")).read_text()
        notes = re.findall(rf'<p class="{unchecked.NOTE_CLASS}">(.*?)</p>', text, re.S)
        shown = [html.unescape(re.sub(r"<[^>]+>", "", note)).replace("\u2019", "'") for note in notes]
        assert len(shown) == len(reasons), f"{page} shows {len(shown)} reasons for {len(reasons)} unchecked blocks"
        for reason in reasons:
            assert any(reason.replace("`", "") in note for note in shown), f"{page} does not show: {reason}"
        starts = [note.strip() for note in shown if not note.strip().startswith("Not run by this guide's tests: ")]
        assert not starts, f"{page}: these reasons lack the note's start: {starts}"
