"""The `openai` teacher backend against the loopback server: real sockets, the real `openai` client, real faults."""

from __future__ import annotations

import time

import pytest

from generators.teachers import Budget, BudgetConfig, Completion, Failure, Price, Request, TeacherConfig
from generators.teachers.openai_api import MissingApiKey, OpenAITeacher, TeacherUnavailable, resolve_api_key
from tests.openai_server import LoopbackServer, default_answer


def _teacher(url: str, **kw) -> OpenAITeacher:
    defaults = {"backend": "openai", "model": "loopback-teacher", "base_url": url, "api_key_env": None,
                "max_attempts": 4, "timeout_s": 5.0, "concurrency": 8, "max_tokens": 64}
    return OpenAITeacher(TeacherConfig(**{**defaults, **kw}))


def _requests(n: int) -> list[Request]:
    return [Request(f"key-{i:03d}", f"What is {i} + 1?", 0) for i in range(n)]


def _run(teacher: OpenAITeacher, requests: list[Request], budget: Budget | None = None) -> dict:
    return {item.key: item for batch in teacher.generate(requests, budget) for item in batch}


def test_answers_every_request_once_with_usage_and_idempotency_keys():
    with LoopbackServer() as srv:
        out = _run(_teacher(srv.url), _requests(20))
        stats = srv.stats()
    assert sorted(out) == [f"key-{i:03d}" for i in range(20)]
    c = out["key-007"]
    assert isinstance(c, Completion)
    assert c.text == "Let me think about it.\nThe answer is \\boxed{8}."  # the server sums the prompt's numbers
    assert c.finish_reason == "stop" and c.reasoning is None and c.logprobs is None
    assert c.prompt_tokens > 0 and c.completion_tokens == len(c.text.split()) and c.latency_s > 0
    assert set(stats["keys"]) == set(out), "each request carries its generation id as Idempotency-Key"
    assert all(k["attempts"] == 1 and k["successes"] == 1 for k in stats["keys"].values())


def test_429_and_500_are_retried_until_answered_and_nothing_is_answered_twice():
    with LoopbackServer(p429=0.3, retry_after=0.05, p500=0.2, seed=3) as srv:
        teacher = _teacher(srv.url, max_attempts=12)
        out = _run(teacher, _requests(40))
        stats = srv.stats(summary=True)
    assert len(out) == 40 and all(isinstance(c, Completion) for c in out.values())
    assert stats["by_outcome"]["429"] > 0 and stats["by_outcome"]["500"] > 0
    assert stats["answered"] == 40 and stats["answered_twice"] == 0
    assert teacher.errors == stats["by_outcome"]["429"] + stats["by_outcome"]["500"]


def test_retry_after_is_honoured():
    with LoopbackServer(p429=1.0, retry_after=0.4) as srv:
        began = time.monotonic()
        out = _run(_teacher(srv.url, max_attempts=2), _requests(1))
        elapsed = time.monotonic() - began
    assert isinstance(out["key-000"], Failure)
    assert elapsed >= 0.4, "the second attempt waited out Retry-After"


def test_requests_waiting_to_retry_never_idle_a_slot(monkeypatch):
    """Five requests fail at once with concurrency 1 and wait 1.5 s each before their retry: the one slot
    serves all the others meanwhile (a design with a fixed number of waiting lanes would stall here)."""
    monkeypatch.setattr("generators.teachers.openai_api.random.uniform", lambda a, b: 1.5)
    failing = [f"key-{i:03d}" for i in range(5)]
    with LoopbackServer(fail_keys=failing, latency_s=0.01) as srv:
        stream = [item for batch in _teacher(srv.url, concurrency=1, max_attempts=2).generate(_requests(25))
                  for item in batch]
        stats = srv.stats(summary=True)
    assert stats["max_inflight"] == 1
    kinds = ["failure" if isinstance(item, Failure) else "completion" for item in stream]
    assert kinds == ["completion"] * 20 + ["failure"] * 5, "every answer came in while the failures waited"
    assert sorted(item.key for item in stream if isinstance(item, Failure)) == failing


@pytest.mark.parametrize("ramp_up_s", [0.0, 0.6])
def test_ramp_up_spreads_the_lanes_first_requests_over_the_given_seconds(ramp_up_s):
    answered = []

    def responder(body, i):
        answered.append(time.monotonic())
        return default_answer(body, i)

    with LoopbackServer(responder=responder, latency_s=0.8) as srv:  # longer than the ramp: one request a lane
        out = _run(_teacher(srv.url, concurrency=4, ramp_up_s=ramp_up_s), _requests(4))
    assert len(out) == 4
    spread = max(answered) - min(answered)  # each answered 0.8 s after it arrived
    if ramp_up_s:
        assert 0.35 <= spread < 0.6, f"lane k starts k/4 of {ramp_up_s} s late (0.45 s for the last): {spread:.2f} s"
    else:
        assert spread < 0.2, f"all lanes start at once: {spread:.2f} s"


