"""The `openai` backend: any OpenAI-compatible chat endpoint (OpenAI, DeepSeek, vllm serve, SGLang, Ollama).

How a run of many requests uses its quota and survives faults:

* One call per sample (`Request`), or per `samples_per_request` samples of one
  prompt (with `n`, so the prompt is paid once), sent by `AsyncOpenAI` on an event
  loop in a background thread; `generate` yields what has arrived so the caller
  can store it at once. The SDK's own retries are off: this module decides.
* `concurrency` lanes each keep one call on the wire: a lane sends the next due
  retry or new call as soon as its answer is in. With `ramp_up_s` the lanes start
  spread over that many seconds (about one latency keeps them out of step). Token
  buckets for `requests_per_minute` and `tokens_per_minute` (prompt estimate +
  max_tokens, corrected by the reported usage) are passed before each send.
* 429, 5xx, timeouts, connection errors and malformed bodies are retried up to
  `max_attempts` with exponential backoff and full jitter; a `Retry-After`
  (or `retry-after-ms`) header sets the wait instead. The wait is a timer, not a
  lane: the lane moves on to other work, so throttled requests never idle a slot.
* 400/413/422 (this prompt is bad) fail the request at once; 401/403/404 (bad
  key, unknown model, wrong URL) stop the whole run with `TeacherUnavailable`,
  since every other request would fail the same way.
* A request that fails its last attempt comes back as a `Failure` with its
  error: the flow records it in `request_failures` and the next run retries it.
* A `Budget` is reserved (worst case) before each send and settled with the
  reported usage: the run stops at a cap instead of crossing it.
* The request's generation id travels as an `Idempotency-Key` header, for
  gateways that de-duplicate on it.

Reasoning comes from `message.reasoning_content` (DeepSeek, older vLLM) or
`message.reasoning` (newer vLLM) when the endpoint gives it apart; otherwise the
caller parses `<think>` tags from the text. With `logprobs: k` the top-k
alternatives of every generated token are kept as parallel lists.

The API key is read from the environment variable the recipe names, or from a
Prefect Secret block; it is never part of a config, a row, a log line or an error.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import gc
import os
import queue
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx2 as httpx  # the SDK's HTTP library (a maintained httpx fork)
import openai

from generators.teachers.base import Completion, Failure, Request, Teacher, TeacherConfig, estimate_tokens
from generators.teachers.budget import Budget

_DONE = object()
RETRYABLE_STATUS = {408, 409, 429} | set(range(500, 600))
FATAL_STATUS = {401, 403, 404}
MAX_WAIT_S = 600.0
DRAIN_S = 0.02  # the consumer's pause after a wake, to take answers in batches


class MissingApiKey(RuntimeError):
    pass


class TeacherUnavailable(RuntimeError):
    """The endpoint refuses every request (bad key, unknown model, wrong URL): stop the run."""


def resolve_api_key(cfg: TeacherConfig) -> str:
    """The key from the Prefect Secret block or the environment variable the recipe names."""
    if cfg.api_key_secret:
        from prefect.blocks.system import Secret

        try:
            return Secret.load(cfg.api_key_secret).get()
        except ValueError as exc:
            raise MissingApiKey(f"Prefect Secret block {cfg.api_key_secret!r} not found ({exc})") from None
    if cfg.api_key_env is None:
        return "EMPTY"  # endpoints without auth (vllm serve, llama.cpp) still need a non-empty string
    key = os.environ.get(cfg.api_key_env, "")
    if not key:
        raise MissingApiKey(f"environment variable {cfg.api_key_env} is not set")
    return key


@dataclass
class _Bucket:
    """A token bucket allowing one second of burst; a debit larger than that runs into debt."""

    per_minute: float

    def __post_init__(self) -> None:
        self.rate = self.per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()

    async def take(self, amount: float) -> None:
        need = min(amount, self.capacity)
        while True:
            t = time.monotonic()
            self.level = min(self.capacity, self.level + (t - self.stamp) * self.rate)
            self.stamp = t
            if self.level >= need:
                self.level -= amount
                return
            await asyncio.sleep((need - self.level) / self.rate)

    def refund(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)


class OpenAITeacher(Teacher):
    calls_on_arrival = True

    def __init__(self, config: TeacherConfig, api_key: str | None = None):
        super().__init__(config)
        self._api_key = api_key if api_key is not None else resolve_api_key(config)
        self.base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.errors = 0  # failed attempts so far (retried or not): the progress bar shows it
        self._abandoned: dict[str, tuple[int, float]] = {}  # key -> (attempts given up on, their worst cost)
        self._vocab = _Vocabulary(config.tokenizer) if config.tokenizer else None

    def __repr__(self) -> str:  # never show the key
        return f"OpenAITeacher(model={self.config.model!r}, base_url={self.base_url!r})"

    # -- the sync face: a thread runs the event loop, the caller iterates -------------------------------
    def generate(self, requests: list[Request], budget: Budget | None = None) -> Iterator[list[Completion | Failure]]:
        budget = budget if budget is not None else Budget()
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        started: queue.Queue = queue.Queue()  # (loop, main task), to cancel it from here
        thread = threading.Thread(target=_frozen_heap(asyncio.run), args=(self._run(requests, budget, results, stop,
                                                                                     started),),
                                  name="openai-teacher", daemon=True)
        thread.start()
        loop, main = started.get()
        finished = False  # the engine has handed over everything (or its error) and is closing by itself
        try:
            while not finished:
                batch = [results.get()]
                # let answers gather instead of waking per answer: each wake takes the GIL from the event loop
                time.sleep(DRAIN_S)
                while len(batch) < self.config.batch_size:
                    try:
                        batch.append(results.get_nowait())
                    except queue.Empty:
                        break
                if batch[-1] is _DONE:
                    finished = True
                    batch.pop()
                for item in batch:
                    if isinstance(item, BaseException):
                        finished = True
                        raise item
                if batch:
                    yield batch
        finally:  # the caller stopped early or failed: cancel what is in flight
            stop.set()
            if not finished and thread.is_alive():
                loop.call_soon_threadsafe(main.cancel)
            thread.join()

    # -- the async engine -------------------------------------------------------------------------------
    async def _run(self, requests: list[Request], budget: Budget, results: queue.Queue, stop: threading.Event,
                   started: queue.Queue) -> None:
        from openai import AsyncOpenAI

        loop = asyncio.get_running_loop()
        started.put((loop, asyncio.current_task()))
        cfg = self.config
        limits = httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency)
        client = AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=cfg.timeout_s,
                             http_client=_http_client(limits, cfg.timeout_s))
        rpm = _Bucket(cfg.requests_per_minute) if cfg.requests_per_minute else None
        tpm = _Bucket(cfg.tokens_per_minute) if cfg.tokens_per_minute else None
        groups = self._groups(requests)
        todo = iter(groups)
        due: deque[tuple[tuple[Request, ...], int]] = deque()  # (group, attempt) whose retry wait is over
        timers: set[asyncio.TimerHandle] = set()  # retries still waiting
        busy = 0  # lanes with a request in hand
        changed = asyncio.Event()  # a retry became due or a lane finished a request

        def retry_later(group: tuple[Request, ...], attempt: int, wait: float) -> None:
            def ready() -> None:
                timers.discard(handle)
                due.append((group, attempt))
                changed.set()

            handle = loop.call_later(wait, ready)
            timers.add(handle)

        lanes = min(len(groups), cfg.concurrency)

        async def lane(k: int) -> None:
            """One concurrency slot: send the next due retry or new request, until neither can come."""
            nonlocal busy
            if cfg.ramp_up_s:
                await asyncio.sleep(k * cfg.ramp_up_s / lanes)
            while not (budget.stopped or stop.is_set()):
                if due:
                    group, attempt = due.popleft()
                elif (group := next(todo, None)) is not None:
                    attempt = 1
                elif timers or busy:  # a retry may still come due
                    changed.clear()
                    await changed.wait()
                    continue
                else:
                    return
                busy += 1
                try:
                    await self._attempt(client, group, attempt, budget, rpm, tpm, results, retry_later)
                finally:
                    busy -= 1
                    changed.set()

        try:
            async with asyncio.TaskGroup() as group:
                for k in range(lanes):
                    group.create_task(lane(k))
        except BaseExceptionGroup as eg:  # TeacherUnavailable from one lane cancels the others
            results.put(eg.exceptions[0])
        except BaseException as exc:  # noqa: BLE001 - cancelled by the caller, handed back all the same
            results.put(exc)
        finally:
            for handle in timers:  # budget reached or stopped: those requests stay pending for a later run
                handle.cancel()
            try:
                await client.close()
            except asyncio.CancelledError:
                pass  # cancelled by the caller while closing: the loop ends anyway
            results.put(_DONE)

    def _groups(self, requests: list[Request]) -> list[tuple[Request, ...]]:
        """Consecutive samples of one prompt, up to `samples_per_request` at a time: one call each, with `n`."""
        size, groups, current = self.config.samples_per_request, [], []
        for r in requests:
            if current and (len(current) == size or r.prompt != current[0].prompt):
                groups.append(tuple(current))
                current = []
            current.append(r)
        if current:
            groups.append(tuple(current))
        return groups

    async def _attempt(self, client, group: tuple[Request, ...], attempt: int, budget: Budget,
                       rpm: _Bucket | None, tpm: _Bucket | None, results: queue.Queue, retry_later) -> None:
        """Send one call for `group` (one prompt, `n` = its size): its completions, its failures, or a retry
        scheduled on a timer (the lane takes other work meanwhile)."""
        cfg = self.config
        first, n = group[0], len(group)
        messages = self.messages(first.prompt)
        prompt_est = estimate_tokens(messages)
        worst = prompt_est + n * cfg.max_tokens
        if rpm:
            await rpm.take(1)
        if tpm:
            await tpm.take(worst)
        held = budget.reserve(cfg.model, 1, prompt_est, n * cfg.max_tokens)
        if held is None:
            return  # budget reached: the requests stay pending for a later run
        began = time.monotonic()
        try:
            # the SDK's transport, auth and errors, without its per-call param transform and
            # response models (~2 ms of CPU per request here): the body is already plain JSON
            response = await client.post(
                "/chat/completions", cast_to=httpx.Response, body=self._body(first, messages, n),
                options={"headers": {"Idempotency-Key": first.key if n == 1 else f"{first.key}+{n}"}})
            completions, prompt_tokens, completion_tokens = _completions(
                group, response.json(), prompt_est, time.monotonic() - began, self._vocab)
        except (openai.APIError, ValueError) as exc:  # ValueError: a 200 whose body is not a completion
            self.errors += 1
            failure, wait = self._classify(first, exc, attempt)
            if failure.error_type == "timeout":  # we gave up, the server may not have: a real API bills it
                self._abandon(group, budget.settle(held, prompt_est, n * cfg.max_tokens))
            else:
                budget.release(held)
                if tpm:
                    tpm.refund(worst)
            if wait is None or attempt >= cfg.max_attempts:
                for r in group:
                    results.put(self._with_abandoned(replace(failure, key=r.key)))
            else:
                retry_later(group, attempt + 1, wait)
            return
        if tpm:
            tpm.refund(worst - prompt_tokens - completion_tokens)
        cost = budget.settle(held, prompt_tokens, completion_tokens)
        total = prompt_tokens + completion_tokens
        for c in completions:
            item = self._with_abandoned(
                replace(c, cost_usd=cost * (c.prompt_tokens + c.completion_tokens) / total if total else 0.0))
            if self.on_arrival is not None:
                self.on_arrival(item)  # journaled by the caller before anything else can lose it
            results.put(item)
        if len(completions) < n:  # an endpoint that ignores `n`: ask again for the rest, at once
            retry_later(group[len(completions):], attempt, 0.0)

    def _abandon(self, group: tuple[Request, ...], cost: float) -> None:
        """Count an attempt the client gave up on against each request of its call (cost shared out)."""
        for r in group:
            count, spent = self._abandoned.get(r.key, (0, 0.0))
            self._abandoned[r.key] = (count + 1, spent + cost / len(group))

    def _with_abandoned(self, item: Completion | Failure) -> Completion | Failure:
        count, cost = self._abandoned.pop(item.key, (0, 0.0))
        return replace(item, abandoned=count, abandoned_cost_usd=cost) if count else item

    def _body(self, first: Request, messages: list[dict], n: int) -> dict:
        cfg = self.config
        body = {"model": cfg.model, "messages": messages, "temperature": cfg.temperature,
                "top_p": cfg.top_p, "max_tokens": cfg.max_tokens, "n": n, "seed": cfg.seed + first.sample_index}
        if cfg.logprobs:
            body.update(logprobs=True, top_logprobs=cfg.logprobs)
            if self._vocab:
                body["return_tokens_as_token_ids"] = True  # vLLM / SGLang: each token as "token_id:<id>"
        return body

    def _classify(self, r: Request, exc: Exception, attempt: int) -> tuple[Failure, float | None]:
        """(the failure if this was the last try, seconds to wait before the next, None = do not retry)."""
        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.APITimeoutError) and not _dropped(exc):
            kind = "timeout"
        elif isinstance(exc, openai.APIConnectionError):
            kind = "connection"
        elif isinstance(exc, openai.APIStatusError):
            kind = {429: "rate_limited"}.get(status, "server_error" if status >= 500 else f"http_{status}")
        else:  # a 200 whose body is not a chat completion (bad JSON, missing fields)
            kind = "malformed"
        failure = Failure(r.key, kind, _message(exc), attempt, status)
        if status in FATAL_STATUS:
            raise TeacherUnavailable(
                f"{self.base_url or 'api.openai.com'} answered {status} for model {self.config.model!r}: "
                f"{_message(exc)} -- check the model name, base_url and the API key's permissions")
        if status is not None and status not in RETRYABLE_STATUS:
            return failure, None
        hinted = _retry_after(getattr(exc, "response", None))
        if hinted is not None:
            return failure, min(hinted, MAX_WAIT_S) + random.uniform(0, 0.1)
        return failure, random.uniform(0, min(0.5 * 2 ** (attempt - 1), 30.0))


def _completions(group: tuple[Request, ...], data: dict, prompt_est: int,
                 latency_s: float, vocab: _Vocabulary | None = None) -> tuple[list[Completion], int, int]:
    """A chat.completion JSON body -> (a Completion per choice, in `group` order, and the call's prompt and
    completion tokens). The call's tokens are shared out so that they add up: the prompt evenly, the
    completion by each choice's token count (from its logprobs) or else its length. A body without a
    message raises ValueError (malformed)."""
    try:
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))[: len(group)]
        messages = [c["message"] for c in choices]
    except (KeyError, TypeError, AttributeError):
        raise ValueError(f"not a chat completion: {str(data)[:200]}") from None
    if not choices:
        raise ValueError(f"a chat completion without choices: {str(data)[:200]}")
    texts = [m.get("content") or "" for m in messages]
    logprobs = [_compact_logprobs(c.get("logprobs"), vocab) for c in choices]
    usage = data.get("usage") or {}
    prompt_tokens = usage.get("prompt_tokens", prompt_est)
    completion_tokens = usage.get("completion_tokens", sum(len(t) // 4 for t in texts))
    weights = [len(lp["tokens"]) if lp else len(t) + 1 for t, lp in zip(texts, logprobs)]
    prompt_shares = _shares(prompt_tokens, [1] * len(choices))
    completion_shares = _shares(completion_tokens, weights)
    completions = [
        Completion(key=r.key, text=text, finish_reason=choice.get("finish_reason") or "stop",
                   prompt_tokens=p, completion_tokens=c, latency_s=latency_s,
                   reasoning=message.get("reasoning_content") or message.get("reasoning") or None, logprobs=lp)
        for r, choice, message, text, lp, p, c in zip(group, choices, messages, texts, logprobs, prompt_shares,
                                                       completion_shares)]
    return completions, prompt_tokens, completion_tokens


def _shares(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights`, in whole numbers that add up to it (largest remainders)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: shares[i] - exact[i])[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _http_client(limits, timeout_s: float):
    """The SDK's aiohttp transport when the `openai[aiohttp]` extra is installed (about half the CPU per
    request of the default httpx transport, see bench/README.md), else its default httpx client."""
    from openai import DefaultAioHttpClient, DefaultAsyncHttpxClient

    try:
        return DefaultAioHttpClient(limits=limits, timeout=timeout_s, verify=_ssl_context())
    except RuntimeError:  # extra not installed
        return DefaultAsyncHttpxClient(limits=limits, timeout=timeout_s, verify=_ssl_context())


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The client's default TLS context (system CAs, SSL_CERT_FILE/DIR honoured), built once per process:
    loading the CA store takes ~40 ms, which every run would otherwise pay again."""
    return httpx.create_ssl_context()


