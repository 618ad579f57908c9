"""tartape: deterministic streaming TAR and ZIP archives with random access, over the libtartape C ABI.

Record a directory to a catalog, open it again in any process, stream it from any byte, cut it
in volumes, verify it against the disk::

    tape = tartape.record("./my_data")                  # saves ./my_data.tartape
    with tartape.open("./my_data.tartape") as tape:
        for chunk in tape.play(start_offset=45_678_912):
            send(chunk)
        for volume, manifest in tape.iter_volumes(64 << 20):
            with volume:
                upload(volume.name, volume)

Or build a tape of files, bytes and streamed content::

    import tartape

    with tartape.TapeBuilder() as builder:
        builder.add_path("./my_data")
        builder.add_bytes("notes/hello.txt", b"hello\\n")
        tape = builder.build()

    with tape, open("backup.tar", "wb") as out:
        for chunk in tape.play():
            out.write(chunk)

Module layout (one topic per file): ``_lib`` the ctypes declarations of the C functions,
``_handle`` native handle ownership, ``errors`` the exception hierarchy, ``entries`` and
``events`` plain data, ``builder`` building (TAR or ZIP), ``tape`` a sealed tape, ``files`` file
views (``TapeFile``, ``Volume``), ``catalog`` recording, opening, fingerprints, verification,
``frames`` seekable compressed tapes (``Tape.record_frames``), ``reader`` reading any TAR or
ZIP (``open_archive``) and its members. Code written for the
pure-Python TarTape (1.x, 2.x, 3.0.3) or python-libarchive-c's ``file_writer`` runs on this
package: ``compat`` (``record``, ``open``, ``create``, ``get_tape``, ``CompatTape``),
``compat_volume``, ``compat_catalog`` (``Catalog``, ``Layout``, ``FileSliceStream``),
``compat_v1`` (``TarTape``), ``compat_libarchive`` (``file_writer``), and TarTape's
``exceptions``, ``schemas`` and ``units``.
"""

from __future__ import annotations

from . import _lib
from .builder import TapeBuilder
from .catalog import VerifyReport, default_catalog_path, open_bytes
from .compat import (
    CompatTape,
    CompatVolume,
    calculate_file_slices,
    calculate_segments,
    create,
    discover,
    exists,
    format_size,
    get_tape,
    open,
    parse_size,
    record,
    record_ephemeral,
)
from .compat_catalog import Catalog, FileSliceStream, Layout, open_catalog
from .compat_libarchive import file_writer
from .compat_v1 import TarTape
from .entries import Entry, EntryKind, Location, ManifestItem, Role, Skipped
from .errors import (
    TarIntegrityError,
    TapeCorruptedError,
    CallbackError,
    ChangedSourceError,
    ClosedError,
    CorruptError,
    InvalidArgumentError,
    InvalidNameError,
    LimitError,
    NotFoundError,
    NotRandomAccessError,
    PanicError,
    SizeMismatchError,
    SourceIOError,
    StateError,
    TarTapeError,
    UnsupportedError,
)
from .events import Data, Event, EventType, FileEnd, FileStart, TapeCompleted
from .files import TapeFile, Volume
from .frames import DEFAULT_FRAME_SIZE, Frame, Frames
from .exceptions import (
    AmbiguousLayoutError,
    InvalidOffsetError,
    LayoutNotFoundError,
    PathConstraintError,
    PathConstraintReportError,
    ReadOnlyCatalogError,
    SourceNotFoundError,
    TapeNotFoundError,
    TapeVerificationError,
    VolumeChecksumMismatchError,
    VolumeNotFoundError,
    VolumeStateError,
)
from .reader import Archive, ArchiveEntry, Member, open_archive
from .schemas import (
    ChecksumAlgorithm,
    ChecksumOption,
    Discrepancy,
    FileGPS,
    FileSlice,
    ManifestEntry,
    TarEvent,
    TarEventType,
    TarFileDataEvent,
    TarFileEndEvent,
    TarFileStartEvent,
    TarObserver,
    TarTapeCompletedEvent,
    TrackGPS,
    VerificationReport,
)
from .tape import Tape

__version__ = "0.1.0"

#: TarTape 3's name for the file ``Tape.as_file()`` returns.
TapeStreamReader = TapeFile

__all__ = [
    "record",
    "create",
    "get_tape",
    "open_catalog",
    "record_ephemeral",
    "discover",
    "exists",
    "parse_size",
    "format_size",
    "calculate_segments",
    "calculate_file_slices",
    "file_writer",
    "TarTape",
    "TarEventType",
    "CompatTape",
    "CompatVolume",
    "Catalog",
    "Layout",
    "FileSliceStream",
    "TapeStreamReader",
    "ChecksumAlgorithm",
    "ChecksumOption",
    "FileGPS",
    "FileSlice",
    "ManifestEntry",
    "TarEvent",
    "TarFileDataEvent",
    "TarFileEndEvent",
    "TarFileStartEvent",
    "TarObserver",
    "TarTapeCompletedEvent",
    "TrackGPS",
    "VerificationReport",
    "TarIntegrityError",
    "TapeCorruptedError",
    "AmbiguousLayoutError",
    "InvalidOffsetError",
    "LayoutNotFoundError",
    "PathConstraintError",
    "PathConstraintReportError",
    "ReadOnlyCatalogError",
    "SourceNotFoundError",
    "TapeNotFoundError",
    "TapeVerificationError",
    "VolumeChecksumMismatchError",
    "VolumeNotFoundError",
    "VolumeStateError",
    "open",
    "open_bytes",
    "default_catalog_path",
    "TapeBuilder",
    "open_archive",
    "Archive",
    "ArchiveEntry",
    "Member",
    "Tape",
    "TapeFile",
    "Frame",
    "Frames",
    "DEFAULT_FRAME_SIZE",
    "Volume",
    "VerifyReport",
    "Discrepancy",
    "Entry",
    "EntryKind",
    "Location",
    "ManifestItem",
    "Role",
    "Skipped",
    "Event",
    "EventType",
    "FileStart",
    "Data",
    "FileEnd",
    "TapeCompleted",
    "TarTapeError",
    "InvalidArgumentError",
    "InvalidNameError",
    "StateError",
    "ClosedError",
    "NotFoundError",
    "UnsupportedError",
    "NotRandomAccessError",
    "SourceIOError",
    "ChangedSourceError",
    "SizeMismatchError",
    "CorruptError",
    "LimitError",
    "CallbackError",
    "PanicError",
    "library_version",
    "library_path",
    "__version__",
]


def library_version() -> str:
    """The version of the loaded libtartape (``tt_version``)."""
    return _lib.version()


def library_path() -> str:
    """The path of the loaded libtartape."""
    return str(_lib.LIBRARY_PATH)
