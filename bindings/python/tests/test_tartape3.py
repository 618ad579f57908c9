"""Code written for TarTape 3.0.3's public API (its README's examples, its Tape's methods and
defaults, ``tartape.exceptions``, ``tartape.schemas``) runs on ours. The examples are copied
from TarTape 3.0.3's README with the cloud clients (requests, boto3) and the socket replaced by
local stand-ins and the sizes made small; where ours differs on purpose (glob excludes, SHA-256
checksums) the test pins the clear error instead."""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import shutil
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict

import pytest

import tartape
from tartape import TarFileEndEvent, TarFileStartEvent, TarObserver
from tartape.exceptions import TarIntegrityError, TapeCorruptedError
from tartape.schemas import FileSlice, VerificationReport


@pytest.fixture
def my_dataset(tmp_path: Path, monkeypatch: Any) -> Dict[str, bytes]:
    monkeypatch.chdir(tmp_path)
    files = {
        "reports/annual_2024.pdf": os.urandom(50_000),
        "notes.txt": b"n" * 700,
        "deep/er/x.bin": os.urandom(3000),
    }
    for name, data in files.items():
        p = tmp_path / "my_dataset" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return {f"my_dataset/{k}": v for k, v in files.items()}


def members(data: bytes) -> Dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]


class S3:
    def __init__(self) -> None:
        self.objects: Dict[str, bytes] = {}

    def upload_fileobj(self, Fileobj: Any, Bucket: str, Key: str) -> None:  # noqa: N803
        self.objects[Key] = Fileobj.read()


def test_readme_quickstart_as_file_and_http_put(my_dataset: Dict[str, bytes], capsys: Any) -> None:
    tape = tartape.record("./my_dataset")
    print(f"Total archive size: {tape.total_size:,} bytes")
    print(f"Total files:        {tape.file_count}")
    assert tape.file_count == 3 + 4  # three files, four directories

    with tartape.open("./my_dataset") as tape:
        archive_file = tape.as_file()
        chunk = archive_file.read(64 * 1024)
        assert chunk[:11] == b"my_dataset/"
        # requests.put(url, data=tape.as_file()) reads the file object to its end
        body = tape.as_file().read()
        assert len(body) == tape.total_size
    assert members(body) == my_dataset


def test_readme_multipart_parallel_and_resume(my_dataset: Dict[str, bytes]) -> None:
    tartape.record("./my_dataset")
    s3, bucket = S3(), "my-company-backups"
    sums = {}
    with tartape.open("./my_dataset") as tape:
        for volume in tape.iter_volumes(size="16KB"):
            with volume:
                s3.upload_fileobj(Fileobj=volume, Bucket=bucket, Key=f"backups/{volume.name}")
                sums[volume.name] = (volume.checksum_algorithm, volume.checksum)
        whole = b"".join(tape.play())
    keys = sorted(s3.objects)
    assert b"".join(s3.objects[k] for k in keys) == whole and len(keys) > 2
    for k in keys:
        algo, value = sums[k.split("/")[1]]
        assert algo == "md5" and value == hashlib.md5(s3.objects[k]).hexdigest()

    parallel = S3()

    def upload_single_part(part_index: int) -> None:
        with tartape.open("./my_dataset") as tape:
            volume = tape.get_volume(index=part_index, size="16KB")
            with volume:
                parallel.upload_fileobj(Fileobj=volume, Bucket=bucket, Key=f"backups/{volume.name}")

    with ThreadPoolExecutor(max_workers=4) as executor:
        list(executor.map(upload_single_part, range(len(keys))))
    assert parallel.objects == s3.objects

    FAILED_AT_BYTE = 20_000
    sent = bytearray()
    with tartape.open("./my_dataset") as tape:
        for chunk in tape.play(start_offset=FAILED_AT_BYTE):
            sent += chunk
    assert bytes(sent) == whole[FAILED_AT_BYTE:]


