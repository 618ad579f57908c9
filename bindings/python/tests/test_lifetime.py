"""Native handles: close, context managers, the finalizer safety net, use after close, errors."""

from __future__ import annotations

import gc
import pickle
import threading

import pytest

import tartape
from tartape import errors


def make_tape() -> tartape.Tape:
    b = tartape.TapeBuilder()
    b.add_bytes("a.txt", b"hello").add_from_memory("m.bin", 3, b"abc")
    return b.build()


def test_every_use_of_a_closed_tape_raises_closed_error() -> None:
    t = make_tape()
    f = t.as_file()
    it = t.play()
    t.close()
    t.close()  # idempotent
    assert t.closed and repr(t) == "<Tape closed>"
    calls = [
        lambda: t.total_size,
        lambda: t.file_count,
        lambda: t.entries,
        lambda: t.skipped,
        lambda: t.locate("a.txt"),
        lambda: t.entry_at(0),
        lambda: t.read_at(0, 10),
        lambda: t.readinto_at(0, bytearray(10)),
        lambda: t.play(),
        lambda: t.events(),
        lambda: t.as_file(),
        lambda: next(it),
        lambda: f.read(10),
        lambda: len(t),
    ]
    for call in calls:
        with pytest.raises(tartape.ClosedError) as e:
            call()
        assert isinstance(e.value, tartape.StateError) and isinstance(e.value, ValueError)
        assert e.value.status == 12


def test_every_use_of_a_closed_builder_raises() -> None:
    b = tartape.TapeBuilder()
    b.close()
    for call in (
        lambda: b.add_bytes("a", b""),
        lambda: b.add_path("."),
        lambda: b.add_from_memory("a", 1, b"a"),
        lambda: b.add_read_at("a", 1, lambda o, n: b"a"),
        lambda: b.add_directory("d"),
        lambda: b.add_symlink("l", "t"),
        lambda: setattr(b, "md5", False),
        lambda: setattr(b, "strict", True),
        lambda: b.build(),
    ):
        with pytest.raises(tartape.StateError):
            call()


def test_context_managers_free_the_handles() -> None:
    with tartape.TapeBuilder() as b:
        b.add_bytes("a", b"1")
    assert b.closed
    with make_tape() as t:
        assert t.read_at(512, 5) == b"hello"
    assert t.closed


def test_a_forgotten_tape_or_builder_is_freed_by_its_finalizer() -> None:
    t = make_tape()
    b = tartape.TapeBuilder()
    finalizers = [t._finalizer, b._finalizer]
    handles = [t._handle, b._handle]
    assert all(f.alive for f in finalizers)
    del t, b
    gc.collect()
    assert not any(f.alive for f in finalizers)
    assert all(h.closed for h in handles)


def test_close_waits_for_a_read_running_in_another_thread() -> None:
    data = bytes(range(256)) * 40_000
    started = threading.Event()
    release = threading.Event()

    def slow(offset: int, n: int) -> bytes:
        started.set()
        release.wait(5)
        return data[offset : offset + n]

    b = tartape.TapeBuilder()
    t = b.add_read_at("slow.bin", len(data), slow).build()
    result = []
    reader = threading.Thread(target=lambda: result.append(t.read_at(512, 100)))
    reader.start()
    assert started.wait(5)
    closer = threading.Thread(target=t.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # close waits: the handle is in use
    release.set()
    reader.join(5)
    closer.join(5)
    assert result == [data[:100]] and t.closed


def test_error_classes_map_every_status_and_carry_code_and_message() -> None:
    expected = {
        10: tartape.InvalidArgumentError,
        11: tartape.InvalidNameError,
        12: tartape.StateError,
        13: tartape.NotFoundError,
        14: tartape.UnsupportedError,
        15: tartape.NotRandomAccessError,
        30: tartape.SourceIOError,
        31: tartape.ChangedSourceError,
        32: tartape.SizeMismatchError,
        33: tartape.CorruptError,
        34: tartape.LimitError,
        35: tartape.CallbackError,
        99: tartape.PanicError,
    }
    for status, cls in expected.items():
        e = errors.error_for_status(status, "what went wrong")
        assert type(e) is cls and isinstance(e, tartape.TarTapeError)
        assert e.status == status and e.message == str(e) == "what went wrong"
        assert e.status_name == tartape._lib.status_name(status) != "UNKNOWN"
        assert e.fatal == (status >= 30)
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is cls and again.status == status and again.message == e.message
    unknown = errors.error_for_status(77, "")
    assert type(unknown) is tartape.TarTapeError and unknown.status == 77 and unknown.message
    io_error = tartape.SourceIOError("disk", 30)
    assert isinstance(io_error, OSError) and str(io_error) == "disk"


def test_the_messages_of_native_errors_come_from_the_handle() -> None:
    with tartape.TapeBuilder() as b:
        with pytest.raises(tartape.InvalidNameError) as e:
            b.add_bytes("../up", b"")
        assert "'..'" in e.value.message and "../up" in e.value.message


def test_closing_while_threads_read_and_stream_raises_in_them_and_never_crashes() -> None:
    b = tartape.TapeBuilder()
    b.add_bytes("big.bin", bytes(3_000_000))
    t = b.build()
    outcomes: list = []
    go = threading.Barrier(7)

    def reader() -> None:
        go.wait()
        try:
            while True:
                t.read_at(1000, 200_000)
        except tartape.ClosedError:
            outcomes.append("closed")

    def streamer() -> None:
        go.wait()
        try:
            while True:
                for _ in t.play(chunk_size=4096):
                    pass
        except tartape.ClosedError:
            outcomes.append("closed")

    threads = [threading.Thread(target=reader) for _ in range(5)] + [threading.Thread(target=streamer)]
    for th in threads:
        th.start()
    go.wait()
    threading.Event().wait(0.2)
    t.close()
    for th in threads:
        th.join(10)
    assert outcomes == ["closed"] * 6


def test_interpreter_exit_with_a_daemon_thread_inside_a_call_does_not_hang() -> None:
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import threading, time, tartape
        entered = threading.Event()
        def stuck(offset, n):
            entered.set()
            time.sleep(60)
            return bytes(n)
        b = tartape.TapeBuilder()
        tape = b.add_read_at("stuck.bin", 10, stuck).build()
        threading.Thread(target=lambda: tape.read_at(512, 10), daemon=True).start()
        entered.wait(10)
        forgotten = tartape.TapeBuilder().add_bytes("x", b"1").build()  # freed at exit
        print("exiting", flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "exiting"


def test_functions_missing_from_the_library_raise_unsupported() -> None:
    with pytest.raises(tartape.UnsupportedError, match="tt_catalog_open"):
        tartape._lib.function("tt_catalog_open")
    assert tartape._lib.function("tt_version") is tartape._lib.LIB.tt_version
