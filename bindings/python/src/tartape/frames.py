"""Seekable compressed tapes: a TAR tape whose frames are recorded once
(:meth:`Tape.record_frames`), so that its compressed archive (zstd frames and the zstd seekable
format's seek table, or gzip members) has a known size and is read at any offset, resumed at any
byte, cut into volumes and saved in catalogs like a plain TAR.

``Tape.frames`` is a :class:`Frames` sequence of :class:`Frame` (None for a tape without frames).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, List, Optional, Union, overload

from . import _lib
from ._convert import u64
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .tape import Tape

__all__ = ["Frame", "Frames", "DEFAULT_FRAME_SIZE"]

#: Uncompressed bytes per frame unless told otherwise (1 MiB); 64 KiB to 64 MiB are allowed.
DEFAULT_FRAME_SIZE = 1 << 20

_CODES = {"gzip": _lib.TT_COMPRESSION_GZIP, "zstd": _lib.TT_COMPRESSION_ZSTD}
_NAMES = {code: name for name, code in _CODES.items()}


@dataclass(frozen=True)
class Frame:
    """One frame: TAR bytes ``[tar_offset, tar_end)`` compress to archive bytes
    ``[offset, end)``, a zstd frame or gzip member that decompresses on its own."""

    index: int
    tar_offset: int
    tar_length: int
    offset: int
    length: int

    @property
    def tar_end(self) -> int:
        """Where the frame ends in the TAR."""
        return self.tar_offset + self.tar_length

    @property
    def end(self) -> int:
        """Where the frame ends in the compressed archive."""
        return self.offset + self.length


class Frames:
    """The frames of a seekable compressed tape, in archive order: a sequence of :class:`Frame`
    read from the tape as they are asked for (``len``, indexes, slices, iteration), with what
    they are made of. Valid while the tape is open."""

    def __init__(self, tape: "Tape", info: "_lib.tt_frames_info") -> None:
        self._tape = tape
        self._count = int(info.count)
        #: ``"zstd"`` or ``"gzip"``.
        self.compression: str = _NAMES.get(int(info.compression), "unknown")
        #: The level (the default resolved: gzip 6, zstd 3).
        self.level: int = int(info.level)
        #: The threads streams compress frames on (:meth:`Tape.set_frame_threads`).
        self.threads: int = int(info.threads)
        #: The uncompressed size of a frame (the last one may be shorter).
        self.frame_size: int = int(info.frame_size)
        #: The uncompressed TAR's size.
        self.tar_size: int = int(info.tar_size)
        #: Where the last frame ends (the zstd seek table starts there).
        self.frames_end: int = int(info.frames_end)
        #: The seek table's length: 0 for gzip.
        self.seek_table_length: int = int(info.seek_table_length)
        #: The compressed archive's size (``Tape.total_size``).
        self.total_size: int = int(info.total_size)
        #: The library and version that made the recorded sizes (``"libzstd 1.5.7"``).
        self.engine: str = (info.engine or b"").decode("utf-8", "replace")

    def __len__(self) -> int:
        return self._count

    def _frame(self, k: int) -> Frame:
        out = _lib.tt_frame()
        self._tape._call(_lib.function("tt_tape_frame"), k, ctypes.byref(out))
        return Frame(k, out.tar_offset, out.tar_length, out.offset, out.length)

    @overload
    def __getitem__(self, k: int) -> Frame: ...

    @overload
    def __getitem__(self, k: slice) -> List[Frame]: ...

    def __getitem__(self, k: Union[int, slice]) -> Union[Frame, List[Frame]]:
        if isinstance(k, slice):
            return [self._frame(i) for i in range(*k.indices(self._count))]
        k = int(k)
        if k < 0:
            k += self._count
        if not 0 <= k < self._count:
            raise IndexError(f"frame {k}: the tape has {self._count} frames")
        return self._frame(k)

    def __iter__(self) -> Iterator[Frame]:
        for k in range(self._count):
            yield self._frame(k)

    def find(self, tar_offset: int) -> Frame:
        """The frame holding byte ``tar_offset`` of the uncompressed TAR (an entry's
        ``header_offset``, say); ``NotFoundError`` at or past the TAR's end."""
        k = ctypes.c_uint64()
        self._tape._call(_lib.function("tt_tape_frame_find"), u64(tar_offset, "tar_offset"), ctypes.byref(k))
        return self._frame(k.value)

    def __repr__(self) -> str:
        return (
            f"<Frames {self._count} {self.compression} level {self.level} frames of {self.frame_size}: "
            f"{self.tar_size} TAR bytes in {self.total_size}>"
        )


def compression_code(compression: str) -> int:
    """The ``tt_compression`` value of ``"zstd"`` or ``"gzip"``."""
    try:
        return _CODES[compression]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"frames of compression {compression!r}: use 'zstd' or 'gzip'") from None


def frames_of(tape: "Tape") -> Optional[Frames]:
    """The tape's frames, or None without any."""
    info = _lib.tt_frames_info()
    with tape._handle.using() as ptr:
        if not _lib.function("tt_tape_frame_count")(ptr):
            return None
    tape._call(_lib.function("tt_tape_frames_info"), ctypes.byref(info))
    return Frames(tape, info)
