"""TarTape's data types (``tartape.schemas`` of TarTape 1.x to 3.0.3), over ours.

Code written for the pure-Python TarTape imports these names; they are built from this
package's own events, entries and reports, so one object serves both generations:

- the stream events are ``bytes`` as well as events: :class:`TarFileDataEvent` *is* its chunk of
  the archive (``event.data is event``), and :class:`TarFileStartEvent`, :class:`TarFileEndEvent`
  and :class:`TarTapeCompletedEvent` are empty ``bytes``. So a loop written for TarTape 2.x
  (``if event.type == "file_data": out.write(event.data)``) and one written for 3.0.3 (``for
  chunk in tape.play(): out.write(chunk)``) both write exactly the archive. They are also this
  package's :class:`~tartape.FileStart`, :class:`~tartape.Data`, :class:`~tartape.FileEnd` and
  :class:`~tartape.TapeCompleted` (``isinstance`` holds, every field is there);
- ``event.type`` is a :class:`TarEventType`, a ``str`` enum: it equals ``"file_data"`` (2.x, 3.x)
  and ``TarEventType.FILE_DATA`` (1.x);
- :class:`VerificationReport` and :class:`Discrepancy` are this package's
  :class:`~tartape.VerifyReport` and :class:`~tartape.Discrepancy` with TarTape 3's names added.

The compatibility layer that yields them is ``tartape.compat`` (TarTape 2.x and 3.0.3) and
``tartape.compat_v1`` (TarTape 1.x).
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from .catalog import Discrepancy as _Discrepancy
from .catalog import VerifyReport as _VerifyReport
from .entries import Entry, EntryKind
from .events import Data, FileEnd, FileStart, TapeCompleted

if sys.version_info >= (3, 8):
    from typing import Literal, Protocol, runtime_checkable
else:  # pragma: no cover - the package needs 3.8
    raise ImportError("tartape needs Python 3.8 or newer")

__all__ = [
    "ChecksumAlgorithm",
    "ChecksumOption",
    "TarEventType",
    "EntryState",
    "EntryMetadata",
    "ByteWindow",
    "FileSlice",
    "FileGPS",
    "TrackGPS",
    "ManifestEntry",
    "FileStartMetadata",
    "FileEndMetadata",
    "TarFileStartEvent",
    "TarFileDataEvent",
    "TarFileEndEvent",
    "TarTapeCompletedEvent",
    "TarEvent",
    "TarObserver",
    "Discrepancy",
    "VerificationReport",
    "DiskEntryStats",
    "VolumeManifest",
]

TAR_BLOCK_SIZE = 512

#: The checksum names TarTape 3 accepts; this package records MD5 (``"md5"``, or ``True``).
ChecksumAlgorithm = Literal["sha256", "md5", "sha1", "sha512"]
ChecksumOption = Union[ChecksumAlgorithm, bool]


class TarEventType(str, enum.Enum):
    """What a stream event is. A ``str`` enum: ``TarEventType.FILE_DATA == "file_data"``, so
    TarTape 1.x code (comparing with the enum) and 2.x/3.x code (comparing with the string) work."""

    FILE_START = "file_start"
    FILE_DATA = "file_data"
    FILE_END = "file_end"
    TAPE_COMPLETED = "tape_completed"

    def __str__(self) -> str:
        return self.value


class EntryState(str, enum.Enum):
    """How an entry lies in a volume (TarTape 3's names for our :class:`~tartape.Role`)."""

    COMPLETE = "complete"
    HEAD = "head"
    BODY = "body"
    TAIL = "tail"


@dataclass(frozen=True)
class ByteWindow:
    """A ``[start, end)`` stretch of the archive."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"Window start cannot be negative: {self.start}")
        if self.end < self.start:
            raise ValueError(f"Window end ({self.end}) must be greater than start ({self.start})")

    @property
    def size(self) -> int:
        return self.end - self.start

    def contains(self, offset: int) -> bool:
        return self.start <= offset < self.end

    def intersects(self, other_start: int, other_end: int) -> bool:
        return other_start < self.end and other_end > self.start


@dataclass(frozen=True)
class EntryMetadata:
    """An entry as TarTape describes it (``arc_path``, ``size``, ``is_dir``...), made from one of
    ours. ``uid``/``gid``/``uname``/``gname`` are what the archive holds for an anonymised tape
    (0 and empty names) and None when owners were kept (the C API does not report them)."""

    arc_path: str
    rel_path: str
    size: int
    mtime: int
    mode: int
    uid: Optional[int]
    gid: Optional[int]
    uname: Optional[str]
    gname: Optional[str]
    is_dir: bool
    is_symlink: bool = False
    linkname: str = ""
    checksum: Optional[str] = None
    #: Our :class:`~tartape.Entry` (index, offsets, kind), None when made by hand.
    entry: Optional[Entry] = field(default=None, compare=False, repr=False)

    @classmethod
    def from_entry(cls, entry: Entry, anonymized: Optional[bool] = True) -> "EntryMetadata":
        name = entry.name
        owner = 0 if anonymized else None
        owner_name = "" if anonymized else None
        return cls(
            arc_path=name,
            rel_path=name.split("/", 1)[1] if "/" in name else "",
            size=entry.size,
            mtime=entry.mtime,
            mode=entry.mode,
            uid=owner,
            gid=owner,
            uname=owner_name,
            gname=owner_name,
            is_dir=entry.kind == EntryKind.DIR,
            is_symlink=entry.kind == EntryKind.SYMLINK,
            linkname=entry.link,
            entry=entry,
        )

    @property
    def info(self) -> "EntryMetadata":
        """Itself: TarTape 3 events have ``event.entry.info.arc_path``, 1.x ``event.entry.arc_path``."""
        return self

    @property
    def md5sum(self) -> Optional[str]:
        return self.checksum

    @property
    def has_content(self) -> bool:
        return not (self.is_dir or self.is_symlink)

    @property
    def is_file(self) -> bool:
        return self.has_content

    @property
    def padding_size(self) -> int:
        if not self.has_content or self.size == 0:
            return 0
        return (TAR_BLOCK_SIZE - self.size % TAR_BLOCK_SIZE) % TAR_BLOCK_SIZE


@dataclass(frozen=True)
class FileSlice:
    """A stretch of one file's content inside one volume (no header, no padding)."""

    volume_index: int
    volume_offset: int
    volume_length: int
    source_offset: int

    @property
    def http_range(self) -> str:
        """The RFC 9110 range of these bytes in the volume, e.g. ``bytes=1024-2047``."""
        if self.volume_length <= 0:
            return ""
        return f"bytes={self.volume_offset}-{self.volume_offset + self.volume_length - 1}"

    @property
    def range_header(self) -> Dict[str, str]:
        return {"Range": self.http_range}

    def to_dict(self) -> Dict[str, int]:
        return {
            "volume_index": self.volume_index,
            "volume_offset": self.volume_offset,
            "volume_length": self.volume_length,
            "source_offset": self.source_offset,
        }


def content_slices(data_offset: int, size: int, volume_size: Optional[int]) -> List[FileSlice]:
    """The slices of content ``[data_offset, data_offset + size)`` in volumes of ``volume_size``
    bytes (one volume, the whole archive, when ``volume_size`` is None)."""
    if size <= 0:
        return []
    if volume_size is None:
        return [FileSlice(0, data_offset, size, 0)]
    if volume_size <= 0:
        raise ValueError(f"volume size must be positive, got {volume_size}")
    out = []
    pos, end = data_offset, data_offset + size
    while pos < end:
        part = pos // volume_size
        part_end = min(end, (part + 1) * volume_size)
        out.append(FileSlice(part, pos - part * volume_size, part_end - pos, pos - data_offset))
        pos = part_end
    return out


@dataclass(frozen=True)
class FileGPS:
    """Where one file's content lies across volumes (TarTape 3's ``locate``)."""

    arc_path: str
    file_size: int
    fragments: List[FileSlice]

    @property
    def spans_multiple_volumes(self) -> bool:
        return len(self.fragments) > 1

    @property
    def primary_volume_index(self) -> Optional[int]:
        return self.fragments[0].volume_index if self.fragments else None


@dataclass(frozen=True)
class TrackGPS:
    """One entry with where its content lies (TarTape 3's ``iter_gps``)."""

    arc_path: str
    rel_path: str
    size: int
    mtime: int
    mode: int
    checksum: Optional[str]
    is_dir: bool
    is_symlink: bool
    linkname: str
    start_offset: int = 0
    fragments: List[FileSlice] = field(default_factory=list)

    @property
    def md5sum(self) -> Optional[str]:
        return self.checksum

    @property
    def spans_multiple_volumes(self) -> bool:
        return len(self.fragments) > 1

    @property
    def primary_volume_index(self) -> Optional[int]:
        return self.fragments[0].volume_index if self.fragments else None


@dataclass(frozen=True)
class ManifestEntry:
    """An entry placed on the tape: its metadata (``info``) and its bytes' window. Also answers
    ``arc_path``, ``size``... directly (TarTape 1.x and 2.x code reads ``event.entry.arc_path``)."""

    info: EntryMetadata
    state: EntryState
    global_window: ByteWindow
    local_window: ByteWindow
    slice: Optional[FileSlice] = None

    @classmethod
    def from_entry(cls, entry: Entry, anonymized: Optional[bool] = True) -> "ManifestEntry":
        window = ByteWindow(entry.header_offset, entry.end_offset)
        return cls(
            info=EntryMetadata.from_entry(entry, anonymized),
            state=EntryState.COMPLETE,
            global_window=window,
            local_window=window,
            slice=(content_slices(entry.data_offset, entry.size, None) or [None])[0],
        )

    def __getattr__(self, name: str) -> Any:
        # Only called for names the dataclass lacks: arc_path, size, mtime, is_dir, md5sum...
        if name.startswith("__") or name == "info":  # (info: not yet set while unpickling)
            raise AttributeError(name)
        return getattr(self.info, name)

    @property
    def is_file(self) -> bool:
        return self.info.has_content

    @property
    def has_content(self) -> bool:
        return self.info.has_content

    @property
    def header_end_offset(self) -> int:
        """Where the header ends (pax headers included: our headers may be longer than 512 bytes)."""
        e = self.info.entry
        return e.data_offset if e is not None else self.global_window.start + TAR_BLOCK_SIZE

    @property
    def content_end_offset(self) -> int:
        return self.header_end_offset + (self.info.size if self.has_content else 0)


@dataclass(frozen=True)
class FileStartMetadata:
    start_offset: int
    resumed: bool = False


@dataclass(frozen=True)
class FileEndMetadata:
    end_offset: int
    checksum: Optional[str] = None
    is_complete: bool = True

    @property
    def md5sum(self) -> Optional[str]:
        return self.checksum


class _EventBytes(bytes):
    """Base of the events: ``bytes`` (empty, or the chunk for data) with fields."""

    type: TarEventType

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_")
        )
        return f"{type(self).__name__}({fields})"

    # bytes compares by content; events of one stream are told apart by identity.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _EventBytes):
            return self is other
        return bytes.__eq__(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError(f"{type(self).__name__} is not picklable: copy bytes(event) instead")


class TarFileStartEvent(_EventBytes, FileStart):
    """An entry begins: empty ``bytes``; our :class:`~tartape.FileStart` (``index``, ``name``,
    ``kind``, ``size``, ``header_offset``, ``resumed``) with TarTape's ``entry``, ``metadata``
    and ``start_offset``."""

    type = TarEventType.FILE_START  # type: ignore[assignment]

    def __new__(cls, event: FileStart, entry: ManifestEntry) -> "TarFileStartEvent":
        self = bytes.__new__(cls)
        d = self.__dict__
        for f in ("index", "name_bytes", "kind", "size", "header_offset", "resumed"):
            d[f] = getattr(event, f)
        d["entry"] = entry
        d["start_offset"] = event.header_offset
        d["metadata"] = FileStartMetadata(start_offset=event.header_offset, resumed=event.resumed)
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # fields are set by __new__
        pass


class TarFileDataEvent(_EventBytes, Data):
    """Archive bytes: the event *is* the chunk (``bytes``), and ``data`` is the event itself;
    our :class:`~tartape.Data` (``index``, ``offset``)."""

    type = TarEventType.FILE_DATA  # type: ignore[assignment]

    def __new__(cls, data: bytes, index: Optional[int] = None, offset: int = 0) -> "TarFileDataEvent":
        self = bytes.__new__(cls, data)
        self.__dict__["index"] = index
        self.__dict__["offset"] = offset
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    @property  # type: ignore[override]
    def data(self) -> bytes:
        """The chunk: this object."""
        return self


class TarFileEndEvent(_EventBytes, FileEnd):
    """An entry is done: empty ``bytes``; our :class:`~tartape.FileEnd` (``md5``...) with
    TarTape's ``entry``, ``metadata`` (``md5sum``, ``checksum``, ``end_offset``), ``end_offset``
    and ``md5sum``."""

    type = TarEventType.FILE_END  # type: ignore[assignment]

    def __new__(cls, event: FileEnd, entry: ManifestEntry) -> "TarFileEndEvent":
        self = bytes.__new__(cls)
        d = self.__dict__
        for f in ("index", "name_bytes", "kind", "size", "end_offset", "md5"):
            d[f] = getattr(event, f)
        d["entry"] = entry
        d["checksum"] = event.md5
        d["metadata"] = FileEndMetadata(end_offset=event.end_offset, checksum=event.md5)
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class TarTapeCompletedEvent(_EventBytes, TapeCompleted):
    """The archive is complete: empty ``bytes``; our :class:`~tartape.TapeCompleted`."""

    type = TarEventType.TAPE_COMPLETED  # type: ignore[assignment]

    def __new__(cls, event: TapeCompleted) -> "TarTapeCompletedEvent":
        self = bytes.__new__(cls)
        self.__dict__["total_size"] = event.total_size
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


TarEvent = Union[TarFileStartEvent, TarFileDataEvent, TarFileEndEvent, TarTapeCompletedEvent]


@runtime_checkable
class TarObserver(Protocol):
    """What ``play(observer=...)`` calls: any of these methods may be left out."""

    def on_file_start(self, event: TarFileStartEvent) -> None: ...

    def on_file_end(self, event: TarFileEndEvent) -> None: ...

    def on_tape_completed(self, event: TarTapeCompletedEvent) -> None: ...


#: Our problem names as TarTape 3's ``reason``; the others keep our name ("kind", "content"...).
_REASONS = {
    "missing": "missing",
    "size": "size_mismatch",
    "mtime": "mtime_mismatch",
    "unrecorded": "untracked_item",
    "kind": "structural_change",
    "replaced": "structural_change",
}


@dataclass(frozen=True)
class Discrepancy(_Discrepancy):
    """One difference with the disk: ours (``name``, ``problem``, ``expected``, ``found``) with
    TarTape 3's ``arc_path``, ``rel_path``, ``reason`` and ``message``."""

    @property
    def arc_path(self) -> str:
        return self.name

    @property
    def rel_path(self) -> str:
        return self.name.split("/", 1)[1] if "/" in self.name else ""

    @property
    def reason(self) -> str:
        return _REASONS.get(self.problem, self.problem)

    @property
    def message(self) -> str:
        return f"{self.problem}: expected {self.expected}, found {self.found}"


@dataclass(frozen=True)
class VerificationReport(_VerifyReport):
    """What ``verify`` found: ours (``clean``, ``checked``, ``discrepancies``, truthy when clean)
    with TarTape 3's ``is_valid``, ``mode``, ``total_tracks``, ``checked_count``, ``duration_ms``,
    ``errors``, ``error_count`` and ``summary()``. ``mode`` is ``"deep"``: every entry is checked
    (TarTape's full check; there is no sampled "canary" mode), and ``contents`` says whether file
    contents were also compared with their recorded checksums (``verify(deep=True)``)."""

    mode: str = "deep"
    contents: bool = False
    total_tracks: int = 0
    duration_ms: float = 0.0

    @property
    def is_valid(self) -> bool:
        return self.clean

    @property
    def checked_count(self) -> int:
        return self.checked

    @property
    def errors(self) -> List[_Discrepancy]:
        return self.discrepancies

    @property
    def error_count(self) -> int:
        return len(self.discrepancies)

    def summary(self) -> str:
        status = "PASSED" if self.clean else "FAILED"
        mode = self.mode.upper() + ("+CONTENTS" if self.contents else "")
        head = (
            f"Verification [{mode}] {status}: {self.checked}/{self.total_tracks} "
            f"tracks checked in {self.duration_ms:.2f}ms."
        )
        if self.clean:
            return head
        lines = [head, f"Discrepancies found ({self.error_count}):"]
        for d in self.discrepancies[:20]:
            lines.append(f"  - [{_REASONS.get(d.problem, d.problem)}] {d.name}: "
                         f"{d.problem}: expected {d.expected}, found {d.found}")
        if len(self.discrepancies) > 20:
            lines.append(f"  ... and {len(self.discrepancies) - 20} more.")
        return "\n".join(lines)


@dataclass(frozen=True)
class DiskEntryStats:
    """What the disk holds for a path (TarTape 3's verification record)."""

    exists: bool
    size: int = 0
    mtime: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    is_dir: bool = False
    is_file: bool = False
    is_symlink: bool = False
    linkname: str = ""


@dataclass(frozen=True)
class VolumeManifest:
    """TarTape 3's description of one volume. Our volumes carry ``manifest`` as a list of
    :class:`~tartape.ManifestItem`; this type exists for code that builds or annotates with it."""

    tape_fingerprint: str
    volume_index: int
    start_offset: int
    end_offset: int
    chunk_size: int
    total_size: int
    entries: List[Any]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "tape_fingerprint": self.tape_fingerprint,
            "volume_index": self.volume_index,
            "start_offset": self.start_offset,
            "end_offset": self.end_offset,
            "chunk_size": self.chunk_size,
            "total_size": self.total_size,
            "entries": self.entries,
        }
