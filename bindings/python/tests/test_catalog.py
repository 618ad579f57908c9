"""Catalogs: record, open in another process, resume, changes, verify, damage, threads, fingerprints."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List

import pytest

import tartape

from conftest import content, full, members


@pytest.fixture
def recorded(tmp_path: Path, tree: Dict[str, bytes]):
    """The tree recorded to the default catalog, with checksums."""
    tape = tartape.record(tmp_path / "data", checksum=True)
    yield tape
    tape.close()


def test_record_saves_beside_the_directory_and_returns_the_recorded_tape(
    tmp_path: Path, recorded: tartape.Tape, tree: Dict[str, bytes]
) -> None:
    assert recorded.catalog_path == str(tmp_path / "data") + ".tartape"
    assert Path(recorded.catalog_path).is_file()
    assert tartape.default_catalog_path(str(tmp_path / "data") + "/") == recorded.catalog_path
    got = members(full(recorded))
    for name, data in tree.items():
        assert got[name].size == len(data)
    assert got["data/link"].linkname == "small.txt"


def test_open_in_a_new_process_plays_the_recorded_bytes(
    tmp_path: Path, recorded: tartape.Tape
) -> None:
    original = full(recorded)
    out = tmp_path / "played.tar"
    script = (
        "import sys, tartape\n"
        "with tartape.open(sys.argv[1]) as t, open(sys.argv[2], 'wb') as f:\n"
        "    for chunk in t.play():\n"
        "        f.write(chunk)\n"
        "    print(t.fingerprint, t.total_size)\n"
    )
    # The same package in the child (the installed one, or src/ in a checkout), from anywhere.
    package_root = str(Path(tartape.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, "-c", script, recorded.catalog_path or "", str(out)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert out.read_bytes() == original
    assert result.stdout.split() == [recorded.fingerprint, str(len(original))]


def test_resume_from_an_opened_catalog_is_byte_exact(recorded: tartape.Tape) -> None:
    original = full(recorded)
    with tartape.open(recorded.catalog_path or "") as t:
        assert t.catalog_path == recorded.catalog_path
        assert t.entries == recorded.entries
        big = t.locate("data/sub/big.bin")
        offsets = [0, 1, 511, 512, 513, big.header_offset, big.data_offset + 777_777, len(original) - 1, len(original)]
        for n in offsets:
            assert b"".join(t.play(start_offset=n)) == original[n:], n
        ends: List[tartape.FileEnd] = []
        b"".join(t.play(start_offset=big.data_offset + 10, on_event=lambda e: ends.append(e) if isinstance(e, tartape.FileEnd) else None))
        # Checksums were recorded: even the resumed entry's FileEnd has its MD5.
        import hashlib

        assert ends[0].name == "data/sub/big.bin"
        assert ends[0].md5 == hashlib.md5(content(3, 1_300_000)).hexdigest()


def test_a_changed_file_stops_play(tmp_path: Path, recorded: tartape.Tape) -> None:
    with tartape.open(recorded.catalog_path or "") as t:
        with open(tmp_path / "data" / "odd.bin", "ab") as f:
            f.write(b"more")
        with pytest.raises(tartape.ChangedSourceError) as err:
            for _ in t.play():
                pass
        assert "odd.bin" in err.value.message
        # Bytes before the changed file are still readable; the changed file's are not.
        odd = t.locate("data/odd.bin")
        assert len(t.read_at(0, odd.header_offset)) == odd.header_offset
        with pytest.raises(tartape.ChangedSourceError):
            t.read_at(odd.data_offset, 10)


def test_a_same_size_edit_with_mtime_restored_is_caught_by_checksums(
    tmp_path: Path, recorded: tartape.Tape
) -> None:
    path = tmp_path / "data" / "block.bin"
    st = path.stat()
    with open(path, "r+b") as f:
        f.write(b"X")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with tartape.open(recorded.catalog_path or "") as t:
        with pytest.raises(tartape.ChangedSourceError):
            for _ in t.play():
                pass


def test_verify_reports_every_discrepancy(tmp_path: Path, recorded: tartape.Tape) -> None:
    with tartape.open(recorded.catalog_path or "") as t:
        report = t.verify()
        assert report.clean and bool(report) and report.discrepancies == []
        assert report.checked == len(t)
        assert t.verify(deep=True).clean

        data = tmp_path / "data"
        (data / "small.txt").unlink()
        with open(data / "odd.bin", "ab") as f:
            f.write(b"grown")
        block = data / "block.bin"
        st = block.stat()
        with open(block, "r+b") as f:
            f.seek(100)
            f.write(b"same size, other bytes")
        os.utime(block, ns=(st.st_atime_ns, st.st_mtime_ns))
        (data / "new.txt").write_bytes(b"not recorded")

        shallow = t.verify()
        assert not shallow.clean
        problems = {(d.name, d.problem) for d in shallow.discrepancies}
        assert ("data/small.txt", "missing") in problems
        assert ("data/odd.bin", "size") in problems
        assert ("data/new.txt", "unrecorded") in problems
        assert not shallow.by_name("data/block.bin"), "size and mtime are unchanged"
        size = shallow.by_name("data/odd.bin")[0]
        assert "1000" in size.expected and "1005" in size.found
        assert isinstance(size, tartape.Discrepancy)

        deep = t.verify(deep=True)
        assert ("data/block.bin", "content") in {(d.name, d.problem) for d in deep.discrepancies}
        assert len(deep.discrepancies) > len(shallow.discrepancies)


def test_damaged_catalogs_raise_corrupt_error(tmp_path: Path, recorded: tartape.Tape) -> None:
    good = Path(recorded.catalog_path or "").read_bytes()
    bad = tmp_path / "bad.tartape"

    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(tartape.CorruptError) as err:
        tartape.open(bad)
    assert err.value.message and err.value.status_name == "CORRUPT"

    for pos in (0, 40, len(good) // 2, len(good) - 1):
        flipped = bytearray(good)
        flipped[pos] ^= 0x20
        bad.write_bytes(bytes(flipped))
        with pytest.raises((tartape.CorruptError, tartape.UnsupportedError)) as err2:
            tartape.open(bad)
        assert err2.value.message, pos
        if pos >= 40:
            assert isinstance(err2.value, tartape.CorruptError), (pos, err2.value)

    # A lazily opened damaged catalog fails its full check (or its first use of the bad chunk).
    flipped = bytearray(good)
    flipped[len(good) - 1] ^= 0x01
    bad.write_bytes(bytes(flipped))
    try:
        t = tartape.open(bad, check=False)
    except tartape.CorruptError:
        return
    with t, pytest.raises(tartape.CorruptError):
        t.check()


def test_open_bytes_is_open_of_the_same_catalog(recorded: tartape.Tape) -> None:
    good = Path(recorded.catalog_path or "").read_bytes()
    with tartape.open_bytes(bytearray(good)) as t:
        assert t.fingerprint == recorded.fingerprint
        assert t.read_at(0, t.total_size) == recorded.read_at(0, recorded.total_size)
        assert t.catalog_path is None
    flipped = bytearray(good)
    flipped[len(good) - 1] ^= 0x01
    with pytest.raises(tartape.CorruptError):
        tartape.open_bytes(bytes(flipped))
    with pytest.raises(tartape.CorruptError, match="truncated"):
        tartape.open_bytes(good[:-1])


def test_read_at_from_eight_threads_over_an_opened_catalog(recorded: tartape.Tape) -> None:
    original = full(recorded)
    with tartape.open(recorded.catalog_path or "") as t:
        errors: List[BaseException] = []
        total = len(original)

        def worker(seed: int) -> None:
            try:
                for i in range(60):
                    off = (seed * 104_729 + i * 7_919 * (seed + 1)) % total
                    n = (i * 4_099 + seed * 13) % 70_000 + 1
                    assert t.read_at(off, n) == original[off : off + n]
                    buf = bytearray(n)
                    got = t.readinto_at(off, buf)
                    assert bytes(buf[:got]) == original[off : off + n]
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors[0]


def test_concurrent_failing_reads_each_get_a_message(tmp_path: Path, recorded: tartape.Tape) -> None:
    with tartape.open(recorded.catalog_path or "") as t:
        (tmp_path / "data" / "small.txt").write_bytes(b"changed!")
        small = t.locate("data/small.txt")
        messages: List[str] = []

        def worker() -> None:
            for _ in range(50):
                try:
                    t.read_at(small.data_offset, 4)
                except tartape.ChangedSourceError as e:
                    messages.append(e.message)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(messages) == 400
        assert all("small.txt" in m for m in messages)


def test_fingerprint_is_stable_across_open_and_changes_with_a_file(
    tmp_path: Path, recorded: tartape.Tape
) -> None:
    fp = recorded.fingerprint
    assert len(fp) == 32 and int(fp, 16) >= 0
    with tartape.open(recorded.catalog_path or "") as t:
        assert t.fingerprint == fp
    again = tartape.record(tmp_path / "data", tmp_path / "again.tartape", checksum=True)
    with again:
        assert again.fingerprint == fp
    (tmp_path / "data" / "odd.bin").write_bytes(content(9, 1000))  # same size, new content and mtime
    with tartape.record(tmp_path / "data", tmp_path / "changed.tartape", checksum=True) as changed:
        assert changed.fingerprint != fp


def test_save_and_open_with_explicit_paths(tmp_path: Path, tape: tartape.Tape) -> None:
    assert tape.catalog_path is None
    tape.save(tmp_path / "built.tartape")
    assert tape.catalog_path == str(tmp_path / "built.tartape")
    with tartape.open(tmp_path / "built.tartape") as t:
        assert full(t) == full(tape)
        assert t.fingerprint == tape.fingerprint
        t.check()


def test_exclude_and_owners(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    (tmp_path / "data" / ".git").mkdir()
    (tmp_path / "data" / ".git" / "HEAD").write_bytes(b"ref")
    (tmp_path / "data" / "sub" / "skip.me").write_bytes(b"x")
    with tartape.record(tmp_path / "data", exclude=[".git", "skip.me"]) as t:
        names = {e.name for e in t.entries}
        assert "data/.git" not in names and "data/sub/skip.me" not in names
        assert "data/sub/big.bin" in names
        assert t.verify().clean, t.verify().discrepancies  # excluded names are not "unrecorded"
        anonymous = members(full(t))
    with tartape.record(tmp_path / "data", tmp_path / "owned.tartape", anonymize=False, exclude=".git") as t:
        owned = members(full(t))
        assert "data/sub/skip.me" in {e.name for e in t.entries}
    assert anonymous["data/odd.bin"].uname == "" and anonymous["data/odd.bin"].uid == 0
    st = (tmp_path / "data" / "odd.bin").stat()
    assert owned["data/odd.bin"].uid == st.st_uid
    assert owned["data/odd.bin"].uname == pwd.getpwuid(st.st_uid).pw_name


def test_memory_entries_of_an_opened_catalog_are_bound_again(tmp_path: Path) -> None:
    small = content(6, 1000)  # kept by the catalog
    big = content(7, 200_000)  # over 64 KiB: bound again
    pushed = content(8, 150_000)  # add_from_memory: fed by the bindings
    called = content(10, 90_000)  # add_read_at: bound again
    with tartape.TapeBuilder() as b:
        b.add_bytes("small.bin", small)
        b.add_from_memory("pushed.bin", len(pushed), lambda: iter([pushed[:5000], pushed[5000:]]))
        b.add_bytes("big.bin", big)
        b.add_read_at("called.bin", len(called), lambda off, n: called[off : off + n])
        built = b.build()
    with built:
        original = full(built)
        built.save(tmp_path / "mem.tartape")

    with tartape.open(tmp_path / "mem.tartape") as t:
        assert t.read_at(t.locate("small.bin").data_offset, 1000) == small
        with pytest.raises(tartape.NotRandomAccessError):
            t.read_at(t.locate("big.bin").data_offset, 10)
        with pytest.raises(tartape.StateError, match="bind"):
            full(t)
        with pytest.raises(tartape.StateError):
            t.bind("small.bin", small)  # not a memory entry
        with pytest.raises(tartape.SizeMismatchError):
            t.bind("big.bin", big[:-1])
        t.bind("big.bin", bytearray(big))
        t.bind(t.locate("pushed.bin").index, pushed)
        t.bind("called.bin", lambda off, n: called[off : off + n])
        assert t.locate("big.bin").random_access and t.locate("called.bin").random_access
        assert not t.locate("pushed.bin").random_access
        assert full(t) == original
        mid = t.locate("pushed.bin").data_offset + 70_000
        assert b"".join(t.play(start_offset=mid)) == original[mid:]
        assert t.read_at(t.locate("big.bin").data_offset, len(big)) == big

    with tartape.open(tmp_path / "mem.tartape") as t:  # a volume opened before a bind sees it
        vol = t.volume(0, 1 << 20)
        t.bind("called.bin", lambda off, n: called[off : off + n])
    with vol:
        loc_called = [m for m in vol.manifest if m.name == "called.bin"][0]
        lo, hi = loc_called.content_range
        assert vol.read_at(lo, hi - lo) == called  # the callback outlived the closed tape

    with tartape.open(tmp_path / "mem.tartape") as t:  # a memory entry fed through read_at
        t.bind("big.bin", big).bind("called.bin", called)
        t.bind("pushed.bin", lambda off, n: pushed[off : off + n])
        assert full(t) == original


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(tartape.SourceIOError):
        tartape.open(tmp_path / "absent.tartape")
    (tmp_path / "empty.tartape").write_bytes(b"")
    with pytest.raises(tartape.CorruptError):
        tartape.open(tmp_path / "empty.tartape")
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.open("a\0b")
