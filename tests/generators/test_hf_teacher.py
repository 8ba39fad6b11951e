from generators.teachers import Request, TeacherConfig, build_teacher


def test_batched_sampling_returns_one_completion_per_request(tiny_model):
    cfg = TeacherConfig(model=tiny_model, temperature=1.0, max_tokens=6, batch_size=3)
    teacher = build_teacher(cfg)
    requests = [Request(f"k{i}", prompt, i) for i, prompt in enumerate(["What is 2 + 3?", "Hi", "Name a colour."] * 2)]
    batches = list(teacher.generate(requests))
    assert [len(b) for b in batches] == [3, 3], "batches are yielded as they complete"
    done = {c.key: c for b in batches for c in b}
    assert set(done) == {r.key for r in requests}
    for c in done.values():
        assert 0 < c.completion_tokens <= 6 and c.prompt_tokens > 0
        assert c.finish_reason in ("stop", "length")
        assert c.finish_reason == "stop" or c.completion_tokens == 6


def test_greedy_is_deterministic(tiny_model):
    teacher = build_teacher(TeacherConfig(model=tiny_model, temperature=0.0, max_tokens=5, batch_size=4))
    run = lambda: {c.key: c.text for b in teacher.generate([Request("a", "What is 2 + 3?")]) for c in b}
    assert run() == run()


def test_teacher_id_ignores_n_and_batch_size_but_not_sampling():
    base = TeacherConfig()
    assert TeacherConfig(n=8, batch_size=4).teacher_id == base.teacher_id
    assert TeacherConfig(temperature=0.2).teacher_id != base.teacher_id
    assert TeacherConfig(max_tokens=64).teacher_id != base.teacher_id
