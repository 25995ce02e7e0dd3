"""The bench's own bookkeeping, which a full run reaches only after an hour.

A full `nox -s bench` starts from empty results and saves after each part, so the
summary must work with any subset of the parts measured.
"""

from __future__ import annotations

import json

from harness import paths
from harness.bench import burst
from harness.bench.__main__ import SECTIONS, summary, table

RESULTS = json.loads((paths.ROOT / "docs" / "_static" / "bench" / "results.json").read_text())


def test_the_summary_of_the_first_part_alone_has_only_its_rows() -> None:
    first = {key: RESULTS[key] for key in SECTIONS["site"]}
    assert [row["key"] for row in summary(first)] == ["site_warm_median_s"]
    assert summary({}) == []


def test_the_summary_of_the_committed_results_has_every_target() -> None:
    keys = [row["key"] for row in summary(RESULTS)]
    assert "spawn_ai_lab_median_s" in keys and "burst_median_to_last" in keys and "working_hub_p95" in keys, keys


def test_the_table_of_each_part_alone_prints() -> None:
    """`--only burst --output NEW_FILE` wrote its results and then crashed at the table (KeyError: 'spawn_latency')."""
    for keys in SECTIONS.values():
        part = {key: RESULTS[key] for key in keys if key in RESULTS}
        assert isinstance(table({**part, "summary": summary(part)}), str)


def run_with(last: float, floor: float, median: float, failures: int = 0) -> dict:
    """One round of a burst, as burst_round and with_floor leave it (40 users)."""
    result = {"users": 40, "failures": failures, "distribution": {"n": 40, "median": median, "last": last}}
    return burst.with_floor(result, cpu_per_start=floor * 2 / 40, cores=2)


def test_the_verdict_compares_unrounded_ratios() -> None:
    """117.42 s against a floor of 78.04 s is 1.5046 times it: above 1.5, whatever two decimals say."""
    queue, today = run_with(117.42, 78.04, 60.0), run_with(125.0, 78.04, 118.0)
    assert f"{queue['last_to_floor']:.2f}" == "1.50"
    checks = burst.verdict(today, queue)["checks"]
    assert not checks["last_to_floor"] and checks["median_to_last"] and checks["last_not_later_than_today"]


def test_repeats_give_the_median_run_its_range_and_a_verdict_from_medians() -> None:
    today = burst.over_repeats([run_with(s, 76.0, s - 5) for s in (125.0, 130.0, 120.0)])
    queue = burst.over_repeats([run_with(s, 76.0, 60.0) for s in (118.0, 125.0, 110.0)], today)
    assert queue["distribution"]["last"] == 118.0, "the middle run of three stands for the setting"
    assert queue["repeats"]["last"] | {"each": None} == {"median": 118.0, "min": 110.0, "max": 125.0, "each": None}
    assert queue["verdict"]["checks"]["last_not_later_than_today"]  # 118 (median) <= 125 (today's median)
    assert not queue["verdict"]["checks"]["last_to_floor"]  # the median run: 118 / 76 = 1.55
    assert queue["verdict"]["met_in_runs"]["last_to_floor"] == 1  # only the 110 s run is within 1.5 x 76 s
