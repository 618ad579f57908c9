"""Sizes and segments as TarTape 3 spells them (``tartape.units`` and ``tartape.chunker`` there):
``parse_size("1GB")``, ``format_size(1 << 30)``, ``calculate_segments``, ``calculate_file_slices``.
"""

from __future__ import annotations

import math
import re
from typing import Iterator, List, Tuple, Union

from .schemas import FileSlice, content_slices

__all__ = ["parse_size", "format_size", "calculate_segments", "calculate_file_slices"]

_UNITS = {"B": 1}
for _i, _u in enumerate("KMGTP", start=1):
    _UNITS[_u] = _UNITS[_u + "B"] = _UNITS[_u + "IB"] = 1024**_i
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]+)?$")


def parse_size(value: Union[int, str]) -> int:
    """A volume size: an int, or ``"1GB"``, ``"500MB"``, ``"1.5G"``, ``"512K"`` (powers of 1024,
    as TarTape 3). ``ValueError`` unless it is a positive multiple of 512."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"Size must be an integer or string, got {type(value).__name__}.")
    if isinstance(value, str):
        if re.search(r"\s", value):
            raise ValueError(f"Invalid size format {value!r}: spaces are not allowed")
        m = _SIZE.match(value)
        if not m:
            raise ValueError(f"Invalid size format {value!r}: expected e.g. '100MB', '1GB' or bytes")
        unit = (m.group(2) or "B").upper()
        if unit not in _UNITS:
            raise ValueError(f"Unknown size unit {m.group(2)!r} in {value!r} (B, KB, MB, GB, TB, PB)")
        raw = float(m.group(1)) * _UNITS[unit]
        if not math.isclose(raw, round(raw)):
            raise ValueError(f"Size {value!r} is a fraction of a byte ({raw})")
        size = round(raw)
    else:
        size = value
    if size <= 0:
        raise ValueError(f"Volume size must be greater than 0, got {size}.")
    if size % 512:
        raise ValueError(f"Volume size ({size} bytes) must be a multiple of 512 bytes.")
    return size


def format_size(size_bytes: int) -> str:
    """``1073741824`` as ``"1GB"``, ``1536`` as ``"1.5KB"`` (TarTape 3's canonical spelling)."""
    if size_bytes <= 0:
        return f"{size_bytes}B"
    for name, unit in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size_bytes >= unit:
            if size_bytes % unit == 0:
                return f"{size_bytes // unit}{name}"
            ratio = round(size_bytes / unit, 2)
            if round(ratio * unit) == size_bytes:
                return f"{ratio:.2f}".rstrip("0").rstrip(".") + name
    return f"{size_bytes}B"


def calculate_segments(total_size: int, chunk_size: int) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` of each part of ``chunk_size`` bytes of a ``total_size``-byte stream."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    for start in range(0, total_size, chunk_size):
        yield start, min(start + chunk_size, total_size)


def calculate_file_slices(start_offset: int, file_size: int, volume_size: int) -> List[FileSlice]:
    """TarTape 3's arithmetic: the content of an entry whose *single 512-byte* header starts at
    ``start_offset``, cut by volumes. Our entries may have a longer (pax) header: for a tape's
    entry use ``tape.locate(name, size).fragments``, which starts at the real ``data_offset``."""
    if file_size <= 0 or volume_size <= 0:
        return []
    return content_slices(start_offset + 512, file_size, volume_size)