def test_readme_surgical_recovery_by_http_range(my_dataset: Dict[str, bytes], tmp_path: Path) -> None:
    tape = tartape.record("./my_dataset")
    parts = {}
    for volume in tape.iter_volumes(size="16KB"):
        with volume:
            parts[volume.index] = volume.read()

    catalog = tartape.open_catalog("./my_dataset.tartape", read_only=True)
    location = catalog.locate("my_dataset/reports/annual_2024.pdf", tag_or_size="16KB")
    assert location.file_size == 50_000 and location.spans_multiple_volumes
    restored = bytearray()
    for fragment in location.fragments:
        assert isinstance(fragment, FileSlice)
        start, end = fragment.range_header["Range"][len("bytes="):].split("-")
        restored += parts[fragment.volume_index][int(start) : int(end) + 1]
    assert bytes(restored) == my_dataset["my_dataset/reports/annual_2024.pdf"]
    # without a size, the default layout: the one iter_volumes registered (saved beside the catalog)
    assert catalog.locate("my_dataset/reports/annual_2024.pdf") == location
    assert Path("my_dataset.tartape.meta.json").is_file() and isinstance(catalog, tartape.Catalog)
    # the tape's own locate without a size is the whole archive, one volume
    whole = tape.locate("my_dataset/reports/annual_2024.pdf")
    assert [(f.volume_index, f.volume_offset) for f in whole.fragments] == [(0, whole.data_offset)]


def test_readme_progress_observer_and_on_event(my_dataset: Dict[str, bytes], capsys: Any) -> None:
    tartape.record("./my_dataset")
    seen = []

    class ProgressTracker(TarObserver):
        def on_file_start(self, event: TarFileStartEvent) -> None:
            print(f"Sending: {event.entry.info.arc_path}")

        def on_file_end(self, event: TarFileEndEvent) -> None:
            print(f"Finished: {event.entry.info.arc_path}")

    with tartape.open("./my_dataset") as tape:
        data = b"".join(tape.play(observer=ProgressTracker(), on_event=seen.append))
    out = capsys.readouterr().out.splitlines()
    assert "Sending: my_dataset/reports/annual_2024.pdf" in out
    assert "Finished: my_dataset/reports/annual_2024.pdf" in out
    assert [e.type for e in seen].count("tape_completed") == 1
    assert members(data) == my_dataset


def test_readme_exclude_names_and_clear_errors_for_globs(my_dataset: Dict[str, bytes], tmp_path: Path) -> None:
    (tmp_path / "my_dataset/.git").mkdir()
    (tmp_path / "my_dataset/.git/HEAD").write_text("ref")
    tape = tartape.record(directory="./my_dataset", exclude=[".git", "node_modules"], overwrite=True)
    assert all(".git" not in e.name for e in tape.entries)
    with pytest.raises(tartape.UnsupportedError, match="glob"):
        tartape.record("./my_dataset", exclude=["*.tmp"])
    with pytest.raises(tartape.UnsupportedError, match="MD5"):
        tartape.record("./my_dataset", checksum="sha256")
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.record("./my_dataset", exclude=True)


def test_readme_verify_report_and_raise_exception(my_dataset: Dict[str, bytes], tmp_path: Path) -> None:
    tartape.record("./my_dataset", checksum="md5")
    with tartape.open("./my_dataset.tartape") as tape:
        report = tape.verify()
        assert isinstance(report, VerificationReport) and report and report.is_valid
        assert report.summary().startswith("Verification [DEEP] PASSED") and report.mode == "deep"
        (tmp_path / "my_dataset/notes.txt").write_bytes(b"changed")
        report = tape.verify(deep=True)  # a record()-made tape returns the report
        assert not report and report.error_count == len(report.errors) >= 1
        assert {e.reason for e in report.errors} >= {"size_mismatch"}
        assert all(e.arc_path == "my_dataset/notes.txt" and e.message for e in report.errors)
        with pytest.raises(TarIntegrityError) as raised:
            tape.verify(deep=True, raise_exception=True)
        assert raised.value.report.error_count == report.error_count


