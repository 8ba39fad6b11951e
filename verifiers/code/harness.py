"""The in-sandbox half of the code verifier: a stdlib-only script.

This file is never imported by the verifier. It is bound read-only into the
sandbox and run there by a bare system interpreter (``python3 -I -S harness.py
FD``), so it must depend on nothing but the standard library and must not
import anything from this repository.

Protocol (see ``verifiers/code/sandbox.py`` for the host side)
--------------------------------------------------------------
* stdin carries one ``marshal``-ed payload (written by the host, so trusted): ``token`` (per-run random hex), ``program``
  (the candidate source), ``steps`` (the test plan made by ``plan.py``), ``rec``
  (the recorder's name in the test code),
  ``limits`` (rlimits to set), ``seccomp`` (a compiled BPF program as hex, or
  null: under bwrap the filter is loaded by ``bwrap --seccomp`` instead),
  ``scratch`` (the working directory). The environment is already scrubbed by
  the launcher. stdin is then replaced by
  /dev/null, so a candidate that reads stdin gets EOF.
* FD (argv[1]) is the result channel, a pipe whose read end only the host has.
  The harness writes exactly two JSON lines to it, each carrying the token:
  ``{"stage": "ready"}`` once the sandbox is set up and *before* any candidate
  code runs (its absence means the infrastructure failed, never the candidate),
  and ``{"stage": "result", ...}`` after the tests. Then it ``os._exit(0)``s,
  so atexit hooks and non-daemon threads planted by the candidate never run.
* The test code arrives already rewritten by ``plan.py``: every assert, wherever
  it sits, is a call ``REC(site, value, ...)`` of the recorder this script binds
  in the test code's namespace (``payload["rec"]`` names it). The recorder
  appends the values in a type-strict encoding (exact builtin types only;
  anything else, e.g. an object with an always-true ``__eq__`` or an ``int``
  subclass, is sent as "unencodable") and never raises. Expected literals are
  never in this process: the host compares. ``check`` steps are top-level
  asserts (an exception there is a failed check, and the next step runs);
  ``exec`` steps are anything else (an exception stops the tests).
* The test code is compiled before any candidate code runs, and runs in its own
  globals: a copy of the candidate's names taken after the program loaded, with
  a copy of ``builtins`` taken before it ran. Rebinding a global or patching
  ``builtins`` (``range``, ``abs``, the recorder's name) from candidate code
  does not change what the tests call.

What the token does and does not prove is documented in ``run.py``.
"""

import marshal
import posix as os  # the C module behind `os`: importing `os` itself costs ~2 ms per run
import sys

MAX_NODES = 100_000
MAX_DEPTH = 64


# Start-up cost matters (every run pays it): only builtin modules are imported
# (posix, marshal, _signal, resource); JSON is written by hand.


def _read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _set_limits(limits):
    import _signal  # not `signal`: that imports enum (~5 ms per run)
    import resource

    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)  # an oversized write fails with EFBIG instead of killing
    names = {
        "as": resource.RLIMIT_AS,
        "cpu": resource.RLIMIT_CPU,
        "fsize": resource.RLIMIT_FSIZE,
        "nofile": resource.RLIMIT_NOFILE,
        "nproc": resource.RLIMIT_NPROC,
        "core": resource.RLIMIT_CORE,
    }
    for key, value in limits.items():
        if key == "nproc" and os.getuid() == 0:
            continue  # does not apply to root; the pids cgroup does that job
        res = names[key]
        soft, hard = resource.getrlimit(res)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(res, (value, value))


