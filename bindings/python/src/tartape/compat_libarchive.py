"""python-libarchive-c's ``file_writer`` over our :class:`~tartape.TapeBuilder`.

``with tartape.file_writer("archive.zip", "zip") as archive:
archive.add_file_from_memory(entry_path, entry_size, entry_data)`` works as with
``libarchive.file_writer``, so its users change one import. The differences:

- the archive is written when the ``with`` block ends (the layout is fixed first), to a
  temporary file renamed over ``filepath`` only when complete; an exception in the block
  leaves no file. So ``entry_data`` iterables are read then: they must stay valid until the
  block ends (``response.iter_content()`` inside the block is fine);
- content shorter or longer than ``entry_size`` raises :class:`~tartape.SizeMismatchError`
  (libarchive pads or cuts it silently);
- formats: ``zip`` (stored) and the TAR family (``pax``, ``pax_restricted``, ``ustar``,
  ``gnutar``, ``tar``: all write POSIX pax, which every TAR reader reads, with pax headers only
  where ustar has no room); filters ``None``, ``gzip``, ``bzip2``, ``xz`` (TAR only, by Python's
  own modules). Anything else is an :class:`~tartape.UnsupportedError`.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import stat
from typing import Any, Iterator, Optional

from .builder import TapeBuilder
from .errors import InvalidArgumentError, UnsupportedError

__all__ = ["file_writer", "ArchiveWrite", "REGULAR_FILE", "DIRECTORY", "SYMBOLIC_LINK"]

REGULAR_FILE = stat.S_IFREG
DIRECTORY = stat.S_IFDIR
SYMBOLIC_LINK = stat.S_IFLNK
_TAR_FORMATS = ("pax", "pax_restricted", "ustar", "gnutar", "tar", "posix")
# gzip with mtime 0 in its header, so that the same entries give the same bytes, as ours do.
_FILTERS = {"gzip": lambda path, mode: gzip.GzipFile(path, mode, mtime=0), "bzip2": bz2.open, "xz": lzma.open}


class ArchiveWrite:
    """What ``file_writer`` yields: entries are added to a tape builder."""

    def __init__(self, builder: TapeBuilder, header_codec: str = "utf-8") -> None:
        self._builder = builder
        self.header_codec = header_codec

    def _name(self, entry_path: Any) -> Any:
        if isinstance(entry_path, bytes):
            return entry_path
        if isinstance(entry_path, os.PathLike):
            entry_path = os.fspath(entry_path)
        if not isinstance(entry_path, str):
            raise InvalidArgumentError(f"entry_path: expected str or bytes, got {type(entry_path).__name__}")
        return entry_path.encode(self.header_codec)

    def add_file_from_memory(
        self,
        entry_path: Any,
        entry_size: int,
        entry_data: Any,
        filetype: int = REGULAR_FILE,
        permission: int = 0o664,
        atime: Any = None,
        mtime: Any = None,
        ctime: Any = None,
        birthtime: Any = None,
        **other_attributes: Any,
    ) -> None:
        """A file of ``entry_size`` bytes from ``entry_data`` (bytes or an iterable of bytes,
        read when the archive is written). ``filetype`` ``DIRECTORY`` adds a directory."""
        if isinstance(entry_data, str):
            raise TypeError(f"entry_data: expected bytes, got {type(entry_data)!r}")
        _anonymous_only(other_attributes)
        when = _seconds(mtime)
        name = self._name(entry_path)
        if filetype == DIRECTORY:
            self._builder.add_directory(name, mode=permission or 0o755, mtime=when)
            return
        if filetype != REGULAR_FILE:
            raise UnsupportedError(f"filetype {filetype:#o}: only REGULAR_FILE and DIRECTORY are supported")
        if not isinstance(entry_size, int) or isinstance(entry_size, bool) or entry_size < 0:
            raise InvalidArgumentError(f"entry_size must be a non-negative int, got {entry_size!r}")
        if isinstance(entry_data, (bytes, bytearray, memoryview)):
            self._builder.add_from_memory(name, entry_size, bytes(entry_data), mode=permission, mtime=when)
        else:
            self._builder.add_from_memory(name, entry_size, _until_empty(entry_data), mode=permission, mtime=when)

    def add_files(self, *paths: Any, recursive: bool = True, **attributes: Any) -> None:
        """Files, symlinks and directories (recursively) from disk, each under its own path
        as given (without a leading ``/``)."""
        if not recursive:
            raise UnsupportedError("add_files(recursive=False) is not supported")
        if attributes:
            raise UnsupportedError(
                f"add_files({', '.join(sorted(attributes))}=...) is not supported: entries keep "
                "their mode and mtime from the disk, with anonymous owners"
            )
        for p in paths:
            name = os.fsdecode(p).lstrip("/") or None
            self._builder.add_path(p, name)

    def add_file(self, path: Any, **kw: Any) -> None:
        self.add_files(path, **kw)


def _anonymous_only(attributes: Any) -> None:
    """Owners other than libarchive-c's defaults (uid/gid 0, no names) are refused: entries added
    from memory are anonymous. ``atime``/``ctime``/``birthtime`` are not stored by our archives."""
    for key, value in attributes.items():
        if key in ("uid", "gid") and value in (0, None):
            continue
        if key in ("uname", "gname") and value in (None, "", b""):
            continue
        raise UnsupportedError(f"add_file_from_memory({key}={value!r}) is not supported")


def _seconds(value: Any) -> int:
    if value is None:
        return 0  # libarchive's default: an entry's mtime is 0 unless given
    if isinstance(value, tuple):
        value = value[0]
    return int(value)


def _until_empty(chunks: Any) -> Iterator[bytes]:
    # libarchive-c stops at the first empty chunk; so does this.
    for chunk in chunks:
        if not chunk:
            return
        yield chunk


@contextlib.contextmanager
def file_writer(
    filepath: Any,
    format_name: str,
    filter_name: Optional[str] = None,
    archive_write_class: Any = ArchiveWrite,
    options: str = "",
    passphrase: Any = None,
    header_codec: str = "utf-8",
) -> Iterator[ArchiveWrite]:
    """Writes a ``format_name`` archive to ``filepath`` with the entries added in the block."""
    fmt = (format_name or "").lower()
    if fmt == "zip":
        our_format = "zip"
    elif fmt in _TAR_FORMATS:
        our_format = "tar"
    else:
        raise UnsupportedError(f"format {format_name!r}: tartape writes zip and tar (pax)")
    if filter_name not in (None, "none") and (our_format == "zip" or filter_name not in _FILTERS):
        raise UnsupportedError(f"filter {filter_name!r} with {format_name!r} is not supported")
    if options or passphrase:
        raise UnsupportedError("libarchive options and passphrases are not supported")
    path = os.fspath(filepath)
    tmp = f"{path}.tmp-{os.getpid()}"
    with TapeBuilder(format=our_format) as builder:
        yield archive_write_class(builder, header_codec)
        tape = builder.build()
    try:
        with tape:
            opener = _FILTERS.get(filter_name or "", None)
            with (opener(tmp, "wb") if opener else open(tmp, "wb")) as out:
                tape.write_to(out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
