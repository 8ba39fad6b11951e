"""README "Extending": a curation filter is one class plus one FILTERS line, and the runner records its drops."""

from __future__ import annotations

import json

from curation.config import CurationConfig
from curation.curate import curate
from curation.filters import FILTERS, Filter, Reject, build_filters
from tests.warehouse.test_curation_and_snapshots import add_generation, add_prompt, outcomes


class NoApologies(Filter):
    """A toy filter of the kind a user adds: drop responses that apologise."""

    name = "apology"

    def check(self, row: dict) -> Reject | None:
        if "sorry" in row["response"].lower():
            return Reject("apology", {"phrase": "sorry"})
        return None


def test_a_filter_registered_with_one_line_runs_and_its_drops_are_recorded(wh, monkeypatch):
    monkeypatch.setitem(FILTERS, "apology", NoApologies.build)  # the one registry line
    add_prompt(wh, "p1")
    add_prompt(wh, "p2")
    add_generation(wh, "g-sorry", "p1", "Sorry, 2 + 3 = 5\nThe answer is \\boxed{5}.", True)
    add_generation(wh, "g-plain", "p2", "2 + 3 = 5\nThe answer is \\boxed{5}.", True)
    stats = curate(wh, run_id="r1")
    assert outcomes(wh) == {"g-sorry": "apology", "g-plain": "kept"}
    assert stats.as_dict()["rejected"] == {"apology": 1}
    details = wh.query("SELECT details FROM rejections WHERE generation_id = 'g-sorry'")[0]["details"]
    assert json.loads(details) == {"phrase": "sorry"}


def test_filters_run_in_registry_order_and_the_recipe_turns_some_off(wh):
    names = [f.name for f in build_filters(CurationConfig(), wh)]
    assert names == list(FILTERS), "every filter is on by default, in registry order"
    off = [f.name for f in build_filters(CurationConfig(near_dedup=False, check_language=False, max_per_prompt=0), wh)]
    assert off == [n for n in FILTERS if n not in ("near_duplicate", "language_mismatch", "per_prompt_cap")]
