"""The report on a hand-built warehouse: exact figures, rejections, trend, latest evaluation, markdown and the
matplotlib chart (its panels and the data in their artists)."""

import math
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest

from curation.report import PANEL_TITLES, markdown_report, render_chart, report_figure, report_tables
from warehouse.quality import latest_evaluation, quality_report, rejections, report, trend

T0 = datetime(2025, 1, 1)


def build(wh):
    """8 generations over 2 templates x 2 teachers x 2 topics, with every outcome the report counts.

    gen   prompt  topic     template  teacher  verdict(s)         outcome                 tokens  cost
    g1    pm      algebra   math@v1   tA       pass               curated                 10      0.01
    g2    pm      algebra   math@v1   tA       pass               exact_duplicate         20      0.02
    g3    pm      algebra   math@v1   tA       fail               not_verified            30      0.03
    g4    pm      algebra   math@v1   tA       (none)             (undecided)             40      0.04
    g5    pm2     geometry  math@v1   tB       pass               near_duplicate          50      0.05
    g6    pm2     geometry  math@v1   tB       pass               curated                 60      0.06
    g7    pc      geometry  code@v1   tA       pass               decontaminated          70      0.07
    g8    pc      geometry  code@v1   tA       fail, then pass    curated                 80      0.08

    Every row is written by run "r"; the failed verdicts' reason is `wrong`.
    """
    plan = [("g1", "pm", "tA", [True], "kept"), ("g2", "pm", "tA", [True], "exact_duplicate"),
            ("g3", "pm", "tA", [False], "not_verified"), ("g4", "pm", "tA", [], None),
            ("g5", "pm2", "tB", [True], "near_duplicate"), ("g6", "pm2", "tB", [True], "kept"),
            ("g7", "pc", "tA", [True], "decontaminated"), ("g8", "pc", "tA", [False, True], "kept")]
    prompts = (("pm", "math@v1", "algebra"), ("pm2", "math@v1", "geometry"), ("pc", "code@v1", "geometry"))
    with wh.connect() as con:
        wh.insert("teachers", [{"teacher_id": t, "backend": "openai", "model": m, "params": {}, "created_at": T0}
                               for t, m in (("tA", "model-a"), ("tB", "model-b"))], con=con)
        wh.insert("seeds", [{"seed_id": f"s-{p}", "domain": t.split("@")[0], "topic": topic, "split": "train",
                             "question": f"q {p}", "reference": "1", "source_file": "seeds.jsonl", "source_line": i,
                             "payload": {}, "run_id": "r", "created_at": T0}
                            for i, (p, t, topic) in enumerate(prompts, start=1)], con=con)
        wh.insert("prompts", [{"prompt_id": p, "seed_id": f"s-{p}", "template_id": t, "domain": t.split("@")[0],
                               "split": "train", "text": f"q {p}", "reference": "1", "run_id": "r", "created_at": T0}
                              for p, t, _ in prompts], con=con)
        for i, (gid, pid, teacher, verdicts, outcome) in enumerate(plan, start=1):
            wh.insert("generations", [{"generation_id": gid, "prompt_id": pid, "teacher_id": teacher,
                                       "sample_index": i, "raw": gid, "reasoning": "", "answer": gid,
                                       "finish_reason": "stop", "prompt_tokens": 5, "completion_tokens": 10 * i,
                                       "latency_s": 0.1, "cost_usd": 0.01 * i, "run_id": "r", "created_at": T0}],
                      con=con)
            wh.insert("verifications", [{"verification_id": f"v{k}-{gid}", "generation_id": gid, "verifier": "math",
                                         "version": str(k), "passed": passed,
                                         "reason": "correct" if passed else "wrong", "extracted": "1",
                                         "details": {}, "duration_s": 0.0, "run_id": "r",
                                         "created_at": T0 + timedelta(minutes=k)}
                                        for k, passed in enumerate(verdicts)], con=con)
            if outcome == "kept":
                wh.insert("curated", [{"generation_id": gid, "prompt_id": pid, "content_hash": gid, "run_id": "r",
                                       "created_at": T0}], con=con)
            elif outcome:
                wh.insert("rejections", [{"rejection_id": f"rj-{gid}", "stage": "curate", "generation_id": gid,
                                          "reason": outcome, "details": {}, "run_id": "r", "created_at": T0}], con=con)
    return wh


