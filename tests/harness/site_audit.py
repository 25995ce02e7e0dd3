"""A browser audit of the built site: what a reader meets on every page, at desk and phone widths.

Each check returns findings, written for the person who fixes the page: which
page, at which width, which element, and what to do. The same functions audit
the real site (tests/test_site_audit.py) and a small broken site in
tests/data/broken-site/, which proves every check can fail.
"""

from __future__ import annotations

import dataclasses
import html.parser
import json
import pathlib
import urllib.error
import urllib.parse
import urllib.request

from playwright.sync_api import Browser, Page, Response

from . import paths

# Desk and phone: the content column at 1400 px, and an iPhone 12-15 screen.
VIEWPORTS = {1400: 900, 390: 844}
# Where a reader meets the 404 page: a mistyped link deep in the site.
MISSING = "a/b/missing.html"
SHOTS = paths.BUILD / "site-audit"
AXE = paths.ROOT / "tests" / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's two worst levels; "moderate" and "minor" are advice.
BLOCKING = ("critical", "serious")
SLACK = 1  # px of rounding between layout boxes


@dataclasses.dataclass(frozen=True)
class Finding:
    page: str
    width: int | None
    check: str
    message: str

    def __str__(self) -> str:
        where = f"{self.page} at {self.width} px" if self.width else self.page
        return f"[{self.check}] {where}: {self.message}"


def pages(site: pathlib.Path) -> list[str]:
    """Every HTML page of the built site, relative to it (not the theme's files under _static/ etc.)."""
    return sorted(
        path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if not any(part.startswith(("_", ".")) for part in path.relative_to(site).parts)
    )


def address(name: str) -> tuple[str, int]:
    """Where the audit opens a page and the status it must answer: the 404 page at a nested, missing path."""
    return (MISSING, 404) if name == "404.html" else (name, 200)


def require_axe() -> pathlib.Path:
    if not AXE.is_file():
        raise FileNotFoundError(f"axe-core is not installed at {AXE}: run `npm ci --prefix tests` (nox -s tests does).")
    return AXE


# --- link targets, fetched once per audit -------------------------------------------------------


class _Ids(html.parser.HTMLParser):
    """The ids (and old-style <a name>) a fragment can point to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.ids.add(value)


class Targets:
    """Status and fragment ids of each link target on the local server, fetched once."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, set[str]]] = {}

    def get(self, url: str) -> tuple[int, set[str]]:
        if url not in self._seen:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    status, body, kind = response.status, response.read(), response.headers.get_content_type()
            except urllib.error.HTTPError as error:
                status, body, kind = error.code, b"", ""
            ids = _Ids()
            if kind == "text/html":
                ids.feed(body.decode("utf-8", "replace"))
            self._seen[url] = (status, ids.ids)
        return self._seen[url]


# --- what the browser reports about one page ----------------------------------------------------

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href], area[href]')).map(a => ({
  url: a.href,
  raw: a.getAttribute('href'),
  text: (a.textContent.trim() || a.getAttribute('aria-label') || a.getAttribute('title') || '')
    .replace(/\\s+/g, ' ').slice(0, 60),
  output: !!a.closest('.cell_output, .output'),
}))"""

IMAGES_JS = """async () => {
  const images = Array.from(document.querySelectorAll('img'));
  images.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); setTimeout(done, 10000);
  })));
  return images.map(img => ({
    src: img.getAttribute('src'), alt: img.getAttribute('alt'),
    loaded: img.complete && img.naturalWidth > 0,
  }));
}"""

# Every table, figure, code block and media element in the content column, with
# the box a reader sees (clipped by scrolling ancestors) and whether it scrolls
# or is cut off inside that box.
BOXES_JS = """() => {
  // The theme's content column (pydata-sphinx-theme: article.bd-article); else the main landmark.
  const column = ['article.bd-article', '[role=main]', 'main'].map(s => document.querySelector(s))
    .find(Boolean) || document.body;
  const col = column.getBoundingClientRect();
  const media = 'img, svg, iframe, video, canvas, object, embed';
  const found = Array.from(column.querySelectorAll('table, figure, pre, ' + media)).filter(el =>
    !(el.matches(media) && el.parentElement.closest('figure, pre, table, svg, button, a.headerlink')));
  const describe = el => {
    const section = el.closest('section[id]');
    const label = (el.querySelector('caption, figcaption, th') || el).textContent.trim().replace(/\\s+/g, ' ');
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean).slice(0, 2)
      .map(c => '.' + c).join('');
    return {tag: el.tagName.toLowerCase() + cls, section: section ? section.id : '', label: label.slice(0, 50),
            src: el.getAttribute('src') || ''};
  };
  const out = [];
  for (const el of found) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;  // hidden: an inactive tab, a collapsed block
    let left = r.left, right = r.right, scrolls = false, cut = false;
    const own = getComputedStyle(el).overflowX;
    if (['auto', 'scroll'].includes(own) && el.scrollWidth > el.clientWidth + 1) scrolls = true;
    if (['hidden', 'clip'].includes(own) && el.scrollWidth > el.clientWidth + 1) cut = true;
    for (let p = el.parentElement; p && p !== column; p = p.parentElement) {
      const ox = getComputedStyle(p).overflowX;
      if (ox === 'visible') continue;
      const pr = p.getBoundingClientRect();
      if (r.left < pr.left - 1 || r.right > pr.right + 1) {
        if (['auto', 'scroll'].includes(ox)) scrolls = true; else cut = true;
      }
      left = Math.max(left, pr.left); right = Math.min(right, pr.right);
    }
    out.push(Object.assign(describe(el), {
      width: Math.round(r.width), height: Math.round(r.height), shown: Math.round(right - left),
      overflows: left < col.left - 1 || right > col.right + 1, scrolls, cut,
    }));
  }
  return {column: Math.round(col.width), boxes: out};
}"""

SIDEWAYS_JS = """() => {
  const wide = document.documentElement.scrollWidth, view = window.innerWidth;
  if (wide <= view) return null;
  const culprits = Array.from(document.body.querySelectorAll('*')).filter(el => {
    const r = el.getBoundingClientRect();
    // The innermost elements that stick out and make up the page's width (off-canvas menus stick out further).
    return r.width > 0 && r.right > view + 1 && r.right <= wide + 1
      && !Array.from(el.children).some(c => c.getBoundingClientRect().right > view + 1);
  }).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    ((el.getAttribute('class') || '').trim() ? '.' + el.getAttribute('class').trim().split(/\\s+/)[0] : ''));
  return {wide, view, culprits};
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


