"""Building tapes: every kind of entry, options, names, and what Python's tarfile reads back."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

import tartape
from tartape import EntryKind

from conftest import content, full, members


def test_tarfile_reads_play_output_with_contents_intact(tape: tartape.Tape, tree: dict) -> None:
    archive = full(tape)
    assert len(archive) == tape.total_size
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        for name, data in tree.items():
            assert tf.extractfile(name).read() == data, name  # type: ignore[union-attr]
        assert tf.extractfile("extra/bytes.bin").read() == content(5, 3000)  # type: ignore[union-attr]
        link = tf.getmember("data/link")
        assert link.issym() and link.linkname == "small.txt"
        assert tf.getmember("extra/link").linkname == "bytes.bin"
        assert tf.getmember("extra/dir").isdir()
        assert tf.getmember("data/sub/deeper").isdir()
        assert tf.getmember("extra/bytes.bin").mode == 0o600
        assert tf.getmember("extra/bytes.bin").mtime == 1_600_000_000
        assert tf.getmember("data/small.txt").mtime == 1_700_000_000


def test_entries_list_every_entry_with_offsets_in_archive_order(tape: tartape.Tape) -> None:
    entries = tape.entries
    assert tape.file_count == len(entries) == len(tape)
    names = [e.name for e in entries]
    assert names[0] == "data"
    # Each directory comes before its contents, names sorted byte-wise inside a directory.
    assert names.index("data/sub") < names.index("data/sub/big.bin")
    assert names[-3:] == ["extra/bytes.bin", "extra/dir", "extra/link"]
    offset = 0
    for i, e in enumerate(entries):
        assert e.index == i and e.header_offset == offset
        assert e.data_offset > e.header_offset and e.data_offset % 512 == 0
        assert e.end_offset - e.data_offset == -(-e.size // 512) * 512
        offset = e.end_offset
    assert tape.total_size == offset + 1024
    big = tape.locate("data/sub/big.bin")
    assert big.kind is EntryKind.FILE and big.size == 1_300_000 and big.is_file
    assert big.name_bytes == b"data/sub/big.bin" and big.random_access
    assert tape.locate(b"data/link").link == "small.txt"
    assert tape.locate("./data//sub/").is_dir
    with pytest.raises(tartape.NotFoundError) as e:
        tape.locate("nope")
    assert isinstance(e.value, LookupError)


def test_entry_at_finds_the_entry_holding_an_offset(tape: tartape.Tape) -> None:
    for e in tape.entries:
        assert tape.entry_at(e.header_offset) == e
        assert tape.entry_at(e.end_offset - 1) in (e, tape.entry_at(e.end_offset - 1))
    big = tape.locate("data/sub/big.bin")
    assert tape.entry_at(big.data_offset + 12345) == big
    assert tape.entry_at(tape.total_size - 1) is None
    assert tape.entry_at(tape.total_size + 10) is None


def test_names_in_tapes_are_bytes_and_non_utf8_names_survive(tmp_path: Path) -> None:
    raw = b"caf\xe9.txt"
    with tartape.TapeBuilder() as b:
        b.add_bytes(raw, b"x")
        b.add_bytes("ünïcode/ok.txt", b"y")
        t = b.build()
    with t:
        assert t.entries[0].name_bytes == raw
        assert t.locate(t.entries[0].name) == t.entries[0]  # surrogateescape round trip
        assert t.locate("ünïcode/ok.txt").name_bytes == "ünïcode/ok.txt".encode()


def test_add_path_with_a_name_renames_the_root(tmp_path: Path, tree: dict) -> None:
    with tartape.TapeBuilder() as b:
        b.add_path(tmp_path / "data" / "small.txt", name="renamed/s.txt")
        b.add_path(str(tmp_path / "data" / "sub"), name=b"other")
        t = b.build()
    with t:
        got = members(full(t))
        assert "renamed/s.txt" in got and "other/big.bin" in got and "other/deeper/z.bin" in got


@pytest.mark.parametrize("bad", ["/abs", "a/../b", "", "a\0b", ".", "//"])
def test_bad_names_raise_invalid_name(bad: str) -> None:
    with tartape.TapeBuilder() as b:
        with pytest.raises(tartape.InvalidNameError) as e:
            b.add_bytes(bad, b"x")
        assert e.value.status == 11 and e.value.status_name == "INVALID_NAME"
        assert isinstance(e.value, ValueError) and e.value.message


def test_duplicate_names_fail_at_build_and_leave_the_builder_open() -> None:
    b = tartape.TapeBuilder()
    b.add_bytes("a", b"1").add_bytes("./a", b"2")
    with pytest.raises(tartape.InvalidNameError, match="added twice"):
        b.build()
    assert not b.closed
    b.close()
    assert b.closed


def test_missing_path_is_a_source_io_error_and_adds_nothing(tmp_path: Path) -> None:
    with tartape.TapeBuilder() as b:
        with pytest.raises(tartape.SourceIOError) as e:
            b.add_path(tmp_path / "absent")
        assert isinstance(e.value, OSError) and e.value.status == 30
        assert "absent" in str(e.value)
        b.add_bytes("x", b"")
        t = b.build()
    with t:
        assert [e.name for e in t.entries] == ["x"]


def test_out_of_range_arguments_are_refused_before_reaching_c() -> None:
    with tartape.TapeBuilder() as b:
        with pytest.raises(tartape.InvalidArgumentError):
            b.add_bytes("a", b"", mode=-1)
        with pytest.raises(tartape.InvalidArgumentError):
            b.add_bytes("a", b"", mode=0o17777)  # refused by the engine: bits beyond 07777
        with pytest.raises(tartape.InvalidArgumentError):
            b.add_from_memory("a", -5, b"")
        with pytest.raises(tartape.InvalidArgumentError):
            b.add_bytes("a", b"", mtime=1 << 70)
        with pytest.raises(tartape.InvalidArgumentError):
            b.add_path("with\0nul")
        with pytest.raises(TypeError):
            b.add_bytes("a", "not bytes")
        b.add_bytes("float-mtime", b"", mtime=1_700_000_000.9)
        t = b.build()
    with t:
        assert t.entries[0].mtime == 1_700_000_000


def test_buffers_of_every_kind_are_accepted_as_content() -> None:
    import array

    with tartape.TapeBuilder() as b:
        b.add_bytes("ba", bytearray(b"bytearray"))
        b.add_bytes("mv", memoryview(b"memoryview")[2:])
        b.add_bytes("arr", array.array("H", [1, 2, 3]))
        t = b.build()
    with t:
        got = {}
        with tarfile.open(fileobj=io.BytesIO(full(t))) as tf:
            for m in tf.getmembers():
                got[m.name] = tf.extractfile(m).read()  # type: ignore[union-attr]
    assert got == {"ba": b"bytearray", "mv": b"moryview", "arr": array.array("H", [1, 2, 3]).tobytes()}


def test_owners_are_anonymous_unless_kept(tmp_path: Path, tree: dict) -> None:
    def first_member(keep: bool) -> tarfile.TarInfo:
        with tartape.TapeBuilder(keep_owners=keep) as b:
            b.add_path(tmp_path / "data" / "small.txt")
            with b.build() as t:
                return members(full(t))["small.txt"]

    anon = first_member(False)
    assert (anon.uid, anon.gid, anon.uname, anon.gname) == (0, 0, "", "")
    kept = first_member(True)
    st = os.stat(tmp_path / "data" / "small.txt")
    assert (kept.uid, kept.gid) == (st.st_uid, st.st_gid)


def test_special_files_are_skipped_and_listed_or_refused_when_strict(tmp_path: Path) -> None:
    d = tmp_path / "withfifo"
    d.mkdir()
    (d / "f.txt").write_bytes(b"f")
    os.mkfifo(d / "pipe")
    with tartape.TapeBuilder() as b:
        b.add_path(d)
        with b.build() as t:
            assert [e.name for e in t.entries] == ["withfifo", "withfifo/f.txt"]
            assert t.skipped == [tartape.Skipped(path=str(d / "pipe"), kind="fifo")]
    with tartape.TapeBuilder(strict=True) as b:
        assert b.strict and not b.keep_owners
        with pytest.raises(tartape.UnsupportedError):
            b.add_path(d)


def test_md5_option_controls_file_end_hashes(tmp_path: Path) -> None:
    for md5 in (True, False):
        with tartape.TapeBuilder(md5=md5) as b:
            b.add_bytes("a", b"abc")
            with b.build() as t:
                ends = []
                list(t.play(on_event=lambda e: ends.append(e) if isinstance(e, tartape.FileEnd) else None))
        assert ends[0].md5 == ("900150983cd24fb0d6963f7d28e17f72" if md5 else None)


def test_adding_after_build_raises_state_error() -> None:
    b = tartape.TapeBuilder()
    t = b.add_bytes("a", b"x").build()
    with t:
        assert b.closed
        with pytest.raises(tartape.StateError):
            b.add_bytes("b", b"y")
        with pytest.raises(tartape.StateError):
            b.build()
        b.close()  # no effect on the tape
        assert t.read_at(0, 1) == b"a"


def test_read_at_callback_entries_are_random_access_and_errors_are_chained() -> None:
    data = content(9, 70_000)
    calls = []

    def read(offset: int, length: int) -> bytes:
        calls.append(offset)
        return data[offset : offset + length]

    def broken(offset: int, length: int) -> bytes:
        raise RuntimeError("backend down")

    with tartape.TapeBuilder() as b:
        b.add_read_at("cb.bin", len(data), read, mode=0o640)
        b.add_read_at("broken.bin", 10, broken)
        t = b.build()
    with t:
        e = t.locate("cb.bin")
        assert e.random_access
        assert t.read_at(e.data_offset + 1000, 5000) == data[1000:6000]
        assert calls
        with pytest.raises(tartape.TarTapeError) as err:
            b"".join(t.play())
        assert isinstance(err.value.__cause__, RuntimeError)


def test_align_puts_every_files_content_at_the_alignment(tmp_path: Path, tree: dict) -> None:
    import io
    import tarfile

    with tartape.TapeBuilder(align=4096) as b:
        b.add_path(tmp_path / "data")
        tape = b.build()
    with tape:
        archive = tape.read_at(0, tape.total_size)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        for m in tf.getmembers():
            if m.isfile() and m.size:
                assert m.offset_data % 4096 == 0, m.name
                assert tf.extractfile(m).read() == tree[m.name]
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.TapeBuilder(align=1000)


def test_copy_into_writes_the_archive_with_content_copied_in_the_kernel(
    tmp_path: Path, tape: tartape.Tape
) -> None:
    want = tape.read_at(0, tape.total_size)
    out = tmp_path / "copied.tar"
    with open(out, "wb") as f:
        copied = tape.copy_into(f)
    assert out.read_bytes() == want
    assert copied <= tape.total_size
    with tartape.TapeBuilder(format="zip") as b:
        b.add_bytes("x", b"x")
        z = b.build()
    with z, open(tmp_path / "z", "wb") as f, pytest.raises(tartape.InvalidArgumentError):
        z.copy_into(f.fileno())


def test_stream_paths_writes_the_built_tapes_bytes_while_walking(tmp_path: Path, tree: dict) -> None:
    root = tmp_path / "data"
    for i in range(2100):  # more than a batch of the walk (1,024 entries)
        (root / "many" / f"f{i:04}").parent.mkdir(parents=True, exist_ok=True)
        (root / "many" / f"f{i:04}").write_bytes(content(i, i % 700))
    with tartape.TapeBuilder() as builder:
        builder.add_path(root)
        want = full(builder.build())
    out = tmp_path / "walked.tar"
    with tartape.TapeBuilder() as builder, open(out, "wb") as f:
        assert builder.stream_paths([root], f) == len(want)
        # The builder gave options only: it still takes entries and builds.
        builder.add_bytes("x", b"y")
        assert len(builder.build()) == 1
    assert out.read_bytes() == want
    r, w = os.pipe()
    with tartape.TapeBuilder() as builder:
        assert builder.stream_paths([], w) == 1024
    os.close(w)
    assert os.read(r, 2048) == bytes(1024)
    os.close(r)
    with open(os.devnull, "wb") as null:
        with tartape.TapeBuilder() as builder:
            builder.add_bytes("held", b"z")
            with pytest.raises(tartape.StateError):
                builder.stream_paths([root], null)
        with tartape.TapeBuilder(format="zip") as builder:
            with pytest.raises(tartape.InvalidArgumentError, match="ZIP"):
                builder.stream_paths([root], null)
