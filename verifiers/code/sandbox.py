"""Run one candidate program plus its test plan in a sandbox; collect raw facts.

This module launches and kills; it decides nothing (``run.py`` turns a
``RunResult`` into an outcome).

Launch chain (no ``preexec_fn``: the caller may be a Prefect thread)
-------------------------------------------------------------------
Every layer is a plain command or a ``subprocess`` option implemented in C:

1. ``/bin/sh -c 'echo $$ > <memory cg>/cgroup.procs; echo $$ > <pids cg>/cgroup.procs; exec "$@"'``
   -- joins the slot's own cgroups (layer ``cgroup``), then execs the rest.
2. ``setpriv --reuid U --regid U --clear-groups --inh-caps=-all --no-new-privs``
   -- drops to the slot's own uid (layer ``uid``).
3. ``bwrap --unshare-all --die-with-parent --new-session --as-pid-1 ...`` (layer
   ``bwrap``): new user, pid, net, ipc, uts and cgroup namespaces (no network at
   all, only loopback), the harness as pid 1 of the new pid namespace (no bwrap
   init between them: see Killing; as pid 1 the harness ignores signals it has
   no handler for when they come from inside its namespace, so a candidate
   cannot kill it with ``os.kill``, while the host's SIGKILL always works, and
   a candidate's orphaned children stay zombies, counted by the pids cgroup,
   until the run ends), a read-only root that holds only ``/usr`` (plus the ``/bin``,
   ``/lib*`` symlinks), ``/proc`` of the new pid namespace, four device nodes,
   the harness (read-only) and a writable scratch ``/tmp``.
4. ``/usr/bin/python3.11 -I -S /sandbox/harness.pyc 3`` -- the system
   interpreter, by absolute path (no pyenv shim: ~200 ms), isolated mode, no
   site-packages: candidate code gets the standard library only. The harness
   sets rlimits (layer ``rlimits``) before running candidate code. The seccomp
   filter (layer ``seccomp``, see ``seccomp.py``) is loaded by ``bwrap
   --seccomp FD`` right before the interpreter starts; without bwrap the
   harness loads it itself (ctypes ``prctl``).
``start_new_session=True`` (layer ``session``) puts the chain in its own
session and process group.

Slots
-----
Concurrent runs collide if they share a uid (RLIMIT_NPROC counts per uid) or a
cgroup (pids.max, memory). A process-wide ``SlotPool`` hands each concurrent
run its own slot: a uid leased with ``flock`` on ``/run/distillery-code/uids``
(so two verifier processes never share one), a memory + pids cgroup nested
under this process's own cgroup, and a scratch directory. With root the
scratch is a tmpfs mounted on the host per run (``size`` and ``nr_inodes``
capped: a 100 MB file or 1000-deep directories run out of space), otherwise a
bwrap ``--size`` tmpfs or a plain temp directory.

Killing
-------
When the main process exits, the deadline passes or the output cap is hit,
everything in the slot is killed, bottom-up, so that every process is reaped by
its own parent and none is left as a zombie of the slot's uid (zombies hold
the slot's pids, 64 of them): first everything below the launch chain's top
process (the harness is pid 1 of its namespace, so the kernel kills and reaps
the rest with it), then, if bwrap has not exited within a second, bwrap
itself, then the process group and every pid left in the slot's cgroup
(repeated until empty, so fork races lose). Our own ``wait4`` reaps bwrap.
(bwrap's own init is not used: its monitor exits without reaping it, which
left one zombie per run for the host's pid 1 to reap.) Pipes are read with ``selectors`` and a
pidfd, never with a blocking read: a leftover child holding stdout open cannot
stall the verifier, and leftover data is drained non-blocking after the kill.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import marshal
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from verifiers.per_process import PerProcess

HARNESS_SRC = Path(__file__).with_name("harness.py")
UID_BASE = 1_900_000_000
UID_COUNT = 1024
UID_LOCK_DIR = Path("/run/distillery-code/uids")
PIDS_MAX = 64
NOFILE = 64
SCRATCH_BYTES = 16 << 20
SCRATCH_INODES = 512
AS_OVERHEAD = 192 << 20  # virtual memory of the interpreter itself, on top of memory_mb
CG_OVERHEAD = 48 << 20  # resident overhead of sh/bwrap/interpreter, on top of memory_mb
RESULT_CAP = 16 << 20
TAIL = 2048
STARTUP_GRACE_S = 1.0  # added to timeout_s for the wall deadline (interpreter start-up)
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp"}


@dataclass(frozen=True)
class Layers:
    rlimits: bool = True
    session: bool = True
    cgroup: bool = False
    uid: bool = False
    bwrap: bool = False
    seccomp: bool = False

    @property
    def name(self) -> str:
        if self.bwrap:
            parts = ["bwrap"] + (["seccomp"] if self.seccomp else []) + (["cgroup"] if self.cgroup else []) \
                + (["uid"] if self.uid else [])
        else:
            parts = (["rlimits"] if self.rlimits else []) + (["session"] if self.session else []) \
                + (["seccomp"] if self.seccomp else []) + (["cgroup"] if self.cgroup else []) \
                + (["uid"] if self.uid else [])
        return "+".join(parts) or "subprocess"


# Strongest first; the self-test picks the first whose probe proves every layer.
LEVELS: list[Layers] = [
    Layers(cgroup=True, uid=True, bwrap=True, seccomp=True),
    Layers(bwrap=True, seccomp=True),
    Layers(seccomp=True),
    Layers(),
]
LEVEL_BY_NAME = {lv.name: lv for lv in LEVELS}


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 5.0
    memory_mb: int = 512
    output_limit_bytes: int = 1 << 20


@dataclass
class RunResult:
    launched: bool = False
    error: str | None = None  # infrastructure error (launch failed, ...)
    exit_code: int | None = None  # normalised: negative = killed by that signal
    timed_out: bool = False
    output_exceeded: bool = False
    oom_killed: bool = False
    records: list[Any] = field(default_factory=list)  # parsed JSON lines from the result channel
    bad_lines: int = 0
    stdout_tail: str = ""
    stderr_tail: str = ""
    output_bytes: int = 0
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    uid: int | None = None


# -- interpreter and host paths ------------------------------------------------

def find_interpreter() -> str:
    """The system python3 (a world-readable, stdlib-only interpreter); else this one's base interpreter."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(cand):
            return os.path.realpath(cand)
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _which(name: str) -> str | None:
    for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


_libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MS_NOEXEC, MNT_DETACH = 2, 4, 8, 2


def _mount_tmpfs(path: str, opts: str) -> None:
    if _libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.encode()) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount tmpfs on {path}: {os.strerror(e)}")


def _umount(path: str) -> None:
    _libc.umount2(path.encode(), MNT_DETACH)


# -- cgroups --------------------------------------------------------------------

class Cgroups:
    """This process's cgroup layout: v1 (memory + pids hierarchies) or v2 (unified)."""

    def __init__(self) -> None:
        self.version = 0
        self.memory_parent: Path | None = None
        self.pids_parent: Path | None = None
        self.cpu_parent: Path | None = None  # cpuacct (v1) for CPU accounting; v2: the same cgroup
        root = Path("/sys/fs/cgroup")
        own = {}
        try:
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, ctrls, path = line.split(":", 2)
                for c in ctrls.split(","):
                    own[c] = path
        except OSError:
            return
        tag = f"distillery-code-{os.getpid()}"
        if (root / "cgroup.controllers").exists():
            self.version = 2
            self.memory_parent = self.pids_parent = root / tag  # the root is exempt from "no internal processes"
            self.cpu_parent = self.memory_parent
        elif (root / "memory").is_dir() and (root / "pids").is_dir():
            self.version = 1
            self.memory_parent = root / "memory" / own.get("memory", "/").lstrip("/") / tag
            self.pids_parent = root / "pids" / own.get("pids", "/").lstrip("/") / tag
            if (root / "cpuacct" / "cpuacct.usage").exists():
                self.cpu_parent = root / "cpuacct" / own.get("cpuacct", "/").lstrip("/") / tag

    def setup_parent(self) -> None:
        for p in {self.memory_parent, self.pids_parent, self.cpu_parent} - {None}:
            p.mkdir(exist_ok=True)
        if self.version == 2:
            for p in (self.memory_parent.parent, self.memory_parent):
                (p / "cgroup.subtree_control").write_text("+memory +pids")

    def slot_dirs(self, index: int) -> tuple[Path, Path, Path | None]:
        m, p = self.memory_parent / f"slot-{index}", self.pids_parent / f"slot-{index}"
        c = self.cpu_parent / f"slot-{index}" if self.cpu_parent else None
        for d in {m, p, c} - {None}:
            d.mkdir(exist_ok=True)
        return m, p, c

    def cleanup(self) -> None:
        for parent in {self.memory_parent, self.pids_parent, self.cpu_parent}:
            if parent is None or not parent.exists():
                continue
            for d in parent.glob("slot-*"):
                try:
                    d.rmdir()
                except OSError:
                    pass
            try:
                parent.rmdir()
            except OSError:
                pass


