"""Code verifier: run a response's program against the task's tests in a sandbox.

    from verifiers.code import CodeVerifier
    v = CodeVerifier(timeout_s=5.0, memory_mb=512, output_limit_bytes=1 << 20, workers=None)
    v.verify(response, '{"entry_point": "add", "tests": "assert add(1, 2) == 3"}')
    v.verify(response, json.dumps({"entry_point": p["entry_point"], "tests": p["test"]}))  # HumanEval as written
    v.verify(response, json.dumps({"entry_point": "add", "tests": ["assert add(1, 2) == 3"]}))  # MBPP test_list

Pieces: ``extract.py`` (which code block is the program), ``plan.py`` (the
reference formats; every assert -> a recorded check; checks judged outside),
``harness.py`` (the stdlib-only script that runs inside), ``sandbox.py``
(launch chain, slots, kill), ``seccomp.py`` (the filter), ``run.py`` (one
run: outcomes and the result-record rule), ``selftest.py`` (which isolation
level this machine supports), ``verifier.py`` (the public verifier: extract,
level, threads).

Isolation levels (``details["isolation"]`` on every verdict)
------------------------------------------------------------
``bwrap+seccomp+cgroup+uid`` (root, bubblewrap, cgroups, libseccomp; this VM):
  own memory + pids cgroup per slot (memory = memory_mb + 48 MiB, 64 pids;
  every process of a run is reaped, so none is left holding one),
  own uid per slot (setpriv), rlimits (address space, CPU seconds, 16 MiB per
  file, 64 fds, 64 processes, no core), new session, bubblewrap with every
  namespace unshared (no network; fresh pid namespace whose pid 1 is the
  harness, so it dies with the run),
  a read-only root holding only ``/usr``, a per-run tmpfs scratch of 16 MiB
  and 512 inodes, a scrubbed environment, a seccomp filter (no sockets but
  AF_UNIX, no io_uring, no ptrace/bpf/mount/...), the output cap, and a kill
  of everything in the slot's cgroup after each run.
``bwrap+seccomp`` (unprivileged with user namespaces): the same without own
  cgroups and uid: memory only through RLIMIT_AS, processes only through
  RLIMIT_NPROC (which counts all of the user's processes and does nothing for
  root), scratch is a 16 MiB bwrap tmpfs with no inode cap.
``rlimits+session+seccomp`` / ``rlimits+session`` (no namespaces): the host
  filesystem is visible and writable with the verifier's own permissions, the
  environment is scrubbed but ``/proc/<ppid>/environ`` of the verifier is
  readable, a ``setsid()`` child survives the process-group kill, and as root
  a fork bomb is not contained. Use these levels only for trusted code.

What the full level protects against: runaway CPU, memory and output; fork and
thread bombs; daemons outliving the run; writes to host files (the repo, the
warehouse, ``/usr``); reading host secrets (environment, ``/proc``, ``$HOME``);
network access (TCP, UDP, DNS, host Unix sockets, io_uring); signalling host
processes; faking a pass by exiting early, printing, patching the test runner
or ``builtins``, or returning objects with a lying ``__eq__``, in top-level
asserts, loops, helpers or ``check`` alike (see ``run.py`` for the exact rule
and its limit: a candidate that digs the run token out of its own interpreter
can fake checks whose expected value is computed inside the sandbox, never one
compared with a literal of the tests).

What it does not protect against: kernel exploits (seccomp narrows the
surface but the default action is allow; namespaces and cgroups are shared
kernel code), CPU side channels, timing differences; reading the world-
readable files under ``/usr``; ~1 ms of CPU before the harness applies its
rlimits; a candidate patching a module the tests import too (the tests' globals
and ``builtins`` are their own, but ``sys.modules`` is shared: a patched
``random`` can change the inputs a test generates; ``math.isclose``/``fabs``
and ``abs`` in an assert are computed outside, so patching those does
nothing); denial of service of the host by many verifiers at once (slots and
workers bound it per process, not per machine).
"""

from verifiers.code.verifier import NAME, VERSION, CodeVerifier

__all__ = ["NAME", "VERSION", "CodeVerifier"]
