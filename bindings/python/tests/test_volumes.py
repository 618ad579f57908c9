"""Volumes: fixed-size parts that rebuild the archive, their manifests, files and locate."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path
from typing import Dict, List

import pytest

import tartape

from conftest import content, full

SIZES = [512, 1536, 1 << 20]


@pytest.fixture
def opened(tmp_path: Path, tape: tartape.Tape):
    """The conftest tape (files, bytes, directories, symlinks) saved and opened again."""
    tape.save(tmp_path / "v.tartape")
    with tartape.open(tmp_path / "v.tartape") as t:
        yield t


def contents(tree: Dict[str, bytes]) -> Dict[str, bytes]:
    out = dict(tree)
    out["extra/bytes.bin"] = content(5, 3000)
    return out


@pytest.mark.parametrize("size", SIZES)
def test_volumes_rebuild_the_archive_and_manifests_hold_the_entry_bytes(
    opened: tartape.Tape, tree: Dict[str, bytes], size: int
) -> None:
    original = full(opened)
    files = contents(tree)
    count = opened.volume_count(size)
    assert count == -(-len(original) // size)
    parts: List[bytes] = []
    seen_content: Dict[str, int] = {}
    for part, (volume, manifest) in enumerate(opened.iter_volumes(size)):
        with volume:
            assert isinstance(volume, io.RawIOBase) and volume.seekable() and volume.readable()
            assert volume.part == part and volume.start == part * size
            assert volume.name == f"part-{part:04d}"
            assert manifest is volume.manifest
            data = volume.read()
            assert len(data) == len(volume) == min(size, len(original) - part * size)
            parts.append(data)
            for item in manifest:
                entry = opened.entries[item.index]
                assert item.name == entry.name and item.size == entry.size
                lo, hi = item.range
                assert 0 <= lo < hi <= len(data)
                assert data[lo:hi] == original[volume.start + lo : volume.start + hi]
                clo, chi = item.content_range
                if chi > clo:
                    want = files[item.name][item.content_offset : item.content_offset + chi - clo]
                    assert data[clo:chi] == want, (item.name, part)
                    seen_content[item.name] = seen_content.get(item.name, 0) + chi - clo
                expected_role = {
                    (True, True): tartape.Role.WHOLE,
                    (True, False): tartape.Role.HEAD,
                    (False, False): tartape.Role.BODY,
                    (False, True): tartape.Role.TAIL,
                }[(entry.header_offset >= volume.start, entry.end_offset <= volume.start + len(data))]
                assert item.role == expected_role
        assert volume.closed
    assert b"".join(parts) == original
    assert len(parts) == count
    # Every byte of every non-empty file's content is in exactly one manifest range.
    assert {n: s for n, s in seen_content.items()} == {n: len(d) for n, d in files.items() if d}


def test_volume_is_a_seekable_file(opened: tartape.Tape) -> None:
    original = full(opened)
    with opened.volume(1, 4096) as v:
        want = original[4096:8192]
        assert v.seek(100) == 100 and v.tell() == 100
        buf = bytearray(50)
        assert v.readinto(buf) == 50 and bytes(buf) == want[100:150]
        assert v.tell() == 150
        view = memoryview(bytearray(64))[8:40]
        assert v.readinto(view) == 32 and view.tobytes() == want[150:182]
        assert v.seek(-10, io.SEEK_END) == 4086 and v.read() == want[-10:]
        assert v.read() == b"" and v.readinto(bytearray(5)) == 0
        v.seek(0)
        buffered = io.BufferedReader(v, 1000)  # type: ignore[arg-type]
        assert buffered.read() == want
        buffered.detach()  # else collecting it closes the volume, as for any raw file
        assert v.read_at(4000, 500) == want[4000:]
        assert v.md5() == __import__("hashlib").md5(want).hexdigest()
        out = io.BytesIO()
        v.seek(0)
        shutil.copyfileobj(v, out)
        assert out.getvalue() == want
    with pytest.raises(ValueError):
        v.read()
    with pytest.raises(tartape.ClosedError):
        v.read_at(0, 1)
    v.close()  # idempotent


def test_volume_outlives_its_tape_and_reads_from_threads(opened: tartape.Tape) -> None:
    original = full(opened)
    size = 1536
    volumes = [opened.volume(p, size) for p in range(opened.volume_count(size))]
    opened.close()
    errors: List[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i, v in enumerate(volumes):
                if (i + k) % 3 == 0:
                    off = (k * 97) % len(v)
                    assert v.read_at(off, 700) == original[v.start + off : v.start + min(len(v), off + 700)]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[0]
    assert b"".join(v.read() for v in volumes) == original
    for v in volumes:
        v.close()


def test_locate_gives_the_parts_holding_an_entry(opened: tartape.Tape) -> None:
    size = 1 << 16
    loc = opened.locate("./data/sub//big.bin", part_size=size)
    assert isinstance(loc, tartape.Location) and isinstance(loc, tartape.Entry)
    assert loc.name == "data/sub/big.bin" and loc.size == 1_300_000
    assert loc.first_part == loc.header_offset // size and loc.last_part == (loc.end_offset - 1) // size
    assert list(loc.parts) == list(range(loc.first_part, loc.last_part + 1))
    assert loc.entry == opened.entries[loc.index] == loc
    for part in loc.parts:
        with opened.volume(part, size) as v:
            assert loc.index in {m.index for m in v.manifest}
    plain = opened.locate("data/small.txt")
    assert plain.part_size is None and plain.first_part is None
    with pytest.raises(ValueError):
        plain.parts
    with pytest.raises(tartape.NotFoundError):
        opened.locate("nope", part_size=size)


def test_bad_part_sizes_and_parts(opened: tartape.Tape) -> None:
    for bad in (0, 1000):
        with pytest.raises(tartape.InvalidArgumentError):
            opened.volume_count(bad)
        with pytest.raises(tartape.InvalidArgumentError):
            list(opened.iter_volumes(bad))
        with pytest.raises(tartape.InvalidArgumentError):
            opened.locate("data/small.txt", part_size=bad)
    with pytest.raises(tartape.InvalidArgumentError):
        opened.volume_count(-512)
    n = opened.volume_count(512)
    with pytest.raises(tartape.TarTapeError):
        opened.volume(n, 512)


def test_volumes_of_a_built_tape_with_read_at_sources(tmp_path: Path) -> None:
    data = content(11, 100_000)
    with tartape.TapeBuilder() as b:
        b.add_read_at("cb.bin", len(data), lambda off, n: data[off : off + n])
        b.add_from_memory("mem.bin", 10, b"0123456789")
        t = b.build()
    with t:
        first = t.volume(0, 8192)
    # The tape is closed; its callback is still alive for the volume.
    with first:
        assert first.read()[512:8192] == data[: 8192 - 512]
    with tartape.TapeBuilder() as b2:
        b2.add_from_memory("mem.bin", 10, b"0123456789")
        t2 = b2.build()
    with t2:
        with t2.volume(0, 512) as v:
            assert v.read(512)  # the header
        with t2.volume(1, 512) as v, pytest.raises(tartape.NotRandomAccessError):
            v.read()
