"""The Python examples of the documents this project grew from (/work/shared/seeds), run as they
are written against this package: python-libarchive-c's file_writer (000), the TarTape 1.x README
(001) and TarTape 2.3.3's (002). Each example's code is copied unchanged between the
``# --- seed`` and ``# --- end`` lines; only the upload calls (``requests``, S3, a socket) are
local stand-ins, defined before it, and the paths are the seed's own, relative to a temporary
working directory. Every archive is then read back by Python's tarfile/zipfile and GNU tar.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, List

import pytest

import tartape

GNU_TAR = shutil.which("tar")


def make_tree(root: Path) -> Dict[str, bytes]:
    """A small tree with a file larger than one chunk; returns name -> content."""
    files = {
        "a.txt": b"hello\n",
        "sub/b.txt": b"foo\nbar\nbaz\n",
        "sub/big.bin": bytes(range(256)) * 1200,  # 307,200 bytes
        "empty.txt": b"",
    }
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return {f"{root.name}/{k}": v for k, v in files.items()}


def tar_members(data: bytes) -> Dict[str, bytes]:
    """Every regular file of a TAR archive read by Python's tarfile."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        for m in tf.getmembers():
            if m.isfile():
                f = tf.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
    return out


def gnu_tar_lists(path: Path) -> List[str]:
    """The names GNU tar lists (skips when GNU tar is absent)."""
    if GNU_TAR is None:
        pytest.skip("GNU tar not installed")
    out = subprocess.run([GNU_TAR, "tf", str(path)], check=True, capture_output=True, text=True)
    return [line.rstrip("/") for line in out.stdout.splitlines()]


def assert_archive(path: Path, expected: Dict[str, bytes]) -> None:
    data = path.read_bytes()
    assert tar_members(data) == expected
    listed = gnu_tar_lists(path)
    for name in expected:
        assert name in listed


# --- python-libarchive-c (000) --------------------------------------------------------------


class FakeResponse:
    """Stands in for ``requests.get(url, stream=True)``: headers and iter_content."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers = {"Content-Length": str(len(body))}

    def iter_content(self, chunk_size: int = 1) -> Iterable[bytes]:
        for i in range(0, len(self.body), chunk_size):
            yield self.body[i : i + chunk_size]


class FakeRequests:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.puts: Dict[str, bytes] = {}

    def get(self, url: str, stream: bool = False) -> FakeResponse:
        assert stream
        return FakeResponse(self.body)

    def put(self, url: str, data: Any) -> None:
        """Consumes a body as requests does: bytes, a file, or an iterable of chunks."""
        if hasattr(data, "read"):
            self.puts[url] = data.read()
        else:
            self.puts[url] = b"".join(data)


SEED_000 = """
import requests
import tartape as libarchive

def create_archive_from_memory_file():
    response = requests.get('link', stream=True)

    with libarchive.file_writer('archive.zip', 'zip') as archive:
        archive.add_file_from_memory(
            entry_path='filename',
            entry_size=int(response.headers['Content-Length']),
            entry_data=response.iter_content(chunk_size=1024)
        )

if __name__ == '__main__':
    create_archive_from_memory_file()