def _frozen_heap(fn):
    """`fn` with the objects that exist when it starts left out of garbage collection until it returns.

    A process that has imported the SDK, pydantic, Prefect and DuckDB holds millions of long-lived
    objects; every full collection walks them all and stalls the event loop (60 ms here, longer in a
    flow process), and a stalled loop delays every answer in flight. `gc.freeze` moves them to the
    permanent generation; `gc.unfreeze` hands them back, so garbage among them is still collected later.
    """
    def run(*args):
        gc.freeze()
        try:
            return fn(*args)
        finally:
            gc.unfreeze()

    return run


def _dropped(exc: BaseException) -> bool:
    """The aiohttp transport reports a dropped connection as a connect *timeout*; its cause says otherwise."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, ConnectionError) or "Disconnected" in type(cause).__name__:
            return True
        cause = cause.__cause__
    return False


def _message(exc: Exception) -> str:
    """What went wrong, in the words of the innermost cause when the SDK's own words mislead: the aiohttp
    transport reports a refused or dropped connection as "Request timed out"."""
    if _dropped(exc):
        root = _root_cause(exc)
        what = "connection refused" if isinstance(root, ConnectionRefusedError) else "connection failed"
        return f"{what}: {type(root).__name__}: {root}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _retry_after(response) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if the server sent one."""
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _compact_logprobs(logprobs: dict | None, vocab: _Vocabulary | None = None) -> dict | None:
    """OpenAI's per-token objects -> parallel lists (tokens, logprobs, top_tokens, top_logprobs); with `vocab`
    (the teacher's tokenizer) the tokens are "token_id:<id>" and the ids, their text and the vocabulary's
    fingerprint are kept too. A body that ignored the ids request keeps the strings and no ids, so kd
    `source: stored` counts the row as missing instead of guessing ids from text."""
    content = (logprobs or {}).get("content")
    if not content:
        return None
    out = {"tokens": [t["token"] for t in content], "logprobs": [t["logprob"] for t in content],
           "top_tokens": [[a["token"] for a in t.get("top_logprobs") or []] for t in content],
           "top_logprobs": [[a["logprob"] for a in t.get("top_logprobs") or []] for t in content]}
    if vocab is not None:
        out.update(vocab.ids(out["tokens"], out["top_tokens"]) or {})
    return out


