"""Uploading a tape to S3 as a multipart upload, over a boto3 client the caller makes.

``Tape.upload_s3(client, bucket, key)`` reads each part with ``read_at`` straight from the sources
(no temporary file), sends ``workers`` parts at once (memory: workers x part size), each with its
Content-MD5 (and, with ``checksum=``, a CRC32, CRC32C or SHA256 the store checks), checks the ETag
the store answers for each part and the object's ETag once complete. With ``resume=True`` (the
default) an upload of the same key already in progress is continued: its parts are listed, those
whose MD5 and size are the archive's are kept, the others sent. The rules are the command line's
(``tartape upload``); boto3's own retries apply to each call. ``pip install tartape[s3]``.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Dict, List, Optional, Tuple

MIN_PART = 5 << 20
MAX_PART = 5 << 30
MAX_PARTS = 10_000

_CHECKSUMS = {
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "SHA256": "ChecksumSHA256",
}


class UploadError(Exception):
    """An upload that could not be completed; the upload stays in the store unless it says
    otherwise (``upload_id`` names it), so that it can be resumed."""

    def __init__(self, message: str, upload_id: Optional[str] = None) -> None:
        super().__init__(message)
        self.upload_id = upload_id


def choose_part_size(total: int, part_size: Optional[int] = None) -> int:
    """``part_size`` checked against S3's limits, or the smallest whole MiB, at least 8 MiB, that
    keeps ``total`` bytes within 10,000 parts."""
    if part_size is None:
        mib = 1 << 20
        per_part = -(-total // MAX_PARTS)  # ceil(total / 10,000)
        part_size = max(8 * mib, -(-per_part // mib) * mib)
    if part_size > MAX_PART:
        raise ValueError(f"part_size {part_size}: S3 takes parts of at most 5 GiB")
    if part_size < MIN_PART and total > part_size:
        raise ValueError(f"part_size {part_size}: S3 takes parts of at least 5 MiB except the last")
    count = max(1, -(-total // part_size))
    if count > MAX_PARTS:
        raise ValueError(
            f"{total} bytes in parts of {part_size} make {count} parts, more than S3's 10,000"
        )
    return part_size


def _crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) from the ``crc32c`` package (a pure-Python one would be far too slow
    for parts of megabytes)."""
    try:
        import crc32c  # type: ignore[import-not-found]
    except ImportError as e:
        raise UploadError("checksum='crc32c' needs the crc32c package (pip install crc32c)") from e
    return int(crc32c.crc32c(data))


def _checksum(algorithm: Optional[str], data: bytes) -> Optional[bytes]:
    if algorithm is None:
        return None
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "CRC32C":
        return _crc32c(data).to_bytes(4, "big")
    if algorithm == "SHA256":
        return hashlib.sha256(data).digest()
    raise ValueError(f"checksum {algorithm!r}: use None, 'CRC32', 'CRC32C' or 'SHA256'")


def part_span(total: int, part_size: int, number: int) -> Tuple[int, int]:
    """Where part ``number`` (1-based) of an archive of ``total`` bytes in parts of ``part_size``
    starts, and how long it is (the last one may be shorter)."""
    start = (number - 1) * part_size
    return start, min(start + part_size, total) - start


def multipart_etag(md5s: List[bytes]) -> str:
    """The ETag of an object assembled from parts with these MD5s: the MD5 of their
    concatenation, ``-N``, in quotes."""
    return '"%s-%d"' % (hashlib.md5(b"".join(md5s)).hexdigest(), len(md5s))


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def send_part(
    client: Any,
    bucket: str,
    key: str,
    upload_id: str,
    number: int,
    data: bytes,
    algorithm: Optional[str],
) -> Tuple[bytes, Optional[bytes]]:
    """UploadPart of ``data`` as part ``number``, with its Content-MD5 (and the additional
    checksum ``algorithm``, upper case, if any); the ETag the store answers must be the MD5.
    Returns the part's MD5 and additional checksum (raw)."""
    md5 = hashlib.md5(data).digest()
    extra = _checksum(algorithm, data)
    args: Dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": number,
        "Body": data,
        "ContentMD5": _b64(md5),
    }
    if extra is not None and algorithm is not None:
        args[_CHECKSUMS[algorithm]] = _b64(extra)
    answered = client.upload_part(**args)["ETag"]
    if answered != '"%s"' % md5.hex():
        raise UploadError(
            f"part {number}: the store answered ETag {answered}, the part's MD5 is {md5.hex()}",
            upload_id,
        )
    return md5, extra