"""


def test_seed_000_libarchive_file_writer_from_memory(tmp_path: Path, monkeypatch: Any) -> None:
    """The post's example.py, run as a script (``__name__ == "__main__"``), with one import
    changed (``import libarchive`` -> ``import tartape as libarchive``) and ``requests`` a local
    stand-in module answering ``get(url, stream=True)``."""
    monkeypatch.chdir(tmp_path)
    body = os.urandom(10_000) + b"end"
    monkeypatch.setitem(sys.modules, "requests", FakeRequests(body))
    exec(compile(SEED_000, "example.py", "exec"), {"__name__": "__main__"})

    with zipfile.ZipFile(tmp_path / "archive.zip") as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["filename"]
        assert zf.read("filename") == body
    unzip = shutil.which("unzip")
    if unzip:
        subprocess.run([unzip, "-tq", str(tmp_path / "archive.zip")], check=True, capture_output=True)


def test_file_writer_refuses_content_of_the_wrong_size_and_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "archive.tar"
    with pytest.raises(tartape.SizeMismatchError):
        with tartape.file_writer(target, "pax") as archive:
            archive.add_file_from_memory("short", 10, [b"12345"])
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(tartape.UnsupportedError):
        with tartape.file_writer(target, "cpio"):
            pass
    with pytest.raises(TypeError):
        with tartape.file_writer(target, "ustar") as archive:
            archive.add_file_from_memory("text", 4, "text")
    with pytest.raises(tartape.UnsupportedError, match="uid"):
        with tartape.file_writer(target, "ustar") as archive:
            archive.add_file_from_memory("owned", 1, b"x", uid=1000)
    with pytest.raises(tartape.UnsupportedError):
        with tartape.file_writer(target, "zip", "gzip"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_file_writer_tar_gzip_and_files_from_disk(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    expected = make_tree(tmp_path / "tree")
    with tartape.file_writer("out.tar.gz", "gnutar", "gzip") as archive:
        archive.add_files("tree")
        archive.add_file_from_memory("notes/n.txt", 3, b"abc", permission=0o600, mtime=1_700_000_000)
    with tarfile.open(tmp_path / "out.tar.gz", "r:gz") as tf:
        got = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]
        n = tf.getmember("notes/n.txt")
        assert (n.mode, n.mtime) == (0o600, 1_700_000_000)
    assert got == dict(expected, **{"notes/n.txt": b"abc"})
    first = (tmp_path / "out.tar.gz").read_bytes()
    with tartape.file_writer("out.tar.gz", "gnutar", "gzip") as archive:  # again: the same bytes
        archive.add_files("tree")
        archive.add_file_from_memory("notes/n.txt", 3, b"abc", permission=0o600, mtime=1_700_000_000)
    assert (tmp_path / "out.tar.gz").read_bytes() == first


# --- TarTape 1.x (001) ----------------------------------------------------------------------


def test_seed_001_basic_usage_writes_backup_tar(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    expected = make_tree(tmp_path / "my_data")

    # --- seed 001_ca2d4cdefdcd0ee1.txt, "Basic Usage"
    from tartape import TarTape, TarEventType

    tape = TarTape()
    tape.add_folder("./my_data")

    with open("backup.tar", "wb") as f:
        for event in tape.stream():
            if event.type == TarEventType.FILE_DATA:
                f.write(event.data)
    # --- end

    assert_archive(tmp_path / "backup.tar", expected)
    assert (tmp_path / "backup.tar").stat().st_size == tape.tape.total_size


def test_seed_001_monitoring_reports_every_entry_with_md5(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var/log/app").mkdir(parents=True)
    logs = {"var/log/app/app.log": b"line 1\nline 2\n", "var/log/app/old/app.1.log": b"x" * 5000}
    for name, data in logs.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)

    # --- seed 001_ca2d4cdefdcd0ee1.txt, "Streaming with Monitoring and Control" (path made relative)
    from tartape import TarTape, TarEventType

    tape = TarTape()
    tape.add_folder("var/log/app")

    for event in tape.stream():
        if event.type == TarEventType.FILE_START:
            # Emitted before processing a file
            print(f"Archiving: {event.entry.arc_path} ({event.entry.size} bytes)")

        elif event.type == TarEventType.FILE_DATA:
            # Raw TAR bytes (headers, content, and padding)
            # These can be sent directly to a network socket or a bucket
            pass

        elif event.type == TarEventType.FILE_END:
            # Emitted when a file is finished
            # Includes metadata like the MD5 hash calculated during the read
            print(f"File completed. MD5: {event.metadata.md5sum}")

        elif event.type == TarEventType.TAPE_COMPLETED:
            print("TAR archive completed successfully.")
    # --- end

    out = capsys.readouterr().out.splitlines()
    assert "Archiving: app/app.log (14 bytes)" in out
    assert "Archiving: app/old/app.1.log (5000 bytes)" in out
    assert f"File completed. MD5: {hashlib.md5(logs['var/log/app/app.log']).hexdigest()}" in out
    assert f"File completed. MD5: {hashlib.md5(b'x' * 5000).hexdigest()}" in out
    assert out[-1] == "TAR archive completed successfully."
    # the events are the archive: their bytes joined are what tarfile reads
    whole = b"".join(tape.stream())
    assert tar_members(whole) == {"app/app.log": logs["var/log/app/app.log"], "app/old/app.1.log": b"x" * 5000}


def test_v1_stream_of_a_changed_file_raises_integrity_error(tmp_path: Path) -> None:
    make_tree(tmp_path / "d")
    tape = tartape.TarTape()
    tape.add_folder(tmp_path / "d")
    events = iter(tape.stream())
    next(events)  # the stream has started: the layout is sealed
    (tmp_path / "d/sub/big.bin").write_bytes(b"shorter")
    with pytest.raises(tartape.TarIntegrityError):
        for _ in events:
            pass


# --- TarTape 2.3.3 (002) ----------------------------------------------------------------------


class Uploads:
    """Stand-ins for ``upload_to_s3`` and ``socket.send``: they keep what they were given."""

    def __init__(self) -> None:
        self.objects: Dict[str, bytes] = {}
        self.sent = bytearray()

    def upload_to_s3(self, key: str, body: Any) -> None:
        assert key not in self.objects
        self.objects[key] = body.read()

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)


HUGE = 48 << 20  # a sparse file, so that the seed's resume offset (45,678,912) lies inside the tape


@pytest.fixture
def dataset(tmp_path: Path, monkeypatch: Any) -> Dict[str, bytes]:
    monkeypatch.chdir(tmp_path)
    return make_tree(tmp_path / "massive_dataset")


@pytest.fixture
def massive(dataset: Dict[str, bytes], tmp_path: Path) -> Dict[str, bytes]:
    """The dataset with a 48 MiB sparse file (zeros, nearly no disk) in it."""
    with open(tmp_path / "massive_dataset/huge.bin", "wb") as f:
        f.truncate(HUGE)
    return dict(dataset, **{"massive_dataset/huge.bin": bytes(HUGE)})


def test_seed_002_record_stream_slice_resume_verify(tmp_path: Path, massive: Dict[str, bytes], capsys: Any) -> None:
    dataset = massive
    requests = FakeRequests(b"")
    uploads = Uploads()
    upload_to_s3 = uploads.upload_to_s3

    class socket:  # noqa: N801 - stands in for a connected socket object
        send = staticmethod(uploads.send)

    # --- seed 002_4a89c624226bce32.txt, "1. Recording the Tape"
    import tartape

    # Scan the dataset and generate the integrity catalog
    tape = tartape.create("./massive_dataset")

    print(f"Fingerprint: {tape.fingerprint}")
    print(f"Total stream size: {tape.total_size} bytes")
    # --- end
    total = tape.total_size

    # --- seed "2. Basic Streaming" (requests is the stand-in above)
    import tartape

    # Retrieve the previously recorded tape
    tape = tartape.get_tape("./massive_dataset")

    def data_generator():
        # 'play' emits events. We filter for 'file_data' to get raw bytes.
        for event in tape.play():
            if event.type == "file_data":
                yield event.data

    # Send the full TAR stream via HTTP without saving it to disk
    requests.put("https://storage.com/backup.tar", data=data_generator())
    # --- end
    whole = requests.puts["https://storage.com/backup.tar"]
    assert len(whole) == total
    (tmp_path / "backup.tar").write_bytes(whole)
    assert_archive(tmp_path / "backup.tar", dataset)

    # --- seed "3. Volume Slicing (Cloud Slicing)"
    import tartape

    tape = tartape.get_tape("./massive_dataset")

    # Split the stream into 1GB logical volumes
    for volume, manifest in tape.iter_volumes(size=1024**3):
        # 'volume' behaves like an open file (read, seek, tell)
        # It must be used as a context manager to initialize the stream properly
        with volume:
            upload_to_s3(key=volume.name, body=volume)
    # --- end
    assert list(uploads.objects.values()) == [whole]

    # --- seed "4. Byte-Perfect Resume"
    import tartape

    # Suppose logs indicate that 45,678,912 bytes were sent before the error
    LAST_BYTE_SENT = 45678912

    tape = tartape.get_tape("./massive_dataset")

    # 'play' will instantly jump to the requested offset without re-reading previous files
    for event in tape.play(start_offset=LAST_BYTE_SENT):
        if event.type == "file_data":
            socket.send(event.data)
    # --- end
    assert bytes(uploads.sent) == whole[LAST_BYTE_SENT:]

    def verify_example() -> None:
        # --- seed "5. Integrity Verification"
        with tartape.open("./massive_dataset") as tape:
            # 'verify' performs a random spot-check for quick detection.
            # Use verify(deep=True) for a full bit-by-bit audit of every file.
            try:
                tape.verify()
                print("Dataset is consistent with the index.")
            except Exception as e:
                print(f"Integrity compromised: {e}")
        # --- end

    capsys.readouterr()
    verify_example()
    assert capsys.readouterr().out == "Dataset is consistent with the index.\n"
    os.utime(tmp_path / "massive_dataset/a.txt", (1, 1))
    verify_example()
    out = capsys.readouterr().out
    assert out.startswith("Integrity compromised: ") and "massive_dataset/a.txt" in out
    assert "Dataset is consistent" not in out


def test_seed_002_events_have_the_documented_fields(dataset: Dict[str, bytes]) -> None:
    tape = tartape.create("./massive_dataset")
    starts, ends, data = {}, {}, bytearray()
    completed = 0
    for event in tape.play():
        if event.type == "file_start":
            assert event.start_offset == event.metadata.start_offset
            assert event.resumed is False
            starts[event.entry.info.arc_path] = event
        elif event.type == "file_data":
            assert event.data is event
            data += event.data
        elif event.type == "file_end":
            ends[event.entry.arc_path] = event
        elif event.type == "tape_completed":
            completed += 1
    assert completed == 1
    for name, content in dataset.items():
        assert ends[name].md5sum == hashlib.md5(content).hexdigest()
        assert ends[name].metadata.md5sum == ends[name].md5sum
        assert ends[name].end_offset > starts[name].start_offset
        assert starts[name].entry.size == len(content)
    # resumed inside the big file: its file_start says so and its file_end has no MD5
    big = tape.locate("massive_dataset/sub/big.bin")
    resumed = [e for e in tape.play(start_offset=big.data_offset + 1000) if e.type in ("file_start", "file_end")]
    assert resumed[0].entry.arc_path == "massive_dataset/sub/big.bin" and resumed[0].resumed
    assert resumed[1].md5sum is None
    assert tar_members(bytes(data)) == dataset


def test_seed_002_verify_raises_with_the_report_and_deep_compares_contents(dataset: Dict[str, bytes]) -> None:
    tartape.create("./massive_dataset", calculate_hashes=True)
    with tartape.open("./massive_dataset") as tape:
        assert tape.verify() and tape.verify(deep=True)
        p = Path("massive_dataset/sub/b.txt")
        st = p.stat()
        p.write_bytes(b"FOO\nBAR\nBAZ\n")  # same size, mtime put back: only contents differ
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert tape.verify()  # metadata agree
        with pytest.raises(tartape.TarIntegrityError) as raised:
            tape.verify(deep=True)
        report = raised.value.report
        assert not report and [d.problem for d in report.discrepancies] == ["content"]
        assert report.by_name("massive_dataset/sub/b.txt")
        # 3.0.3's explicit form returns the report instead
        assert tape.verify(deep=True, raise_exception=False).error_count == 1
        # streaming the changed file is refused too, before a wrong byte leaves
        with pytest.raises(tartape.TarIntegrityError):
            for _ in tape.play():
                pass


def test_seed_002_volumes_concatenate_to_the_archive(dataset: Dict[str, bytes]) -> None:
    tape = tartape.create("./massive_dataset")
    whole = b"".join(e for e in tape.play())
    parts = []
    for volume, manifest in tape.iter_volumes(size=64 * 1024):
        with volume:
            assert volume.size == len(volume) and manifest == volume.manifest
            parts.append(volume.read())
            assert volume.checksum == hashlib.md5(parts[-1]).hexdigest()
    assert len(parts) == tape.volume_count(64 * 1024) > 1
    assert b"".join(parts) == whole


def test_open_and_get_tape_without_a_catalog(tmp_path: Path) -> None:
    (tmp_path / "never").mkdir()
    assert tartape.get_tape(tmp_path / "never") is None
    with pytest.raises(tartape.TapeNotFoundError):
        tartape.open(tmp_path / "never")
    with pytest.raises(tartape.TapeNotFoundError):
        tartape.open(tmp_path / "absent")
    assert not tartape.exists(tmp_path / "never")


def test_v1_add_file_excludes_and_a_lone_directory(tmp_path: Path) -> None:
    make_tree(tmp_path / "d")
    (tmp_path / "d/.git").mkdir()
    (tmp_path / "d/.git/HEAD").write_text("ref")
    tape = tartape.TarTape()
    tape.add_folder(tmp_path / "d", exclude=[".git"])
    tape.add_file(tmp_path / "d/sub", arcname="only/sub")  # a directory alone, as in 1.x
    tape.add_file(tmp_path / "d/a.txt", arcname="only/a.txt", exclude=[".git"])
    names = [e.name for e in tape.tape.entries]
    assert "d/.git" not in names and "d/sub/big.bin" in names
    assert "only/sub" in names and not any(n.startswith("only/sub/") for n in names)
    data = b"".join(tape.stream())
    assert tar_members(data)["only/a.txt"] == b"hello\n"
    # exclusions cannot be narrowed for a later folder: refused, not silently widened
    narrowing = tartape.TarTape()
    narrowing.add_folder(tmp_path / "d", exclude=[".git"])
    narrowing.add_folder(tmp_path / "d/sub")
    with pytest.raises(tartape.UnsupportedError, match="exclude"):
        list(narrowing.stream())
    with pytest.raises(tartape.UnsupportedError):
        tartape.TarTape().add_folder(tmp_path / "d", exclude=["*.txt"])
    with pytest.raises(ValueError):
        tartape.TarTape().add_folder(tmp_path / "absent")


def test_compat_volume_seek_past_the_end_and_bad_sizes(dataset: Dict[str, bytes]) -> None:
    tape = tartape.create("./massive_dataset")
    vol = tape.get_volume(0, "64KB")
    with vol:
        vol.seek(100)
        with pytest.raises(tartape.InvalidOffsetError):
            vol.seek(64 * 1024 + 1)
        assert vol.tell() == 100
        assert vol.checksum is None  # a seek broke the linear pass
        assert vol.compute_checksum() == hashlib.md5(vol.read_at(0, len(vol))).hexdigest()
        assert vol.compute_checksum("sha256") == hashlib.sha256(vol.read_at(0, len(vol))).hexdigest()
    with pytest.raises(tartape.VolumeStateError):
        vol.read(1)
    for bad in (0, -512, "1 GB", 1000, True):
        with pytest.raises(tartape.InvalidArgumentError):
            list(tape.iter_volumes(bad))
    with pytest.raises(tartape.InvalidArgumentError):
        next(iter(tape.play(buffer_size=0)))
    with pytest.raises(tartape.VolumeNotFoundError):
        tape.get_volume(10**6, "64KB")


# --- "ZIP as a bundle format" (003): its reader, on a ZIP that we wrote -----------------------
# The post's functions are copied unchanged (the text file lost their indentation; it is
# restored); its archive is written by zipfile, ours by a TapeBuilder(format="zip"), and its
# reading code must find the members and their data offsets in ours.

ZIP_LOCAL_HEADER_SIZE = 30


def list_archive_contents(archive_name: Path) -> Path:
    """
    List the filenames in a ZIP archive.
    Args:
    archive_name: Path object for the ZIP archive to read
    """
    try:
        with zipfile.ZipFile(archive_name, "r") as zf:
            print(f"\nFiles in {archive_name}:")
            for filename in zf.namelist():
                print(f"- {filename}")
        return archive_name
    except Exception as e:
        print(f"Error reading archive: {e}", file=sys.stderr)
        raise


def get_file_offset(archive_name: Path, filename: str) -> tuple[int, int]:
    ZIP_LOCAL_HEADER_SIZE = 30
    with zipfile.ZipFile(archive_name, "r") as zf:
        info = zf.getinfo(filename)
        # The header_offset points to the local file header
        # We need to skip past the header to get to the actual data
        n = len(info.filename)
        m = len(info.extra)
        header_size = ZIP_LOCAL_HEADER_SIZE + n + m
        data_offset = info.header_offset + header_size
        return (data_offset, info.file_size)


class ZipFileView(io.BufferedIOBase):
    def __init__(self, archive_path: Path, offset: int, size: int) -> None:
        self._archive_path = archive_path
        self._offset = offset
        self._size = size
        self._pos = 0
        self._file = open(archive_path, "rb")
        self._file.seek(offset)

    def read(self, size: int | None = None) -> bytes:
        if size is None:
            size = self._size - self._pos
        size = min(size, self._size - self._pos)
        if size <= 0:
            return b""
        data = self._file.read(size)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            new_pos = offset
        elif whence == io.SEEK_CUR:
            new_pos = self._pos + offset
        elif whence == io.SEEK_END:
            new_pos = self._size + offset
        else:
            raise ValueError("Invalid whence value")
        new_pos = max(0, min(new_pos, self._size))
        self._file.seek(self._offset + new_pos)
        self._pos = new_pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._file.close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, *args, **kwargs) -> int:
        raise io.UnsupportedOperation("write")

    def writable(self) -> bool:
        return False


def read_file_at_offset(archive_name: Path, filename: str) -> ZipFileView:
    offset, size = get_file_offset(archive_name, filename)
    return ZipFileView(archive_name, offset, size)


def test_seed_003_zip_bundle_reader_reads_our_zip_in_place(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    sample_files = [Path("t1.txt"), Path("t2.txt")]
    archive_name = Path("archive.zip")
    # the post's create_sample_files()
    with open(sample_files[0], "w") as f:
        f.write("Hello, world!\n")
    with open(sample_files[1], "w") as f:
        f.write("foo\nbar\nbaz\n")
    # ours instead of create_uncompressed_archive(files, archive_name)
    with tartape.TapeBuilder(format="zip") as builder:
        for file in sample_files:
            builder.add_path(file)
        tape = builder.build()
    with tape, open(archive_name, "wb") as out:
        tape.write_to(out)
        ours = {name: tape.locate(name) for name in ("t1.txt", "t2.txt")}

    # the post's main(), from list_archive_contents on
    list_archive_contents(archive_name)
    offset, size = get_file_offset(archive_name, "t2.txt")
    print(f"File 't2.txt' is located at offset {offset} with size {size} bytes")
    zf = read_file_at_offset(archive_name, "t2.txt")
    print("File contents:")
    print(zf.read().decode())

    out = capsys.readouterr().out
    assert "- t1.txt\n- t2.txt\n" in out
    assert out.endswith("File contents:\nfoo\nbar\nbaz\n\n")
    # its offset arithmetic (30 + name + extra of the central directory) agrees with our layout
    assert (offset, size) == (ours["t2.txt"].data_offset, 12)
    assert get_file_offset(archive_name, "t1.txt") == (ours["t1.txt"].data_offset, 14)
