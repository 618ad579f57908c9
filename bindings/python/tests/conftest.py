"""Shared fixtures: a small tree of files on disk and tapes built over it."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Dict

import pytest

import tartape

# Where the repository is, when the tests run from a checkout (the C layout test needs its header).
REPO_ROOT = Path(__file__).resolve().parents[3]


def content(seed: int, size: int) -> bytes:
    """Deterministic bytes that differ at every offset."""
    return bytes((seed * 31 + i * 7 + (i >> 8)) % 251 for i in range(size))


@pytest.fixture
def tree(tmp_path: Path) -> Dict[str, bytes]:
    """A directory ``data`` with files of awkward sizes, a subdirectory and a symlink.

    Returns the archive names of the regular files with their contents.
    """
    root = tmp_path / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    files = {
        "data/empty.txt": b"",
        "data/small.txt": b"hello tartape\n",
        "data/block.bin": content(1, 512),
        "data/odd.bin": content(2, 1000),
        "data/sub/big.bin": content(3, 1_300_000),  # crosses the 1 MiB event buffer
        "data/sub/deeper/z.bin": content(4, 4097),
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        os.utime(path, (1_700_000_000, 1_700_000_000))
    os.symlink("small.txt", root / "link")
    return files


@pytest.fixture
def tape(tmp_path: Path, tree: Dict[str, bytes]):
    """A tape over the tree plus entries of every other kind."""
    with tartape.TapeBuilder() as builder:
        builder.add_path(tmp_path / "data")
        builder.add_bytes("extra/bytes.bin", content(5, 3000), mode=0o600, mtime=1_600_000_000)
        builder.add_directory("extra/dir", mtime=1_600_000_000)
        builder.add_symlink("extra/link", "bytes.bin", mtime=1_600_000_000)
        t = builder.build()
    yield t
    t.close()


def full(tape: tartape.Tape) -> bytes:
    """The whole stream of a tape."""
    return b"".join(tape.play())


def members(archive: bytes) -> Dict[str, tarfile.TarInfo]:
    """Python's tarfile's view of an archive."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        return {m.name: m for m in tf.getmembers()}


# --- a real S3 server: SeaweedFS on loopback, built once by tests/services/seaweedfs.sh ----------

SEAWEED_KEY, SEAWEED_SECRET, SEAWEED_BUCKET = "tartape-py-key", "tartape-py-secret", "tapes"


def _weed() -> Path | None:
    out = subprocess.run(
        ["bash", str(REPO_ROOT / "tests/services/seaweedfs.sh"), "--cached"],
        capture_output=True,
        text=True,
    )
    path = out.stdout.strip()
    return Path(path) if out.returncode == 0 and path else None


def _free_port(taken: list) -> int:
    """A port p with p and p + 10000 (SeaweedFS's gRPC port) free on 127.0.0.1."""
    for p in range(21000 + os.getpid() % 4000, 31000):
        if p in taken:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 10000))
        except OSError:
            continue
        taken.append(p)
        return p
    raise RuntimeError("no free port")


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    weed = _weed()
    if weed is None:
        print("\n*** SKIPPED: SeaweedFS's weed is not built (tests/services/seaweedfs.sh) ***")
        pytest.skip("SeaweedFS's weed is not built (run tests/services/seaweedfs.sh)")
    d = tmp_path_factory.mktemp("weed")
    ports: list = []
    for _ in range(5):
        _free_port(ports)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=SEAWEED_KEY, AWS_SECRET_ACCESS_KEY=SEAWEED_SECRET)
    log = open(d / "weed.log", "wb")
    proc = subprocess.Popen(
        [
            str(weed), "mini", f"-dir={d / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", f"-bucket={SEAWEED_BUCKET}", "-webdav=false", "-s3.port.iceberg=0",
            "-admin.port.legacy=0", f"-s3.port={ports[0]}", f"-master.port={ports[1]}",
            f"-volume.port={ports[2]}", f"-filer.port={ports[3]}", f"-admin.port={ports[4]}",
        ],
        cwd=d, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
    )
    (d / "data").mkdir(exist_ok=True)
    import boto3  # only where the S3 tests run
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{ports[0]}",
        aws_access_key_id=SEAWEED_KEY,
        aws_secret_access_key=SEAWEED_SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.head_bucket(Bucket=SEAWEED_BUCKET)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"weed did not start: see {d / 'weed.log'}")
                time.sleep(0.25)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
