"""Reading archives: :func:`open_archive` lists a TAR or ZIP (ours or anyone's) and reads members.

``open_archive(path_or_bytes)`` detects the format from the content and lists every entry as an
:class:`ArchiveEntry`; :meth:`Archive.open` gives a member's content as a seekable, read-only
binary file (:class:`Member`, an ``io.RawIOBase`` reading straight into the caller's buffer), and
:meth:`Archive.read` gives it as bytes. Nothing is extracted to disk: names are reported as they
are, with ``unsafe_name`` set for absolute names, ``..`` components, NULs or empty names.

Members of an archive can be copied into a new tape without extracting them
(:meth:`TapeBuilder.add_member <tartape.TapeBuilder.add_member>`): ZIP to TAR, TAR to ZIP, or
some members of a bundle and not others.
"""

from __future__ import annotations

import ctypes
import io
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Union

from . import _lib
from ._convert import i64, in_buffer, out_view, u64
from ._handle import NativeHandle, attach_finalizer
from .entries import EntryKind, decode_name, encode_name
from .errors import ClosedError, InvalidArgumentError, NotFoundError, error_for_status

__all__ = ["open_archive", "Archive", "ArchiveEntry", "Member"]

#: ``ArchiveEntry.method`` values: stored and deflate (the only two the reader decompresses).
METHOD_STORED = 0
METHOD_DEFLATE = 8

_MSG_LEN = 1024


def _message_copier(message_fn: Callable[[Any], Optional[bytes]]) -> Callable[[Any, Any, int], int]:
    """A ``tt_*_error_copy``-shaped function over a ``tt_*_error_message`` getter.

    The archive and member messages have no thread-safe copy function in the C API: the Python
    objects call their handles under their own lock, so the message is read by the thread whose
    call failed, before any other call on the handle.
    """

    def copy(ptr: Any, buf: Any, size: int) -> int:
        raw = message_fn(ptr) or b""
        if size > 0:
            n = min(len(raw), size - 1)
            ctypes.memmove(buf, raw, n)
            ctypes.memset(ctypes.addressof(buf) + n, 0, 1)
        return len(raw)

    return copy


@dataclass(frozen=True)
class ArchiveEntry:
    """One entry of an archive being read (``tt_archive_entry_info``).

    ``name`` is the name decoded as UTF-8 with undecodable bytes kept as surrogates
    (``surrogateescape``: ``encode_name(entry.name) == entry.name_bytes``); ``name_bytes`` is the
    name as stored. ``size`` is the content's real size (uncompressed, or expanded for a sparse
    TAR member); ``compressed_size`` the bytes it occupies in the archive. ``method`` is the ZIP
    compression method (0 stored, 8 deflate, others unsupported) and 0 for TAR; ``crc32`` is the
    ZIP CRC-32 (0 for TAR). ``link`` is the target of a symlink or hard link.
    """

    index: int
    name: str
    name_bytes: bytes
    kind: EntryKind
    mode: int
    mtime: int
    size: int
    compressed_size: int
    method: int
    crc32: int
    link: str
    link_bytes: bytes
    header_offset: int
    data_offset: int
    flags: int
    #: Absolute, with a ``..`` component, a NUL, or empty: unsafe to extract as is.
    unsafe_name: bool
    #: The content is encrypted: opening it raises ``UnsupportedError``.
    encrypted: bool
    #: A sparse TAR member (its content is expanded when read).
    sparse: bool

    @property
    def is_file(self) -> bool:
        return self.kind == EntryKind.FILE

    @property
    def is_dir(self) -> bool:
        return self.kind == EntryKind.DIR

    @property
    def is_symlink(self) -> bool:
        return self.kind == EntryKind.SYMLINK

    @property
    def deflated(self) -> bool:
        """The content is deflate-compressed (a ZIP member): reading it is sequential."""
        return self.method == METHOD_DEFLATE


def _kind(value: int) -> EntryKind:
    try:
        return EntryKind(value)
    except ValueError:  # a kind newer than these bindings
        return EntryKind.OTHER


_COMPRESSION_NAMES = {
    _lib.TT_COMPRESSION_NONE: "none",
    _lib.TT_COMPRESSION_GZIP: "gzip",
    _lib.TT_COMPRESSION_ZSTD: "zstd",
    _lib.TT_COMPRESSION_XZ: "xz",
    _lib.TT_COMPRESSION_BZIP2: "bzip2",
}