def by_key(rows):
    return {(r["dimension"], r["label"]): r for r in rows}


FIGURES = ("generations", "verified", "passed", "pass_rate", "decided", "deduped", "dedup_rate", "decontaminated",
           "completion_tokens", "cost_usd", "tokens_per_verified", "cost_per_verified")
EXPECTED = {
    ("topic", "algebra"): (4, 3, 2, 2 / 3, 3, 1, 1 / 3, 0, 100, 0.10, 50.0, 0.05),
    ("topic", "geometry"): (4, 4, 4, 1.0, 4, 1, 0.25, 1, 260, 0.26, 65.0, 0.065),
    ("template", "math@v1"): (6, 5, 4, 0.8, 5, 2, 0.4, 0, 210, 0.21, 52.5, 0.0525),
    ("template", "code@v1"): (2, 2, 2, 1.0, 2, 0, 0.0, 1, 150, 0.15, 75.0, 0.075),
    ("teacher", "model-a"): (6, 5, 4, 0.8, 5, 1, 0.2, 1, 250, 0.25, 62.5, 0.0625),
    ("teacher", "model-b"): (2, 2, 2, 1.0, 2, 1, 0.5, 0, 110, 0.11, 55.0, 0.055),
}


def test_report_figures_per_topic_template_and_teacher(wh):
    rows = quality_report(build(wh))
    assert [(r["dimension"], r["label"]) for r in rows] == [("topic", "algebra"), ("topic", "geometry"),
                                                            ("template", "code@v1"), ("template", "math@v1"),
                                                            ("teacher", "model-a"), ("teacher", "model-b")]
    got = by_key(rows)
    for key, figures in EXPECTED.items():
        assert tuple(got[key][f] for f in FIGURES) == pytest.approx(figures), key
    assert got[("teacher", "model-a")]["key"] == "tA"
    assert all(r["priced"] for r in rows)


def test_rates_are_none_without_a_denominator_and_twin_models_are_told_apart(wh):
    with wh.connect() as con:
        wh.insert("teachers", [{"teacher_id": t, "backend": "openai", "model": "same", "params": {"t": t},
                                "created_at": T0} for t in ("t1xxxxxxxxx", "t2xxxxxxxxx")], con=con)
        wh.insert("generations", [{"generation_id": f"g-{t}", "prompt_id": "nowhere", "teacher_id": t,
                                   "sample_index": 0, "raw": "r", "run_id": "r", "created_at": T0}
                                  for t in ("t1xxxxxxxxx", "t2xxxxxxxxx")], con=con)
    rows = by_key(quality_report(wh))
    assert set(rows) == {("topic", "?"), ("template", "?"), ("teacher", "same (t1xxxxxx)"),
                         ("teacher", "same (t2xxxxxx)")}
    r = rows[("template", "?")]
    assert (r["generations"], r["pass_rate"], r["dedup_rate"], r["tokens_per_verified"], r["cost_per_verified"],
            r["completion_tokens"], r["cost_usd"], r["priced"]) == (2, None, None, None, None, 0, 0.0, False)




def second_run(wh):
    """Run r (refresh, T0) wrote everything `build` adds; run r2 (curate, T0 + 1h) adds a local teacher without a
    price: g9 passes and is kept, g10 has no answer and is rejected. Run r3 (evaluate) wrote none of these."""
    later = T0 + timedelta(hours=1)
    with wh.connect() as con:
        wh.insert("runs", [{"run_id": r, "flow": f, "status": "completed", "started_at": t}
                           for r, f, t in (("r", "refresh", T0), ("r2", "curate", later),
                                           ("r3", "evaluate", T0 + timedelta(hours=2)))], con=con)
        wh.insert("teachers", [{"teacher_id": "tL", "backend": "hf", "model": "local-m", "params": {},
                                "created_at": later}], con=con)
        for gid, passed in (("g9", True), ("g10", False)):
            wh.insert("generations", [{"generation_id": gid, "prompt_id": "pm", "teacher_id": "tL", "sample_index": 0,
                                       "raw": gid, "answer": gid, "completion_tokens": 7, "cost_usd": 0.0,
                                       "run_id": "r2", "created_at": later}], con=con)
            wh.insert("verifications", [{"verification_id": f"v-{gid}", "generation_id": gid, "verifier": "math",
                                         "version": "1", "passed": passed,
                                         "reason": "correct" if passed else "no_answer", "run_id": "r2",
                                         "created_at": later}], con=con)
        wh.insert("curated", [{"generation_id": "g9", "prompt_id": "pm", "content_hash": "g9", "run_id": "r2",
                               "created_at": later}], con=con)
        wh.insert("rejections", [{"rejection_id": "rj-g10", "stage": "curate", "generation_id": "g10",
                                  "reason": "not_verified", "run_id": "r2", "created_at": later}], con=con)
    return wh