def test_tape_methods_and_defaults_of_tartape_3(my_dataset: Dict[str, bytes]) -> None:
    tape = tartape.record("./my_dataset")
    defaults = {
        "play": {"start_offset": 0, "on_event": None, "observer": None, "fast_verify": True},
        "iter_volumes": {"tag": None, "is_default": True, "naming_template": None, "observer": None},
        "get_volume": {"index": 0, "size": None, "tag": None, "vol_start": None, "vol_end": None},
        "as_file": {"buffer_size": 64 * 1024},
        "export_catalog": {"compress": True},
        "iter_gps": {"tag_or_size": None},
        "locate": {"tag_or_size": None},
    }
    for method, params in defaults.items():
        sig = inspect.signature(getattr(tape, method))
        for name, value in params.items():
            assert sig.parameters[name].default == value, (method, name)
    assert inspect.signature(tape.verify).parameters["raise_exception"].default is None  # see README
    assert tape.count_files == tape.file_count == len(list(tape.inspect()))
    assert tape.data_size == sum(len(v) for v in my_dataset.values())
    assert tape.overhead_size == tape.total_size - tape.data_size
    assert tape == "./my_dataset.tartape" and os.fspath(tape).endswith("my_dataset.tartape")
    gps = {g.arc_path: g for g in tape.iter_gps("16KB")}
    assert gps["my_dataset/reports/annual_2024.pdf"].spans_multiple_volumes
    names = [v.name for v in tape.iter_volumes("16KB", naming_template="{name}_{fingerprint:.8}.tar.{pindex}")]
    assert names[0] == f"my_dataset_{tape.fingerprint[:8]}.tar.001"
    assert tape.get_volume(1).index == 1  # the size registered by iter_volumes
    raw = tape.export_catalog(compress=False)
    assert raw == Path("my_dataset.tartape").read_bytes()
    tape.destroy()
    assert not Path("my_dataset.tartape").exists()


def test_record_ephemeral_and_sizes(my_dataset: Dict[str, bytes]) -> None:
    with tartape.record_ephemeral("./my_dataset") as tape:
        path = Path(tape.catalog_path)
        assert path.is_file() and not Path("my_dataset.tartape").exists()
        assert members(b"".join(tape.play())) == my_dataset
    assert not path.exists()
    assert tartape.parse_size("1GB") == 1024**3 and tartape.parse_size("1.5KB") == 1536
    assert tartape.format_size(1024**3) == "1GB" and tartape.format_size(1536) == "1.5KB"
    for bad in ("1 GB", "1XB", "100", 0, "0.5B"):
        with pytest.raises((ValueError, TypeError)):
            tartape.parse_size(bad)
    assert list(tartape.calculate_segments(1000, 512)) == [(0, 512), (512, 1000)]


