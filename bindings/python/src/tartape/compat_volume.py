"""TarTape's volume names over our :class:`~tartape.Volume`: :class:`CompatVolume`, what
``CompatTape.iter_volumes`` and ``get_volume`` give."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator, Optional

from .exceptions import InvalidOffsetError, SourceNotFoundError, VolumeStateError
from .files import Volume

__all__ = ["CompatVolume"]

_CHECKSUM_NAMES = ("sha256", "md5", "sha1", "sha512")


class CompatVolume(Volume):
    """Our :class:`~tartape.Volume` with TarTape's names: ``index``, ``size``,
    ``start_offset``/``end_offset``, ``total_volumes``, ``checksum`` (MD5, computed while the part
    is read from start to end, None otherwise), ``compute_checksum()``, ``is_completed``. It
    unpacks into ``(volume, manifest)``, so TarTape 2.x's ``for volume, manifest in
    tape.iter_volumes(...)`` and 3.0.3's ``for volume in tape.iter_volumes(...)`` both work
    (iterating it yields those two, not lines: a TAR part has none)."""

    checksum_algorithm = "md5"

    def _compat_init(self, count: int, tag: Optional[str], directory: Optional[Path] = None) -> None:
        self._count = count
        self._directory = directory
        self._hasher: Any = hashlib.md5()
        self._hash_cursor = 0
        self._final: Optional[str] = None
        self.layout_tag = tag

    # TarTape's attribute names
    @property
    def index(self) -> int:
        return self.part

    @property
    def size(self) -> int:  # type: ignore[override]
        return self._length

    @property
    def start_offset(self) -> int:
        return self.start

    @property
    def end_offset(self) -> int:
        return self.start + self._length

    @property
    def total_volumes(self) -> int:
        return self._count

    total_parts = total_volumes

    @property
    def is_completed(self) -> bool:
        return self._pos >= self._length

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return iter((self, self.manifest))

    def open(self) -> "CompatVolume":
        """TarTape's ``volume.open()``: the volume is open already; closed ones cannot reopen."""
        self._checkClosed()
        return self

    def _hash(self, before: int, data: Any) -> None:
        if self._hasher is not None:
            if before == self._hash_cursor:
                self._hasher.update(data)
                self._hash_cursor += len(data)
            else:
                self._hasher = None  # a seek broke the linear pass: no in-flight checksum

    def readinto(self, buffer: Any) -> int:
        before = self._pos
        n = super().readinto(buffer)
        self._hash(before, memoryview(buffer).cast("B")[:n])
        return n

    def readall(self) -> bytes:
        before = self._pos
        data = super().readall()
        self._hash(before, data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """As TarTape's volumes: a position past the end is an ``InvalidOffsetError``."""
        before = self._pos
        pos = super().seek(offset, whence)
        if pos > self._length:
            self._pos = before
            raise InvalidOffsetError(f"Seek position {pos} is out of bounds (0-{self._length})")
        return pos

    @property
    def checksum(self) -> Optional[str]:
        """The part's MD5 once it was read from start to end in order (None before), or the
        checksum ``compute_checksum`` last computed (in ``checksum_algorithm``)."""
        if self._final is None and self._hasher is not None and self._hash_cursor == self._length:
            self._final = self._hasher.hexdigest()
        return self._final

    md5sum = checksum

    def compute_checksum(self, algorithm: Optional[str] = None) -> str:
        """Reads the whole part now and returns its checksum (``md5`` by default; ``sha256``,
        ``sha1`` and ``sha512`` too). Does not move the position."""
        algo = (algorithm or "md5").lower()
        if algo not in _CHECKSUM_NAMES:
            raise ValueError(f"Unsupported checksum algorithm {algo!r}: one of {', '.join(_CHECKSUM_NAMES)}")
        if self._directory is not None and not self._directory.is_dir():
            raise SourceNotFoundError(
                f"Cannot compute checksum: source directory not found at {str(self._directory)!r}"
            )
        if algo == "md5":
            digest = self.md5()
        else:
            h = hashlib.new(algo)
            buf = bytearray(1 << 20)
            pos = 0
            while pos < self._length:
                n = self.readinto_at(pos, buf)
                if n == 0:
                    raise VolumeStateError(f"{self.name}: short read at {pos}")
                h.update(memoryview(buf)[:n])
                pos += n
            digest = h.hexdigest()
        self._final, self.checksum_algorithm = digest, algo  # as TarTape: checksum is now this one
        return digest

    def _checkClosed(self, msg: Optional[str] = None) -> None:
        if self.closed:
            raise VolumeStateError(msg or "I/O operation on closed volume.")
