"""One source for every figure: no page types a measured number.

The pages quote the bench results and the example's timeouts through MyST
substitutions (docs/_ext/ailab_guide/figures.py), so a figure cannot say one
thing on one page and another elsewhere. This test reads every page's prose
(code blocks, inline code and substitutions taken out) and fails on a number
with a unit that is typed there, unless it is listed below together with the
file it is quoted from, and that file still says it.
"""

from __future__ import annotations

import re

import pytest
from ailab_guide import figures
from harness import paths

# A number with a unit of size, time or ratio, as prose writes it.
FIGURE = re.compile(r"(?<![\w.{-])\d+(?:[.,]\d+)?\s?(?:MB|MiB|GiB|GB|KB|seconds?|minutes?|min|ms|s|%)(?![\w-])")
# Code fences (not admonitions or {only} blocks, whose prose counts).
CODE_FENCE = re.compile(
    r"^(`{3,})(?:\{(?:code-block|code-cell|literalinclude)\}[^\n]*|[\w-]*)\n.*?^\1[ \t]*$", re.S | re.M
)

# (page, figure as typed) -> (file it is quoted from, text that file must hold).
QUOTED = {
    ("kubernetes.md", "5 minutes"): ("kubernetes.md", "--timeout 15m0s"),  # helm's default, next to the override
    ("limitations.md", "1 second"): ("limitations.md", "after 1 seconds. Giving up."),  # the quoted log line
    ("production.md", "4 GiB"): ("../examples/production/docker-compose.yml", "USER_MEM_LIMIT:-4G"),
    ("swarm.md", "4 GiB"): ("../examples/swarm/docker-stack.yml", "USER_MEM_LIMIT:-4G"),
    ("swarm.md", "1 GiB"): ("../examples/swarm/jupyterhub_config.py", 'mem_guarantee = "1G"'),
}


def typed_figures(source: str) -> list[str]:
    """The figures a page's Markdown types in its prose."""
    prose = CODE_FENCE.sub("", source)
    prose = re.sub(r"^:[\w-]+:.*$", "", prose, flags=re.M)  # directive options such as :width: 80%
    prose = re.sub(r"`[^`\n]*`", "", prose)
    prose = re.sub(r"\{\{.*?\}\}", "", prose)
    return FIGURE.findall(prose)


def pages() -> list:
    return sorted(paths.DOCS.glob("*.md"))


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_page_types_no_figure(page):
    typed = [f for f in typed_figures(page.read_text()) if (page.name, f) not in QUOTED]
    assert not typed, (
        f"{page.name} types {typed}: quote a measured figure with a substitution from "
        "docs/_ext/ailab_guide/figures.py, or list it in QUOTED with the file it comes from"
    )


@pytest.mark.parametrize(("key", "source"), QUOTED.items(), ids=lambda v: "/".join(v) if isinstance(v, tuple) else "")
def test_quoted_figure_still_in_its_source(key, source):
    page, figure = key
    file, text = source
    assert figure in typed_figures((paths.DOCS / page).read_text()), f"{page} no longer types {figure!r}: drop it here"
    assert text in (paths.DOCS / file).read_text(), (
        f"{page} quotes {figure!r} from {file}, which no longer says {text!r}"
    )


def test_a_typed_figure_is_found():
    """The check can fail: the figures this rule was written against are caught, code is not."""
    page = (
        "```{code-block} bash\nsleep 30s\n```\nThe recipe adds 87 MB; a plain install 100 MB.\n"
        "```bash\nsleep 5s\n```\n```{only} bench_stand_ins\nIt takes about 20 minutes.\n```\n"
    )
    assert typed_figures(page) == ["87 MB", "100 MB", "20 minutes"]
    assert typed_figures("It added {{ bench_recipe_mb }} MB, see `du -sh 5MB`.") == []


def test_substitutions_come_from_the_bench_results():
    values = figures.substitutions()
    results = figures.results()
    assert float(values["bench_recipe_mb"]) == pytest.approx(results["image_overhead"]["recipe"]["mb"], abs=0.05)
    assert float(values["bench_minutes"]) == pytest.approx(results["bench_seconds"] / 60, abs=0.05)
    config = (paths.MINIMAL / "jupyterhub_config.py").read_text()
    assert f"c.DockerSpawner.start_timeout = {values['minimal_start_timeout']}\n" in config


def test_the_hub_weight_is_quoted_from_both_compose_files(tmp_path, monkeypatch):
    """hub_cpu_shares is the examples' one value; examples that disagree stop the build."""
    assert figures.hub_weight() == {"hub_cpu_shares": "10240"}
    for example, shares in (("minimal", 10240), ("production", 2048)):
        (tmp_path / example).mkdir()
        (tmp_path / example / "docker-compose.yml").write_text(f"services:\n  hub:\n    cpu_shares: {shares}\n")
    monkeypatch.setattr(figures.versions, "EXAMPLES", tmp_path)
    with pytest.raises(ValueError, match="cpu_shares differ"):
        figures.hub_weight()