HERE_IDS_JS = (
    """() => Array.from(document.querySelectorAll('[id], a[name]')).map(el => el.id || el.getAttribute('name'))"""
)


@dataclasses.dataclass
class Visit:
    """One page open at one width on the local server: what every check needs."""

    name: str
    width: int
    page: Page
    base: str
    targets: Targets

    def finding(self, check: str, message: str) -> Finding:
        return Finding(self.name, self.width, check, message)

    def path(self, url: str) -> str:
        return urllib.parse.urlsplit(url).path or url


def check_links(visit: Visit) -> list[Finding]:
    """Every link into the site reaches a page that answers 200, and its #fragment is an id there."""
    findings, origin = [], _origin(visit.base)
    here = visit.page.url.partition("#")[0].partition("?")[0]
    here_ids = set(visit.page.evaluate(HERE_IDS_JS))
    for link in visit.page.evaluate(LINKS_JS):
        if not link["url"].startswith(origin + "/"):
            continue  # another site (nox -s linkcheck), mailto:, javascript:
        target, _, fragment = link["url"].partition("#")
        target = target.partition("?")[0]
        # A link within this page: its anchor is looked up in the page as shown (the 404 page answers 404 by design).
        status, ids = (200, here_ids) if target == here else visit.targets.get(target)
        what = f'the link "{link["text"]}" (href="{link["raw"]}")' + (" in a notebook output" if link["output"] else "")
        if status != 200:
            findings.append(
                visit.finding(
                    "link",
                    f"{what} leads to {visit.path(target)}, which answers {status}: point it at a page that exists"
                    " (in MyST, a {doc} or {ref} role gets checked by Sphinx).",
                )
            )
        elif fragment and urllib.parse.unquote(fragment) not in ids:
            findings.append(
                visit.finding(
                    "anchor",
                    f"{what} points to #{fragment}, but {visit.path(target)} has no element with that id:"
                    " use the heading's real anchor or add a label.",
                )
            )
    return findings


def check_images(visit: Visit) -> list[Finding]:
    """Every image loads and says what it shows."""
    findings = []
    for image in visit.page.evaluate(IMAGES_JS):
        if not image["loaded"]:
            findings.append(
                visit.finding("image", f"the image {image['src']} does not load: fix its path or add the file.")
            )
        if not (image["alt"] or "").strip():
            findings.append(
                visit.finding(
                    "alt",
                    f"the image {image['src']} has no alt text: say in a few words what it shows"
                    " (MyST: an {image} or {figure} directive with :alt:).",
                )
            )
    return findings


def check_boxes(visit: Visit) -> list[Finding]:
    """Nothing is wider than the content column; only code blocks, and short tables on a phone, scroll in their box."""
    findings, measured = [], visit.page.evaluate(BOXES_JS)
    column, screen = measured["column"], VIEWPORTS[visit.width]
    desk = visit.width >= 1000
    for box in measured["boxes"]:
        kind = box["tag"].split(".")[0]
        what = f"the {box['tag']}"
        what += f' "{box["label"]}"' if box["label"] else ""
        what += f" ({box['src']})" if box["src"] else ""
        what += f" in section #{box['section']}" if box["section"] else ""
        wide, shown = box["width"], box["shown"]
        if box["overflows"]:
            message = (
                f"{what} is {shown} px wide in a {column} px column, so the page scrolls sideways:"
                " let it wrap, scale it down (max-width: 100%) or give it a scrolling box."
            )
        elif box["cut"]:
            message = (
                f"{what} is {wide} px wide and cut off at {shown} px by an ancestor that hides overflow:"
                " readers cannot see the rest; let it wrap or scroll."
            )
        elif box["scrolls"] and kind == "table" and (desk or box["height"] > screen):
            why = (
                "at 1400 px every table must fit the column"
                if desk
                else f"it is {box['height']} px tall, more than the {screen} px screen: its scrollbar is out of sight"
            )
            message = (
                f"{what} is {wide} px wide and scrolls sideways inside a {shown} px box; {why}:"
                " let the cells wrap, drop a column, or stack the rows on narrow screens."
            )
        elif box["scrolls"] and kind not in ("pre", "table"):
            message = (
                f"{what} is {wide} px wide and scrolls sideways inside a {shown} px box:"
                " scale it to the column (max-width: 100%)."
            )
        else:
            continue
        findings.append(visit.finding("width", message))
    return findings


