import json

from evaluation.config import EvalConfig
from evaluation.contestants import contestants
from evaluation.evaluate import evaluate
from generators.teachers import TeacherConfig
from tests.warehouse.test_curation_and_snapshots import add_prompt


def test_roles_that_decode_identically_share_answers_and_reruns_reuse_rows(wh, tiny_model):
    for i in range(3):
        add_prompt(wh, f"e{i}", split="eval", reference=str(i))
    add_prompt(wh, "t0", split="train")
    players = contestants(wh, None, TeacherConfig(model=tiny_model, temperature=0.9), base_model=tiny_model)
    cfg = EvalConfig(max_tokens=3, batch_size=2)
    rows = {r["role"]: r for r in evaluate(wh, players, cfg, run_id="r")}
    assert set(rows) == {"base", "teacher"} and rows["base"]["n"] == 3, "only eval-split prompts are scored"
    assert json.loads(json.dumps(rows["teacher"]["details"]))["same_outputs_as"] == "base"
    answers = wh.query("SELECT e.role, i.prompt_id, i.response FROM evaluation_items i JOIN evaluations e "
                       "USING (evaluation_id) ORDER BY i.prompt_id, e.role")
    assert [a["response"] for a in answers if a["role"] == "base"] == \
        [a["response"] for a in answers if a["role"] == "teacher"]
    evaluate(wh, players, cfg, run_id="r2")
    assert wh.scalar("SELECT count(*) FROM evaluations") == 2
