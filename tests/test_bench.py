"""The bench's own bookkeeping, which a full run reaches only after an hour.

A full `nox -s bench` starts from empty results and saves after each part, so the
summary must work with any subset of the parts measured.
"""

from __future__ import annotations

import json

from harness import paths
from harness.bench.__main__ import SECTIONS, summary

RESULTS = json.loads((paths.ROOT / "docs" / "_static" / "bench" / "results.json").read_text())


def test_the_summary_of_the_first_part_alone_has_only_its_rows() -> None:
    first = {key: RESULTS[key] for key in SECTIONS["site"]}
    assert [row["key"] for row in summary(first)] == ["site_warm_median_s"]
    assert summary({}) == []


def test_the_summary_of_the_committed_results_has_every_target() -> None:
    keys = [row["key"] for row in summary(RESULTS)]
    assert "spawn_ai_lab_median_s" in keys and "burst_median_to_last" in keys and "working_hub_p95" in keys, keys
