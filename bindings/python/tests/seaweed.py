"""A real S3 server for the tests and benchmarks: SeaweedFS's weed (built once per machine by
tests/services/seaweedfs.sh into ~/.cache/tartape-test) on loopback, on free ports, with a fresh
data directory, stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
KEY, SECRET, BUCKET = "tartape-py-key", "tartape-py-secret", "tapes"


def weed_binary() -> Optional[Path]:
    """The built weed, or None when it is not built (say so loudly and skip)."""
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


def client_options(endpoint: str) -> dict:
    """The keyword arguments of ``boto3.client("s3", ...)`` for the server at ``endpoint``."""
    from botocore.config import Config

    return {
        "endpoint_url": endpoint,
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
        "region_name": "us-east-1",
        "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    }


@contextlib.contextmanager
def server(weed: Path, d: Path) -> Iterator[Any]:
    """Runs weed in the fresh directory ``d`` until the block ends; yields a boto3 client of it
    once a signed HEAD of the bucket answers."""
    import boto3

    ports: list = []
    for _ in range(5):
        _free_port(ports)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    (d / "data").mkdir(parents=True, exist_ok=True)
    with open(d / "weed.log", "wb") as log:
        proc = subprocess.Popen(
            [
                str(weed), "mini", f"-dir={d / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", f"-bucket={BUCKET}", "-webdav=false",
                "-s3.port.iceberg=0", "-admin.port.legacy=0", f"-s3.port={ports[0]}",
                f"-master.port={ports[1]}", f"-volume.port={ports[2]}",
                f"-filer.port={ports[3]}", f"-admin.port={ports[4]}",
            ],
            cwd=d, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
    client = boto3.client("s3", **client_options(f"http://127.0.0.1:{ports[0]}"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.head_bucket(Bucket=BUCKET)
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
