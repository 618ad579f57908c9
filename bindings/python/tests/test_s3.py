"""Tape.upload_s3 over a real boto3 client against a real S3 server (SeaweedFS on loopback, built
once by tests/services/seaweedfs.sh): the object equals the archive and its ETag the predicted
one, with each checksum; an interrupted upload is resumed keeping the parts already there; a wrong
part in the bucket is replaced. Without a built server the tests say so loudly and skip."""

from __future__ import annotations

import hashlib
import os

import pytest

import tartape
from conftest import SEAWEED_BUCKET
from tartape.s3 import UploadError, choose_part_size, multipart_etag

BUCKET = SEAWEED_BUCKET


@pytest.fixture(scope="module")
def tape(tmp_path_factory):
    d = tmp_path_factory.mktemp("tree")
    (d / "sub").mkdir()
    (d / "big.bin").write_bytes(os.urandom((12 << 20) + 333))
    for i in range(30):
        (d / "sub" / f"f{i}.txt").write_bytes(b"x" * i)
    t = tartape.TapeBuilder().add_path(str(d), "tree").build()
    yield t
    t.close()


def _object(client, key: str) -> tuple:
    got = client.get_object(Bucket=BUCKET, Key=key)
    return got["Body"].read(), got["ETag"]


def _archive(t) -> bytes:
    return t.read_at(0, t.total_size)


def test_the_object_is_the_archive_with_the_predicted_etag(s3, tape):
    archive = _archive(tape)
    md5s = [
        hashlib.md5(archive[i : i + (5 << 20)]).digest() for i in range(0, len(archive), 5 << 20)
    ]
    etag = tape.upload_s3(s3, BUCKET, "plain.tar", part_size=5 << 20, workers=4)
    assert etag == multipart_etag(md5s)
    assert _object(s3, "plain.tar") == (archive, etag)


@pytest.mark.parametrize("checksum", ["crc32", "crc32c", "sha256"])
def test_additional_checksums_are_sent_and_checked_by_the_store(s3, tape, checksum):
    key = f"checked-{checksum}.tar"
    etag = tape.upload_s3(s3, BUCKET, key, part_size=5 << 20, checksum=checksum)
    assert _object(s3, key) == (_archive(tape), etag)


def test_an_interrupted_upload_resumes_keeping_the_parts_already_there(s3, tape):
    calls = []

    class Interrupted(Exception):
        pass

    class Flaky:
        """The caller's client, which fails on the third part sent."""

        def __getattr__(self, name):
            return getattr(s3, name)

        def upload_part(self, **kw):
            calls.append(kw["PartNumber"])
            if len(calls) == 3:
                raise Interrupted("network gone")
            return s3.upload_part(**kw)

    with pytest.raises(UploadError) as e:
        tape.upload_s3(Flaky(), BUCKET, "resumed.tar", part_size=5 << 20, workers=1)
    assert e.value.upload_id and "resume" in str(e.value)
    with pytest.raises(Exception):
        s3.head_object(Bucket=BUCKET, Key="resumed.tar")
    sent_again = []

    class Counting(Flaky):
        def upload_part(self, **kw):
            sent_again.append(kw["PartNumber"])
            return s3.upload_part(**kw)

    etag = tape.upload_s3(Counting(), BUCKET, "resumed.tar", part_size=5 << 20, workers=1)
    assert _object(s3, "resumed.tar") == (_archive(tape), etag)
    assert sent_again == [3], "only the part that was not there is sent again"


def test_a_wrong_part_in_the_bucket_is_replaced(s3, tape):
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="wrong.tar")["UploadId"]
    archive = _archive(tape)
    s3.upload_part(Bucket=BUCKET, Key="wrong.tar", UploadId=up, PartNumber=1, Body=archive[: 5 << 20])
    s3.upload_part(Bucket=BUCKET, Key="wrong.tar", UploadId=up, PartNumber=2, Body=b"\0" * (5 << 20))
    etag = tape.upload_s3(s3, BUCKET, "wrong.tar", part_size=5 << 20)
    assert _object(s3, "wrong.tar") == (archive, etag)


def test_part_sizes_follow_s3_limits():
    assert choose_part_size(100) == 8 << 20
    size = choose_part_size(1 << 40)
    assert size % (1 << 20) == 0 and -(-(1 << 40) // size) <= 10_000
    for bad in (1 << 20, 6 << 30):
        with pytest.raises(ValueError):
            choose_part_size(100 << 20, bad)


def test_a_missing_bucket_is_an_error_and_nothing_is_created(s3, tape):
    with pytest.raises(UploadError, match="no-such-bucket"):
        tape.upload_s3(s3, "no-such-bucket", "x.tar")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "no-such-bucket" not in names
