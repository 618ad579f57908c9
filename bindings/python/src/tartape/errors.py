"""One exception hierarchy: :class:`TarTapeError` and a subclass per C status.

Every error carries ``status`` (the C ``tt_status`` number), ``status_name`` ("CHANGED", ...) and
``message`` (the handle's error message, or the bindings' own words). Errors that Python programmers
expect as built-in kinds also derive from them: invalid arguments and names are ``ValueError``,
source I/O errors are ``OSError``, a missing name is ``LookupError``, and a closed handle is
``ValueError`` (as for a closed file).
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _lib

__all__ = [
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
    "TarIntegrityError",
    "TapeCorruptedError",
    "error_for_status",
]


class TarTapeError(Exception):
    """Base of every tartape error.

    Attributes:
        status: the C status number (``tt_status``).
        message: what went wrong.
    """

    #: The status this class stands for (its instances may carry another, e.g. an unknown one).
    default_status: int = -1

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = self.default_status if status is None else int(status)

    @property
    def status_name(self) -> str:
        """The status's name, as ``tt_status_name`` gives it."""
        return _lib.status_name(self.status)

    @property
    def fatal(self) -> bool:
        """True when the status stops the handle's stream for good (30 and up)."""
        return self.status >= 30

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message, self.status))


class TarIntegrityError(TarTapeError):
    """The disk no longer matches what was recorded or declared (TarTape's name, kept so that
    ``except TarIntegrityError`` catches ours): the base of :class:`ChangedSourceError` and
    :class:`SizeMismatchError`, and what ``verify`` raises with ``raise_exception=True``. When
    raised by ``verify``, ``report`` holds the whole report."""

    def __init__(self, message: str, status: Optional[int] = None, report: object = None) -> None:
        super().__init__(message, status)
        #: The ``VerificationReport`` when ``verify`` raised this (None otherwise).
        self.report = report


class TapeCorruptedError(TarTapeError):
    """A catalog or an archive is unreadable as one (TarTape's name): the base of
    :class:`CorruptError`."""


class InvalidArgumentError(TarTapeError, ValueError):
    """An argument was missing, out of range or malformed (``INVALID_ARGUMENT``)."""

    default_status = _lib.TT_STATUS_INVALID_ARGUMENT


class InvalidNameError(TarTapeError, ValueError):
    """An archive name was refused: absolute, ``..``, NUL, empty or a duplicate (``INVALID_NAME``)."""

    default_status = _lib.TT_STATUS_INVALID_NAME


class StateError(TarTapeError):
    """The call does not fit the object's state (``STATE``): adding after build, a spent iterable..."""

    default_status = _lib.TT_STATUS_STATE


class ClosedError(StateError, ValueError):
    """The object was closed: its native handle is freed (``STATE``)."""


class NotFoundError(TarTapeError, LookupError):
    """What was asked for does not exist (``NOT_FOUND``)."""

    default_status = _lib.TT_STATUS_NOT_FOUND


class UnsupportedError(TarTapeError):
    """Not supported by tartape or by the loaded library (``UNSUPPORTED``)."""

    default_status = _lib.TT_STATUS_UNSUPPORTED


class NotRandomAccessError(TarTapeError):
    """The bytes asked for cannot be read at random, e.g. a memory entry (``NOT_RANDOM_ACCESS``)."""

    default_status = _lib.TT_STATUS_NOT_RANDOM_ACCESS


class SourceIOError(TarTapeError, OSError):
    """An operating-system error reading a source or writing an output (``IO``)."""

    default_status = _lib.TT_STATUS_IO


class ChangedSourceError(TarIntegrityError):
    """A source changed after it was recorded: size, mtime, identity, or gone (``CHANGED``)."""

    default_status = _lib.TT_STATUS_CHANGED


class SizeMismatchError(TarIntegrityError):
    """An entry got more or fewer bytes than it declared (``SIZE_MISMATCH``)."""

    default_status = _lib.TT_STATUS_SIZE_MISMATCH


class CorruptError(TapeCorruptedError):
    """An archive or a catalog is malformed, truncated or altered (``CORRUPT``)."""

    default_status = _lib.TT_STATUS_CORRUPT


class LimitError(TarTapeError):
    """A safety limit was reached (``LIMIT``)."""

    default_status = _lib.TT_STATUS_LIMIT


class CallbackError(TarTapeError):
    """A caller's callback reported a failure (``CALLBACK``)."""

    default_status = _lib.TT_STATUS_CALLBACK


class PanicError(TarTapeError):
    """A bug inside tartape was caught at the boundary; close the object (``PANIC``)."""

    default_status = _lib.TT_STATUS_PANIC


_BY_STATUS: Dict[int, Type[TarTapeError]] = {
    cls.default_status: cls
    for cls in (
        InvalidArgumentError,
        InvalidNameError,
        StateError,
        NotFoundError,
        UnsupportedError,
        NotRandomAccessError,
        SourceIOError,
        ChangedSourceError,
        SizeMismatchError,
        CorruptError,
        LimitError,
        CallbackError,
        PanicError,
    )
}


def error_for_status(status: int, message: str) -> TarTapeError:
    """The exception for a C status (``TarTapeError`` itself for a number it does not know)."""
    cls = _BY_STATUS.get(int(status), TarTapeError)
    return cls(message or _lib.status_name(status), status)
