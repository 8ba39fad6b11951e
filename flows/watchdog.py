"""No orphans: a watchdog that ends what `distill` started when `distill` itself is killed with -9.

Prefect starts a temporary API server (uvicorn, ~200 MB) as a child process and stops
it at exit, which a SIGKILL never reaches: the server then lives on under PID 1. So
the CLI starts this watchdog first, in its own session, holding the read end of a
pipe whose write end only the CLI holds. While the CLI lives, the watchdog records
its descendants every `POLL_S` (pid and start time, read from /proc, so a reused pid
is never hit); when the pipe reports EOF (the CLI is gone, however it died), it
sends SIGTERM to the recorded processes still alive, and SIGKILL after `GRACE_S`.

    python -m flows.watchdog PARENT_PID READ_FD
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.5
GRACE_S = 5.0


def start() -> None:
    """Start the watchdog of this process (Linux only; elsewhere nothing happens)."""
    if not Path("/proc/self/stat").exists():
        return
    read_end, write_end = os.pipe()  # both non-inheritable: no other child keeps the pipe open
    subprocess.Popen([sys.executable, "-m", "flows.watchdog", str(os.getpid()), str(read_end)],
                     pass_fds=(read_end,), start_new_session=True, stdin=subprocess.DEVNULL,
                     cwd=Path(__file__).resolve().parent.parent)
    os.close(read_end)
    _KEEP.append(write_end)  # open until this process ends


_KEEP: list[int] = []


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """{pid: start time} of every live process below `root`."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = st
    found, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        for child, (ppid, started) in parents.items():
            if ppid == pid and child not in found:
                found[child] = started
                frontier.append(child)
    return found


def _alive(pid: int, started: int) -> bool:
    st = _stat(pid)
    return st is not None and st[1] == started


def _end(recorded: dict[int, int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, started in recorded.items():
            if _alive(pid, started):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and any(_alive(p, s) for p, s in recorded.items()):
            time.sleep(0.1)


def main(parent: int, read_end: int) -> None:
    recorded: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([read_end], [], [], POLL_S)
        if ready and not os.read(read_end, 1):  # EOF: the parent is gone
            break
        recorded.update(descendants(parent))
        recorded = {p: s for p, s in recorded.items() if _alive(p, s)}
    recorded.pop(os.getpid(), None)
    _end(recorded)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
