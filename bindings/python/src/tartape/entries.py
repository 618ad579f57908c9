"""Plain data about a tape's entries: :class:`Entry`, :class:`EntryKind`, :class:`Skipped`."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Union

from . import _lib

__all__ = ["EntryKind", "Entry", "Skipped", "decode_name", "encode_name", "normalize_name"]


class EntryKind(enum.IntEnum):
    """What kind of entry (``tt_entry_kind``)."""

    FILE = _lib.TT_ENTRY_KIND_FILE
    DIR = _lib.TT_ENTRY_KIND_DIR
    SYMLINK = _lib.TT_ENTRY_KIND_SYMLINK


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