def test_a_request_that_keeps_failing_comes_back_as_a_failure_with_its_error():
    with LoopbackServer(fail_keys=["key-001"]) as srv:
        out = _run(_teacher(srv.url, max_attempts=3), _requests(3))
        stats = srv.stats()
    failure = out["key-001"]
    assert isinstance(failure, Failure)
    assert (failure.error_type, failure.status_code, failure.attempts) == ("server_error", 500, 3)
    assert "500" in failure.message or "Internal" in failure.message
    assert stats["keys"]["key-001"]["attempts"] == 3
    assert isinstance(out["key-000"], Completion) and isinstance(out["key-002"], Completion)


@pytest.mark.parametrize("fault, kind", [({"p_malformed": 1.0}, "malformed"), ({"p_disconnect": 1.0}, "connection")])
def test_malformed_bodies_and_dropped_connections_are_retried_then_failed(fault, kind):
    with LoopbackServer(**fault) as srv:
        out = _run(_teacher(srv.url, max_attempts=2), _requests(2))
        stats = srv.stats()
    assert all(isinstance(f, Failure) and f.error_type == kind and f.attempts == 2 for f in out.values())
    assert all(k["attempts"] == 2 for k in stats["keys"].values())


def test_a_slow_answer_times_out_and_is_retried():
    with LoopbackServer(p_slow=1.0, slow_s=3.0) as srv:
        out = _run(_teacher(srv.url, max_attempts=2, timeout_s=0.3), _requests(1))
    assert isinstance(out["key-000"], Failure) and out["key-000"].error_type == "timeout"


def test_truncated_output_keeps_finish_reason_length():
    with LoopbackServer(p_truncate=1.0) as srv:
        out = _run(_teacher(srv.url), _requests(2))
    assert all(c.finish_reason == "length" for c in out.values())


def test_reasoning_content_is_kept_apart_from_the_answer():
    with LoopbackServer(reasoning="field") as srv:
        c = _run(_teacher(srv.url), _requests(1))["key-000"]
    assert c.reasoning == "Let me think about it."
    assert c.text == "The answer is \\boxed{1}."


def test_top_k_logprobs_are_stored_as_parallel_lists():
    with LoopbackServer() as srv:
        c = _run(_teacher(srv.url, logprobs=3), _requests(1))["key-000"]
    lp = c.logprobs
    assert set(lp) == {"tokens", "logprobs", "top_tokens", "top_logprobs"}
    assert "".join(lp["tokens"]) == c.text
    assert len(lp["logprobs"]) == len(lp["tokens"]) == len(lp["top_tokens"]) == len(lp["top_logprobs"])
    assert all(len(alts) == 3 for alts in lp["top_tokens"]) and all(p <= 0 for p in lp["logprobs"])


def test_with_the_teachers_tokenizer_the_logprobs_carry_its_token_ids_and_vocabulary(tiny_model):
    """`tokenizer:` asks the server for token ids (vLLM's return_tokens_as_token_ids): the stored lists hold the
    ids of the content's real tokenization, readable tokens, and the vocabulary's size and hash."""
    from transformers import AutoTokenizer

    from generators.local_models import vocab_fingerprint

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    with LoopbackServer(tokenizer=tokenizer) as srv:
        c = _run(_teacher(srv.url, logprobs=3, tokenizer=tiny_model), _requests(1))["key-000"]
    lp = c.logprobs
    content = "Let me think about it.\nThe answer is \\boxed{1}."
    assert lp["token_ids"] == tokenizer.encode(content, add_special_tokens=False)
    assert [row[0] for row in lp["top_ids"]] == lp["token_ids"] and all(len(row) == 3 for row in lp["top_ids"])
    assert lp["tokens"] == tokenizer.convert_ids_to_tokens(lp["token_ids"])
    assert (lp["vocab_size"], lp["vocab_hash"]) == vocab_fingerprint(tokenizer)


def test_a_server_that_ignores_the_ids_request_leaves_strings_and_no_ids(tiny_model):
    with LoopbackServer() as srv:  # no tokenizer: return_tokens_as_token_ids is ignored, like OpenAI's own API
        c = _run(_teacher(srv.url, logprobs=3, tokenizer=tiny_model), _requests(1))["key-000"]
    assert "token_ids" not in c.logprobs and "".join(c.logprobs["tokens"]) == c.text


