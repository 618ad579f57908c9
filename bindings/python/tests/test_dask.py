"""tartape.dask on a real dask.distributed cluster (LocalCluster: separate worker processes talking
TCP on loopback) against a real S3 server (SeaweedFS, see conftest.py): the object and the file
written in place equal `tartape create` of the same tree with 1 and 3 workers, from a catalog path
and from catalog bytes; a worker process killed while it makes a part does not change a byte; a
source that changed stops the job, naming the file, with nothing completed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
import cloudpickle  # noqa: E402 (a dependency of distributed)

import seaweed  # noqa: E402
import tartape  # noqa: E402
import tartape.dask as ttdask  # noqa: E402
from conftest import REPO_ROOT, SEAWEED_BUCKET  # noqa: E402

PART = 5 << 20  # S3's smallest part: more parts, more tasks


def _cli() -> str:
    path = os.environ.get("TARTAPE_CLI") or str(REPO_ROOT / "target/release/tartape")
    if not os.access(path, os.X_OK):
        print(f"\n*** SKIPPED: the tartape command line is not built ({path}) ***")
        pytest.skip(f"the tartape command line is not built ({path})")
    return path


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A tree (large files, small ones, a non-UTF-8 name), its catalog, the archive `tartape
    create` makes of it and the ETag `tartape record --part-size` predicts."""
    cli = _cli()
    base = tmp_path_factory.mktemp("scale")
    root = base / "tree"
    (root / "small").mkdir(parents=True)
    for i in range(4):
        (root / f"big{i}.bin").write_bytes(os.urandom((7 << 20) + 4321 * i))
    for i in range(200):
        (root / "small" / f"f{i:03}.txt").write_bytes(b"line %d\n" % i * (i % 9))
    with open(os.path.join(os.fsencode(root), b"caf\xe9.bin"), "wb") as f:
        f.write(os.urandom(70_000))
    catalog = base / "tree.tartape"
    shown = subprocess.run(
        [cli, "record", str(root), "--catalog", str(catalog), "--part-size", str(PART)],
        check=True, capture_output=True, text=True,
    ).stdout
    etag = next(line.split(": ", 1)[1] for line in shown.splitlines() if "multipart etag" in line)
    archive = subprocess.run([cli, "create", str(root)], check=True, capture_output=True).stdout
    return {"root": root, "catalog": catalog, "archive": archive, "etag": etag, "base": base}


def _cluster(workers: int):
    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        protocol="tcp", dashboard_address="127.0.0.1:0", silence_logs=40,
    )


@pytest.fixture(scope="module")
def three():
    with _cluster(3) as cluster, distributed.Client(cluster) as client:
        addresses = list(client.scheduler_info()["workers"])
        assert len(addresses) == 3 and all(a.startswith("tcp://127.0.0.1:") for a in addresses)
        pids = client.run(os.getpid)
        assert len(set(pids.values()) | {os.getpid()}) == 4, "workers are separate processes"
        yield client


@pytest.fixture(scope="module")
def one():
    with _cluster(1) as cluster, distributed.Client(cluster) as client:
        yield client


def _s3_options(s3) -> dict:
    return seaweed.client_options(s3.meta.endpoint_url)


def _object(s3, key: str) -> tuple:
    got = s3.get_object(Bucket=SEAWEED_BUCKET, Key=key)
    return got["Body"].read(), got["ETag"]


def _uploads(s3, key: str) -> list:
    found = s3.list_multipart_uploads(Bucket=SEAWEED_BUCKET, Prefix=key).get("Uploads", [])
    return [u for u in found if u["Key"] == key]


