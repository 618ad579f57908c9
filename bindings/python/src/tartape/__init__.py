"""tartape: deterministic streaming TAR archives with random access, over the libtartape C ABI.

Build a tape, then stream it from any byte or read any range of it::

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
``events`` plain data, ``builder`` building, ``tape`` a sealed tape, ``files`` file views.
Catalogs (``record``/``open``), ZIP output and the archive reader (``open_archive``) will land in
their own modules (``catalog``, ``zip``, ``reader``) when the C ABI has them.
"""

from __future__ import annotations

from . import _lib
from .builder import TapeBuilder
from .entries import Entry, EntryKind, Skipped
from .errors import (
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
from .files import TapeFile
from .tape import Tape

__version__ = "0.1.0"

__all__ = [
    "TapeBuilder",
    "Tape",
    "TapeFile",
    "Entry",
    "EntryKind",
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
