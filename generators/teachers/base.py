"""The teacher interface: one config type, one `generate` method, a registry.

A generation's id is derived from the prompt, the teacher config and the sample
index (`generation_id`), so a rerun asks only for what the warehouse lacks.
`n` and `batch_size` are not part of the teacher id: raising `n` later adds new
sample indices under the same teacher instead of starting over. Neither is the
transport (endpoint, key, limits, timeouts, logprobs): moving a model to another
endpoint or raising its quota must not re-request (and pay for) what is stored.

`generate` yields batches of `Completion`s, and for remote backends `Failure`s:
a request that failed after its last attempt, kept so that it is visible and
retried by the next run instead of being lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from generators.teachers.budget import Budget
from warehouse.ids import stable_id


@dataclass(frozen=True)
class TeacherConfig:
    backend: str = field(default="transformers", metadata={"help": "registry name: transformers | openai | vllm"})
    model: str = field(default="smollm2-135m-instruct",
                       metadata={"help": "embedded name or local checkpoint dir; the API model name for openai"})
    temperature: float = field(default=0.7, metadata={"help": "0 = greedy"})
    top_p: float = 0.95
    n: int = field(default=4, metadata={"help": "samples per prompt"})
    max_tokens: int = field(default=128, metadata={"help": "new tokens per sample"})
    batch_size: int = field(default=32, metadata={"help": "sequences per forward batch"})
    system_prompt: str | None = None
    few_shot: tuple[tuple[str, str], ...] = field(
        default=(), metadata={"help": "worked examples shown to the teacher as earlier chat turns: "
                                      "[{user: ..., assistant: ...}, ...]; students never see them"})
    seed: int = 0
    logprobs: int = field(default=0, metadata={"help": "top-k logprobs stored per token (0 = off; openai max 20)"})
    adapter: str | None = field(default=None, metadata={
        "help": "LoRA directory merged into `model` (transformers backend only), e.g. a training run's output_dir: "
                "the teacher of an iterated-distillation round; part of the teacher id only when set"})
    # openai backend: transport, not part of the teacher id
    tokenizer: str | None = field(default=None, metadata={
        "help": "openai backend with logprobs, on a server that serves this model (vllm serve, SGLang): the "
                "teacher's tokenizer (embedded name or checkpoint dir). Requests then ask for token ids "
                "(return_tokens_as_token_ids) and the stored logprobs carry ids in this vocabulary, with its size "
                "and hash, which kd `source: stored` trains on. null = token strings only"})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible endpoint (default: "
                                                                   "$OPENAI_BASE_URL, else api.openai.com)"})
    api_key_env: str | None = field(default="OPENAI_API_KEY", metadata={
        "help": "environment variable holding the key; null for endpoints without auth (vllm serve)"})
    api_key_secret: str | None = field(default=None, metadata={"help": "Prefect Secret block with the key "
                                                                         "(wins over api_key_env)"})
    concurrency: int = field(default=16, metadata={"help": "requests in flight at once"})
    ramp_up_s: float = field(default=0.0, metadata={
        "help": "seconds over which the concurrency lanes start; about one request's latency spreads the "
                "requests over a round trip instead of sending them in step (see bench/README.md)"})
    samples_per_request: int = field(default=1, metadata={
        "help": "samples of one prompt asked in one call with `n` (its prompt tokens are paid once); an "
                "endpoint that answers fewer choices is asked again for the rest"})
    requests_per_minute: float | None = field(default=None, metadata={"help": "token-bucket limit (null = none)"})
    tokens_per_minute: float | None = field(default=None, metadata={"help": "token-bucket limit on prompt + "
                                                                            "max completion tokens (null = none)"})
    max_attempts: int = field(default=6, metadata={"help": "tries per request before it is recorded as failed"})
    timeout_s: float = field(default=120.0, metadata={"help": "per-request timeout"})
    # vllm backend
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9

    def __post_init__(self) -> None:
        shots = tuple(self._shot(s) for s in self.few_shot)
        object.__setattr__(self, "few_shot", shots)  # frozen: normalise once, here
        if self.n < 1 or self.max_tokens < 1 or self.batch_size < 1:
            raise ValueError("teacher n, max_tokens and batch_size must be >= 1")
        if not 0 <= self.temperature <= 5 or not 0 < self.top_p <= 1:
            raise ValueError("teacher temperature must be in [0, 5] and top_p in (0, 1]")
        if not 0 <= self.logprobs <= 20:
            raise ValueError("teacher logprobs (top-k) must be in [0, 20]")
        if self.tokenizer is not None and (self.backend != "openai" or not self.logprobs):
            raise ValueError("teacher tokenizer is for the openai backend with logprobs > 0 (it names the vocabulary "
                             "of the ids it asks for); the transformers and vllm backends record their own")
        if self.adapter is not None and self.backend != "transformers":
            raise ValueError(f"teacher adapter needs backend transformers, got {self.backend!r}: serve the merged "
                             "model instead, or drop `adapter`")
        if self.concurrency < 1 or self.max_attempts < 1 or self.samples_per_request < 1 or self.timeout_s <= 0:
            raise ValueError("teacher concurrency, max_attempts and samples_per_request must be >= 1 "
                             "and timeout_s > 0")
        if not 0 <= self.ramp_up_s <= 3600:
            raise ValueError("teacher ramp_up_s must be in [0, 3600] seconds")
        if self.base_url is not None and not _is_http_url(self.base_url):
            raise ValueError(f"teacher base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, "
                             f"got {self.base_url!r}")
        for name in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"teacher {name} must be a positive number or null")

    @property
    def sampling(self) -> dict[str, Any]:
        """What decides the output distribution, hence the teacher id."""
        keep = ("temperature", "top_p", "max_tokens", "system_prompt", "few_shot", "seed")
        out = {k: v for k, v in asdict(self).items() if k in keep}
        if self.adapter is not None:  # only when set, so the ids of teachers without one never change
            out["adapter"] = self.adapter
        return out

    @property
    def teacher_id(self) -> str:
        return stable_id(self.backend, self.model, self.sampling)

    @staticmethod
    def _shot(shot: Any) -> tuple[str, str]:
        if isinstance(shot, dict) and set(shot) == {"user", "assistant"}:
            return str(shot["user"]), str(shot["assistant"])
        if isinstance(shot, (list, tuple)) and len(shot) == 2:
            return str(shot[0]), str(shot[1])
        raise ValueError(f"a few_shot item needs exactly `user` and `assistant`, got {shot!r}")

    def to_row(self) -> dict[str, Any]:
        return {"teacher_id": self.teacher_id, "backend": self.backend, "model": self.model, "params": self.sampling}


def _is_http_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


def generation_id(prompt_id: str, teacher_id: str, sample_index: int) -> str:
    return stable_id(prompt_id, teacher_id, sample_index)


@dataclass(frozen=True)
class Request:
    key: str  # the generation id the completion will be stored under
    prompt: str  # the user turn
    sample_index: int = 0


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """Tokens a chat takes, over-estimated: ~3 characters per token plus a per-message overhead."""
    return sum(len(m["content"]) // 3 + 4 for m in messages)


@dataclass(frozen=True)
class Completion:
    key: str
    text: str
    finish_reason: str  # stop | length
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost_usd: float = 0.0
    reasoning: str | None = None  # given apart by the API (DeepSeek `reasoning_content`), else parsed from text
    logprobs: dict | None = None  # {"tokens", "logprobs", "top_tokens", "top_logprobs"}: parallel lists
    abandoned: int = 0  # earlier attempts the client gave up on (timed out) that the server may still bill
    abandoned_cost_usd: float = 0.0  # their worst-case cost: prompt + max_tokens at the model's price


@dataclass(frozen=True)
class Failure:
    """A request that still failed after its last attempt (or could not be retried)."""

    key: str
    error_type: str  # rate_limited | server_error | timeout | connection | malformed | bad_request | ...
    message: str
    attempts: int
    status_code: int | None = None
    abandoned: int = 0  # attempts the client gave up on (timed out) that the server may still bill
    abandoned_cost_usd: float = 0.0  # their worst-case cost


class Teacher(ABC):
    # A backend that answers on its own thread (openai) calls `on_arrival(completion)` from the task that
    # received each answer, before handing it on, so the caller can journal it at once; local backends
    # answer in the caller's thread and leave `on_arrival` alone.
    calls_on_arrival = False

    def __init__(self, config: TeacherConfig):
        self.config = config
        self.on_arrival: Callable[[Completion], None] | None = None

    def messages(self, prompt: str) -> list[dict[str, str]]:
        """The chat sent for one prompt: optional system prompt, few-shot turns, then the prompt."""
        cfg = self.config
        system = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
        shots = [{"role": role, "content": text} for user, assistant in cfg.few_shot
                 for role, text in (("user", user), ("assistant", assistant))]
        return [*system, *shots, {"role": "user", "content": prompt}]

    @abstractmethod
    def generate(self, requests: list[Request], budget: Budget | None = None) -> Iterator[list[Completion | Failure]]:
        """Answer every request, yielding completed batches so callers can store them as they come.

        With a `budget`, stop before a request that would exceed it (`budget.stopped` says why).
        """

    def prompt_estimate(self, prompt: str) -> int:
        """Tokens the chat for `prompt` will take, over-estimated (see `estimate_tokens`)."""
        return estimate_tokens(self.messages(prompt))

    def within_budget(self, batches: Iterable[list[Request]], budget: Budget | None,
                      run: Callable[[list[Request]], list[Completion]]) -> Iterator[list[Completion]]:
        """For local backends: run batch after batch while the budget admits each batch's worst case."""
        for batch in batches:
            held = None
            if budget is not None:
                held = budget.reserve(self.config.model, len(batch), sum(self.prompt_estimate(r.prompt) for r in batch),
                                      self.config.max_tokens * len(batch))
                if held is None:
                    return
            done = run(batch)
            if held is not None:
                budget.settle(held, sum(c.prompt_tokens for c in done), sum(c.completion_tokens for c in done))
            yield done

    def close(self) -> None:
        """Release the model; the default holds nothing."""