# -- slots --------------------------------------------------------------------

class Slot:
    def __init__(self, index: int, base: Path):
        self.index = index
        self.dir = base / f"slot-{index}"
        self.dir.mkdir(mode=0o755, exist_ok=True)
        self.uid: int | None = None
        self._uid_lock: int | None = None
        self.cg_memory: Path | None = None
        self.cg_pids: Path | None = None
        self.cg_cpu: Path | None = None
        self.mounted = False
        self.cg_ready = False
        self.cg_applied: int | None = None

    # uid -------------------------------------------------------------------
    def lease_uid(self) -> int:
        if self.uid is not None:
            return self.uid
        UID_LOCK_DIR.mkdir(parents=True, exist_ok=True)
        for n in range(UID_COUNT):
            fd = os.open(UID_LOCK_DIR / f"{UID_BASE + n}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._uid_lock = UID_BASE + n, fd
            return self.uid
        raise RuntimeError("no free sandbox uid")

    # cgroups -----------------------------------------------------------------
    def ensure_cgroups(self, cg: Cgroups, limits: Limits) -> None:
        if not self.cg_ready:
            cg.setup_parent()
            self.cg_memory, self.cg_pids, self.cg_cpu = cg.slot_dirs(self.index)
            self.cg_ready = True
        mem = limits.memory_mb * (1 << 20) + CG_OVERHEAD
        if self.cg_applied == mem:
            return
        (self.cg_pids / "pids.max").write_text(str(PIDS_MAX))
        if cg.version == 1:
            # memory.memsw.limit_in_bytes must stay >= memory.limit_in_bytes: order the writes
            lim, sw = self.cg_memory / "memory.limit_in_bytes", self.cg_memory / "memory.memsw.limit_in_bytes"
            files = [f for f in (lim, sw) if f.exists()]
            current = int(lim.read_text())
            for f in (files if mem <= current else files[::-1]):
                f.write_text(str(mem))
        else:
            (self.cg_memory / "memory.max").write_text(str(mem))
            sw = self.cg_memory / "memory.swap.max"
            if sw.exists():
                sw.write_text("0")
        self.cg_applied = mem

    def oom_kills(self, cg: Cgroups) -> int:
        if not self.cg_ready:
            return 0
        try:
            name = "memory.oom_control" if cg.version == 1 else "memory.events"
            for line in (self.cg_memory / name).read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == "oom_kill":
                    return int(v)
        except (OSError, ValueError):
            pass
        return 0

    def cpu_ns(self, cg: Cgroups) -> int | None:
        """CPU time used by everything that ever ran in the slot (ns), or None."""
        if self.cg_cpu is None:
            return None
        try:
            if cg.version == 1:
                return int((self.cg_cpu / "cpuacct.usage").read_text())
            for line in (self.cg_cpu / "cpu.stat").read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == "usage_usec":
                    return int(v) * 1000
        except (OSError, ValueError):
            pass
        return None

    def procs(self) -> list[int]:
        out: set[int] = set()
        for d in {self.cg_memory, self.cg_pids, self.cg_cpu}:
            if d is None:
                continue
            try:
                out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(out)

    def kill_all(self, cg: Cgroups) -> None:
        if not self.cg_ready:
            return
        if cg.version == 2 and (self.cg_pids / "cgroup.kill").exists():
            try:
                (self.cg_pids / "cgroup.kill").write_text("1")
            except OSError:
                pass
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            pids = self.procs()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.002)

    # scratch -----------------------------------------------------------------
    def fresh_scratch(self, layers: Layers) -> tuple[str | None, bool]:
        """(host path of a clean scratch dir or None for a bwrap-internal tmpfs, mounted?)"""
        scratch = self.dir / "scratch"
        if layers.uid:  # root: a per-run tmpfs with size and inode caps
            scratch.mkdir(mode=0o755, exist_ok=True)
            if self.mounted:
                _umount(str(scratch))
                self.mounted = False
            uid = self.uid
            _mount_tmpfs(str(scratch), f"size={SCRATCH_BYTES},nr_inodes={SCRATCH_INODES},mode=0700,uid={uid},gid={uid}")
            self.mounted = True
            return str(scratch), True
        if layers.bwrap:
            return None, False
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        return str(scratch), False

    def release_scratch(self) -> None:
        scratch = self.dir / "scratch"
        if self.mounted:
            _umount(str(scratch))
            self.mounted = False
        elif scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)

    def close(self, cg: Cgroups) -> None:
        self.kill_all(cg)
        self.release_scratch()
        for d in (self.cg_memory, self.cg_pids, self.cg_cpu):
            if d is not None:
                try:
                    d.rmdir()
                except OSError:
                    pass
        if self._uid_lock is not None:
            os.close(self._uid_lock)
            self._uid_lock = None
        shutil.rmtree(self.dir, ignore_errors=True)


