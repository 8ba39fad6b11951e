"""Killable worker processes that run the checks.

Timeout design
--------------
sympy can hang or eat memory, ``signal.alarm`` only works in the main thread
(this code runs in threads under Prefect) and the caller is multi-threaded, so
every check runs in a worker process from ``multiprocessing.get_context("spawn")``
(never "fork"). A lazy module-level pool keeps workers alive across calls and
is shut down at interpreter exit. ``verify_batch`` checks out up to ``workers``
idle workers (other threads can use the rest), sends one check at a time to
each worker that has announced it is ready (so process start-up never counts
against a check; an idle worker takes an item with the reference it checked last when one is
near the head of the queue, since it has that reference's parse cached), and waits on the pipes
with ``multiprocessing.connection.wait``
until the earliest deadline. A worker that misses its deadline is terminated
(then killed), replaced by a fresh one, and only that item gets a ``timeout``
verdict. A worker that dies mid-check (OOM killer, external kill) is replaced
the same way; its item gets reason ``timeout`` with ``match_method`` "crashed"
(it is not retried: a crash is usually resource exhaustion). Workers cap their
address space at 4 GiB where the platform allows it, and exit when the parent
goes away (their pipe reaches EOF). ``MathVerifier.verify`` uses the same path.
Note the usual spawn caveat: a script that creates a verifier at import time
must guard its entry point with ``if __name__ == "__main__":``.

The worker entry point lives here, in an importable module, because spawned
children import it by name.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from multiprocessing.connection import wait as _mp_wait

from verifiers.base import Verdict
from verifiers.math.check import safe_check, timeout_verdict
from verifiers.math.library import warm_up as _warm_up_library
from verifiers.per_process import PerProcess

WORKER_MEMORY_BYTES = 4 << 30
WORKER_START_TIMEOUT_S = 120.0
MAX_START_FAILURES = 3
AFFINITY_WINDOW = 64  # how far past the head of the queue a worker looks for its own reference


# -- the child side -----------------------------------------------------------

def _worker_main(conn) -> None:  # pragma: no cover - runs in the child
    _ignore_sigint()
    _cap_memory()
    safe_check("\\boxed{2\\sqrt{2}}", "\\sqrt{8}")  # warm up sympy and the parser before the first real check
    safe_check("Therefore $x \\geq 5$ is the solution.", "$x >= 5$")  # ... and the math-verify path
    _warm_up_library()  # ... and its parser's prediction cache, on generic answer forms
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if msg is None:
            return
        job, response, reference, options = msg
        verdict = safe_check(response, reference, *options)
        try:
            conn.send(("result", job, verdict))
        except (OSError, ValueError):
            return


def _ignore_sigint() -> None:  # pragma: no cover - runs in the child
    """Ctrl-C reaches the whole process group; the parent decides what happens to workers."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass


def _cap_memory() -> None:  # pragma: no cover - runs in the child
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY_BYTES, hard)
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except Exception:  # noqa: BLE001 - not available everywhere
        pass


# -- the parent side ----------------------------------------------------------

