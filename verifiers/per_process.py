"""One lazily built instance per process, shut down at interpreter exit.

The math verifier's worker pool and the code verifier's slot pool are both
process-wide resources that threads share. Each must be built on first use
(importing a verifier must not start processes or mount anything), rebuilt in
a forked child (the parent's workers, pipes and cgroups are not the child's to
use), rebuilt after a shutdown, and shut down at exit only by the process that
built it (a forked child must not tear down its parent's pool).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    closed: bool

    def shutdown(self) -> None: ...


T = TypeVar("T", bound=Closable)


class PerProcess(Generic[T]):
    """Holds the instance `factory` builds; registers its own shutdown with ``atexit`` when created."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._instance: T | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        atexit.register(self.shutdown)

    def get(self) -> T:
        """This process's instance; a fresh one on first use, after a fork or after a shutdown."""
        with self._lock:
            if self._instance is None or self._pid != os.getpid() or self._instance.closed:
                self._instance = self._factory()
                self._pid = os.getpid()
            return self._instance

    def peek(self) -> T | None:
        """The instance as it stands, never building one (tests inspect it); may be a parent's after a fork."""
        return self._instance

    def shutdown(self) -> None:
        """Shut the instance down if this process built it, and forget it either way.

        No lock: at exit a daemon thread may hold it forever (the pools guard their own state)."""
        if self._instance is not None and self._pid == os.getpid():
            self._instance.shutdown()
        self._instance = None
