"""Shared fixtures: a small tree of files on disk and tapes built over it."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Dict

import pytest

import seaweed
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


# --- a real S3 server: SeaweedFS on loopback (seaweed.py) -------------------------------------

SEAWEED_KEY, SEAWEED_SECRET, SEAWEED_BUCKET = seaweed.KEY, seaweed.SECRET, seaweed.BUCKET


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    weed = seaweed.weed_binary()
    if weed is None:
        print("\n*** SKIPPED: SeaweedFS's weed is not built (tests/services/seaweedfs.sh) ***")
        pytest.skip("SeaweedFS's weed is not built (run tests/services/seaweedfs.sh)")
    with seaweed.server(weed, tmp_path_factory.mktemp("weed")) as client:
        yield client
