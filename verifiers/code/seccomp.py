"""The seccomp filter, compiled once on the host with ``pyseccomp`` (libseccomp).

The filter is exported as raw BPF and handed to the harness, which loads it
with ``prctl(PR_SET_SECCOMP)`` (after ``PR_SET_NO_NEW_PRIVS``) before any
candidate code runs; filters cannot be removed and are inherited by every child
and thread. Default action: allow. Denied with an errno (so Python raises a
clean ``OSError`` / ``PermissionError`` instead of dying):

* ``socket()`` for every address family except ``AF_UNIX`` (no TCP/UDP, no
  DNS, no netlink, no raw packets). AF_UNIX stays allowed for ``socketpair``
  users; host Unix sockets are out of reach because the sandbox's filesystem
  does not contain them.
* ``io_uring_setup/enter/register``: io_uring operations bypass seccomp.
* kernel-attack surface a test never needs: ``ptrace``,
  ``process_vm_readv/writev``, ``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``keyctl``/``add_key``/``request_key``, ``unshare``, ``setns``, ``mount``,
  ``umount2``, ``pivot_root``, ``chroot``, ``kexec_*``, module loading,
  ``swapon/off``, ``reboot``, ``acct``, ``settimeofday``/``clock_settime``,
  ``syslog``, ``personality``.

Syscalls of a foreign ABI (i386 via ``int 0x80``, x32) hit libseccomp's
bad-architecture action and kill the process. Without ``pyseccomp`` or
libseccomp, ``compiled_filter()`` returns None and the self-test picks a level
without "seccomp".
"""

from __future__ import annotations

import errno
import io
import socket
import threading

DENIED = (
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "ptrace", "process_vm_readv", "process_vm_writev", "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "pivot_root",
    "chroot", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "swapon", "swapoff", "reboot", "acct", "settimeofday", "clock_settime", "syslog", "personality",
)

_LOCK = threading.Lock()
_CACHE: dict[str, bytes | None] = {}


def _build() -> bytes | None:
    try:
        import pyseccomp as sc
    except Exception:  # noqa: BLE001 - missing package or libseccomp.so
        return None
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    f.add_rule(sc.ERRNO(errno.EACCES), "socketpair", sc.Arg(0, sc.NE, socket.AF_UNIX))
    for name in DENIED:
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except Exception:  # noqa: BLE001 - a syscall this libseccomp does not know
            pass
    buf = io.BytesIO()
    try:
        f.export_bpf(buf)
    except Exception:  # noqa: BLE001
        # older pyseccomp wants a real file
        import tempfile

        with tempfile.TemporaryFile() as fh:
            f.export_bpf(fh)
            fh.seek(0)
            return fh.read() or None
    data = buf.getvalue()
    return data or None


def compiled_filter() -> bytes | None:
    """The BPF program (bytes, a multiple of 8), or None where seccomp filters cannot be built."""
    with _LOCK:
        if "bpf" not in _CACHE:
            try:
                _CACHE["bpf"] = _build()
            except Exception:  # noqa: BLE001
                _CACHE["bpf"] = None
        return _CACHE["bpf"]
