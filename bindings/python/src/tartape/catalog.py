"""Catalogs: a tape recorded to a file and opened again, in this process or another.

``record(directory)`` walks a directory into a tape and saves its catalog (the layout, every
source's identity, small memory entries); ``open(catalog_path)`` gives the same tape back without
rescanning: its stream and reads are the recorded bytes, and each source is checked against its
recorded identity when its bytes are read (``ChangedSourceError``). ``Tape.verify`` compares the
whole tape with the disk and lists every discrepancy.

The ``Tape`` methods ``save``, ``fingerprint``, ``verify`` and ``bind`` call the functions here.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Tuple, Union

from . import _lib
from ._convert import in_buffer, u64
from ._handle import new_tape_handle
from ._sources import MemorySource, ReadAtSource
from .entries import decode_name, encode_name
from .errors import InvalidArgumentError, NotFoundError, StateError
from .tape import Tape

if TYPE_CHECKING:
    from .builder import PathLike

__all__ = ["record", "open", "default_catalog_path", "VerifyReport", "Discrepancy"]

Name = Union[str, bytes]


def _fspath(path: "PathLike") -> bytes:
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise InvalidArgumentError(f"path {raw!r} contains a NUL byte")
    return raw


def default_catalog_path(directory: "PathLike") -> str:
    """Where ``record`` saves when no ``catalog_path`` is given: ``<directory>.tartape`` beside
    the directory (for ``.`` or ``/``-only paths, beside the current directory), as the
    ``tartape record`` command does."""
    d = os.fsdecode(directory).rstrip("/")
    if d in ("", "."):
        d = os.getcwd()
    return d + ".tartape"


def record(
    directory: "PathLike",
    catalog_path: Optional["PathLike"] = None,
    checksum: bool = False,
    anonymize: bool = True,
    exclude: Optional[Iterable[Name]] = None,
    *,
    strict: bool = False,
    format: str = "tar",
    deflate: int = 0,
) -> Tape:
    """Records ``directory`` (recursively, named by its last component in the archive) and saves
    its catalog; returns the recorded tape, with ``catalog_path`` set.

    Args:
        catalog_path: where to save (default ``<directory>.tartape`` beside it).
        checksum: record the MD5 and CRC-32 of every file (each is read once now): ``FileEnd``
            then has the MD5 even when resuming, a stream notices content changed behind an
            unchanged size and mtime, and ``verify(deep=True)`` compares contents.
        anonymize: store uid/gid 0 and empty owner names (default), so that the archive does not
            depend on the machine; False keeps the real owners.
        exclude: names (one path component each, such as ``.git``) to leave out, at any depth.
        strict: FIFOs, sockets and devices are an ``UnsupportedError`` instead of skipped.
        format: ``"tar"`` (default) or ``"zip"``; ``deflate`` (ZIP only, 1 to 9) compresses the
            files and makes the tape stream-only (see :class:`~tartape.TapeBuilder`).
    """
    from .builder import TapeBuilder

    path = catalog_path if catalog_path is not None else default_catalog_path(directory)
    if isinstance(exclude, (str, bytes)):
        exclude = [exclude]  # one name, not its characters
    with TapeBuilder(
        keep_owners=not anonymize, strict=strict, checksums=checksum, format=format, deflate=deflate
    ) as builder:
        for name in exclude or ():
            builder.add_exclude(name)
        builder.add_path(directory)
        tape = builder.build()
    try:
        save(tape, path)
    except BaseException:
        tape.close()
        raise
    return tape


def open(catalog_path: "PathLike", check: bool = True) -> Tape:  # noqa: A001 - the seed's name
    """Opens a catalog saved by ``record`` or ``Tape.save``, in any process: the tape streams and
    reads the recorded bytes. ``CorruptError`` (with the engine's message) for a truncated or
    altered catalog, ``UnsupportedError`` for another format version, ``SourceIOError`` when it
    cannot be read. Memory entries the catalog could not keep need :meth:`Tape.bind`.

    ``check=True`` (default) checks every byte of the catalog now (``Tape.check``), so a damaged
    catalog fails here and not in the middle of a stream. ``check=False`` only checks its header
    and size, and the entry table chunk by chunk as it is used (for very large catalogs).
    """
    raw = _fspath(catalog_path)
    handle = new_tape_handle()
    try:
        handle.call(_lib.LIB.tt_tape_open_catalog, raw)
        if check:
            handle.call(_lib.LIB.tt_tape_check_catalog)
    except BaseException:
        handle.close()
        raise
    return Tape._adopt(handle, catalog_path=os.fsdecode(raw))


def open_bytes(data: bytes, check: bool = True) -> Tape:
    """Opens a catalog held in memory (``bytes`` as ``Tape.save`` wrote them: fetched from object
    storage, shipped to a worker of a cluster); otherwise as :func:`open`. The bytes are copied."""
    data = bytes(data)
    handle = new_tape_handle()
    try:
        handle.call(_lib.LIB.tt_tape_open_catalog_bytes, data, len(data))
        if check:
            handle.call(_lib.LIB.tt_tape_check_catalog)
    except BaseException:
        handle.close()
        raise
    return Tape._adopt(handle)


def save(tape: Tape, path: "PathLike") -> None:
    """``Tape.save``: writes the catalog atomically and sets ``tape.catalog_path``."""
    raw = _fspath(path)
    tape._call(_lib.LIB.tt_tape_save_catalog, raw)
    tape.catalog_path = os.fsdecode(raw)


def fingerprint(tape: Tape) -> str:
    """``Tape.fingerprint``: 32 hex digits, copied while the tape is held."""
    out = ctypes.c_char_p()
    with tape._handle.using() as ptr:  # the string is the tape's: copy it now
        status = _lib.LIB.tt_tape_fingerprint(ptr, ctypes.byref(out))
        message = tape._message_if_failed(ptr, status)
        value = (out.value or b"") if status == _lib.TT_STATUS_OK else b""
    tape._check(status, message)
    return value.decode("ascii")


@dataclass(frozen=True)
class Discrepancy:
    """One difference between a tape and the disk (``tt_discrepancy``)."""

    #: The archive name.
    name: str
    #: What differs: "missing", "kind", "size", "mtime", "replaced", "mode", "link-target",
    #: "content" (deep), "unrecorded" (on disk, not in the tape) or "unreadable".
    problem: str
    #: What the tape recorded (human-readable).
    expected: str
    #: What the disk holds (human-readable).
    found: str
    #: The C code of ``problem`` (1 missing ... 10 unreadable).
    code: int = 0


@dataclass(frozen=True)
class VerifyReport:
    """What ``Tape.verify`` found: every discrepancy, not only the first."""

    #: True when the disk matches the tape.
    clean: bool
    #: How many entries were checked.
    checked: int
    #: Every difference found.
    discrepancies: List[Discrepancy] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.clean

    def by_name(self, name: str) -> List[Discrepancy]:
        """The discrepancies of one entry."""
        return [d for d in self.discrepancies if d.name == name]


def verify(tape: Tape, deep: bool) -> VerifyReport:
    """``Tape.verify``: runs ``tt_tape_verify`` and copies the report before freeing it. The
    report and its discrepancies are the ``tartape.schemas`` subclasses, which add TarTape 3's
    names (``is_valid``, ``summary()``, ``arc_path``, ``reason``...) to ours."""
    from time import perf_counter

    from .schemas import Discrepancy as Found
    from .schemas import VerificationReport

    began = perf_counter()
    report = ctypes.c_void_p()
    tape._call(_lib.LIB.tt_tape_verify, int(bool(deep)), ctypes.byref(report))
    try:
        count, checked = ctypes.c_uint64(), ctypes.c_uint64()
        if _lib.LIB.tt_report_count(report, ctypes.byref(count), ctypes.byref(checked)) != 0:
            raise StateError("tt_report_count failed")
        items = []
        d = _lib.tt_discrepancy()
        for i in range(count.value):
            if _lib.LIB.tt_report_item(report, i, ctypes.byref(d)) != 0:
                raise StateError(f"tt_report_item({i}) failed")
            items.append(
                Found(
                    name=decode_name(ctypes.string_at(d.name, d.name_len) if d.name_len else b""),
                    problem=(d.problem_name or b"").decode("ascii", "replace"),
                    expected=(d.expected or b"").decode("utf-8", "replace"),
                    found=(d.found or b"").decode("utf-8", "replace"),
                    code=d.problem,
                )
            )
    finally:
        _lib.LIB.tt_report_free(report)
    return VerificationReport(
        clean=not items,
        checked=checked.value,
        discrepancies=items,
        mode="deep",
        contents=bool(deep),
        total_tracks=tape.file_count,
        duration_ms=(perf_counter() - began) * 1000.0,
    )


def bind(tape: Tape, name_or_index: Union[Name, int], data: Any) -> None:
    """``Tape.bind``: the content of a memory entry of an opened catalog.

    Two kinds of memory entry need it: buffers over 64 KiB and read-at sources (the catalog marks
    them to be bound again: ``tt_tape_bind_bytes``/``tt_tape_bind_read_at``, after which they are
    readable at random again), and entries added with ``add_from_memory`` (fed while streaming:
    the bindings keep ``data`` and feed their NEED_DATA events, by entry index).
    """
    if isinstance(name_or_index, (str, bytes)):
        entry = tape.locate(name_or_index).entry
    else:
        index = u64(name_or_index, "index")
        entries = tape.entries
        if index >= len(entries):
            raise NotFoundError(f"not found: no entry at index {index} ({len(entries)} entries)")
        entry = entries[index]
    if entry.random_access:
        raise StateError(
            f"{entry.name!r} reads its own source (a file or bytes kept by the catalog): "
            "only memory entries of an opened catalog take bind"
        )
    if callable(data):
        source = ReadAtSource(entry.name_bytes, entry.size, data)
        tape._handle.keepalive.append(source)  # the C side points to its thunk until freed
        args: Tuple[Any, ...] = (source.c_function, None, _lib.tt_free_fn())
        fn = _lib.LIB.tt_tape_bind_read_at
        feed = MemorySource(entry.name_bytes, entry.size, b"", read_at=data)
    else:
        if isinstance(data, str):
            raise TypeError("data must be bytes-like or a read_at(offset, length) callable, not str")
        blob = bytes(data)
        ptr, n, keep = in_buffer(blob, "data")
        args, fn = (ptr, n), _lib.LIB.tt_tape_bind_bytes
        feed = MemorySource(entry.name_bytes, entry.size, blob)
        source = None
    try:
        tape._call(fn, entry.index, *args)
    except StateError:
        # Not a bound source: an entry fed while streaming (add_from_memory). The bindings feed it.
        tape._memory[entry.index] = feed
        return
    if source is not None:
        tape._readers.append(source)
    tape._entries = tape._by_name = tape._starts = None  # random_access changed
