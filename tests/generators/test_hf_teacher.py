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


def test_top_k_logprobs_in_the_teachers_vocabulary_under_its_own_context(tiny_model):
    import math

    from generators.local_models import vocab_fingerprint

    shots = [{"user": "What is 1 + 1?", "assistant": "2"}]
    plain = build_teacher(TeacherConfig(model=tiny_model, temperature=0.0, max_tokens=6, logprobs=5))
    shot = build_teacher(TeacherConfig(model=tiny_model, temperature=0.0, max_tokens=6, logprobs=5, few_shot=shots))
    [[c]] = list(plain.generate([Request("a", "What is 2 + 3?")]))
    lp = c.logprobs
    n = c.completion_tokens
    assert len(lp["token_ids"]) == len(lp["logprobs"]) == len(lp["top_ids"]) == len(lp["top_logprobs"]) == n
    assert plain.tokenizer.decode(lp["token_ids"], skip_special_tokens=True).strip() == c.text
    assert all(len(row) == 5 for row in lp["top_ids"]) and all(row == sorted(row, reverse=True)
                                                               for row in lp["top_logprobs"])
    assert lp["token_ids"] == [row[0] for row in lp["top_ids"]], "greedy: the sampled token is the top-1"
    assert all(math.isclose(a, row[0], abs_tol=1e-5) for a, row in zip(lp["logprobs"], lp["top_logprobs"]))
    assert all(sum(math.exp(x) for x in row) <= 1 + 1e-5 for row in lp["top_logprobs"])
    assert (lp["vocab_size"], lp["vocab_hash"]) == vocab_fingerprint(plain.tokenizer)
    [[d]] = list(shot.generate([Request("a", "What is 2 + 3?")]))
    assert d.logprobs["top_logprobs"][0] != lp["top_logprobs"][0], "the few-shot turns are part of the context"


def test_captured_logprobs_are_stored_with_their_ids_and_vocabulary(wh, tiny_model):
    from generators.ask import ask_teacher
    from generators.teachers import Budget

    cfg = TeacherConfig(model=tiny_model, temperature=0.7, max_tokens=8, logprobs=20, n=1)
    requests = [Request(f"g{i}", f"What is {i} + 1?", 0) for i in range(3)]
    ask_teacher(wh, cfg, requests, {r.key: "p" for r in requests}, Budget(), run_id="r")
    rows = wh.query("""SELECT g.completion_tokens, l.top_k, len(l.token_ids) AS ids, len(l.top_ids[1]) AS k,
                              len(l.top_logprobs) AS positions, l.vocab_size, l.vocab_hash
                       FROM generations g JOIN generation_logprobs l USING (generation_id)""")
    assert len(rows) == 3
    for r in rows:
        assert r["ids"] == r["positions"] == r["completion_tokens"] and r["k"] == r["top_k"] == 20
        assert r["vocab_size"] > 49000 and len(r["vocab_hash"]) == 12


def test_the_prefix_cache_gives_the_uncached_answers_without_a_deprecation_warning(tiny_model):
    import warnings

    shots = [{"user": "What is 1 + 1?", "assistant": "2"}, {"user": "What is 2 + 2?", "assistant": "4"}]
    cfg = TeacherConfig(model=tiny_model, temperature=0.0, max_tokens=6, batch_size=3, few_shot=shots, logprobs=3)
    requests = [Request(f"k{i}", p) for i, p in enumerate(["What is 2 + 3?", "Hi", "Name a colour please."])]
    cached = build_teacher(cfg)
    assert cached._prefix_cache is not None, "the few-shot turns are cached once"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with_cache = {c.key: c for b in cached.generate(requests) for c in b}
    deprecations = [str(w.message) for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))
                    and ("past_key_values" in str(w.message) or "cache" in str(w.message))]
    assert deprecations == []
    uncached = build_teacher(cfg)
    uncached._prefix_cache = None  # the plain path: the whole chat prefilled per request
    without = {c.key: c for b in uncached.generate(requests) for c in b}
    assert {k: c.text for k, c in with_cache.items()} == {k: c.text for k, c in without.items()}
    for key, c in with_cache.items():
        assert c.logprobs["top_ids"] == without[key].logprobs["top_ids"]