def test_a_tokenizer_that_cannot_be_loaded_is_refused_before_any_request(tmp_path):
    with LoopbackServer() as srv:
        with pytest.raises(ValueError, match="teacher tokenizer .* cannot be loaded"):
            _teacher(srv.url, logprobs=3, tokenizer=str(tmp_path / "nowhere"))
        assert srv.stats()["total"] == 0


def test_a_tokenizer_needs_the_openai_backend_with_logprobs():
    with pytest.raises(ValueError, match="openai backend with logprobs"):
        TeacherConfig(backend="openai", tokenizer="smollm2-135m-instruct")
    with pytest.raises(ValueError, match="openai backend with logprobs"):
        TeacherConfig(backend="transformers", logprobs=5, tokenizer="smollm2-135m-instruct")


def _samples(prompts: int, n: int, first_index: int = 0) -> list[Request]:
    return [Request(f"p{p}-s{i}", f"What is {p} + 1?", i) for p in range(prompts) for i in range(first_index, n)]


def test_samples_of_a_prompt_share_one_call_and_its_tokens_and_cost_add_up():
    asked = []

    def responder(body, i):
        if i == 0:
            asked.append((body["n"], body["seed"]))
        return f"Choice {i} thinks {'hard ' * i}\nThe answer is \\boxed{{{i}}}."

    price = Price(input_per_mtok=1.0, output_per_mtok=2.0)
    with LoopbackServer(responder=responder) as srv:
        budget = Budget(prices={"loopback-teacher": price})
        teacher = _teacher(srv.url, samples_per_request=4, seed=10)
        out = _run(teacher, _samples(3, 6), budget)  # 6 samples a prompt: a call of 4, then one of 2
        stats = srv.stats()
    assert sorted(asked) == [(2, 14)] * 3 + [(4, 10)] * 3, "n = the group's size, seed = its first sample's"
    assert stats["total"] == 6 and sorted(stats["keys"]) == sorted(
        [f"p{p}-s0+4" for p in range(3)] + [f"p{p}-s4+2" for p in range(3)]), "one Idempotency-Key per call"
    assert sorted(out) == sorted(f"p{p}-s{i}" for p in range(3) for i in range(6))
    assert [out[f"p0-s{i}"].text.endswith(f"\\boxed{{{i % 4}}}.") for i in range(6)] == [True] * 6
    words = 5  # the loopback server counts words: "What is 0 + 1?"
    assert sum(out[f"p0-s{i}"].prompt_tokens for i in range(4)) == words, "the prompt is paid once per call"
    assert budget.requests == 6 and budget.tokens == sum(c.prompt_tokens + c.completion_tokens for c in out.values())
    assert sum(c.cost_usd for c in out.values()) == pytest.approx(budget.cost_usd)
    assert out["p0-s3"].completion_tokens > out["p0-s0"].completion_tokens, "completion tokens follow each choice"


def test_an_endpoint_that_ignores_n_is_asked_again_for_the_rest():
    with LoopbackServer(max_choices=1) as srv:
        out = _run(_teacher(srv.url, samples_per_request=3), _samples(2, 3))
        stats = srv.stats()
    assert sorted(out) == sorted(f"p{p}-s{i}" for p in range(2) for i in range(3))
    assert all(isinstance(c, Completion) for c in out.values())
    assert stats["total"] == 6 and sorted(stats["keys"]) == sorted(
        [f"p{p}-s0+3" for p in range(2)] + [f"p{p}-s1+2" for p in range(2)] + [f"p{p}-s2" for p in range(2)])


def test_a_failed_call_fails_every_sample_in_it():
    with LoopbackServer(p500=1.0) as srv:
        out = _run(_teacher(srv.url, samples_per_request=4, max_attempts=2), _samples(1, 4, first_index=1))
        stats = srv.stats()
    assert sorted(out) == ["p0-s1", "p0-s2", "p0-s3"]  # samples 1-3 pending (0 stored): one call with n=3
    assert all(isinstance(f, Failure) and (f.error_type, f.attempts) == ("server_error", 2) for f in out.values())
    assert list(stats["keys"]) == ["p0-s1+3"] and stats["total"] == 2


def test_budget_on_requests_stops_cleanly_at_the_cap():
    with LoopbackServer() as srv:
        budget = Budget(BudgetConfig(max_requests=5))
        out = _run(_teacher(srv.url, concurrency=2), _requests(20), budget)
        stats = srv.stats(summary=True)
    assert len(out) == 5 and stats["total"] == 5
    assert budget.requests == 5 and "max_requests" in budget.stopped


