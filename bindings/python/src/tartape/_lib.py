"""ctypes declarations of libtartape's C ABI, mirroring ``include/tartape.h`` exactly.

Nothing here is public: the rest of the package calls ``LIB.tt_*``. Every function of the header
has its ``argtypes`` and ``restype`` declared in ``_FUNCTIONS``; a function the loaded library does
not export (an older build) is left undeclared and raises ``UnsupportedError`` when called, so
functions still to come (ZIP, the archive reader) are added here as one table row each.

The library is looked for, in order: next to this file (the copy ``pip install`` bundles), at
``$TARTAPE_LIBRARY``, then in the repository's ``target/release`` (development checkouts).
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

# --- scalar types -----------------------------------------------------------------------------

#: ``tt_status``: a fixed-width ``int32_t``.
tt_status = c_int32
#: ``tt_entry_kind``: a C enum typed ``uint32_t``.
tt_entry_kind = c_uint32
#: ``tt_event_type``: a C enum typed ``uint32_t``.
tt_event_type = c_uint32
#: ``tt_role``: a C enum typed ``uint32_t``.
tt_role = c_uint32
#: ``tt_format``: a C enum typed ``uint32_t`` (passed to ``tt_tape_set_format`` as ``uint32_t``).
tt_format = c_uint32
#: ``tt_compression``: a C enum typed ``uint32_t`` (``tt_archive_compression``, ``tt_tape_set_compression``).
tt_compression = c_uint32
#: ``tt_archive_flag``: a C enum typed ``uint32_t`` (bits of ``tt_archive_entry_info.flags``).
tt_archive_flag = c_uint32

# --- constants (``#define``s and enum values) --------------------------------------------------

BLOCK = 512
TRAILER_LEN = 2 * BLOCK
BUFFER_SIZE = 1 << 20
UINT64_MAX = (1 << 64) - 1

TT_ENTRY_KIND_FILE = 0
TT_ENTRY_KIND_DIR = 1
TT_ENTRY_KIND_SYMLINK = 2
TT_ENTRY_KIND_HARDLINK = 3
TT_ENTRY_KIND_CHAR_DEVICE = 4
TT_ENTRY_KIND_BLOCK_DEVICE = 5
TT_ENTRY_KIND_FIFO = 6
TT_ENTRY_KIND_OTHER = 7

TT_FORMAT_TAR = 0
TT_FORMAT_ZIP = 1

TT_COMPRESSION_NONE = 0
TT_COMPRESSION_GZIP = 1
TT_COMPRESSION_ZSTD = 2
TT_COMPRESSION_XZ = 3
TT_COMPRESSION_BZIP2 = 4

# tt_checksum bits: which checksums a tape records (tt_tape_record_checksums).
TT_CHECKSUM_MD5 = 1
TT_CHECKSUM_CRC32 = 2
TT_CHECKSUM_SHA256 = 4
TT_CHECKSUM_CRC32C = 8

TT_ARCHIVE_FLAG_UNSAFE_NAME = 1
TT_ARCHIVE_FLAG_ENCRYPTED = 2
TT_ARCHIVE_FLAG_SPARSE = 4

TT_EVENT_TYPE_FILE_START = 1
TT_EVENT_TYPE_DATA = 2
TT_EVENT_TYPE_NEED_DATA = 3
TT_EVENT_TYPE_FILE_END = 4
TT_EVENT_TYPE_TAPE_COMPLETED = 5

TT_ROLE_WHOLE = 0
TT_ROLE_HEAD = 1
TT_ROLE_BODY = 2
TT_ROLE_TAIL = 3

TT_STATUS_OK = 0
TT_STATUS_EOF = 1
TT_STATUS_INVALID_ARGUMENT = 10
TT_STATUS_INVALID_NAME = 11
TT_STATUS_STATE = 12
TT_STATUS_NOT_FOUND = 13
TT_STATUS_UNSUPPORTED = 14
TT_STATUS_NOT_RANDOM_ACCESS = 15
TT_STATUS_IO = 30
TT_STATUS_CHANGED = 31
TT_STATUS_SIZE_MISMATCH = 32
TT_STATUS_CORRUPT = 33
TT_STATUS_LIMIT = 34
TT_STATUS_CALLBACK = 35
TT_STATUS_PANIC = 99

# --- structs -----------------------------------------------------------------------------------


class tt_entry_info(Structure):
    """``struct tt_entry_info``: one entry of a sealed tape's layout."""

    _fields_ = [
        ("kind", tt_entry_kind),
        ("mode", c_uint32),
        ("mtime", c_int64),
        ("size", c_uint64),
        ("header_offset", c_uint64),
        ("data_offset", c_uint64),
        ("end_offset", c_uint64),
        ("name", POINTER(c_uint8)),
        ("name_len", c_size_t),
        ("link", POINTER(c_uint8)),
        ("link_len", c_size_t),
        ("random_access", c_uint8),
    ]


