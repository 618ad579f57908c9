"""TarTape 2.x and 3.0.3's entry points over our Tape: ``record``/``create``, ``open``,
``get_tape``, ``record_ephemeral``, ``discover``, ``exists``, and the
:class:`CompatTape` they return (our :class:`~tartape.Tape`, with TarTape's methods added).

Two generations of the pure-Python TarTape disagree, and both are served:

- ``play()`` yields ``bytes`` in 3.0.3 and events in 2.x. Tapes made by ``create``,
  ``get_tape`` and ``open(directory)`` (the 2.x entry points) yield events that are also bytes
  (:mod:`tartape.schemas`): data events are their chunk, the others are empty, so both loops
  write the same archive. Tapes from ``record`` and ``open(catalog_file)`` yield plain ``bytes``
  straight from the engine (no copy).
- ``verify()`` raises on a discrepancy in 2.x and returns a report in 3.0.3. A 2.x-made tape
  raises :class:`~tartape.exceptions.TarIntegrityError` (the report in ``e.report``) unless
  ``raise_exception=False`` is given; a ``record``-made tape returns the report unless
  ``raise_exception=True``. Either way a discrepancy is never a silent pass.
- ``iter_volumes`` yields ``(volume, manifest)`` in 2.x and volumes in 3.0.3: it yields
  :class:`CompatVolume` objects, which unpack into ``(volume, manifest)`` too.

Everything else is our Tape: the engine's stream (every file checked as it is read), its
catalog, its volumes. What remains different is listed in bindings/python/README.md.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from . import _layouts
from . import catalog as _catalog
from .entries import EntryKind
from .errors import InvalidArgumentError, SourceIOError, TarIntegrityError, UnsupportedError
from .events import Data, FileEnd, FileStart, TapeCompleted
from .exceptions import InvalidOffsetError, LayoutNotFoundError, TapeNotFoundError, VolumeNotFoundError
from .schemas import (
    EntryMetadata,
    FileGPS,
    FileSlice,
    ManifestEntry,
    TarFileDataEvent,
    TarFileEndEvent,
    TarFileStartEvent,
    TarTapeCompletedEvent,
    TrackGPS,
    VerificationReport,
    content_slices,
)
from .compat_volume import CompatVolume
from .tape import Tape
from .units import calculate_file_slices, calculate_segments, format_size, parse_size

__all__ = [
    "CompatTape",
    "CompatVolume",
    "record",
    "create",
    "open",
    "get_tape",
    "exists",
    "discover",
    "record_ephemeral",
    "parse_size",
    "format_size",
    "calculate_segments",
    "calculate_file_slices",
]

PathLike = Union[str, "os.PathLike[str]"]
TAPE_EXTENSION = ".tartape"
_CHECKSUM_NAMES = ("sha256", "md5", "sha1", "sha512")

# --- the tape --------------------------------------------------------------------------------


def _size_arg(size: Any, what: str = "size") -> int:
    try:
        return parse_size(size)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"{what}: {e}") from None


class CompatTape(Tape):
    """Our :class:`~tartape.Tape` with TarTape 2.x and 3.0.3's methods and their defaults.

    ``legacy`` is True for tapes from the 2.x entry points (``create``, ``get_tape``,
    ``open(directory)``): their ``play()`` yields events (which are also the archive's bytes)
    and their ``verify()`` raises on a discrepancy. ``directory`` is the recorded directory when
    it is known (None for a catalog opened by its file alone).
    """

    legacy: bool
    directory: Optional[Path]
    _layouts: Dict[str, Dict[str, Any]]
    _recording: Optional[Dict[str, Any]]
    _anonymized: Optional[bool]

    @classmethod
    def _upgrade(
        cls, tape: Tape, legacy: bool, directory: Optional[PathLike], anonymized: Optional[bool] = True
    ) -> "CompatTape":
        tape.__class__ = cls  # the same object: same handle, finalizer, streams
        self: CompatTape = tape  # type: ignore[assignment]
        self.legacy = legacy
        self.directory = Path(directory).resolve() if directory is not None else None
        self._layouts = _layouts.load(self.catalog_path) if self.catalog_path else {}
        self._recording = _layouts.recording(self.catalog_path, lambda: self.fingerprint) if self.catalog_path else None
        if anonymized is None and self._recording is not None:
            anonymized = bool(self._recording.get("anonymized"))
        self._anonymized = anonymized
        return self

    # --- identity -------------------------------------------------------------------------

    def __fspath__(self) -> str:
        if self.catalog_path is None:
            raise TypeError("this tape has no catalog file")
        return self.catalog_path

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, os.PathLike)) and self.catalog_path is not None:
            return Path(self.catalog_path).resolve() == Path(os.fspath(other)).resolve()
        return self is other

    __hash__ = Tape.__hash__

    @property
    def count_files(self) -> int:
        return self.file_count

    @property
    def data_size(self) -> int:
        """The content bytes of every file (no headers, no padding)."""
        return sum(e.size for e in self.entries if e.kind == EntryKind.FILE)

    @property
    def overhead_size(self) -> int:
        """``total_size - data_size``: headers, padding and the end-of-archive blocks."""
        return max(0, self.total_size - self.data_size)

    @property
    def is_anonymized(self) -> Optional[bool]:
        """Whether owners were left out (None when the catalog was not made by ``record``)."""
        return self._anonymized

    def _recorded(self, key: str) -> Any:
        return None if self._recording is None else self._recording.get(key)

    @property
    def checksum_algorithm(self) -> Optional[str]:
        """``"md5"`` when ``record`` recorded checksums; None without them, or when the catalog
        was not made by ``record`` (the C API does not say)."""
        return self._recorded("checksum_algorithm")

    @property
    def has_file_checksums(self) -> Optional[bool]:
        """Whether ``record`` recorded checksums (None when the catalog was not made by it)."""
        return None if self._recording is None else self._recorded("checksum_algorithm") is not None

    @property
    def exclude_patterns(self) -> Optional[List[str]]:
        """The names ``record`` left out (None when the catalog was not made by it)."""
        return self._recorded("exclude")

    @property
    def created_at(self) -> Optional[int]:
        """When ``record`` wrote the catalog, in seconds (None when it was not made by it)."""
        return self._recorded("created_at")

    @property
    def auto_truncated(self) -> bool:
        """Always False: names are never truncated (there is no length limit)."""
        return False

    # --- streaming --------------------------------------------------------------------------

    def play(  # type: ignore[override]
        self,
        start_offset: int = 0,
        buffer_size: Optional[int] = None,
        on_event: Optional[Callable[[Any], Any]] = None,
        observer: Any = None,
        fast_verify: bool = True,
        *,
        chunk_size: Optional[int] = None,
    ) -> Iterator[bytes]:
        """The archive from ``start_offset``: plain ``bytes`` for a ``record``-made tape, events
        that are also bytes for a 2.x-made one (see the module). ``buffer_size`` (TarTape's name)
        or ``chunk_size`` (ours) cuts the bytes in chunks of exactly that size but the last.
        ``on_event(event)`` and ``observer.on_file_start/on_file_end/on_tape_completed`` get
        :mod:`tartape.schemas` events. ``fast_verify=False`` verifies every entry before the
        first byte (raising :class:`TarIntegrityError`); in any case every file is checked by
        the engine when its bytes are read, and a change stops the stream
        (:class:`~tartape.ChangedSourceError`, a ``TarIntegrityError``)."""
        if buffer_size is not None and chunk_size is not None and buffer_size != chunk_size:
            raise InvalidArgumentError("give buffer_size or chunk_size, not both")
        size = chunk_size if chunk_size is not None else buffer_size
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
            raise InvalidArgumentError(f"buffer_size must be a positive int, got {size!r}")
        if not isinstance(start_offset, int) or start_offset < 0:
            raise InvalidOffsetError(f"Invalid resume offset: {start_offset!r}")
        if start_offset and start_offset > self.total_size:
            raise InvalidOffsetError(
                f"Invalid resume offset: {start_offset} (the tape has {self.total_size} bytes)"
            )
        if not fast_verify:
            self.verify(deep=True, raise_exception=True)
        notify = _notifier(on_event, observer)
        if not self.legacy:
            wrap = None if notify is None else (lambda ev: notify(self._wrap(ev)))
            return Tape.play(self, start_offset, size, wrap)
        return self._legacy_play(start_offset, size, notify)

    def _wrap(self, ev: Any) -> Any:
        """One of our events as the :mod:`tartape.schemas` event (bytes, with TarTape's fields)."""
        if isinstance(ev, FileStart):
            return TarFileStartEvent(ev, ManifestEntry.from_entry(self._entry(ev.index), self._anonymized))
        if isinstance(ev, FileEnd):
            return TarFileEndEvent(ev, ManifestEntry.from_entry(self._entry(ev.index), self._anonymized))
        if isinstance(ev, TapeCompleted):
            return TarTapeCompletedEvent(ev)
        if isinstance(ev, Data):
            return TarFileDataEvent(ev.data, ev.index, ev.offset)
        return ev

    def _legacy_play(
        self, start: int, size: Optional[int], notify: Optional[Callable[[Any], None]]
    ) -> Iterator[bytes]:
        for ev in self.events(start):
            if isinstance(ev, Data):
                data, pos = ev.data, 0
                step = size or len(data) or 1
                while pos < len(data):
                    yield TarFileDataEvent(data[pos : pos + step], ev.index, ev.offset + pos)
                    pos += step
                continue
            out = self._wrap(ev)
            if notify is not None:
                notify(out)
            yield out

    def as_file(self, buffer_size: int = 64 * 1024) -> Any:  # type: ignore[override]
        """The archive as a seekable file (our :class:`~tartape.TapeFile`; it reads straight into
        the caller's buffer, so ``buffer_size`` only has to be positive)."""
        if not isinstance(buffer_size, int) or buffer_size <= 0:
            raise InvalidArgumentError(f"buffer_size must be a positive int, got {buffer_size!r}")
        return Tape.as_file(self)

    # --- verify -----------------------------------------------------------------------------

    def verify(  # type: ignore[override]
        self, deep: bool = False, raise_exception: Optional[bool] = None
    ) -> VerificationReport:
        """Every entry compared with the disk (TarTape's full check; ``deep=True`` also compares
        contents with the checksums recorded by ``checksum=True``). Returns the
        :class:`~tartape.schemas.VerificationReport`; raises :class:`TarIntegrityError` with it
        in ``report`` when something differs and ``raise_exception`` is True, or left out on a
        2.x-made tape (``create``, ``get_tape``, ``open(directory)``)."""
        report = _catalog.verify(self, deep)
        if raise_exception is None:
            raise_exception = self.legacy
        if raise_exception and not report.clean:
            raise TarIntegrityError(report.summary(), report=report)
        return report  # type: ignore[return-value]

    # --- volumes and locate ---------------------------------------------------------------

    def volume(self, part: int, size: Any) -> CompatVolume:  # type: ignore[override]
        n = _size_arg(size)
        vol = Tape.volume(self, part, n)
        vol.__class__ = CompatVolume
        cv: CompatVolume = vol  # type: ignore[assignment]
        cv._compat_init(Tape.volume_count(self, n), None, self.directory)
        return cv

    def volume_count(self, size: Any) -> int:
        return Tape.volume_count(self, _size_arg(size))

    def iter_volumes(  # type: ignore[override]
        self,
        size: Any,
        tag: Optional[str] = None,
        is_default: bool = True,
        naming_template: Optional[str] = None,
        observer: Any = None,
    ) -> Iterator[CompatVolume]:
        """Every part of ``size`` bytes (an int or ``"1GB"``...) in order, as :class:`CompatVolume`
        objects that also unpack into ``(volume, manifest)``. ``naming_template`` formats names
        with ``{name}`` (the first entry's name), ``{fingerprint}``, ``{index}``, ``{pindex}``
        (1-based, 3 digits or more), ``{part}`` and ``{total}``; default ``part-0000``... ``tag``
        remembers the size for ``get_volume(tag=...)`` on this object."""
        if observer is not None:
            raise UnsupportedError("iter_volumes(observer=...) is not supported: use play(observer=...)")
        n = _size_arg(size)
        count = self.volume_count(n)
        tag = tag if tag is not None else format_size(n)
        if naming_template is not None:
            self._volume_name(naming_template, 0, count)  # a bad template fails before any volume
        self._register(tag, n, is_default, naming_template)
        for part in range(count):
            vol = self.volume(part, n)
            vol.name = self._volume_name(naming_template, part, count)
            vol.layout_tag = tag
            yield vol

    def _register(self, tag: str, size: int, is_default: bool, template: Optional[str]) -> None:
        """Remembers the layout, and saves it beside the catalog (``<catalog>.layouts.json``) so
        that ``Catalog(...).get_layout(tag)`` finds it in another process."""
        if self.catalog_path is not None:
            self._layouts = _layouts.register(self.catalog_path, tag, size, is_default, template)
        else:
            if is_default:
                for v in self._layouts.values():
                    v["is_default"] = False
            self._layouts[tag] = {"volume_size": size, "is_default": is_default, "naming_template": template}

    def _volume_name(self, template: Optional[str], part: int, total: int) -> str:
        stem = Path(self.catalog_path).stem if self.catalog_path else (
            self.entries[0].name.split("/", 1)[0] if self.file_count else "tape")
        try:
            return _layouts.volume_name(template, part, total, stem, self.fingerprint)
        except (KeyError, ValueError, IndexError, AttributeError) as e:
            raise InvalidArgumentError(f"naming_template {template!r}: {e}") from None

    def _layout_size(self, tag_or_size: Any) -> int:
        if isinstance(tag_or_size, str) and tag_or_size in self._layouts:
            return self._layouts[tag_or_size]["volume_size"]
        if isinstance(tag_or_size, int) and not isinstance(tag_or_size, bool):
            return tag_or_size  # checked by the engine (positive multiple of 512)
        try:
            return parse_size(tag_or_size)
        except (TypeError, ValueError):
            raise LayoutNotFoundError(
                f"Layout {tag_or_size!r} not found (registered: {sorted(self._layouts)}) and not a size"
            ) from None

    def get_volume(
        self,
        index: Union[int, str] = 0,
        size: Any = None,
        tag: Optional[str] = None,
        vol_start: Optional[int] = None,
        vol_end: Optional[int] = None,
        observer: Any = None,
    ) -> CompatVolume:
        """Part ``index`` of parts of ``size`` bytes (or of the size last given to
        ``iter_volumes`` under ``tag``, or as the default)."""
        if vol_start is not None or vol_end is not None:
            raise UnsupportedError(
                "get_volume(name, index, vol_start, vol_end) (arbitrary windows) is not supported: "
                "use tape.as_file() and seek, or get_volume(index, size)"
            )
        if observer is not None:
            raise UnsupportedError("get_volume(observer=...) is not supported")
        if size is None:
            key = tag if tag is not None else _layouts.default_tag(self._layouts)
            if key not in self._layouts:
                raise LayoutNotFoundError(
                    f"no layout {tag!r} (registered: {sorted(self._layouts)}): give get_volume(index, size=...)"
                    if tag is not None else
                    f"no default layout (registered: {sorted(self._layouts)}): give get_volume(index, size=...)"
                )
            n = self._layouts[key]["volume_size"]
            template = self._layouts[key]["naming_template"]
        else:
            n = _size_arg(size)
            template = None
        if not isinstance(index, int) or index < 0 or index >= self.volume_count(n):
            raise VolumeNotFoundError(f"volume {index!r} does not exist ({self.volume_count(n)} volumes)")
        vol = self.volume(index, n)
        vol.name = self._volume_name(template, index, vol.total_volumes)
        return vol

    def locate(  # type: ignore[override]
        self, name: Union[str, bytes], tag_or_size: Any = None, *, part_size: Any = None
    ) -> Any:
        """Our :class:`~tartape.Location` (part numbers when a size is given) with TarTape 3's
        ``arc_path``, ``file_size`` and ``fragments`` (:class:`~tartape.schemas.FileSlice`, with
        ``http_range`` and ``range_header``)."""
        if part_size is not None:
            if tag_or_size is not None:
                raise InvalidArgumentError("give tag_or_size or part_size, not both")
            tag_or_size = part_size
        n = None if tag_or_size is None else self._layout_size(tag_or_size)
        loc = Tape.locate(self, name, n)
        return LocatedFile._from(loc)

    def get_file_slices(self, arc_path: str, chunk_size: Any) -> List[FileSlice]:
        return self.locate(arc_path, chunk_size).fragments

    def iter_gps(self, tag_or_size: Any = None) -> Iterator[TrackGPS]:
        """Every entry with the slices of its content in parts of ``tag_or_size``."""
        n = None if tag_or_size is None else self._layout_size(tag_or_size)
        for e in self.entries:
            meta = EntryMetadata.from_entry(e, self._anonymized)
            yield TrackGPS(
                arc_path=meta.arc_path,
                rel_path=meta.rel_path,
                size=e.size,
                mtime=e.mtime,
                mode=e.mode,
                checksum=None,
                is_dir=meta.is_dir,
                is_symlink=meta.is_symlink,
                linkname=meta.linkname,
                start_offset=e.header_offset,
                fragments=content_slices(e.data_offset, e.size, n) if e.kind == EntryKind.FILE else [],
            )

    def inspect(self) -> Iterator[EntryMetadata]:
        """Every entry's metadata, in archive order, without reading content."""
        for e in self.entries:
            yield EntryMetadata.from_entry(e, self._anonymized)

    get_tracks = inspect

    # --- the catalog file -------------------------------------------------------------------

    def export_catalog(self, compress: bool = True) -> bytes:
        """The catalog file's bytes (gzip-compressed by default)."""
        if self.catalog_path is None:
            raise TapeNotFoundError("this tape has no catalog file: save() it first")
        with builtin_open(self.catalog_path, "rb") as f:
            raw = f.read()
        return gzip.compress(raw, mtime=0) if compress else raw

    def destroy(self) -> None:
        """Closes the tape and deletes its catalog file."""
        path = self.catalog_path
        self.close()
        if path is not None:
            for p in (Path(path), _layouts.layouts_path(path)):
                if p.exists():
                    p.unlink()


builtin_open = open


def _notifier(on_event: Optional[Callable[[Any], Any]], observer: Any) -> Optional[Callable[[Any], None]]:
    if on_event is None and observer is None:
        return None
    methods = {}
    if observer is not None:
        for kind, method in (("file_start", "on_file_start"), ("file_end", "on_file_end"),
                             ("tape_completed", "on_tape_completed")):
            fn = getattr(observer, method, None)
            if fn is not None:
                methods[kind] = fn

    def notify(event: Any) -> None:
        if on_event is not None:
            on_event(event)
        fn = methods.get(event.type.value if hasattr(event.type, "value") else event.type)
        if fn is not None:
            fn(event)

    return notify


class LocatedFile:
    """Factory of the located-entry type: a subclass of our Location with TarTape 3's names."""

    @staticmethod
    def _from(loc: Any) -> Any:
        return _Located(**{f: getattr(loc, f) for f in loc.__dataclass_fields__})


from .entries import Location  # noqa: E402


class _Located(Location):
    """:class:`~tartape.Location` with TarTape 3's ``FileGPS`` names."""

    @property
    def arc_path(self) -> str:
        return self.name

    @property
    def file_size(self) -> int:
        return self.size

    @property
    def fragments(self) -> List[FileSlice]:
        if self.kind != EntryKind.FILE:
            return []
        return content_slices(self.data_offset, self.size, self.part_size)

    @property
    def spans_multiple_volumes(self) -> bool:
        return len(self.fragments) > 1

    @property
    def primary_volume_index(self) -> Optional[int]:
        f = self.fragments
        return f[0].volume_index if f else None

    def gps(self) -> FileGPS:
        """As TarTape 3's plain :class:`~tartape.schemas.FileGPS`."""
        return FileGPS(self.name, self.size, self.fragments)


# --- entry points ------------------------------------------------------------------------


def discover(directory: PathLike) -> Optional[Path]:
    """The catalog of ``directory``: ``<directory>.tartape`` beside it, or None."""
    target = Path(directory)
    if not target.is_dir():
        return None
    sidecar = Path(_catalog.default_catalog_path(target))
    return sidecar if sidecar.is_file() else None


def exists(directory: PathLike, catalog_path: Optional[PathLike] = None) -> bool:
    """True when ``directory`` (or ``catalog_path``) has a recorded catalog."""
    if catalog_path is not None:
        return Path(catalog_path).is_file()
    return discover(directory) is not None


def _record_options(exclude: Any, checksum: Any) -> Tuple[List[Any], bool]:
    if exclude is None:
        names: List[Any] = []
    elif isinstance(exclude, (str, bytes, os.PathLike)):
        names = [exclude]
    elif callable(exclude):
        raise UnsupportedError("exclude: a callable is not supported; give names of path components")
    else:
        try:
            names = list(exclude)
        except TypeError:
            raise InvalidArgumentError(
                f"exclude must be a name or a list of names, got {type(exclude).__name__}"
            ) from None
    for n in names:
        if not isinstance(n, (str, bytes, os.PathLike)):
            raise InvalidArgumentError(f"exclude: {n!r} is not a name")
        if any(c in os.fsdecode(n) for c in "*?["):
            raise UnsupportedError(
                f"exclude: {os.fsdecode(n)!r} is a glob pattern; tartape excludes whole path "
                "components by name (e.g. '.git', 'node_modules')"
            )
        if "/" in os.fsdecode(n).strip("/"):
            raise UnsupportedError(f"exclude: {os.fsdecode(n)!r} has a '/': give one path component")
    if isinstance(checksum, bool):
        return names, checksum
    if isinstance(checksum, str) and checksum.lower() == "md5":
        return names, True
    if isinstance(checksum, str) and checksum.lower() in _CHECKSUM_NAMES:
        raise UnsupportedError(
            f"checksum={checksum!r}: tartape records MD5 (with CRC-32) checksums; use checksum=True or 'md5'"
        )
    raise InvalidArgumentError(f"checksum must be a bool or 'md5', got {checksum!r}")


def record(
    directory: PathLike,
    catalog_path: Optional[PathLike] = None,
    exclude: Any = None,
    anonymize: bool = True,
    checksum: Any = False,
    overwrite: bool = False,
    auto_truncate: bool = False,
    *,
    strict: bool = False,
    format: str = "tar",
    deflate: int = 0,
) -> CompatTape:
    """Walks ``directory`` and saves its catalog (default ``<directory>.tartape`` beside it):
    TarTape 3.0.3's signature over our ``record``. ``exclude``: names of path components
    (``".git"``), not globs. ``checksum``: ``True``/``"md5"`` records MD5s (and CRC-32s).
    The catalog is always replaced atomically (``overwrite`` is accepted for compatibility), and
    names are never truncated (``auto_truncate`` has nothing to do: there is no length limit)."""
    if not Path(directory).is_dir():
        raise InvalidArgumentError(f"Root directory {os.fsdecode(directory)!r} must be a directory.")
    names, sums = _record_options(exclude, checksum)
    tape = _catalog.record(
        directory,
        catalog_path,
        checksum=sums,
        anonymize=anonymize,
        exclude=names,
        strict=strict,
        format=format,
        deflate=deflate,
    )
    try:
        _layouts.save_recording(tape.catalog_path, tape.fingerprint, "md5" if sums else None, anonymize,
                                names, int(time.time()))
    except BaseException:
        tape.close()
        raise
    return CompatTape._upgrade(tape, legacy=False, directory=directory, anonymized=anonymize)


def create(
    directory: PathLike,
    *,
    exclude: Any = None,
    anonymize: bool = True,
    calculate_hashes: bool = False,
    checksum: Any = None,
    overwrite: bool = False,
    auto_truncate: bool = False,
    catalog_path: Optional[PathLike] = None,
) -> CompatTape:
    """TarTape 2.x's ``create(directory)``: records like :func:`record` (``calculate_hashes`` is
    2.x's ``checksum=True``) and returns a 2.x tape (``play()`` yields events, ``verify()``
    raises on a discrepancy). Options are keyword-only: 2.x's second parameter (``exclude``)
    and 3.0.3's (``catalog_path``) differ."""
    sums = checksum if checksum is not None else bool(calculate_hashes)
    tape = record(directory, catalog_path, exclude, anonymize, sums, overwrite, auto_truncate)
    tape.legacy = True
    return tape


def open(  # noqa: A001 - TarTape's name
    path: PathLike, catalog_path: Optional[PathLike] = None, check: bool = True
) -> CompatTape:
    """Opens a recorded tape:

    - ``open(directory)`` (TarTape 2.x and 3.0.3): the catalog ``<directory>.tartape`` beside it
      (``TapeNotFoundError`` when there is none); a 2.x tape (events, raising ``verify``);
    - ``open(directory, catalog_path)``: that catalog, as a 2.x tape too;
    - ``open(catalog_file)`` (ours): the catalog itself; ``play()`` yields plain bytes and
      ``verify()`` returns the report.

    ``check=True`` checks every byte of the catalog now (``CorruptError``, also a
    ``TapeCorruptedError``)."""
    if b"\0" in os.fsencode(path):
        return CompatTape._upgrade(_catalog.open(path, check), False, None, None)  # refuses it
    p = Path(path)
    if catalog_path is not None:
        cat = Path(catalog_path)
        if not cat.is_file():
            raise TapeNotFoundError(f"Catalog file not found at: {os.fsdecode(catalog_path)}")
        _refuse_sqlite(cat)
        return CompatTape._upgrade(_catalog.open(cat, check), True, p, None)
    if p.is_dir():
        cat = discover(p)
        if cat is None:
            legacy_index = p / ".tartape" / "index.db"
            hint = (f"; {legacy_index} is a TarTape 2.x index, which this package does not read: "
                    "record the directory again with tartape.create or tartape.record"
                    if legacy_index.is_file() else "")
            raise TapeNotFoundError(
                f"No TarTape catalog found for: {os.fsdecode(path)} "
                f"(looked for {_catalog.default_catalog_path(p)}){hint}"
            )
        _refuse_sqlite(cat)
        return CompatTape._upgrade(_catalog.open(cat, check), True, p, None)
    if not p.exists():
        raise MissingTapeError(f"No tape directory or catalog file at: {os.fsdecode(path)}")
    _refuse_sqlite(p)
    directory = _directory_of(p)
    return CompatTape._upgrade(_catalog.open(p, check), False, directory, None)


def _refuse_sqlite(catalog: Path) -> None:
    """A catalog written by the pure-Python TarTape 3 (an SQLite database, also named
    ``<directory>.tartape``) is refused with what to do, rather than as a corrupt catalog."""
    try:
        with builtin_open(catalog, "rb") as f:
            magic = f.read(16)
    except OSError:
        return  # opening it reports the error
    if magic == b"SQLite format 3\0":
        raise UnsupportedError(
            f"{catalog} is a catalog of the pure-Python TarTape (SQLite), which this package does not "
            "read: record the directory again with tartape.record (or tartape.create)"
        )


class MissingTapeError(TapeNotFoundError, SourceIOError):
    """``open`` of a path that does not exist: TarTape's ``TapeNotFoundError`` and our
    ``SourceIOError`` (what opening a missing catalog file gives)."""

    default_status = SourceIOError.default_status


def _directory_of(catalog: Path) -> Optional[Path]:
    """``x`` for a catalog ``x.tartape`` whose directory is beside it."""
    if catalog.name.endswith(TAPE_EXTENSION):
        d = catalog.with_name(catalog.name[: -len(TAPE_EXTENSION)])
        if d.is_dir():
            return d
    return None


def get_tape(directory: PathLike) -> Optional[CompatTape]:
    """TarTape's ``get_tape``: :func:`open` of a directory, or None when it has no catalog."""
    try:
        return open(directory)
    except TapeNotFoundError:
        return None


@contextlib.contextmanager
def record_ephemeral(
    directory: PathLike,
    exclude: Any = None,
    anonymize: bool = True,
    checksum: Any = False,
    auto_truncate: bool = False,
) -> Iterator[CompatTape]:
    """A tape recorded to a catalog in a temporary directory, deleted (with the tape closed) on
    leaving the ``with`` block."""
    with tempfile.TemporaryDirectory() as tmp:
        cat = Path(tmp) / (Path(directory).resolve().name + TAPE_EXTENSION)
        tape = record(directory, cat, exclude, anonymize, checksum, True, auto_truncate)
        try:
            yield tape
        finally:
            tape.close()
