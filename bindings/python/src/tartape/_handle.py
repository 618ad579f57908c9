"""Ownership of native handles: freeing once, refusing use after close, reading error messages safely.

A :class:`NativeHandle` owns one C pointer and the function that frees it. Every call goes through
:meth:`NativeHandle.call`, which holds a shared lock during the C call, so that ``close()`` (which
takes the lock exclusively) never frees a handle another thread is using: a use after close raises
:class:`~tartape.errors.ClosedError` instead of crashing the interpreter. The handle's error message
lives on the handle until another call on it fails, so it is copied (``tt_*_error_copy``, which is
thread-safe) right after the failing call, while the handle is still held: a read-at failing on
another thread at the same moment can at worst give the message of its own failure, never freed
memory.

ctypes releases the GIL around every call of a ``CDLL`` function, so calls made from several
threads (``tt_read_at``) run in parallel.
"""

from __future__ import annotations

import ctypes
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

    def acquire_shared(self) -> None:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1

    def release_shared(self) -> None:
        with self._cond:
            self._readers -= 1
            if self._readers == 0 and self._writers_waiting:
                self._cond.notify_all()

    @contextmanager
    def shared(self) -> Iterator[None]:
        self.acquire_shared()
        try:
            yield
        finally:
            self.release_shared()

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
        error_copy: Callable[[Any, Any, int], int],
        what: str,
    ) -> None:
        if not ptr:
            raise MemoryError(f"tartape: could not create a {what}")
        self._ptr: Optional[int] = ptr
        self._free = free
        self._error_copy = error_copy
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
        ptr = self.acquire()
        try:
            yield ptr
        finally:
            self.release()

    def acquire(self) -> int:
        """``using()`` without a context manager, for hot loops: holds the handle open and returns
        the pointer; :meth:`release` must follow (in a ``finally``)."""
        self._lock.acquire_shared()
        ptr = self._ptr
        if ptr is None:
            self._lock.release_shared()
            raise self._closed_error()
        return ptr

    def release(self) -> None:
        """Lets go of a handle held by :meth:`acquire`."""
        self._lock.release_shared()

    def message(self, ptr: int) -> str:
        """The handle's current error message; call it inside ``using()`` (thread-safe copy)."""
        size = 256
        while True:
            buf = ctypes.create_string_buffer(size)
            full = int(self._error_copy(ptr, buf, size))
            if full < size:
                return buf.value.decode("utf-8", "replace")
            size = full + 1  # another failing call may have made it longer: ask again

    def check(self, status: int, message: Optional[str] = None) -> int:
        """Returns OK or EOF; raises the status's error otherwise, with ``message`` (read from the
        handle when not given)."""
        if status in (_lib.TT_STATUS_OK, _lib.TT_STATUS_EOF):
            return status
        raise self.error(status, message)

    def call(self, fn: Callable[..., int], *args: Any) -> int:
        """Calls ``fn(ptr, *args)``; returns OK or EOF, raises the status's error otherwise (its
        message copied before the handle is let go)."""
        message = None
        with self.using() as ptr:
            status = int(fn(ptr, *args))
            if status not in (_lib.TT_STATUS_OK, _lib.TT_STATUS_EOF):
                message = self.message(ptr)
        return self.check(status, message)

    def call_exclusive(self, fn: Callable[..., int], *args: Any) -> int:
        """:meth:`call` with no other call on the handle running, for the C functions that say
        so (``tt_tape_record_frames``): other threads' calls wait until it returns."""
        message = None
        with self._lock.exclusive():
            ptr = self._ptr
            if ptr is None:
                raise self._closed_error()
            status = int(fn(ptr, *args))
            if status not in (_lib.TT_STATUS_OK, _lib.TT_STATUS_EOF):
                message = self.message(ptr)
        return self.check(status, message)

    def error(self, status: int, message: Optional[str] = None) -> Exception:
        """The exception for ``status``, with ``message`` or the handle's current message."""
        if message is None:
            try:
                with self.using() as ptr:
                    message = self.message(ptr)
            except ClosedError:
                message = ""
        return error_for_status(status, message)


def attach_finalizer(owner: object, handle: NativeHandle) -> "weakref.finalize[[], object]":
    """Frees ``handle`` when ``owner`` is garbage-collected or at interpreter exit, if not closed."""
    return weakref.finalize(owner, handle.finalize)


def new_tape_handle() -> NativeHandle:
    """A fresh ``tt_tape`` handle."""
    return NativeHandle(
        _lib.LIB.tt_tape_new(),
        _lib.LIB.tt_tape_free,
        _lib.LIB.tt_tape_error_copy,
        "tape",
    )


def new_volume_handle(ptr: int) -> NativeHandle:
    """A handle owning the ``tt_volume`` at ``ptr``."""
    return NativeHandle(ptr, _lib.LIB.tt_volume_free, _lib.LIB.tt_volume_error_copy, "volume")