class tt_event(Structure):
    """``struct tt_event``: one event of a stream (``name``/``data`` are borrowed)."""

    _fields_ = [
        ("type", tt_event_type),
        ("kind", tt_entry_kind),
        ("index", c_uint64),
        ("offset", c_uint64),
        ("size", c_uint64),
        ("name", POINTER(c_uint8)),
        ("name_len", c_size_t),
        ("data", POINTER(c_uint8)),
        ("data_len", c_size_t),
        ("md5", c_uint8 * 16),
        ("has_md5", c_uint8),
        ("resumed", c_uint8),
    ]


class tt_discrepancy(Structure):
    """``struct tt_discrepancy``: one item of a verification report (strings live as the report)."""

    _fields_ = [
        ("problem", c_uint32),
        ("name", POINTER(c_uint8)),
        ("name_len", c_size_t),
        ("problem_name", c_char_p),
        ("expected", c_char_p),
        ("found", c_char_p),
    ]


class tt_manifest_item(Structure):
    """``struct tt_manifest_item``: one entry of a part's manifest (``name`` lives as the volume)."""

    _fields_ = [
        ("index", c_uint64),
        ("role", tt_role),
        ("range_start", c_uint64),
        ("range_end", c_uint64),
        ("content_start", c_uint64),
        ("content_end", c_uint64),
        ("content_offset", c_uint64),
        ("size", c_uint64),
        ("name", POINTER(c_uint8)),
        ("name_len", c_size_t),
    ]


class tt_location(Structure):
    """``struct tt_location``: where an entry lies in the archive and in parts."""

    _fields_ = [
        ("index", c_uint64),
        ("header_offset", c_uint64),
        ("data_offset", c_uint64),
        ("end_offset", c_uint64),
        ("size", c_uint64),
        ("first_part", c_uint64),
        ("last_part", c_uint64),
    ]


class tt_archive_entry_info(Structure):
    """``struct tt_archive_entry_info``: one entry of an archive being read (``name``/``link``
    borrow from the archive until ``tt_archive_free``)."""

    _fields_ = [
        ("name", POINTER(c_uint8)),
        ("name_len", c_size_t),
        ("link", POINTER(c_uint8)),
        ("link_len", c_size_t),
        ("kind", c_uint32),
        ("mode", c_uint32),
        ("mtime", c_int64),
        ("size", c_uint64),
        ("compressed_size", c_uint64),
        ("method", c_uint32),
        ("crc32", c_uint32),
        ("header_offset", c_uint64),
        ("data_offset", c_uint64),
        ("flags", c_uint32),
    ]


class tt_frame(Structure):
    """``struct tt_frame``: one frame of a seekable compressed tape, in the TAR and compressed."""

    _fields_ = [
        ("tar_offset", c_uint64),
        ("tar_length", c_uint64),
        ("offset", c_uint64),
        ("length", c_uint64),
    ]


class tt_frames_info(Structure):
    """``struct tt_frames_info``: what a seekable compressed tape's frames are (``engine`` is the
    tape's, valid as long as it)."""

    _fields_ = [
        ("compression", tt_compression),
        ("level", c_int32),
        ("threads", c_uint32),
        ("frame_size", c_uint64),
        ("count", c_uint64),
        ("tar_size", c_uint64),
        ("frames_end", c_uint64),
        ("seek_table_length", c_uint64),
        ("total_size", c_uint64),
        ("engine", c_char_p),
    ]


#: ``typedef int64_t (*tt_read_at_fn)(void *userdata, uint64_t offset, uint8_t *buf, size_t len)``
tt_read_at_fn = CFUNCTYPE(c_int64, c_void_p, c_uint64, POINTER(c_uint8), c_size_t)
#: ``typedef void (*tt_free_fn)(void *userdata)``
tt_free_fn = CFUNCTYPE(None, c_void_p)

# ``struct tt_tape *``, ``tt_report *``, ``tt_volume *``, ``tt_archive *`` and ``tt_member *`` are
# opaque: void pointers.
tt_tape_p = c_void_p
tt_archive_p = c_void_p
tt_member_p = c_void_p
tt_report_p = c_void_p
tt_volume_p = c_void_p
u8_p = POINTER(c_uint8)

# --- functions: (name, restype, argtypes) in the header's order --------------------------------