def evaluations(wh, ci: bool = True):
    """Evaluation run e1 (T0 + 2h): base 5/20, teacher 15/20, student sft of tr1 8/20; an older base on n=10 (e0).
    Run e2 (T0 + 3h, the latest) reuses base and teacher and scores two new students: sft of tr2 10/20 and kd of
    tr3 12/20. Every evaluation stores its Wilson interval unless `ci` is False."""
    rows = [("e0-base", "e0", 1, "base", "base-m", None, 10, 2), ("e1-base", "e1", 2, "base", "base-m", None, 20, 5),
            ("e1-teacher", "e1", 2, "teacher", "model-a", None, 20, 15),
            ("e1-sft", "e1", 2, "student", "student-m", "tr1", 20, 8),
            ("e2-sft", "e2", 3, "student", "student-m", "tr2", 20, 10),
            ("e2-kd", "e2", 3, "student", "student-m", "tr3", 20, 12)]
    with wh.connect() as con:
        wh.insert("snapshots", [{"snapshot_id": "sn1", "name": "snap-a", "spec": {}, "n_distilled": 4, "n_general": 0,
                                 "content_hash": "h", "run_id": "s", "created_at": T0}], con=con)
        wh.insert("training_runs", [{"training_run_id": tr, "snapshot_id": "sn1", "base_model": "base-m",
                                     "config": {"method": method}, "output_dir": "o", "status": "completed",
                                     "run_id": "t", "started_at": T0}
                                    for tr, method in (("tr1", "sft"), ("tr2", "sft"), ("tr3", "kd"))], con=con)
        wh.insert("evaluations", [{"evaluation_id": e, "role": role, "model": model, "training_run_id": tr,
                                   "split": "eval", "n": n, "correct": c, "accuracy": c / n, "run_id": run,
                                   "created_at": T0 + timedelta(hours=h)}
                                  for e, run, h, role, model, tr, n, c in rows], con=con)
        if ci:
            wh.insert("evaluation_metrics", [{"evaluation_id": e, "metric": name, "value": value, "created_at": T0}
                                             for e, *_, n, c in rows
                                             for name, value in zip(("accuracy_ci_low", "accuracy_ci_high"),
                                                                    wilson(c, n))], con=con)
    return wh


