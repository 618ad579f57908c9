"""The archive reader: open_archive over our own TAR and ZIP output and over others' archives,
members as files, and rebuilding bundles without extracting (add_member)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Dict

import pytest

import tartape
from tartape import EntryKind

from conftest import content, full

CORPORA = Path("/work/shared/corpora")
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"no corpora at {CORPORA}")


def build(fmt: str, tmp_path: Path, deflate: int = 0) -> tartape.Tape:
    with tartape.TapeBuilder(format=fmt, deflate=deflate) as builder:
        builder.add_path(tmp_path / "data")
        builder.add_bytes("extra/bytes.bin", content(5, 3000), mode=0o600, mtime=1_600_000_000)
        builder.add_directory("extra/dir", mtime=1_600_000_000)
        builder.add_symlink("extra/link", "bytes.bin", mtime=1_600_000_000)
        return builder.build()


def contents(archive: tartape.Archive) -> Dict[str, bytes]:
    """Every file's content by name."""
    return {e.name: archive.read(e) for e in archive if e.is_file}


@pytest.mark.parametrize("fmt,deflate", [("tar", 0), ("zip", 0), ("zip", 6)])
@pytest.mark.parametrize("from_bytes", [False, True])
def test_reads_our_own_output(
    tmp_path: Path, tree: Dict[str, bytes], fmt: str, deflate: int, from_bytes: bool
) -> None:
    with build(fmt, tmp_path, deflate) as tape:
        data = full(tape)
        layout = {e.name: e for e in tape.entries}
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(data)
    with tartape.open_archive(bytearray(data) if from_bytes else path) as archive:
        names = [e.name.rstrip("/") for e in archive.entries]
        assert names == [e for e in layout]
        for name, body in tree.items():
            entry = archive.find(name)
            assert entry is not None and entry.kind == EntryKind.FILE and entry.size == len(body)
            assert archive.read(name) == body
            assert entry.method == (8 if deflate else 0)
            if fmt == "zip":
                assert entry.crc32 == (zipfile.crc32(body) & 0xFFFFFFFF)
            if not deflate:  # the reader's offsets are the layout's
                assert (entry.header_offset, entry.data_offset) == (
                    layout[name].header_offset,
                    layout[name].data_offset,
                )
        extra = archive.find("extra/bytes.bin")
        assert extra is not None and extra.mode & 0o7777 == 0o600 and extra.mtime == 1_600_000_000
        assert archive.find("extra/dir").is_dir  # type: ignore[union-attr]
        link = archive.find("extra/link")
        assert link is not None and link.is_symlink and link.link == "bytes.bin"
        assert archive.find("no/such") is None
        assert not any(e.unsafe_name or e.encrypted or e.sparse for e in archive)
        with pytest.raises(tartape.NotFoundError):
            archive.open("no/such")


@pytest.mark.parametrize("fmt,deflate", [("tar", 0), ("zip", 0), ("zip", 9)])
def test_member_is_a_seekable_raw_file(tmp_path: Path, tree: Dict[str, bytes], fmt: str, deflate: int) -> None:
    body = tree["data/sub/big.bin"]
    with build(fmt, tmp_path, deflate) as tape:
        data = full(tape)
    archive = tartape.open_archive(data)
    member = archive.open("data/sub/big.bin")
    archive.close()  # a member outlives its archive
    with member:
        assert isinstance(member, io.RawIOBase) and member.seekable() and not member.writable()
        assert member.size == len(member) == len(body)
        buf = bytearray(1000)
        assert member.readinto(buf) == 1000 and buf == body[:1000]
        assert member.tell() == 1000
        assert member.seek(500_000) == 500_000
        assert member.read(10) == body[500_000:500_010]
        assert member.seek(-100, io.SEEK_END) == len(body) - 100
        assert member.read() == body[-100:]
        assert member.read(10) == b""
        assert member.seek(7) == 7  # backwards: a deflated member inflates again
        assert member.read(5) == body[7:12]
        assert member.seek(3, io.SEEK_CUR) == 15
        assert member.read_at(200, 300) == body[200:500]
        assert member.read_at(len(body) - 5, 100) == body[-5:]
        member.seek(0)
        assert io.BufferedReader(member, 4096).read() == body  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            member.seek(-1)
    with pytest.raises(ValueError):
        member.read(1)
    with pytest.raises(tartape.ClosedError):
        archive.open(0)


