"""The shipped Python coding tasks (examples/code/tasks.jsonl): loadable seeds, valid references, renderable prompts."""

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from generators.seeds import load_seeds
from generators.templates import load_template, render_prompts

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "examples" / "code" / "tasks.jsonl"
BUILDER = ROOT / "examples" / "code" / "build_tasks.py"
TEMPLATE = ROOT / "examples" / "templates" / "code.j2"


@pytest.fixture(scope="module")
def seeds():
    return load_seeds(TASKS)


def load_builder():
    spec = importlib.util.spec_from_file_location("distillery_build_code_tasks", BUILDER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_tasks_load_as_code_seeds(seeds):
    assert len(seeds) >= 40
    assert len({s.seed_id for s in seeds}) == len(seeds)
    assert all(s.domain == "code" for s in seeds)
    assert Counter(s.split for s in seeds)["eval"] == 8
    assert {s.split for s in seeds} == {"train", "eval"}
    assert all(s.topic for s in seeds)


def test_every_reference_names_its_entry_point_and_tests(seeds):
    for s in seeds:
        ref = json.loads(s.reference)
        assert set(ref) == {"entry_point", "tests"}, s.seed_id
        entry = ref["entry_point"]
        assert entry == s.payload["entry_point"] and ref["tests"] == s.payload["tests"], s.seed_id
        assert f"`{entry}(" in s.question, s.seed_id
        asserts = [line for line in ref["tests"].splitlines() if line.startswith("assert ")]
        assert 4 <= len(asserts) <= 8, s.seed_id
        assert all(entry in line for line in asserts), s.seed_id


def test_reference_solutions_are_not_shipped(seeds):
    for s in seeds:
        entry = s.payload["entry_point"]
        assert f"def {entry}(" not in TASKS.read_text(encoding="utf-8"), s.seed_id
    assert all(set(s.payload) == {"id", "domain", "topic", "question", "entry_point", "tests", "answer", "split"}
               for s in seeds)


def test_code_template_renders_every_seed(seeds):
    template = load_template("code", TEMPLATE)
    prompts = render_prompts(seeds, {"code": template})
    assert len(prompts) == len(seeds)
    for prompt in prompts:
        entry = prompt.seed.payload["entry_point"]
        assert prompt.text.startswith(prompt.seed.question)
        assert "```python" in prompt.text and f"`{entry}`" in prompt.text
        assert "assert " not in prompt.text  # the tests stay hidden from the teacher
        assert prompt.to_row()["reference"] == prompt.seed.reference
    assert len({p.prompt_id for p in prompts}) == len(prompts)


def test_builder_reproduces_the_shipped_file(tmp_path):
    out = tmp_path / "tasks.jsonl"
    assert load_builder().main(out) == out
    assert out.read_bytes() == TASKS.read_bytes()


def test_builder_rejects_a_wrong_reference_or_weak_tests(tmp_path):
    builder = load_builder()
    good = builder.TASKS[0]
    broken = builder.task(good.id, good.topic, good.entry_point, good.question, good.tests,
                          f"def {good.entry_point}(s):\n    return s.upper()\n")
    with pytest.raises(builder.TaskError, match=f"{good.id} .*reference solution fails"):
        builder.check_runs([broken])
    weak = builder.task(good.id, good.topic, good.entry_point, good.question,
                        f'assert {good.entry_point}("abc") != 1\n' * 4, good.solution)
    with pytest.raises(builder.TaskError, match=f"{good.id} .*passes the tests"):
        builder.check_runs([weak])
