"""Typed stream events: :class:`FileStart`, :class:`Data`, :class:`FileEnd`, :class:`TapeCompleted`.

``Tape.events()`` yields all four; ``Tape.play()`` yields the bytes and passes the others to its
``on_event`` callback. Each class has a ``type`` string ("file_start", "file_data", "file_end",
"tape_completed") for code written against the pure-Python TarTape's events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Optional, Union

from . import _lib
from .entries import EntryKind, decode_name

__all__ = ["EventType", "FileStart", "Data", "FileEnd", "TapeCompleted", "Event"]


class EventType(enum.IntEnum):
    """What an event is (``tt_event_type``)."""

    FILE_START = _lib.TT_EVENT_TYPE_FILE_START
    DATA = _lib.TT_EVENT_TYPE_DATA
    NEED_DATA = _lib.TT_EVENT_TYPE_NEED_DATA
    FILE_END = _lib.TT_EVENT_TYPE_FILE_END
    TAPE_COMPLETED = _lib.TT_EVENT_TYPE_TAPE_COMPLETED


@dataclass(frozen=True)
class FileStart:
    """An entry begins. ``resumed`` is True when the stream started inside it."""

    type: ClassVar[str] = "file_start"
    #: The entry's position in the layout.
    index: int
    #: The archive name as stored.
    name_bytes: bytes
    #: File, directory or symlink.
    kind: EntryKind
    #: Content size.
    size: int
    #: Where the entry's header starts.
    header_offset: int
    #: True when the stream started inside this entry (its header was not all emitted).
    resumed: bool

    @property
    def name(self) -> str:
        """The archive name as ``str``."""
        return decode_name(self.name_bytes)


@dataclass(frozen=True)
class Data:
    """Archive bytes ``data`` at archive offset ``offset``; ``index`` is None for the trailer."""

    type: ClassVar[str] = "file_data"
    #: The entry the bytes belong to, or None for the end-of-archive trailer.
    index: Optional[int]
    #: Where the bytes start in the archive.
    offset: int
    #: The bytes (a copy: they stay valid).
    data: bytes


@dataclass(frozen=True)
class FileEnd:
    """An entry is done. ``md5`` is the hex MD5 of its content when hashing was on and the whole
    content passed through this stream (not for a stream resumed inside the entry)."""

    type: ClassVar[str] = "file_end"
    #: The entry's position in the layout.
    index: int
    #: The archive name as stored.
    name_bytes: bytes
    #: File, directory or symlink.
    kind: EntryKind
    #: Content size.
    size: int
    #: Where the entry with its padding ends.
    end_offset: int
    #: The MD5 of the content as 32 hex digits, or None.
    md5: Optional[str]
    #: The SHA-256 recorded when the tape was built (``checksums={"sha256", ...}``), 64 hex
    #: digits, or None.
    sha256: Optional[str] = None
    #: The CRC-32C recorded when the tape was built (``checksums={"crc32c", ...}``), 8 hex digits
    #: (big-endian), or None.
    crc32c: Optional[str] = None

    @property
    def name(self) -> str:
        """The archive name as ``str``."""
        return decode_name(self.name_bytes)

    @property
    def md5sum(self) -> Optional[str]:
        """Alias of ``md5`` (the pure-Python TarTape's name)."""
        return self.md5


@dataclass(frozen=True)
class TapeCompleted:
    """The whole archive, trailer included, has been emitted."""

    type: ClassVar[str] = "tape_completed"
    #: The archive's total size.
    total_size: int


#: Any event ``Tape.events()`` yields.
Event = Union[FileStart, Data, FileEnd, TapeCompleted]
