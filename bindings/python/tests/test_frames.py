"""Seekable compressed tapes from Python (Tape.record_frames): the compressed archive decompresses
(zstd command, gzip module) to the plain TAR, read_at slices and resumed streams are its bytes,
the frame table covers both, the bytes do not depend on threads, catalogs keep the frames, and
misuse raises the binding's exceptions with the library's message."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import io
import tarfile
from pathlib import Path

import pytest

import tartape

from conftest import content, full

FRAME = 64 << 10


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Small files sharing frames, a large incompressible file and a large text cut into frames."""
    d = tmp_path / "t"
    (d / "small").mkdir(parents=True)
    for i in range(30):
        (d / "small" / f"{i:02}.txt").write_bytes(content(i, (i * 377) % 9000))
    (d / "random.bin").write_bytes(os.urandom(300_000))
    (d / "text.txt").write_bytes(b"".join(b"row %d of %d\n" % (i, i % 91) for i in range(30_000)))
    return d


def walked(root: Path) -> tartape.Tape:
    with tartape.TapeBuilder() as b:
        b.add_path(root)
        return b.build()


def framed(root: Path, compression: str = "zstd", **options: int) -> tartape.Tape:
    return walked(root).record_frames(compression, frame_size=FRAME, **options)


def check_table(tape: tartape.Tape, tar_size: int) -> None:
    frames = tape.frames
    assert frames is not None and len(frames) > 5
    assert frames.frame_size == FRAME and frames.tar_size == tar_size
    assert frames.total_size == tape.total_size == frames.frames_end + frames.seek_table_length
    tar_at = at = 0
    for k, f in enumerate(frames):
        assert (f.index, f.tar_offset, f.offset) == (k, tar_at, at)
        assert 0 < f.tar_length <= FRAME and f.length > 0
        tar_at, at = f.tar_end, f.end
    assert tar_at == tar_size and at == frames.frames_end
    assert frames[-1] == frames[len(frames) - 1] and frames[1:3] == [frames[1], frames[2]]
    with pytest.raises(IndexError):
        frames[len(frames)]


