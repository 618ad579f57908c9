"""TarTape 1.x's ``TarTape`` over our :class:`~tartape.TapeBuilder`.

``TarTape()``, ``add_folder(path)``, ``add_file(path, arcname)``, then ``stream()`` yields the
:mod:`tartape.schemas` events: ``event.type`` is a :class:`~tartape.schemas.TarEventType`
(``FILE_START``, ``FILE_DATA``, ``FILE_END``, ``TAPE_COMPLETED``), ``event.data`` the archive's
bytes, ``event.entry.arc_path``/``event.entry.size``, ``event.metadata.md5sum``. Each event is
also ``bytes`` (empty but for data), so ``b"".join(tape.stream())`` is the archive.

Entries are walked by the engine when ``stream()`` starts: names sorted byte-wise, each
directory before its contents, every file checked while it is read (a change stops the stream
with :class:`~tartape.ChangedSourceError`, a ``TarIntegrityError``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

from .builder import TapeBuilder
from .compat import CompatTape, _record_options
from .errors import InvalidArgumentError, UnsupportedError
from .schemas import TarEventType

__all__ = ["TarTape", "TarEventType"]


class TarTape:
    """A tape described entry by entry, streamed once or many times (TarTape 1.x's API).

    ``index_path`` (1.x's SQLite inventory) is accepted and unused: the layout lives in the
    native tape. ``anonymize=False`` keeps real owners."""

    def __init__(self, index_path: str = ":memory:", anonymize: bool = True) -> None:
        self.index_path = index_path
        self.anonymize = anonymize
        self._items: List[Tuple[str, Path, Optional[str], List[Any], int, int]] = []
        self._tape: Optional[CompatTape] = None

    def add_folder(self, folder_path: Any, recursive: bool = True, exclude: Any = None) -> None:
        """A directory and (``recursive``) everything under it, named from its last component.
        ``exclude``: names of path components (globs and callables are refused)."""
        root = Path(folder_path).absolute()
        if not root.is_dir():
            raise InvalidArgumentError(f"The path '{folder_path}' is not a directory or does not exist.")
        names, _ = _record_options(exclude, False)
        if not recursive:
            raise UnsupportedError("add_folder(recursive=False) is not supported: add files with add_file")
        self._add("path", root, None, names)

    def add_file(self, source_path: Any, arcname: Optional[str] = None, exclude: Any = None) -> None:
        """One entry as ``arcname`` (default: its name): a file, a symlink (not followed), or a
        directory alone (as in 1.x: its contents are added by ``add_folder``)."""
        p = Path(source_path)
        names, _ = _record_options(exclude, False)
        if names and p.name in [os.fsdecode(n) for n in names]:
            return
        if not os.path.lexists(p):
            raise FileNotFoundError(f"No such file: {os.fsdecode(source_path)}")
        name = Path(arcname).as_posix() if arcname else None
        if p.is_dir() and not p.is_symlink():
            st = p.stat()
            self._add("dir", p, name or p.absolute().name, [], st.st_mode & 0o7777, int(st.st_mtime))
        else:
            self._add("path", p, name, names)

    def _add(self, kind: str, path: Path, name: Optional[str], exclude: List[Any], mode: int = 0,
             mtime: int = 0) -> None:
        if self._tape is not None:
            raise UnsupportedError("entries cannot be added once the tape has been streamed")
        self._items.append((kind, path, name, exclude, mode, mtime))

    def _build(self) -> CompatTape:
        if self._tape is None:
            with TapeBuilder(keep_owners=not self.anonymize) as builder:
                active: set = set()
                for kind, path, name, exclude, mode, mtime in self._items:
                    wanted = {os.fsdecode(n) for n in exclude}
                    if kind == "dir":
                        builder.add_directory(name, mode=mode, mtime=mtime)
                        continue
                    if not active <= wanted:
                        # The engine's exclusions hold for every path added after them.
                        raise UnsupportedError(
                            f"exclude {sorted(active - wanted)} was given for an earlier folder and "
                            f"would also apply to {os.fsdecode(path)}: give the same exclude names to "
                            "every add_folder/add_file, or add the folders without them first"
                        )
                    for n in sorted(wanted - active):
                        builder.add_exclude(n)
                    active |= wanted
                    builder.add_path(path, name)
                tape = builder.build()
            self._tape = CompatTape._upgrade(tape, legacy=True, directory=None, anonymized=self.anonymize)
        return self._tape

    @property
    def tape(self) -> CompatTape:
        """The sealed tape (built on first use): total_size, entries, read_at, volumes..."""
        return self._build()

    def stream(self, chunk_size: int = 64 * 1024, resume_from: Any = None) -> Iterator[Any]:
        """The events of the whole archive; ``chunk_size`` bounds each data event."""
        if resume_from is not None:
            raise UnsupportedError(
                "stream(resume_from=...) is not supported: resume at a byte with "
                "tape.tape.play(start_offset=N)"
            )
        if not isinstance(chunk_size, int) or chunk_size <= 0:
            raise InvalidArgumentError(f"chunk_size must be a positive int, got {chunk_size!r}")
        return self._build().play(buffer_size=chunk_size)

    def close(self) -> None:
        if self._tape is not None:
            self._tape.close()

    def __enter__(self) -> "TarTape":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
