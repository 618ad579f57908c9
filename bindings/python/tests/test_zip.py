"""ZIP output: read back by Python's zipfile, deterministic deflate, stream-only deflated tapes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Dict

import pytest

import tartape

from conftest import content, full


def zip_tape(tmp_path: Path, deflate: int = 0) -> tartape.Tape:
    with tartape.TapeBuilder(format="zip", deflate=deflate) as builder:
        builder.add_path(tmp_path / "data")
        builder.add_bytes("extra/bytes.bin", content(5, 3000), mode=0o600, mtime=1_600_000_000)
        builder.add_directory("extra/dir", mtime=1_600_000_000)
        builder.add_symlink("extra/link", "bytes.bin", mtime=1_600_000_000)
        return builder.build()


@pytest.mark.parametrize("deflate", [0, 1, 9])
def test_zipfile_reads_every_member_with_its_mode(tmp_path: Path, tree: Dict[str, bytes], deflate: int) -> None:
    with zip_tape(tmp_path, deflate) as tape:
        assert tape.format == "zip" and tape.stream_only == bool(deflate)
        data = full(tape)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        infos = {i.filename: i for i in zf.infolist()}
        for name, body in tree.items():
            assert zf.read(name) == body
            assert infos[name].compress_type == (zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
        assert zf.read("extra/bytes.bin") == content(5, 3000)
        assert infos["extra/bytes.bin"].external_attr >> 16 == 0o100600
        assert infos["extra/dir/"].is_dir() and infos["extra/dir/"].external_attr >> 16 == 0o40755
        assert infos["extra/link"].external_attr >> 16 == 0o120777
        assert zf.read("extra/link") == b"bytes.bin"
        assert zf.read("data/link") == b"small.txt"


def test_stored_zip_has_random_access_like_tar(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with zip_tape(tmp_path) as tape:
        data = full(tape)
        assert tape.total_size == len(data)
        assert tape.read_at(1000, 5000) == data[1000:6000]
        assert b"".join(tape.play(start_offset=777)) == data[777:]
        with tape.as_file() as f:
            f.seek(len(data) - 100)
            assert f.read() == data[-100:]
        entry = tape.locate("data/sub/big.bin")
        assert data[entry.data_offset : entry.data_offset + entry.size] == tree["data/sub/big.bin"]


def test_deflate_is_deterministic(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with zip_tape(tmp_path, 6) as a, zip_tape(tmp_path, 6) as b:
        first, second = full(a), full(b)
        assert first == second == full(a)  # and the same tape played twice
    with zip_tape(tmp_path, 1) as c:
        assert full(c) != first
    with zip_tape(tmp_path, 0) as stored:
        assert len(first) < stored.total_size


def test_deflated_tape_is_stream_only(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with zip_tape(tmp_path, 9) as tape:
        for attempt in (
            lambda: tape.total_size,
            lambda: tape.read_at(0, 10),
            lambda: tape.as_file(),
            lambda: next(tape.play(start_offset=100)),
            lambda: tape.volume_count(1 << 20),
        ):
            with pytest.raises(tartape.NotRandomAccessError) as info:
                attempt()
            assert info.value.status_name == "NOT_RANDOM_ACCESS"
            assert "deflated" in str(info.value)
        events = list(tape.events())
        data = b"".join(e.data for e in events if isinstance(e, tartape.Data))
        assert events[-1] == tartape.TapeCompleted(total_size=len(data))
        assert "stream-only" in repr(tape)
        md5s = {e.name: e.md5 for e in events if isinstance(e, tartape.FileEnd) and e.md5}
        import hashlib

        assert md5s["data/sub/big.bin"] == hashlib.md5(tree["data/sub/big.bin"]).hexdigest()


def test_format_and_deflate_arguments_are_checked() -> None:
    for bad in ({"format": "rar"}, {"format": 1}, {"format": "zip", "deflate": 10}, {"format": "zip", "deflate": -1}, {"deflate": 3}):
        with pytest.raises(tartape.InvalidArgumentError):
            tartape.TapeBuilder(**bad)  # type: ignore[arg-type]
    with tartape.TapeBuilder(format="ZIP", deflate=True) as b:
        assert (b.format, b.deflate) == ("zip", 6)


def test_record_a_zip_and_open_its_catalog(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    for fmt, deflate in (("zip", 0), ("zip", 5), ("tar", 0)):
        catalog = tmp_path / f"c-{fmt}-{deflate}.tartape"
        with tartape.record(tmp_path / "data", catalog, format=fmt, deflate=deflate) as tape:
            data = full(tape)
        with tartape.open(catalog) as opened:
            assert opened.format == fmt and opened.stream_only == bool(deflate)
            assert full(opened) == data
        if fmt == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                assert zf.read("data/odd.bin") == tree["data/odd.bin"]
