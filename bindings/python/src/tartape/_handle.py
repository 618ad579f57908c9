"""Ownership of native handles: freeing once, refusing use after close, reading error messages safely.

A :class:`NativeHandle` owns one C pointer and the function that frees it. Every call goes through
:meth:`NativeHandle.call`, which holds a shared lock during the C call, so that ``close()`` (which
takes the lock exclusively) never frees a handle another thread is using: a use after close raises
:class:`~tartape.errors.ClosedError` instead of crashing the interpreter. The handle's error message
lives on the handle until the next call on it, and another thread's failing call may replace it;
so the message is read with the lock held exclusively, when no C call can be running.

ctypes releases the GIL around every call of a ``CDLL`` function, so calls made from several
threads (``tt_read_at``) run in parallel.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional

from . import _lib
from .errors import ClosedError, error_for_status


class _SharedLock:
    """A readers-writer lock: many holders of ``shared()`` at once, or one of ``exclusive()``."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    def acquire_exclusive(self, timeout: Optional[float] = None) -> bool:
        """Waits until no one holds the lock, then holds it alone; False after ``timeout``."""
        with self._cond:
            self._writers_waiting += 1
            try:
                if not self._cond.wait_for(lambda: not (self._writer or self._readers), timeout):
                    return False
            finally:
                self._writers_waiting -= 1
                self._cond.notify_all()
            self._writer = True
            return True

    def release_exclusive(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        self.acquire_exclusive()
        try:
            yield
        finally:
            self.release_exclusive()


class NativeHandle:
    """One native pointer, its free function and its error-message function.

    ``keepalive`` holds Python objects the native side points into (callbacks); they are dropped
    only after the pointer is freed.
    """

    def __init__(
        self,
        ptr: Optional[int],
        free: Callable[[Any], None],
        error_message: Callable[[Any], Optional[bytes]],
        what: str,
    ) -> None:
        if not ptr:
            raise MemoryError(f"tartape: could not create a {what}")
        self._ptr: Optional[int] = ptr
        self._free = free
        self._error_message = error_message
        self._what = what
        self._lock = _SharedLock()
        self.keepalive: List[Any] = []

    @property
    def closed(self) -> bool:
        """True once the native handle is freed."""
        return self._ptr is None

    def close(self) -> None:
        """Frees the native handle once; later calls raise ``ClosedError``. Idempotent."""
        with self._lock.exclusive():
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                self._free(ptr)
            self.keepalive = []

    def finalize(self) -> None:
        """The safety net's close (garbage collection, interpreter exit): frees the handle unless
        a call still runs in another thread after a grace period (a daemon thread at exit); then
        the handle is left allocated rather than freed under a running call or waited on forever."""
        if not self._lock.acquire_exclusive(timeout=2.0):
            return
        try:
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                self._free(ptr)
            self.keepalive = []
        finally:
            self._lock.release_exclusive()

    def _closed_error(self) -> ClosedError:
        return ClosedError(f"this {self._what} is closed", _lib.TT_STATUS_STATE)

    @contextmanager
    def using(self) -> Iterator[int]:
        """Holds the handle open (shared) and yields the pointer: borrowed data it returns, such
        as an event's bytes or an entry's name, must be copied inside this block."""
        with self._lock.shared():
            ptr = self._ptr
            if ptr is None:
                raise self._closed_error()
            yield ptr

    def check(self, status: int) -> int:
        """Returns OK or EOF; raises the status's error (with the handle's message) otherwise.
        Call it outside ``using()``: reading the message takes the lock exclusively."""
        if status in (_lib.TT_STATUS_OK, _lib.TT_STATUS_EOF):
            return status
        raise self.error(status)

    def call(self, fn: Callable[..., int], *args: Any) -> int:
        """Calls ``fn(ptr, *args)``; returns OK or EOF, raises the status's error otherwise."""
        with self.using() as ptr:
            status = int(fn(ptr, *args))
        return self.check(status)

    def error(self, status: int) -> Exception:
        """The exception for ``status``, with the handle's current message."""
        with self._lock.exclusive():
            ptr = self._ptr
            raw = self._error_message(ptr) if ptr is not None else None
        message = (raw or b"").decode("utf-8", "replace")
        return error_for_status(status, message)


def attach_finalizer(owner: object, handle: NativeHandle) -> "weakref.finalize[[], object]":
    """Frees ``handle`` when ``owner`` is garbage-collected or at interpreter exit, if not closed."""
    return weakref.finalize(owner, handle.finalize)


def new_tape_handle() -> NativeHandle:
    """A fresh ``tt_tape`` handle."""
    return NativeHandle(
        _lib.LIB.tt_tape_new(),
        _lib.LIB.tt_tape_free,
        _lib.LIB.tt_tape_error_message,
        "tape",
    )