def upload_s3(
    tape: Any,
    client: Any,
    bucket: str,
    key: str,
    part_size: Optional[int] = None,
    workers: int = 8,
    resume: bool = True,
    checksum: Optional[str] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> str:
    """Uploads ``tape`` to ``s3://bucket/key``; returns the object's ETag. ``progress(done,
    total)`` is called as parts are in the store (from worker threads)."""
    if tape.stream_only:
        raise UploadError("a stream-only tape (deflated ZIP) cannot be uploaded in parts")
    algorithm = checksum.upper() if checksum else None
    if algorithm is not None and algorithm not in _CHECKSUMS:
        raise ValueError(f"checksum {checksum!r}: use None, 'crc32', 'crc32c' or 'sha256'")
    total = tape.total_size
    size = choose_part_size(total, part_size)
    count = max(1, -(-total // size))

    # Some stores create a missing bucket on the first write: an upload never does.
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as e:
        raise UploadError(f"s3://{bucket}/{key}: the bucket cannot be used: {e}") from e
    upload_id = None
    listed: Dict[int, List[Tuple[str, int]]] = {}
    if resume:
        found = client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
        found = sorted((u for u in found if u.get("Key") == key), key=lambda u: u["Initiated"])
        if len(found) > 1:
            ids = ", ".join(u["UploadId"] for u in found)
            raise UploadError(f"{len(found)} uploads of s3://{bucket}/{key} are in progress ({ids})")
        if found:
            upload_id = found[0]["UploadId"]
            marker = 0
            while True:
                page = client.list_parts(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
                for p in page.get("Parts", []):
                    listed.setdefault(p["PartNumber"], []).append((p["ETag"], p["Size"]))
                if not page.get("IsTruncated"):
                    break
                marker = page["NextPartNumberMarker"]
    if upload_id is None:
        extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        upload_id = client.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType="application/x-tar", **extra
        )["UploadId"]

    done_bytes = [0]

    def send(n: int) -> Tuple[int, str, Optional[bytes], bytes]:
        start, length = part_span(total, size, n)
        data = tape.read_at(start, length)
        if len(data) != length:
            raise UploadError(f"part {n}: the archive ends early", upload_id)
        md5 = hashlib.md5(data).digest()
        etag = '"%s"' % md5.hex()
        if (etag, len(data)) in listed.get(n, []):
            extra_sum = _checksum(algorithm, data)
        else:
            md5, extra_sum = send_part(client, bucket, key, upload_id, n, data, algorithm)
        done_bytes[0] += len(data)
        if progress is not None:
            progress(done_bytes[0], total)
        return n, etag, extra_sum, md5

    def guarded(n: int) -> Tuple[int, str, Optional[bytes], bytes]:
        try:
            return send(n)
        except UploadError:
            raise
        except Exception as e:  # a source that changed, the store refusing: resumable
            raise UploadError(
                f"s3://{bucket}/{key}: part {n}: {e} (upload {upload_id} is left in the store: "
                "call again to resume it)",
                upload_id,
            ) from e

    results = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = set()
        for n in range(1, count + 1):
            # At most `workers` parts in memory: wait for one before reading the next.
            while len(pending) >= max(1, workers):
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for f in finished:
                    results.append(f.result())
            pending.add(pool.submit(guarded, n))
        for f in pending:
            results.append(f.result())
    results.sort()
    parts = []
    for n, etag, extra_sum, _ in results:
        p: Dict[str, Any] = {"PartNumber": n, "ETag": etag}
        if extra_sum is not None:
            p[_CHECKSUMS[algorithm]] = _b64(extra_sum)  # type: ignore[index]
        parts.append(p)
    answer = client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    expected = multipart_etag([r[3] for r in results])
    if answer.get("ETag") != expected:
        raise UploadError(
            f"s3://{bucket}/{key}: the store's ETag {answer.get('ETag')} is not the archive's "
            f"{expected}"
        )
    return expected