class Archive:
    """An open TAR or ZIP archive: its :attr:`entries` and readers of its members.

    Made by :func:`open_archive`. A context manager; ``close()`` frees it (members already opened
    stay readable until they are closed). Thread-safe: members may be opened and read from
    several threads (each :class:`Member` from one thread at a time).
    """

    def __init__(self, handle: NativeHandle, source: str) -> None:
        self._handle = handle
        self._finalizer = attach_finalizer(self, handle)
        self._lock = threading.Lock()  # one failing call at a time: messages are per archive
        self.source = source
        self._entries = self._list()

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        with self._lock:
            return self._handle.call(fn, *args)

    @property
    def compression(self) -> str:
        """The compression around the archive, detected by its magic bytes: ``"none"``,
        ``"gzip"``, ``"zstd"``, ``"xz"`` or ``"bzip2"``. Entry offsets of a compressed archive
        are offsets in its uncompressed bytes."""
        with self._handle.using() as ptr:
            code = int(_lib.LIB.tt_archive_compression(ptr))
        return _COMPRESSION_NAMES.get(code, "none")

    def save_index(self, path: Union[str, "os.PathLike[str]", "os.PathLike[bytes]"]) -> None:
        """Saves the restart points of a compressed archive to ``path`` (atomically), for
        ``open_archive(file, index=path)``. ``InvalidArgumentError`` for a plain archive."""
        raw = os.fsencode(path)
        if b"\0" in raw:
            raise InvalidArgumentError(f"path {raw!r} contains a NUL byte")
        self._call(_lib.LIB.tt_archive_save_index, raw)

    def _list(self) -> List[ArchiveEntry]:
        out: List[ArchiveEntry] = []
        info = _lib.tt_archive_entry_info()
        with self._handle.using() as ptr:
            count = int(_lib.LIB.tt_archive_entry_count(ptr))
        for i in range(count):
            with self._lock, self._handle.using() as ptr:  # names borrow from the archive: copy
                status = _lib.LIB.tt_archive_entry(ptr, i, ctypes.byref(info))
                ok = status == _lib.TT_STATUS_OK
                message = None if ok else self._handle.message(ptr)
                name = ctypes.string_at(info.name, info.name_len) if ok and info.name_len else b""
                link = ctypes.string_at(info.link, info.link_len) if ok and info.link_len else b""
            self._handle.check(status, message)
            flags = info.flags
            out.append(
                ArchiveEntry(
                    index=i,
                    name=decode_name(name),
                    name_bytes=name,
                    kind=_kind(info.kind),
                    mode=info.mode,
                    mtime=info.mtime,
                    size=info.size,
                    compressed_size=info.compressed_size,
                    method=info.method,
                    crc32=info.crc32,
                    link=decode_name(link),
                    link_bytes=link,
                    header_offset=info.header_offset,
                    data_offset=info.data_offset,
                    flags=flags,
                    unsafe_name=bool(flags & _lib.TT_ARCHIVE_FLAG_UNSAFE_NAME),
                    encrypted=bool(flags & _lib.TT_ARCHIVE_FLAG_ENCRYPTED),
                    sparse=bool(flags & _lib.TT_ARCHIVE_FLAG_SPARSE),
                )
            )
        return out

    # --- lifetime ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def close(self) -> None:
        """Frees the archive. Idempotent. Open members stay readable until closed."""
        self._handle.close()
        self._finalizer.detach()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._entries)} entries"
        return f"<Archive {self.source!r} {state}>"

    # --- listing -----------------------------------------------------------------------------

    @property
    def entries(self) -> List[ArchiveEntry]:
        """Every entry, in archive order (a new list on each access)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ArchiveEntry]:
        return iter(list(self._entries))

    def names(self) -> List[str]:
        """Every entry's name, in archive order."""
        return [e.name for e in self._entries]

    def find(self, name: Union[str, bytes]) -> Optional[ArchiveEntry]:
        """The last entry named ``name`` (a trailing ``/`` is ignored on both sides), or None."""
        ptr, n, keep = in_buffer(encode_name(name), "name")
        index = ctypes.c_uint64()
        with self._lock, self._handle.using() as h:
            status = _lib.LIB.tt_archive_find(h, ptr, n, ctypes.byref(index))
            message = None if status == _lib.TT_STATUS_OK else self._handle.message(h)
        del keep
        if status == _lib.TT_STATUS_NOT_FOUND:
            return None
        self._handle.check(status, message)
        return self._entries[index.value]

    def entry(self, which: Union[str, bytes, int, ArchiveEntry]) -> ArchiveEntry:
        """The entry for a name, an index or an entry of this archive; ``NotFoundError`` if none."""
        if isinstance(which, ArchiveEntry):
            index = which.index
            if index < len(self._entries) and self._entries[index] == which:
                return which
            raise NotFoundError(f"{which.name!r} (entry {index}) is not an entry of this archive")
        if isinstance(which, int) and not isinstance(which, bool):
            if 0 <= which < len(self._entries):
                return self._entries[which]
            raise NotFoundError(f"no entry {which} (the archive has {len(self._entries)})")
        entry = self.find(which)
        if entry is None:
            raise NotFoundError(f"no entry named {decode_name(encode_name(which))!r}")
        return entry

    # --- reading -----------------------------------------------------------------------------

    def open(self, which: Union[str, bytes, int, ArchiveEntry]) -> "Member":
        """A reader of an entry's content: a seekable, read-only binary file (:class:`Member`).

        ``UnsupportedError`` for an encrypted member or a compression method other than stored
        and deflate, ``LimitError`` past the inflation limits, ``NotFoundError`` for no such entry.
        A directory or link reads as empty (a ZIP symlink's content is its target).
        """
        entry = self.entry(which)
        out = ctypes.c_void_p()
        self._call(_lib.LIB.tt_member_open, entry.index, ctypes.byref(out))
        handle = NativeHandle(
            out.value,
            _lib.LIB.tt_member_free,
            _message_copier(_lib.LIB.tt_member_error_message),
            "member",
        )
        return Member(handle, entry)

    def read(self, which: Union[str, bytes, int, ArchiveEntry]) -> bytes:
        """An entry's whole content (a ZIP member's CRC-32 is checked: ``CorruptError``)."""
        with self.open(which) as member:
            return member.readall()