_FUNCTIONS: List[Tuple[str, Any, List[Any]]] = [
    ("tt_archive_open", tt_status, [c_char_p, c_char_p, c_size_t, POINTER(tt_archive_p)]),
    ("tt_archive_open_with_index", tt_status, [c_char_p, c_char_p, c_char_p, c_size_t, POINTER(tt_archive_p)]),
    ("tt_archive_save_index", tt_status, [tt_archive_p, c_char_p]),
    (
        "tt_archive_open_memory",
        tt_status,
        [u8_p, c_size_t, c_char_p, c_size_t, POINTER(tt_archive_p)],
    ),
    ("tt_archive_compression", c_uint32, [tt_archive_p]),
    ("tt_archive_entry_count", c_uint64, [tt_archive_p]),
    ("tt_archive_entry", tt_status, [tt_archive_p, c_uint64, POINTER(tt_archive_entry_info)]),
    ("tt_archive_find", tt_status, [tt_archive_p, u8_p, c_size_t, POINTER(c_uint64)]),
    ("tt_member_open", tt_status, [tt_archive_p, c_uint64, POINTER(tt_member_p)]),
    ("tt_member_read", tt_status, [tt_member_p, u8_p, c_size_t, POINTER(c_size_t)]),
    ("tt_member_seek", tt_status, [tt_member_p, c_int64, ctypes.c_int, POINTER(c_uint64)]),
    ("tt_member_free", None, [tt_member_p]),
    ("tt_archive_free", None, [tt_archive_p]),
    ("tt_archive_error_message", c_char_p, [tt_archive_p]),
    ("tt_member_error_message", c_char_p, [tt_member_p]),
    ("tt_add_member", tt_status, [tt_tape_p, tt_archive_p, c_uint64, u8_p, c_size_t]),
    ("tt_tape_set_checksums", tt_status, [tt_tape_p, c_int32]),
    ("tt_tape_record_checksums", tt_status, [tt_tape_p, c_uint32]),
    ("tt_tape_entry_checksum", tt_status, [tt_tape_p, c_uint64, c_uint32, u8_p, c_size_t, POINTER(c_size_t)]),
    ("tt_tape_add_exclude", tt_status, [tt_tape_p, u8_p, c_size_t]),
    ("tt_tape_save_catalog", tt_status, [tt_tape_p, c_char_p]),
    ("tt_tape_open_catalog", tt_status, [tt_tape_p, c_char_p]),
    ("tt_tape_open_catalog_bytes", tt_status, [tt_tape_p, c_char_p, c_size_t]),
    ("tt_tape_check_catalog", tt_status, [tt_tape_p]),
    ("tt_tape_fingerprint", tt_status, [tt_tape_p, POINTER(c_char_p)]),
    ("tt_tape_bind_bytes", tt_status, [tt_tape_p, c_uint64, u8_p, c_size_t]),
    ("tt_tape_bind_read_at", tt_status, [tt_tape_p, c_uint64, tt_read_at_fn, c_void_p, tt_free_fn]),
    ("tt_tape_verify", tt_status, [tt_tape_p, c_int32, POINTER(tt_report_p)]),
    ("tt_report_count", tt_status, [tt_report_p, POINTER(c_uint64), POINTER(c_uint64)]),
    ("tt_report_item", tt_status, [tt_report_p, c_uint64, POINTER(tt_discrepancy)]),
    ("tt_report_free", None, [tt_report_p]),
    ("tt_tape_record_frames", tt_status, [tt_tape_p, tt_compression, c_int32, c_uint64, c_uint32]),
    ("tt_tape_set_frame_threads", tt_status, [tt_tape_p, c_uint32]),
    ("tt_tape_frame_count", c_uint64, [tt_tape_p]),
    ("tt_tape_frame", tt_status, [tt_tape_p, c_uint64, POINTER(tt_frame)]),
    ("tt_tape_frame_find", tt_status, [tt_tape_p, c_uint64, POINTER(c_uint64)]),
    ("tt_tape_frames_info", tt_status, [tt_tape_p, POINTER(tt_frames_info)]),
    ("tt_status_name", c_char_p, [c_int32]),
    ("tt_status_is_fatal", c_int32, [c_int32]),
    ("tt_version", c_char_p, []),
    ("tt_tape_new", tt_tape_p, []),
    ("tt_tape_free", None, [tt_tape_p]),
    ("tt_tape_error_message", c_char_p, [tt_tape_p]),
    ("tt_tape_error_copy", c_size_t, [tt_tape_p, c_char_p, c_size_t]),
    ("tt_tape_added_count", tt_status, [tt_tape_p, POINTER(c_uint64)]),
    ("tt_tape_set_walk_options", tt_status, [tt_tape_p, c_int32, c_int32]),
    ("tt_tape_set_format", tt_status, [tt_tape_p, c_uint32]),
    ("tt_tape_set_deflate", tt_status, [tt_tape_p, c_int32]),
    ("tt_tape_set_compression", tt_status, [tt_tape_p, tt_compression, c_int32]),
    ("tt_tape_set_compression_threads", tt_status, [tt_tape_p, c_uint32]),
    ("tt_tape_set_align", tt_status, [tt_tape_p, c_uint64]),
    ("tt_tape_copy_into", tt_status, [tt_tape_p, c_int32, POINTER(c_uint64)]),
    ("tt_tape_stream_paths", tt_status, [tt_tape_p, POINTER(c_char_p), c_size_t, c_int32, POINTER(c_uint64)]),
    ("tt_tape_set_md5", tt_status, [tt_tape_p, c_int32]),
    ("tt_add_path", tt_status, [tt_tape_p, c_char_p, u8_p, c_size_t]),
    ("tt_add_from_memory", tt_status, [tt_tape_p, u8_p, c_size_t, c_uint64, c_uint32, c_int64]),
    (
        "tt_add_bytes",
        tt_status,
        [tt_tape_p, u8_p, c_size_t, u8_p, c_size_t, c_uint32, c_int64],
    ),
    (
        "tt_add_read_at",
        tt_status,
        [
            tt_tape_p,
            u8_p,
            c_size_t,
            c_uint64,
            c_uint32,
            c_int64,
            tt_read_at_fn,
            c_void_p,
            tt_free_fn,
        ],
    ),
    ("tt_add_directory", tt_status, [tt_tape_p, u8_p, c_size_t, c_uint32, c_int64]),
    ("tt_add_symlink", tt_status, [tt_tape_p, u8_p, c_size_t, u8_p, c_size_t, c_int64]),
    ("tt_tape_seal", tt_status, [tt_tape_p]),
    ("tt_tape_total_size", tt_status, [tt_tape_p, POINTER(c_uint64)]),
    ("tt_tape_entry_count", tt_status, [tt_tape_p, POINTER(c_uint64)]),
    ("tt_tape_skipped_count", tt_status, [tt_tape_p, POINTER(c_uint64)]),
    (
        "tt_tape_skipped",
        tt_status,
        [tt_tape_p, c_uint64, POINTER(c_char_p), POINTER(c_char_p)],
    ),
    ("tt_tape_entry", tt_status, [tt_tape_p, c_uint64, POINTER(tt_entry_info)]),
    ("tt_tape_start_at", tt_status, [tt_tape_p, c_uint64]),
    ("tt_next_event", tt_status, [tt_tape_p, POINTER(tt_event)]),
    ("tt_next_event_into", tt_status, [tt_tape_p, c_void_p, c_size_t, POINTER(tt_event)]),
    ("tt_read", tt_status, [tt_tape_p, u8_p, c_size_t, POINTER(c_size_t)]),
    ("tt_feed", tt_status, [tt_tape_p, u8_p, c_size_t]),
    ("tt_feed_end", tt_status, [tt_tape_p]),
    ("tt_read_at", tt_status, [tt_tape_p, c_uint64, u8_p, c_size_t, POINTER(c_size_t)]),
    ("tt_volume_count", tt_status, [tt_tape_p, c_uint64, POINTER(c_uint64)]),
    ("tt_volume_open", tt_status, [tt_tape_p, c_uint64, c_uint64, POINTER(tt_volume_p)]),
    ("tt_volume_free", None, [tt_volume_p]),
    ("tt_volume_error_message", c_char_p, [tt_volume_p]),
    ("tt_volume_error_copy", c_size_t, [tt_volume_p, c_char_p, c_size_t]),
    ("tt_volume_range", tt_status, [tt_volume_p, POINTER(c_uint64), POINTER(c_uint64)]),
    ("tt_volume_read", tt_status, [tt_volume_p, u8_p, c_size_t, POINTER(c_size_t)]),
    ("tt_volume_read_at", tt_status, [tt_volume_p, c_uint64, u8_p, c_size_t, POINTER(c_size_t)]),
    ("tt_volume_seek", tt_status, [tt_volume_p, c_int64, c_int32, POINTER(c_uint64)]),
    ("tt_volume_md5", tt_status, [tt_volume_p, POINTER(c_uint8)]),
    ("tt_volume_manifest_count", tt_status, [tt_volume_p, POINTER(c_uint64)]),
    ("tt_volume_manifest_item", tt_status, [tt_volume_p, c_uint64, POINTER(tt_manifest_item)]),
    ("tt_tape_locate", tt_status, [tt_tape_p, u8_p, c_size_t, c_uint64, POINTER(tt_location)]),
]

