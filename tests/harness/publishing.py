"""What a published build of the site must hold, for the settings it was built with.

One checker for every build: the local one in docs/_build/html (usually with
no site address) and the emulated Read the Docs build (with one). Each
problem comes back as a sentence; an empty list means the build is right.
"""

from __future__ import annotations

import html.parser
import pathlib
import subprocess
from datetime import datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

from ailab_guide import site as site_settings

from . import paths

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NOT_IN_SITEMAP = {"404"}


class _Tags(html.parser.HTMLParser):
    """Every start tag of a page with its attributes (enough to find links and metadata)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def tags(page: pathlib.Path) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(page.read_text())
    return parser.tags


def pages(docs: pathlib.Path = paths.DOCS) -> list[str]:
    """Every page's name (docs/x.md is page x), from the sources: each must come out as x.html."""
    return sorted(source.stem for source in docs.glob("*.md"))


def _links(found: list[tuple[str, dict[str, str]]], rel: str) -> list[str]:
    return [attrs.get("href", "") for tag, attrs in found if tag == "link" and rel in attrs.get("rel", "").split()]


def _meta(found: list[tuple[str, dict[str, str]]], prop: str) -> list[str]:
    return [attrs.get("content", "") for tag, attrs in found if tag == "meta" and attrs.get("property") == prop]


def git_dates(checkout: pathlib.Path) -> tuple[set[int], dict[str, int]]:
    """Every commit's author date, and each page source's last one.

    An uncommitted page has none; in a shallow clone no page is sure to have
    one (its last change may lie beyond the clone's depth), so none is expected.
    """

    def git(*args: str) -> list[str]:
        done = subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, check=False)
        return done.stdout.split() if done.returncode == 0 else []

    commits = {int(date) for date in git("log", "--format=%at")}
    if git("rev-parse", "--is-shallow-repository") != ["false"]:
        return commits, {}
    latest = {}
    for name in pages(checkout / "docs"):
        dates = git("log", "-1", "--format=%at", "--", f"docs/{name}.md")
        if dates:
            latest[name] = int(dates[0])
    return commits, latest


def problems(out: pathlib.Path, site: site_settings.Site, checkout: pathlib.Path = paths.ROOT) -> list[str]:
    """Everything wrong with the HTML in `out`, built from `checkout` with the settings `site`."""
    names = pages(checkout / "docs")
    missing = [f"{name}.html" for name in names if not (out / f"{name}.html").is_file()]
    if missing:
        return [f"pages missing from {out}: {', '.join(missing)}"]
    parsed = {name: tags(out / f"{name}.html") for name in names}
    return [
        *address_problems(out, site, parsed),
        *repository_problems(site, parsed["index"]),
        *icon_problems(parsed["index"]),
        *date_problems(checkout, parsed),
        *not_found_page_problems(out, site),
    ]


def address_problems(out: pathlib.Path, site: site_settings.Site, parsed: dict[str, list]) -> list[str]:
    """sitemap.xml, robots.txt, canonical links and og:url: all there with the site's address, none without."""
    found = []
    names = [name for name in parsed if name not in NOT_IN_SITEMAP]
    sitemap, robots = out / site_settings.SITEMAP, out / site_settings.ROBOTS
    if site.url:
        if not sitemap.is_file():
            found.append("no sitemap.xml although the site's address is set")
        else:
            locs = {loc.text for loc in ElementTree.parse(sitemap).getroot().iter(f"{SITEMAP_NS}loc")}
            wanted = {f"{site.url}{name}.html" for name in names}
            if locs != wanted:
                found.append(f"sitemap.xml lists {sorted(locs ^ wanted)} wrongly (missing or extra)")
        if not robots.is_file() or robots.read_text() != site.robots_txt():
            found.append(f"robots.txt is missing or does not name {site.url}{site_settings.SITEMAP}")
    else:
        found += [f"{file.name} written without the site's address" for file in (sitemap, robots) if file.exists()]
    for name in names:
        canonical, og_url = _links(parsed[name], "canonical"), _meta(parsed[name], "og:url")
        wanted = [f"{site.url}{name}.html"] if site.url else []
        if canonical != wanted:
            found.append(f"{name}.html: canonical link {canonical}, expected {wanted}")
        if og_url != wanted:
            found.append(f"{name}.html: og:url {og_url}, expected {wanted}")
    return found


def repository_problems(site: site_settings.Site, index: list) -> list[str]:
    """The theme's repository button and "edit this page" link: there with a repository, absent without."""
    hrefs = {attrs.get("href", "") for tag, attrs in index if tag == "a"}
    if not site.repository_url:
        return (
            ["index.html has an edit link although no repository is set"] if any("/edit/" in h for h in hrefs) else []
        )
    edit = f"{site.repository_url}/edit/{site.repository_branch}/{site_settings.DOCS_PATH}/index.md"
    return [f"index.html has no link to {url}" for url in (site.repository_url, edit) if url not in hrefs]


def icon_problems(index: list) -> list[str]:
    found = []
    if not any(href.endswith("logo.svg") for href in _links(index, "icon")):
        found.append("index.html names no favicon")
    if not any(tag == "img" and attrs.get("src", "").endswith("logo.svg") for tag, attrs in index):
        found.append("index.html shows no logo")
    return found


def date_problems(checkout: pathlib.Path, parsed: dict[str, list]) -> list[str]:
    """ "Last updated" is a commit's date, never the build's; a committed page has one (in a full clone)."""
    found = []
    commits, latest = git_dates(checkout)
    for name, page in parsed.items():
        if name in NOT_IN_SITEMAP:
            continue
        modified = _meta(page, "article:modified_time")
        if name in latest and not modified:
            found.append(f"{name}.html shows no 'last updated' date although docs/{name}.md is committed")
        for value in modified:
            stamp = int(datetime.fromisoformat(value).timestamp())
            if stamp not in commits or stamp < latest.get(name, 0):
                found.append(f"{name}.html: last updated {value} is not the date of its last commit")
    return found


def not_found_page_problems(out: pathlib.Path, site: site_settings.Site) -> list[str]:
    """404.html is served at any depth: each of its own links must start at the site's root and hit a file."""
    found = []
    for tag, attrs in tags(out / "404.html"):
        for attr in ("href", "src"):
            uri = attrs.get(attr, "")
            if not uri or uri.startswith("#") or "://" in uri or uri.startswith(("data:", "mailto:")):
                continue
            path = urlsplit(uri).path
            if not path.startswith(site.path):
                found.append(f"404.html: <{tag} {attr}={uri!r}> is not under {site.path}")
            elif path != site.path and not (out / path.removeprefix(site.path)).exists():
                found.append(f"404.html: <{tag} {attr}={uri!r}> leads nowhere")
    return found
