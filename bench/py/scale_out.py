"""Scale-out figures for docs/SCALE-OUT.md: one archive made by 1, 2 and 3 Dask workers
(LocalCluster, separate processes on loopback), uploaded to SeaweedFS (tartape.dask.upload) and
written in place (tartape.dask.write), beside one process doing the same (`tartape upload` with
8 jobs, `tartape write` with 2 threads). Every result is checked: the object's ETag is the one
`tartape record --part-size` predicted, the written file's SHA-256 is that of `tartape create`.
Objects and files are deleted after each run. Prints a Markdown table, appends JSON lines to --out.

Run by bench/scale_out.sh (which makes its venv); loads the binding from bindings/python/src and the
library from target/release (TARTAPE_LIBRARY).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings/python/tests"))

import seaweed  # noqa: E402
import tartape.dask as ttdask  # noqa: E402

CLI = str(ROOT / "target/release/tartape")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--part-size", default="16M")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    part = int(args.part_size[:-1]) << 20 if args.part_size.endswith("M") else int(args.part_size)
    weed = seaweed.weed_binary()
    if weed is None:
        print("SeaweedFS's weed is not built: run tests/services/seaweedfs.sh", file=sys.stderr)
        return 2
    import distributed

    scratch = Path(tempfile.mkdtemp(prefix="scale-out-", dir=os.environ.get("TMPDIR")))
    rows = []
    try:
        catalog = scratch / "data.tartape"
        shown = subprocess.run(
            [CLI, "record", str(args.data), "--catalog", str(catalog), "--part-size", str(part)],
            check=True, capture_output=True, text=True,
        ).stdout
        etag = next(l.split(": ", 1)[1] for l in shown.splitlines() if "multipart etag" in l)
        created = scratch / "created.tar"
        subprocess.run([CLI, "create", str(args.data), "-o", str(created)], check=True)
        total, want = created.stat().st_size, sha256_of(created)
        created.unlink()
        with seaweed.server(weed, scratch / "weed") as s3:
            options = seaweed.client_options(s3.meta.endpoint_url)
            env = dict(
                os.environ, AWS_ACCESS_KEY_ID=seaweed.KEY, AWS_SECRET_ACCESS_KEY=seaweed.SECRET,
                AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
            )

            def record(job: str, workers: int, seconds: float) -> None:
                row = {"job": job, "workers": workers, "bytes": total, "seconds": seconds,
                       "mb_s": total / seconds / 1e6}
                rows.append(row)
                print(json.dumps(row), flush=True)

            def one_process(rep: int) -> None:
                key = f"cli-{rep}.tar"
                t = time.perf_counter()
                subprocess.run(
                    [CLI, "upload", str(catalog), f"s3://{seaweed.BUCKET}/{key}", "--endpoint",
                     s3.meta.endpoint_url, "--part-size", str(part), "--jobs", "8", "-q"],
                    check=True, env=env, stdout=subprocess.DEVNULL,
                )
                record("upload, one process (tartape upload --jobs 8)", 0, time.perf_counter() - t)
                got = s3.head_object(Bucket=seaweed.BUCKET, Key=key)["ETag"]
                assert got == etag, (got, etag)
                s3.delete_object(Bucket=seaweed.BUCKET, Key=key)
                out = scratch / "cli.tar"
                t = time.perf_counter()
                subprocess.run([CLI, "write", str(catalog), str(out), "--jobs", "2",
                                "--part-size", str(part)], check=True, stdout=subprocess.DEVNULL)
                record("write, one process (tartape write --jobs 2)", 0, time.perf_counter() - t)
                assert sha256_of(out) == want
                out.unlink()

            for rep in range(args.reps):
                one_process(rep)
                for workers in [int(w) for w in args.workers.split(",")]:
                    with distributed.LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=40,
                    ) as cluster, distributed.Client(cluster) as client:
                        key = f"dask-{rep}-{workers}.tar"
                        t = time.perf_counter()
                        got = ttdask.upload(catalog, f"s3://{seaweed.BUCKET}/{key}", client,
                                            part_size=part, s3_options=options)
                        record("upload, tartape.dask.upload", workers, time.perf_counter() - t)
                        assert got == etag, (got, etag)
                        s3.delete_object(Bucket=seaweed.BUCKET, Key=key)
                        out = scratch / f"dask-{workers}.tar"
                        t = time.perf_counter()
                        ttdask.write(catalog, out, client, part_size=part)
                        record("write, tartape.dask.write", workers, time.perf_counter() - t)
                        assert sha256_of(out) == want
                        out.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.out:
        with open(args.out, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    print(f"\n{total / 2**20:.0f} MiB, parts of {part >> 20} MiB, {args.reps} runs each "
          f"(median, min-max MB/s)\n")
    print("| job | workers | MB/s (median) | min-max |")
    print("|---|---|---|---|")
    for job, workers in dict.fromkeys((r["job"], r["workers"]) for r in rows):
        rates = sorted(r["mb_s"] for r in rows if r["job"] == job and r["workers"] == workers)
        median = rates[len(rates) // 2] if len(rates) % 2 else sum(rates[len(rates) // 2 - 1:][:2]) / 2
        print(f"| {job} | {workers or '-'} | {median:.0f} | {rates[0]:.0f}-{rates[-1]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
