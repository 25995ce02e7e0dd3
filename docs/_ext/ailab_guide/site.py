"""Where the site is published, read from the environment, so one build serves every host.

One set of sources builds the site for Read the Docs, for GitHub Pages and for
a local preview. What differs is only where it is served and where its sources
live, so conf.py reads these environment variables (all optional):

``SITE_URL``
    The address the site is served at, such as ``https://owner.github.io/repo/``.
    Default: ``READTHEDOCS_CANONICAL_URL`` when Read the Docs sets it, else none.
    With it the build writes canonical links, OpenGraph tags (``og:url`` must be
    absolute), ``sitemap.xml`` and a ``robots.txt`` naming the sitemap. Without
    it (a local preview) it writes none of them: an address that is not the
    real one would mislead.
``REPOSITORY_URL``
    The repository's web address, such as ``https://github.com/owner/repo``.
    Default: ``READTHEDOCS_GIT_CLONE_URL`` when Read the Docs sets it to an
    ``https://`` address, else none. With it every page gets the theme's repository button and an
    "edit this page" link.
``REPOSITORY_BRANCH``
    The branch the edit links open. Default: ``main``.

The 404 page needs absolute links (it is served at any depth), so it takes the
path part of ``SITE_URL`` (``/repo/`` on GitHub project pages), or ``/``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
from urllib.parse import urlsplit

# Where the page sources live in the repository, for the "edit this page" links.
DOCS_PATH = "docs"
ROBOTS = "robots.txt"
SITEMAP = "sitemap.xml"


@dataclasses.dataclass(frozen=True)
class Site:
    """The published site's address and its repository, as far as they are known."""

    url: str = ""  # with a trailing slash, or "" when unknown
    repository_url: str = ""
    repository_branch: str = "main"

    @property
    def path(self) -> str:
        """The path the site is served under, such as ``/`` or ``/repo/``."""
        path = urlsplit(self.url).path if self.url else "/"
        return path if path.endswith("/") else path + "/"

    def extensions(self) -> list[str]:
        """Extensions that need the site's address (sphinx-sitemap warns without one; og:url would be relative)."""
        return ["sphinxext.opengraph", "sphinx_sitemap"] if self.url else []

    def theme_options(self) -> dict[str, object]:
        """sphinx-book-theme's repository button and edit links, when the repository is known."""
        if not self.repository_url:
            return {}
        return {
            "repository_url": self.repository_url,
            "repository_branch": self.repository_branch,
            "path_to_docs": DOCS_PATH,
            "use_repository_button": True,
            "use_edit_page_button": True,
        }

    def robots_txt(self) -> str:
        """robots.txt: allow everything, and name the sitemap (crawlers read it only at a host's root)."""
        return f"User-agent: *\nAllow: /\n\nSitemap: {self.url}{SITEMAP}\n"


def _with_slash(url: str) -> str:
    return url if not url or url.endswith("/") else url + "/"


def _repository(environ) -> str:
    url = environ.get("REPOSITORY_URL", "").strip()
    clone_url = environ.get("READTHEDOCS_GIT_CLONE_URL", "").strip()
    if not url and clone_url.startswith("https://"):  # not an SSH address: that is no web page
        url = clone_url
    return url.removesuffix("/").removesuffix(".git")


def from_environment(environ: os._Environ | dict[str, str] = os.environ) -> Site:
    """Read the site's settings from the environment variables this module's docstring lists."""
    url = environ.get("SITE_URL") or environ.get("READTHEDOCS_CANONICAL_URL") or ""
    return Site(
        url=_with_slash(url.strip()),
        repository_url=_repository(environ),
        repository_branch=environ.get("REPOSITORY_BRANCH", "").strip() or "main",
    )


def in_git_checkout(directory: pathlib.Path) -> bool:
    """Whether `directory` is inside a git work tree (a downloaded archive is not)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=directory, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:  # no git at all
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def suppressed_git_warnings(directory: pathlib.Path) -> list[str]:
    """Warnings of sphinx-last-updated-by-git that say "no date here", not "something broke".

    A shallow clone (CI checkouts, Read the Docs) lacks the commit that last
    touched a long-unchanged page: that page shows no date. Outside a git
    checkout no page shows a date. Both are expected; the build must not fail.
    """
    suppressed = ["git.too_shallow"]
    if not in_git_checkout(directory):
        suppressed += ["git.subprocess_error", "git.command_not_found"]
    return suppressed


def _write_robots(app, exception) -> None:
    """Write robots.txt next to sitemap.xml when the site's address is known."""
    if exception is not None or app.builder.format != "html" or not app.config.html_baseurl:
        return
    site = Site(url=_with_slash(app.config.html_baseurl))
    pathlib.Path(app.outdir, ROBOTS).write_text(site.robots_txt())


def _absolute_links_on_404(app, doctree, docname) -> None:
    """Make the 404 page's own links absolute from the site's root.

    sphinx-notfound-page rewrites the theme's links and images on the 404 page
    but not the links in its text; a relative ``index.html`` served at
    ``/a/b/missing.html`` would be another 404.
    """
    if docname != app.config.notfound_pagename:
        return
    from docutils import nodes

    prefix = app.config.notfound_urls_prefix or "/"
    for node in doctree.findall(nodes.reference):
        uri = node.get("refuri", "")
        if uri and not uri.startswith(("/", "#")) and "://" not in uri and not uri.startswith("mailto:"):
            node["refuri"] = prefix + uri


def _same_site_on_every_build(app) -> None:
    """Make a second build in the same folder give what a clean one gives.

    sphinx-sitemap lists only the pages a build writes, and an incremental build
    writes only changed pages; a build without the site's address writes no
    sitemap and would leave an earlier build's. So the publishing files go
    first, and with a sitemap every page is written again (from the saved
    doctrees: nothing is re-read or re-executed).
    """
    if app.builder.format != "html":
        return
    outdir = pathlib.Path(app.outdir)
    for name in (SITEMAP, ROBOTS):
        (outdir / name).unlink(missing_ok=True)
    if app.config.html_baseurl:
        for page in outdir.rglob("*.html"):
            if "_static" not in page.relative_to(outdir).parts:
                page.unlink()


def setup(app) -> None:
    """Connect the publishing files' writers and the 404 page's link fix (called by the extension's setup)."""
    app.connect("builder-inited", _same_site_on_every_build)
    app.connect("build-finished", _write_robots)
    app.connect("doctree-resolved", _absolute_links_on_404)
