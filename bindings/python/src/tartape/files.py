"""File views of a tape: seekable, read-only windows over its archive bytes.

:class:`TapeFile` (``Tape.as_file()``) is a window ``[start, start + length)`` read through the
tape; :class:`Volume` (``Tape.iter_volumes``, ``Tape.volume``) is the window of one part, read
through its own native ``tt_volume`` (which keeps the tape's layout alive, so a volume stays
readable after its tape is closed). Both keep their position in Python and read with the engine's
thread-safe read-at functions straight into the caller's buffer.
"""

from __future__ import annotations

import ctypes
import io
import weakref
from typing import TYPE_CHECKING, Any, List, Optional

from . import _lib
from ._convert import out_view, u64
from ._handle import NativeHandle, attach_finalizer
from .entries import ManifestItem, Role
from .errors import ClosedError, InvalidArgumentError

if TYPE_CHECKING:
    from .tape import Tape

__all__ = ["TapeFile", "Volume"]


class _Window(io.RawIOBase):
    """The file logic of a window of ``length`` bytes: position, seek, ``readinto``."""

    _length: int
    _pos: int

    def _readinto_at(self, pos: int, view: memoryview) -> int:
        raise NotImplementedError

    def _checkClosed(self, msg: Optional[str] = None) -> None:
        """A closed file raises ``ClosedError`` (a ``ValueError``, as ``io`` expects)."""
        if self.closed:
            raise ClosedError(msg or "I/O operation on closed file", _lib.TT_STATUS_STATE)

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        return self._length

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        self._checkClosed()
        return True

    def seekable(self) -> bool:
        self._checkClosed()
        return True

    def writable(self) -> bool:
        self._checkClosed()
        return False

    def tell(self) -> int:
        self._checkClosed()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._length + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        """Reads into ``buffer`` directly (no intermediate copy); 0 at the end."""
        self._checkClosed()
        view = out_view(buffer)
        want = min(view.nbytes, max(0, self._length - self._pos))
        if want == 0:
            return 0
        n = self._readinto_at(self._pos, view[:want])
        self._pos += n
        return n

    def readall(self) -> bytes:
        """Everything from the position to the end, in one read."""
        self._checkClosed()
        want = max(0, self._length - self._pos)
        buf = bytearray(want)
        got = 0
        while got < want:
            n = self._readinto_at(self._pos + got, memoryview(buf)[got:])
            if n == 0:
                break
            got += n
        del buf[got:]
        self._pos += got
        return bytes(buf)


class TapeFile(_Window):
    """A read-only, seekable binary file over archive bytes ``[start, start + length)``.

    Reads go through ``Tape.readinto_at``: straight into the caller's buffer, thread-safe, and
    several files over one tape keep their own positions. Closing the file leaves the tape open.
    """

    def __init__(self, tape: "Tape", start: int = 0, length: Optional[int] = None) -> None:
        super().__init__()
        total = tape.total_size
        start = u64(start, "start")
        if start > total:
            raise InvalidArgumentError(f"start {start} is past the end ({total} bytes)")
        length = total - start if length is None else u64(length, "length")
        if start + length > total:
            raise InvalidArgumentError(f"window [{start}, {start + length}) is past the end ({total} bytes)")
        self._tape = tape
        self._start = start
        self._length = length
        self._pos = 0

    def _readinto_at(self, pos: int, view: memoryview) -> int:
        return self._tape.readinto_at(self._start + pos, view)

    @property
    def tape(self) -> "Tape":
        """The tape this file reads."""
        return self._tape

    @property
    def start(self) -> int:
        """The archive offset of this file's byte 0."""
        return self._start

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pos={self._pos}"
        return f"<TapeFile [{self._start}, {self._start + self._length}) {state}>"


