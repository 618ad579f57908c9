"""Compressed TAR tapes (gzip, zstd) from Python: read back by Python's gzip and tarfile and by
the zstd command, deterministic whatever the zstd threads, stream-only; and compressed archives
read by tartape's reader."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Dict

import pytest

import tartape

from conftest import full


def tar_tape(tmp_path: Path, **options: object) -> tartape.Tape:
    with tartape.TapeBuilder(**options) as builder:  # type: ignore[arg-type]
        builder.add_path(tmp_path / "data")
        return builder.build()


@pytest.mark.parametrize("level", [0, 1, 9])
def test_gzip_tape_is_the_plain_tar_gzipped(tmp_path: Path, tree: Dict[str, bytes], level: int) -> None:
    with tar_tape(tmp_path) as plain, tar_tape(tmp_path, compression="gzip", compression_level=level) as tape:
        assert tape.stream_only and not plain.stream_only
        data = full(tape)
        assert gzip.decompress(data) == full(plain)
    with tar_tape(tmp_path, compression="gzip", compression_level=level, compression_threads=3) as threaded:
        assert full(threaded) == data
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        for name, body in tree.items():
            f = tf.extractfile(name)
            assert f is not None and f.read() == body


@pytest.mark.skipif(shutil.which("zstd") is None, reason="no zstd command")
def test_zstd_tape_is_deterministic_whatever_the_threads(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with tar_tape(tmp_path) as plain:
        want = full(plain)
    outs = []
    for threads in (1, 3):
        with tar_tape(tmp_path, compression="zstd", compression_level=5, compression_threads=threads) as tape:
            outs.append(full(tape))
    assert outs[0] == outs[1]
    back = subprocess.run(["zstd", "-d", "-c"], input=outs[0], capture_output=True, check=True).stdout
    assert back == want


def test_compressed_tape_is_stream_only_and_options_are_checked(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with tar_tape(tmp_path, compression="zstd") as tape:
        for attempt in (lambda: tape.total_size, lambda: tape.read_at(0, 10), lambda: next(tape.play(start_offset=1))):
            with pytest.raises(tartape.NotRandomAccessError) as info:
                attempt()
            assert "zstd" in str(info.value)
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.TapeBuilder(compression="lz4")
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.TapeBuilder(compression="gzip", compression_level=10)
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.TapeBuilder(compression="zstd", compression_threads=0)


def test_reader_detects_a_compressed_tar(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with tar_tape(tmp_path) as plain:
        data = full(plain)
    packed = tmp_path / "a.tar.gz"
    packed.write_bytes(gzip.compress(data))
    for source in (packed, packed.read_bytes()):
        with tartape.open_archive(source) as archive:
            assert archive.compression == "gzip"
            got = {e.name: archive.read(e.name) for e in archive.entries if e.kind == tartape.EntryKind.FILE}
            for name, body in tree.items():
                assert got[name] == body
    with tartape.open_archive(data) as archive:
        assert archive.compression == "none"


def test_saved_index_reopens_a_compressed_tar(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with tar_tape(tmp_path) as plain:
        data = full(plain)
    packed = tmp_path / "a.tar.gz"
    packed.write_bytes(gzip.compress(data))
    index = tmp_path / "a.idx"
    with tartape.open_archive(packed) as archive:
        archive.save_index(index)
        names = [e.name for e in archive.entries]
    with tartape.open_archive(packed, index=index) as again:
        assert [e.name for e in again.entries] == names
        for name, body in tree.items():
            assert again.read(name) == body
    with pytest.raises(tartape.InvalidArgumentError):
        with tartape.open_archive(data) as p:
            p.save_index(index)
    other = tmp_path / "b.tar.gz"
    other.write_bytes(gzip.compress(data + b"\0" * 512))
    with pytest.raises(tartape.InvalidArgumentError, match="not this archive"):
        tartape.open_archive(other, index=index)
