"""One writer per warehouse and recipe: a lease taken before any request is planned.

Two runs of one recipe on one warehouse would plan the same missing generations and
pay for each twice. A lease is an exclusive `flock` on
`<warehouse>.leases/<recipe>.lock`, whose content names the holder (pid, host, start
time, run id). A second run refuses at once with one line naming the holder (or
waits `wait_s` for it). The kernel drops the lock when its holder dies, even by
kill -9, so a stale lease is simply taken over; the file still names the dead
holder, which the new holder reports and records. Runs of different recipes take
different leases (DuckDB's own lock serialises their writes). `distill run` and `distill generate`
take the lease before Prefect starts, so a refusal costs nothing; the flow takes it again (a no-op in the
same process, the real lease for a deployment run).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.db import Warehouse
from warehouse.ids import now


class LeaseHeld(RuntimeError):
    pass


_HELD: set[str] = set()  # the leases this process holds: taking one again is a no-op, not a conflict


def lease_path(wh: Warehouse, name: str) -> Path:
    return Path(f"{wh.path}.leases") / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock"


@contextmanager
def lease(wh: Warehouse, name: str, run_id: str = "", wait_s: float = 0.0) -> Iterator[dict | None]:
    """Hold the lease of `name` on `wh` for the body; yield the dead holder it took over, if any."""
    path = lease_path(wh, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    if key in _HELD:  # this process holds it already (the CLI takes it before Prefect starts the flow)
        yield None
        return
    with path.open("a+", encoding="utf-8") as f:
        _acquire(f, wh, name, wait_s)
        f.seek(0)
        previous = _holder(f.read())
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started_at": str(now()),
                            "run_id": run_id}))
        f.flush()
        _HELD.add(key)
        try:
            yield previous
        finally:
            _HELD.discard(key)
            f.truncate(0)  # released cleanly: nothing to take over


def _acquire(f, wh: Warehouse, name: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                f.seek(0)
                h = _holder(f.read()) or {}
                raise LeaseHeld(f"recipe {name!r} is already running on {wh.path}: pid {h.get('pid', '?')} on "
                                f"{h.get('host', '?')}, started {h.get('started_at', '?')} UTC; wait for it to "
                                f"finish or stop it (a second run would ask the teacher for the same answers)"
                                ) from None
            time.sleep(0.2)


def _holder(text: str) -> dict | None:
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None