class Member(io.RawIOBase):
    """The content of one archive member: a read-only, seekable binary file.

    ``readinto`` reads straight into the caller's buffer (``tt_member_read``). Stored members
    seek for free; a deflated member seeks cheaply forwards, but reading after a backward seek
    inflates again from the start. A ZIP member's CRC-32 is checked when it is read to the end
    from the start (``CorruptError`` on mismatch). ``entry`` is the member's
    :class:`ArchiveEntry`; ``size`` its content size. A member keeps the archive's data alive,
    so it may outlive the :class:`Archive`. Use it from one thread at a time (a lock makes
    concurrent calls wait rather than race).
    """

    def __init__(self, handle: NativeHandle, entry: ArchiveEntry) -> None:
        super().__init__()
        self._handle = handle
        self._finalizer: "weakref.finalize[[], object]" = attach_finalizer(self, handle)
        self._lock = threading.Lock()
        self._pos = 0
        self.entry = entry

    @property
    def size(self) -> int:
        return self.entry.size

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.entry.name

    def __len__(self) -> int:
        return self.entry.size

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pos={self._pos}"
        return f"<Member {self.entry.name!r} {self.entry.size} bytes {state}>"

    def _checkClosed(self, msg: Optional[str] = None) -> None:
        if self.closed:
            raise ClosedError(msg or "I/O operation on closed file", _lib.TT_STATUS_STATE)

    def close(self) -> None:
        """Frees the native member. Idempotent."""
        if not self.closed:
            with self._lock:
                self._handle.close()
                self._finalizer.detach()
        super().close()

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
        if whence not in (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END):
            raise ValueError(f"invalid whence {whence!r}")
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.entry.size}[whence] + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        pos = ctypes.c_uint64()
        with self._lock:
            self._handle.call(_lib.LIB.tt_member_seek, i64(offset, "offset"), whence, ctypes.byref(pos))
            self._pos = pos.value
        return self._pos

    def readinto(self, buffer: Any) -> int:
        """Reads into ``buffer`` directly (no intermediate copy); 0 at the end."""
        self._checkClosed()
        view = out_view(buffer)
        n = view.nbytes
        if n == 0:
            return 0
        nread = ctypes.c_size_t()
        arr = (ctypes.c_uint8 * n).from_buffer(view)
        try:
            with self._lock:
                self._handle.call(_lib.LIB.tt_member_read, arr, n, ctypes.byref(nread))
                self._pos += nread.value
        finally:
            del arr
        return nread.value

    def readall(self) -> bytes:
        """Everything from the position to the end."""
        self._checkClosed()
        buf = bytearray(max(0, self.entry.size - self._pos))
        got = 0
        while True:
            if got == len(buf):  # one more read confirms the end (and checks the CRC-32)
                buf.extend(bytes(max(1 << 16, len(buf) // 4)))
            n = self.readinto(memoryview(buf)[got:])
            if n == 0:
                break
            got += n
        del buf[got:]
        return bytes(buf)

    def read_at(self, offset: int, length: int) -> bytes:
        """The content bytes ``[offset, offset + length)`` (fewer at the end): a seek and reads
        until ``length`` bytes or the end, under the member's lock (so several threads may call
        it; they take turns)."""
        offset, length = u64(offset, "offset"), u64(length, "length")
        buf = bytearray(length)
        view = memoryview(buf)
        got = 0
        with self._lock:
            self._checkClosed()
            if self._pos != offset:
                pos = ctypes.c_uint64()
                self._handle.call(_lib.LIB.tt_member_seek, i64(offset, "offset"), 0, ctypes.byref(pos))
                self._pos = pos.value
            nread = ctypes.c_size_t()
            while got < length:
                arr = (ctypes.c_uint8 * (length - got)).from_buffer(view[got:])
                try:
                    self._handle.call(_lib.LIB.tt_member_read, arr, length - got, ctypes.byref(nread))
                finally:
                    del arr
                if nread.value == 0:
                    break
                got += nread.value
                self._pos += nread.value
        view.release()
        del buf[got:]
        return bytes(buf)


def open_archive(
    source: Union[str, "os.PathLike[str]", "os.PathLike[bytes]", bytes, bytearray, memoryview],
    index: Optional[Union[str, "os.PathLike[str]", "os.PathLike[bytes]"]] = None,
) -> Archive:
    """Opens a TAR or ZIP archive, detecting the format from its content, and lists its entries.

    A TAR compressed with gzip, zstd, xz or bzip2 is detected too (:attr:`Archive.compression`);
    opening it decodes it once. ``index`` (a path) names the restart points that
    :meth:`Archive.save_index` saved for this compressed file: opening then skips that pass.
    Another archive's index raises ``InvalidArgumentError``, a damaged one ``CorruptError``.

    ``source`` is a path (``str`` or ``os.PathLike``) or the archive's bytes (``bytes``,
    ``bytearray``, ``memoryview``: copied, so the buffer may change afterwards). A file stays open
    while the :class:`Archive` is and must not change meanwhile. Raises ``CorruptError`` for a
    malformed or truncated archive, ``SourceIOError`` when the file cannot be read,
    ``LimitError``/``UnsupportedError`` as the engine says, each with the engine's message.
    """
    msg = ctypes.create_string_buffer(_MSG_LEN)
    out = ctypes.c_void_p()
    if isinstance(source, (bytes, bytearray, memoryview)):
        if index is not None:
            raise InvalidArgumentError("an index is for an archive opened from a path")
        ptr, n, keep = in_buffer(source, "source")
        status = _lib.LIB.tt_archive_open_memory(ptr, n, msg, _MSG_LEN, ctypes.byref(out))
        del keep
        label = f"<{n} bytes>"
    else:
        raw = os.fsencode(source)
        if b"\0" in raw:
            raise InvalidArgumentError(f"path {raw!r} contains a NUL byte")
        if index is None:
            status = _lib.LIB.tt_archive_open(raw, msg, _MSG_LEN, ctypes.byref(out))
        else:
            raw_index = os.fsencode(index)
            if b"\0" in raw_index:
                raise InvalidArgumentError(f"index path {raw_index!r} contains a NUL byte")
            status = _lib.LIB.tt_archive_open_with_index(raw, raw_index, msg, _MSG_LEN, ctypes.byref(out))
        label = os.fsdecode(raw)
    if status != _lib.TT_STATUS_OK:
        message = msg.value.decode("utf-8", "replace")
        raise error_for_status(status, f"{label}: {message}" if message else label)
    handle = NativeHandle(
        out.value,
        _lib.LIB.tt_archive_free,
        _message_copier(_lib.LIB.tt_archive_error_message),
        "archive",
    )
    try:
        return Archive(handle, label)
    except BaseException:
        handle.close()
        raise
