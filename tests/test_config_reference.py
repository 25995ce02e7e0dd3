"""The configuration reference shows trait help as text, not as the reST it is written in.

JupyterHub's and DockerSpawner's help strings use reStructuredText (``True``,
*bind*, :class:`Spawner`). The {config-reference} directive parses them
(hubconfig.help_nodes); these tests fail if raw markup reaches the page again.
"""

from __future__ import annotations

import html
import re

from ailab_guide import hubconfig
from docutils import nodes
from harness import paths

RAW_MARKUP = re.compile(r"``|(?:^|\s)\*\w|\w\*(?:\s|[.,]|$)|:\w+:`")


def test_help_is_parsed_from_rest():
    help_text = "If ``True``, remove it. Sets the *bind* address of :class:`Spawner`.\n\nA second paragraph."
    parsed = hubconfig.help_nodes(help_text)
    text = " ".join(node.astext() for node in parsed)
    assert text == "If True, remove it. Sets the bind address of Spawner."
    literals = [node.astext() for tree in parsed for node in tree.findall(nodes.literal)]
    assert literals == ["True", "Spawner"]


def test_raw_markup_is_detected():
    """The page check can fail: raw reST in a description is caught."""
    assert RAW_MARKUP.search("If ``True``, delete containers")
    assert RAW_MARKUP.search("The ip address for the Hub process to *bind* to.")
    assert not RAW_MARKUP.search("The ip address for the Hub process to bind to, e.g. 127.0.0.1.")


def test_built_reference_has_no_raw_markup():
    page = (paths.BUILD / "html" / "configuration.html").read_text()
    reference = re.search(r'<dl class="[^"]*config-reference.*?</dl>', page, re.S)
    assert reference, "configuration.html has no {config-reference} list; build the site first (nox -s docs)"
    descriptions = [
        html.unescape(re.sub(r"<[^>]+>", "", dd)) for dd in re.findall(r"<dd>(.*?)</dd>", reference.group(0), re.S)
    ]
    assert len(descriptions) >= 10
    leaks = [text.strip() for text in descriptions if RAW_MARKUP.search(text)]
    assert not leaks, f"raw reST in the configuration reference: {leaks}"