class _Worker:
    def __init__(self, ctx):
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), name="math-verifier", daemon=False)
        self.proc.start()
        child.close()
        self.conn = parent
        self.ready = False
        self.job: int | None = None  # index of the item being checked; None when idle
        self.reference: str | None = None  # the reference of its last item (its parse is cached there)
        self.started = 0.0
        self.deadline = 0.0

    def kill(self) -> None:
        try:
            self.proc.terminate()
            self.proc.join(0.5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(2.0)
        except Exception:  # noqa: BLE001
            pass
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except Exception:  # noqa: BLE001
            pass


class _Pool:
    """Workers shared by all threads; each batch checks out the workers it uses."""

    def __init__(self) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.cond = threading.Condition()
        self.idle: list[_Worker] = []
        self.all: set[_Worker] = set()
        self.closed = False

    def checkout(self, n: int) -> list[_Worker]:
        """Up to n idle workers (at least one; waits for it), starting workers up to n in all."""
        with self.cond:
            if self.closed:
                raise RuntimeError("math verifier pool is shut down")
            while len(self.all) < n:
                w = _Worker(self.ctx)
                self.all.add(w)
                self.idle.append(w)
            while not self.idle:
                self.cond.wait()
            take = self.idle[:n]
            del self.idle[:n]
            return take

    def checkin(self, ws: list[_Worker]) -> None:
        with self.cond:
            self.idle += [w for w in ws if w in self.all]
            self.cond.notify_all()

    def replace(self, w: _Worker) -> _Worker:
        w.kill()
        new = _Worker(self.ctx)
        with self.cond:
            self.all.discard(w)
            self.all.add(new)
        return new

    def pids(self) -> list[int]:
        with self.cond:
            return sorted(w.proc.pid for w in self.all)

    def busy_pids(self) -> list[int]:
        with self.cond:
            return sorted(w.proc.pid for w in self.all if w.job is not None)

    def shutdown(self) -> None:
        with self.cond:
            self.closed = True
            workers = list(self.all)
            self.all.clear()
            self.idle.clear()
        for w in workers:
            w.stop()
        deadline = time.monotonic() + 2.0
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            w.kill()


_WORKER_POOL: PerProcess[_Pool] = PerProcess(_Pool)


def get_pool() -> _Pool:
    """The process-wide pool; a fresh one after a fork or a shutdown."""
    return _WORKER_POOL.get()


def run_batch(
    pairs: list[tuple[str, str]], timeout_s: float, workers: int | None, options: tuple[bool, bool] = (False, True)
) -> list[Verdict]:
    """Verdicts in input order; `options` is (decimal_approx, decimal_comma), see `library`."""
    if not pairs:
        return []
    want = max(1, min(workers or _default_workers(), len(pairs)))
    return _Batch(get_pool(), pairs, timeout_s, want, options).run()


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class _Batch:
    """One run_batch call: feeds its items to its checked-out workers, one item per
    worker at a time, and replaces any worker that times out or dies."""

    def __init__(self, pool: _Pool, pairs: list[tuple[str, str]], timeout_s: float, workers: int,
                 options: tuple[bool, bool] = (False, True)):
        self.pool = pool
        self.pairs = pairs
        self.options = options
        self.timeout_s = timeout_s
        self.results: dict[int, Verdict] = {}
        self.queue = deque(range(len(pairs)))
        self.start_failures = 0
        self.ws = pool.checkout(workers)

    def run(self) -> list[Verdict]:
        try:
            while self.queue or self.busy():
                now = time.monotonic()
                self._dispatch(now)
                self._receive(now)
                self._expire()
        except BaseException:
            for w in self.busy():  # we do not know what they are doing: replace them
                self._replace(w)
            raise
        finally:
            self.pool.checkin(self.ws)
        return [self.results[i] for i in range(len(self.pairs))]

    def busy(self) -> list[_Worker]:
        return [w for w in self.ws if w.job is not None]

    def _dispatch(self, now: float) -> None:
        """Give the next item to every ready, idle worker."""
        for i, w in enumerate(self.ws):
            if not self.queue:
                return
            if not w.ready or w.job is not None:
                continue
            if not w.proc.is_alive():
                self.ws[i] = self.pool.replace(w)  # died while idle (OOM killer, ...): not this item's fault
                continue
            idx = self._next_item(w)
            try:
                w.conn.send((idx, *self.pairs[idx], self.options))
            except (OSError, ValueError):
                self.queue.appendleft(idx)
                continue  # the dead worker is noticed by _receive
            w.job, w.started, w.deadline = idx, now, now + self.timeout_s
            w.reference = self.pairs[idx][1]

    def _next_item(self, w: _Worker) -> int:
        """Reference affinity: a worker parses a reference once and caches it, so it takes the next
        item with its last reference if one is near the head of the queue, else the next item whose
        reference no busy worker is on, else the head (nothing waits for a worker)."""
        busy_refs = {x.reference for x in self.ws if x is not w and x.job is not None}
        fallback = None
        for k, idx in enumerate(itertools.islice(self.queue, AFFINITY_WINDOW)):
            ref = self.pairs[idx][1]
            if ref == w.reference:
                del self.queue[k]
                return idx
            if fallback is None and ref not in busy_refs:
                fallback = k
        if fallback is not None:
            idx = self.queue[fallback]
            del self.queue[fallback]
            return idx
        return self.queue.popleft()

    def _receive(self, now: float) -> None:
        """Wait for a message or a death (at most until the earliest deadline), then handle it."""
        owner = {h: w for w in self.ws for h in (w.conn, w.proc.sentinel)}
        busy = self.busy()
        wait_s = max(0.0, min(w.deadline for w in busy) - now) if busy else WORKER_START_TIMEOUT_S
        fired = _mp_wait(list(owner), timeout=wait_s)
        if not fired and not busy:
            raise RuntimeError("math verifier workers did not start")
        for w in dict.fromkeys(owner[h] for h in fired):
            self._drain(w)

    def _drain(self, w: _Worker) -> None:
        dead = False
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "ready":
                    w.ready = True
                elif msg[0] == "result" and msg[1] == w.job:
                    self._finish(w, msg[2])
        except (EOFError, OSError):
            dead = True
        if dead or not w.proc.is_alive():
            self._died(w)

    def _died(self, w: _Worker) -> None:
        if w.job is not None:
            error = f"worker exited with code {w.proc.exitcode}"
            self._finish(w, timeout_verdict(time.monotonic() - w.started, self.timeout_s, "crashed", error))
        elif not w.ready:
            self.start_failures += 1
            if self.start_failures > MAX_START_FAILURES:
                raise RuntimeError(
                    "math verifier workers keep dying at start-up; a script that "
                    "verifies at import time must guard its entry point with "
                    "`if __name__ == '__main__':` (workers are spawned, not forked)")
        self._replace(w)

    def _expire(self) -> None:
        now = time.monotonic()
        for w in self.busy():
            if now >= w.deadline:
                self._finish(w, timeout_verdict(now - w.started, self.timeout_s))
                self._replace(w)

    def _finish(self, w: _Worker, verdict: Verdict) -> None:
        self.results[w.job] = verdict
        w.job = None

    def _replace(self, w: _Worker) -> None:
        self.ws[self.ws.index(w)] = self.pool.replace(w)
