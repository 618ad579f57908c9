"""Building a tape: :class:`TapeBuilder` collects entries, :meth:`TapeBuilder.build` seals them."""

from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Union

from . import _lib
from ._convert import i64, in_buffer, u32, u64
from ._handle import NativeHandle, attach_finalizer, new_tape_handle
from ._sources import Chunks, MemorySource, ReadAtSource
from .entries import encode_name
from .errors import InvalidArgumentError, StateError
from .tape import Tape

#: The algorithms ``checksums=`` takes, by name.
_CHECKSUMS = {
    "md5": _lib.TT_CHECKSUM_MD5,
    "crc32": _lib.TT_CHECKSUM_CRC32,
    "sha256": _lib.TT_CHECKSUM_SHA256,
    "crc32c": _lib.TT_CHECKSUM_CRC32C,
}

if TYPE_CHECKING:
    from .reader import Archive, ArchiveEntry

__all__ = ["TapeBuilder"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: Archive formats by name (``tt_format``).
FORMATS = {"tar": _lib.TT_FORMAT_TAR, "zip": _lib.TT_FORMAT_ZIP}


def _format_code(format: Any) -> int:
    if not isinstance(format, str) or format.lower() not in FORMATS:
        raise InvalidArgumentError(f"format must be 'tar' or 'zip', not {format!r}")
    return FORMATS[format.lower()]


COMPRESSIONS = {"gzip": _lib.TT_COMPRESSION_GZIP, "zstd": _lib.TT_COMPRESSION_ZSTD}


def _compression_code(name: Optional[str]) -> int:
    if name is None:
        return _lib.TT_COMPRESSION_NONE
    code = COMPRESSIONS.get(str(name).lower())
    if code is None:
        raise InvalidArgumentError(f"compression {name!r}: use 'gzip', 'zstd' or None")
    return code


def _deflate_level(level: Any) -> int:
    if isinstance(level, bool):
        level = int(level) * 6  # deflate=True: the usual default level
    v = i64(level, "deflate")
    if not 0 <= v <= 9:
        raise InvalidArgumentError(f"deflate level {v}: use 0 (stored) to 9")
    return v
Name = Union[str, bytes]


class TapeBuilder:
    """Collects entries for a tape; :meth:`build` seals them into a :class:`~tartape.Tape`.

    Entries keep the order they are added in (a directory's contents sorted byte-wise after it).
    Every ``add_*`` method returns the builder, so calls can be chained. A builder is a context
    manager; ``close()`` frees it if it was never built.

    Args:
        keep_owners: keep real uid, gid, user and group names of paths added from now on (default:
            anonymous, 0/0 and empty names, so that the archive does not depend on the machine).
        strict: make FIFOs, sockets and devices met in a walk an ``UnsupportedError`` (default:
            skip them and list them in ``Tape.skipped``).
        md5: compute the MD5 of file contents for ``FileEnd`` events.
        checksums: record the MD5 and CRC-32 of every file when the tape is built (each file is
            read once): ``FileEnd`` then has the MD5 even of a resumed entry, a stream notices
            content changed behind an unchanged size and mtime, and ``verify(deep=True)`` can
            compare contents. A set of names chooses the algorithms: any of ``"md5"``,
            ``"crc32"``, ``"sha256"``, ``"crc32c"`` (``True`` is ``{"md5", "crc32"}``); SHA-256 and
            CRC-32C come in ``FileEnd.sha256`` and ``FileEnd.crc32c`` and are compared by
            ``verify(deep=True)`` too.
        exclude: names of files or directories (one path component, such as ``.git``) to leave out
            of paths added from now on; see :meth:`add_exclude`.
        format: ``"tar"`` (POSIX pax, the default) or ``"zip"`` (stored entries with data
            descriptors, zip64 only where needed; random access, resume, volumes and locate work
            as for TAR).
        deflate: for ``"zip"``, 0 stores file entries (the default), 1 (fastest) to 9 (smallest)
            deflates them. The same input and level always give the same bytes, but a deflated
            tape is stream-only: ``total_size``, ``read_at``, ``as_file``, volumes and
            ``play(start_offset > 0)`` raise :class:`~tartape.NotRandomAccessError`; ``play()``
            from 0 works. ``True`` means level 6. Refused for ``"tar"`` (whose entries are never
            compressed).
        compression: for ``"tar"``, ``"gzip"`` or ``"zstd"`` around the whole archive (``None``,
            the default, leaves it plain). Stream-only like a deflated ZIP; the same entries and
            level give the same bytes, whatever ``compression_threads``.
        compression_level: gzip 1 to 9, zstd 1 to 22; 0 (the default) means gzip 6, zstd 3.
        compression_threads: compression threads (zstd's workers, or threads compressing gzip's
            4 MiB members), 1 (the default) to 256; the bytes do not depend on it.
        align: for ``"tar"``, put each file's content at a multiple of this many bytes (a power
            of two from 512 to 65536; 0, the default, for none), the header before it padded with
            a pax ``comment`` record every reader skips (written beside its sources on XFS or
            Btrfs, such an archive can share their blocks).
    """

    def __init__(
        self,
        *,
        keep_owners: bool = False,
        strict: bool = False,
        md5: bool = True,
        checksums: Union[bool, Iterable[str]] = False,
        exclude: Optional[Union[Name, Any]] = None,
        format: str = "tar",
        deflate: int = 0,
        compression: Optional[str] = None,
        compression_level: int = 0,
        compression_threads: int = 1,
        align: int = 0,
    ) -> None:
        fmt = _format_code(format)
        level = _deflate_level(deflate)
        if level and fmt != _lib.TT_FORMAT_ZIP:
            raise InvalidArgumentError(f"deflate={level} needs format='zip' (TAR entries are never compressed)")
        self._handle: Optional[NativeHandle] = new_tape_handle()
        self._finalizer = attach_finalizer(self, self._handle)
        self._memory: Dict[int, MemorySource] = {}
        self._readers: List[ReadAtSource] = []
        self._keep_owners = False
        self._strict = False
        self._md5 = True
        self._checksums = False
        self._set_walk_options(bool(keep_owners), bool(strict))
        self.md5 = md5
        self.checksums = checksums
        self._live().call(_lib.LIB.tt_tape_set_format, fmt)
        self._format = format.lower()
        self._live().call(_lib.LIB.tt_tape_set_deflate, level)
        self._deflate = level
        self._compression = _compression_code(compression)
        if self._compression:
            level_v = i64(compression_level, "compression_level")
            threads_v = i64(compression_threads, "compression_threads")
            if not -(2**31) <= level_v < 2**31:
                raise InvalidArgumentError(f"compression_level {level_v} is out of range")
            if not 0 <= threads_v < 2**32:
                raise InvalidArgumentError(f"compression_threads {threads_v}: use 1 to 256")
            self._live().call(_lib.LIB.tt_tape_set_compression, self._compression, level_v)
            self._live().call(_lib.LIB.tt_tape_set_compression_threads, threads_v)
        if align:
            align_v = i64(align, "align")
            if not 0 <= align_v < 2**64:
                raise InvalidArgumentError(f"align {align_v}: a power of two from 512 to 65536")
            self._live().call(_lib.LIB.tt_tape_set_align, align_v)
        if exclude is not None:
            for item in [exclude] if isinstance(exclude, (str, bytes)) else exclude:
                self.add_exclude(item)

    # --- state -------------------------------------------------------------------------------

    def _live(self) -> NativeHandle:
        handle = self._handle
        if handle is None:
            raise StateError("this builder was built: add entries to a new TapeBuilder")
        return handle

    @property
    def closed(self) -> bool:
        """True after :meth:`build` or :meth:`close`."""
        return self._handle is None or self._handle.closed

    def close(self) -> None:
        """Frees the native tape if it was not built. Idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()
        self._finalizer.detach()

    def __enter__(self) -> "TapeBuilder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<TapeBuilder {state}>"

    # --- options -----------------------------------------------------------------------------

    def _set_walk_options(self, keep_owners: bool, strict: bool) -> None:
        self._live().call(_lib.LIB.tt_tape_set_walk_options, int(keep_owners), int(strict))
        self._keep_owners, self._strict = keep_owners, strict

    @property
    def keep_owners(self) -> bool:
        """Keep real owners for paths added from now on."""
        return self._keep_owners

    @keep_owners.setter
    def keep_owners(self, value: bool) -> None:
        self._set_walk_options(bool(value), self._strict)

    @property
    def strict(self) -> bool:
        """Special files in walks of paths added from now on are an error instead of skipped."""
        return self._strict

    @strict.setter
    def strict(self, value: bool) -> None:
        self._set_walk_options(self._keep_owners, bool(value))

    @property
    def md5(self) -> bool:
        """Compute MD5s of contents for ``FileEnd`` events (default True)."""
        return self._md5

    @md5.setter
    def md5(self, value: bool) -> None:
        self._live().call(_lib.LIB.tt_tape_set_md5, int(bool(value)))
        self._md5 = bool(value)

    @property
    def checksums(self) -> Union[bool, FrozenSet[str]]:
        """Record checksums of every file when the tape is built (default False): ``True`` for MD5
        and CRC-32, or the set of algorithms given (``"md5"``, ``"crc32"``, ``"sha256"``,
        ``"crc32c"``)."""
        return self._checksums

    @checksums.setter
    def checksums(self, value: Union[bool, Iterable[str]]) -> None:
        if isinstance(value, (bool, int)):
            self._live().call(_lib.LIB.tt_tape_set_checksums, int(bool(value)))
            self._checksums = bool(value)
            return
        if isinstance(value, str):
            value = [value]
        names = frozenset(v.lower() for v in value)
        unknown = names - set(_CHECKSUMS)
        if unknown:
            raise InvalidArgumentError(
                f"checksums {sorted(unknown)}: choose among {', '.join(_CHECKSUMS)}"
            )
        bits = 0
        for n in names:
            bits |= _CHECKSUMS[n]
        self._live().call(_lib.LIB.tt_tape_record_checksums, bits)
        self._checksums = names

    @property
    def format(self) -> str:
        """The archive format: ``"tar"`` or ``"zip"``."""
        return self._format

    @property
    def deflate(self) -> int:
        """The deflate level of a ZIP's file entries (0: stored)."""
        return self._deflate

    def add_exclude(self, name: Name) -> "TapeBuilder":
        """Leaves out every file or directory named ``name`` (one path component, such as
        ``.git``) from paths added from now on; ``verify`` does not report them either."""
        ptr, n, keep = in_buffer(encode_name(name), "name")
        self._live().call(_lib.LIB.tt_tape_add_exclude, ptr, n)
        del keep
        return self

    def _added_count(self) -> int:
        out = ctypes.c_uint64()
        self._live().call(_lib.LIB.tt_tape_added_count, ctypes.byref(out))
        return out.value

    # --- adding entries --------------------------------------------------------------------

    def add_path(self, path: PathLike, name: Optional[Name] = None) -> "TapeBuilder":
        """Adds a file, a symlink (stored as a link, never followed) or a directory, recursively.

        ``name`` is the name in the archive (default: the path's last component). Names inside a
        directory are sorted byte-wise, each directory before its contents. On error nothing of
        this path is added.
        """
        raw_path = os.fsencode(path)
        if b"\0" in raw_path:
            raise InvalidArgumentError(f"path {raw_path!r} contains a NUL byte")
        handle = self._live()
        if name is None:
            handle.call(_lib.LIB.tt_add_path, raw_path, None, 0)
        else:
            ptr, n, keep = in_buffer(encode_name(name), "name")
            if ptr is None:
                raise InvalidArgumentError("name is empty")
            handle.call(_lib.LIB.tt_add_path, raw_path, ptr, n)
            del keep
        return self

    def stream_paths(self, paths: Sequence[PathLike], out: Any) -> int:
        """Walks each of ``paths`` (each under its last component, as :meth:`add_path` with no
        name) and writes their TAR to ``out`` (an open binary file or a file descriptor: a pipe,
        socket or file, written from its current position) while the walk goes: the first bytes
        go out at once and the walk runs beside the reading. The bytes are those that adding the
        paths, building and playing the tape would give. Returns how many were written.

        The builder gives its options only (format and walk options) and must hold no entry; it
        stays as it was. The total size is not known before the first byte (build a tape for
        that), special files are left out without being listed, and an error (a directory that
        cannot be listed, a file changed after the walk saw it: ``ChangedSourceError``, the output
        failing) stops the writing where it has got to: what was written lacks its end and must
        not be kept. ``InvalidArgumentError`` for a ZIP, compressed or aligned builder.
        """
        raw = [os.fsencode(p) for p in paths]
        for r in raw:
            if b"\0" in r:
                raise InvalidArgumentError(f"path {r!r} contains a NUL byte")
        if not isinstance(out, int) and hasattr(out, "flush"):
            out.flush()
        fd = out if isinstance(out, int) else out.fileno()
        array = (ctypes.c_char_p * max(len(raw), 1))(*raw)
        written = ctypes.c_uint64()
        self._live().call(_lib.LIB.tt_tape_stream_paths, array, len(raw), fd, ctypes.byref(written))
        return written.value

    def add_bytes(self, name: Name, data: Any, mode: int = 0o644, mtime: int = 0) -> "TapeBuilder":
        """Adds a file whose content is ``data`` (any bytes-like object, copied now)."""
        n_ptr, n_len, n_keep = in_buffer(encode_name(name), "name")
        d_ptr, d_len, d_keep = in_buffer(data, "data")
        self._live().call(
            _lib.LIB.tt_add_bytes, n_ptr, n_len, d_ptr, d_len, u32(mode, "mode"), i64(mtime, "mtime")
        )
        del n_keep, d_keep
        return self

    def add_from_memory(
        self, name: Name, size: int, chunks: Chunks, mode: int = 0o644, mtime: int = 0
    ) -> "TapeBuilder":
        """Adds a file of exactly ``size`` bytes whose content is pulled while the stream runs.

        ``chunks`` is bytes, an iterable of bytes-like chunks (e.g. ``response.iter_content()``),
        or a callable returning such an iterable. Chunks are pulled one at a time when the stream
        reaches the entry. Chunks that add up to less than ``size`` or more than ``size`` raise
        :class:`~tartape.SizeMismatchError` and stop the stream: an archive is never padded or
        cut silently. An iterable is consumed once; a stream started later (``play`` again,
        a resume before its position) needs bytes or a callable. The entry's bytes cannot be read
        with ``read_at``.
        """
        raw_name = encode_name(name)
        size = u64(size, "size")
        source = MemorySource(raw_name, size, chunks)
        if size == 0:
            source.check_empty()
        ptr, n, keep = in_buffer(raw_name, "name")
        index = self._added_count()  # the index the engine gives this entry: NEED_DATA carries it
        self._live().call(
            _lib.LIB.tt_add_from_memory, ptr, n, size, u32(mode, "mode"), i64(mtime, "mtime")
        )
        del keep
        if size:
            self._memory[index] = source
        return self

    def add_read_at(
        self,
        name: Name,
        size: int,
        read_at: Callable[[int, int], Any],
        mode: int = 0o644,
        mtime: int = 0,
    ) -> "TapeBuilder":
        """Adds a file of ``size`` bytes read through ``read_at(offset, length) -> bytes``.

        It may be called many times, from several threads, at any offset: it must return the
        content's bytes at ``offset`` (at most ``length``; fewer only at the end). Unlike memory
        entries, these can be read at random and replayed. ``read_at`` must not call this tape.
        """
        raw_name = encode_name(name)
        size = u64(size, "size")
        source = ReadAtSource(raw_name, size, read_at)
        ptr, n, keep = in_buffer(raw_name, "name")
        handle = self._live()
        handle.keepalive.append(source)  # the C side points to source.c_function until freed
        handle.call(
            _lib.LIB.tt_add_read_at,
            ptr,
            n,
            size,
            u32(mode, "mode"),
            i64(mtime, "mtime"),
            source.c_function,
            None,
            _lib.tt_free_fn(),
        )
        del keep
        self._readers.append(source)
        return self

    def add_directory(self, name: Name, mode: int = 0o755, mtime: int = 0) -> "TapeBuilder":
        """Adds a directory entry with no source on disk."""
        ptr, n, keep = in_buffer(encode_name(name), "name")
        self._live().call(_lib.LIB.tt_add_directory, ptr, n, u32(mode, "mode"), i64(mtime, "mtime"))
        del keep
        return self

    def add_symlink(self, name: Name, target: Name, mtime: int = 0) -> "TapeBuilder":
        """Adds a symbolic link entry pointing to ``target``, with no source on disk."""
        n_ptr, n_len, n_keep = in_buffer(encode_name(name), "name")
        t_ptr, t_len, t_keep = in_buffer(encode_name(target), "target")
        self._live().call(_lib.LIB.tt_add_symlink, n_ptr, n_len, t_ptr, t_len, i64(mtime, "mtime"))
        del n_keep, t_keep
        return self

    def add_member(
        self,
        archive: "Archive",
        entry: Union["ArchiveEntry", Name, int],
        name: Optional[Name] = None,
        mode: Optional[int] = None,
        mtime: Optional[int] = None,
    ) -> "TapeBuilder":
        """Adds an entry of an archive being read (:func:`tartape.open_archive`), without
        extracting it: ZIP to TAR, TAR to ZIP, or some members of a bundle and not others.

        ``entry`` is an :class:`~tartape.ArchiveEntry` of ``archive``, its name or its index.
        ``name`` renames it (default: its name in ``archive``; an unsafe name is refused by the
        tape with ``InvalidNameError``, so pass a safe one). ``mode`` and ``mtime`` default to the
        entry's (a mode of 0, as some ZIP writers leave, becomes 0o644 / 0o755).

        Files become read-at entries (``add_read_at``) whose callback reads the member through
        one :class:`~tartape.Member` opened now, so an encrypted member or an unsupported method
        raises ``UnsupportedError`` here and not in the middle of a stream. Stored members are
        read at random like any source. Deflated ZIP members are accepted too: the reader inflates
        them sequentially, so a stream (which reads each file once, in order) costs one
        inflation, while a read that goes backwards (``read_at`` before the last position, a
        resumed stream, or the CRC-32 pass of a ZIP output) inflates again from the member's
        start. The member keeps the archive's data alive: ``archive`` may be closed before the
        tape is streamed. Directories and symlinks are added as such; hard links, devices, FIFOs
        and other kinds raise ``UnsupportedError`` (add a hard link's target under the link's
        name instead).
        """
        from .errors import UnsupportedError
        from .entries import EntryKind

        item = archive.entry(entry)
        new_name = item.name_bytes if name is None else encode_name(name)
        when = item.mtime if mtime is None else mtime
        if item.kind == EntryKind.DIR:
            return self.add_directory(new_name, (mode if mode is not None else item.mode) or 0o755, when)
        if item.kind == EntryKind.SYMLINK:
            return self.add_symlink(new_name, item.link_bytes, when)
        if item.kind != EntryKind.FILE:
            raise UnsupportedError(
                f"{item.name!r} is a {item.kind.name.lower().replace('_', ' ')}: only files, "
                "directories and symlinks can be added to a tape"
                + (f" (add its target {item.link!r} under this name instead)" if item.link else "")
            )
        member = archive.open(item)
        try:
            self.add_read_at(
                new_name, item.size, member.read_at, (mode if mode is not None else item.mode) or 0o644, when
            )
        except BaseException:
            member.close()
            raise
        return self

    # --- sealing ---------------------------------------------------------------------------

    def build(self) -> Tape:
        """Seals the entries into a :class:`~tartape.Tape` (its layout and size are fixed).

        Raises ``InvalidNameError`` when two entries have the same name (the builder stays open).
        The builder hands its native tape to the result and is closed afterwards.
        """
        handle = self._live()
        handle.call(_lib.LIB.tt_tape_seal)
        self._handle = None
        self._finalizer.detach()
        return Tape._adopt(
            handle,
            self._memory,
            self._readers,
            format=self._format,
            deflated=bool(self._deflate) or bool(self._compression),
        )