@pytest.mark.skipif(shutil.which("zstd") is None, reason="no zstd command")
def test_zstd_frames_decompress_to_the_plain_tar_and_every_view_agrees(root: Path) -> None:
    with walked(root) as plain_tape:
        plain = full(plain_tape)
        assert plain_tape.frames is None
    with framed(root) as tape:
        assert not tape.stream_only
        check_table(tape, len(plain))
        frames = tape.frames
        assert frames is not None
        assert (frames.compression, frames.level, frames.threads) == ("zstd", 3, 1)
        assert frames.seek_table_length == 8 + 8 * len(frames) + 9 and frames.engine.startswith("libzstd")
        whole = full(tape)
        assert len(whole) == tape.total_size
        back = subprocess.run(["zstd", "-q", "-d", "-c"], input=whole, capture_output=True, check=True).stdout
        assert back == plain
        # read_at slices anywhere, across frames and in the seek table.
        for a, n in [(0, 1), (0, 70_000), (12_345, 200_000), (frames.frames_end - 3, 10), (len(whole) - 5, 50)]:
            assert tape.read_at(a, n) == whole[a : a + n]
        with tape.as_file() as f:
            f.seek(len(whole) // 3)
            assert f.read(100_000) == whole[len(whole) // 3 : len(whole) // 3 + 100_000]
        # Resumed at frame starts, inside frames, in the seek table, at the end.
        mid = frames[len(frames) // 2]
        for o in [1, mid.offset, mid.offset + 7, frames.frames_end, frames.frames_end + 5, len(whole) - 1, len(whole)]:
            assert b"".join(tape.play(start_offset=o)) == whole[o:], o
        # An entry's bytes lie in the frames from the one holding its header.
        entry = tape.locate("t/text.txt")
        first = frames.find(entry.header_offset)
        assert first.tar_offset <= entry.header_offset < first.tar_end
        last = frames.find(entry.end_offset - 1)
        piece = tape.read_at(first.offset, last.end - first.offset)
        assert piece == whole[first.offset : last.end]
        out = subprocess.run(["zstd", "-q", "-d", "-c"], input=piece, capture_output=True, check=True).stdout
        assert out == plain[first.tar_offset : last.tar_end]
        with pytest.raises(tartape.NotFoundError):
            frames.find(len(plain))


def test_gzip_frames_are_gzip_members_of_the_plain_tar(root: Path) -> None:
    with walked(root) as plain_tape:
        plain = full(plain_tape)
    with framed(root, "gzip", level=9, threads=2) as tape:
        check_table(tape, len(plain))
        frames = tape.frames
        assert frames is not None and frames.seek_table_length == 0 and frames.level == 9
        whole = full(tape)
        assert gzip.decompress(whole) == plain
        with tarfile.open(fileobj=io.BytesIO(whole), mode="r:gz") as tf:
            f = tf.extractfile("t/text.txt")
            assert f is not None and f.read() == (root / "text.txt").read_bytes()
        k = len(frames) // 2
        f0 = frames[k]
        assert gzip.decompress(tape.read_at(f0.offset, f0.length)) == plain[f0.tar_offset : f0.tar_end]
        assert b"".join(tape.play(start_offset=f0.offset + 3)) == whole[f0.offset + 3 :]


def test_the_bytes_do_not_depend_on_threads_and_catalogs_keep_the_frames(root: Path, tmp_path: Path) -> None:
    with framed(root, level=5) as one, framed(root, level=5, threads=3) as three:
        whole = full(one)
        assert full(three) == whole
        assert one.fingerprint == three.fingerprint
        with walked(root) as plain:
            assert plain.fingerprint != one.fingerprint
        cat = tmp_path / "framed.tartape"
        one.save(cat)
        table = list(one.frames or [])
        fingerprint = one.fingerprint
    with tartape.open(cat) as opened:
        frames = opened.frames
        assert frames is not None and list(frames) == table and frames.level == 5
        assert opened.fingerprint == fingerprint
        opened.set_frame_threads(2)
        assert opened.frames is not None and opened.frames.threads == 2
        assert opened.total_size == len(whole)
        assert opened.read_at(len(whole) // 2, 99_999) == whole[len(whole) // 2 : len(whole) // 2 + 99_999]
        assert b"".join(opened.play(start_offset=77_777)) == whole[77_777:]
        with pytest.raises(tartape.StateError) as info:
            opened.set_frame_threads(1)
        assert "stream" in str(info.value)


def test_fingerprint_and_size_change_when_the_frames_are_recorded(root: Path) -> None:
    with walked(root) as tape:
        before, size = tape.fingerprint, tape.total_size
        tape.record_frames(frame_size=FRAME)
        assert tape.fingerprint != before and tape.total_size < size
        assert tape.frames is not None and tape.frames.tar_size == size


def test_misuse_raises_the_bindings_exceptions_with_the_message(root: Path) -> None:
    with walked(root) as tape:
        with pytest.raises(tartape.InvalidArgumentError) as info:
            tape.record_frames(frame_size=1000)
        assert "frame size 1000" in str(info.value)
        with pytest.raises(tartape.InvalidArgumentError):
            tape.record_frames("xz")
        with pytest.raises(tartape.InvalidArgumentError):
            tape.record_frames(level=23)
        with pytest.raises(tartape.InvalidArgumentError):
            tape.record_frames(threads=-1)
        with pytest.raises(tartape.StateError) as info:
            tape.set_frame_threads(2)
        assert "no frames" in str(info.value)
        assert tape.frames is None
        tape.record_frames(level=1)
        with pytest.raises(tartape.StateError) as info:
            tape.record_frames()
        assert "already" in str(info.value)
        with pytest.raises(tartape.InvalidArgumentError):
            tape.set_frame_threads(300)
    with tartape.TapeBuilder(format="zip") as b:
        b.add_path(root)
        zip_tape = b.build()
    with zip_tape, pytest.raises(tartape.InvalidArgumentError) as info:
        zip_tape.record_frames()
    assert "TAR" in str(info.value)
    with walked(root) as streamed:
        next(iter(streamed.play()))
        with pytest.raises(tartape.StateError) as info:
            streamed.record_frames()
        assert "stream" in str(info.value)
    with walked(root) as closed:
        pass
    with pytest.raises(tartape.ClosedError):
        closed.record_frames()
