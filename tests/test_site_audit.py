"""Every page of the built site, as a reader meets it in Chromium at 1400 px and at 390 px.

The site in docs/_build/html (nox builds it before pytest) is served under a
sub-path, as GitHub Pages serves a project site. On every page: links and
anchors resolve (notebook outputs and the 404 page included), images load and
have alt text, nothing is wider than the content column, the page does not
scroll sideways, and axe-core finds no critical or serious violation.
Screenshots of every page go to docs/_build/site-audit/ for reviewers.

The last tests audit a small broken site with the same helpers, so that each
check is seen to fail.
"""

from __future__ import annotations

import pytest
from harness import browser, paths, site_audit, site_server

SITE = paths.BUILD / "html"
BROKEN = paths.ROOT / "tests" / "data" / "broken-site"
NOT_BUILT = "(the site is not built)"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    site_audit.require_axe()
    with browser.browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def site():
    with site_server.serve(SITE) as base:
        yield base


@pytest.fixture(scope="module")
def targets() -> site_audit.Targets:
    return site_audit.Targets()


@pytest.mark.parametrize("width", list(site_audit.VIEWPORTS))
@pytest.mark.parametrize("name", site_audit.pages(SITE) or [NOT_BUILT])
def test_page_reads_right(chromium, site, targets, name, width):
    assert name != NOT_BUILT, f"No HTML in {SITE}: build the site first (nox -s docs; nox -s tests does it)."
    findings = site_audit.audit(chromium, site, name, width, targets=targets)
    site_audit.save(findings, name, width)
    assert not findings, site_audit.report(findings)


@pytest.mark.parametrize("query", ["DockerSpawner", "culler"])
def test_search_finds(chromium, site, query):
    hits = site_audit.search_hits(chromium, site, query)
    assert hits, (
        f"The site's search (search.html?q={query}) lists no page for {query!r}: "
        "check that searchindex.js is built and that the pages that explain it are not excluded."
    )


# --- each check can fail ---------------------------------------------------------------------------


def test_search_check_can_fail(chromium, site):
    assert site_audit.search_hits(chromium, site, "xyzzyplughnothere") == []


@pytest.fixture(scope="module")
def broken_findings(chromium) -> list[site_audit.Finding]:
    findings, targets = [], site_audit.Targets()
    with site_server.serve(BROKEN) as base:
        for name in ("index.html", "404.html"):
            for width in site_audit.VIEWPORTS:
                findings += site_audit.audit(chromium, base, name, width, targets=targets, shots=None)
    return findings


@pytest.mark.parametrize(
    ("check", "page", "width", "words"),
    [
        ("link", "index.html", 1400, "missing.html"),
        ("anchor", "index.html", 1400, "#nowhere"),
        ("alt", "index.html", 390, "pixel.svg"),
        ("image", "index.html", 1400, "gone.png"),
        ("resource", "index.html", 1400, "gone.png"),
        ("width", "index.html", 1400, "must fit the column"),
        ("width", "index.html", 390, "page scrolls sideways"),
        ("sideways", "index.html", 390, "scrolls sideways"),
        ("axe:image-alt", "index.html", 1400, "critical"),
        ("axe:color-contrast", "index.html", 390, "serious"),
        ("axe:scrollable-region-focusable", "index.html", 1400, "serious"),
        ("resource", "404.html", 1400, "/_static/style.css"),
        ("link", "404.html", 390, "/guide/a/b/index.html"),
        ("404", "404.html", 1400, "no link to the start page"),
    ],
)
def test_audit_catches(broken_findings, check, page, width, words):
    matches = [f for f in broken_findings if (f.check, f.page, f.width) == (check, page, width) and words in f.message]
    assert matches, (
        f"The audit missed a {check} problem on the broken {page} at {width} px. It found:\n"
        + site_audit.report(broken_findings)
    )


def test_audit_spares_what_is_fine(broken_findings):
    """A code block that scrolls in its box, a working anchor and a short table that scrolls on a phone are fine."""
    wrong = [
        f
        for f in broken_findings
        if (f.check == "width" and "pre.code" in f.message)
        or (f.check == "anchor" and "#here" in f.message)
        or (f.check == "width" and f.width == 390 and "A table in a scrolling box" in f.message)
    ]
    assert not wrong, site_audit.report(wrong)