def _install_seccomp(bpf):
    """Load a compiled BPF filter with prctl (no_new_privs first); inherited by every child."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bpf, len(bpf))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(bpf) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def _close_other_fds(keep):
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


_ESCAPES = {i: "\\u%04x" % i for i in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})
_ESCAPES.update({i: "\\u%04x" % i for i in range(0xD800, 0xE000)})  # lone surrogates cannot be UTF-8


def dumps(obj, str=str, int=int, bool=bool, list=list, dict=dict, type=type):  # noqa: A002
    """A minimal JSON writer (dict/list/str/int/bool/None): importing `json` costs ~10 ms per run."""
    t = type(obj)
    if obj is None:
        return "null"
    if t is bool:
        return "true" if obj else "false"
    if t is int:
        return int.__repr__(obj)
    if t is str:
        return '"' + str.translate(obj, _ESCAPES) + '"'
    if t is list or t is tuple:
        return "[" + ",".join([dumps(x) for x in obj]) + "]"
    if t is dict:
        return "{" + ",".join([dumps(str(k)) + ":" + dumps(v) for k, v in dict.items(obj)]) + "}"
    return dumps(str(obj))


class _Unencodable(Exception):
    pass


def encode(value, type=type, str=str, ValueError=ValueError, _Unencodable=_Unencodable):  # noqa: A002
    """Type-strict encoding of a value: exact builtin types only, bounded size.

    Builtins are bound as default arguments so a candidate that patches
    ``builtins.type`` cannot change how values are classified."""
    count = [0]

    def enc(v, depth):
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise _Unencodable("value too large or too deep")
        t = type(v)
        if v is None:
            return ["N"]
        if t is bool:
            return ["B", v is True]
        if t is int:
            return ["I", int.__repr__(v)]
        if t is float:
            return ["F", float.__repr__(v)]
        if t is complex:
            return ["C", float.__repr__(v.real), float.__repr__(v.imag)]
        if t is str:
            return ["S", str.__str__(v)]
        if t is bytes:
            return ["Y", bytes.hex(v)]
        if t is list:
            return ["L", [enc(x, depth + 1) for x in list.__iter__(v)]]
        if t is tuple:
            return ["T", [enc(x, depth + 1) for x in tuple.__iter__(v)]]
        if t is dict:
            return ["D", [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in dict.items(v)]]
        if t is set:
            return ["E", [enc(x, depth + 1) for x in set.__iter__(v)]]
        if t is frozenset:
            return ["Z", [enc(x, depth + 1) for x in frozenset.__iter__(v)]]
        raise _Unencodable("type " + t.__name__)

    try:
        return enc(value, 0)
    except _Unencodable as e:
        return ["X", str(e)[:200]]
    except ValueError as e:  # e.g. int too large to convert to str
        return ["X", str(e)[:200]]


def _describe(exc):
    try:
        return (type(exc).__name__ + ": " + str(exc))[:500]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return type(exc).__name__


def _compile_steps(steps, _compile=compile):
    return [(step, _compile(step["src"], "<tests>", "exec")) for step in steps]


def main():
    # Everything used after candidate code starts is bound to a local name first:
    # a candidate that patches builtins, this module's globals or os/json
    # attributes does not change what the harness calls (locals of a running
    # frame are out of reach without introspection; see run.py for that limit).
    import builtins

    clean_builtins = dict(builtins.__dict__)  # the tests' builtins: a copy the candidate never sees
    _exec, _encode, _describe_ = exec, encode, _describe
    _write, _getpid, _exit, _dumps = os.write, os.getpid, os._exit, dumps
    _str, _BaseException, _MemoryError, _isinstance = str, BaseException, MemoryError, isinstance
    _memoryview, _len, _dict = memoryview, len, dict
    result_fd = int(sys.argv[1])
    payload = marshal.loads(_read_all(0))  # written by the host (trusted): marshal is the cheapest to load
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    token = payload.pop("token")
    me = _getpid()

    def emit(record):
        record["token"] = token
        view = _memoryview((_dumps(record) + "\n").encode("utf-8"))
        while _len(view):
            n = _write(result_fd, view)
            view = view[n:]

    try:
        os.chdir(payload["scratch"])
        _close_other_fds({result_fd})
        _set_limits(payload.get("limits", {}))
        if payload.get("seccomp"):
            _install_seccomp(bytes.fromhex(payload["seccomp"]))
        steps = _compile_steps(payload.pop("steps"))  # a reference that does not compile is not the candidate's
    except BaseException as exc:  # noqa: BLE001
        emit({"stage": "setup_error", "error": _describe(exc)})
        os._exit(3)
    emit({"stage": "ready", "uid": os.getuid(), "pid": me})

    program = payload.pop("program")
    rec_name = payload.pop("rec")
    payload.clear()
    checks, errors = [], {}
    state = {"load": None, "aborted": None, "memory_error": False}
    g = {"__name__": "__candidate__", "__builtins__": __builtins__}
    _append = checks.append

    def record(site, *values):
        _append([site, [_encode(v) for v in values]])

    def note_exc(exc):
        if _isinstance(exc, _MemoryError):
            state["memory_error"] = True
        return _describe_(exc)

    try:
        code = compile(program, "<candidate>", "exec")
        del program
        _exec(code, g)
    except _BaseException as exc:  # noqa: BLE001 - SyntaxError, SystemExit, anything
        state["load"] = note_exc(exc)
    if state["load"] is None:
        tg = _dict(g)  # the tests' namespace: the candidate's names as loaded, the clean builtins, the recorder
        tg["__builtins__"] = clean_builtins
        tg[rec_name] = record
        for step, code in steps:
            try:
                _exec(code, tg)  # noqa: S102 - that is the point
            except _BaseException as exc:  # noqa: BLE001
                errors[_str(step["id"])] = note_exc(exc)
                if step["kind"] != "check":
                    state["aborted"] = step["id"]
                    break
    if _getpid() != me:
        _exit(0)  # a forked copy of the harness never reports
    try:
        emit({"stage": "result", "checks": checks, "errors": errors, **state})
    except _BaseException:  # noqa: BLE001
        _exit(4)
    _exit(0)


if __name__ == "__main__":
    main()
