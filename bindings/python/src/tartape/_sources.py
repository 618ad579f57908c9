"""Content supplied by Python: memory entries (``tt_add_from_memory``), pulled when the stream asks
for it, and read-at callbacks (``tt_add_read_at``).

The stream emits NEED_DATA with the content offset it is at and the bytes still owed; the source
answers with ``tt_feed`` (one chunk) or ``tt_feed_end`` (no more: a SIZE_MISMATCH, since the entry
is short). After the entry's FILE_END, :meth:`MemorySource.finish` checks that an iterable has
nothing left: more bytes than declared are a SIZE_MISMATCH too.

Three shapes of content:

* bytes-like: replayable from any offset (resume, several plays);
* a callable returning an iterable of chunks: called again for every stream that needs it, and the
  chunks before the requested offset are skipped;
* an iterable of chunks (a generator, ``response.iter_content()``): pulled once; a later stream
  can only continue where it stopped, never go back;
* (``Tape.bind`` of an opened catalog) a ``read_at(offset, length)`` callable: asked for exactly
  the bytes each NEED_DATA wants.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from . import _lib
from ._convert import in_buffer
from ._handle import NativeHandle
from .errors import SizeMismatchError, StateError

#: What ``add_from_memory`` accepts as content.
Chunks = Union[bytes, bytearray, memoryview, Iterable[Any], Callable[[], Iterable[Any]]]

# A bytes-like source is fed in pieces of at most this many bytes.
_PIECE = _lib.BUFFER_SIZE


def _as_bytes_view(chunk: Any) -> memoryview:
    if isinstance(chunk, str):
        raise TypeError("memory entry chunks must be bytes-like, not str")
    view = memoryview(chunk)
    return view.cast("B") if (view.format != "B" or view.ndim != 1) else view


class MemorySource:
    """The content of one memory entry, and where its iteration stands."""

    def __init__(
        self,
        name: bytes,
        size: int,
        chunks: Chunks,
        read_at: Optional[Callable[[int, int], Any]] = None,
    ) -> None:
        self.name = name
        self.size = size
        self._data: Optional[memoryview] = None
        self._factory: Optional[Callable[[], Iterable[Any]]] = None
        self._iterable: Optional[Iterable[Any]] = None
        self._read_at = read_at
        if read_at is not None:
            pass
        elif isinstance(chunks, (bytes, bytearray, memoryview)):
            data = bytes(chunks)  # a private copy: the caller may change a bytearray later
            if len(data) != size:
                raise SizeMismatchError(
                    f"memory entry {name!r}: declared {size} bytes, the buffer holds {len(data)}"
                )
            self._data = memoryview(data)
        elif callable(chunks):
            self._factory = chunks
        else:
            try:
                iter(chunks)
            except TypeError:
                raise TypeError(
                    "chunks must be bytes-like, an iterable of bytes-like chunks, "
                    "or a callable returning one"
                ) from None
            self._iterable = chunks
        self._iter: Optional[Iterator[Any]] = None
        self._pos = 0  # content offset of the next byte the iterator yields
        self._pending: Optional[memoryview] = None  # bytes pulled but not fed yet
        self._spent = False

    def _restart(self, offset: int) -> None:
        """Positions the iterator so that the next bytes it gives are at ``offset``."""
        if self._iter is None or self._pos > offset:
            if self._factory is not None:
                self._iter = iter(self._factory())
            elif not self._spent:
                assert self._iterable is not None
                self._iter = iter(self._iterable)
                self._spent = True
            else:
                raise StateError(
                    f"memory entry {self.name!r}: its chunks were already consumed up to byte "
                    f"{self._pos} and the stream asks for byte {offset}; pass bytes or a callable "
                    "returning a fresh iterable to replay it",
                )
            self._pos = 0
            self._pending = None
        while self._pos < offset:
            piece = self._next_piece()
            if piece is None:
                return  # short: the feed will report it
            skip = min(len(piece), offset - self._pos)
            self._pos += skip
            if skip < len(piece):
                self._pending = piece[skip:]

    def _next_piece(self) -> Optional[memoryview]:
        """The next non-empty bytes (pending ones first), or None when the iterable is exhausted."""
        if self._pending is not None:
            piece, self._pending = self._pending, None
            return piece
        assert self._iter is not None
        for chunk in self._iter:
            view = _as_bytes_view(chunk)
            if view.nbytes:
                return view
        return None

    def feed(self, handle: NativeHandle, offset: int, remaining: int) -> None:
        """Answers a NEED_DATA event for content ``offset`` with ``remaining`` bytes still owed."""
        if self._data is not None:
            piece: Optional[memoryview] = self._data[offset : offset + min(remaining, _PIECE)]
            if not piece:
                piece = None
        elif self._read_at is not None:
            want = min(remaining, _PIECE)
            piece = _as_bytes_view(self._read_at(offset, want))[:want] or None
        else:
            if self._iter is None or self._pos != offset:
                self._restart(offset)
            piece = self._next_piece()
        if piece is None:
            handle.call(_lib.LIB.tt_feed_end)  # raises SizeMismatchError: the entry is short
            return
        ptr, n, keep = in_buffer(piece, "chunk")
        handle.call(_lib.LIB.tt_feed, ptr, ctypes.c_size_t(n))  # too long: SizeMismatchError
        del keep
        self._pos = offset + n

    def fed_to_the_end(self) -> bool:
        """True once the last feed reached the entry's declared size."""
        return self._pos >= self.size

    def finish(self) -> None:
        """After the entry's last byte: an iterable with more non-empty chunks is too long."""
        if self._data is not None or self._read_at is not None or self._iter is None:
            return
        extra = self._next_piece()
        if extra is not None:
            self._pending = extra
            raise SizeMismatchError(
                f"size mismatch: memory entry {self.name!r}: declared {self.size} bytes, "
                "its chunks hold more",
            )

    def check_empty(self) -> None:
        """For a declared size of 0 (the engine stores no source): the chunks must be empty."""
        if self._data is not None:
            return
        source = self._factory() if self._factory is not None else self._iterable
        assert source is not None
        for chunk in source:
            if _as_bytes_view(chunk).nbytes:
                raise SizeMismatchError(
                    f"size mismatch: memory entry {self.name!r}: declared 0 bytes, its chunks hold more"
                )
        self._spent = self._factory is None


class ReadAtSource:
    """A Python callable ``read_at(offset, size) -> bytes`` behind a ``tt_read_at_fn``.

    The engine may call it from several threads at once (``read_at`` and streaming), so the
    callable must be thread-safe. An exception in it fails the read; the exception is kept and
    chained to the ``TarTapeError`` the tape raises.
    """

    def __init__(self, name: bytes, size: int, read_at: Callable[[int, int], Any]) -> None:
        self.name = name
        self.size = size
        self._read_at = read_at
        self.error: Optional[BaseException] = None
        self.c_function = _lib.tt_read_at_fn(self._call)

    def _call(self, _userdata: Any, offset: int, buf: Any, length: int) -> int:
        try:
            data = self._read_at(offset, length)
            if not isinstance(data, bytes):
                data = _as_bytes_view(data).tobytes()
            n = min(len(data), length)
            if n:
                ctypes.memmove(buf, data, n)
            return n
        except BaseException as e:  # never let an exception unwind into C
            self.error = e
            return -1