#: Every function name the bindings declare, for tests and diagnostics.
FUNCTION_NAMES = [name for name, _, _ in _FUNCTIONS]

#: Functions a library build may lack without failing the import (they raise when called). New
#: functions are listed here while they are new.
OPTIONAL: "frozenset[str]" = frozenset(
    {
        "tt_tape_record_frames",
        "tt_tape_set_frame_threads",
        "tt_tape_frame_count",
        "tt_tape_frame",
        "tt_tape_frame_find",
        "tt_tape_frames_info",
    }
)

_LIB_NAME = {"darwin": "libtartape.dylib", "win32": "tartape.dll"}.get(sys.platform, "libtartape.so")


def candidate_paths() -> List[Path]:
    """Where the library is looked for, in order."""
    here = Path(__file__).resolve().parent
    paths = [here / _LIB_NAME]
    env = os.environ.get("TARTAPE_LIBRARY")
    if env:
        paths.append(Path(env))
    # A development checkout: bindings/python/src/tartape/_lib.py -> the repository root.
    root = here.parents[3] if len(here.parents) > 3 else None
    if root is not None and (root / "Cargo.toml").is_file():
        target = os.environ.get("CARGO_TARGET_DIR")
        if target:
            paths.append(Path(target) / "release" / _LIB_NAME)
        paths.append(root / "target" / "release" / _LIB_NAME)
    return paths


