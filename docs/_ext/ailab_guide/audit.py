"""The claims audit: for every {proven} mark, what would make its sentence false, and whether its test holds it.

tests/claims/<page>.yaml keeps one entry per mark of docs/<page>.md, in page
order: the line, the sentence (the page's text before the mark), the test the
mark names, `false_if` (a change to the example or the world that would make
the sentence false) and the audit's `verdict`. Where a falsifier
(tests/falsifiers/) makes that change, `falsifier` names it, and
`nox -s falsify` shows the test failing on it.

A mark is matched to its entry by page, test and its place among the page's
marks of that test, so a moved paragraph keeps its audit. A changed sentence
does not: its entry goes back to "unaudited" until someone reads it again.

The site build warns about a mark without an audited entry (so `-W` fails);
`test_claims_audit.py` checks lines, sentences and falsifier names; and
`python -m ailab_guide.audit --update` (nox -s claims-audit) refreshes lines,
adds entries for new marks and drops those of removed ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
AUDIT = ROOT / "tests" / "claims"
MARK = re.compile(r"\{proven\}`([^`]+)`")
SENTENCE_END = re.compile(r"[.!?;:]\s+(?=[A-Z`*\[(])")
LEAD = re.compile(r"^\s*(?:[-*+]\s+|\d+\.\s+|:\s+|\|\s*)+")

# What the audit found, and what it did about it. Every final verdict says the test holds the sentence.
VERDICTS = {
    "sound": "the named test fails when the sentence becomes false",
    "test fixed": "the test did not hold the sentence; it was made to",
    "cited anew": "another test holds the sentence; the mark now names it",
    "reworded": "the sentence promised more than its test holds; it now promises what the test holds",
}
UNAUDITED = "unaudited"


@dataclasses.dataclass
class Mark:
    """One {proven} mark on a page, as the page's source has it."""

    page: str
    line: int
    claim: str
    test: str
    place: int  # 1 for the page's first mark of this test, 2 for its second, ...

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.page, self.test, self.place)


CODE = re.compile(r"`[^`]*`")


def sentence(before: str) -> str:
    """The sentence a mark stands after: its line's text up to the mark, from the last sentence end.

    A sentence end inside inline code (`cap_drop: ALL`) is none.
    """
    text = LEAD.sub("", before).rstrip()
    masked = CODE.sub(lambda match: "`" + "x" * (len(match.group()) - 2) + "`", text)  # same length as `text`
    starts = [match.end() for match in SENTENCE_END.finditer(masked.rstrip(".!?;:"))]
    return " ".join(text[starts[-1] if starts else 0 :].split()).strip(" |")


def marks(page: pathlib.Path, resolve) -> list[Mark]:
    """Every mark of a page, in order, with the full id of its test (`resolve` maps a name to it)."""
    found: list[Mark] = []
    fence = None
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        stripped = line.lstrip()
        opener = re.match(r"(`{3,}|~{3,})", stripped)
        if opener:
            fence = None if fence and stripped.startswith(fence) else (fence or opener.group(1))
            continue
        if fence:
            continue
        start = 0
        for match in MARK.finditer(line):
            test = resolve(match.group(1).strip())
            place = 1 + sum(1 for mark in found if mark.test == test)
            found.append(Mark(page.stem, number, sentence(line[start : match.start()]), test, place))
            start = match.end()
    return found


def audit_file(page: str) -> pathlib.Path:
    return AUDIT / f"{page}.yaml"


def entries(page: str) -> list[dict]:
    path = audit_file(page)
    return (yaml.safe_load(path.read_text()) or []) if path.exists() else []


def entry_key(page: str, entry: dict, seen: dict) -> tuple[str, str, int]:
    seen[entry["test"]] = seen.get(entry["test"], 0) + 1
    return (page, entry["test"], seen[entry["test"]])