class Volume(_Window):
    """Part ``part`` of a tape cut in parts of ``part_size`` bytes: a read-only, seekable binary
    file (``io.RawIOBase``) with its :attr:`manifest`.

    ``name`` is ``part-0000``, ``part-0001``... (0-based, at least 4 digits, like the files of the
    ``tartape volumes`` command without their ``.tar``). ``start`` is the part's archive offset.
    ``readinto`` reads straight into the caller's buffer (``tt_volume_read_at``), and ``read_at``
    may be called from several threads. Closing the volume (or leaving its ``with`` block) frees
    the native volume; it does not close the tape, and a volume stays readable after its tape is
    closed.
    """

    def __init__(
        self,
        handle: NativeHandle,
        part: int,
        part_size: int,
        count: int,
        keepalive: List[Any],
    ) -> None:
        super().__init__()
        self._handle = handle
        # Python callbacks (read-at sources) of the tape the native volume may call: kept alive
        # for as long as the volume, even when the tape is closed first.
        handle.keepalive.extend(keepalive)
        self._finalizer: "weakref.finalize[[], object]" = attach_finalizer(self, handle)
        self.part = part
        self.part_size = part_size
        self.name = f"part-{part:0{max(4, len(str(count)))}d}"
        start, length = ctypes.c_uint64(), ctypes.c_uint64()
        handle.call(_lib.LIB.tt_volume_range, ctypes.byref(start), ctypes.byref(length))
        self.start = start.value
        self._length = length.value
        self._pos = 0
        self.manifest = self._read_manifest()

    def _read_manifest(self) -> List[ManifestItem]:
        count = ctypes.c_uint64()
        self._handle.call(_lib.LIB.tt_volume_manifest_count, ctypes.byref(count))
        items = []
        item = _lib.tt_manifest_item()
        for i in range(count.value):
            with self._handle.using() as ptr:  # the name is the volume's: copy it now
                status = _lib.LIB.tt_volume_manifest_item(ptr, i, ctypes.byref(item))
                ok = status == _lib.TT_STATUS_OK
                message = None if ok else self._handle.message(ptr)
                name = ctypes.string_at(item.name, item.name_len) if ok and item.name_len else b""
            self._handle.check(status, message)
            items.append(
                ManifestItem(
                    index=item.index,
                    name_bytes=name,
                    role=Role(item.role),
                    range=(item.range_start, item.range_end),
                    content_range=(item.content_start, item.content_end),
                    content_offset=item.content_offset,
                    size=item.size,
                )
            )
        return items

    def _readinto_at(self, pos: int, view: memoryview) -> int:
        n = view.nbytes
        nread = ctypes.c_size_t()
        arr = (ctypes.c_uint8 * n).from_buffer(view)
        try:
            self._handle.call(_lib.LIB.tt_volume_read_at, pos, arr, n, ctypes.byref(nread))
        finally:
            del arr
        return nread.value

    def readinto_at(self, offset: int, buffer: Any) -> int:
        """Fills ``buffer`` with the part's bytes at ``offset`` (within the part) without moving
        the position; returns how many it wrote (0 at or past the end). Thread-safe."""
        self._checkClosed()
        offset = u64(offset, "offset")
        view = out_view(buffer)
        if view.nbytes == 0 or offset >= self._length:
            return 0
        return self._readinto_at(offset, view[: min(view.nbytes, self._length - offset)])

    def read_at(self, offset: int, size: int) -> bytes:
        """The part's bytes ``[offset, offset + size)`` (shorter at its end). Thread-safe."""
        offset, size = u64(offset, "offset"), u64(size, "size")
        buf = bytearray(max(0, min(size, self._length - offset)))
        del buf[self.readinto_at(offset, buf) :]
        return bytes(buf)

    def md5(self) -> str:
        """The MD5 of the part's bytes (reads the whole part), as hex."""
        self._checkClosed()
        out = (ctypes.c_uint8 * 16)()
        self._handle.call(_lib.LIB.tt_volume_md5, out)
        return bytes(out).hex()

    def close(self) -> None:
        """Frees the native volume. Idempotent."""
        if not self.closed:
            super().close()
        self._handle.close()
        self._finalizer.detach()

    def __enter__(self) -> "Volume":
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pos={self._pos}"
        return f"<Volume {self.name} [{self.start}, {self.start + self._length}) {state}>"
