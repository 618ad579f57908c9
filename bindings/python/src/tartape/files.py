"""File views of a tape: :class:`TapeFile`, a seekable read-only window over its archive bytes.

``Tape.as_file()`` is the window over the whole archive; volumes (``Tape.iter_volumes``, to come)
will be windows ``[start, start + length)`` of the same class.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Optional

from ._convert import out_view, u64
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .tape import Tape

__all__ = ["TapeFile"]


class TapeFile(io.RawIOBase):
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

    @property
    def tape(self) -> "Tape":
        """The tape this file reads."""
        return self._tape

    @property
    def start(self) -> int:
        """The archive offset of this file's byte 0."""
        return self._start

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
        n = self._tape.readinto_at(self._start + self._pos, view[:want])
        self._pos += n
        return n

    def readall(self) -> bytes:
        """Everything from the position to the end, in one read."""
        self._checkClosed()
        want = max(0, self._length - self._pos)
        data = self._tape.read_at(self._start + self._pos, want)
        self._pos += len(data)
        return data

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pos={self._pos}"
        return f"<TapeFile [{self._start}, {self._start + self._length}) {state}>"