def keyed(page: str) -> dict[tuple[str, str, int], dict]:
    seen: dict = {}
    return {entry_key(page, entry, seen): entry for entry in entries(page)}


def pages(only: str = "") -> list[pathlib.Path]:
    """The pages with marks (or just docs/<only>.md)."""
    return sorted(path for path in DOCS.glob(f"{only or '*'}.md") if MARK.search(path.read_text()))


def default_resolve(name: str) -> str:
    from ailab_guide import claims  # the build's own lookup of test names (imports Sphinx)

    test, _ = claims.resolve(name, claims.test_functions())
    return test or name


def problems(falsifier_ids: set[str], resolve=default_resolve, only: str = "") -> list[str]:
    """Everything the audit data and the pages disagree on; empty when they agree."""
    found = []
    for page in pages(only):
        audited = keyed(page.stem)
        on_page = marks(page, resolve)
        for mark in on_page:
            entry = audited.get(mark.key)
            where = f"docs/{page.name}:{mark.line}"
            if entry is None:
                found.append(f"{where}: the mark for {mark.test} has no entry in {audit_file(page.stem).name}")
                continue
            if entry.get("claim") != mark.claim:
                found.append(f"{where}: the sentence changed since its audit; read it again ({mark.claim!r})")
            if entry.get("line") != mark.line:
                found.append(f"{where}: the audit says line {entry.get('line')}")
            if entry.get("verdict") not in VERDICTS:
                found.append(f"{where}: verdict {entry.get('verdict')!r} is not one of {sorted(VERDICTS)}")
            if not str(entry.get("false_if", "")).strip():
                found.append(f"{where}: no `false_if` says what would make the sentence false")
            for falsifier in entry.get("falsifiers", []):
                if falsifier not in falsifier_ids:
                    found.append(f"{where}: names falsifier {falsifier!r}, which tests/falsifiers/ lacks")
        gone = set(audited) - {mark.key for mark in on_page}
        found += [f"{audit_file(page.stem).name}: {key[1]} (#{key[2]}) has no mark on the page" for key in sorted(gone)]
    return found


def update(resolve=default_resolve, only: str = "") -> int:
    """Refresh lines and sentences, add entries for new marks, drop those of removed ones. Returns the unaudited."""
    unaudited = 0
    AUDIT.mkdir(exist_ok=True)
    for page in pages(only):
        audited = keyed(page.stem)
        fresh = []
        for mark in marks(page, resolve):
            entry = dict(audited.get(mark.key) or {"false_if": "", "verdict": UNAUDITED})
            if entry.get("claim") not in (None, mark.claim):
                entry["verdict"] = UNAUDITED
            entry.update(line=mark.line, claim=mark.claim, test=mark.test)
            order = ["line", "claim", "test", "false_if", "verdict", "falsifiers", "was"]
            fresh.append({key: entry[key] for key in order if key in entry})
            unaudited += entry["verdict"] == UNAUDITED
        audit_file(page.stem).write_text(dump(fresh))
    return unaudited


def dump(items: list[dict]) -> str:
    header = "# The claims audit of this page (docs/_ext/ailab_guide/audit.py says what each field means).\n"
    return header + yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--update", action="store_true", help="refresh the audit files from the pages")
    parser.add_argument("--page", default="", help="only docs/PAGE.md (a name like production)")
    args = parser.parse_args()
    if args.update:
        left = update(only=args.page)
        print(f"claims audit refreshed; {left} entries await a verdict")
    found = problems(falsifier_ids(), only=args.page)
    print("\n".join(found) or "the claims audit agrees with the pages")
    return 1 if found else 0


def falsifier_ids() -> set[str]:
    """The ids in tests/falsifiers/ (read here too, so the audit can be checked without the tests' harness)."""
    folder = ROOT / "tests" / "falsifiers"
    return {entry["id"] for path in folder.glob("*.yaml") for entry in yaml.safe_load(path.read_text()) or []}


if __name__ == "__main__":
    sys.exit(main())