def wilson(correct, n, z=1.959963984540054):
    """The 95% Wilson score interval, written out here (not imported from evaluation/)."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def full(wh):
    return evaluations(second_run(build(wh)))


def test_rejections_by_stage_and_reason(wh):
    assert rejections(build(wh)) == [
        {"stage": "verify", "reason": "wrong", "count": 1},  # g3; g8 failed first, then passed
        {"stage": "curate", "reason": "decontaminated", "count": 1},
        {"stage": "curate", "reason": "exact_duplicate", "count": 1},
        {"stage": "curate", "reason": "near_duplicate", "count": 1},
        {"stage": "curate", "reason": "not_verified", "count": 1}]
    assert [(r["stage"], r["reason"], r["count"]) for r in rejections(second_run(wh))][:4] == [
        ("verify", "no_answer", 1), ("verify", "wrong", 1), ("curate", "not_verified", 2),
        ("curate", "decontaminated", 1)]


def test_trend_counts_what_each_run_wrote_oldest_first(wh):
    rows = trend(second_run(build(wh)))
    got = [(r["run_id"], r["flow"], r["generations"], r["verified"], r["passed"], r["pass_rate"], r["kept"],
            r["rejected"]) for r in rows]
    assert got == [("r", "refresh", 8, 8, 6, 0.75, 3, 4), ("r2", "curate", 2, 2, 1, 0.5, 1, 1)]  # not r3
    assert rows[0]["started_at"] == T0


def test_an_unpriced_teacher_costs_n_a_not_zero(wh):
    rows = {r["label"]: r for r in quality_report(second_run(build(wh))) if r["dimension"] == "teacher"}
    local = rows["local-m"]
    assert (local["priced"], local["cost_usd"], local["cost_per_verified"], local["passed"]) == (False, 0.0, None, 1)
    assert rows["model-a"]["cost_per_verified"] == pytest.approx(0.0625)
    text = markdown_report(report(wh))
    assert "| local-m | 2 | 1/2 | 50.0% | 0.0% (0/2) | 0 | 14.0 | n/a |" in text


def test_latest_evaluation_is_the_newest_run_with_the_base_and_teacher_it_reused(wh, tmp_path):
    from warehouse.db import Warehouse

    rows = latest_evaluation(evaluations(wh))
    got = [(r["evaluation_id"], r["role"], r["method"], r["snapshot"], r["reused"]) for r in rows]
    assert got == [("e1-base", "base", None, None, True), ("e2-kd", "student", "kd", "snap-a", False),
                   ("e2-sft", "student", "sft", "snap-a", False), ("e1-teacher", "teacher", None, None, True)]
    base = rows[0]
    assert (base["n"], base["correct"], base["accuracy"]) == (20, 5, 0.25)
    assert (base["ci_low"], base["ci_high"]) == pytest.approx(wilson(5, 20))
    bare = Warehouse(tmp_path / "bare.duckdb")
    bare.init()
    rows = latest_evaluation(evaluations(bare, ci=False))  # stored without an interval: None, not invented here
    assert len(rows) == 4 and all(r["ci_low"] is None and r["ci_high"] is None for r in rows)


def patches(fig) -> dict:
    """gid -> bar, over every panel."""
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if p.get_gid()}


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_the_figure_has_every_panel_with_the_warehouse_figures(wh):
    data = report(full(wh))
    fig = report_figure(data)
    titled = {ax.get_title(loc="left"): ax for ax in fig.axes if ax.get_title(loc="left")}
    assert list(titled) == ["pass rate per topic", "pass rate per template", "pass rate per teacher",
                            "rejections by stage and reason (generations)", "cost per verified sample, per teacher",
                            "trend across runs: kept rows (bars), pass rate (line)",
                            "latest evaluation: accuracy, 95% Wilson interval"]
    assert len(fig.axes) == 8  # the seven panels and the trend's pass-rate axis
    bars = patches(fig)
    # per topic: algebra 2/3 of 3 verified (g9 passed, g10 did not: local-m wrote on pm too), geometry 4/4
    topic = titled["pass rate per topic"]
    assert [t.get_text() for t in topic.get_yticklabels()] == ["algebra", "geometry"]
    assert bars["pass-rate-topic-0"].get_width() == pytest.approx(3 / 5)
    assert bars["pass-rate-topic-1"].get_width() == pytest.approx(1.0)
    assert texts(topic) == ["60.0% (3/5) of 6", "100.0% (4/4) of 4"]
    assert texts(titled["pass rate per template"]) == ["100.0% (2/2) of 2", "71.4% (5/7) of 8"]
    rejected = titled["rejections by stage and reason (generations)"]
    assert [t.get_text() for t in rejected.get_yticklabels()][:3] == ["verify: no_answer", "verify: wrong",
                                                                      "curate: not_verified"]
    assert [bars[f"rejection-{i}"].get_width() for i in range(6)] == [1, 1, 2, 1, 1, 1]
    cost = titled["cost per verified sample, per teacher"]
    assert [t.get_text() for t in cost.get_yticklabels()] == ["model-a", "model-b", "local-m"]
    assert texts(cost)[2] == "n/a (no price)" and bars["cost-per-verified-2"].get_width() == 0
    assert bars["cost-per-verified-0"].get_width() == pytest.approx(0.0625)
    assert texts(cost)[0] == "$0.0625 ($0.2500 / 4)"
    trend_ax = titled["trend across runs: kept rows (bars), pass rate (line)"]
    assert [bars[f"trend-kept-{i}"].get_height() for i in range(2)] == [3, 1]
    (line,) = [ln for ax in fig.axes for ln in ax.lines if ln.get_gid() == "trend-pass-rate"]
    assert list(line.get_ydata()) == pytest.approx([0.75, 0.5])
    assert [t.get_text() for t in trend_ax.get_xticklabels()] == ["1. refresh\n01-01 00:00", "2. curate\n01-01 01:00"]
    ev = titled["latest evaluation: accuracy, 95% Wilson interval"]
    assert [t.get_text() for t in ev.get_yticklabels()] == ["base: base-m (reused)", "student kd: student-m",
                                                            "student sft: student-m", "teacher: model-a (reused)"]
    assert [bars[f"accuracy-{i}"].get_width() for i in range(4)] == pytest.approx([0.25, 0.6, 0.5, 0.75])
    (ci,) = [c for c in ev.collections if c.get_gid() == "accuracy-ci"]
    ends = [x for seg in ci.get_segments() for x in (seg[0][0], seg[1][0])]
    assert ends == pytest.approx([x for c in (5, 12, 10, 15) for x in wilson(c, 20)])
    assert texts(ev)[0] == "25.0% [11.2%-46.9%] 5/20"


def test_png_and_svg_by_suffix_deterministic_and_empty_panels_say_so(wh, tmp_path):
    data = report(full(wh))
    png = render_chart(data, tmp_path / "report.png")
    assert png == tmp_path / "report.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "report.svg").exists()
    svg = render_chart(data, tmp_path / "charts" / "report.svg")
    root = ET.parse(svg).getroot()  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for label in ("pass rate per topic", "algebra", "geometry", "n/a (no price)", "$0.0625 ($0.2500 / 4)",
                  "verify: no_answer",
                  "latest evaluation", "student kd"):
        assert label in text  # svg.fonttype none: text stays text
    gids = {g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert {"pass-rate-topic-0", "rejection-0", "cost-per-verified-2", "trend-kept-1", "accuracy-3"} <= gids
    assert render_chart(data, tmp_path / "again.svg").read_bytes() == svg.read_bytes()
    assert render_chart(data, tmp_path / "again.png").read_bytes() == png.read_bytes()
    assert render_chart(data, tmp_path / "report.chart").read_bytes()[:5] == b"<?xml"  # not .png: SVG
    empty = render_chart({}, tmp_path / "empty.svg").read_text()
    assert empty.count("no data") == len(PANEL_TITLES)


def test_markdown_and_tables_have_every_section(wh):
    data = report(full(wh))
    text = markdown_report(data, "Data quality (run r1)")
    assert text.startswith("# Data quality (run r1)")
    for heading in ("## Per topic", "## Per template", "## Per teacher", "## Rejections by stage and reason",
                    "## Trend across runs", "## Latest evaluation"):
        assert heading in text
    assert "| algebra | 6 | 3/5 | 60.0% |" in text
    assert "| verify | no_answer | 1 |" in text and "| curate | not_verified | 2 |" in text
    assert "| 1 | r | refresh | 2025-01-01 00:00 | 8 | 6/8 | 75.0% | 3 | 4 |" in text
    assert "| base | base-m | 5/20 | 25.0% | 11.2%-46.9% | e1 (reused) |" in text
    assert [t.title for t in report_tables(data)] == [
        "data quality per topic", "data quality per template", "data quality per teacher",
        "rejections by stage and reason", "trend across runs (what each run wrote)", "latest evaluation"]


def test_markdown_of_the_quality_rows_alone(wh):
    text = markdown_report({"quality": quality_report(build(wh))}, "Data quality (run r1)")
    assert "## Per topic" in text and "## Per template" in text and "## Per teacher" in text
    assert "| math@v1 | 6 | 4/5 | 80.0% | 40.0% (2/5) | 0 | 52.5 | 0.052500 |" in text
    assert "| geometry | 4 | 4/4 | 100.0% | 25.0% (1/4) | 1 | 65.0 | 0.065000 |" in text
