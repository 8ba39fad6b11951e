"""Per-run spending caps (requests, tokens, money) and the per-model price table.

A request reserves its worst case before it is sent: one request, its estimated
prompt tokens plus `max_tokens` completion tokens per sample, and what those
would cost. If the reservation would cross a cap the request is not sent and the
budget records why (`stopped`); requests already in flight finish. When the
response arrives the reservation is settled with the usage the API reported, so
the caps are never exceeded by what was paid, only approached. A request that
fails without an answer (429, 5xx, connection error) releases its reservation.
Timeouts release too: the provider may still bill one, which the caps cannot see.

Prices are US dollars per million tokens, per model name, from the recipe:

    prices:
      deepseek-reasoner: {input_per_mtok: 0.55, output_per_mtok: 2.19}
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        for name in ("input_per_mtok", "output_per_mtok"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"{name} must be a non-negative number of dollars per million tokens, got {value!r}")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6


def parse_prices(raw: Any) -> dict[str, Price]:
    """`{model: {input_per_mtok, output_per_mtok}}` -> prices; raises ValueError naming the bad entry."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("`prices` must map a model name to {input_per_mtok, output_per_mtok}")
    prices = {}
    for model, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != {"input_per_mtok", "output_per_mtok"}:
            raise ValueError(f"price for {model!r} needs exactly input_per_mtok and output_per_mtok, got {entry!r}")
        try:
            prices[str(model)] = Price(**entry)
        except ValueError as exc:
            raise ValueError(f"price for {model!r}: {exc}") from None
    return prices


@dataclass(frozen=True)
class BudgetConfig:
    max_requests: int | None = field(default=None, metadata={"help": "answered requests per run"})
    max_tokens: int | None = field(default=None, metadata={"help": "prompt + completion tokens per run"})
    max_cost_usd: float | None = field(default=None, metadata={"help": "dollars per run (needs `prices`)"})

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_tokens", "max_cost_usd"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"budget {name} must be a positive number or null")


@dataclass
class Reservation:
    model: str
    requests: int
    tokens: int
    cost: float


@dataclass
class Budget:
    """Thread-safe running totals against the caps of one run."""

    config: BudgetConfig = field(default_factory=BudgetConfig)
    prices: dict[str, Price] = field(default_factory=dict)
    requests: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    stopped: str | None = None  # why no more requests are sent
    _held: list[float] = field(default_factory=lambda: [0, 0, 0.0])  # reserved requests, tokens, cost
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.prices.get(model)
        return price.cost(prompt_tokens, completion_tokens) if price else 0.0

    def reserve(self, model: str, requests: int, prompt_tokens: int, completion_tokens: int) -> Reservation | None:
        """Hold the worst case of the next send; None (and `stopped` set) when it would cross a cap."""
        tokens = prompt_tokens + completion_tokens
        r = Reservation(model, requests, tokens, self.cost(model, prompt_tokens, completion_tokens))
        cfg = self.config
        with self._lock:
            if self.stopped:
                return None
            held_req, held_tok, held_cost = self._held
            for cap, used, name, fmt in ((cfg.max_requests, self.requests + held_req + requests, "max_requests", "{}"),
                                         (cfg.max_tokens, self.tokens + held_tok + tokens, "max_tokens", "{}"),
                                         (cfg.max_cost_usd, self.cost_usd + held_cost + r.cost, "max_cost_usd",
                                          "${:.4f}")):
                if cap is not None and used > cap:
                    self.stopped = (f"budget {name} = {fmt.format(cap)} reached: {self.requests} requests, "
                                    f"{self.tokens} tokens, ${self.cost_usd:.4f} spent")
                    return None
            self._held = [held_req + requests, held_tok + tokens, held_cost + r.cost]
        return r

    def settle(self, r: Reservation, prompt_tokens: int, completion_tokens: int) -> float:
        """Replace a reservation by what was used; return its cost."""
        cost = self.cost(r.model, prompt_tokens, completion_tokens)
        with self._lock:
            self._unhold(r)
            self.requests += r.requests
            self.tokens += prompt_tokens + completion_tokens
            self.cost_usd += cost
        return cost

    def release(self, r: Reservation) -> None:
        with self._lock:
            self._unhold(r)

    def _unhold(self, r: Reservation) -> None:
        self._held = [self._held[0] - r.requests, self._held[1] - r.tokens, self._held[2] - r.cost]

    def spent(self) -> dict:
        return {"requests": self.requests, "tokens": self.tokens, "cost_usd": round(self.cost_usd, 6),
                "stopped": self.stopped}
