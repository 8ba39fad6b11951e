"""The data-quality report on a hand-built warehouse: exact figures, markdown and the matplotlib chart."""

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest

from curation.report import markdown_report, render_chart
from warehouse.quality import DIMENSIONS, quality_report

T0 = datetime(2025, 1, 1)


def build(wh):
    """8 generations over 2 templates x 2 teachers, with every outcome the report counts.

    gen   template  teacher  verdict(s)         outcome                 tokens  cost
    g1    math@v1   tA       pass               curated                 10      0.01
    g2    math@v1   tA       pass               exact_duplicate         20      0.02
    g3    math@v1   tA       fail               not_verified            30      0.03
    g4    math@v1   tA       (none)             (undecided)             40      0.04
    g5    math@v1   tB       pass               near_duplicate          50      0.05
    g6    math@v1   tB       pass               curated                 60      0.06
    g7    code@v1   tA       pass               decontaminated          70      0.07
    g8    code@v1   tA       fail, then pass    curated                 80      0.08
    """
    plan = [("g1", "pm", "tA", [True], "kept"), ("g2", "pm", "tA", [True], "exact_duplicate"),
            ("g3", "pm", "tA", [False], "not_verified"), ("g4", "pm", "tA", [], None),
            ("g5", "pm", "tB", [True], "near_duplicate"), ("g6", "pm", "tB", [True], "kept"),
            ("g7", "pc", "tA", [True], "decontaminated"), ("g8", "pc", "tA", [False, True], "kept")]
    with wh.connect() as con:
        wh.insert("teachers", [{"teacher_id": t, "backend": "openai", "model": m, "params": {}, "created_at": T0}
                               for t, m in (("tA", "model-a"), ("tB", "model-b"))], con=con)
        wh.insert("prompts", [{"prompt_id": p, "seed_id": f"s-{p}", "template_id": t, "domain": t.split("@")[0],
                               "split": "train", "text": f"q {p}", "reference": "1", "run_id": "r", "created_at": T0}
                              for p, t in (("pm", "math@v1"), ("pc", "code@v1"))], con=con)
        for i, (gid, pid, teacher, verdicts, outcome) in enumerate(plan, start=1):
            wh.insert("generations", [{"generation_id": gid, "prompt_id": pid, "teacher_id": teacher,
                                       "sample_index": i, "raw": gid, "reasoning": "", "answer": gid,
                                       "finish_reason": "stop", "prompt_tokens": 5, "completion_tokens": 10 * i,
                                       "latency_s": 0.1, "cost_usd": 0.01 * i, "run_id": "r", "created_at": T0}],
                      con=con)
            wh.insert("verifications", [{"verification_id": f"v{k}-{gid}", "generation_id": gid, "verifier": "math",
                                         "version": str(k), "passed": passed, "reason": "x", "extracted": "1",
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
    ("template", "math@v1"): (6, 5, 4, 0.8, 5, 2, 0.4, 0, 210, 0.21, 52.5, 0.0525),
    ("template", "code@v1"): (2, 2, 2, 1.0, 2, 0, 0.0, 1, 150, 0.15, 75.0, 0.075),
    ("teacher", "model-a"): (6, 5, 4, 0.8, 5, 1, 0.2, 1, 250, 0.25, 62.5, 0.0625),
    ("teacher", "model-b"): (2, 2, 2, 1.0, 2, 1, 0.5, 0, 110, 0.11, 55.0, 0.055),
}


def test_report_figures_per_template_and_teacher(wh):
    rows = quality_report(build(wh))
    assert [(r["dimension"], r["label"]) for r in rows] == [("template", "code@v1"), ("template", "math@v1"),
                                                            ("teacher", "model-a"), ("teacher", "model-b")]
    got = by_key(rows)
    for key, figures in EXPECTED.items():
        assert tuple(got[key][f] for f in FIGURES) == pytest.approx(figures), key
    assert got[("teacher", "model-a")]["key"] == "tA"


def test_rates_are_none_without_a_denominator_and_twin_models_are_told_apart(wh):
    with wh.connect() as con:
        wh.insert("teachers", [{"teacher_id": t, "backend": "openai", "model": "same", "params": {"t": t},
                                "created_at": T0} for t in ("t1xxxxxxxxx", "t2xxxxxxxxx")], con=con)
        wh.insert("generations", [{"generation_id": f"g-{t}", "prompt_id": "nowhere", "teacher_id": t,
                                   "sample_index": 0, "raw": "r", "run_id": "r", "created_at": T0}
                                  for t in ("t1xxxxxxxxx", "t2xxxxxxxxx")], con=con)
    rows = by_key(quality_report(wh))
    assert set(rows) == {("template", "?"), ("teacher", "same (t1xxxxxx)"), ("teacher", "same (t2xxxxxx)")}
    r = rows[("template", "?")]
    assert (r["generations"], r["pass_rate"], r["dedup_rate"], r["tokens_per_verified"], r["cost_per_verified"],
            r["completion_tokens"], r["cost_usd"]) == (2, None, None, None, None, 0, 0.0)


SVG = "{http://www.w3.org/2000/svg}"


def bar_widths(svg) -> dict[str, float]:
    """gid -> drawn length of that bar: the x extent of the path inside `<g id=gid>`."""
    out = {}
    for g in svg.iter(f"{SVG}g"):
        gid = g.get("id", "")
        if gid.startswith(("pass-rate-", "dedup-rate-")):
            xs = [float(x) for x in re.findall(r"[ML] (-?[\d.]+) ", g.find(f"{SVG}path").get("d"))]
            out[gid] = max(xs) - min(xs)
    return out


def test_chart_is_a_non_empty_svg_with_every_row(wh, tmp_path):
    rows = quality_report(build(wh))
    path = render_chart(rows, tmp_path / "charts" / "report.svg")
    assert path == tmp_path / "charts" / "report.svg" and path.stat().st_size > 1000
    svg = ET.parse(path).getroot()  # well-formed XML
    assert svg.tag == f"{SVG}svg"
    text = " ".join("".join(t.itertext()) for t in svg.iter(f"{SVG}text"))  # svg.fonttype none: text stays text
    for label in ("math@v1", "code@v1", "model-a", "model-b", "80.0%", "40.0%", "50.0%"):
        assert label in text
    widths = bar_widths(svg)  # 4 rows x (pass rate, dedup rate), each bar with its own gid
    assert len(widths) == 8 and sum(gid.startswith("pass-rate-") for gid in widths) == 4
    full = max(widths.values())  # code@v1 passes 100%: the full width
    for dim in DIMENSIONS:
        for i, r in enumerate(r for r in rows if r["dimension"] == dim):
            for field in ("pass_rate", "dedup_rate"):
                width = widths[f"{field.replace('_', '-')}-{dim}-{i}"]
                assert width == pytest.approx(full * (r[field] or 0), abs=1e-3), (dim, r["label"], field)
    empty = render_chart([], tmp_path / "empty.svg")
    assert "no data" in empty.read_text()


def test_a_png_path_writes_a_png(wh, tmp_path):
    path = render_chart(quality_report(build(wh)), tmp_path / "report.png")
    assert path == tmp_path / "report.png" and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "report.svg").exists()


def test_markdown_has_one_table_per_dimension(wh):
    text = markdown_report(quality_report(build(wh)), "Data quality (run r1)")
    assert text.startswith("# Data quality (run r1)")
    assert "## Per template" in text and "## Per teacher" in text
    assert "| math@v1 | 6 | 4/5 | 80.0% | 40.0% (2/5) | 0 | 52.5 | 0.052500 |" in text
