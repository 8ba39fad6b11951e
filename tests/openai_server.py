r"""A loopback OpenAI-compatible HTTP server with fault injection, for tests and benchmarks.

It speaks just enough of the OpenAI REST API for the real `openai` client (httpx with a
keep-alive connection pool) to talk to it, answers deterministically, and can be told to
misbehave the way a real, overloaded teacher endpoint does: latency, 429s with
`Retry-After`, 500s, malformed JSON, truncated completions, slow answers, dropped
connections, and "hang every request after N successes" (to kill a client mid-run).
It is pure stdlib (an `asyncio.Protocol` HTTP/1.1 server) and cheap on CPU.

Endpoints
    POST /v1/chat/completions   the chat completion (non-streaming; `stream: true` gets a 400)
    GET  /v1/models             one model, `model` from the config
    GET  /_stats[?summary=1]    request bookkeeping, see `ServerState.stats`
    POST /_control              JSON object with any config fields; answers the whole config
    POST /_reset                zero the bookkeeping and reseed the fault RNG (config is kept)

Default answer: the content is deterministic in the last user message,
``f"Let me think about it.\nThe answer is \\boxed{{{S}}}."`` where S is the sum of every
run of digits in it (``\d+``, so "-3" counts as 3 and "1.5" as 1 + 5; 0 when there is none).
In-process, a ``responder(request_json, choice_index) -> str`` overrides it. Token counts
are whitespace-separated words: prompt_tokens over all messages, completion_tokens over
the generated text (content plus `reasoning_content`), summed over the `n` choices.
Request fields honoured: model (echoed), messages, n (choices 0..n-1), max_tokens /
max_completion_tokens (content cut to that many tokens, finish_reason "length"),
logprobs + top_logprobs (deterministic per-token logprobs whose tokens concatenate back
to the content; the first of the k alternatives is the token itself);
return_tokens_as_token_ids (vLLM's extension: each token as "token_id:<id>"), honoured
only in-process when a ``tokenizer`` (a Hugging Face tokenizer) is given: the content's
real token ids, the alternatives the next ids; without one the field is ignored, as by an
endpoint that does not know it; temperature, top_p and seed are accepted and only
visible to a responder.

Faults (config fields, settable at start or through `/_control`)
    latency_s       every chat request first sleeps this long (read when it arrives)
    p429            429 rate_limit_exceeded, with `Retry-After: <retry_after>` (seconds; None
                    omits it) and, when `retry_after_ms` is set, `retry-after-ms: <ms>`
    p500            500 server_error
    p_malformed     200 whose body is the first half of a valid response (not valid JSON)
    p_truncate      200 with finish_reason "length" and each choice's content cut in half
    p_slow, slow_s  a normal 200, sent slow_s seconds late (to exercise client timeouts)
    p_disconnect    the connection is closed without any response
    reasoning       "none"; "field": DeepSeek-style, `message.reasoning_content` holds the
                    text before the last line and `content` only the last line; "think":
                    content is ``<think>{reasoning}</think>{last line}``
    fail_keys       keys (see below) that always get a 500
    max_choices     int or None: at most this many choices whatever `n` asks (an endpoint
                    that ignores `n`)
    hold_after      int or None: once this many successful responses were delivered in total,
                    every further chat request is held open unanswered until `hold_after` is
                    raised or set to None (`/_control`), then answered normally
    seed            seeds the `random.Random` that picks faults (re-seeded by `/_reset`)
    model           the model id `/v1/models` lists

Every fault is decided *after* the latency sleep, like a real overloaded server, 429
included (a real gateway may answer 429 at once; here it costs latency_s too). One
``rng.random()`` draw per request picks at most one fault from the cumulative
probabilities in the order 429, 500, malformed, truncate, slow, disconnect (their sum
must be <= 1); a `fail_keys` hit still consumes its draw. With sequential requests the
fault sequence is reproducible for a seed; concurrent ones draw as their latency ends.

Bookkeeping. A request's key is its `Idempotency-Key` header, else the text of its last
user message. Per key: attempts (requests received), successes, and the ordered outcomes
(ok, 429, 500, malformed, truncated, slow, disconnect, held; also "error" when a
responder raised, and "bad_request", which is only counted globally). A success is a 200 with a valid body (ok, truncated, slow)
*delivered to a still-connected client*; one whose client had gone counts in
`undelivered` instead. A held request records "held" when it is parked and its real
outcome once released, so `by_outcome` may sum to more than `total`.

Running it
    in-process (tests)::

        with LoopbackServer(latency_s=0.01, p429=0.2) as srv:
            client = openai.OpenAI(base_url=srv.url, api_key="x")
            ...; srv.stats(); srv.control(hold_after=None); srv.reset()

    as a process (benchmarks, kill tests), from the repo root::

        python -m tests.openai_server --port 0 --latency 0.2 --p429 0.1 --retry-after 1 \
            --p500 0.05 --seed 0

    prints exactly one line ``READY http://127.0.0.1:PORT/v1`` on stdout once listening,
    and stops on SIGTERM/SIGINT. `spawn_server(**config)` does that from Python and gives
    a `ServerProcess` with the same `.url/.stats()/.control()/.reset()` methods.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["FaultConfig", "LoopbackServer", "ServerProcess", "ServerState", "default_answer", "main",
           "serve", "spawn_server"]

log = logging.getLogger("tests.openai_server")

Responder = Callable[[dict, int], str]

REASONING_MODES = ("none", "field", "think")
FAULTS = ("429", "500", "malformed", "truncated", "slow", "disconnect")
_FAULT_FIELDS = ("p429", "p500", "p_malformed", "p_truncate", "p_slow", "p_disconnect")
_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
            413: "Payload Too Large", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
            500: "Internal Server Error"}
_TOKEN_RE = re.compile(r"\s*\S+")
_REQUEST_IDS = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Configuration and content
# ---------------------------------------------------------------------------------------------

@dataclass
class FaultConfig:
    """The server's behaviour; see the module docstring for what each field does."""

    latency_s: float = 0.0
    p429: float = 0.0
    retry_after: float | None = 1.0
    retry_after_ms: float | None = None
    p500: float = 0.0
    p_malformed: float = 0.0
    p_truncate: float = 0.0
    p_slow: float = 0.0
    slow_s: float = 5.0
    p_disconnect: float = 0.0
    reasoning: str = "none"
    fail_keys: list[str] = field(default_factory=list)
    hold_after: int | None = None
    max_choices: int | None = None
    seed: int = 0
    model: str = "loopback-teacher"

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A validated copy with `changes` applied (ValueError on unknown fields or bad values)."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        new = FaultConfig(**{**asdict(self), **changes})
        new._validate()
        return new

    def _validate(self) -> None:
        for name in ("latency_s", "slow_s", *_FAULT_FIELDS):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
            setattr(self, name, float(value))
        for name in _FAULT_FIELDS:
            if getattr(self, name) > 1:
                raise ValueError(f"{name} must be <= 1")
        if sum(getattr(self, name) for name in _FAULT_FIELDS) > 1 + 1e-9:
            raise ValueError("the fault probabilities must sum to <= 1")
        for name in ("retry_after", "retry_after_ms"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{name} must be a number >= 0 or None, got {value!r}")
        if self.reasoning not in REASONING_MODES:
            raise ValueError(f"reasoning must be one of {REASONING_MODES}, got {self.reasoning!r}")
        if isinstance(self.fail_keys, str) or not all(isinstance(k, str) for k in self.fail_keys):
            raise ValueError("fail_keys must be a list of strings")
        self.fail_keys = list(self.fail_keys)
        if self.hold_after is not None and (isinstance(self.hold_after, bool) or not isinstance(self.hold_after, int)
                                            or self.hold_after < 0):
            raise ValueError(f"hold_after must be an int >= 0 or None, got {self.hold_after!r}")
        if self.max_choices is not None and (isinstance(self.max_choices, bool) or not isinstance(self.max_choices, int)
                                             or self.max_choices < 1):
            raise ValueError(f"max_choices must be an int >= 1 or None, got {self.max_choices!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if not isinstance(self.model, str) or not self.model:
            raise ValueError("model must be a non-empty string")


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def last_user_text(messages: list[dict]) -> str:
    """The text of the last message with role "user" ("" when there is none)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def default_answer(request: dict, choice_index: int = 0) -> str:
    """The default completion: a reasoning line, then the sum of the digit runs of the last user message."""
    total = sum(int(d) for d in re.findall(r"\d+", last_user_text(request.get("messages") or [])))
    return f"Let me think about it.\nThe answer is \\boxed{{{total}}}."


def _words(text: str) -> int:
    return len(text.split())


def _logprobs(content: str, k: int) -> dict:
    """Deterministic OpenAI-shaped logprobs; the tokens concatenate back to `content`."""
    entries = []
    for token in _TOKEN_RE.findall(content):
        lp = -((zlib.crc32(token.encode()) % 1000) / 1000.0) * 0.5
        top = [{"token": token, "logprob": lp, "bytes": list(token.encode())}]
        for j in range(1, k):
            alt = f"{token}~{j}"
            top.append({"token": alt, "logprob": lp - 1.5 * j, "bytes": list(alt.encode())})
        entries.append({"token": token, "logprob": lp, "bytes": list(token.encode()), "top_logprobs": top[:k]})
    return {"content": entries, "refusal": None}


def _id_logprobs(content: str, k: int, tokenizer: Any) -> dict:
    """vLLM's `return_tokens_as_token_ids` shape: the content's token ids as "token_id:<id>", each the first of
    its k alternatives (the next ids), with deterministic logprobs."""
    entries = []
    for token_id in tokenizer.encode(content, add_special_tokens=False):
        lp = -((token_id * 7919) % 1000) / 1000.0 * 0.5
        top = [{"token": f"token_id:{(token_id + j) % len(tokenizer)}", "logprob": lp - 1.5 * j, "bytes": None}
               for j in range(k)]
        entries.append({"token": f"token_id:{token_id}", "logprob": lp, "bytes": None, "top_logprobs": top})
    return {"content": entries, "refusal": None}


# ---------------------------------------------------------------------------------------------
# Bookkeeping and request handling (runs on the server's event loop)
# ---------------------------------------------------------------------------------------------

class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class _KeyTally:
    attempts: int = 0
    successes: int = 0
    outcomes: list[str] = field(default_factory=list)


class ServerState:
    """Config, fault RNG and bookkeeping, plus the HTTP routes. Lives on one event loop."""

    def __init__(self, config: FaultConfig | None = None, responder: Responder | None = None,
                 tokenizer: Any = None):
        self.config = config or FaultConfig()
        self.config._validate()
        self.responder = responder
        self.tokenizer = tokenizer
        self.connections: set[_HttpConnection] = set()
        self._release = asyncio.Event()
        self._ids = 0
        self.reset()

    # -- bookkeeping -------------------------------------------------------------------------

    def reset(self) -> None:
        """Zero the counters and reseed the fault RNG (config is kept).

        Held requests re-check the hold against the zeroed success count, so a reset
        with `hold_after` > 0 releases them.
        """
        self.rng = random.Random(self.config.seed)
        self.total = 0
        self.successes = 0
        self.undelivered = 0
        self.by_outcome: dict[str, int] = {}
        self.keys: dict[str, _KeyTally] = {}
        self.inflight: int = getattr(self, "inflight", 0)  # live gauges survive a reset
        self.held: int = getattr(self, "held", 0)
        self.max_inflight = self.inflight
        self.connections_opened = 0
        self._wake_held()

    def stats(self, summary: bool = False) -> dict:
        """The bookkeeping as JSON-ready data.

        {"total", "successes", "undelivered", "by_outcome": {outcome: n}, "max_inflight",
         "inflight", "held" (now), "connections" (opened), "n_keys", "answered" (keys with
         >= 1 success), "answered_twice" (keys with >= 2), "keys": {key: {"attempts",
         "successes", "outcomes": [...]}}}; `summary` leaves out "keys".
        """
        out = {
            "total": self.total, "successes": self.successes, "undelivered": self.undelivered,
            "by_outcome": dict(self.by_outcome), "max_inflight": self.max_inflight, "inflight": self.inflight,
            "held": self.held, "connections": self.connections_opened, "n_keys": len(self.keys),
            "answered": sum(1 for t in self.keys.values() if t.successes >= 1),
            "answered_twice": sum(1 for t in self.keys.values() if t.successes >= 2),
        }
        if not summary:
            out["keys"] = {k: {"attempts": t.attempts, "successes": t.successes, "outcomes": list(t.outcomes)}
                           for k, t in self.keys.items()}
        return out

    def control(self, changes: dict[str, Any]) -> dict:
        """Apply config changes (validated, all or nothing) and answer the whole config."""
        new = self.config.updated(changes)
        self.config = new
        if "seed" in changes:
            self.rng = random.Random(new.seed)
        if "hold_after" in changes:
            self._wake_held()
        return asdict(new)

    def _wake_held(self) -> None:
        old, self._release = self._release, asyncio.Event()
        old.set()

    def _record(self, tally: _KeyTally | None, outcome: str) -> None:
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1
        if tally is not None:
            tally.outcomes.append(outcome)

    # -- routing -----------------------------------------------------------------------------

    async def handle(self, req: _Request, conn: _HttpConnection) -> None:
        """Answer one request through `conn` (exactly one `respond` or `drop`)."""
        path, _, query = req.target.partition("?")
        path = path.rstrip("/") or "/"
        route = (req.method, path)
        if route == ("POST", "/v1/chat/completions"):
            await self._chat(req, conn)
        elif route == ("GET", "/v1/models"):
            conn.respond_json(200, {"object": "list", "data": [
                {"id": self.config.model, "object": "model", "created": 0, "owned_by": "distillery-loopback"}]})
        elif route == ("GET", "/_stats"):
            params = urllib.parse.parse_qs(query)
            summary = params.get("summary", ["0"])[-1].lower() not in ("", "0", "false", "no")
            conn.respond_json(200, self.stats(summary=summary))
        elif route == ("POST", "/_control"):
            try:
                changes = json.loads(req.body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("the body must be a JSON object")
                conn.respond_json(200, self.control(changes))
            except ValueError as exc:
                conn.respond_json(400, _error(str(exc), "invalid_request_error"))
        elif route == ("POST", "/_reset"):
            self.reset()
            conn.respond_json(200, {"ok": True})
        elif path in ("/v1/chat/completions", "/v1/models", "/_stats", "/_control", "/_reset"):
            conn.respond_json(405, _error(f"method {req.method} not allowed on {path}", "invalid_request_error"))
        else:
            conn.respond_json(404, _error(f"unknown path {path}", "invalid_request_error"))

    # -- chat completions --------------------------------------------------------------------

    async def _chat(self, req: _Request, conn: _HttpConnection) -> None:
        try:
            body = _validate_chat(req.body)
        except _BadRequest as exc:
            self.total += 1
            self._record(None, "bad_request")
            conn.respond_json(exc.status, _error(str(exc), "invalid_request_error"))
            return
        key = req.headers.get("idempotency-key") or last_user_text(body["messages"])
        tally = self.keys.get(key)
        if tally is None:
            tally = self.keys[key] = _KeyTally()
        tally.attempts += 1
        self.total += 1
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            latency = self.config.latency_s
            if latency > 0:
                await asyncio.sleep(latency)
            await self._hold_gate(tally)
            outcome = self._decide(key)
            if outcome == "slow":
                await asyncio.sleep(self.config.slow_s)
                await self._hold_gate(tally)
            self._answer(body, outcome, tally, conn)
        finally:
            self.inflight -= 1

    async def _hold_gate(self, tally: _KeyTally) -> None:
        """Park the request while `hold_after` successes have been delivered (records "held" once)."""
        held = False
        try:
            while self.config.hold_after is not None and self.successes >= self.config.hold_after:
                if not held:
                    held = True
                    self.held += 1
                    self._record(tally, "held")
                await self._release.wait()
        finally:
            if held:
                self.held -= 1

    def _decide(self, key: str) -> str:
        cfg = self.config
        u = self.rng.random()
        if key in cfg.fail_keys:
            return "500"
        edge = 0.0
        for outcome, name in zip(FAULTS, _FAULT_FIELDS):
            edge += getattr(cfg, name)
            if u < edge:
                return outcome
        return "ok"

    def _answer(self, body: dict, outcome: str, tally: _KeyTally, conn: _HttpConnection) -> None:
        """Send the response for `outcome` and book it (no awaits: decisions and sends are atomic)."""
        if outcome == "disconnect":
            self._record(tally, outcome)
            conn.drop()
            return
        if outcome == "429":
            headers = []
            if self.config.retry_after is not None:
                headers.append(("Retry-After", f"{self.config.retry_after:g}"))
            if self.config.retry_after_ms is not None:
                headers.append(("retry-after-ms", f"{self.config.retry_after_ms:g}"))
            status, data = 429, _error("Rate limit reached (loopback fault injection).", "requests",
                                       code="rate_limit_exceeded")
        elif outcome == "500":
            headers, status, data = [], 500, _error("The server had an error (loopback fault injection).",
                                                    "server_error")
        else:
            headers, status = [], 200
            try:
                data = self._completion(body, truncate=outcome == "truncated")
            except Exception as exc:  # a test's responder failed
                log.exception("responder failed")
                outcome, status, data = "error", 500, _error(f"responder failed: {exc!r}", "server_error")
        payload = json.dumps(data).encode()
        if outcome == "malformed":
            payload = payload[: len(payload) // 2]
        self._record(tally, outcome)
        if not conn.respond(status, payload, headers):
            self.undelivered += 1
        elif status == 200 and outcome != "malformed":
            tally.successes += 1
            self.successes += 1

    def _completion(self, body: dict, truncate: bool) -> dict:
        reasoning_mode = self.config.reasoning
        responder = self.responder or default_answer
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        k = body.get("top_logprobs") or 0
        choices, prompt_tokens, completion_tokens = [], 0, 0
        for message in body["messages"]:
            prompt_tokens += _words(_text_of(message.get("content")))
        n = body.get("n") or 1
        for i in range(n if self.config.max_choices is None else min(n, self.config.max_choices)):
            text = responder(body, i)
            if not isinstance(text, str):
                raise TypeError(f"the responder returned {type(text).__name__}, not str")
            reasoning, _, final = text.rpartition("\n")
            message: dict[str, Any] = {"role": "assistant"}
            if reasoning_mode == "field":
                message["content"], message["reasoning_content"] = final, reasoning
            elif reasoning_mode == "think":
                message["content"] = f"<think>{reasoning}</think>{final}"
            else:
                message["content"] = text
            finish = "stop"
            if truncate:
                message["content"] = message["content"][: len(message["content"]) // 2]
                finish = "length"
            if cap is not None:
                tokens = _TOKEN_RE.findall(message["content"])
                if len(tokens) > cap:
                    message["content"] = "".join(tokens[:cap])
                    finish = "length"
            message["refusal"] = None
            choice: dict[str, Any] = {"index": i, "message": message, "finish_reason": finish, "logprobs": None}
            if body.get("logprobs"):
                as_ids = self.tokenizer is not None and body.get("return_tokens_as_token_ids")
                choice["logprobs"] = (_id_logprobs(message["content"], k, self.tokenizer) if as_ids
                                      else _logprobs(message["content"], k))
            choices.append(choice)
            completion_tokens += _words(message["content"]) + _words(message.get("reasoning_content") or "")
        self._ids += 1
        return {
            "id": f"chatcmpl-loopback-{self._ids:08x}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "choices": choices, "system_fingerprint": "fp_loopback",
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


def _error(message: str, type_: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _validate_chat(raw: bytes) -> dict:
    """The parsed chat request; `_BadRequest` with an OpenAI-like message when it is not acceptable."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("you must provide a model parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise _BadRequest("'messages' must be a non-empty array of objects")
    if body.get("stream"):
        raise _BadRequest("streaming is not supported by the loopback server")
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128):
        raise _BadRequest("'n' must be an integer between 1 and 128")
    for name in ("max_tokens", "max_completion_tokens"):
        cap = body.get(name)
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise _BadRequest(f"'{name}' must be a positive integer")
    k = body.get("top_logprobs")
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 20:
            raise _BadRequest("'top_logprobs' must be an integer between 0 and 20")
        if k and not body.get("logprobs"):
            raise _BadRequest("'logprobs' must be set to true when 'top_logprobs' is used")
    return body


# ---------------------------------------------------------------------------------------------
# HTTP/1.1
# ---------------------------------------------------------------------------------------------

@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


def _parse_request(buf: bytearray) -> _Request | None:
    """Pop one complete request off `buf`; None when more bytes are needed; `_BadRequest` when broken."""
    while buf.startswith(b"\r\n"):  # stray CRLFs between requests are allowed
        del buf[:2]
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > _MAX_HEAD:
            raise _BadRequest("request head too large", 431)
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise _BadRequest("malformed request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise _BadRequest("chunked request bodies are not supported; send Content-Length", 411)
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _BadRequest("bad Content-Length") from None
    if length < 0 or length > _MAX_BODY:
        raise _BadRequest("bad Content-Length", 413)
    start = end + 4
    if len(buf) < start + length:
        return None
    body = bytes(buf[start:start + length])
    del buf[:start + length]
    connection = headers.get("connection", "").lower()
    keep_alive = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    return _Request(method.upper(), target, version, headers, body, keep_alive)


class _HttpConnection(asyncio.Protocol):
    """One client connection: requests are answered one at a time, in order (keep-alive, pipelining)."""

    def __init__(self, state: ServerState):
        self.state = state
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False
        self.closed = False
        self.task: asyncio.Task | None = None
        self._keep_alive = True

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.connections.add(self)
        self.state.connections_opened += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def eof_received(self) -> bool:
        return False  # HTTP clients do not half-close; treat EOF as gone (closes the transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.connections.discard(self)

    # request loop

    def _next(self) -> None:
        if self.closed:
            return
        try:
            req = _parse_request(self.buf)
        except _BadRequest as exc:
            self._keep_alive = False
            self.respond_json(exc.status, _error(str(exc), "invalid_request_error"))
            return
        if req is None:
            return
        self.busy = True
        self._keep_alive = req.keep_alive
        self.task = asyncio.get_running_loop().create_task(self._run(req))

    async def _run(self, req: _Request) -> None:
        try:
            await self.state.handle(req, self)
        except Exception as exc:  # a bug here; answer rather than leave the client hanging
            log.exception("handler failed")
            self.respond_json(500, _error(f"internal error: {exc!r}", "server_error"))
        finally:
            self.busy = False
            self.task = None
        if not self.closed:
            self._next()  # a pipelined request may already be buffered

    # answering

    def respond(self, status: int, body: bytes, headers: list[tuple[str, str]] = (),
                content_type: str = "application/json") -> bool:
        """Send one response; False (quietly) when the client has already gone."""
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
                f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
                f"x-request-id: req_loopback_{next(_REQUEST_IDS):x}"]
        head += [f"{name}: {value}" for name, value in headers]
        head.append("Connection: keep-alive" if self._keep_alive else "Connection: close")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        if not self._keep_alive:
            self.transport.close()
            self.closed = True
        return True

    def respond_json(self, status: int, obj: Any, headers: list[tuple[str, str]] = ()) -> bool:
        return self.respond(status, json.dumps(obj).encode(), headers)

    def drop(self) -> None:
        """Close the connection without answering."""
        if self.transport is not None:
            self.transport.close()
        self.closed = True


async def serve(state: ServerState, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start listening on the running loop; the caller owns the returned server."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _HttpConnection(state), host, port, reuse_address=True, backlog=1024)


async def _shutdown(server: asyncio.Server, state: ServerState) -> None:
    server.close()
    for conn in list(state.connections):
        if conn.transport is not None:
            conn.transport.abort()
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()


def _split_config(kwargs: dict[str, Any]) -> FaultConfig:
    return FaultConfig().updated(kwargs)


# ---------------------------------------------------------------------------------------------
# In-process: a background thread with its own loop
# ---------------------------------------------------------------------------------------------

class LoopbackServer:
    """The server on a background thread with its own event loop, bound to 127.0.0.1 (port 0 = any free port).

    Keyword arguments are `FaultConfig` fields (latency_s, p429, ..., seed, model), plus
    `responder(request_json, choice_index) -> str` to replace the default content, and `tokenizer` (a Hugging
    Face tokenizer) to honour `return_tokens_as_token_ids`.
    Use as a context manager, or call `start()`/`stop()`.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, responder: Responder | None = None,
                 tokenizer: Any = None, **config: Any):
        self.host, self.port = host, port
        self._config = _split_config(config)  # validate in the caller's thread
        self._responder = responder
        self._tokenizer = tokenizer
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._state: ServerState | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (the `/_stats` etc. root)."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL, http://127.0.0.1:PORT/v1."""
        return self.base_url + "/v1"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._thread_main, name="openai-loopback", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError("the loopback server failed to start") from self._error
        if not self._ready.is_set():
            raise RuntimeError("the loopback server did not start within 30 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._state = ServerState(self._config, self._responder, self._tokenizer)
        server = await serve(self._state, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await _shutdown(server, self._state)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server loop (the state is not thread-safe) and return its result."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("the server is not running")

        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def stats(self, summary: bool = False) -> dict:
        """The bookkeeping (see `ServerState.stats`)."""
        return self._call(lambda: self._state.stats(summary=summary))

    def control(self, **changes: Any) -> dict:
        """Change config fields (e.g. `control(hold_after=None)`); returns the whole config."""
        return self._call(lambda: self._state.control(changes))

    def reset(self) -> None:
        """Zero the bookkeeping and reseed the fault RNG."""
        self._call(lambda: self._state.reset())

    @property
    def state(self) -> ServerState:
        """The live state, for tests that know to touch it only from the server loop."""
        assert self._state is not None
        return self._state


# ---------------------------------------------------------------------------------------------
# Subprocess: `python -m tests.openai_server` and spawn_server()
# ---------------------------------------------------------------------------------------------

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _http_json(method: str, url: str, body: Any = None, timeout: float = 10) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


class ServerProcess:
    """A server running as `python -m tests.openai_server`; terminated when the context exits."""

    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc = proc
        self.url = url
        self.base_url = url.removesuffix("/v1")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stats(self, summary: bool = False) -> dict:
        return _http_json("GET", self.base_url + "/_stats" + ("?summary=1" if summary else ""))

    def control(self, **changes: Any) -> dict:
        return _http_json("POST", self.base_url + "/_control", changes)

    def reset(self) -> None:
        _http_json("POST", self.base_url + "/_reset", {})

    def terminate(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


def _cli_args(config: dict[str, Any]) -> list[str]:
    """Command-line flags for `FaultConfig` fields: `name_s` -> `--name-s`; None means "leave out"."""
    _split_config(config)  # validate early, with a clear error, in the caller
    args: list[str] = []
    for name, value in config.items():
        flag = "--" + name.replace("_", "-")
        if name == "fail_keys":
            args += [f"--fail-key={key}" for key in value]
        elif value is None:
            args.append(f"{flag}=none")
        else:
            args.append(f"{flag}={value}")
    return args


def spawn_server(*, port: int = 0, startup_timeout: float = 30, **config: Any) -> ServerProcess:
    """Start `python -m tests.openai_server` with `config` (FaultConfig fields) and wait for READY."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [sys.executable, "-m", "tests.openai_server", f"--port={port}", *_cli_args(config)]
    proc = subprocess.Popen(cmd, cwd=_REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    got = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # keeps draining after READY so the pipe never fills
            if not got.is_set():
                lines.append(line)
                got.set()

    threading.Thread(target=read, name="openai-loopback-stdout", daemon=True).start()
    server = ServerProcess(proc, "")
    if not got.wait(startup_timeout) or not lines or not lines[0].startswith("READY "):
        server.terminate()
        raise RuntimeError(f"the loopback server did not start (exit {proc.returncode}, stdout {lines!r})")
    server.url = lines[0].split(" ", 1)[1].strip()
    server.base_url = server.url.removesuffix("/v1")
    return server


def _opt_float(text: str) -> float | None:
    return None if text.lower() in ("none", "null", "") else float(text)


def _opt_int(text: str) -> int | None:
    return None if text.lower() in ("none", "null", "") else int(text)


def _parser() -> argparse.ArgumentParser:
    d = FaultConfig()
    p = argparse.ArgumentParser(prog="python -m tests.openai_server", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--latency", "--latency-s", dest="latency_s", type=float, default=d.latency_s,
                   help="seconds every chat request waits before it is answered")
    p.add_argument("--p429", type=float, default=d.p429)
    p.add_argument("--retry-after", dest="retry_after", type=_opt_float, default=d.retry_after,
                   help="Retry-After seconds on 429s ('none' omits the header)")
    p.add_argument("--retry-after-ms", dest="retry_after_ms", type=_opt_float, default=d.retry_after_ms,
                   help="also send retry-after-ms on 429s")
    p.add_argument("--p500", type=float, default=d.p500)
    p.add_argument("--p-malformed", dest="p_malformed", type=float, default=d.p_malformed)
    p.add_argument("--p-truncate", dest="p_truncate", type=float, default=d.p_truncate)
    p.add_argument("--p-slow", dest="p_slow", type=float, default=d.p_slow)
    p.add_argument("--slow", "--slow-s", dest="slow_s", type=float, default=d.slow_s,
                   help="extra seconds a 'slow' response waits")
    p.add_argument("--p-disconnect", dest="p_disconnect", type=float, default=d.p_disconnect)
    p.add_argument("--reasoning", choices=REASONING_MODES, default=d.reasoning)
    p.add_argument("--fail-key", dest="fail_keys", action="append", default=[],
                   help="a key that always gets 500 (repeatable)")
    p.add_argument("--hold-after", dest="hold_after", type=_opt_int, default=d.hold_after,
                   help="hold every request after this many successes until released via /_control")
    p.add_argument("--max-choices", dest="max_choices", type=_opt_int, default=d.max_choices,
                   help="answer at most this many choices whatever n asks")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--model", default=d.model)
    return p


async def _serve_forever(host: str, port: int, config: FaultConfig) -> None:
    state = ServerState(config)
    server = await serve(state, host, port)
    bound = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY http://{host}:{bound}/v1", flush=True)
    try:
        await stop.wait()
    finally:
        await _shutdown(server, state)


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    host, port = args.pop("host"), args.pop("port")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="openai_server: %(levelname)s %(message)s")
    try:
        config = FaultConfig().updated(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve_forever(host, port, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
