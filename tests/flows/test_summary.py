"""The factory summary: stage figures, one line per trained student, and the evaluation side by side."""

import io

from rich.console import Console

from flows.summary import print_summary


def _row(role, correct, **metrics):
    return {"role": role, "model": "m", "correct": correct, "n": 200, "accuracy": correct / 200, "metrics": metrics}


def test_summary_shows_each_student_with_its_interval_p_values_and_forgetting_deltas():
    summary = {
        "run_id": "r1", "recipe": "quickstart", "generate": {"stored": 480},
        "totals": {"train_prompts": 280, "eval_prompts": 200, "prompts_sent": 240, "generations": 480,
                   "failed_requests": 0, "verified_rate": 0.069, "curated": 29},
        "snapshot": {"name": "quickstart-ee49fa63", "n_distilled": 29, "n_general": 7},
        "trained": [{"config": {"method": "sft"}, "steps": 20, "train_loss": 0.5, "train_seconds": 181.2,
                     "tokens_per_second": 412.4},
                    {"config": '{"method": "kd"}', "steps": 20, "train_loss": 0.9, "train_seconds": 240.0,
                     "tokens_per_second": None, "reused": True}],
        "eval": [_row("base", 17, accuracy_ci_low=0.054, accuracy_ci_high=0.132, general_nll=2.5, truthfulqa=0.24),
                 _row("student:kd", 31, accuracy_ci_low=0.111, accuracy_ci_high=0.212, p_vs_base=0.0123,
                      p_vs_teacher=0.5, retention=1.07, speedup=1.31, tokens_per_s=96.2, flips_lost=3, flips_gained=17,
                      general_nll=2.61, general_nll_delta=0.11, truthfulqa=0.2, truthfulqa_delta=-0.04,
                      **{"accuracy_by_topic:fractions": 0.1, "retention_by_topic:fractions": 0.8})],
    }
    out = io.StringIO()
    print_summary(Console(file=out, width=80), summary)  # piped, as under `make demo`: natural width, no folding
    text = out.getvalue()
    assert "train sft: steps / loss / time / tokens/s" in text and "20 / 0.5000 / 181 s / 412" in text
    assert "train kd" in text and "20 / 0.9000 / 240 s / - (reused)" in text
    kd = next(line for line in text.splitlines() if "student:kd" in line)
    for cell in ("31/200", "15.5% [11.1-21.2]", "0.012", "1.07", "1.31x (96)", "3 / 17", "2.610 (+0.110)", "20% (-4)"):
        assert cell in kd, (cell, kd)
    fractions = next(line for line in text.splitlines() if "│ fractions" in line)
    assert "10.0% (0.80)" in fractions, "a student's accuracy in the topic with its retention there"
    assert max(len(line) for line in text.splitlines()) > 80, "wider than the 80 columns a pipe reports"
    base = next(line for line in text.splitlines() if "│ base" in line)
    assert "8.5% [5.4-13.2]" in base and "2.500" in base and "(+" not in base


def test_iterated_rounds_get_their_own_lines_and_students_are_named_by_round():
    trained = {"config": {"method": "sft"}, "steps": 16, "train_loss": 0.6, "training_run_id": "r1sft0000"}
    later = {"round": 2, "teacher_id": "t2", "teacher_run_id": "r1sft0000", "generate": {"stored": 480},
             "figures": {"generations": 480, "verified_rate": 0.146, "kept": 33},
             "snapshot": {"name": "quickstart-round2-abc", "n_distilled": 58, "n_general": 14},
             "train": {"config": {"method": "sft"}, "steps": 32, "train_loss": 0.4, "train_seconds": 150.0,
                       "tokens_per_second": 90.0, "training_run_id": "r2sft0000"}}
    summary = {
        "run_id": "r", "recipe": "quickstart", "generate": {"stored": 0},
        "totals": {"train_prompts": 280, "eval_prompts": 200, "prompts_sent": 240, "generations": 960,
                   "failed_requests": 0, "verified_rate": 0.069, "curated": 58},
        "snapshot": {"name": "quickstart-b0f03c9e", "n_distilled": 25, "n_general": 6},
        "trained": [trained], "rounds": [{"round": 1, "train": trained}, later],
        "eval": [_row("base", 16), {**_row("student:sft:r1sft000", 29), "training_run_id": "r1sft0000"},
                 {**_row("student:kd", 20), "training_run_id": "r1kd00000"},
                 {**_row("student:sft:r2sft000", 37, p_vs_base=0.001), "training_run_id": "r2sft0000"},
                 _row("teacher", 24)],
    }
    out = io.StringIO()
    print_summary(Console(file=out, width=80), summary)
    text = out.getvalue()
    assert "kept after curation + dedup (all rounds)" in text
    assert "round 2 teacher" in text and "t2 (base + student of run r1sft000)" in text
    assert "480 (480) / 14.6% / 33" in text and "quickstart-round2-abc (58 / 14)" in text
    assert "32 / 0.4000 / 150 s / 90" in text
    roles = [line.split("│")[1].strip() for line in text.splitlines() if "/200" in line]
    assert roles == ["base", "student:sft", "student:kd", "student:sft (round 2)", "teacher"], roles
