"""Streaming: events, chunking, byte-exact resume, and a source that changes under the tape."""

from __future__ import annotations

import hashlib
import os
import random
import tarfile
from pathlib import Path

import pytest

import tartape
from tartape import Data, FileEnd, FileStart, TapeCompleted

from conftest import content, full


def test_events_come_in_order_and_data_tiles_the_archive(tape: tartape.Tape, tree: dict) -> None:
    events = list(tape.events())
    assert isinstance(events[-1], TapeCompleted) and events[-1].total_size == tape.total_size
    offset = 0
    open_index = None
    for ev in events:
        if isinstance(ev, FileStart):
            assert open_index is None and ev.header_offset == offset and not ev.resumed
            open_index = ev.index
        elif isinstance(ev, Data):
            assert ev.offset == offset and len(ev.data) <= 1 << 20
            assert ev.index == open_index  # None for the trailer
            offset += len(ev.data)
        elif isinstance(ev, FileEnd):
            assert ev.index == open_index and ev.end_offset == offset
            open_index = None
    assert offset == tape.total_size
    assert [e.type for e in events[:3]] == ["file_start", "file_data", "file_end"]


def test_file_end_carries_the_md5_of_the_content(tape: tartape.Tape, tree: dict) -> None:
    ends = {}
    starts = []

    def on_event(ev: tartape.Event) -> None:
        if isinstance(ev, FileEnd):
            ends[ev.name] = ev
        elif isinstance(ev, FileStart):
            starts.append(ev.name)
        assert not isinstance(ev, Data)

    b"".join(tape.play(on_event=on_event))
    for name, data in tree.items():
        assert ends[name].md5 == hashlib.md5(data).hexdigest() == ends[name].md5sum
    assert ends["extra/bytes.bin"].md5 == hashlib.md5(content(5, 3000)).hexdigest()
    assert starts == [e.name for e in tape.entries]


def test_play_with_chunk_size_gives_equal_chunks_of_the_same_stream(tape: tartape.Tape) -> None:
    whole = full(tape)
    for size in (1, 511, 4096, 65536, 1 << 20, 3_000_001):
        if size == 1:
            chunks = list(tape.play(start_offset=len(whole) - 3000, chunk_size=size))
            assert b"".join(chunks) == whole[-3000:]
        else:
            chunks = list(tape.play(chunk_size=size))
            assert b"".join(chunks) == whole
        assert all(len(c) == size for c in chunks[:-1]) and 0 < len(chunks[-1]) <= size
    with pytest.raises(tartape.InvalidArgumentError):
        tape.play(chunk_size=0)


def test_resume_at_many_offsets_matches_the_suffix_of_the_full_stream(tape: tartape.Tape) -> None:
    whole = full(tape)
    rng = random.Random(7)
    offsets = {0, 1, 511, 512, 513, len(whole) - 1024, len(whole) - 1, len(whole)}
    for e in tape.entries:
        offsets |= {e.header_offset, e.header_offset + 1, e.data_offset, e.data_offset + 100, e.end_offset - 1}
    offsets |= {rng.randrange(len(whole)) for _ in range(40)}
    for n in sorted(o for o in offsets if 0 <= o <= len(whole)):
        assert b"".join(tape.play(start_offset=n)) == whole[n:], n


def test_resumed_stream_marks_the_entry_it_starts_inside(tape: tartape.Tape) -> None:
    big = tape.locate("data/sub/big.bin")
    events = list(tape.events(big.data_offset + 10))
    first = events[0]
    assert isinstance(first, FileStart) and first.resumed and first.index == big.index
    end = next(e for e in events if isinstance(e, FileEnd))
    assert end.md5 is None  # the whole content did not pass through this stream
    with pytest.raises(tartape.InvalidArgumentError):
        tape.play(start_offset=tape.total_size + 1)


def test_a_file_grown_after_build_stops_play_with_changed_source_error(tmp_path: Path) -> None:
    path = tmp_path / "growing.log"
    path.write_bytes(b"x" * 5000)
    with tartape.TapeBuilder() as b:
        b.add_bytes("before.txt", b"before")
        b.add_path(path)
        t = b.build()
    with t:
        with open(path, "ab") as f:
            f.write(b"more")
        got = []
        with pytest.raises(tartape.ChangedSourceError) as e:
            for chunk in t.play():
                got.append(chunk)
        assert e.value.status == 31 and e.value.fatal and "growing.log" in str(e.value)
        assert len(b"".join(got)) <= t.locate("growing.log").data_offset
        with pytest.raises(tartape.ChangedSourceError):
            t.read_at(t.locate("growing.log").data_offset, 10)
        # The bytes before the changed file are still readable, and a new play starts fresh.
        assert t.read_at(512, 6) == b"before"
        with pytest.raises(tartape.ChangedSourceError):
            b"".join(t.play())


