"""boto3's upload_file (its TransferManager: a multipart upload, parts read from the file by
threads) of an archive already on disk, as a Python user uploads the tar GNU tar wrote.

Run with the interpreter of bench/.venv-boto3. The endpoint, bucket and credentials come from the
environment the benchmark sets (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION). TransferConfig: multipart_chunksize = multipart_threshold = PART_SIZE bytes,
max_concurrency = JOBS, use_threads on: the part size and concurrency `tartape upload` is given.
boto3's own checksum default is kept (request_checksum_calculation "when_supported": a CRC32 of each
part, which the store checks). Prints one JSON line: bytes, the object's ETag, the boto3 version.
Usage: python boto3_upload.py FILE BUCKET KEY PART_SIZE JOBS
"""

import json
import os
import sys
import time


def main() -> int:
    path, bucket, key = sys.argv[1], sys.argv[2], sys.argv[3]
    part_size, jobs = int(sys.argv[4]), int(sys.argv[5])
    import boto3
    from boto3.s3.transfer import TransferConfig

    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    config = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size,
                            max_concurrency=jobs, use_threads=True)
    t0 = time.perf_counter()
    s3.upload_file(path, bucket, key, Config=config)
    seconds = time.perf_counter() - t0
    head = s3.head_object(Bucket=bucket, Key=key)
    size = os.path.getsize(path)
    if head["ContentLength"] != size:
        print(f"boto3_upload: the object has {head['ContentLength']} bytes, the file {size}", file=sys.stderr)
        return 1
    print(json.dumps({"bytes": size, "etag": head["ETag"], "upload_s": seconds, "boto3": boto3.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