def test_a_corrupt_catalog_is_tape_corrupted_error(my_dataset: Dict[str, bytes]) -> None:
    tartape.record("./my_dataset")
    raw = bytearray(Path("my_dataset.tartape").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    Path("my_dataset.tartape").write_bytes(bytes(raw))
    with pytest.raises(TapeCorruptedError):
        tartape.open("./my_dataset")


def test_long_names_beyond_tartape_limits_are_kept(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    long_dir = "d" * 150
    p = tmp_path / "data" / long_dir / ("f" * 200 + ".txt")
    p.parent.mkdir(parents=True)
    p.write_bytes(b"long")
    tape = tartape.record("./data", auto_truncate=True)  # nothing to truncate: names are kept whole
    assert members(b"".join(tape.play())) == {f"data/{long_dir}/{'f' * 200}.txt": b"long"}


def test_catalog_layouts_and_file_slices_without_the_sources(my_dataset: Dict[str, bytes], tmp_path: Path) -> None:
    tape = tartape.record("./my_dataset")
    parts = {}
    for volume in tape.iter_volumes("16KB"):
        with volume:
            parts[volume.index] = volume.read()
    tape.close()
    blob = tartape.Catalog("my_dataset.tartape").export_bytes()
    os.rename("my_dataset", "moved_away")  # zero-disk: the sources are gone
    with pytest.raises(tartape.ReadOnlyCatalogError):
        tartape.Catalog.from_bytes(blob).register_layout("16KB")
    with tartape.Catalog.from_bytes(blob, read_only=False) as catalog:
        assert catalog.file_count == 7 and catalog.total_size == sum(len(p) for p in parts.values())
        assert catalog.default_layout.tag == "monolithic" and catalog.default_layout.is_virtual
        layout = catalog.register_layout("16KB", is_default=True)
        assert catalog.default_layout is layout and layout.total_volumes == len(parts)
        assert layout.volumes[1].start_offset == 16384 and layout.get_volume(0).name == "part-0000"
        gps = catalog.locate("my_dataset/reports/annual_2024.pdf")
        restored = b"".join(parts[f.volume_index][f.volume_offset : f.volume_offset + f.volume_length]
                            for f in gps.fragments)
        assert restored == my_dataset["my_dataset/reports/annual_2024.pdf"]
        assert catalog.get_layout(32768).is_virtual and catalog.get_layout("16KB") is layout
        with pytest.raises(tartape.LayoutNotFoundError):
            catalog.get_layout("no-such-tag")
        with pytest.raises(KeyError):
            layout.locate("my_dataset/absent")
        assert catalog.find_track_at_absolute_offset(0).arc_path == "my_dataset"
        assert sum(1 for _ in catalog.iter_gps("16KB")) == 7
        catalog.register_layout("32KB", tag="big")
        with pytest.raises(tartape.AmbiguousLayoutError):
            layout.is_default = False
            catalog.default_layout  # noqa: B018
        # verify_volume reads the expected bytes from the tape: it needs the sources back
        os.rename("moved_away", "my_dataset")
        Path("part1.tar").write_bytes(parts[1])
        assert layout.verify_volume(1, "part1.tar")
        Path("part1.tar").write_bytes(parts[1][:-1] + b"!")
        assert not layout.verify_volume(1, "part1.tar")


def test_file_slice_stream_hashes_a_slice_read_in_order(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    (tmp_path / "f.bin").write_bytes(data)
    with tartape.FileSliceStream(tmp_path / "f.bin", 1000, 51000, checksum_algorithm="md5") as s:
        assert s.read(10) == data[1000:1010]
        s.seek(5)  # an overlapping retry keeps the in-flight hash
        assert s.read() == data[1005:51000] and s.is_completed
        assert s.checksum == hashlib.md5(data[1000:51000]).hexdigest()
        with pytest.raises(tartape.InvalidOffsetError):
            s.seek(50_001)
    with pytest.raises(tartape.VolumeStateError):
        s.read(1)
    assert s.compute_checksum("sha256") == hashlib.sha256(data[1000:51000]).hexdigest()
    with pytest.raises(ValueError):
        tartape.FileSliceStream(tmp_path / "f.bin", 0, 10, checksum_algorithm="crc7")
    with pytest.raises(tartape.SourceNotFoundError):
        tartape.FileSliceStream(tmp_path / "absent", 0, 10).open()


def test_tagged_layouts_are_found_again_by_a_catalog_without_the_sources(tmp_path: Path, monkeypatch: Any) -> None:
    """TarTape 3.0.3's own zero-disk test (tests/test_v3_api.py, offline reconstruction): volumes
    cut under a tag, the sources deleted, the files rebuilt from the volume files with the
    layout the catalog finds by that tag."""
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "archive_dataset"
    source.mkdir()
    files = {"file_a.bin": os.urandom(7500), "file_b.bin": os.urandom(20480), "file_c.bin": os.urandom(300)}
    for name, data in files.items():
        (source / name).write_bytes(data)
    sidecar_path = tartape.record(source)
    tape = tartape.open(source, catalog_path=sidecar_path)
    volume_paths = []
    names = []
    for vol in tape.iter_volumes(size=4096, tag="offline_layout", naming_template="{name}.{pindex}"):
        vol_path = tmp_path / vol.name
        volume_paths.append(vol_path)
        names.append(vol.name)
        with vol, open(vol_path, "wb") as f_out:
            f_out.write(vol.read())
    tape.close()
    shutil.rmtree(source)
    with tartape.open_catalog(sidecar_path) as catalog:
        layout = catalog.get_layout("offline_layout")
        assert [v.name for v in layout.volumes] == names == [f"archive_dataset.{i:03d}" for i in range(1, len(names) + 1)]
        for name, data in files.items():
            gps = layout.locate(f"archive_dataset/{name}")
            rebuilt = bytearray(gps.file_size)
            for frag in gps.fragments:
                with open(volume_paths[frag.volume_index], "rb") as vf:
                    vf.seek(frag.volume_offset)
                    rebuilt[frag.source_offset : frag.source_offset + frag.volume_length] = vf.read(frag.volume_length)
            assert bytes(rebuilt) == data
    (tmp_path / "archive_dataset.tartape.meta.json").write_text("{not json")
    with pytest.raises(tartape.CorruptError):
        tartape.open_catalog(sidecar_path)


def test_recording_facts_are_kept_beside_the_catalog(my_dataset: Dict[str, bytes], tmp_path: Path) -> None:
    tape = tartape.record("./my_dataset", checksum="md5", exclude=["node_modules"], anonymize=False)
    assert (tape.checksum_algorithm, tape.has_file_checksums, tape.is_anonymized) == ("md5", True, False)
    assert tape.exclude_patterns == ["node_modules"] and tape.auto_truncated is False
    assert abs(tape.created_at - __import__("time").time()) < 60
    tape.close()
    with tartape.open("./my_dataset") as again:  # another process would read the same file
        assert (again.checksum_algorithm, again.has_file_checksums, again.is_anonymized) == ("md5", True, False)
    plain = tartape.record("./my_dataset")
    assert (plain.checksum_algorithm, plain.has_file_checksums, plain.is_anonymized) == (None, False, True)
    # a catalog saved without record(): those facts are unknown, and say so
    with tartape.TapeBuilder() as b:
        b.add_path("./my_dataset")
        built = b.build()
    built.save(tmp_path / "saved.tartape")
    with tartape.open(tmp_path / "saved.tartape") as opened:
        assert (opened.checksum_algorithm, opened.has_file_checksums, opened.created_at) == (None, None, None)
    # saved again by other means (here Tape.save over it): the facts no longer apply, and are dropped
    with tartape.TapeBuilder(checksums=False) as b:
        b.add_bytes("other.txt", b"other")
        other = b.build()
    other.save("my_dataset.tartape")
    with tartape.open("./my_dataset.tartape") as resaved:
        assert (resaved.checksum_algorithm, resaved.has_file_checksums) == (None, None)
    tartape.record("./my_dataset", checksum=True).close()
    # the volume checksum needs the sources
    with tartape.open("./my_dataset") as t:
        vol = t.get_volume(0, "16KB")
        os.rename("my_dataset", "gone")
        with pytest.raises(tartape.SourceNotFoundError):
            vol.compute_checksum()
        os.rename("gone", "my_dataset")


def test_catalogs_of_the_python_tartape_are_refused_with_what_to_do(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "data").mkdir()
    (tmp_path / "data/a.txt").write_text("a")
    sqlite3.connect(tmp_path / "data.tartape").execute("create table tracks (x)").connection.commit()
    with pytest.raises(tartape.UnsupportedError, match="record the directory again"):
        tartape.open(tmp_path / "data")
    with pytest.raises(tartape.UnsupportedError, match="SQLite"):
        tartape.open(tmp_path / "data.tartape")
    (tmp_path / "data.tartape").unlink()
    (tmp_path / "data/.tartape").mkdir()
    (tmp_path / "data/.tartape/index.db").write_bytes(b"SQLite format 3\0")
    with pytest.raises(tartape.TapeNotFoundError, match="2.x index"):
        tartape.open(tmp_path / "data")
    assert tartape.get_tape(tmp_path / "data") is None