def test_budget_on_money_never_crosses_the_cap_and_costs_follow_the_price_table():
    price = Price(input_per_mtok=1000.0, output_per_mtok=2000.0)  # absurd prices make a small cap bite
    with LoopbackServer() as srv:
        budget = Budget(BudgetConfig(max_cost_usd=0.5), prices={"loopback-teacher": price})
        out = _run(_teacher(srv.url, concurrency=4, max_tokens=16), _requests(50), budget)
    assert 0 < len(out) < 50 and "max_cost_usd" in budget.stopped
    assert budget.cost_usd <= 0.5
    for c in out.values():
        assert c.cost_usd == pytest.approx(price.cost(c.prompt_tokens, c.completion_tokens))
    assert sum(c.cost_usd for c in out.values()) == pytest.approx(budget.cost_usd)


def test_requests_per_minute_bucket_spaces_requests():
    with LoopbackServer() as srv:
        began = time.monotonic()
        out = _run(_teacher(srv.url, requests_per_minute=600), _requests(15))  # 10/s, a burst of 10
        elapsed = time.monotonic() - began
    assert len(out) == 15
    assert elapsed >= 0.4, "5 requests beyond the burst need ~0.5 s at 10 requests/s"


def test_an_endpoint_that_refuses_every_request_stops_the_run():
    with LoopbackServer() as srv:
        teacher = _teacher(srv.url.replace("/v1", "/nowhere"))
        with pytest.raises(TeacherUnavailable, match="404"):
            _run(teacher, _requests(5))


def test_the_key_comes_from_the_named_environment_variable_and_never_shows(monkeypatch):
    cfg = TeacherConfig(backend="openai", model="m", api_key_env="DISTILL_TEST_KEY")
    monkeypatch.delenv("DISTILL_TEST_KEY", raising=False)
    with pytest.raises(MissingApiKey, match="DISTILL_TEST_KEY is not set"):
        resolve_api_key(cfg)
    monkeypatch.setenv("DISTILL_TEST_KEY", "sk-very-secret")
    teacher = OpenAITeacher(cfg)
    assert resolve_api_key(cfg) == "sk-very-secret"
    assert "sk-very-secret" not in repr(teacher) + repr(cfg) + str(cfg.to_row())


def test_the_key_can_come_from_a_prefect_secret_block(prefect_api):
    from prefect.blocks.system import Secret

    Secret(value="sk-from-block").save("distill-test-key", overwrite=True)
    cfg = TeacherConfig(backend="openai", model="m", api_key_secret="distill-test-key")
    assert resolve_api_key(cfg) == "sk-from-block"
    with pytest.raises(MissingApiKey, match="no-such-block"):
        resolve_api_key(TeacherConfig(backend="openai", model="m", api_key_secret="no-such-block"))


def test_a_refused_connection_reads_as_a_refused_connection_not_a_timeout():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _run(_teacher(f"http://127.0.0.1:{port}/v1", max_attempts=1), _requests(1))
    failure = out["key-000"]
    assert isinstance(failure, Failure) and failure.error_type == "connection"
    assert failure.message.startswith("connection refused") and "timed out" not in failure.message


def test_attempts_the_client_gives_up_on_are_counted_as_abandoned_and_priced():
    price = {"loopback-teacher": Price(input_per_mtok=1.0, output_per_mtok=2.0)}
    budget = Budget(BudgetConfig(), price)
    with LoopbackServer(latency_s=1.5) as srv:  # every answer comes after the client's 0.3 s timeout
        out = _run(_teacher(srv.url, timeout_s=0.3, max_attempts=2, max_tokens=64), _requests(3), budget)
    failures = list(out.values())
    assert all(isinstance(f, Failure) and f.error_type == "timeout" for f in failures)
    assert all(f.abandoned == 2 for f in failures), "both attempts were given up on"
    worst = failures[0].abandoned_cost_usd
    assert worst > 64 * 2 * 2.0 / 1e6, "at least max_tokens of output per abandoned attempt"
    assert budget.spent()["cost_usd"] == pytest.approx(sum(f.abandoned_cost_usd for f in failures), rel=1e-6)
    assert budget.spent()["requests"] == 6, "the budget counts them: a real API bills them"


def test_an_answer_after_abandoned_attempts_carries_their_count():
    with LoopbackServer(p_slow=0.3, slow_s=1.5) as srv:  # a slow answer comes after the client's 0.3 s timeout
        out = _run(_teacher(srv.url, timeout_s=0.3, max_attempts=12), _requests(20))
        while srv.stats(summary=True)["inflight"]:  # slow answers are recorded when their wait ends
            time.sleep(0.05)
        slow = srv.stats()["by_outcome"].get("slow", 0)
    assert all(isinstance(c, Completion) for c in out.values())
    assert slow > 0 and sum(c.abandoned for c in out.values()) == slow, "each timed-out attempt counted once"
    assert any(c.abandoned for c in out.values()) and not all(c.abandoned for c in out.values())
