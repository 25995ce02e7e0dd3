"""Sphinx configuration of the guide. The pages are in docs/, the output in docs/_build/html."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

from ailab_guide import site, versions  # noqa: E402 (needs the path above)

# Where the site is served and where its sources live: see docs/_ext/ailab_guide/site.py.
SITE = site.from_environment()

project = "Exasol AI Lab on JupyterHub"
author = "The AI Lab on JupyterHub guide maintainers"
copyright = "2026, " + author

extensions = [
    "myst_nb",
    "sphinx_design",
    "sphinx_copybutton",
    "notfound.extension",
    "sphinx_last_updated_by_git",
    "ailab_guide",
    *SITE.extensions(),
]

root_doc = "index"
exclude_patterns = ["_build", "_ext", "_templates", "requirements.txt", "**/.ipynb_checkpoints"]
templates_path = ["docs/_templates"]  # small, commented overrides of theme templates
html_static_path = ["docs/_static"]
html_css_files = ["guide.css"]

# Every warning is an error (nox passes -W); nitpicky also flags broken references.
nitpicky = True

# MyST: ::: fences for directives, {{ substitutions }} for versions read from the examples.
myst_enable_extensions = ["colon_fence", "deflist", "substitution", "attrs_inline", "attrs_block"]
myst_heading_anchors = 3
myst_substitutions = versions.substitutions()

# Pages that compute something are text notebooks; a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 120

html_theme = "sphinx_book_theme"
html_title = project
html_logo = html_favicon = "docs/_static/logo.svg"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    # The name beside the logo, which alone would hide it; the logo's alt text names the link's target.
    "logo": {"text": project, "alt_text": f"{project} - Home"},
    **SITE.theme_options(),
}
# One search button: the article header's, which phones see too. The theme's default sidebar
# also has a search field; this is that default list without it.
html_sidebars = {"**": ["navbar-logo.html", "icon-links.html", "sbt-sidebar-nav.html"]}

# Canonical links, og:url and sitemap.xml need the site's address; "last updated" comes from git.
html_baseurl = SITE.url
sitemap_url_scheme = "{link}"
sitemap_show_lastmod = True
sitemap_excludes = ["search.html", "genindex.html", "404.html"]
suppress_warnings = site.suppressed_git_warnings(ROOT)
git_exclude_patterns = ["**/docs/_build/**"]  # the test report the testing page reads is no source

# Copy only the command, not the prompt or the output.
copybutton_prompt_text = r"\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = False

# OpenGraph (loaded only with SITE_URL) and the 404 page need to know where the site is served from.
ogp_site_url = SITE.url
ogp_site_name = project
ogp_social_cards = {"enable": False}  # cards need matplotlib and fonts; the site needs none
notfound_urls_prefix = SITE.path
