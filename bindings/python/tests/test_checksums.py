"""Checksums chosen per algorithm: SHA-256 and CRC-32C recorded, in FileEnd events (also from a
catalog and a resumed stream), compared by deep verification with the algorithm named."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Dict

import pytest

import tartape

crc32c = pytest.importorskip("crc32c")


def _ends(t: tartape.Tape, start: int = 0) -> Dict[str, tartape.FileEnd]:
    return {e.name: e for e in t.events(start) if isinstance(e, tartape.FileEnd)}


def test_recorded_sha256_and_crc32c_equal_hashlib_and_crc32c(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with tartape.TapeBuilder(checksums={"sha256", "crc32c"}) as b:
        assert b.checksums == frozenset({"sha256", "crc32c"})
        b.add_path(tmp_path / "data")
        t = b.build()
    ends = _ends(t)
    for name, data in tree.items():
        assert ends[name].sha256 == hashlib.sha256(data).hexdigest(), name
        assert ends[name].crc32c == "%08x" % crc32c.crc32c(data), name
    assert ends["data/link"].sha256 is None and ends["data"].crc32c is None
    # Kept by the catalog, and given for an entry the stream starts inside of.
    cat = tmp_path / "t.tartape"
    t.save(cat)
    with tartape.open(str(cat)) as opened:
        big = opened.locate("data/sub/big.bin")
        resumed = _ends(opened, big.data_offset + 10)
        assert resumed["data/sub/big.bin"].sha256 == hashlib.sha256(tree["data/sub/big.bin"]).hexdigest()
        assert resumed["data/sub/big.bin"].md5 is None


def test_true_is_md5_and_crc32_and_unknown_names_are_refused(tmp_path: Path, tree: Dict[str, bytes]) -> None:
    with tartape.TapeBuilder(checksums=True) as b:
        b.add_path(tmp_path / "data")
        t = b.build()
    end = _ends(t)["data/odd.bin"]
    assert end.md5 == hashlib.md5(tree["data/odd.bin"]).hexdigest() and end.sha256 is None
    with pytest.raises(tartape.InvalidArgumentError):
        tartape.TapeBuilder(checksums={"sha1"})


@pytest.mark.parametrize("algorithm,word", [("md5", "MD5"), ("crc32", "CRC-32"), ("sha256", "SHA-256"),
                                            ("crc32c", "CRC-32C")])
def test_deep_verify_names_the_algorithm_that_differs(tmp_path: Path, tree: Dict[str, bytes], algorithm: str,
                                                      word: str) -> None:
    with tartape.TapeBuilder(checksums={algorithm}) as b:
        b.add_path(tmp_path / "data")
        t = b.build()
    assert t.verify(deep=True).clean
    block = tmp_path / "data" / "block.bin"
    st = block.stat()
    with open(block, "r+b") as f:
        f.write(b"X")
    os.utime(block, ns=(st.st_atime_ns, st.st_mtime_ns))
    deep = t.verify(deep=True)
    [d] = deep.discrepancies
    assert (d.name, d.problem) == ("data/block.bin", "content")
    assert d.expected.startswith(word + " ") and d.found.startswith(word + " ") and d.expected != d.found