class SlotPool:
    """Process-wide slots; each concurrent run holds one for its whole duration."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.base = Path(tempfile.gettempdir()) / f"distillery-code-{os.getpid()}"
        self._reap_stale()
        self.base.mkdir(mode=0o755, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.harness = self._install_harness()
        self.cg = Cgroups()
        self.cond = threading.Condition()
        self.idle: list[Slot] = []
        self.all: list[Slot] = []
        self.closed = False

    def _install_harness(self) -> Path:
        """Copy the harness next to the slots and byte-compile it with the sandbox's interpreter
        (a script run as __main__ is never cached: compiling it costs ~3 ms per run)."""
        src = self.base / "harness.py"
        tmp = self.base / "harness.py.tmp"
        tmp.write_text(HARNESS_SRC.read_text())
        os.chmod(tmp, 0o644)
        os.replace(tmp, src)
        pyc = self.base / "harness.pyc"
        try:
            subprocess.run([TOOLS.python, "-I", "-S", "-c",
                            "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)",
                            str(src), str(pyc)], check=True, capture_output=True, timeout=60, env=SANDBOX_ENV)
            os.chmod(pyc, 0o644)
            return pyc
        except (OSError, subprocess.SubprocessError):
            return src  # runs uncompiled; slower but correct

    def _reap_stale(self) -> None:
        """Remove the scratch trees and cgroups of verifier processes that died without cleaning up."""
        for d in Path(tempfile.gettempdir()).glob("distillery-code-*"):
            try:
                pid = int(d.name.rsplit("-", 1)[1])
            except ValueError:
                continue
            if pid == os.getpid() or Path(f"/proc/{pid}").exists():
                continue
            for s in d.glob("slot-*/scratch"):
                _umount(str(s))
            shutil.rmtree(d, ignore_errors=True)

    def acquire(self) -> Slot:
        with self.cond:
            if self.closed:
                raise RuntimeError("code sandbox pool is shut down")
            if self.idle:
                return self.idle.pop()
            slot = Slot(len(self.all), self.base)
            self.all.append(slot)
            return slot

    def release(self, slot: Slot) -> None:
        with self.cond:
            self.idle.append(slot)
            self.cond.notify_all()

    def shutdown(self) -> None:
        with self.cond:
            self.closed = True
            slots, self.all, self.idle = list(self.all), [], []
        for s in slots:
            try:
                s.close(self.cg)
            except Exception:  # noqa: BLE001
                pass
        self.cg.cleanup()
        shutil.rmtree(self.base, ignore_errors=True)


_SLOT_POOL: PerProcess[SlotPool] = PerProcess(SlotPool)


def get_pool() -> SlotPool:
    """The process-wide slot pool; a fresh one after a fork or a shutdown."""
    return _SLOT_POOL.get()


# -- one run ------------------------------------------------------------------

@dataclass
class Tools:
    """Absolute paths of the commands in the launch chain (tests replace them to break the sandbox)."""

    sh: str | None = field(default_factory=lambda: _which("sh"))
    setpriv: str | None = field(default_factory=lambda: _which("setpriv"))
    bwrap: str | None = field(default_factory=lambda: _which("bwrap"))
    python: str = field(default_factory=find_interpreter)


TOOLS = Tools()


def _bwrap_args(tools: Tools, scratch: str | None, harness: str, seccomp_fd: int | None) -> list[str]:
    # --as-pid-1: the harness itself is pid 1 of the new pid namespace, with no bwrap "init" above it.
    # With that init, the outer bwrap exits as soon as the harness does (it is told through an eventfd)
    # without reaping the init, which is then reparented to the host's pid 1 and stays a zombie of the
    # slot's uid until that reaps it: 64 such zombies fill the slot's pids cgroup ("bwrap: Can't fork").
    a = [tools.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "sandbox",
         "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = "/" + name
        if os.path.islink(p):
            a += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            a += ["--ro-bind", p, p]
    py_prefix = os.path.dirname(os.path.dirname(tools.python))
    if not tools.python.startswith("/usr/"):
        a += ["--ro-bind", py_prefix, py_prefix]
    a += ["--proc", "/proc", "--dir", "/dev"]
    for dev in ("null", "zero", "urandom", "random"):
        a += ["--dev-bind", f"/dev/{dev}", f"/dev/{dev}"]
    if scratch is None:
        a += ["--size", str(SCRATCH_BYTES), "--perms", "0700", "--tmpfs", "/tmp"]
    else:
        a += ["--bind", scratch, "/tmp"]
    a += ["--ro-bind", harness, "/sandbox/" + os.path.basename(harness), "--chdir", "/tmp", "--clearenv"]
    for k, v in SANDBOX_ENV.items():
        a += ["--setenv", k, v]
    if seccomp_fd is not None:
        a += ["--seccomp", str(seccomp_fd)]  # loaded by bwrap right before it execs the interpreter
    a += ["--remount-ro", "/"]
    return a


def build_command(layers: Layers, tools: Tools, slot: Slot, scratch: str | None, harness: str,
                  result_fd: int, seccomp_fd: int | None = None) -> list[str]:
    py = [tools.python, "-I", "-S"]
    if layers.bwrap:
        cmd = _bwrap_args(tools, scratch, harness, seccomp_fd) + py + ["/sandbox/" + os.path.basename(harness),
                                                                        str(result_fd)]
    else:
        cmd = py + [harness, str(result_fd)]
    if layers.uid:
        u = str(slot.uid)
        cmd = [tools.setpriv, "--reuid", u, "--regid", u, "--clear-groups", "--inh-caps=-all",
               "--no-new-privs"] + cmd
    if layers.cgroup:
        dirs = [d for d in dict.fromkeys([slot.cg_memory, slot.cg_pids, slot.cg_cpu]) if d is not None]
        join = " && ".join(f"echo $$ > {d}/cgroup.procs" for d in dirs)
        cmd = [tools.sh, "-c", join + ' && exec "$@"', "sh"] + cmd
    return cmd


def _limits_for(layers: Layers, limits: Limits) -> dict[str, int]:
    if not layers.rlimits:
        return {}
    return {
        "as": limits.memory_mb * (1 << 20) + AS_OVERHEAD,
        "cpu": int(math.ceil(limits.timeout_s)) + 1,
        "fsize": SCRATCH_BYTES,
        "nofile": NOFILE,
        "nproc": PIDS_MAX,
        "core": 0,
    }


def _normalise_exit(status: int, bwrapped: bool) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    if bwrapped and code > 128 and code - 128 < 65:
        return -(code - 128)  # bwrap reports a child killed by signal N as 128+N
    return code


class _Tail:
    def __init__(self, cap: int = TAIL):
        self.cap = cap
        self.buf = bytearray()

    def add(self, data: bytes) -> None:
        self.buf += data[-self.cap:]
        if len(self.buf) > self.cap:
            del self.buf[: len(self.buf) - self.cap]

    def text(self) -> str:
        return self.buf.decode("utf-8", "replace")


def run(payload: dict[str, Any], layers: Layers, limits: Limits, tools: Tools | None = None,
        seccomp_bpf: bytes | None = None) -> RunResult:
    """Run the harness with `payload` in one slot of the process-wide pool."""
    tools = tools or TOOLS
    pool = get_pool()
    slot = pool.acquire()
    try:
        return _run_in_slot(pool, slot, payload, layers, limits, tools, seccomp_bpf)
    finally:
        pool.release(slot)


def _run_in_slot(pool: SlotPool, slot: Slot, payload: dict[str, Any], layers: Layers, limits: Limits,
                 tools: Tools, seccomp_bpf: bytes | None) -> RunResult:
    res = RunResult()
    t0 = time.monotonic()
    try:
        if layers.uid:
            slot.lease_uid()
            res.uid = slot.uid
        if layers.cgroup:
            slot.ensure_cgroups(pool.cg, limits)
        scratch, _ = slot.fresh_scratch(layers)
    except Exception as e:  # noqa: BLE001
        res.error = f"slot set-up failed: {type(e).__name__}: {e}"
        return res
    oom_before = slot.oom_kills(pool.cg) if layers.cgroup else 0
    cpu_before = slot.cpu_ns(pool.cg) if layers.cgroup else None
    r_fd, w_fd = os.pipe()
    full = dict(payload)
    full["scratch"] = "/tmp" if layers.bwrap else scratch
    full["limits"] = _limits_for(layers, limits)
    # under bwrap the filter goes in through `bwrap --seccomp FD` (no ctypes in the harness)
    full["seccomp"] = seccomp_bpf.hex() if (layers.seccomp and seccomp_bpf and not layers.bwrap) else None
    data = marshal.dumps(full)
    extra: list[int] = []
    try:
        sc_fd = None
        if layers.seccomp and layers.bwrap and seccomp_bpf:
            sc_fd, sc_w = os.pipe()
            extra.append(sc_fd)
            os.write(sc_w, seccomp_bpf)  # a few hundred bytes: fits in the pipe buffer
            os.close(sc_w)
        cmd = build_command(layers, tools, slot, scratch, str(pool.harness), w_fd, sc_fd)
        if any(c is None for c in cmd):
            raise FileNotFoundError("a sandbox tool is missing: " + repr(cmd[:3]))
        env = dict(SANDBOX_ENV) if layers.bwrap else {**SANDBOX_ENV, "HOME": scratch, "TMPDIR": scratch}
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(w_fd, *extra),
            env=env, cwd=scratch or pool.base, start_new_session=layers.session, close_fds=True)
    except Exception as e:  # noqa: BLE001
        for fd in (r_fd, w_fd, *extra):
            os.close(fd)
        slot.release_scratch()
        res.error = f"launch failed: {type(e).__name__}: {e}"
        return res
    os.close(w_fd)
    for fd in extra:
        os.close(fd)
    res.launched = True
    try:
        _pump(proc, r_fd, data, res, layers, limits, t0)
    finally:
        _kill_everything(proc, slot, pool, layers)
        status, cpu = _reap(proc)
        res.exit_code = _normalise_exit(status, layers.bwrap) if status is not None else None
        res.cpu_ms = cpu
        _drain_after(proc, r_fd, res, limits)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        os.close(r_fd)
        if layers.cgroup and slot.oom_kills(pool.cg) > oom_before:
            res.oom_killed = True
        cpu_after = slot.cpu_ns(pool.cg) if cpu_before is not None else None
        if cpu_after is not None:  # the whole slot, including what bwrap's init reaped and killed children
            res.cpu_ms = max(res.cpu_ms, (cpu_after - cpu_before) / 1e6)
        slot.release_scratch()
        res.wall_ms = (time.monotonic() - t0) * 1000.0
    return res


class _Channels:
    def __init__(self) -> None:
        self.stdout = _Tail()
        self.stderr = _Tail()
        self.result = bytearray()


def _feed(res: RunResult, which: str, data: bytes, limits: Limits, chans: dict) -> bool:
    """Account for `data`; False when a cap is exceeded."""
    if which == "result":
        buf = chans["result"]
        buf += data
        return len(buf) <= RESULT_CAP
    res.output_bytes += len(data)
    chans[which].add(data)
    return res.output_bytes <= limits.output_limit_bytes


def _pump(proc: subprocess.Popen, r_fd: int, data: bytes, res: RunResult, layers: Layers, limits: Limits,
          t0: float) -> None:
    deadline = t0 + limits.timeout_s + STARTUP_GRACE_S
    sel = selectors.DefaultSelector()
    chans = {"stdout": _Tail(), "stderr": _Tail(), "result": bytearray()}
    res._chans = chans  # type: ignore[attr-defined]
    fds = {proc.stdout.fileno(): "stdout", proc.stderr.fileno(): "stderr", r_fd: "result"}
    for fd, name in fds.items():
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, name)
    pidfd = os.pidfd_open(proc.pid)
    sel.register(pidfd, selectors.EVENT_READ, "exit")
    in_fd = proc.stdin.fileno()
    os.set_blocking(in_fd, False)
    sel.register(in_fd, selectors.EVENT_WRITE, "stdin")
    view = memoryview(data)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                res.timed_out = True
                return
            for key, _ in sel.select(timeout=left):
                name = key.data
                if name == "exit":
                    _read_available(fds, chans, res, limits, sel)
                    return
                if name == "stdin":
                    try:
                        n = os.write(in_fd, view[:65536])
                        view = view[n:]
                    except BlockingIOError:
                        continue
                    except OSError:  # the child closed stdin (it died): its exit is reported separately
                        view = view[:0]
                    if not view:
                        sel.unregister(in_fd)
                        proc.stdin.close()
                    continue
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                if not _feed(res, name, chunk, limits, chans):
                    res.output_exceeded = True
                    return
    finally:
        sel.close()
        os.close(pidfd)


def _read_available(fds: dict, chans: dict, res: RunResult, limits: Limits, sel) -> None:
    for fd, name in fds.items():
        for _ in range(1024):
            try:
                chunk = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            if not _feed(res, name, chunk, limits, chans):
                res.output_exceeded = True
                return


def _kill_everything(proc: subprocess.Popen, slot: Slot, pool: SlotPool, layers: Layers) -> None:
    """Kill the run's processes bottom-up, so that every one of them is reaped by its own parent.

    Killing the launch chain's top process (bwrap's monitor) first would orphan the harness: it would be
    reparented to the host's pid 1 and linger as a zombie of the slot's uid, holding one of the slot's
    pids. So the processes below it go first (the harness is pid 1 of its namespace: the kernel kills
    and reaps everything else in it), bwrap reaps the harness and exits, and only if it has not exited
    within a second is it killed too. Our own ``wait4`` then reaps it."""
    if not _exited(proc, 0):
        below = [p for p in (slot.procs() if layers.cgroup else _descendants(proc.pid)) if p != proc.pid]
        for pid in below:
            _signal(pid, signal.SIGKILL)
        if not _exited(proc, 1.0 if below else 0.0):
            _signal(proc.pid, signal.SIGKILL)  # not proc.kill(): Popen would reap it and lose the rusage
    if layers.session:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    if layers.cgroup:
        slot.kill_all(pool.cg)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _exited(proc: subprocess.Popen, wait_s: float) -> bool:
    """Has our child exited (without reaping it: its status and rusage are read by `_reap`)?"""
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if info is not None or wait_s <= 0:
            return info is not None
        pidfd = os.pidfd_open(proc.pid)
    except ChildProcessError:
        return True
    except OSError:
        return False
    try:
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ)
        return bool(sel.select(timeout=wait_s))
    finally:
        sel.close()
        os.close(pidfd)


def _descendants(root: int) -> list[int]:
    """Every process below `root` (from /proc; used where the slot has no cgroup to list them)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as fh:
                    parent[int(d)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, frontier = [], {root}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in out and p != root}
        out.extend(frontier)
    return out


def _reap(proc: subprocess.Popen) -> tuple[int | None, float]:
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return None, 0.0
    proc.returncode = _normalise_exit(status, False)
    return status, (ru.ru_utime + ru.ru_stime) * 1000.0


def _drain_after(proc: subprocess.Popen, r_fd: int, res: RunResult, limits: Limits) -> None:
    chans = getattr(res, "_chans", None)
    if chans is None:
        return
    fds = {proc.stdout.fileno(): "stdout", proc.stderr.fileno(): "stderr", r_fd: "result"}
    if not res.output_exceeded:
        _read_available(fds, chans, res, limits, None)
    res.stdout_tail = chans["stdout"].text()
    res.stderr_tail = chans["stderr"].text()
    for line in bytes(chans["result"]).split(b"\n"):
        if not line.strip():
            continue
        try:
            res.records.append(json.loads(line))
        except (ValueError, RecursionError):
            res.bad_lines += 1
    del res._chans  # type: ignore[attr-defined]


def with_layers(base: Layers, **changes: bool) -> Layers:
    return replace(base, **changes)


__all__ = ["LEVELS", "LEVEL_BY_NAME", "Layers", "Limits", "RunResult", "TOOLS", "Tools", "run", "find_interpreter",
           "get_pool"]