def test_a_file_removed_after_build_is_a_changed_source(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    path.write_bytes(b"soon gone")
    with tartape.TapeBuilder() as b:
        t = b.add_path(path).build()
    with t:
        os.unlink(path)
        with pytest.raises(tartape.ChangedSourceError):
            b"".join(t.play())


def test_starting_a_new_stream_ends_the_previous_iterator(tape: tartape.Tape) -> None:
    first = tape.play(chunk_size=512)
    next(first)
    second = tape.play()
    with pytest.raises(tartape.StateError, match="another stream"):
        next(first)
    assert b"".join(second) == tape.read_at(0, tape.total_size)


def test_an_exception_in_on_event_propagates_and_the_tape_plays_again(tape: tartape.Tape) -> None:
    def boom(ev: tartape.Event) -> None:
        raise KeyError("stop")

    with pytest.raises(KeyError):
        b"".join(tape.play(on_event=boom))
    assert len(full(tape)) == tape.total_size


def test_an_empty_tape_is_just_the_trailer() -> None:
    with tartape.TapeBuilder().build() as t:
        assert t.total_size == 1024 and t.entries == [] and t.file_count == 0
        assert full(t) == bytes(1024)
        assert [type(e) for e in t.events()] == [Data, TapeCompleted]


def test_chunks_read_into_lent_bytes_stay_intact(tmp_path: Path) -> None:
    # Large contents are read straight into fresh bytes objects (tt_next_event_into): every chunk
    # kept from play() and events() must still hold its bytes after the stream has moved on.
    root = tmp_path / "big"
    root.mkdir()
    blobs = {f"big/f{i}": content(10 + i, size) for i, size in enumerate([3_000_001, 524_288, 700_000])}
    for name, data in blobs.items():
        (tmp_path / name).write_bytes(data)
    b = tartape.TapeBuilder()
    b.add_path(root)
    tape = b.build()
    whole = tape.read_at(0, tape.total_size)
    chunks = list(tape.play())
    assert all(type(c) is bytes for c in chunks)
    assert b"".join(chunks) == whole
    assert any(len(c) == 512 << 10 for c in chunks)  # full lent chunks, handed out as they are
    data = [ev for ev in tape.events() if isinstance(ev, Data)]
    assert b"".join(ev.data for ev in data) == whole
    assert all(whole[ev.offset : ev.offset + len(ev.data)] == ev.data for ev in data)
    resumed = b"".join(tape.play(start_offset=777_777))
    assert resumed == whole[777_777:]
    # Hashing the chunks (a cached hash) and keeping them across the stream changes nothing.
    seen = {c: i for i, c in enumerate(tape.play(chunk_size=100_000))}
    assert len(seen) > 10


class _Trickle:
    """A raw writer that takes at most ``step`` bytes per call (as a pipe or socket may)."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.out = bytearray()

    def write(self, b: memoryview) -> int:
        taken = bytes(b[: self.step])
        self.out += taken
        return len(taken)


def test_write_to_writes_the_same_bytes_as_play_from_any_offset(tape: tartape.Tape) -> None:
    import io

    whole = full(tape)
    for size in (1 << 20, 4096, 1000, 1):
        sink = io.BytesIO()
        assert tape.write_to(sink, buffer_size=size) == len(whole)
        assert sink.getvalue() == whole, size
    e = tape.entries[-1]
    for n in (0, 1, 511, e.header_offset, e.data_offset + 1, len(whole) - 1, len(whole)):
        sink = io.BytesIO()
        assert tape.write_to(sink, start_offset=n) == len(whole) - n
        assert sink.getvalue() == whole[n:], n
    trickle = _Trickle(777)
    assert tape.write_to(trickle, buffer_size=5000) == len(whole) and trickle.out == whole
    with pytest.raises(tartape.InvalidArgumentError):
        tape.write_to(io.BytesIO(), buffer_size=0)
    with pytest.raises(tartape.InvalidArgumentError):
        tape.write_to(io.BytesIO(), start_offset=len(whole) + 1)


def test_write_to_feeds_memory_entries_and_checks_their_size() -> None:
    import io

    data = content(9, 300_000)
    with tartape.TapeBuilder() as b:
        b.add_bytes("pre.txt", b"pre")
        b.add_from_memory("m.bin", len(data), lambda: (data[i : i + 7777] for i in range(0, len(data), 7777)))
        b.add_from_memory("n.bin", 3, b"abc")
        with b.build() as t:
            sink = io.BytesIO()
            assert t.write_to(sink, buffer_size=64 << 10) == t.total_size
            assert sink.getvalue() == full(t)
    # Python's tarfile reads what write_to wrote.
    with tarfile.open(fileobj=io.BytesIO(sink.getvalue())) as tf:
        assert tf.getnames() == ["pre.txt", "m.bin", "n.bin"]
        assert tf.extractfile("m.bin").read() == data and tf.extractfile("n.bin").read() == b"abc"
    with tartape.TapeBuilder() as b:
        b.add_from_memory("extra.bin", 100, [b"x" * 100, b"", b"more"])
        with b.build() as t:
            with pytest.raises(tartape.SizeMismatchError, match="more"):
                t.write_to(io.BytesIO())
    with tartape.TapeBuilder() as b:
        b.add_from_memory("short.bin", 100, [b"x" * 60])
        with b.build() as t:
            with pytest.raises(tartape.SizeMismatchError, match="short.bin"):
                t.write_to(io.BytesIO())


def test_write_to_stops_at_a_changed_source_after_writing_what_came_before(tmp_path: Path) -> None:
    import io

    path = tmp_path / "growing.log"
    path.write_bytes(b"x" * 5000)
    with tartape.TapeBuilder() as b:
        b.add_bytes("before.txt", b"before" * 1000)
        b.add_path(path)
        t = b.build()
    with t:
        with open(path, "ab") as f:
            f.write(b"more")
        sink = io.BytesIO()
        with pytest.raises(tartape.ChangedSourceError, match="growing.log"):
            t.write_to(sink, buffer_size=4096)
        got = sink.getvalue()
        assert 0 < len(got) <= t.locate("growing.log").data_offset
        assert got == t.read_at(0, len(got))


def test_starting_another_stream_ends_a_write_to(tape: tartape.Tape) -> None:
    class Interrupting:
        def __init__(self) -> None:
            self.calls = 0

        def write(self, b: memoryview) -> int:
            self.calls += 1
            if self.calls == 1:
                tape.play()  # starts the tape's stream anew
            return len(b)

    with pytest.raises(tartape.StateError, match="another stream"):
        tape.write_to(Interrupting(), buffer_size=4096)
