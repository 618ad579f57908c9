"""Checked conversions from Python values to the C types of the ABI.

ctypes silently wraps integers that do not fit a C type (``-1`` becomes ``UINT32_MAX``); these
helpers refuse them with ``InvalidArgumentError`` instead, and turn buffers into pointers without
copying where the buffer allows it.
"""

from __future__ import annotations

import ctypes
import operator
from typing import Any, Optional, Tuple

from . import _lib
from .errors import InvalidArgumentError

_U32 = (1 << 32) - 1
_U64 = (1 << 64) - 1
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    try:
        return operator.index(value)
    except TypeError:
        if isinstance(value, float) and what == "mtime" and value == value and abs(value) != float("inf"):
            return int(value)
        raise InvalidArgumentError(f"{what} must be an integer, not {type(value).__name__}") from None


def u32(value: Any, what: str) -> int:
    """``value`` as a ``uint32_t``."""
    v = _int(value, what)
    if not 0 <= v <= _U32:
        raise InvalidArgumentError(f"{what} {v} is out of range (0 to {_U32})")
    return v


def u64(value: Any, what: str) -> int:
    """``value`` as a ``uint64_t``."""
    v = _int(value, what)
    if not 0 <= v <= _U64:
        raise InvalidArgumentError(f"{what} {v} is out of range (0 to 2**64-1)")
    return v


def i64(value: Any, what: str) -> int:
    """``value`` as an ``int64_t`` (a float mtime is truncated to whole seconds)."""
    v = _int(value, what)
    if not _I64_MIN <= v <= _I64_MAX:
        raise InvalidArgumentError(f"{what} {v} is out of range for int64")
    return v


def in_buffer(data: Any, what: str = "data") -> Tuple[Optional[Any], int, Any]:
    """A read-only input buffer as ``(const uint8_t *, len, keepalive)``.

    ``bytes`` and writable buffers are passed without a copy; other read-only buffers are copied
    once. ``(None, 0)`` is the empty buffer. Keep ``keepalive`` referenced until the call returns.
    """
    if isinstance(data, bytes):
        if not data:
            return None, 0, None
        keep = ctypes.c_char_p(data)  # points into the bytes object itself
        return ctypes.cast(keep, _lib.u8_p), len(data), (keep, data)
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}") from None
    if not view.c_contiguous:
        return in_buffer(view.tobytes(), what)
    view = view.cast("B") if (view.format != "B" or view.ndim != 1) else view
    n = view.nbytes
    if n == 0:
        return None, 0, None
    if view.readonly:
        return in_buffer(view.tobytes(), what)
    arr = (ctypes.c_uint8 * n).from_buffer(view)
    return arr, n, (arr, view)


def out_view(buffer: Any) -> memoryview:
    """A writable, contiguous byte view of ``buffer``; ``TypeError`` when it is not one."""
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(f"buffer must be a writable bytes-like object, not {type(buffer).__name__}") from None
    if view.readonly:
        raise TypeError("buffer must be writable (bytearray, memoryview of one, array, mmap...)")
    if not view.c_contiguous:
        raise TypeError("buffer must be C-contiguous")
    return view.cast("B") if (view.format != "B" or view.ndim != 1) else view