def test_upload_with_three_workers_is_the_archive_and_its_predicted_etag(job, three, s3):
    seen = []
    etag = ttdask.upload(
        job["catalog"], f"s3://{SEAWEED_BUCKET}/dask/three.tar", three, part_size=PART,
        s3_options=_s3_options(s3), parts_per_task=1, progress=seen.append,
    )
    body, stored = _object(s3, "dask/three.tar")
    assert body == job["archive"]
    assert etag == stored == job["etag"]
    count = -(-len(job["archive"]) // PART)
    assert [p.parts_done for p in seen] == list(range(1, count + 1))
    assert seen[-1].bytes_done == seen[-1].bytes_total == len(job["archive"])
    assert seen[-1].rate > 0


def test_upload_with_one_worker_from_catalog_bytes_gives_the_same_object(job, one, s3):
    etag = ttdask.upload(
        job["catalog"].read_bytes(), f"s3://{SEAWEED_BUCKET}/dask/one.tar", one,
        part_size=PART, s3_options=_s3_options(s3), checksum="sha256",
    )
    body, stored = _object(s3, "dask/one.tar")
    assert body == job["archive"] and etag == stored == job["etag"]


def test_write_in_place_is_the_archive_with_one_and_three_workers(job, one, three):
    for client, name in ((three, "three.tar"), (one, "one.tar")):
        out = job["base"] / "out" / name
        out.parent.mkdir(exist_ok=True)
        size = ttdask.write(job["catalog"], out, client, part_size=3 << 20)
        assert size == len(job["archive"])
        assert out.read_bytes() == job["archive"], name
    assert sorted(p.name for p in (job["base"] / "out").iterdir()) == ["one.tar", "three.tar"]
    # From bytes shipped to the workers, in parts that are not multiples of 512.
    out = job["base"] / "out" / "bytes.tar"
    ttdask.write(job["catalog"].read_bytes(), out, three, part_size=1_000_003)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(job["archive"]).digest()


class KillOnFirstPart(distributed.WorkerPlugin):
    """Installed on one worker: the first time that worker starts making a part, its process dies
    (os._exit) a moment later, in the middle of the part."""

    name = "kill-on-first-part"

    def __init__(self, victim: str, prefix: str) -> None:
        self.victim, self.prefix, self.fired = victim, prefix, False

    def setup(self, worker) -> None:
        self.mine = worker.address == self.victim

    def transition(self, key, start, finish, **kwargs) -> None:
        if self.mine and not self.fired and finish == "executing" and self.prefix in str(key):
            self.fired = True
            threading.Timer(0.02, os._exit, args=(17,)).start()


cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("what", ["upload", "write"])
def test_a_worker_killed_mid_part_changes_nothing(job, s3, what, tmp_path):
    with _cluster(3) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        prefix = "_upload_task" if what == "upload" else "_write_task"
        client.register_plugin(KillOnFirstPart(victim, prefix))
        if what == "upload":
            key = f"dask/killed-{what}.tar"
            etag = ttdask.upload(
                job["catalog"], f"s3://{SEAWEED_BUCKET}/{key}", client, part_size=PART,
                s3_options=_s3_options(s3), parts_per_task=1,
            )
            body, stored = _object(s3, key)
            assert body == job["archive"] and etag == stored == job["etag"]
        else:
            out = tmp_path / "killed.tar"
            ttdask.write(job["catalog"], out, client, part_size=1 << 20, parts_per_task=1)
            assert out.read_bytes() == job["archive"]
            assert os.listdir(tmp_path) == ["killed.tar"]
        deadline = time.monotonic() + 10
        while not _gone(pids[victim]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pids[victim]), f"worker {victim} (pid {pids[victim]}) did not die"


def test_a_changed_source_stops_the_job_and_nothing_is_completed(job, three, s3, tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.bin").write_bytes(os.urandom(6 << 20))
    (root / "b.bin").write_bytes(os.urandom(6 << 20))
    catalog = tmp_path / "tree.tartape"
    tartape.TapeBuilder().add_path(str(root)).build().save(catalog)
    os.utime(root / "b.bin", (1_000_000_000, 1_000_000_000))
    with pytest.raises(ttdask.UploadError, match=r"b\.bin.*aborted"):
        ttdask.upload(
            catalog, f"s3://{SEAWEED_BUCKET}/dask/changed.tar", three, part_size=PART,
            s3_options=_s3_options(s3), parts_per_task=1,
        )
    with pytest.raises(Exception) as missing:
        s3.head_object(Bucket=SEAWEED_BUCKET, Key="dask/changed.tar")
    assert "404" in str(missing.value) or "Not Found" in str(missing.value)
    assert _uploads(s3, "dask/changed.tar") == []
    out = tmp_path / "out" / "changed.tar"
    out.parent.mkdir()
    with pytest.raises(ttdask.WriteError, match=r"b\.bin.*nothing was written"):
        ttdask.write(catalog, out, three, part_size=1 << 20)
    assert os.listdir(out.parent) == []


def test_bad_arguments_are_refused_before_any_work(job, three):
    with pytest.raises(ValueError, match="s3://BUCKET/KEY"):
        ttdask.upload(job["catalog"], "http://x/y", three)
    with pytest.raises(ValueError, match="checksum"):
        ttdask.upload(job["catalog"], "s3://b/k", three, checksum="md4")
    with pytest.raises(ValueError, match="part_size"):
        ttdask.write(job["catalog"], Path(job["base"]) / "x.tar", three, part_size=0)
    with pytest.raises(tartape.errors.CorruptError, match="truncated"):
        ttdask.write(job["catalog"].read_bytes()[:-100], Path(job["base"]) / "x.tar", three)
    assert not (Path(job["base"]) / "x.tar").exists()