def _load() -> Tuple[ctypes.CDLL, Path]:
    tried = []
    for path in candidate_paths():
        if not path.is_file():
            tried.append(f"{path} (absent)")
            continue
        try:
            return ctypes.CDLL(str(path)), path
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError(
        "tartape: cannot load the native library libtartape; tried:\n  "
        + "\n  ".join(tried)
        + "\nReinstall the package (pip install builds it) or set TARTAPE_LIBRARY."
    )


def _declare(lib: ctypes.CDLL) -> List[str]:
    """Sets argtypes/restype of every function; returns the names the library lacks."""
    missing = []
    for name, restype, argtypes in _FUNCTIONS:
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    return missing


LIB, LIBRARY_PATH = _load()
MISSING = _declare(LIB)
if set(MISSING) - OPTIONAL:
    raise ImportError(
        f"tartape: the library {LIBRARY_PATH} lacks {sorted(set(MISSING) - OPTIONAL)}: "
        "it is older than these bindings; rebuild it"
    )


def function(name: str) -> Callable[..., Any]:
    """The declared C function ``name``; ``UnsupportedError`` when this library build lacks it."""
    if name in MISSING or name not in FUNCTION_NAMES:
        from .errors import UnsupportedError

        raise UnsupportedError(
            f"{name} is not available in the loaded library {LIBRARY_PATH}", status=TT_STATUS_UNSUPPORTED
        )
    fn: Callable[..., Any] = getattr(LIB, name)
    return fn


def version() -> str:
    """The loaded library's version string (``tt_version``)."""
    raw: Optional[bytes] = LIB.tt_version()
    return (raw or b"").decode("ascii", "replace")


def status_name(status: int) -> str:
    """The name of a status (``tt_status_name``)."""
    raw: Optional[bytes] = LIB.tt_status_name(int(status))
    return (raw or b"UNKNOWN").decode("ascii", "replace")


# --- bytes the library writes into --------------------------------------------------------------

#: The size of the buffers lent to ``tt_next_event_into``: content chunks of 512 KiB, which
#: measured faster than 1 MiB (a fresh buffer of that size is still in the CPU's cache).
LEND_SIZE = 512 << 10


def _bytes_allocator() -> Optional[Callable[[int], bytes]]:
    """CPython's ``PyBytes_FromStringAndSize(NULL, n)``: a new, unshared ``bytes`` of ``n``
    uninitialised bytes, which the library may fill before anything else sees it (as C extensions
    build bytes). Other interpreters get None, and events copy their data instead."""
    if sys.implementation.name != "cpython":
        return None
    try:
        f = ctypes.pythonapi.PyBytes_FromStringAndSize
    except AttributeError:  # pragma: no cover - CPython always has it
        return None
    f.restype = ctypes.py_object
    f.argtypes = [c_void_p, ctypes.c_ssize_t]
    return lambda n: f(None, n)


new_bytes = _bytes_allocator()
