"""Plain data about a tape's entries: :class:`Entry`, :class:`EntryKind`, :class:`Skipped`, and
where entries lie in volumes: :class:`Location`, :class:`Role`, :class:`ManifestItem`."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, fields
from typing import Optional, Tuple, Union

from . import _lib

__all__ = [
    "EntryKind",
    "Entry",
    "Location",
    "Role",
    "ManifestItem",
    "Skipped",
    "decode_name",
    "encode_name",
    "normalize_name",
]


class EntryKind(enum.IntEnum):
    """What kind of entry (``tt_entry_kind``). A tape holds files, directories and symlinks; an
    archive being read (:class:`~tartape.ArchiveEntry`) may hold any kind."""

    FILE = _lib.TT_ENTRY_KIND_FILE
    DIR = _lib.TT_ENTRY_KIND_DIR
    SYMLINK = _lib.TT_ENTRY_KIND_SYMLINK
    HARDLINK = _lib.TT_ENTRY_KIND_HARDLINK
    CHAR_DEVICE = _lib.TT_ENTRY_KIND_CHAR_DEVICE
    BLOCK_DEVICE = _lib.TT_ENTRY_KIND_BLOCK_DEVICE
    FIFO = _lib.TT_ENTRY_KIND_FIFO
    OTHER = _lib.TT_ENTRY_KIND_OTHER


def decode_name(raw: bytes) -> str:
    """An archive name as ``str``: UTF-8, with undecodable bytes kept as surrogates (reversible)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]) -> bytes:
    """An archive name as the bytes the C API takes (``str`` is encoded as UTF-8)."""
    name = os.fspath(name)
    if isinstance(name, bytes):
        return name
    return name.encode("utf-8", "surrogateescape")


def normalize_name(name: Union[str, bytes]) -> bytes:
    """The normal form the engine gives names: no ``.`` components, no empty, leading-less slashes.

    Only used to look names up; the engine validates names itself when they are added.
    """
    raw = encode_name(name)
    return b"/".join(c for c in raw.split(b"/") if c not in (b"", b"."))


@dataclass(frozen=True)
class Entry:
    """One entry of a sealed tape's layout (``tt_entry_info``).

    Offsets are archive byte offsets: the header starts at ``header_offset``, the content at
    ``data_offset``, and the entry with its padding ends at ``end_offset`` (the next header).
    """

    #: Position in the layout (0-based).
    index: int
    #: The archive name as stored (bytes, not NUL-terminated).
    name_bytes: bytes
    #: File, directory or symlink.
    kind: EntryKind
    #: Content size in bytes (0 for directories and symlinks).
    size: int
    #: Permission bits.
    mode: int
    #: Modification time, seconds since the epoch.
    mtime: int
    #: Where the header (pax header included) starts.
    header_offset: int
    #: Where the content starts.
    data_offset: int
    #: Where the entry with its padding ends.
    end_offset: int
    #: The symlink target as stored (empty for other kinds).
    link_bytes: bytes = b""
    #: False for memory entries fed while streaming: ``read_at`` cannot read their bytes.
    random_access: bool = True

    @property
    def name(self) -> str:
        """The archive name as ``str`` (UTF-8, undecodable bytes as surrogates)."""
        return decode_name(self.name_bytes)

    @property
    def link(self) -> str:
        """The symlink target as ``str``."""
        return decode_name(self.link_bytes)

    @property
    def is_file(self) -> bool:
        """True for a regular file."""
        return self.kind == EntryKind.FILE

    @property
    def is_dir(self) -> bool:
        """True for a directory."""
        return self.kind == EntryKind.DIR

    @property
    def is_symlink(self) -> bool:
        """True for a symbolic link."""
        return self.kind == EntryKind.SYMLINK


@dataclass(frozen=True)
class Skipped:
    """A special file (FIFO, socket, device) met in a walk and left out of the tape."""

    #: Its path on disk.
    path: str
    #: "fifo", "socket", "character device" or "block device".
    kind: str


@dataclass(frozen=True, eq=False)
class Location(Entry):
    """What :meth:`Tape.locate` returns: the :class:`Entry` (every field and property of one),
    and, when a ``part_size`` was given, which parts of that size hold its bytes.

    ``location.entry`` is the plain :class:`Entry`. A location compares equal to its plain entry
    (so ``tape.locate(name) == tape.entries[i]`` holds, as when ``locate`` returned an Entry), and
    to another location of the same entry and part numbers.
    """

    #: The part size the part numbers are for (None when ``locate`` was not given one).
    part_size: Optional[int] = None
    #: The first part (0-based) holding any byte of the entry, header included.
    first_part: Optional[int] = None
    #: The last part holding any byte of the entry, padding included.
    last_part: Optional[int] = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Location):
            return self._key() == other._key()
        if type(other) is Entry:
            return self.entry == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.entry)

    def _key(self) -> Tuple[object, ...]:
        return (self.entry, self.part_size, self.first_part, self.last_part)

    @property
    def entry(self) -> Entry:
        """The entry alone, without the part numbers."""
        return Entry(**{f.name: getattr(self, f.name) for f in fields(Entry)})

    @property
    def parts(self) -> range:
        """The parts holding the entry (``range(first_part, last_part + 1)``)."""
        if self.first_part is None or self.last_part is None:
            raise ValueError("locate() was called without a part_size")
        return range(self.first_part, self.last_part + 1)


class Role(enum.IntEnum):
    """How an entry lies in a part (``tt_role``)."""

    #: Header to padding, all in this part.
    WHOLE = _lib.TT_ROLE_WHOLE
    #: Starts in this part and goes on in the next.
    HEAD = _lib.TT_ROLE_HEAD
    #: Started in an earlier part and goes on after this one.
    BODY = _lib.TT_ROLE_BODY
    #: Started in an earlier part and ends in this one.
    TAIL = _lib.TT_ROLE_TAIL


@dataclass(frozen=True)
class ManifestItem:
    """One entry of a volume's manifest (``tt_manifest_item``). Ranges are ``(start, end)`` byte
    offsets within the part, end exclusive."""

    #: The entry's index in the tape.
    index: int
    #: The archive name as stored.
    name_bytes: bytes
    #: Whole, head, body or tail.
    role: Role
    #: The entry's bytes in the part (header, content, padding).
    range: Tuple[int, int]
    #: The entry's content bytes in the part (empty, ``start == end``, when none).
    content_range: Tuple[int, int]
    #: Which byte of the entry's content lies at ``content_range[0]``.
    content_offset: int
    #: The entry's whole content size.
    size: int

    @property
    def name(self) -> str:
        """The archive name as ``str``."""
        return decode_name(self.name_bytes)
