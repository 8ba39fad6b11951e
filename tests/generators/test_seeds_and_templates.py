import json

import pytest

from generators.seeds import InputError, load_seeds
from generators.templates import load_template, render_prompts

ROW = {"id": "m1", "domain": "math", "question": "What is 2 + 3?", "answer": "5"}


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_seeds_keep_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [ROW, "", {**ROW, "id": "m2", "split": "eval"}])
    seeds = load_seeds(path)
    assert [(s.seed_id, s.source_line, s.split, s.reference) for s in seeds] == [
        ("m1", 1, "train", "5"), ("m2", 3, "eval", "5")]


def test_malformed_json_names_file_line_and_fix(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [ROW, '{"id": "m2", "domain": '])
    with pytest.raises(InputError) as err:
        load_seeds(path)
    assert err.value.file == str(path) and err.value.line == 2
    assert "malformed JSON" in str(err.value) and "fix:" in str(err.value)


@pytest.mark.parametrize("row, problem", [
    ({"id": "m2", "domain": "math"}, "missing required field(s): question"),
    ({**ROW, "id": "m2", "split": "test"}, "unknown split 'test'"),
    ({**ROW}, "duplicate id 'm1' (first on line 1)"),
    (["not", "a", "mapping"], "expected an object, got list"),
])
def test_bad_rows_are_located(tmp_path, row, problem):
    path = write_jsonl(tmp_path / "s.jsonl", [ROW, row])
    with pytest.raises(InputError) as err:
        load_seeds(path)
    assert err.value.line == 2
    assert err.value.problem == problem


def test_yaml_seeds_report_their_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("- id: a\n  domain: math\n  question: What is 1 + 1?\n  answer: 2\n- id: b\n  domain: math\n")
    with pytest.raises(InputError) as err:
        load_seeds(path)
    assert err.value.line == 5 and "question" in err.value.problem


def test_template_renders_strictly_and_versions_by_content(tmp_path):
    body = tmp_path / "t.j2"
    body.write_text("Q: {{ question }}\nShow work.")
    template = load_template("math", body)
    seeds = load_seeds(write_jsonl(tmp_path / "s.jsonl", [ROW]))
    [prompt] = render_prompts(seeds, {"math": template})
    assert prompt.text == "Q: What is 2 + 3?\nShow work."
    assert prompt.to_row()["template_id"] == f"t@{template.version}"
    body.write_text("Question: {{ question }}")
    assert load_template("math", body).version != template.version


def test_missing_template_variable_names_the_seed_line(tmp_path):
    body = tmp_path / "t.j2"
    body.write_text("{{ question }} in {{ unit }}")
    seeds = load_seeds(write_jsonl(tmp_path / "s.jsonl", [ROW]))
    with pytest.raises(InputError) as err:
        render_prompts(seeds, {"math": load_template("math", body)})
    assert err.value.line == 1 and "'unit' is undefined" in err.value.problem


def test_unknown_domain_is_rejected(tmp_path):
    body = tmp_path / "t.j2"
    body.write_text("{{ question }}")
    seeds = load_seeds(write_jsonl(tmp_path / "s.jsonl", [{**ROW, "domain": "chemistry"}]))
    with pytest.raises(InputError, match="unknown domain 'chemistry'"):
        render_prompts(seeds, {"math": load_template("math", body)})


def test_template_syntax_error_has_a_line(tmp_path):
    body = tmp_path / "t.j2"
    body.write_text("ok\n{{ question ")
    with pytest.raises(InputError) as err:
        load_template("math", body)
    assert err.value.line == 2