def check_sideways(visit: Visit) -> list[Finding]:
    """The page as a whole is no wider than the window."""
    wide = visit.page.evaluate(SIDEWAYS_JS)
    if not wide:
        return []
    culprits = ", ".join(wide["culprits"]) or "unknown"
    return [
        visit.finding(
            "sideways",
            f"the page is {wide['wide']} px wide in a {wide['view']} px window, so it scrolls sideways;"
            f" widest elements: {culprits}: make them fit the screen.",
        )
    ]


def check_axe(visit: Visit) -> list[Finding]:
    """axe-core's critical and serious violations, each with axe's own explanation of the fix."""
    visit.page.add_script_tag(path=str(require_axe()))
    return [
        visit.finding(
            f"axe:{v['id']}",
            f"{v['impact']}: {v['help']} on {len(v['nodes'])} element(s), e.g. {'; '.join(v['nodes'][:3])};"
            f" how to fix: {v['url']}",
        )
        for v in visit.page.evaluate(AXE_JS)
        if v["impact"] in BLOCKING
    ]


def check_start_link(visit: Visit) -> list[Finding]:
    """The 404 page, wherever it is met, leads back to the start page."""
    starts = {visit.base, visit.base + "index.html"}
    links = visit.page.evaluate(LINKS_JS)
    if any(link["url"].partition("#")[0] in starts for link in links) and visit.targets.get(visit.base)[0] == 200:
        return []
    return [
        visit.finding(
            "404",
            f"the page shown for a missing path ({MISSING}) has no link to the start page {visit.path(visit.base)}:"
            " its links must not depend on the path it is served at (sphinx-notfound-page: notfound_urls_prefix).",
        )
    ]


def audit(browser: Browser, base: str, name: str, width: int, *, targets: Targets, shots: pathlib.Path | None = SHOTS):
    """Open one page at one width, run every check, and keep a full-page screenshot; return the findings."""
    location, expected = address(name)
    context = browser.new_context(viewport={"width": width, "height": VIEWPORTS[width]})
    visit = Visit(name, width, context.new_page(), base, targets)
    broken: list[Finding] = []

    def watch(response: Response) -> None:
        """Stylesheets, scripts, images and fonts the page asks the server for and does not get."""
        kind = response.request.resource_type
        if response.url.startswith(_origin(base) + "/") and response.status >= 400 and kind != "document":
            broken.append(
                visit.finding(
                    "resource",
                    f"the {kind} {visit.path(response.url)} answers {response.status}:"
                    " the page loads it from a path that does not exist on the server.",
                )
            )

    visit.page.on("response", watch)
    try:
        response = visit.page.goto(base + location, wait_until="load")
        status = response.status if response else None
        findings = (
            [] if status == expected else [visit.finding("status", f"{location} answers {status}, not {expected}.")]
        )
        for check in (check_links, check_images, check_boxes, check_sideways):
            findings += check(visit)
        if expected == 404:
            findings += check_start_link(visit)
        if shots is not None:
            shot = shots / str(width) / (name.removesuffix(".html").replace("/", "--") + ".png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            visit.page.screenshot(path=shot, full_page=True)
        findings += check_axe(visit)  # last: it adds axe's script to the page
        return broken + findings
    finally:
        context.close()


def search_hits(browser: Browser, base: str, query: str) -> list[str]:
    """The titles the built-in search lists for `query`, as a reader gets them on search.html."""
    page = browser.new_page(viewport={"width": 1400, "height": VIEWPORTS[1400]})
    try:
        page.goto(base + "search.html?q=" + urllib.parse.quote(query), wait_until="load")
        page.wait_for_selector("#search-results .search-summary", timeout=30000)
        return [item.inner_text().split("\n")[0] for item in page.locator("#search-results ul.search > li").all()]
    finally:
        page.close()


def report(findings: list[Finding]) -> str:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.check] = counts.get(finding.check, 0) + 1
    head = f"{len(findings)} problem(s): " + ", ".join(f"{check} x{n}" for check, n in sorted(counts.items()))
    return "\n".join([head, *(str(finding) for finding in findings)])


def save(findings: list[Finding], name: str, width: int, shots: pathlib.Path = SHOTS) -> None:
    """Keep each page's findings next to its screenshots, for reviewers and the lead."""
    out = shots / "findings" / f"{width}--{name.removesuffix('.html').replace('/', '--')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([dataclasses.asdict(f) for f in findings], indent=1))


def _origin(base: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"
