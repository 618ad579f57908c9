"""One archive from many machines, with Dask distributed: ``upload`` makes the parts of a multipart
upload on the cluster's workers, ``write`` writes the parts of one file in place on a shared file
system. ``pip install tartape[dask]``; docs/SCALE-OUT.md says how it works and how to run it.

The catalog is the plan. Its layout fixes every byte before any content is read, so a part's bytes
do not depend on the worker that makes it: each task opens the catalog (from a path every worker
sees, or from bytes shipped to them), checks that its fingerprint is the client's, reads its parts
with ``read_at`` from the sources (which must be at the same paths on every worker) and uploads
them (UploadPart with Content-MD5) or ``pwrite``\\ s them at their offsets. Tasks are idempotent, so
Dask may retry one that failed or remake those of a worker it lost. A source that changed (or is
missing) is not retried: the whole job stops with the error naming the file, and nothing is
completed (the upload is aborted, the partial file removed).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import catalog as _catalog
from .errors import TarTapeError
from .s3 import _CHECKSUMS, UploadError, _b64, choose_part_size, multipart_etag, part_span, send_part
from .tape import Tape

CatalogArg = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

__all__ = ["upload", "write", "Progress", "WriteError", "UploadError"]


class WriteError(Exception):
    """A ``write`` that could not be completed; the output file was not created or replaced."""


class Progress(NamedTuple):
    """What ``progress`` callbacks get, in the client, as tasks finish."""

    parts_done: int
    parts_total: int
    bytes_done: int
    bytes_total: int
    seconds: float

    @property
    def rate(self) -> float:
        """Bytes per second since the job started."""
        return self.bytes_done / self.seconds if self.seconds > 0 else 0.0


# --- on the workers -------------------------------------------------------------------------

# Tapes opened by this worker process, by fingerprint: tasks of one job share one opened catalog.
_OPENED: "OrderedDict[str, Tape]" = OrderedDict()
_OPENED_LOCK = threading.Lock()
_OPENED_MAX = 4


def _open_on_worker(source: Tuple[str, Any], fingerprint: str) -> Tape:
    with _OPENED_LOCK:
        tape = _OPENED.get(fingerprint)
        if tape is not None:
            _OPENED.move_to_end(fingerprint)
            return tape
        kind, value = source
        tape = _catalog.open(value) if kind == "path" else _catalog.open_bytes(value)
        found = tape.fingerprint
        if found != fingerprint:
            tape.close()
            raise _Final(
                f"the catalog this worker opened ({value if kind == 'path' else 'bytes'}) has "
                f"fingerprint {found}, the client's has {fingerprint}: it is not the same catalog"
            )
        _OPENED[fingerprint] = tape
        while len(_OPENED) > _OPENED_MAX:
            _OPENED.popitem(last=False)[1].close()
        return tape


class _Final(Exception):
    """An error that a retry cannot fix (a changed source, another catalog): reported, not raised,
    so that Dask does not run the task again."""


def _ranges(total: int, part_size: int, numbers: Sequence[int]) -> List[Tuple[int, int, int]]:
    return [(n, *part_span(total, part_size, n)) for n in numbers]


def _guard(work: Callable[[], List[Tuple[Any, ...]]]) -> Dict[str, Any]:
    try:
        return {"parts": work()}
    except _Final as e:
        return {"error": str(e)}
    except TarTapeError as e:  # from the engine: a changed or missing source, a damaged catalog
        return {"error": f"{type(e).__name__}: {e}"}


def _upload_task(
    source: Tuple[str, Any],
    fingerprint: str,
    part_size: int,
    numbers: Sequence[int],
    bucket: str,
    key: str,
    upload_id: str,
    s3_options: Dict[str, Any],
    algorithm: Optional[str],
) -> Dict[str, Any]:
    def work() -> List[Tuple[Any, ...]]:
        import boto3

        tape = _open_on_worker(source, fingerprint)
        client = boto3.client("s3", **s3_options)
        done = []
        for n, start, size in _ranges(tape.total_size, part_size, numbers):
            data = tape.read_at(start, size)
            if len(data) != size:
                raise _Final(f"part {n}: the archive ends at {start + len(data)}, not {start + size}")
            # A wrong ETag is raised (UploadError): the store may answer right next time.
            md5, extra = send_part(client, bucket, key, upload_id, n, data, algorithm)
            done.append((n, size, md5, extra))
        return done

    return _guard(work)


def _write_task(
    source: Tuple[str, Any],
    fingerprint: str,
    part_size: int,
    numbers: Sequence[int],
    partial: str,
) -> Dict[str, Any]:
    def work() -> List[Tuple[Any, ...]]:
        tape = _open_on_worker(source, fingerprint)
        try:
            fd = os.open(partial, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise _Final(
                f"{partial}: not found on this worker: the output directory must be on a file "
                "system every worker shares"
            ) from None
        try:
            done = []
            for n, start, size in _ranges(tape.total_size, part_size, numbers):
                data = tape.read_at(start, size)
                if len(data) != size:
                    raise _Final(f"part {n}: the archive ends at {start + len(data)}")
                view, at = memoryview(data), start
                while view:  # pwrite may write less than asked
                    wrote = os.pwrite(fd, view, at)
                    view, at = view[wrote:], at + wrote
                done.append((n, size, hashlib.md5(data).digest(), None))
            os.fsync(fd)  # durable before it is reported done
            return done
        finally:
            os.close(fd)

    return _guard(work)


# --- in the client --------------------------------------------------------------------------


def _plan(catalog: CatalogArg, client: Any) -> Tuple[Tape, Tuple[str, Any]]:
    """Opens the catalog here and says how workers get it: a path they share, or the bytes
    scattered to every worker once."""
    if isinstance(catalog, (bytes, bytearray, memoryview)):
        data = bytes(catalog)
        tape = _catalog.open_bytes(data)
        return tape, ("bytes", client.scatter(data, broadcast=True, hash=False))
    path = os.path.abspath(os.fspath(catalog))
    return _catalog.open(path), ("path", path)


def _batches(count: int, client: Any, parts_per_task: Optional[int]) -> List[List[int]]:
    if parts_per_task is None:
        # A few tasks per worker thread: work spreads, and a lost worker costs little.
        threads = max(1, sum(client.nthreads().values()))
        parts_per_task = max(1, -(-count // (threads * 4)))
    if parts_per_task < 1:
        raise ValueError(f"parts_per_task {parts_per_task}: at least 1")
    numbers = list(range(1, count + 1))
    return [numbers[i : i + parts_per_task] for i in range(0, count, parts_per_task)]


def _run(
    client: Any,
    tasks: List[Any],
    count: int,
    total: int,
    progress: Optional[Callable[[Progress], None]],
) -> List[Tuple[Any, ...]]:
    """Waits for every task; the first final error cancels the rest and is raised."""
    from distributed import as_completed

    started = time.monotonic()
    parts: List[Tuple[Any, ...]] = []
    done_bytes = 0
    try:
        for future in as_completed(tasks):
            result = future.result()
            if "error" in result:
                raise _Final(result["error"])
            parts.extend(result["parts"])
            done_bytes += sum(p[1] for p in result["parts"])
            if progress is not None:
                progress(Progress(len(parts), count, done_bytes, total, time.monotonic() - started))
    except BaseException:
        client.cancel(tasks)
        raise
    parts.sort(key=lambda p: p[0])
    if [p[0] for p in parts] != list(range(1, count + 1)):
        raise _Final(f"{len(parts)} parts were made, the archive has {count}")
    return parts


def upload(
    catalog: CatalogArg,
    url: str,
    client: Any,
    part_size: Optional[int] = None,
    s3_options: Optional[Dict[str, Any]] = None,
    *,
    checksum: Optional[str] = None,
    parts_per_task: Optional[int] = None,
    retries: int = 3,
    progress: Optional[Callable[[Progress], None]] = None,
) -> str:
    """Uploads the archive of ``catalog`` (a path every worker sees, or the catalog's bytes) to
    ``url`` (``s3://BUCKET/KEY``) as one multipart upload whose parts the workers of the Dask
    ``client`` make; returns the object's ETag, checked against the parts' MD5s. ``s3_options``
    are the keyword arguments of ``boto3.client("s3", ...)`` on every worker and here (endpoint_url,
    region_name, config; credentials from each process's environment). ``part_size`` as in
    :func:`tartape.s3.choose_part_size`; ``checksum`` adds S3's CRC32, CRC32C or SHA256 per part.
    On failure the upload is aborted and :class:`UploadError` names the part or file."""
    import boto3

    if not url.startswith("s3://") or "/" not in url[5:] or url.endswith("/"):
        raise ValueError(f"{url!r}: not s3://BUCKET/KEY")
    bucket, key = url[5:].split("/", 1)
    algorithm = checksum.upper() if checksum else None
    if algorithm is not None and algorithm not in _CHECKSUMS:
        raise ValueError(f"checksum {checksum!r}: use None, 'crc32', 'crc32c' or 'sha256'")
    options = dict(s3_options or {})
    tape, source = _plan(catalog, client)
    with tape:
        if tape.stream_only:
            raise UploadError("a stream-only tape (deflated ZIP) cannot be uploaded in parts")
        total, fingerprint = tape.total_size, tape.fingerprint
    size = choose_part_size(total, part_size)
    count = max(1, -(-total // size))
    s3 = boto3.client("s3", **options)
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as e:  # some stores create a missing bucket on the first write
        raise UploadError(f"s3://{bucket}/{key}: the bucket cannot be used: {e}") from e
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType="application/x-tar", **extra
    )["UploadId"]
    try:
        tasks = [
            client.submit(
                _upload_task, source, fingerprint, size, batch, bucket, key, upload_id, options,
                algorithm, pure=False, retries=retries,
            )
            for batch in _batches(count, client, parts_per_task)
        ]
        parts = _run(client, tasks, count, total, progress)
        listed = []
        for n, _, md5, extra_sum in parts:
            part: Dict[str, Any] = {"PartNumber": n, "ETag": '"%s"' % md5.hex()}
            if algorithm is not None and extra_sum is not None:
                part[_CHECKSUMS[algorithm]] = _b64(extra_sum)
            listed.append(part)
        answer = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
        )
    except BaseException as e:
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:
            pass
        if isinstance(e, _Final):
            raise UploadError(f"s3://{bucket}/{key}: {e} (the upload was aborted)") from None
        raise
    expected = multipart_etag([p[2] for p in parts])
    if answer.get("ETag") != expected:
        raise UploadError(
            f"s3://{bucket}/{key}: the store's ETag {answer.get('ETag')} is not the archive's "
            f"{expected}"
        )
    return expected


def write(
    catalog: CatalogArg,
    path: Union[str, "os.PathLike[str]"],
    client: Any,
    part_size: int = 64 << 20,
    *,
    parts_per_task: Optional[int] = None,
    retries: int = 3,
    progress: Optional[Callable[[Progress], None]] = None,
) -> int:
    """Writes the archive of ``catalog`` to ``path`` on a file system every worker shares: the
    client makes a file of the archive's size beside ``path``, the workers ``pwrite`` their parts
    at their offsets (never overlapping) and sync them, then the client syncs the file and renames
    it into place. Returns the archive's size. On failure ``path`` is left as it was and the partial
    file removed; :class:`WriteError` names the part or file."""
    if part_size < 1:
        raise ValueError(f"part_size {part_size}: at least 1 byte")
    target = os.path.abspath(os.fspath(path))
    tape, source = _plan(catalog, client)
    with tape:
        if tape.stream_only:
            raise WriteError("a stream-only tape (deflated ZIP) cannot be written in parts")
        total, fingerprint = tape.total_size, tape.fingerprint
    count = max(1, -(-total // part_size))
    directory, name = os.path.split(target)
    partial = os.path.join(directory, f".{name}.{fingerprint[:12]}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            os.ftruncate(fd, total)
        finally:
            os.close(fd)
        tasks = [
            client.submit(
                _write_task, source, fingerprint, part_size, batch, partial,
                pure=False, retries=retries,
            )
            for batch in _batches(count, client, parts_per_task)
        ]
        _run(client, tasks, count, total, progress)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)  # the rename is durable once the directory is
        finally:
            os.close(dfd)
    except BaseException as e:
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
        if isinstance(e, _Final):
            raise WriteError(f"{target}: {e} (nothing was written there)") from None
        raise
    return total
