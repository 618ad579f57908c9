"""TarTape 3.0.3's ``Catalog``, ``Layout`` and ``FileSliceStream`` over our catalog and tape.

TarTape 3 keeps its catalog in SQLite with the layouts (volume sizes) registered in it. Ours is
tartape's own catalog file (docs/CATALOG.md), which a :class:`~tartape.CompatTape` opens without
the sources. A :class:`Catalog` is that tape with TarTape's catalog methods; its layouts are kept
by the object (``register_layout``), not written into the catalog file, and any size that is not
registered gives a "virtual" layout, as in TarTape.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from . import _layouts
from .compat import CompatTape, _size_arg, calculate_segments, format_size, open as _open_tape
from .exceptions import (
    AmbiguousLayoutError,
    InvalidOffsetError,
    LayoutNotFoundError,
    ReadOnlyCatalogError,
    SourceNotFoundError,
    TapeNotFoundError,
    VolumeNotFoundError,
    VolumeStateError,
)
from .schemas import EntryMetadata, FileGPS, TrackGPS

__all__ = ["Catalog", "Layout", "VolumeRecord", "FileSliceStream", "open_catalog"]

_ALGORITHMS = ("sha256", "md5", "sha1", "sha512")


@dataclass(frozen=True)
class VolumeRecord:
    """One volume of a layout: where it lies in the archive and its name."""

    layout_tag: str
    volume_index: int
    name: str
    start_offset: int
    end_offset: int
    size: int
    checksum: Optional[str] = None
    checksum_algorithm: Optional[str] = None


class Layout:
    """A way of cutting the archive in volumes of ``volume_size`` bytes."""

    def __init__(self, catalog: "Catalog", volume_size: int, tag: str, is_default: bool = False,
                 naming_template: Optional[str] = None, registered: bool = True) -> None:
        self._catalog = catalog
        self.volume_size = volume_size
        self.tag = tag
        self.is_default = is_default
        self.total_tape_size = catalog.total_size
        self.total_volumes = max(1, len(list(calculate_segments(self.total_tape_size, volume_size))))
        self.created_at = int(time.time()) if registered else 0
        self.naming_template = naming_template
        self._registered = registered

    def __repr__(self) -> str:
        return f"<Layout {self.tag!r} {self.total_volumes} x {self.volume_size} bytes>"

    @property
    def is_virtual(self) -> bool:
        """True for a layout computed on the fly (not registered on this catalog object)."""
        return not self._registered

    @property
    def volumes(self) -> List[VolumeRecord]:
        return [self.get_volume(i) for i in range(self.total_volumes)]

    def get_volume(self, volume_index: int) -> VolumeRecord:
        if not isinstance(volume_index, int) or not 0 <= volume_index < self.total_volumes:
            raise VolumeNotFoundError(f"Volume index {volume_index!r} does not exist in layout {self.tag!r}")
        start = volume_index * self.volume_size
        end = min(self.total_tape_size, start + self.volume_size)
        name = _layouts.volume_name(self.naming_template, volume_index, self.total_volumes,
                                    self._catalog.path.stem, self._catalog.fingerprint)
        return VolumeRecord(self.tag, volume_index, name, start, end, end - start, None, "md5")

    def locate(self, arc_path: str) -> FileGPS:
        """Where a file's content lies in this layout's volumes (``KeyError`` when absent)."""
        try:
            loc = self._catalog._tape.locate(arc_path, self.volume_size)
        except LookupError:
            raise KeyError(f"File not found in catalog: {arc_path!r}") from None
        return loc.gps()

    def iter_gps(self) -> Iterator[TrackGPS]:
        return self._catalog._tape.iter_gps(self.volume_size)

    def verify_volume(self, volume_index: int, file_path: Union[str, "os.PathLike[str]"]) -> bool:
        """True when the file holds exactly volume ``volume_index``'s bytes. Our catalogs record
        no volume checksums, so the expected MD5 is read from the tape: this needs the sources
        (``SourceNotFoundError`` without them)."""
        path = Path(file_path)
        if not path.is_file():
            return False
        record = self.get_volume(volume_index)
        if path.stat().st_size != record.size:
            return False
        try:
            with self._catalog._tape.volume(volume_index, self.volume_size) as vol:
                expected = vol.md5()
        except OSError as e:
            raise SourceNotFoundError(f"the sources of volume {volume_index} cannot be read: {e}") from e
        h = hashlib.md5()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest() == expected


class Catalog:
    """A recorded catalog, opened without the sources (TarTape 3's zero-disk ``Catalog``)."""

    def __init__(self, db_path: Union[str, "os.PathLike[str]"], read_only: bool = False) -> None:
        self.path = Path(db_path).resolve()
        if not self.path.is_file():
            raise TapeNotFoundError(f"TarTape catalog not found at: {self.path}")
        self.read_only = read_only
        self._tape: CompatTape = _open_tape(self.path)
        self._layouts: Dict[str, Layout] = {
            tag: Layout(self, v["volume_size"], tag, v["is_default"], v["naming_template"])
            for tag, v in _layouts.load(self.path).items()
        }
        self._temp: Optional[tempfile.TemporaryDirectory] = None  # type: ignore[type-arg]

    def __repr__(self) -> str:
        return f"<Catalog {str(self.path)!r} {self._tape.file_count} entries>"

    @property
    def tape(self) -> CompatTape:
        """The opened tape (streams and reads need the sources; the rest does not)."""
        return self._tape

    # statistics
    fingerprint = property(lambda self: self._tape.fingerprint)
    total_size = property(lambda self: self._tape.total_size)
    file_count = property(lambda self: self._tape.file_count)
    data_size = property(lambda self: self._tape.data_size)
    overhead_size = property(lambda self: self._tape.overhead_size)

    def get_track_count(self) -> int:
        return self.file_count

    def get_stats(self) -> Dict[str, Any]:
        return {"fingerprint": self.fingerprint, "total_size": self.total_size, "data_size": self.data_size}

    # layouts
    @property
    def layouts(self) -> List[Layout]:
        return list(self._layouts.values())

    @property
    def default_layout(self) -> Layout:
        if not self._layouts:
            return Layout(self, max(512, self.total_size), "monolithic", registered=False)
        if len(self._layouts) == 1:
            return next(iter(self._layouts.values()))
        for layout in self._layouts.values():
            if layout.is_default:
                return layout
        raise AmbiguousLayoutError(
            f"Multiple layouts exist ({list(self._layouts)}) and none is the default: give a tag"
        )

    def get_layout(self, tag_or_size: Union[str, int]) -> Layout:
        if isinstance(tag_or_size, str) and tag_or_size in self._layouts:
            return self._layouts[tag_or_size]
        try:
            size = _size_arg(tag_or_size)
        except Exception:
            raise LayoutNotFoundError(f"Layout {tag_or_size!r} not found in catalog.") from None
        for layout in self._layouts.values():
            if layout.volume_size == size:
                return layout
        return Layout(self, size, format_size(size), registered=False)

    def register_layout(self, volume_size: Union[int, str], tag: Optional[str] = None,
                        is_default: bool = False, naming_template: Optional[str] = None) -> Layout:
        size = _size_arg(volume_size, "volume_size")
        tag = tag or format_size(size)
        if self.read_only:
            raise ReadOnlyCatalogError(f"{self.path} was opened read-only: register_layout({tag!r}) refused")
        if naming_template is not None:
            _layouts.volume_name(naming_template, 0, 1, self.path.stem, self.fingerprint)  # fails early
        _layouts.register(self.path, tag, size, is_default, naming_template)
        if is_default:
            for layout in self._layouts.values():
                layout.is_default = False
        layout = Layout(self, size, tag, is_default, naming_template)
        self._layouts[tag] = layout
        return layout

    # queries
    def locate(self, arc_path: str, tag_or_size: Optional[Union[str, int]] = None) -> FileGPS:
        layout = self.get_layout(tag_or_size) if tag_or_size is not None else self.default_layout
        return layout.locate(arc_path)

    def iter_gps(self, tag_or_size: Optional[Union[str, int]] = None) -> Iterator[TrackGPS]:
        layout = self.get_layout(tag_or_size) if tag_or_size is not None else self.default_layout
        return layout.iter_gps()

    def find_track_at_absolute_offset(self, absolute_offset: int) -> EntryMetadata:
        entry = self._tape.entry_at(absolute_offset) if absolute_offset >= 0 else None
        if entry is None:
            raise InvalidOffsetError(f"No track found at absolute offset {absolute_offset}")
        return EntryMetadata.from_entry(entry, None)

    def query_tracks_intersecting_range(self, start_offset: int) -> Iterator[EntryMetadata]:
        for e in self._tape.entries:
            if e.end_offset > start_offset:
                yield EntryMetadata.from_entry(e, None)

    # lifetime
    def open(self) -> "Catalog":
        return self

    def close(self) -> None:
        self._tape.close()
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @classmethod
    def from_directory(cls, directory: Union[str, "os.PathLike[str]"]) -> "Catalog":
        from .compat import discover

        path = discover(directory)
        if path is None:
            raise TapeNotFoundError(f"TarTape catalog not found for: {os.fsdecode(directory)}")
        return cls(path)

    def export_bytes(self, compress: bool = True) -> bytes:
        raw = self.path.read_bytes()
        return gzip.compress(raw, compresslevel=6, mtime=0) if compress else raw

    @classmethod
    def from_bytes(cls, data: bytes, target_path: Optional[Union[str, "os.PathLike[str]"]] = None,
                   read_only: bool = True) -> "Catalog":
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else bytes(data)
        if target_path is not None:
            dest = Path(target_path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(raw)
            return cls(dest, read_only)
        temp = tempfile.TemporaryDirectory()
        dest = Path(temp.name) / "ephemeral.tartape"
        dest.write_bytes(raw)
        try:
            catalog = cls(dest, read_only)
        except BaseException:
            temp.cleanup()
            raise
        catalog._temp = temp
        return catalog


def open_catalog(catalog_path: Union[str, "os.PathLike[str]"], read_only: bool = False) -> Catalog:
    """TarTape 3's zero-disk catalog: ``locate``, ``iter_gps``, layouts and statistics without
    the sources (``catalog.tape`` streams when they are there). ``read_only`` is kept: nothing
    here writes to the catalog file."""
    return Catalog(catalog_path, read_only)


class FileSliceStream(io.RawIOBase):
    """The bytes ``[start_offset, end_offset)`` of a file as a seekable binary file, hashed while
    read in order (``checksum``; ``compute_checksum()`` reads the slice on purpose). Opened by
    ``with`` or ``open()``, as TarTape's."""

    def __init__(self, path: Union[str, "os.PathLike[str]"], start_offset: int, end_offset: int,
                 checksum_algorithm: Optional[str] = "sha256", name: Optional[str] = None) -> None:
        super().__init__()
        if start_offset < 0 or end_offset < start_offset:
            raise InvalidOffsetError(f"invalid slice [{start_offset}, {end_offset})")
        algo = checksum_algorithm.lower() if checksum_algorithm else None
        if algo is not None and algo not in _ALGORITHMS:
            raise ValueError(f"Unsupported checksum algorithm {checksum_algorithm!r}: one of {', '.join(_ALGORITHMS)}")
        self.path = Path(path).resolve()
        self.start_offset, self.end_offset = start_offset, end_offset
        self.size = end_offset - start_offset
        self.name = name or f"{self.path.name}[{start_offset}:{end_offset}]"
        self.checksum_algorithm = algo
        self._fd: Optional[int] = None
        self._pos = 0
        self._hasher: Any = None
        self._cursor = 0
        self._final: Optional[str] = None

    def open(self) -> "FileSliceStream":
        return self.__enter__()

    def __enter__(self) -> "FileSliceStream":
        if self._fd is None:
            if not self.path.is_file():
                raise SourceNotFoundError(f"Source file not found at: {str(self.path)!r}")
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self._pos, self._cursor, self._final = 0, 0, None
            self._hasher = hashlib.new(self.checksum_algorithm) if self.checksum_algorithm else None
        return self

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self.checksum  # noqa: B018 - keeps a completed checksum
        # (not io's close: the slice can be opened again, as TarTape's)

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return self._fd is None

    def _check(self) -> int:
        if self._fd is None:
            raise VolumeStateError(f"I/O operation on closed FileSliceStream {self.name!r}.")
        return self._fd

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        fd = self._check()
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(fd, want, self.start_offset + self._pos)
        n = len(data)
        view[:n] = data
        if self._hasher is not None:
            end = self._pos + n
            if self._pos <= self._cursor < end:  # new bytes, possibly after an overlapping retry
                self._hasher.update(data[self._cursor - self._pos :])
                self._cursor = end
            elif self._pos > self._cursor:
                self._hasher = None  # a gap: no in-flight checksum
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"Invalid whence: {whence}")
        target = base + offset
        if not 0 <= target <= self.size:
            raise InvalidOffsetError(f"Seek position {target} out of slice bounds (0-{self.size})")
        if target == 0 and self.checksum_algorithm and self._final is None:
            self._hasher, self._cursor = hashlib.new(self.checksum_algorithm), 0
        self._pos = target
        return target

    def tell(self) -> int:
        self._check()
        return self._pos

    @property
    def is_completed(self) -> bool:
        return self._pos == self.size

    @property
    def checksum(self) -> Optional[str]:
        if self._final is None and self._hasher is not None and self._cursor == self.size:
            self._final = self._hasher.hexdigest()
        return self._final

    md5sum = checksum

    def compute_checksum(self, algorithm: Optional[str] = None) -> str:
        algo = (algorithm or self.checksum_algorithm or "sha256").lower()
        if algo not in _ALGORITHMS:
            raise ValueError(f"Unsupported checksum algorithm {algo!r}: one of {', '.join(_ALGORITHMS)}")
        h = hashlib.new(algo)
        with self.path.open("rb") as f:
            f.seek(self.start_offset)
            left = self.size
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    raise SourceNotFoundError(f"{self.path} is shorter than the slice")
                h.update(chunk)
                left -= len(chunk)
        self._final, self.checksum_algorithm = h.hexdigest(), algo
        return self._final
