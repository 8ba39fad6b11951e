"""Start-up self-test: pick the strongest isolation level this machine proves.

Levels are tried strongest first (``sandbox.LEVELS``)::

    bwrap+seccomp+cgroup+uid   root, bubblewrap, writable cgroups (v1 or v2), libseccomp
    bwrap+seccomp              bubblewrap with unprivileged user namespaces
    rlimits+session+seccomp    no namespaces, but seccomp filters (unprivileged is fine)
    rlimits+session            anything with a Python 3 (last resort)

For each level a probe program runs through the real pipeline and reports what
it can do (its uid, whether it can create an AF_INET socket, write ``/``, see
the host's files, whether it is in a fresh pid namespace); the facts are
compared OUTSIDE with what the level claims. The first level whose probe
passes is cached for the process and logged once. ``DISTILLERY_CODE_ISOLATION``
(a level name) caps the search: the self-test starts at that level.
"""

from __future__ import annotations

import logging
import os
import threading

from verifiers.code.run import run_one
from verifiers.code.sandbox import LEVEL_BY_NAME, LEVELS, Layers, Limits

log = logging.getLogger(__name__)

PROBE = '''
import os, socket
def facts():
    out = {"uid0": os.getuid() == 0}
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        out["inet"] = True
    except OSError:
        out["inet"] = False
    try:
        open("/.distillery-probe", "w").close()
        os.unlink("/.distillery-probe")
        out["root_writable"] = True
    except OSError:
        out["root_writable"] = False
    out["host_files"] = os.path.exists("/etc") or os.path.exists("/home")
    out["pidns"] = os.getpid() < 10
    return out
'''

_LOCK = threading.Lock()
_CHOSEN: dict[str, Layers] = {}


def expected_facts(layers: Layers) -> dict[str, bool] | None:
    """What the probe must report under `layers` (None for facts a level does not promise)."""
    out: dict[str, bool] = {}
    if layers.seccomp:
        out["inet"] = False
    if layers.bwrap:
        out.update(root_writable=False, host_files=False, pidns=True)
    if layers.uid:
        out["uid0"] = False
    return out


def probe(layers: Layers) -> tuple[bool, str]:
    """Run the probe under `layers`; (ok, why)."""
    exp = expected_facts(layers)
    tests = "\n".join(f"assert facts()[{k!r}] == {v!r}" for k, v in exp.items()) or "assert facts() is not None"
    verdict = run_one(PROBE, tests, layers, Limits(timeout_s=10.0, memory_mb=256))
    if verdict.passed:
        return True, "ok"
    return False, f"{verdict.reason}: {verdict.details.get('error') or verdict.details.get('stderr_tail', '')[-300:]}"


def choose_level(start: str | None = None) -> Layers:
    """The strongest level whose probe passes (cached per process and starting level)."""
    start = start or os.environ.get("DISTILLERY_CODE_ISOLATION") or LEVELS[0].name
    if start not in LEVEL_BY_NAME:
        raise ValueError(f"unknown isolation level {start!r}; known: {[lv.name for lv in LEVELS]}")
    key = f"{os.getpid()}:{start}"
    with _LOCK:
        if key in _CHOSEN:
            return _CHOSEN[key]
        candidates = LEVELS[[lv.name for lv in LEVELS].index(start):]
        why_not = []
        for layers in candidates:
            ok, why = probe(layers)
            if ok:
                if why_not:
                    log.warning("code sandbox: isolation %s (stronger levels failed: %s)", layers.name,
                                "; ".join(why_not))
                else:
                    log.info("code sandbox: isolation %s", layers.name)
                _CHOSEN[key] = layers
                return layers
            why_not.append(f"{layers.name}: {why}")
        raise RuntimeError("code sandbox: no isolation level works: " + "; ".join(why_not))


def reset() -> None:
    with _LOCK:
        _CHOSEN.clear()
