"""The code verifier against every hostile program in shared/SANDBOX.md, plus the basics.

All hostile programs run in ONE `verify_batch` (module fixture, 4 workers) so
the file stays well under a minute on 2 cores; each test then asserts the
exact outcome of its own program. Host state (sandbox-uid processes, slot
cgroups, hashes of the repo's clean tracked files and of planted files) is
captured before and after the batch.

On a machine with `bwrap`, root and writable cgroups the self-test must pick
the full level (`test_full_isolation_level_when_bwrap_exists` fails loudly
otherwise: install it with `apt-get install -y bubblewrap`). Tests whose
expected outcome depends on the full level assert that level first, so on a
weaker machine they fail rather than pass vacuously.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from verifiers.code import CodeVerifier, sandbox
from verifiers.code.sandbox import UID_BASE, UID_COUNT

FULL = "bwrap+seccomp+cgroup+uid"
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 3.0  # generous: the batch runs three CPU hogs beside the 700 MB toucher on 2 cores
MEMORY_MB = 256
OUTPUT_CAP = 64 << 10
SECRET = "DSTSECRET-" + secrets.token_hex(12)


def fenced(code: str) -> str:
    return "Here is my solution:\n\n```python\n" + textwrap.dedent(code).strip() + "\n```\n"


def ref(tests: str, entry_point: str = "f") -> str:
    return json.dumps({"entry_point": entry_point, "tests": textwrap.dedent(tests).strip()})


def _sandbox_uid_processes() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (d / "status").read_text().splitlines() if ":" in line)
            uid = int(status["Uid"].split()[0])
            state = status["State"].split()[0]
        except (OSError, ValueError, KeyError):
            continue
        if UID_BASE <= uid < UID_BASE + UID_COUNT and state not in ("Z", "X"):
            out.append(int(d.name))
    return out


def sandbox_uid_processes(settle_s: float = 2.0) -> list[int]:
    """Live (non-zombie) processes running as a sandbox uid; killed ones get `settle_s` to finish dying
    (zombies are reparented to the host's init, which reaps them on its own schedule)."""
    deadline = time.monotonic() + settle_s
    while True:
        left = _sandbox_uid_processes()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def slot_cgroup_procs() -> list[int]:
    pool = sandbox._SLOT_POOL.peek()
    if pool is None:
        return []
    return [p for s in pool.all for p in s.procs()]


def clean_tracked_hashes() -> dict[str, str]:
    """sha256 of tracked files that are unmodified in git (files other people are editing are skipped)."""
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        dirty = subprocess.run(["git", "diff", "--name-only", "-z", "HEAD"], cwd=ROOT, capture_output=True,
                               check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("git is needed to hash the repository's tracked files")
    skip = set(dirty.decode().split("\0"))
    out = {}
    for name in files.decode().split("\0"):
        p = ROOT / name
        if name and name not in skip and p.is_file():
            out[name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def hash_paths(paths: list[Path]) -> dict[str, str | None]:
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None) for p in paths}


# -- the hostile programs -------------------------------------------------------

def hostile_cases(host: dict) -> dict[str, tuple[str, str]]:
    planted, warehouse, port, unix_path, host_pid = (host["planted"], host["warehouse"], host["port"],
                                                     host["unix"], host["pid"])
    c: dict[str, tuple[str, str]] = {}
    c["01_busy_loop"] = (fenced("""
        def f():
            while True:
                pass
        """), ref("assert f() == 1"))
    c["02_ignore_sigterm"] = (fenced("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        def f():
            while True:
                time.sleep(100)
        """), ref("assert f() == 1"))
    c["03_fork_bomb"] = (fenced("""
        import os
        while True:
            os.fork()
        """), ref("assert f() == 1"))
    c["04_thread_bomb"] = (fenced("""
        import threading, time
        while True:
            threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
        """), ref("assert f() == 1"))
    c["05_alloc_10gb"] = (fenced("""
        def f():
            return len(b'x' * (10 << 30))
        """), ref("assert f() == 1"))
    c["06_touch_700mb"] = (fenced("""
        def f():
            chunks = []
            for _ in range(700):
                chunks.append(b'\\x01' * (1 << 20))
            return len(chunks)
        """), ref("assert f() == 700"))
    c["07_setsid_daemon"] = (fenced("""
        import os, time
        def f():
            pid = os.fork()
            if pid == 0:
                os.setsid()
                if os.fork() == 0:
                    while True:  # the daemon, holding stdout and stderr open
                        time.sleep(0.05)
                os._exit(0)
            os.waitpid(pid, 0)
            return 1
        """), ref("assert f() == 1"))
    c["08_close_stdout_loop"] = (fenced("""
        import os
        def f():
            os.close(1)
            os.close(2)
            while True:
                pass
        """), ref("assert f() == 1"))
    c["09_print_forever"] = (fenced("""
        def f():
            while True:
                print('x' * 1000)
        """), ref("assert f() == 1"))
    c["10a_write_100mb"] = (fenced("""
        def f():
            try:
                with open('big.bin', 'wb') as fh:
                    for _ in range(100):
                        fh.write(b'x' * (1 << 20))
                        fh.flush()
            except OSError:
                return 'refused'
            return 'written'
        """), ref("assert f() == 'refused'"))
    c["10b_sparse_1tib"] = (fenced("""
        import os
        def f():
            try:
                with open('sparse.bin', 'wb') as fh:
                    fh.seek((1 << 40) - 1)
                    fh.write(b'x')
            except OSError:
                return 'refused'
            return 'written'
        """), ref("assert f() == 'refused'"))
    c["10c_deep_dirs"] = (fenced("""
        import os
        def f():
            try:
                for _ in range(1000):
                    os.mkdir('d')
                    os.chdir('d')
            except OSError:
                return 'refused'
            return 'created'
        """), ref("assert f() == 'refused'"))
    c["11_host_files"] = (fenced(f"""
        import os, shutil
        TARGETS = [{str(ROOT / 'pyproject.toml')!r}, {str(ROOT / 'README.md')!r}, {str(planted)!r},
                   {str(warehouse)!r}, {str(ROOT / 'warehouse.duckdb')!r}, '/usr/bin/python3',
                   '/usr/lib/distillery-owned', '/etc/passwd']
        def f():
            done = []
            for t in TARGETS:
                try:
                    with open(t, 'a') as fh:
                        fh.write('owned')
                    done.append('wrote ' + t)
                except OSError:
                    pass
                try:
                    os.remove(t)
                    done.append('removed ' + t)
                except OSError:
                    pass
            for d in [{str(ROOT)!r}, '/usr/share', {str(planted.parent)!r}]:
                try:
                    shutil.rmtree(d)
                    done.append('rmtree ' + d)
                except OSError:
                    pass
            return done
        """), ref("assert f() == []"))
    c["12_secrets"] = (fenced(f"""
        import os, glob
        MARK = 'DSTSECRET-'
        def f():
            found = [v for v in os.environ.values() if MARK in v]
            paths = glob.glob('/proc/*/environ') + ['/proc/%d/environ' % os.getppid(),
                     '/proc/{host_pid}/environ', '/proc/1/environ']
            home = os.path.expanduser('~')
            for base in ['/root', home, {str(Path.home())!r}]:
                paths += glob.glob(base + '/.ssh/*')
            paths.append({str(host['secret_file'])!r})
            for p in paths:
                try:
                    with open(p, 'rb') as fh:
                        data = fh.read().decode('latin-1')
                except OSError:
                    continue
                if MARK in data:
                    found.append(p)
            import sys
            print(found, os.environ, file=sys.stderr)
            return found
        """), ref("assert f() == []"))
    c["13a_tcp_localhost"] = (fenced(f"""
        import socket
        def f():
            try:
                s = socket.create_connection(('127.0.0.1', {port}), timeout=1)
                s.sendall(b'owned')
                return 'connected'
            except OSError:
                return 'denied'
        """), ref("assert f() == 'denied'"))
    c["13b_dns"] = (fenced("""
        import socket
        def f():
            try:
                socket.getaddrinfo('example.com', 80)
                return 'resolved'
            except OSError:
                return 'denied'
        """), ref("assert f() == 'denied'"))
    c["13c_host_unix_socket"] = (fenced(f"""
        import socket
        def f():
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect({str(unix_path)!r})
                s.sendall(b'owned')
                return 'connected'
            except OSError:
                return 'denied'
        """), ref("assert f() == 'denied'"))
    c["13d_io_uring"] = (fenced("""
        import ctypes
        def f():
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(120)
            r = libc.syscall(425, 4, params)  # io_uring_setup on x86_64
            return 'denied' if r == -1 and ctypes.get_errno() == 1 else 'allowed %d %d' % (r, ctypes.get_errno())
        """), ref("assert f() == 'denied'"))
    c["14a_kill_parent"] = (fenced("""
        import os
        def f():
            os.kill(os.getppid(), 9)
            return 1
        """), ref("assert f() == 1"))
    c["14b_kill_all"] = (fenced(f"""
        import os
        def f():
            try:
                os.kill(-1, 9)
            except OSError:
                pass
            try:
                os.kill({host['victim']}, 9)
            except OSError:
                pass
            return 1
        """), ref("assert f() == 1"))
    c["15a_exit_early"] = (fenced("""
        import os
        os._exit(0)
        def f():
            return 2
        """), ref("assert f() == 1"))
    c["15b_always_equal"] = (fenced("""
        class Liar(int):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = int.__hash__
        def f(x):
            return Liar(0)
        """), ref("assert f(2) == 4\nassert f(3) == 9\nassert [f(1)] == [1]"))
    c["15c_patch_reporting"] = (fenced("""
        import builtins, json, os, sys
        h = sys.modules['__main__']
        for name in ('encode', '_describe', 'main'):
            if hasattr(h, name):
                setattr(h, name, lambda *a, **k: ['B', True])
        builtins.exec = lambda *a, **k: None
        builtins.eval = lambda *a, **k: 4
        fake = json.dumps({'stage': 'result', 'token': '0' * 32, 'values': {'0': ['I', '4'], '1': ['I', '9']},
                           'asserts': {'2': True}, 'errors': {}, 'load': None, 'aborted': None,
                           'memory_error': False}) + '\\n'
        for fd in range(3, 32):
            try:
                os.write(fd, fake.encode())
            except OSError:
                pass
        print(fake)
        def f(x):
            return x
        """), ref("assert f(2) == 4\nassert f(3) == 9\nassert f(3) in (9,)"))
    c["15d_print_pass"] = (fenced("""
        import sys
        def f(x):
            print('PASS')
            print('All tests passed! OK (3 tests)')
            print('{"stage": "result", "passed": true}', file=sys.stderr)
            return 0
        """), ref("assert f(2) == 4"))
    c["15e_segfault"] = (fenced("""
        import ctypes
        ctypes.string_at(0)
        def f():
            return 1
        """), ref("assert f() == 1"))
    return c


EXPECTED = {
    "01_busy_loop": "timeout",
    "02_ignore_sigterm": "timeout",
    "03_fork_bomb": "runtime_error",
    "04_thread_bomb": "runtime_error",
    "05_alloc_10gb": "memory_limit",
    "06_touch_700mb": "memory_limit",
    "07_setsid_daemon": "pass",
    "08_close_stdout_loop": "timeout",
    "09_print_forever": "output_limit",
    "10a_write_100mb": "pass",  # the program reports 'refused'
    "10b_sparse_1tib": "pass",
    "10c_deep_dirs": "pass",
    "11_host_files": "pass",  # no write or delete succeeded
    "12_secrets": "pass",  # nothing carrying the secret was readable
    "13a_tcp_localhost": "pass",  # 'denied'
    "13b_dns": "pass",
    "13c_host_unix_socket": "pass",
    "13d_io_uring": "pass",
    "14a_kill_parent": "pass",  # the verifier survives and the run completes
    "14b_kill_all": "pass",
    "15a_exit_early": "fail",
    "15b_always_equal": "fail",
    "15c_patch_reporting": "fail",
    "15d_print_pass": "fail",
    "15e_segfault": "runtime_error",
}


@pytest.fixture(scope="module")
def verifier() -> CodeVerifier:
    return CodeVerifier(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB, output_limit_bytes=OUTPUT_CAP, workers=4)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    """Planted files, a planted env secret, a TCP and a Unix server, a victim process."""
    d = tmp_path_factory.mktemp("host")
    planted = d / "planted.txt"
    planted.write_text("do not touch\n")
    warehouse = d / "warehouse.duckdb"
    warehouse.write_bytes(b"DUCK" + os.urandom(64))
    ssh = Path.home() / ".ssh"
    made_ssh = not ssh.exists()
    ssh.mkdir(mode=0o700, exist_ok=True)
    secret_file = ssh / f"distillery_test_secret_{os.getpid()}"
    secret_file.write_text(SECRET + "\n")
    old_env = os.environ.get("DISTILLERY_TEST_SECRET")
    os.environ["DISTILLERY_TEST_SECRET"] = SECRET

    accepted: list[bytes] = []
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.settimeout(0.2)
    unix_path = d / "host.sock"
    uds = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    uds.bind(str(unix_path))
    uds.listen(8)
    uds.settimeout(0.2)
    stop = threading.Event()

    def serve(sock: socket.socket) -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            accepted.append(b"connection")
            conn.close()

    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in (tcp, uds)]
    for t in threads:
        t.start()
    victim = subprocess.Popen(["sleep", "300"])
    info = {"planted": planted, "warehouse": warehouse, "port": tcp.getsockname()[1], "unix": unix_path,
            "pid": os.getpid(), "secret_file": secret_file, "victim": victim.pid, "accepted": accepted,
            "victim_proc": victim}
    yield info
    stop.set()
    for t in threads:
        t.join(2)
    tcp.close()
    uds.close()
    victim.kill()
    victim.wait()
    secret_file.unlink()
    if made_ssh:
        shutil.rmtree(ssh, ignore_errors=True)
    if old_env is None:
        os.environ.pop("DISTILLERY_TEST_SECRET", None)
    else:
        os.environ["DISTILLERY_TEST_SECRET"] = old_env


@pytest.fixture(scope="module")
def batch(verifier: CodeVerifier, host: dict):
    cases = hostile_cases(host)
    names = sorted(cases)
    files = [host["planted"], host["warehouse"], host["secret_file"]]
    before = {"tracked": clean_tracked_hashes(), "planted": hash_paths(files)}
    level = verifier.level  # the self-test, outside the timing
    t0 = time.monotonic()
    verdicts = verifier.verify_batch([cases[n] for n in names])
    elapsed = time.monotonic() - t0
    time.sleep(0.2)
    after = {"tracked": clean_tracked_hashes(), "planted": hash_paths(files),
             "uid_procs": sandbox_uid_processes(), "cg_procs": slot_cgroup_procs()}
    return {"verdicts": dict(zip(names, verdicts)), "before": before, "after": after, "elapsed": elapsed,
            "level": level.name}


# -- the level ------------------------------------------------------------------

def test_full_isolation_level_when_bwrap_exists(verifier: CodeVerifier) -> None:
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed: `apt-get install -y bubblewrap` (the full level needs it)")
    if os.geteuid() != 0:
        pytest.fail("the full level needs root (per-slot uids and cgroups); run the tests as root")
    assert verifier.level.name == FULL


def _check(batch: dict, name: str) -> None:
    assert batch["level"] == FULL, f"hostile programs must run at the full level, got {batch['level']}"
    v = batch["verdicts"][name]
    assert v.reason == EXPECTED[name], f"{name}: {v.reason} {v.details}"
    assert v.passed is (EXPECTED[name] == "pass")
    assert v.details["isolation"] == FULL
    assert v.verifier == "code"


# one test per hostile program (SANDBOX.md numbering)

def test_01_busy_loop_times_out(batch) -> None:
    _check(batch, "01_busy_loop")
    assert batch["verdicts"]["01_busy_loop"].details["wall_ms"] < (TIMEOUT_S + 2.5) * 1000


def test_02_sigterm_ignored_still_killed(batch) -> None:
    _check(batch, "02_ignore_sigterm")
    assert batch["verdicts"]["02_ignore_sigterm"].details["exit_code"] == -9


def test_03_fork_bomb_contained(batch) -> None:
    _check(batch, "03_fork_bomb")
    assert "BlockingIOError" in batch["verdicts"]["03_fork_bomb"].details["load_error"]


def test_04_thread_bomb_fails_without_hanging(batch) -> None:
    _check(batch, "04_thread_bomb")
    assert batch["verdicts"]["04_thread_bomb"].details["wall_ms"] < TIMEOUT_S * 1000


def test_05_10gb_allocation_is_memory_limit(batch) -> None:
    _check(batch, "05_alloc_10gb")


def test_06_touching_700mb_is_memory_limit(batch) -> None:
    _check(batch, "06_touch_700mb")


def test_06_slot_reusable_after_memory_limit(host) -> None:
    v = CodeVerifier(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB, output_limit_bytes=OUTPUT_CAP, workers=1)
    hog, _ = hostile_cases(host)["06_touch_700mb"]
    out = v.verify_batch([(hog, ref("assert f() == 700")), (fenced("def f():\n    return 700"),
                                                             ref("assert f() == 700"))])
    assert [x.reason for x in out] == ["memory_limit", "pass"]


def test_07_setsid_daemon_returns_promptly_and_is_killed(batch) -> None:
    _check(batch, "07_setsid_daemon")
    assert batch["verdicts"]["07_setsid_daemon"].details["wall_ms"] < TIMEOUT_S * 1000
    assert batch["after"]["uid_procs"] == []


def test_08_closed_stdout_does_not_hang_the_reader(batch) -> None:
    _check(batch, "08_close_stdout_loop")
    assert batch["verdicts"]["08_close_stdout_loop"].details["wall_ms"] < (TIMEOUT_S + 2.5) * 1000


def test_09_print_forever_is_cut_at_the_cap(batch) -> None:
    _check(batch, "09_print_forever")


def test_10a_100mb_write_refused(batch) -> None:
    _check(batch, "10a_write_100mb")


def test_10b_sparse_1tib_refused(batch) -> None:
    _check(batch, "10b_sparse_1tib")


def test_10c_1000_deep_directories_refused(batch) -> None:
    _check(batch, "10c_deep_dirs")


def test_11_host_files_untouched(batch) -> None:
    _check(batch, "11_host_files")
    assert batch["after"]["planted"] == batch["before"]["planted"]
    before, after = batch["before"]["tracked"], batch["after"]["tracked"]
    changed = [k for k in before if k in after and before[k] != after[k]]
    vanished = [k for k in before if not (ROOT / k).exists()]
    assert not changed and not vanished, (changed, vanished)
    assert len(before) > 20


def test_12_secrets_never_appear(batch) -> None:
    _check(batch, "12_secrets")
    for v in batch["verdicts"].values():
        assert SECRET not in json.dumps(v.to_row(), default=str)


def test_13a_tcp_to_localhost_denied(batch, host) -> None:
    _check(batch, "13a_tcp_localhost")


def test_13b_dns_denied(batch) -> None:
    _check(batch, "13b_dns")


def test_13c_host_unix_socket_denied(batch, host) -> None:
    _check(batch, "13c_host_unix_socket")
    time.sleep(0.3)
    assert host["accepted"] == []  # neither server saw a connection


def test_13d_io_uring_denied(batch) -> None:
    _check(batch, "13d_io_uring")


def test_14a_kill_parent_verifier_survives(batch) -> None:
    _check(batch, "14a_kill_parent")


def test_14b_kill_everything_host_survives(batch, host) -> None:
    _check(batch, "14b_kill_all")
    assert host["victim_proc"].poll() is None  # a host process the candidate tried to kill


def test_15a_early_exit_zero_fails(batch) -> None:
    _check(batch, "15a_exit_early")
    assert batch["verdicts"]["15a_exit_early"].details["exit_code"] == 0


def test_15b_always_equal_object_fails(batch) -> None:
    _check(batch, "15b_always_equal")
    assert batch["verdicts"]["15b_always_equal"].details["tests_passed"] == 0


def test_15c_patched_reporting_fails(batch) -> None:
    _check(batch, "15c_patch_reporting")


def test_15d_printed_pass_fails(batch) -> None:
    _check(batch, "15d_print_pass")


def test_15e_segfault_is_runtime_error(batch) -> None:
    _check(batch, "15e_segfault")
    assert batch["verdicts"]["15e_segfault"].details["exit_code"] == -11


def test_nothing_left_running(batch) -> None:
    assert batch["after"]["uid_procs"] == []
    assert batch["after"]["cg_procs"] == []
    leftovers = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if b"/sandbox/harness" in (d / "cmdline").read_bytes():
                    leftovers.append(int(d.name))
            except OSError:
                pass
    assert leftovers == []


def test_batch_is_concurrent(batch) -> None:
    # 25 programs, 5 of them ~3 s (timeouts, memory), on 4 workers: far below the serial sum
    assert batch["elapsed"] < 20, batch["elapsed"]


# -- the basics -----------------------------------------------------------------

ADD = ref("assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert abs(add(0.1, 0.2) - 0.3) < 1e-9", "add")


def test_correct_solution_passes(verifier) -> None:
    v = verifier.verify(fenced("def add(a, b):\n    return a + b"), ADD)
    assert (v.passed, v.reason) == (True, "pass"), v.details
    assert v.details["tests_passed"] == v.details["tests_total"] == 3
    assert v.extracted.startswith("def add")
    assert v.details["isolation"] == verifier.level.name


def test_wrong_solution_fails(verifier) -> None:
    v = verifier.verify(fenced("def add(a, b):\n    return a - b"), ADD)
    assert (v.passed, v.reason) == (False, "fail")
    assert (v.details["tests_passed"], v.details["tests_total"]) == (0, 3)


def test_syntax_error_is_runtime_error(verifier) -> None:
    v = verifier.verify(fenced("def add(a, b)\n    return a + b"), ADD)
    assert v.reason == "runtime_error"
    assert "SyntaxError" in v.details["load_error"]


def test_exception_in_a_test_is_fail(verifier) -> None:
    v = verifier.verify(fenced("def add(a, b):\n    return a / 0"), ADD)
    assert v.reason == "fail"
    assert "ZeroDivisionError" in v.details["failed"][0]["error"]


def test_no_code(verifier) -> None:
    v = verifier.verify("I think the answer is 3.", ADD)
    assert (v.passed, v.reason, v.extracted) == (False, "no_code", None)


def test_humaneval_check_style_and_plain_test_code(verifier) -> None:
    he = json.dumps({"entry_point": "add", "tests": "def check(candidate):\n    assert candidate(1, 2) == 3\n"
                                                     "    assert candidate(2, 2) == 4\n\ncheck(add)\n"})
    assert verifier.verify(fenced("def add(a, b):\n    return a + b"), he).reason == "pass"
    assert verifier.verify(fenced("def add(a, b):\n    return 3"), he).reason == "fail"
    plain = "assert add(2, 3) == 5\nfor i in range(5):\n    assert add(i, i) == 2 * i\n"
    v = verifier.verify(fenced("def add(a, b):\n    return a + b"), plain)
    # every assert that runs counts: 1 top-level + 5 in the loop (the looped ones compare two sandbox values)
    assert v.reason == "pass" and v.details["checks_inside"] == 5 and v.details["tests_total"] == 6


def test_broken_sandbox_is_infra_error_not_fail(verifier, monkeypatch) -> None:
    _ = verifier.level  # chosen with the real tools, before the tools are broken
    good = fenced("def add(a, b):\n    return a + b")
    for attr in ("bwrap", "setpriv", "python"):
        with monkeypatch.context() as m:
            m.setattr(sandbox.TOOLS, attr, f"/nonexistent/{attr}")
            v = verifier.verify(good, ADD)
        assert (v.passed, v.reason) == (False, "infra_error"), (attr, v.details)
        assert v.details["error"]
    bad_ref = verifier.verify(good, "this is not python")
    assert bad_ref.reason == "infra_error"


def test_batch_keeps_input_order(verifier) -> None:
    pairs = [(fenced(f"def add(a, b):\n    return a + b + {i % 2}"), ADD) for i in range(8)]
    out = verifier.verify_batch(pairs)
    assert [v.reason for v in out] == ["pass" if i % 2 == 0 else "fail" for i in range(8)]
