"""A sealed tape: :class:`Tape` streams its archive from any offset and reads any range of it.

Everything is a view of one layout (the table of entries with their offsets): ``entries``,
``locate``, ``entry_at``, ``play``/``events`` (a stream from any byte), ``read_at`` and
``as_file`` (random access), volumes (fixed-size parts with manifests). Catalog operations
(``save``, ``fingerprint``, ``check``, ``verify``, ``bind``) are implemented in ``catalog.py``.
"""

from __future__ import annotations

import bisect
import ctypes
import threading
import weakref
import os
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _lib
from ._convert import i64, in_buffer, out_view, u64
from ._handle import NativeHandle, attach_finalizer
from ._sources import MemorySource, ReadAtSource
from .entries import Entry, EntryKind, Location, ManifestItem, Skipped, decode_name, normalize_name
from .errors import (
    InvalidArgumentError,
    NotFoundError,
    NotRandomAccessError,
    StateError,
    TarTapeError,
)
from .events import Data, Event, FileEnd, FileStart, TapeCompleted

if TYPE_CHECKING:
    from .catalog import VerifyReport
    from .files import TapeFile, Volume
    from .frames import Frames

__all__ = ["Tape"]


class Tape:
    """A sealed tape. Made by :meth:`TapeBuilder.build`, :func:`tartape.record` and
    :func:`tartape.open`; ``catalog_path`` is the catalog it was recorded to or opened from (None
    for a built tape that was never saved).

    Thread safety: ``read_at``, ``readinto_at``, ``as_file`` readers and the accessors may be used
    from many threads at once, also while one thread streams. One stream runs at a time: starting
    ``play``/``events`` again makes the earlier iterator raise ``StateError``.

    A tape is a context manager; ``close()`` frees the native tape, after which every call raises
    :class:`~tartape.ClosedError`. A forgotten tape is freed when it is garbage-collected.
    """

    _handle: NativeHandle
    _finalizer: "weakref.finalize[[], object]"
    _memory: Dict[int, MemorySource]
    _readers: List[ReadAtSource]
    _stream_lock: threading.Lock
    _stream_owner: Optional[object]
    _total_size: Optional[int]
    _entries: Optional[List[Entry]]
    _by_name: Optional[Dict[bytes, Entry]]
    _starts: Optional[List[int]]
    _skipped: Optional[List[Skipped]]
    _fingerprint: Optional[str]
    _format: Optional[str]
    _stream_only: Optional[bool]
    catalog_path: Optional[str]

    def __init__(self) -> None:
        raise TypeError("a Tape is made by TapeBuilder.build()")

    @classmethod
    def _adopt(
        cls,
        handle: NativeHandle,
        memory: Mapping[int, MemorySource] = {},
        readers: Sequence[ReadAtSource] = (),
        catalog_path: Optional[str] = None,
        format: Optional[str] = None,
        deflated: Optional[bool] = None,
    ) -> "Tape":
        """Wraps a sealed native tape (internal: builders and catalog openers call it).
        ``memory`` maps entry indexes to the sources that feed their NEED_DATA events."""
        self = cls.__new__(cls)
        self._handle = handle
        self._finalizer = attach_finalizer(self, handle)
        self._memory = dict(memory)
        self._readers = list(readers)
        self._stream_lock = threading.Lock()
        self._stream_owner = None
        self._total_size = None
        self._entries = None
        self._by_name = None
        self._starts = None
        self._skipped = None
        self._fingerprint = None
        self._format = format
        self._stream_only = deflated
        self.catalog_path = catalog_path
        return self

    # --- native calls ------------------------------------------------------------------------

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        try:
            return self._handle.call(fn, *args)
        except TarTapeError as e:
            self._chain_callback_error(e)
            raise

    def _check(self, status: int, message: Optional[str] = None) -> int:
        try:
            return self._handle.check(status, message)
        except TarTapeError as e:
            self._chain_callback_error(e)
            raise

    def _message_if_failed(self, ptr: int, status: int) -> Optional[str]:
        """Inside ``using()``: the handle's message when ``status`` is an error, else None."""
        if status in (_lib.TT_STATUS_OK, _lib.TT_STATUS_EOF):
            return None
        return self._handle.message(ptr)

    def _chain_callback_error(self, e: BaseException) -> None:
        for r in self._readers:
            if r.error is not None:
                e.__cause__, r.error = r.error, None
                return

    def _u64_query(self, fn: Callable[..., int]) -> int:
        out = ctypes.c_uint64()
        self._call(fn, ctypes.byref(out))
        return out.value

    def _check_open(self) -> None:
        if self._handle.closed:
            raise self._handle._closed_error()

    # --- lifetime ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._handle.closed

    def close(self) -> None:
        """Frees the native tape. Idempotent; running streams and files then raise ``ClosedError``."""
        self._handle.close()
        self._finalizer.detach()

    def __enter__(self) -> "Tape":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<Tape closed>"
        if self.stream_only:
            return f"<Tape {self.format} {self.file_count} entries, stream-only>"
        return f"<Tape {self.format} {self.file_count} entries, {self.total_size} bytes>"

    # --- layout ------------------------------------------------------------------------------

    @property
    def total_size(self) -> int:
        """The archive's size in bytes, trailer included."""
        self._check_open()
        if self._total_size is None:
            self._total_size = self._u64_query(_lib.LIB.tt_tape_total_size)
        return self._total_size

    @property
    def stream_only(self) -> bool:
        """True for a ZIP with deflated entries or a compressed TAR (``compression=``): its sizes
        are known only once compressed, so it streams from offset 0 only (``total_size``,
        ``read_at``, ``as_file``, volumes and resume offsets raise
        :class:`~tartape.NotRandomAccessError`)."""
        self._check_open()
        if self._stream_only is None:
            try:
                self.total_size
                self._stream_only = False
            except NotRandomAccessError:
                self._stream_only = True
        return self._stream_only

    @property
    def format(self) -> str:
        """The archive format, ``"tar"`` or ``"zip"``.

        Known from the builder; for a tape opened from a catalog (the C API has no getter for it)
        it is read off the layout: a TAR header is always whole 512-byte blocks, a ZIP local
        header is 30 bytes plus the name and extras; an empty ZIP is 22 bytes, an empty TAR 1024.
        """
        self._check_open()
        if self._format is None:
            if self.stream_only:
                self._format = "zip"
            else:
                entries = self.entries
                if entries:
                    zip_like = any((e.data_offset - e.header_offset) % _lib.BLOCK for e in entries)
                else:
                    zip_like = self.total_size < _lib.TRAILER_LEN
                self._format = "zip" if zip_like else "tar"
        return self._format

    @property
    def file_count(self) -> int:
        """The number of entries (files, directories and symlinks)."""
        self._check_open()
        if self._entries is not None:
            return len(self._entries)
        return self._u64_query(_lib.LIB.tt_tape_entry_count)

    def __len__(self) -> int:
        return self.file_count

    def _entry(self, index: int) -> Entry:
        info = _lib.tt_entry_info()
        name = link = b""
        with self._handle.using() as ptr:  # the name and link are the tape's: copy them now
            status = _lib.LIB.tt_tape_entry(ptr, index, ctypes.byref(info))
            message = self._message_if_failed(ptr, status)
            if status == _lib.TT_STATUS_OK:
                name = ctypes.string_at(info.name, info.name_len) if info.name_len else b""
                link = ctypes.string_at(info.link, info.link_len) if info.link_len else b""
        self._check(status, message)
        return Entry(
            index=index,
            name_bytes=name,
            kind=EntryKind(info.kind),
            size=info.size,
            mode=info.mode,
            mtime=info.mtime,
            header_offset=info.header_offset,
            data_offset=info.data_offset,
            end_offset=info.end_offset,
            link_bytes=link,
            random_access=bool(info.random_access),
        )

    @property
    def entries(self) -> List[Entry]:
        """Every entry in archive order, with its offsets (a new list on each access)."""
        self._check_open()
        if self._entries is None:
            count = self._u64_query(_lib.LIB.tt_tape_entry_count)
            self._entries = [self._entry(i) for i in range(count)]
        return list(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def locate(self, name: Union[str, bytes], part_size: Optional[int] = None) -> Location:
        """Where the entry named ``name`` lies (``./a//b`` finds ``a/b``); ``NotFoundError`` if
        there is none.

        The result is a :class:`Location`, which is an :class:`Entry` (every field and property
        callers of the earlier ``locate`` used: offsets, ``name``, ``size``, ``is_dir``...) with,
        when ``part_size`` (a positive multiple of 512) is given, ``first_part`` and ``last_part``:
        the parts of that size holding its bytes (``tt_tape_locate``). ``location.entry`` is the
        plain :class:`Entry`.
        """
        self._check_open()
        if self._by_name is None:
            self._by_name = {e.name_bytes: e for e in self.entries}
        key = normalize_name(name)
        try:
            entry = self._by_name[key]
        except KeyError:
            raise NotFoundError(f"not found: no entry named {decode_name(key)!r}") from None
        fields = {f: getattr(entry, f) for f in entry.__dataclass_fields__}
        if part_size is None:
            return Location(**fields)
        part_size = u64(part_size, "part_size")
        loc = _lib.tt_location()
        ptr_name, n, keep = in_buffer(key, "name")
        self._call(_lib.LIB.tt_tape_locate, ptr_name, n, part_size, ctypes.byref(loc))
        del keep
        return Location(**fields, part_size=part_size, first_part=loc.first_part, last_part=loc.last_part)

    def entry_at(self, offset: int) -> Optional[Entry]:
        """The entry whose bytes (header, content or padding) include archive byte ``offset``;
        None in the trailer or past the end."""
        offset = u64(offset, "offset")
        entries = self.entries
        if self._starts is None:
            self._starts = [e.header_offset for e in entries]
        i = bisect.bisect_right(self._starts, offset) - 1
        if i >= 0 and offset < entries[i].end_offset:
            return entries[i]
        return None

    @property
    def skipped(self) -> List[Skipped]:
        """Special files (FIFOs, sockets, devices) met in walks and left out."""
        self._check_open()
        if self._skipped is None:
            count = self._u64_query(_lib.LIB.tt_tape_skipped_count)
            out = []
            for i in range(count):
                path, kind = ctypes.c_char_p(), ctypes.c_char_p()
                raw_path = raw_kind = b""
                with self._handle.using() as ptr:  # the strings are the tape's: copy them now
                    status = _lib.LIB.tt_tape_skipped(ptr, i, ctypes.byref(path), ctypes.byref(kind))
                    message = self._message_if_failed(ptr, status)
                    if status == _lib.TT_STATUS_OK:
                        raw_path, raw_kind = path.value or b"", kind.value or b""
                self._check(status, message)
                out.append(
                    Skipped(
                        path=raw_path.decode("utf-8", "surrogateescape"),
                        kind=raw_kind.decode("ascii", "replace"),
                    )
                )
            self._skipped = out
        return list(self._skipped)

    # --- streaming ---------------------------------------------------------------------------

    def events(self, start_offset: int = 0) -> Iterator[Event]:
        """Streams the archive from byte ``start_offset`` as typed events.

        Yields :class:`FileStart`, :class:`Data` (the archive bytes, in order, the first at exactly
        ``start_offset``), :class:`FileEnd` and finally :class:`TapeCompleted`. Nothing before
        ``start_offset`` is read. Memory entries are fed from their chunks as the stream reaches
        them. A source that changed since the tape was built stops the stream with
        ``ChangedSourceError``.
        """
        return self._stream(u64(start_offset, "start_offset"), raw=False)

    def _check_owner(self, token: object) -> None:
        """Under ``_stream_lock``: raises ``StateError`` when another stream replaced ``token``'s."""
        if self._stream_owner is not token:
            raise StateError("another stream of this tape was started: this one is over")

    def _stream(self, start: int, raw: bool) -> Iterator[Any]:
        token, total = self._start(start)
        return self._event_iterator(token, self._memory, total, raw)

    def _start(self, start: int) -> Tuple[object, Optional[int]]:
        """Starts the tape's one stream at ``start``: the token that owns it, and the archive's
        size (None for a stream-only tape played from 0)."""
        total: Optional[int] = None
        if not self.stream_only or start:
            total = self.total_size  # a stream-only tape raises NotRandomAccessError here
            if start > total:
                raise InvalidArgumentError(f"start_offset {start} is past the end ({total} bytes)")
        token = object()
        with self._stream_lock:
            self._stream_owner = token
            self._call(_lib.LIB.tt_tape_start_at, start)
        return token, total

    def _event_iterator(
        self, token: object, memory: Dict[int, MemorySource], total: Optional[int], raw: bool
    ) -> Iterator[Any]:
        """The events; with ``raw``, the bytes of DATA events instead of :class:`Data` events."""
        end = 0  # where the bytes streamed so far end: a stream-only tape's size, at its end
        ev = _lib.tt_event()
        ref = ctypes.byref(ev)
        # The event's data pointer, read as an address without making a pointer object each time.
        ev_data_at = ctypes.c_void_p.from_buffer(ev, _lib.tt_event.data.offset)
        # Content is read straight into a fresh bytes object lent to the library; a chunk that fills
        # it is handed out as it is (no copy), and a new one is lent for the next call.
        lend = _lib.new_bytes
        chunk: bytes = b""
        chunk_at = 0
        while True:
            with self._stream_lock:
                self._check_owner(token)
                out: Optional[Event] = None
                fast: Optional[bytes] = None
                need: Optional[MemorySource] = None
                handle = self._handle
                ptr = handle.acquire()
                try:
                    if lend is not None:
                        if not chunk:
                            chunk = lend(_lib.LEND_SIZE)
                            chunk_at = ctypes.cast(ctypes.c_char_p(chunk), ctypes.c_void_p).value or 0
                        status = _lib.LIB.tt_next_event_into(ptr, chunk, len(chunk), ref)
                    else:
                        status = _lib.LIB.tt_next_event(ptr, ref)
                    message = self._message_if_failed(ptr, status)
                    if status == _lib.TT_STATUS_OK:
                        if chunk and ev_data_at.value == chunk_at and ev.type == _lib.TT_EVENT_TYPE_DATA:
                            n = ev.data_len
                            data = chunk if n == len(chunk) else chunk[:n]
                            chunk = b""
                            if raw:
                                end = ev.offset + n
                                fast = data
                            else:
                                index = None if ev.index == _lib.UINT64_MAX else ev.index
                                out = Data(index=index, offset=ev.offset, data=data)
                        else:
                            # The event's name and data are borrowed until the next call: copy
                            # them while the handle is held open.
                            out, need = self._convert(ev, memory, total, ptr)
                finally:
                    handle.release()
                if self._check(status, message) == _lib.TT_STATUS_EOF:
                    return
                if need is not None:
                    need.feed(self._handle, ev.offset, ev.size)
                elif isinstance(out, FileEnd) and out.index in memory:
                    memory[out.index].finish()
            if fast is not None:
                yield fast  # (outside the locks: the consumer may close the tape meanwhile)
                continue
            if isinstance(out, Data):
                end = out.offset + len(out.data)
                if raw:
                    yield out.data
                    continue
            elif isinstance(out, TapeCompleted) and total is None:
                out = TapeCompleted(total_size=end)
            if out is not None:
                yield out

    @staticmethod
    def _recorded(ptr: Any, index: int, which: int) -> Optional[str]:
        """The hex of checksum ``which`` recorded for entry ``index``, or None."""
        buf = (ctypes.c_uint8 * 32)()
        n = ctypes.c_size_t(0)
        status = _lib.LIB.tt_tape_entry_checksum(ptr, index, which, buf, 32, ctypes.byref(n))
        return bytes(buf[: n.value]).hex() if status == _lib.TT_STATUS_OK else None

    @staticmethod
    def _convert(
        ev: "_lib.tt_event", memory: Dict[int, MemorySource], total: Optional[int], ptr: Any = None
    ) -> Tuple[Optional[Event], Optional[MemorySource]]:
        """A copy of a native event as a Python event, or the memory source a NEED_DATA asks."""
        kind = ev.type
        if kind == _lib.TT_EVENT_TYPE_DATA:
            data = ctypes.string_at(ev.data, ev.data_len) if ev.data_len else b""
            index = None if ev.index == _lib.UINT64_MAX else ev.index
            return Data(index=index, offset=ev.offset, data=data), None
        if kind == _lib.TT_EVENT_TYPE_NEED_DATA:
            source = memory.get(ev.index)
            if source is None:
                raise StateError(
                    f"entry {ev.index} is a memory entry whose content this process does not "
                    "hold: give it with Tape.bind(name_or_index, data) before streaming"
                )
            return None, source
        if kind == _lib.TT_EVENT_TYPE_FILE_START:
            return (
                FileStart(
                    index=ev.index,
                    name_bytes=ctypes.string_at(ev.name, ev.name_len),
                    kind=EntryKind(ev.kind),
                    size=ev.size,
                    header_offset=ev.offset,
                    resumed=bool(ev.resumed),
                ),
                None,
            )
        if kind == _lib.TT_EVENT_TYPE_FILE_END:
            return (
                FileEnd(
                    index=ev.index,
                    name_bytes=ctypes.string_at(ev.name, ev.name_len),
                    kind=EntryKind(ev.kind),
                    size=ev.size,
                    end_offset=ev.offset,
                    md5=bytes(ev.md5).hex() if ev.has_md5 else None,
                    sha256=None if ptr is None else Tape._recorded(ptr, ev.index, _lib.TT_CHECKSUM_SHA256),
                    crc32c=None if ptr is None else Tape._recorded(ptr, ev.index, _lib.TT_CHECKSUM_CRC32C),
                ),
                None,
            )
        if kind == _lib.TT_EVENT_TYPE_TAPE_COMPLETED:
            return TapeCompleted(total_size=total if total is not None else 0), None
        return None, None  # an event type newer than these bindings: skipped

    def play(
        self,
        start_offset: int = 0,
        chunk_size: Optional[int] = None,
        on_event: Optional[Callable[[Event], Any]] = None,
    ) -> Iterator[bytes]:
        """Yields the archive's bytes from ``start_offset`` to the end.

        ``chunk_size`` makes every chunk exactly that long except the last (default: the chunks
        the engine produces, at most 1 MiB). ``on_event`` receives :class:`FileStart`,
        :class:`FileEnd` (with the content's MD5) and :class:`TapeCompleted` as the stream reaches
        them; with a ``chunk_size``, bytes of the entry may still be waiting in the current chunk.
        ``play(start_offset=n)`` yields exactly the bytes of a full play from ``n`` on.
        """
        if chunk_size is not None:
            chunk_size = u64(chunk_size, "chunk_size")
            if chunk_size == 0:
                raise InvalidArgumentError("chunk_size must be positive")
        items = self._stream(u64(start_offset, "start_offset"), raw=True)
        return self._play(items, chunk_size, on_event)

    @staticmethod
    def _play(
        items: Iterator[Any], chunk_size: Optional[int], on_event: Optional[Callable[[Event], Any]]
    ) -> Iterator[bytes]:
        """Bytes from a raw stream (bytes for DATA, events for the rest)."""
        pending = bytearray()
        for data in items:
            if not isinstance(data, bytes):
                if on_event is not None:
                    on_event(data)
                continue
            if chunk_size is None:
                yield data
                continue
            pos = 0
            if pending:
                pos = chunk_size - len(pending)
                pending += data[:pos]
                if len(pending) < chunk_size:
                    continue
                yield bytes(pending)
                pending.clear()
            while len(data) - pos >= chunk_size:
                yield data[pos : pos + chunk_size]
                pos += chunk_size
            pending += data[pos:]
        if pending:
            yield bytes(pending)

    def write_to(self, out: Any, start_offset: int = 0, buffer_size: int = 1 << 20) -> int:
        """Writes the archive from ``start_offset`` to the end into ``out`` (an object with
        ``write``: a binary file, a socket's ``makefile("wb")``, ``io.BytesIO``...); returns how
        many bytes it wrote.

        The engine builds the bytes in one reused buffer of ``buffer_size`` bytes (``tt_read``):
        headers and file content are not copied into Python objects on the way, which makes this
        the fastest way to send a whole archive. Memory entries are fed from their chunks as the
        stream reaches them; every check of :meth:`play` applies (a source that changed raises
        ``ChangedSourceError`` after the bytes before it were written). It is this tape's stream:
        starting another stream meanwhile makes this one raise ``StateError``.
        """
        start = u64(start_offset, "start_offset")
        size = u64(buffer_size, "buffer_size")
        if size == 0:
            raise InvalidArgumentError("buffer_size must be positive")
        token, total = self._start(start)
        memory = self._memory
        buf = bytearray(size)
        view = memoryview(buf)
        arr = (ctypes.c_uint8 * size).from_buffer(buf)
        got = ctypes.c_size_t()
        ev = _lib.tt_event()
        written = 0
        try:
            while True:
                with self._stream_lock:
                    self._check_owner(token)
                    need: Optional[MemorySource] = None
                    handle = self._handle
                    ptr = handle.acquire()
                    try:
                        got.value = 0  # (untouched by a failed read)
                        status = _lib.LIB.tt_read(ptr, arr, size, ctypes.byref(got))
                        message = self._message_if_failed(ptr, status)
                        if status == _lib.TT_STATUS_STATE:
                            # The read stands at an entry fed by push: its NEED_DATA is the next
                            # event (anything else means the STATE was the read's real answer).
                            if _lib.LIB.tt_next_event(ptr, ctypes.byref(ev)) == _lib.TT_STATUS_OK:
                                need = self._convert(ev, memory, total)[1]
                                if need is not None:
                                    status = _lib.TT_STATUS_OK
                    finally:
                        handle.release()
                    if self._check(status, message) == _lib.TT_STATUS_EOF:
                        return written
                    if need is not None:
                        need.feed(self._handle, ev.offset, ev.size)
                        if need.fed_to_the_end():
                            need.finish()
                if got.value:
                    written += _write_all(out, view[: got.value])
        finally:
            del arr
            view.release()

    # --- random access -----------------------------------------------------------------------

    def copy_into(self, out: Any) -> int:
        """Writes the whole archive into the regular file ``out`` (an open binary file, or a file
        descriptor), from its offset 0, with each file's content copied in the kernel
        (``copy_file_range``: on XFS or Btrfs an archive built with ``align=4096`` shares its
        sources' blocks). ``out`` is not truncated, synced or moved. Returns how many content bytes
        the kernel copied. TAR only (``InvalidArgumentError`` for ZIP, ``NotRandomAccessError``
        when compressed); a source that changed raises ``ChangedSourceError`` and the file must
        not be kept."""
        fd = out if isinstance(out, int) else out.fileno()
        if not isinstance(out, int) and hasattr(out, "flush"):
            out.flush()
        copied = ctypes.c_uint64()
        self._call(_lib.LIB.tt_tape_copy_into, fd, ctypes.byref(copied))
        return copied.value

    def readinto_at(self, offset: int, buffer: Any) -> int:
        """Fills ``buffer`` (any writable bytes-like object) with the archive bytes at ``offset``,
        straight from the engine (no intermediate copy); returns how many bytes it wrote (fewer
        than ``len(buffer)`` only at the end of the archive, 0 at or past it).

        Raises ``NotRandomAccessError`` when a memory entry lies in the range and
        ``ChangedSourceError`` when a source changed. Thread-safe.
        """
        offset = u64(offset, "offset")
        view = out_view(buffer)
        n = view.nbytes
        if n == 0:
            return 0
        nread = ctypes.c_size_t()
        arr = (ctypes.c_uint8 * n).from_buffer(view)
        try:
            self._call(_lib.LIB.tt_read_at, offset, arr, n, ctypes.byref(nread))
        finally:
            del arr
        return nread.value

    def read_at(self, offset: int, size: int) -> bytes:
        """The archive bytes ``[offset, offset + size)`` (shorter at the end of the archive)."""
        offset = u64(offset, "offset")
        size = u64(size, "size")
        n = max(0, min(size, self.total_size - offset))
        if n == 0:
            return b""
        buf = bytearray(n)
        got = self.readinto_at(offset, buf)
        del buf[got:]
        return bytes(buf)

    def as_file(self) -> "TapeFile":
        """The archive as a read-only, seekable binary file (an ``io.RawIOBase``).

        Its ``readinto`` copies straight into the caller's buffer. Closing the file does not
        close the tape. Wrap it in ``io.BufferedReader`` for small reads.
        """
        from .files import TapeFile

        return TapeFile(self)

    # --- volumes -----------------------------------------------------------------------------

    def volume_count(self, size: int) -> int:
        """How many parts of ``size`` bytes (a positive multiple of 512) the archive makes."""
        out = ctypes.c_uint64()
        self._call(_lib.LIB.tt_volume_count, u64(size, "size"), ctypes.byref(out))
        return out.value

    def volume(self, part: int, size: int) -> "Volume":
        """Part ``part`` (0-based) of the archive cut in parts of ``size`` bytes: a seekable
        :class:`~tartape.Volume` with its ``manifest``. Close it (or use ``with``) to free it."""
        from ._handle import new_volume_handle
        from .files import Volume

        part, size = u64(part, "part"), u64(size, "size")
        count = self.volume_count(size)
        out = ctypes.c_void_p()
        self._call(_lib.LIB.tt_volume_open, size, part, ctypes.byref(out))
        handle = new_volume_handle(out.value or 0)
        try:
            # The tape's keepalive list itself, not a copy: a source bound after this volume was
            # opened is read through it too, and must live as long as the volume.
            return Volume(handle, part, size, count, [self._handle.keepalive])
        except BaseException:
            handle.close()
            raise

    def iter_volumes(self, size: int) -> Iterator[Tuple["Volume", List[ManifestItem]]]:
        """Yields ``(volume, manifest)`` for every part of ``size`` bytes, in order: concatenated,
        the volumes are exactly the archive. Each volume is opened when it is yielded and is
        independent of the others (they may be read in parallel); use it as a context manager
        (``with volume:``) to free it when done, or it is freed when collected."""
        count = self.volume_count(size)
        for part in range(count):
            vol = self.volume(part, size)
            yield vol, vol.manifest

    # --- catalogs ----------------------------------------------------------------------------

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Saves the tape to a catalog file at ``path``, atomically (a temporary file beside it is
        written, synced and renamed). ``tartape.open(path)`` gives the same tape back, in any
        process. Sets ``catalog_path``."""
        from .catalog import save

        save(self, path)

    @property
    def fingerprint(self) -> str:
        """32 hex digits that change exactly when the archive's bytes would."""
        if self._fingerprint is None:
            from .catalog import fingerprint

            self._fingerprint = fingerprint(self)
        return self._fingerprint

    def check(self) -> None:
        """Checks every byte of an opened catalog now (``CorruptError`` when it is damaged).
        Opening checks the catalog's header and size; the entry table is otherwise checked chunk
        by chunk as it is used. Does nothing for a tape that was not opened from a catalog."""
        self._call(_lib.LIB.tt_tape_check_catalog)

    def verify(self, deep: bool = False) -> "VerifyReport":
        """Compares the tape with the disk and returns every discrepancy (a
        :class:`~tartape.VerifyReport`; ``report.clean`` when there is none). ``deep=True`` also
        reads every file and compares its MD5 with the one recorded (needs ``checksum=True`` at
        recording)."""
        from .catalog import verify

        return verify(self, deep)

    def upload_s3(
        self,
        client: Any,
        bucket: str,
        key: str,
        part_size: Optional[int] = None,
        workers: int = 8,
        resume: bool = True,
        checksum: Optional[str] = None,
        progress: Optional[Callable[[int, int], None]] = None,
    ) -> str:
        """Uploads the archive to ``s3://bucket/key`` as a multipart upload over ``client`` (a
        boto3 S3 client the caller makes), parts read with ``read_at`` and sent ``workers`` at
        once with their Content-MD5 (and ``checksum``: 'crc32', 'crc32c' or 'sha256'); returns
        the object's ETag, checked against the archive's. With ``resume`` an upload of the same
        key in progress is continued, keeping the parts already there with the archive's bytes.
        See :mod:`tartape.s3`."""
        from .s3 import upload_s3

        return upload_s3(self, client, bucket, key, part_size, workers, resume, checksum, progress)

    # --- seekable compression (frames.py) ----------------------------------------------------

    def record_frames(
        self,
        compression: str = "zstd",
        level: int = 0,
        frame_size: int = 1 << 20,
        threads: int = 1,
    ) -> "Tape":
        """Makes this TAR tape a seekable compressed tape and returns it: cuts the TAR into frames
        of at most ``frame_size`` uncompressed bytes (64 KiB to 64 MiB), compresses each once
        with ``compression`` (``"zstd"``: frames and the zstd seekable format's seek table, which
        ``zstd -d`` skips; ``"gzip"``: one member per frame) at ``level`` (0 for the default,
        gzip 6, zstd 3) on ``threads`` threads, and records their compressed sizes.

        From then on ``total_size``, ``read_at``, ``as_file``, ``play``/``events`` from any
        offset, volumes and ``fingerprint`` are those of the compressed archive (``entries``
        keep the TAR's offsets; :attr:`frames` maps one to the other), and catalogs saved keep
        the frames. The same entries and options give the same bytes, whatever the threads.
        Blocks until every frame is compressed; other threads' calls on the tape wait.

        Raises ``InvalidArgumentError`` (a bad option, a ZIP tape), ``StateError`` (frames
        already recorded, a compressed tape, a stream or volume already using the tape),
        ``NotRandomAccessError`` (a memory entry fed while streaming), ``ChangedSourceError``.
        """
        from .frames import compression_code
        from ._convert import u32

        code = compression_code(compression)
        level_v = i64(level, "level")
        if not -(1 << 31) <= level_v < 1 << 31:
            raise InvalidArgumentError(f"level {level_v} is out of range")
        args = (code, level_v, u64(frame_size, "frame_size"), u32(threads, "threads"))
        try:
            self._handle.call_exclusive(_lib.function("tt_tape_record_frames"), *args)
        except TarTapeError as e:
            self._chain_callback_error(e)
            raise
        # The sizes and the fingerprint are now the compressed archive's.
        self._total_size = None
        self._fingerprint = None
        self._stream_only = None
        return self

    def set_frame_threads(self, threads: int) -> "Tape":
        """Sets the threads the streams of a seekable compressed tape compress frames on (1 to
        256; the bytes are the same for any number), before its first stream: for a tape opened
        from a catalog, which does not record threads. ``StateError`` without frames. Returns
        the tape."""
        from ._convert import u32

        self._handle.call_exclusive(_lib.function("tt_tape_set_frame_threads"), u32(threads, "threads"))
        return self

    @property
    def frames(self) -> "Optional[Frames]":
        """The frames of a seekable compressed tape (:meth:`record_frames`, or a catalog saved
        after it): a :class:`~tartape.Frames` sequence of :class:`~tartape.Frame`; None for a
        tape without frames."""
        from .frames import frames_of

        self._check_open()
        return frames_of(self)

    def bind(self, name_or_index: Union[str, bytes, int], data: Any) -> "Tape":
        """Gives again the content of a memory entry of an opened catalog, which the recording
        process held: ``data`` is bytes-like (of exactly the entry's size) or a callable
        ``read_at(offset, length) -> bytes``. Returns the tape."""
        from .catalog import bind

        bind(self, name_or_index, data)
        return self


def _write_all(out: Any, data: memoryview) -> int:
    """Writes all of ``data`` to ``out``. A ``write`` that returns a count may take part of it (a
    raw file) and is called again for the rest; one that returns None took it all, as
    ``shutil.copyfileobj`` assumes. ``out`` must not keep ``data``: the buffer is reused."""
    done = 0
    while done < len(data):
        n = out.write(data[done:])
        if not isinstance(n, int):
            return len(data)
        if n <= 0:
            raise OSError(f"write to {out!r} took nothing ({done} of {len(data)} bytes written)")
        done += n
    return done
