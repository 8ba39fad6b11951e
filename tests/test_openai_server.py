"""The loopback OpenAI server (tests/openai_server.py), driven by the real `openai` client."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import openai
import pytest

from tests.openai_server import LoopbackServer, default_answer, spawn_server

ANSWER_15 = "Let me think about it.\nThe answer is \\boxed{15}."


def _client(srv, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url, api_key="x", max_retries=0, timeout=timeout)


def _ask(client: openai.OpenAI, text: str = "What is 2 + 3 + 10?", **kw):
    return client.chat.completions.create(model="teacher", messages=[{"role": "user", "content": text}], **kw)


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def srv():
    with LoopbackServer() as server:
        yield server


def test_response_shape_and_deterministic_content(srv):
    client = _client(srv)
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is 2 + 3 + 10?"}]
    r = client.chat.completions.create(model="teacher", messages=messages, temperature=0.7, top_p=0.9, seed=1)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-") and r.model == "teacher"
    assert isinstance(r.created, int)
    [choice] = r.choices
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.logprobs is None
    assert choice.message.role == "assistant" and choice.message.content == ANSWER_15
    assert r.usage.prompt_tokens == 2 + 7
    assert r.usage.completion_tokens == len(ANSWER_15.split())
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert _ask(client, "no numbers here").choices[0].message.content.endswith("\\boxed{0}.")
    assert _ask(client).choices[0].message.content == ANSWER_15  # same question, same answer
    assert [m.id for m in client.models.list()] == ["loopback-teacher"]


def test_n_choices(srv):
    r = _ask(_client(srv), n=3)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert all(c.message.content == ANSWER_15 for c in r.choices)
    assert r.usage.completion_tokens == 3 * len(ANSWER_15.split())


def test_logprobs_with_top_logprobs(srv):
    r = _ask(_client(srv), logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert "".join(t.token for t in content) == ANSWER_15
    assert len(content) == r.usage.completion_tokens
    for t in content:
        assert t.logprob <= 0 and t.bytes == list(t.token.encode())
        assert len(t.top_logprobs) == 2
        assert t.top_logprobs[0].token == t.token and t.top_logprobs[0].logprob == t.logprob
        assert t.top_logprobs[1].logprob < t.top_logprobs[0].logprob


def test_reasoning_field_and_think():
    with LoopbackServer(reasoning="field") as srv:
        msg = _ask(_client(srv)).choices[0].message
        assert msg.content == "The answer is \\boxed{15}."
        assert getattr(msg, "reasoning_content", None) == "Let me think about it."
        assert msg.model_extra["reasoning_content"] == "Let me think about it."
        srv.control(reasoning="think")
        msg = _ask(_client(srv)).choices[0].message
        assert msg.content == "<think>Let me think about it.</think>The answer is \\boxed{15}."
        assert getattr(msg, "reasoning_content", None) is None


def test_responder_override_and_max_tokens():
    def responder(request: dict, i: int) -> str:
        return f"choice {i} for {request['messages'][-1]['content']} at T={request.get('temperature')}"

    with LoopbackServer(responder=responder) as srv:
        client = _client(srv)
        r = _ask(client, "q", n=2, temperature=0.5)
        assert [c.message.content for c in r.choices] == ["choice 0 for q at T=0.5", "choice 1 for q at T=0.5"]
        r = _ask(client, "q", max_tokens=2)
        assert r.choices[0].message.content == "choice 0" and r.choices[0].finish_reason == "length"
        r = _ask(client, "q", max_completion_tokens=3)
        assert r.choices[0].message.content == "choice 0 for"
    assert default_answer({"messages": [{"role": "user", "content": "x 1, y 22"}]}, 0).endswith("\\boxed{23}.")


def test_rate_limit_has_retry_after():
    with LoopbackServer(p429=1, retry_after=2) as srv:
        with pytest.raises(openai.RateLimitError) as err:
            _ask(_client(srv))
        assert err.value.response.headers["retry-after"] == "2"
        assert err.value.code == "rate_limit_exceeded"
        srv.control(retry_after_ms=250)
        with pytest.raises(openai.RateLimitError) as err:
            _ask(_client(srv))
        assert err.value.response.headers["retry-after-ms"] == "250"
        assert srv.stats()["by_outcome"] == {"429": 2}


def test_server_error_and_fail_keys(srv):
    client = _client(srv)
    srv.control(p500=1)
    with pytest.raises(openai.InternalServerError):
        _ask(client)
    srv.control(p500=0, fail_keys=["bad"])
    with pytest.raises(openai.InternalServerError):
        _ask(client, extra_headers={"Idempotency-Key": "bad"})
    assert _ask(client, extra_headers={"Idempotency-Key": "good"}).choices[0].message.content == ANSWER_15
    keys = srv.stats()["keys"]
    assert keys["bad"] == {"attempts": 1, "successes": 0, "outcomes": ["500"]}
    assert keys["good"] == {"attempts": 1, "successes": 1, "outcomes": ["ok"]}


def test_malformed_body_raises_json_decode_error():
    # The openai client does not wrap it: a 200 with a broken JSON body surfaces as json.JSONDecodeError.
    with LoopbackServer(p_malformed=1) as srv:
        with pytest.raises(json.JSONDecodeError):
            _ask(_client(srv))
        assert srv.stats(summary=True)["by_outcome"] == {"malformed": 1}
        assert srv.stats()["successes"] == 0


def test_disconnect_is_a_connection_error():
    with LoopbackServer(p_disconnect=1) as srv:
        with pytest.raises(openai.APIConnectionError):
            _ask(_client(srv))
        srv.control(p_disconnect=0)
        assert _ask(_client(srv)).choices[0].message.content == ANSWER_15  # the server survives it


def test_slow_response_times_out_and_is_not_counted_as_answered():
    with LoopbackServer(p_slow=1, slow_s=0.5) as srv:
        with pytest.raises(openai.APITimeoutError):
            _ask(_client(srv, timeout=0.15))
        _wait_for(lambda: srv.stats()["undelivered"] == 1)
        stats = srv.stats()
        assert stats["by_outcome"] == {"slow": 1} and stats["successes"] == 0 and stats["answered"] == 0


def test_truncate():
    with LoopbackServer(p_truncate=1) as srv:
        r = _ask(_client(srv))
        assert r.choices[0].finish_reason == "length"
        assert r.choices[0].message.content == ANSWER_15[: len(ANSWER_15) // 2]
        assert srv.stats()["keys"]["What is 2 + 3 + 10?"]["outcomes"] == ["truncated"]


def test_hold_after_and_release(srv):
    client = _client(srv)
    srv.control(hold_after=1)
    _ask(client, "first 1")
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", _ask(_client(srv), "second 2")))
    worker.start()
    _wait_for(lambda: srv.stats()["held"] == 1)
    time.sleep(0.1)
    assert worker.is_alive() and "r" not in result
    srv.control(hold_after=None)
    worker.join(5)
    assert result["r"].choices[0].message.content.endswith("\\boxed{2}.")
    stats = srv.stats()
    assert stats["keys"]["second 2"]["outcomes"] == ["held", "ok"]
    assert stats["held"] == 0 and stats["successes"] == 2


def test_keep_alive_and_summary_stats():
    with LoopbackServer(latency_s=0.001) as srv:
        client = _client(srv)
        for i in range(40):
            _ask(client, f"question {i % 30}")
        stats = srv.stats(summary=True)
        assert stats["connections"] == 1  # all 40 requests went over one pooled connection
        assert stats["total"] == 40 and stats["by_outcome"] == {"ok": 40}
        assert stats["answered"] == 30 and stats["answered_twice"] == 10 and stats["max_inflight"] == 1
        assert "keys" not in stats
        srv.reset()
        assert srv.stats() == {**srv.stats(), "total": 0, "keys": {}, "successes": 0}


def test_faults_are_reproducible_for_a_seed():
    def outcomes(seed: int) -> list[str]:
        with LoopbackServer(p429=0.3, p500=0.2, seed=seed) as srv:
            client = _client(srv)
            for i in range(30):
                try:
                    _ask(client, f"q{i}")
                except openai.APIStatusError:
                    pass
            return [srv.stats()["keys"][f"q{i}"]["outcomes"][0] for i in range(30)]

    first = outcomes(7)
    assert first == outcomes(7) and first != outcomes(8)
    assert {"ok", "429", "500"} == set(first)


def test_bad_requests_get_400(srv):
    with pytest.raises(openai.BadRequestError):
        _ask(_client(srv), stream=False, top_logprobs=2)  # top_logprobs without logprobs
    with pytest.raises(ValueError):
        srv.control(p429=0.7, p500=0.7)
    with pytest.raises(ValueError):
        srv.control(no_such_option=1)


def test_subprocess_mode_counts_match():
    with spawn_server(latency_s=0.01, p500=0.3, seed=3, reasoning="field") as server:
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1")
        client = _client(server)
        ok = errors = 0
        for i in range(25):
            try:
                r = _ask(client, f"sum {i} and 1", extra_headers={"Idempotency-Key": f"k{i}"})
                assert r.choices[0].message.content == f"The answer is \\boxed{{{i + 1}}}."
                ok += 1
            except openai.InternalServerError:
                errors += 1
        stats = server.stats()
        assert stats["total"] == 25 and errors > 0
        assert stats["by_outcome"] == {"ok": ok, "500": errors}
        assert stats["answered"] == ok and len(stats["keys"]) == 25
        assert server.control(p500=0)["p500"] == 0
        summary = server.stats(summary=True)
        assert "keys" not in summary and summary["answered_twice"] == 0
        with urllib.request.urlopen(server.base_url + "/_stats?summary=1", timeout=5) as resp:
            assert json.loads(resp.read())["total"] == 25
        proc = server.proc
    assert proc.poll() is not None  # terminated on exit


def test_request_held_for_a_client_that_gave_up_is_not_answered():
    with LoopbackServer(hold_after=0) as srv:
        with pytest.raises(openai.APITimeoutError):
            _ask(_client(srv, timeout=0.2))
        _wait_for(lambda: srv.stats()["held"] == 1)
        srv.control(hold_after=None)
        _wait_for(lambda: srv.stats()["undelivered"] == 1)
        stats = srv.stats()
        assert stats["keys"]["What is 2 + 3 + 10?"] == {"attempts": 1, "successes": 0, "outcomes": ["held", "ok"]}
        assert stats["answered"] == 0 and stats["inflight"] == 0