@needs_corpora
def test_cpython_testtar_matches_the_oracle() -> None:
    path = CORPORA / "cpython" / "testtar.tar"
    oracle = {}
    for line in (CORPORA / "oracle.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["file"] == "cpython/testtar.tar":
            oracle = {e["name"]: e for e in record["tar_entries"]}
    assert oracle
    for source in (path, path.read_bytes()):
        with tartape.open_archive(source) as archive:
            assert len(archive) == 39
            by_name = {e.name.rstrip("/"): e for e in archive}
            checked = 0
            for name, expected in oracle.items():
                entry = by_name.get(name.rstrip("/"))
                assert entry is not None, name
                if entry.is_file and expected.get("sha256") and not entry.sparse:
                    assert hashlib.sha256(archive.read(entry)).hexdigest() == expected["sha256"], name
                    checked += 1
            assert checked > 10
            assert any(e.sparse for e in archive)
            assert any(e.kind == EntryKind.HARDLINK for e in archive)
            assert any(e.kind in (EntryKind.CHAR_DEVICE, EntryKind.BLOCK_DEVICE, EntryKind.FIFO) for e in archive)


@needs_corpora
@pytest.mark.parametrize("name", ["files_and_dirs.zip", "mimetype.zip", "chinese.zip", "non_utf8.zip", "symlink.zip"])
def test_zip_corpus_matches_zipfile(name: str) -> None:
    path = CORPORA / "zip2" / name
    with zipfile.ZipFile(path) as zf, tartape.open_archive(path) as archive:
        infos = zf.infolist()
        assert len(archive) == len(infos)
        for info, entry in zip(infos, archive):
            assert entry.size == info.file_size and entry.crc32 == info.CRC
            assert entry.compressed_size == info.compress_size and entry.method == info.compress_type
            assert entry.header_offset == info.header_offset
            if not info.is_dir():
                assert archive.read(entry) == zf.read(info)


@needs_corpora
def test_names_that_are_not_utf8_round_trip() -> None:
    with tartape.open_archive(CORPORA / "zip2" / "non_utf8.zip") as archive:
        for entry in archive:
            assert entry.name.encode("utf-8", "surrogateescape") == entry.name_bytes
            assert archive.find(entry.name_bytes) == entry


@needs_corpora
def test_encrypted_member_raises_unsupported() -> None:
    with tartape.open_archive(CORPORA / "zip2" / "aes_archive.zip") as archive:
        assert archive.entries and all(e.encrypted for e in archive)
        with pytest.raises(tartape.UnsupportedError, match="encrypted") as info:
            archive.read(archive.entries[0])
        assert info.value.status_name == "UNSUPPORTED"
        with tartape.TapeBuilder() as builder, pytest.raises(tartape.UnsupportedError):
            builder.add_member(archive, archive.entries[0])


@needs_corpora
def test_unsupported_method_raises_unsupported() -> None:
    # PPMd (98) is listed but not read; LZMA (14), bzip2, zstd and xz members are read.
    with tartape.open_archive(CORPORA / "zip2" / "ppmd.zip") as archive:
        with pytest.raises(tartape.UnsupportedError, match="method 98"):
            archive.open(0)
    with tartape.open_archive(CORPORA / "zip2" / "lzma.zip") as archive:
        assert archive.read(0)


def _unsafe_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name in ("good.txt", "../evil.txt", "/etc/abs.txt", "a/../../up.txt"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tf.addfile(info, io.BytesIO(b"abc"))
    return out.getvalue()


def test_unsafe_names_are_flagged_and_refused_by_tapes() -> None:
    with tartape.open_archive(_unsafe_tar()) as archive:
        flags = {e.name: e.unsafe_name for e in archive}
        assert flags == {"good.txt": False, "../evil.txt": True, "/etc/abs.txt": True, "a/../../up.txt": True}
        assert archive.read("../evil.txt") == b"abc"  # reading is fine: extracting is the risk
        with tartape.TapeBuilder() as builder:
            with pytest.raises(tartape.InvalidNameError):
                builder.add_member(archive, "../evil.txt")
            builder.add_member(archive, "../evil.txt", name="quarantine/evil.txt")
            tape = builder.build()
        with tape, tartape.open_archive(full(tape)) as copy:
            assert copy.read("quarantine/evil.txt") == b"abc"


def test_damaged_archives_raise_corrupt_with_a_message(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with build("zip", tmp_path) as tape:
        zip_bytes = full(tape)
    with build("tar", tmp_path) as tape:
        tar_bytes = full(tape)
    damaged_tar = bytearray(tar_bytes)
    damaged_tar[100:108] = b"garbage!"  # the first header's mode field: its checksum fails
    damaged_zip = zip_bytes[:-10]  # the end of central directory record cut off
    for bad in (bytes(damaged_tar), damaged_zip, b"PK\x03\x04" + b"\x00" * 40):
        with pytest.raises(tartape.CorruptError) as info:
            tartape.open_archive(bad)
        assert info.value.status_name == "CORRUPT" and "corrupt" in info.value.message
        path = tmp_path / "bad.bin"
        path.write_bytes(bad)
        with pytest.raises(tartape.CorruptError, match=str(path)):
            tartape.open_archive(path)
    # Content altered after the listing: the ZIP CRC-32 catches it when the member is read.
    body = tree["data/odd.bin"]
    altered = bytearray(zip_bytes)
    at = altered.find(body)
    altered[at + 10] ^= 0xFF
    with tartape.open_archive(bytes(altered)) as archive:
        with pytest.raises(tartape.CorruptError) as crc:
            archive.read("data/odd.bin")
        assert crc.value.message
    with pytest.raises(tartape.SourceIOError):
        tartape.open_archive(tmp_path / "absent.zip")


@pytest.mark.parametrize("source_fmt,source_deflate,target_fmt,target_deflate", [
    ("zip", 0, "tar", 0),
    ("zip", 6, "tar", 0),
    ("tar", 0, "zip", 0),
    ("tar", 0, "zip", 9),
    ("zip", 6, "zip", 0),
])
def test_convert_without_extracting(
    tmp_path: Path, tree: Dict[str, bytes], source_fmt: str, source_deflate: int, target_fmt: str, target_deflate: int
) -> None:
    with build(source_fmt, tmp_path, source_deflate) as tape:
        source = full(tape)
    with tartape.open_archive(source) as archive:
        expected = contents(archive)
        with tartape.TapeBuilder(format=target_fmt, deflate=target_deflate) as builder:
            for entry in archive:
                builder.add_member(archive, entry)
            converted = builder.build()
    # The archive is closed: the members opened by add_member keep its data alive.
    with converted:
        assert converted.format == target_fmt
        out = full(converted)
        assert full(converted) == out  # replayable (deflated members are inflated again)
        if not converted.stream_only:
            assert converted.read_at(0, len(out)) == out
    with tartape.open_archive(out) as result:
        assert contents(result) == expected
        assert result.find("extra/link").link == "bytes.bin"  # type: ignore[union-attr]
        assert result.find("extra/dir").is_dir  # type: ignore[union-attr]
        assert result.find("extra/bytes.bin").mode & 0o777 == 0o600  # type: ignore[union-attr]
    # And the standard library agrees.
    if target_fmt == "tar":
        with tarfile.open(fileobj=io.BytesIO(out)) as tf:
            assert tf.extractfile("data/sub/big.bin").read() == tree["data/sub/big.bin"]  # type: ignore[union-attr]
    else:
        with zipfile.ZipFile(io.BytesIO(out)) as zf:
            assert zf.testzip() is None and zf.read("data/odd.bin") == tree["data/odd.bin"]


def test_copy_some_members_and_drop_others(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with build("zip", tmp_path) as tape:
        source = full(tape)
    with tartape.open_archive(source) as archive, tartape.TapeBuilder() as builder:
        for entry in archive:
            if entry.is_file and entry.name.endswith(".bin"):
                builder.add_member(archive, entry, name="kept/" + entry.name)
        builder.add_member(archive, "data/small.txt", name="renamed.txt", mode=0o640, mtime=42)
        tape = builder.build()
    with tape:
        names = [e.name for e in tape.entries]
        assert names == [
            "kept/data/block.bin", "kept/data/odd.bin", "kept/data/sub/big.bin",
            "kept/data/sub/deeper/z.bin", "kept/extra/bytes.bin", "renamed.txt",
        ]
        renamed = tape.locate("renamed.txt")
        assert (renamed.mode, renamed.mtime) == (0o640, 42)
        # Random access through the member callbacks, from several threads at once.
        data = full(tape)
        big = tape.locate("kept/data/sub/big.bin")
        results = []

        def read(offset: int) -> None:
            results.append(tape.read_at(big.data_offset + offset, 4096) == tree["data/sub/big.bin"][offset : offset + 4096])

        threads = [threading.Thread(target=read, args=(o,)) for o in range(0, 1_200_000, 100_000)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results and all(results)
        assert b"".join(tape.play(start_offset=big.data_offset + 777)) == data[big.data_offset + 777 :]
    with tartape.open_archive(data) as result:
        assert result.read("kept/data/odd.bin") == tree["data/odd.bin"]
        assert result.read("renamed.txt") == tree["data/small.txt"]


@needs_corpora
def test_copy_from_others_archives_refuses_special_kinds() -> None:
    with tartape.open_archive(CORPORA / "cpython" / "testtar.tar") as archive, tartape.TapeBuilder(format="zip") as builder:
        special = [e for e in archive if e.kind not in (EntryKind.FILE, EntryKind.DIR, EntryKind.SYMLINK)]
        assert special
        for entry in special:
            with pytest.raises(tartape.UnsupportedError):
                builder.add_member(archive, entry)
        regular = archive.find("ustar/regtype")
        assert regular is not None
        builder.add_member(archive, regular)
        sparse = next(e for e in archive if e.sparse)
        builder.add_member(archive, sparse, name="sparse")
        tape = builder.build()
        expected = (archive.read(regular), archive.read(sparse))
    with tape, zipfile.ZipFile(io.BytesIO(full(tape))) as zf:
        assert (zf.read("ustar/regtype"), zf.read("sparse")) == expected
