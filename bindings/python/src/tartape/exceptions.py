"""TarTape's exceptions (``tartape.exceptions`` of TarTape 3.0.3), in our hierarchy.

Every one is a :class:`~tartape.TarTapeError` (ours and TarTape's base have the same name and are
the same class), and the engine's errors are caught by TarTape's names where they mean the same:
``ChangedSourceError`` and ``SizeMismatchError`` (a source changed or a size was wrong while
streaming) are :class:`TarIntegrityError`, ``CorruptError`` is :class:`TapeCorruptedError`.
``verify(raise_exception=True)`` raises :class:`TarIntegrityError` with the report in ``report``.
"""

from __future__ import annotations

from .errors import (
    ClosedError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    TapeCorruptedError,
    TarIntegrityError,
    TarTapeError,
)

__all__ = [
    "TarTapeError",
    "TarIntegrityError",
    "TapeNotFoundError",
    "TapeCorruptedError",
    "VolumeChecksumMismatchError",
    "PathConstraintError",
    "PathConstraintReportError",
    "InvalidOffsetError",
    "VolumeStateError",
    "TapeVerificationError",
    "LayoutNotFoundError",
    "AmbiguousLayoutError",
    "VolumeNotFoundError",
    "SourceNotFoundError",
    "ReadOnlyCatalogError",
]


class TapeNotFoundError(TarTapeError, FileNotFoundError):
    """No catalog where one was looked for (``open(directory)`` without ``<directory>.tartape``)."""


class VolumeChecksumMismatchError(TarTapeError):
    """A volume's checksum differs from the one expected."""


class PathConstraintError(InvalidNameError):
    """A name the archive refuses (absolute, ``..``, NUL, empty, duplicate). TarTape's 100- and
    255-byte limits do not exist here: long names get pax headers."""


class PathConstraintReportError(PathConstraintError):
    """Several names refused at once (TarTape's report form of :class:`PathConstraintError`)."""


class InvalidOffsetError(InvalidArgumentError):
    """An offset or window outside the archive (a ``ValueError``)."""


class VolumeStateError(ClosedError, OSError):
    """An I/O call on a closed volume (a ``ValueError`` as ``io`` expects, and TarTape's
    ``IOError``)."""


class TapeVerificationError(TarTapeError):
    """Verification itself failed (not a discrepancy: that is :class:`TarIntegrityError`)."""


class LayoutNotFoundError(NotFoundError, KeyError):
    """No volume size was registered under that tag (``get_volume(tag=...)``)."""


class AmbiguousLayoutError(InvalidArgumentError):
    """Several layouts fit and none was named."""


class VolumeNotFoundError(NotFoundError, KeyError):
    """No volume with that index, or no size to cut volumes with."""


class SourceNotFoundError(TarTapeError, FileNotFoundError):
    """The recorded directory is needed and is not there."""


class ReadOnlyCatalogError(TarTapeError, PermissionError):
    """A write to a catalog opened read-only."""