class _Vocabulary:
    """The teacher's tokenizer named in its config: reads "token_id:<id>" tokens, and fingerprints the vocabulary."""

    PREFIX = "token_id:"

    def __init__(self, name: str):
        from transformers import AutoTokenizer

        from generators.local_models import resolve_model, vocab_fingerprint

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(resolve_model(name))
        except (OSError, ValueError) as exc:  # before any request: nothing is spent
            raise ValueError(f"teacher tokenizer {name!r} cannot be loaded ({str(exc).splitlines()[0]}); name the "
                             "embedded model, a local checkpoint directory, or a hub id already in the local "
                             "cache") from None
        self.size, self.hash = vocab_fingerprint(self.tokenizer)

    def _id(self, token: str) -> int | None:
        if not token.startswith(self.PREFIX) or not token[len(self.PREFIX):].isdigit():
            return None
        value = int(token[len(self.PREFIX):])
        return value if value < self.size else None

    def ids(self, tokens: list[str], top_tokens: list[list[str]]) -> dict | None:
        """{"token_ids", "top_ids", readable "tokens"/"top_tokens", "vocab_size", "vocab_hash"}, or None when any
        token is not an id of this vocabulary (the server did not honour the request)."""
        token_ids = [self._id(t) for t in tokens]
        top_ids = [[self._id(t) for t in row] for row in top_tokens]
        if None in token_ids or any(None in row for row in top_ids):
            return None
        text = self.tokenizer.convert_ids_to_tokens
        return {"token_ids": token_ids, "top_ids": top_ids, "tokens": text(token_ids),
                "top_tokens": [text(row) for row in top_ids], "vocab_size": self.size, "vocab_hash": self.hash}
