#!/usr/bin/env python3
"""The tartape performance harness: datasets, contenders run in alternation, results as JSON lines.

Called by bench/run.sh after the build. Every run is a fresh process; wall time is measured around the
whole command (a pipeline included), CPU time and peak RSS come from wait4 on it. Each group's
contenders run REPS times in alternation (the order rotates each round) so that noise from other work
on the machine falls on all of them alike. bench/report.py turns the JSON lines into BENCHMARKS.md.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
REL = ROOT / "target" / "release"
BIN = ROOT / "target" / "bench"
TARTAPE = REL / "tartape"
PY_TARTAPE3 = BENCH / ".venv-tartape3" / "bin" / "python"
PY_BOTO3 = BENCH / ".venv-boto3" / "bin" / "python"
# SeaweedFS's S3 server, built once per machine by tests/services/seaweedfs.sh (the tests' server).
WEED_SCRIPT = ROOT / "tests" / "services" / "seaweedfs.sh"

CONFIGS = {
    "full": dict(large_files=4, large_mib=256, large4_copies=4, small_files=20000, small_dirs=100,
                 small_max=8192, tree_entries=200000, tree_dirs=200, random_calls=200000, resume_reps=11,
                 text_files=64, text_mib=4),
    "quick": dict(large_files=4, large_mib=16, large4_copies=4, small_files=2000, small_dirs=10,
                  small_max=8192, tree_entries=20000, tree_dirs=20, random_calls=20000, resume_reps=5,
                  text_files=16, text_mib=1),
}
GROUPS = ["large_inproc", "large_pipe", "large_md5", "small", "tree", "memory", "random", "resume",
          "tartape3", "binding", "compress", "seekable", "profile", "serve", "write_file", "reflink",
          "upload", "record_scale", "record_scale_10m"]
DATASET_VERSION = 1


class Harness:
    def __init__(self, mode: str, reps: int, out: Path):
        self.mode = mode
        self.cfg = CONFIGS[mode]
        self.reps = reps
        self.data = BENCH / "data" / mode
        self.out = out
        self.data.mkdir(parents=True, exist_ok=True)

    # ---- output ----
    def emit(self, record: dict) -> None:
        with open(self.out, "a") as f:
            f.write(json.dumps(record) + "\n")

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # ---- datasets ----
    def dataset(self, name: str) -> Path:
        path = self.data / name
        marker = self.data / f".ready-{name}"
        want = json.dumps({"v": DATASET_VERSION, "cfg": self.cfg}, sort_keys=True)
        if marker.exists() and marker.read_text() == want and path.exists():
            return path
        self.log(f"generating dataset {name} in {path}")
        if path.exists():
            shutil.rmtree(path)
        marker.unlink(missing_ok=True)
        getattr(self, f"make_{name}")(path)
        marker.write_text(want)
        return path

    def make_large(self, path: Path) -> None:
        path.mkdir(parents=True)
        chunk = 16 << 20
        for i in range(self.cfg["large_files"]):
            with open(path / f"f{i}", "wb") as f:
                left = self.cfg["large_mib"] << 20
                while left:
                    n = min(chunk, left)
                    f.write(os.urandom(n))
                    left -= n

    def make_large4(self, path: Path) -> None:
        # Four times the large set as hard links: 4x the bytes to stream, no more disk or page cache.
        # tartape (like the readers) stores each link as a full file.
        large = self.dataset("large")
        path.mkdir(parents=True)
        for c in range(self.cfg["large4_copies"]):
            for i in range(self.cfg["large_files"]):
                os.link(large / f"f{i}", path / f"c{c}-f{i}")

    def make_small(self, path: Path) -> None:
        rng = random.Random(20000)
        pool = os.urandom(2 * self.cfg["small_max"] + 1)
        dirs = self.cfg["small_dirs"]
        per_dir = self.cfg["small_files"] // dirs
        for d in range(dirs):
            sub = path / f"d{d:03d}"
            sub.mkdir(parents=True)
            for i in range(per_dir):
                size = rng.randint(0, self.cfg["small_max"])
                at = rng.randint(0, self.cfg["small_max"])
                with open(sub / f"f{i:05d}", "wb") as f:
                    f.write(pool[at:at + size])

    def make_text(self, path: Path) -> None:
        # Compressible files: lines of words and numbers, different in every file.
        rng = random.Random(64)
        words = [w.encode() for w in "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()]
        path.mkdir(parents=True)
        for i in range(self.cfg["text_files"]):
            want = self.cfg["text_mib"] << 20
            parts, n = [], 0
            while n < want:
                line = b" ".join(rng.choices(words, k=8)) + b" %d\n" % rng.randrange(1 << 30)
                parts.append(line)
                n += len(line)
            (path / f"t{i:03d}.txt").write_bytes(b"".join(parts)[:want])

    def make_tree(self, path: Path) -> None:
        # entries = the root + dirs + files, all files empty.
        dirs = self.cfg["tree_dirs"]
        files = self.cfg["tree_entries"] - 1 - dirs
        path.mkdir(parents=True)
        for d in range(dirs):
            sub = path / f"dir{d:04d}"
            sub.mkdir()
            n = files // dirs + (1 if d < files % dirs else 0)
            for i in range(n):
                os.close(os.open(sub / f"entry-{i:06d}.txt", os.O_CREAT | os.O_WRONLY, 0o644))

    def files_of(self, path: Path) -> list:
        return sorted(str(p) for p in path.rglob("*") if p.is_file())

    def warm(self, *paths: Path) -> None:
        # Read every file once so each contender finds the bytes in the page cache.
        for p in paths:
            subprocess.run(f"find {p.name} -type f -print0 | xargs -0 cat > /dev/null", shell=True,
                           cwd=p.parent, check=True)

    # ---- running ----
    def run(self, cmd, cwd: Path, shell: bool = False) -> dict:
        if shell:
            cmd = ["bash", "-o", "pipefail", "-c", cmd]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out = p.stdout.read().decode(errors="replace")
        err = p.stderr.read().decode(errors="replace")
        p.stdout.close()
        p.stderr.close()
        if p.returncode != 0:
            raise RuntimeError(f"{cmd} failed ({p.returncode}): {err.strip()[-2000:]}")
        # (wait4's ru_maxrss is not used: it keeps the peak of the forked Python before exec.)
        result = {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "stdout": out, "stderr": err}
        for line in out.splitlines() + err.splitlines():
            line = line.strip()
            if line.startswith("{") and line.endswith("}"):
                try:
                    result["json"] = json.loads(line)
                except json.JSONDecodeError:
                    pass
        return result

    def alternate(self, group: str, contenders: dict, cwd: Path, reps: int = 0,
                  prepare: str = "") -> dict:
        """Runs each contender (name -> (cmd, shell)) reps times in rotating order; returns name -> runs.
        `prepare`, a shell command run untimed before every timed run, resets shared state (such as
        the disk's queue of dirty pages) so that no run pays for the one before it."""
        reps = reps or self.reps
        names = list(contenders)
        runs = {n: [] for n in names}
        for rep in range(reps):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for name in order:
                cmd, shell = contenders[name]
                if prepare:
                    self.run(prepare, cwd, True)
                r = self.run(cmd, cwd, shell)
                rec = {"kind": "run", "group": group, "contender": name, "rep": rep,
                       "cmd": cmd if isinstance(cmd, str) else " ".join(map(str, cmd)),
                       "wall": r["wall"], "user": r["user"], "sys": r["sys"], "json": r.get("json")}
                self.emit(rec)
                runs[name].append(rec)
            self.log(f"{group}: round {rep + 1}/{reps} done")
        return runs

    def sizes(self, group: str, contenders: dict, cwd: Path, times: int = 2) -> dict:
        """Output size of each pipe contender, run `times` more times into `wc -c` (untimed)."""
        result = {}
        for name, cmd in contenders.items():
            sizes = [int(self.run(f"{cmd} | wc -c", cwd, shell=True)["stdout"].split()[0])
                     for _ in range(times)]
            result[name] = sizes
            self.emit({"kind": "size", "group": group, "contender": name, "sizes": sizes,
                       "same_across_runs": len(set(sizes)) == 1})
            if len(set(sizes)) != 1:
                raise RuntimeError(f"{group}/{name}: output size differs between runs: {sizes}")
        return result

    def check_equal(self, group: str, what: str, a: int, b: int) -> None:
        self.emit({"kind": "check", "group": group, "what": what, "a": a, "b": b, "ok": a == b})
        if a != b:
            raise RuntimeError(f"{group}: {what}: {a} != {b}")

    # ---- groups ----
    def pipe_group(self, group: str, data: Path, extra: dict = None) -> None:
        name = data.name
        pipes = {
            "gnu_tar": f"tar cf - {name}",
            "bsdtar": f"bsdtar cf - {name}",
            "ours_cli": f"{TARTAPE} create {name}",
            "ours_cli_md5": f"{TARTAPE} create --manifest /tmp/tartape-bench-manifest.jsonl --md5 {name}",
            "ours_c_pipe": f"{BIN / 'tt_stream'} --write {name}",
            "ours_c_read_pipe": f"{BIN / 'tt_stream'} --read --write {name}",
        }
        self.warm(data)
        contenders = {k: (f"{v} | cat > /dev/null", True) for k, v in pipes.items()}
        contenders["ours_inproc"] = ([str(BIN / "tt_stream"), name], False)
        contenders["ours_inproc_read"] = ([str(BIN / "tt_stream"), "--read", name], False)
        contenders.update(extra or {})
        runs = self.alternate(group, contenders, data.parent)
        sizes = self.sizes(group, pipes, data.parent)
        inproc = {r["json"]["bytes"] for r in runs["ours_inproc"]}
        if len(inproc) != 1:
            raise RuntimeError(f"{group}: in-process sizes differ between runs: {inproc}")
        self.check_equal(group, "ours_cli bytes == ours_inproc bytes", sizes["ours_cli"][0], inproc.pop())
        self.check_equal(group, "ours_cli bytes == ours_cli_md5 bytes", sizes["ours_cli"][0],
                         sizes["ours_cli_md5"][0])
        self.check_equal(group, "ours_cli bytes == ours_c_pipe bytes", sizes["ours_cli"][0],
                         sizes["ours_c_pipe"][0])
        self.check_equal(group, "ours_cli bytes == ours_c_read_pipe bytes", sizes["ours_cli"][0],
                         sizes["ours_c_read_pipe"][0])
        read = {r["json"]["bytes"] for r in runs["ours_inproc_read"]}
        if len(read) != 1:
            raise RuntimeError(f"{group}: in-process read sizes differ between runs: {read}")
        self.check_equal(group, "ours_inproc_read bytes == ours_inproc bytes", read.pop(),
                         sizes["ours_cli"][0])

    def g_large_inproc(self) -> None:
        large = self.dataset("large")
        self.warm(large)
        files = self.files_of(large)
        runs = self.alternate("large_inproc", {
            "pread_loop": ([str(BIN / "pread_loop")] + files, False),
            "ours_inproc": ([str(BIN / "tt_stream"), "large"], False),
        }, large.parent)
        for name, rs in runs.items():
            if len({r["json"]["bytes"] for r in rs}) != 1:
                raise RuntimeError(f"large_inproc/{name}: byte counts differ between runs")

    def g_large_pipe(self) -> None:
        self.pipe_group("large_pipe", self.dataset("large"))

    def g_small(self) -> None:
        # tree_floor: only what any archiver of the tree must do (list, openat, fstat, read, close),
        # in our order, nothing written: the floor for this tree on this machine.
        # uring_floor: the same work with openat, read and close batched through io_uring (the
        # size from fstat, or with --statx from a statx in the ring), to see whether batching
        # the system calls pays on this machine.
        # tree_floor --pipe: the floor's work plus the bytes of a TAR of the same size written to
        # the same `| cat > /dev/null` from one thread: what the pipe itself costs.
        floor_pipe = f"{BIN / 'tree_floor'} --pipe small 2>/dev/null"
        self.pipe_group("small", self.dataset("small"),
                        {"floor": ([str(BIN / "tree_floor"), "small"], False),
                         "floor_pipe": (f"{floor_pipe} | cat > /dev/null", True),
                         "floor_uring": ([str(BIN / "uring_floor"), "small"], False),
                         "floor_uring_statx": ([str(BIN / "uring_floor"), "--statx", "small"], False)})
        self.sizes("small", {"floor_pipe": floor_pipe}, self.dataset("small").parent, times=1)

    def g_tree(self) -> None:
        tree = self.dataset("tree")
        pipes = {"gnu_tar": "tar cf - tree", "ours_cli": f"{TARTAPE} create tree",
                 "ours_c_pipe": f"{BIN / 'tt_stream'} --write tree"}
        self.warm(tree)
        subprocess.run(["find", "tree"], cwd=tree.parent, stdout=subprocess.DEVNULL, check=True)
        self.alternate("tree", {k: (f"{v} | cat > /dev/null", True) for k, v in pipes.items()},
                       tree.parent, reps=max(3, self.reps // 2))
        self.sizes("tree", pipes, tree.parent, times=1)

    def g_compress(self) -> None:
        # Compressed TAR through the engine (bench/c/tt_stream --read --write, as the command line
        # writes) against tar piped into the compressor, same level; output sizes side by side.
        probe = BIN / "tt_stream"
        for data in (self.dataset("text"), self.dataset("small")):
            name = data.name
            group = f"compress_{name}"
            pipes = {
                "ours_gzip6": f"{probe} --gzip 6 --threads 2 --read --write {name}",
                "tar_czf": f"tar czf - {name}",
                "ours_zstd3": f"{probe} --zstd 3 --threads 2 --read --write {name}",
                "tar_zstd3_T2": f"tar cf - {name} | zstd -3 -T2 -c",
            }
            self.warm(data)
            self.alternate(group, {k: (f"{v} 2>/dev/null | cat > /dev/null", True) for k, v in pipes.items()},
                           data.parent)
            self.sizes(group, pipes, data.parent, times=1)
            # Our bytes decompress to our plain TAR.
            plain = self.run(f"{probe} --read --write {name} 2>/dev/null | md5sum", data.parent, shell=True)["stdout"]
            for k, back in (("ours_gzip6", "gzip -dc"), ("ours_zstd3", "zstd -dc")):
                got = self.run(f"{pipes[k]} 2>/dev/null | {back} | md5sum", data.parent, shell=True)["stdout"]
                self.check_equal(group, f"{k} decompresses to the plain TAR", int(got.split()[0], 16),
                                 int(plain.split()[0], 16))

    def g_seekable(self) -> None:
        # Seekable compressed archives (frames of 1 MiB recorded in a catalog): what recording
        # costs, streaming the compressed frames (2 threads) against tar piped into zstd, and the
        # size against one zstd -3 (or gzip -6) stream of the whole TAR: the goal is at most 3%.
        out = BENCH / "out" / "seekable"
        out.mkdir(parents=True, exist_ok=True)
        for data in (self.dataset("text"), self.dataset("small"), self.dataset("large")):
            name = data.name
            group = f"seekable_{name}"
            zcat, gcat = out / f"{name}-zstd.tartape", out / f"{name}-gzip.tartape"
            self.warm(data)
            self.alternate(group, {
                "ours_record_zstd3": (f"{TARTAPE} record --zstd --frame-size 1M {name} --catalog {zcat} "
                                      "> /dev/null", True),
                "ours_play_zstd3": (f"{TARTAPE} play {zcat} --compress-threads 2 | cat > /dev/null", True),
                "tar_zstd3_T2": (f"tar cf - {name} | zstd -3 -T2 -c | cat > /dev/null", True),
            }, data.parent)
            self.run(f"{TARTAPE} record --compress gzip=6 --frame-size 1M {name} --catalog {gcat} > /dev/null",
                     data.parent, shell=True)
            self.sizes(group, {
                "ours_zstd3_frames": f"{TARTAPE} play {zcat}",
                "zstd3_one_stream": f"tar cf - {name} | zstd -3 -c",
                "ours_gzip6_frames": f"{TARTAPE} play {gcat}",
                "gzip6_one_stream": f"tar cf - {name} | gzip -6 -c",
            }, data.parent, times=1)
            plain = self.run(f"{TARTAPE} create {name} | md5sum", data.parent, shell=True)["stdout"]
            for cat, back in ((zcat, "zstd -dc"), (gcat, "gzip -dc")):
                got = self.run(f"{TARTAPE} play {cat} | {back} | md5sum", data.parent, shell=True)["stdout"]
                self.check_equal(group, f"{cat.name} decompresses to the plain TAR", int(got.split()[0], 16),
                                 int(plain.split()[0], 16))
            for cat in (zcat, gcat):
                cat.unlink(missing_ok=True)

    def g_write_file(self) -> None:
        # Writing the archive into a file: ours syncs it before renaming it into place, so the
        # fair anchor is GNU tar followed by a sync of its file (and, for scale, without the sync).
        # Each output is removed before its run; all live on the file system of bench/out.
        large = self.dataset("large")
        self.warm(large)
        out = BENCH / "out" / "write-file"
        out.mkdir(parents=True, exist_ok=True)
        ours, gnu = out / "ours.tar", out / "gnu.tar"
        # Untimed before each run: both outputs removed and the disk's queue drained (the unsynced
        # gnu_tar run leaves 1 GiB of dirty pages that the next run would otherwise write back).
        self.alternate("write_file", {
            "ours_file": (f"{TARTAPE} create large -o {ours}", True),
            "gnu_tar_sync": (f"tar cf {gnu} large && sync {gnu}", True),
            "gnu_tar": (f"tar cf {gnu} large", True),
        }, large.parent, prepare=f"rm -f {ours} {gnu} && sync")
        size = ours.stat().st_size
        self.emit({"kind": "size", "group": "write_file", "contender": "ours_file", "sizes": [size],
                   "same_across_runs": True})
        streamed = self.run(f"{TARTAPE} create large | md5sum", large.parent, shell=True)["stdout"]
        written = self.run(f"md5sum < {ours}", large.parent, shell=True)["stdout"]
        self.check_equal("write_file", "the written file is the streamed archive",
                         int(written.split()[0], 16), int(streamed.split()[0], 16))
        for p in (ours, gnu):
            p.unlink(missing_ok=True)

    def g_reflink(self) -> None:
        # --align on a file system with reflinks: the large set copied onto a loop-mounted XFS,
        # then an aligned archive written beside it (sharing its blocks) against GNU tar + sync
        # there. Needs root, a loop device and mkfs.xfs; skipped with a note otherwise.
        mkfs = shutil.which("mkfs.xfs") or "/usr/sbin/mkfs.xfs"
        if os.geteuid() != 0 or not os.path.exists(mkfs):
            self.log("reflink: SKIPPED (needs root and mkfs.xfs from xfsprogs)")
            self.emit({"kind": "info", "group": "reflink", "skipped": "needs root and mkfs.xfs"})
            return
        large = self.dataset("large")
        work = Path(tempfile.mkdtemp(prefix="tartape-reflink-", dir=BENCH / "out"))
        img, mnt = work / "xfs.img", work / "mnt"
        size = sum(p.stat().st_size for p in large.rglob("*") if p.is_file())
        subprocess.run(["truncate", "-s", str(size * 3 + (512 << 20)), str(img)], check=True)
        subprocess.run([mkfs, "-q", "-m", "reflink=1", str(img)], check=True)
        mnt.mkdir()
        subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
        try:
            shutil.copytree(large, mnt / "large")
            subprocess.run(["sync"], check=True)
            self.warm(mnt / "large")
            ours, gnu = mnt / "aligned.tar", mnt / "gnu.tar"
            self.alternate("reflink", {
                "ours_aligned": (f"rm -f {ours} && {TARTAPE} create large --align 4K -o {ours}", True),
                "gnu_tar_sync": (f"rm -f {gnu} && tar cf {gnu} large && sync {gnu}", True),
            }, mnt)
            def used() -> int:
                subprocess.run(["sync"], check=True)
                return int(subprocess.run(["df", "--output=used", "-B1", str(mnt)], capture_output=True,
                                          text=True, check=True).stdout.split()[-1])
            for p in (ours, gnu):
                p.unlink(missing_ok=True)
            before = used()
            self.run(f"{TARTAPE} create large --align 4K -o {ours}", mnt, shell=True)
            extra = used() - before
            archive = ours.stat().st_size
            self.emit({"kind": "info", "group": "reflink", "archive_bytes": archive, "extra_disk_bytes": extra})
            self.emit({"kind": "size", "group": "reflink", "contender": "ours_aligned", "sizes": [archive],
                       "same_across_runs": True})
            streamed = self.run(f"{TARTAPE} create large --align 4K | md5sum", mnt, shell=True)["stdout"]
            written = self.run(f"md5sum < {ours}", mnt, shell=True)["stdout"]
            self.check_equal("reflink", "the aligned file is the streamed aligned archive",
                             int(written.split()[0], 16), int(streamed.split()[0], 16))
        finally:
            subprocess.run(["umount", str(mnt)], check=False)
            shutil.rmtree(work, ignore_errors=True)

    def g_large_md5(self) -> None:
        large = self.dataset("large")
        self.warm(large)
        files = [os.path.relpath(f, large.parent) for f in self.files_of(large)]
        self.alternate("large_md5", {
            "md5sum": (["md5sum"] + files, False),
            "ours_inproc_md5": ([str(BIN / "tt_stream"), "--md5", "large"], False),
        }, large.parent)
        # The MD5s must be md5sum's.
        ours = self.run([str(BIN / "tt_stream"), "--md5", "--list", "large"], large.parent)["stdout"]
        theirs = self.run(["md5sum"] + files, large.parent)["stdout"]
        a = sorted(l.split()[0] for l in ours.splitlines() if l.strip())
        b = sorted(l.split()[0] for l in theirs.splitlines() if l.strip())
        self.emit({"kind": "check", "group": "large_md5", "what": "MD5s equal md5sum's", "a": a, "b": b,
                   "ok": a == b})
        if a != b:
            raise RuntimeError("large_md5: our MD5s differ from md5sum's")

    def g_memory(self) -> None:
        large, large4 = self.dataset("large"), self.dataset("large4")
        self.warm(large)
        tmp = self.data / ".time-out"
        contenders = {}
        for name, d in (("cli_1x", "large"), ("cli_4x", "large4")):
            contenders[name] = (f"/usr/bin/time -f %M -o {tmp}-{name} {TARTAPE} create {d} | cat > /dev/null",
                                True)
            contenders[name + "_no_md5"] = (
                f"/usr/bin/time -f %M -o {tmp}-{name}_no_md5 {TARTAPE} create --no-md5 {d} | cat > /dev/null",
                True)
        names = list(contenders)
        reps = max(3, self.reps // 2)
        for rep in range(reps):
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                r = self.run(contenders[name][0], large.parent, shell=True)
                rss = int(Path(f"{tmp}-{name}").read_text().split()[-1])
                self.emit({"kind": "run", "group": "memory", "contender": name, "rep": rep,
                           "cmd": contenders[name][0], "wall": r["wall"], "user": r["user"], "sys": r["sys"],
                           "maxrss_kib": rss, "json": {"peak_rss_kib": rss}})
            self.log(f"memory: round {rep + 1}/{reps} done")
        sizes = self.sizes("memory", {"cli_1x": f"{TARTAPE} create large",
                                      "cli_4x": f"{TARTAPE} create large4"}, large.parent, times=1)
        self.emit({"kind": "info", "group": "memory", "bytes_1x": sizes["cli_1x"][0],
                   "bytes_4x": sizes["cli_4x"][0]})

    def g_random(self) -> None:
        # tt_read_at against plain pread of the same random 4 KiB ranges, side by side: TAR and
        # stored ZIP, a walked tape and one opened from a catalog (tt_random --catalog saves the
        # walked tape and reads from a fresh tape opened from it), one and two threads; and
        # pread followed by fstat (`--check`), the least any reader that checks its source per
        # call can do.
        large = self.dataset("large")
        small = self.dataset("small")
        self.warm(large, small)
        files = self.files_of(large)
        calls = str(self.cfg["random_calls"])
        tmp = self.data / ".random"
        tmp.mkdir(exist_ok=True)
        contenders = {}
        for t in ("1", "2"):
            contenders[f"pread_{t}t"] = ([str(BIN / "pread_loop"), "--random", calls, "--threads", t] + files,
                                         False)
            contenders[f"pread_check_{t}t"] = ([str(BIN / "pread_loop"), "--random", calls, "--threads", t,
                                                "--check"] + files, False)
            for case, extra in (("", []), ("zip_", ["--zip"]), ("cat_", ["--catalog", str(tmp / "tar.tartape")]),
                                ("zipcat_", ["--zip", "--catalog", str(tmp / "zip.tartape")])):
                contenders[f"ours_{case}{t}t"] = ([str(BIN / "tt_random"), "--calls", calls, "--threads", t]
                                                  + extra + ["large"], False)
        contenders["ours_small_1t"] = ([str(BIN / "tt_random"), "--calls", calls, "--threads", "1", "small"],
                                       False)
        # TT_RANDOM_BEFORE names a tt_random built against an earlier library: its runs, side by
        # side with these, are the before of a change (`before_1t`, `before_cat_1t`, ...).
        before = os.environ.get("TT_RANDOM_BEFORE")
        if before:
            for name in [n for n in contenders if n.startswith("ours_") and "small" not in n]:
                contenders["before_" + name[5:]] = ([before] + contenders[name][0][1:], False)
        self.alternate("random", contenders, large.parent)

    def g_resume(self) -> None:
        tree = self.dataset("tree")
        catalog = self.data / "tree.tartape"
        self.warm(tree)
        r = self.run(f"/usr/bin/time -f %M {TARTAPE} record tree --catalog {catalog.name}", self.data, shell=True)
        self.emit({"kind": "info", "group": "resume", "what": "record", "wall": r["wall"],
                   "peak_rss_kib": int(r["stderr"].split()[-1]), "stdout": r["stdout"]})
        reps = self.cfg["resume_reps"]
        self.alternate("resume", {
            "warm": ([str(BIN / "tt_resume"), catalog.name], False),
            "cold": ([str(BIN / "tt_resume"), "--cold", catalog.name], False),
        }, self.data, reps=reps)
        self.alternate("catalog_memory", {
            "opened": ([str(BIN / "tt_resume"), "--memory", catalog.name], False),
            "walked": ([str(BIN / "tt_resume"), "--walk", "tree"], False),
        }, self.data, reps=3)

    def g_tartape3(self) -> None:
        """Python TarTape 3.0.3 against our Python package: record, then play(), with and without
        checksums (MD5 at recording and while streaming), each in a fresh process."""
        large, small = self.dataset("large"), self.dataset("small")
        self.warm(large, small)
        ours = ["env", f"PYTHONPATH={ROOT / 'bindings' / 'python' / 'src'}",
                f"TARTAPE_LIBRARY={REL / 'libtartape.so'}", sys.executable,
                str(BENCH / "py" / "ours_record_play.py")]
        theirs = [str(PY_TARTAPE3), str(BENCH / "py" / "tartape3_py.py")]
        for s in ["large", "small"]:
            runs = self.alternate("tartape3", {
                f"py3_{s}": (theirs + [s], False),
                f"ours_{s}": (ours + [s], False),
                f"py3_{s}_sums": (theirs + [s, "--checksum"], False),
                f"ours_{s}_sums": (ours + [s, "--checksum"], False),
            }, self.data, reps=max(3, self.reps // 2))
            sizes = {r["json"]["bytes"] for rs in runs.values() for r in rs}
            self.check_equal("tartape3", f"{s}: every contender streamed the same number of bytes", len(sizes), 1)
            for side in ["py3", "ours"]:
                got = {r["json"]["md5s"] for r in runs[f"{side}_{s}_sums"]}
                self.check_equal("tartape3", f"{s}: {side} reported one MD5 per file, the same each run",
                                 len(got), 1)
            # (TarTape gives no checksum for an empty file; ours gives the MD5 of no bytes.)

    def g_binding(self) -> None:
        """Our Python binding's play() (and as_file().readinto, write_to) against the C loop, same library."""
        large = self.dataset("large")
        self.warm(large)
        py = ["env", f"PYTHONPATH={ROOT / 'bindings' / 'python' / 'src'}",
              f"TARTAPE_LIBRARY={REL / 'libtartape.so'}", sys.executable,
              str(BENCH / "py" / "binding_play.py"), "large"]
        runs = self.alternate("binding", {
            "c_loop": ([str(BIN / "tt_stream"), "large"], False),
            "py_play": (py, False),
            "py_readinto": (py + ["--readinto"], False),
            "py_write_to": (py + ["--write-to"], False),
        }, large.parent)
        sizes = {r["json"]["bytes"] for rs in runs.values() for r in rs}
        self.check_equal("binding", "every contender streamed the same number of bytes", len(sizes), 1)

    def g_profile(self) -> None:
        """Where the time goes: perf (sampling), perf stat and strace -c on our programs."""
        large, small, tree = self.dataset("large"), self.dataset("small"), self.dataset("tree")
        self.warm(large, small, tree)
        prof = self.out.parent / f"profile-{self.mode}"
        prof.mkdir(exist_ok=True)
        jobs = {
            "tt_stream_large": f"{BIN}/tt_stream large",
            "tt_stream_large_md5": f"{BIN}/tt_stream --md5 large",
            "cli_large_pipe": f"{TARTAPE} create --no-md5 large",
            "cli_small_pipe": f"{TARTAPE} create --no-md5 small",
            "tar_small_pipe": "tar cf - small",
            "cli_tree_pipe": f"{TARTAPE} create --no-md5 tree",
            "tar_tree_pipe": "tar cf - tree",
            "tt_random_large": f"{BIN}/tt_random --calls {self.cfg['random_calls']} large",
            "tt_random_small": f"{BIN}/tt_random --calls {self.cfg['random_calls']} small",
        }
        for name, cmd in jobs.items():
            texts = {}
            pipe = "| cat > /dev/null" if "pipe" in name else "> /dev/null"
            first = cmd.split()[0]
            rest = " ".join(cmd.split()[1:])
            texts["perf_stat"] = self.try_run(
                f"perf stat -e task-clock,context-switches,cpu-migrations,page-faults -- {cmd} {pipe}")
            texts["strace"] = self.try_run(f"strace -c -f -o /dev/stderr {first} {rest} {pipe}")
            data = prof / f"{name}.perf.data"
            self.try_run(f"perf record -q -o {data} -- {cmd} {pipe}")
            texts["perf_report"] = self.try_run(
                f"perf report -i {data} --stdio --no-children --percent-limit 1.5 --sort dso,symbol 2>/dev/null"
                " | grep -v '^#' | grep -v '^$' | head -25", stdout=True)
            (prof / f"{name}.txt").write_text("\n\n".join(f"== {k}\n{v}" for k, v in texts.items()))
            self.emit({"kind": "profile", "name": name, "cmd": cmd, **texts})
            self.log(f"profile: {name}")

    def g_serve(self) -> None:
        """`tartape serve` of the large set against nginx serving the same archive written to disk
        (sendfile on), both on loopback: one client fetching the whole archive, eight parallel
        clients each fetching an eighth as a range, and our peak RSS after 64 parallel range
        clients."""
        large = self.dataset("large")
        served = self.data / "serve"
        shutil.rmtree(served, ignore_errors=True)
        (served / "www").mkdir(parents=True)
        archive = served / "www" / "large.tar"
        self.run([str(TARTAPE), "create", "--quiet", "-o", str(archive), "large"], large.parent)
        size = archive.stat().st_size
        self.warm(large, served / "www")
        nginx_port, ours_port = free_port(), free_port()
        conf = served / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=served / "www", port=nginx_port, prefix=served))
        nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
        procs = []
        try:
            procs.append(subprocess.Popen([nginx_bin, "-p", str(served), "-c", str(conf)],
                                          stdout=subprocess.DEVNULL, stderr=open(served / "nginx.log", "w")))
            ours = subprocess.Popen([str(TARTAPE), "serve", "--listen", f"127.0.0.1:{ours_port}", "large"],
                                    cwd=large.parent, stdout=subprocess.DEVNULL,
                                    stderr=open(served / "tartape-serve.log", "w"))
            procs.append(ours)
            urls = {"nginx": f"http://127.0.0.1:{nginx_port}/large.tar",
                    "ours": f"http://127.0.0.1:{ours_port}/large.tar"}
            for who, url in urls.items():
                wait_http(url, procs)
                # The same bytes from both, once, untimed.
                self.run(f"curl -sf {url} | cmp - {archive}", served, shell=True)
                self.check_equal("serve", f"{who} serves the archive written by tartape create", 1, 1)
            part = -(-size // 8)
            contenders = {}
            for who, url in urls.items():
                contenders[f"{who}_1c"] = (f"curl -sf -o /dev/null -w '{{\"bytes\": %{{size_download}}}}\\n' {url}", True)
                ranges = " ".join(f"{i * part}-{min(size, (i + 1) * part) - 1}" for i in range(8))
                contenders[f"{who}_8r"] = (PARALLEL.format(ranges=ranges, url=url), True)
            runs = self.alternate("serve", contenders, served)
            for name, rs in runs.items():
                ok = sum(r["json"]["bytes"] == size for r in rs)
                self.check_equal("serve", f"{name}: runs that received exactly the archive's bytes", ok, len(rs))
            # What serving cost the servers themselves (the runs' CPU figures are the clients'):
            # CPU seconds of each server process tree over all the runs above, the same bytes each.
            cpu = {"nginx": cpu_seconds(procs[0].pid), "ours": cpu_seconds(ours.pid)}
            # Peak RSS of our server after 64 parallel range clients (and the runs above).
            part64 = -(-size // 64)
            ranges = " ".join(f"{i * part64}-{min(size, (i + 1) * part64) - 1}" for i in range(64))
            r = self.run(PARALLEL.format(ranges=ranges, url=urls["ours"]), served, shell=True)
            self.check_equal("serve", "64 clients bytes", r["json"]["bytes"], size)
            status = Path(f"/proc/{ours.pid}/status").read_text()
            hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
            self.emit({"kind": "info", "group": "serve", "archive_bytes": size, "ours_peak_rss_kib": hwm,
                       "clients_64_wall": r["wall"], "nginx": version(f"{nginx_bin} -v"),
                       "server_cpu_s": cpu, "served_bytes_each": size * (len(runs["ours_1c"]) * 2 + 1),
                       "curl": version("curl --version")})
        finally:
            for p in procs:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def g_upload(self) -> None:
        """`tartape upload large s3://...` from the tree against boto3's upload_file of the tar GNU tar
        wrote to disk first, both to one SeaweedFS (`weed mini`, the tests' S3 server) on loopback
        with a fresh data directory, the same part size and concurrency; GNU tar's write is timed on
        its own so that the report gives boto3 with and without it. Our peak RSS comes from
        /usr/bin/time. Every object's ETag is checked against the one predicted (`tartape record
        --part-size`) or computed from the file, and each object is read back once and compared."""
        large = self.dataset("large")
        part, jobs = UPLOAD_PART, UPLOAD_JOBS
        work = self.data / "upload"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        tar_file = work / "large.tar"
        weed = subprocess.run(["bash", str(WEED_SCRIPT), "--cached"], capture_output=True, text=True)
        if weed.returncode != 0:
            raise RuntimeError("upload: no weed binary: run tests/services/seaweedfs.sh once (about 10 minutes)")
        server = Seaweed(weed.stdout.strip(), work / "weed")
        env = {"AWS_ACCESS_KEY_ID": WEED_KEY, "AWS_SECRET_ACCESS_KEY": WEED_SECRET, "AWS_REGION": "us-east-1",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
        saved = {k: os.environ.get(k) for k in list(env) + ["AWS_ENDPOINT_URL", "AWS_PROFILE"]}
        try:
            server.start()
            os.environ.update(env, AWS_ENDPOINT_URL=server.endpoint)
            os.environ.pop("AWS_PROFILE", None)
            # The ETag our object will have, predicted from the tree before any upload.
            rec = self.run([str(TARTAPE), "record", "--quiet", "large", "--catalog", str(work / "large.tartape"),
                            "--part-size", str(part)], large.parent)["stdout"]
            predicted = re.search(r"^multipart etag \((\d+) parts.*: (\S+)$", rec, re.M)
            # The file boto3 uploads exists before the first round (each gnu_tar run writes it again).
            self.run(["tar", "cf", str(tar_file), "large"], large.parent)
            self.warm(large)
            tmp = work / ".time-out"
            bucket = WEED_BUCKET
            contenders = {
                "ours_upload": (f"/usr/bin/time -f %M -o {tmp} {TARTAPE} upload --quiet large "
                                f"s3://{bucket}/ours.tar --part-size {part} --jobs {jobs}", True),
                "boto3_upload": ([str(PY_BOTO3), str(BENCH / "py" / "boto3_upload.py"), str(tar_file), bucket,
                                  "boto3.tar", str(part), str(jobs)], False),
                "gnu_tar_to_disk": (f"tar cf {tar_file} large", True),
            }
            names = list(contenders)
            etags = {"ours_upload": set(), "boto3_upload": set()}
            for rep in range(self.reps):
                for name in names[rep % len(names):] + names[:rep % len(names)]:
                    cmd, shell = contenders[name]
                    r = self.run(cmd, large.parent, shell)
                    rec = {"kind": "run", "group": "upload", "contender": name, "rep": rep,
                           "cmd": cmd if isinstance(cmd, str) else " ".join(cmd), "wall": r["wall"],
                           "user": r["user"], "sys": r["sys"], "json": r.get("json")}
                    if name == "ours_upload":
                        rss = int(tmp.read_text().split()[-1])
                        etag = re.search(r"^etag: (\S+)$", r["stdout"], re.M).group(1)
                        rec["json"] = {"peak_rss_kib": rss, "etag": etag}
                        etags[name].add(etag)
                    elif name == "boto3_upload":
                        etags[name].add(r["json"]["etag"])
                    self.emit(rec)
                    # Delete each object after its run: the next run uploads it afresh.
                    if name != "gnu_tar_to_disk":
                        server.delete(bucket, "ours.tar" if name == "ours_upload" else "boto3.tar")
                self.log(f"upload: round {rep + 1}/{self.reps} done")
            size = tar_file.stat().st_size
            ours_size = int(self.run(f"{TARTAPE} create large | wc -c", large.parent, shell=True)["stdout"])
            self.check_equal("upload", "ours: one ETag over all runs, the one record --part-size predicted",
                             int(etags["ours_upload"] == {predicted.group(2)}), 1)
            want = file_multipart_etag(tar_file, part)
            self.check_equal("upload", "boto3: one ETag over all runs, the MD5 of the file's part MD5s",
                             int(etags["boto3_upload"] == {want}), 1)
            # Each object once more, read back whole and compared with what it should hold (untimed).
            self.run(contenders["ours_upload"][0], large.parent, shell=True)
            got = server.get_md5(bucket, "ours.tar")
            ours_md5 = self.run(f"{TARTAPE} create large | md5sum", large.parent, shell=True)["stdout"].split()[0]
            self.check_equal("upload", "ours: the object read back is `tartape create large` (MD5)",
                             int(got == ours_md5), 1)
            self.run(contenders["boto3_upload"][0], large.parent)
            got = server.get_md5(bucket, "boto3.tar")
            file_md5 = self.run(["md5sum", str(tar_file)], large.parent)["stdout"].split()[0]
            self.check_equal("upload", "boto3: the object read back is GNU tar's file (MD5)", int(got == file_md5), 1)
            self.emit({"kind": "info", "group": "upload", "part_size": part, "jobs": jobs,
                       "parts": int(predicted.group(1)), "ours_bytes": ours_size, "gnu_tar_bytes": size,
                       "rss_limit_kib": (jobs * part + (16 << 20)) // 1024, "weed": Path(server.bin).name,
                       "boto3": version(f"{PY_BOTO3} -c 'import boto3, botocore; print(\"boto3\", "
                                        "boto3.__version__, \"botocore\", botocore.__version__)'"),
                       "weed_peak_rss_kib": server.peak_rss_kib()})
        finally:
            server.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            shutil.rmtree(work, ignore_errors=True)

    def g_record_scale(self, ten_million: bool = False) -> None:
        """`tartape record` of a tree of 1,001,001 entries (1,000 directories of 1,000 empty files)
        against `find DIR -printf '%s %T@\\n' > /dev/null`, wall and peak RSS, in alternation; then the
        same on 10,010,001 entries (group record_scale_10m), a tree kept in an XFS image loop-mounted
        for the group (the root file system has too few inodes). Both trees are made once by bench/scale_tree.sh. Also the
        heap a walked in-memory tape of the 1M tree holds (tt_resume --walk), per entry."""
        script = BENCH / "scale_tree.sh"
        scale = BENCH / "data" / "scale"
        reps = max(3, self.reps)
        tmp = scale / ".time-out"

        def timed(group: str, tree: Path, catalog: Path) -> dict:
            contenders = {
                "ours_record": f"/usr/bin/time -f %M -o {tmp} {TARTAPE} record --quiet {tree.name} "
                               f"--catalog {catalog}",
                "find_printf": f"/usr/bin/time -f %M -o {tmp} find {tree.name} -printf '%s %T@\\n' > /dev/null",
            }
            names, out = list(contenders), {}
            for rep in range(reps):
                for name in names[rep % len(names):] + names[:rep % len(names)]:
                    r = self.run(contenders[name], tree.parent, shell=True)
                    rec = {"kind": "run", "group": group, "contender": name, "rep": rep,
                           "cmd": contenders[name], "wall": r["wall"], "user": r["user"], "sys": r["sys"],
                           "json": {"peak_rss_kib": int(tmp.read_text().split()[-1])}}
                    if name == "ours_record":
                        rec["json"]["entries"] = int(re.search(r"^entries: (\d+)$", r["stdout"], re.M).group(1))
                        rec["json"]["fingerprint"] = re.search(r"^fingerprint: (\S+)$", r["stdout"], re.M).group(1)
                        rec["json"]["catalog_bytes"] = catalog.stat().st_size
                    self.emit(rec)
                    out.setdefault(name, []).append(rec)
                self.log(f"{group}: round {rep + 1}/{reps} done")
            prints = {r["json"]["fingerprint"] for r in out["ours_record"]}
            self.check_equal(group, "ours_record: the same fingerprint in every run", len(prints), 1)
            catalog.unlink()
            return out

        if not ten_million:
            tree1m = ROOT / self.run(["bash", str(script), "tree1m"], ROOT)["stdout"].split()[-1]
            subprocess.run(["find", tree1m.name], cwd=tree1m.parent, stdout=subprocess.DEVNULL, check=True)
            timed("record_scale", tree1m, scale / "tree1m.tartape")
            self.alternate("record_scale_walked", {
                "walked": ([str(BIN / "tt_resume"), "--walk", tree1m.name], False),
            }, tree1m.parent, reps=reps)
        else:
            try:
                tree10m = ROOT / self.run(["bash", str(script), "mount10m"], ROOT)["stdout"].split()[-1]
                timed("record_scale_10m", tree10m, scale / "tree10m.tartape")
            finally:
                subprocess.run(["bash", str(script), "umount"], cwd=ROOT, check=False)
        tmp.unlink(missing_ok=True)

    def g_record_scale_10m(self) -> None:
        """The record_scale comparison on the tree of 10,010,001 entries (about 15 minutes)."""
        self.g_record_scale(ten_million=True)

    def try_run(self, cmd: str, stdout: bool = False) -> str:
        p = subprocess.run(["bash", "-c", cmd], cwd=self.data, capture_output=True, text=True)
        return (p.stdout if stdout else p.stderr).strip()[-6000:]


# nginx as a static file server, as it is usually set up for large downloads: sendfile on.
NGINX_CONF = """daemon off;
master_process on;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path {prefix}/tmp-body;
    proxy_temp_path {prefix}/tmp-proxy;
    fastcgi_temp_path {prefix}/tmp-fastcgi;
    uwsgi_temp_path {prefix}/tmp-uwsgi;
    scgi_temp_path {prefix}/tmp-scgi;
    types {{ application/x-tar tar; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""

# Parallel range clients: one curl per range, all at once; prints the bytes received as JSON.
PARALLEL = """set -e; pids=""; i=0
for r in {ranges}; do
  curl -sf -r "$r" -o /dev/null -w '%{{size_download}}\\n' {url} > part.$i & pids="$pids $!"; i=$((i+1))
done
for p in $pids; do wait $p; done
cat part.* | awk '{{s += $1}} END {{printf "{{\\"bytes\\": %d}}\\n", s}}'; rm -f part.*"""


# The upload group: parts of 16 MiB, four at once (jobs x part + 16 MiB = 80 MiB of RSS allowed).
UPLOAD_PART = 16 << 20
UPLOAD_JOBS = 4
WEED_KEY, WEED_SECRET, WEED_BUCKET = "tartape-bench-key", "tartape-bench-secret", "bench"


class Seaweed:
    """`weed mini` as the tests start it (cli/tests/support/seaweed.rs): a fresh data directory,
    127.0.0.1 only (-ip, -ip.bind), no telemetry, free ports p and p + 10000 (gRPC) for each
    service, ready when a signed HEAD of the bucket answers 200, stopped by its PID."""

    def __init__(self, bin_path: str, dir: Path):
        self.bin, self.dir, self.proc = bin_path, dir, None

    def start(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "data").mkdir(parents=True)
        ports = []
        while len(ports) < 5:
            p = free_port()
            if p + 10000 < 65536 and port_free(p + 10000) and p not in ports:
                ports.append(p)
        self.endpoint = f"http://127.0.0.1:{ports[0]}"
        env = dict(os.environ, AWS_ACCESS_KEY_ID=WEED_KEY, AWS_SECRET_ACCESS_KEY=WEED_SECRET)
        self.proc = subprocess.Popen(
            [self.bin, "mini", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             "-master.telemetry=false", f"-bucket={WEED_BUCKET}", "-webdav=false", "-s3.port.iceberg=0",
             "-admin.port.legacy=0", f"-s3.port={ports[0]}", f"-master.port={ports[1]}",
             f"-volume.port={ports[2]}", f"-filer.port={ports[3]}", f"-admin.port={ports[4]}"],
            cwd=self.dir, env=env, stdin=subprocess.DEVNULL, stdout=open(self.dir / "weed.log", "w"),
            stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while self.curl(["-I", f"{self.endpoint}/{WEED_BUCKET}"]).split("\n")[0] != "200":
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed ended with {self.proc.returncode}: see {self.dir}/weed.log")
            if time.time() > deadline:
                raise RuntimeError(f"weed not ready in 90 s: see {self.dir}/weed.log")
            time.sleep(0.25)

    def curl(self, args: list, out: str = "/dev/null") -> str:
        p = subprocess.run(["curl", "-s", "-o", out, "-w", "%{http_code}\n", "--aws-sigv4", "aws:amz:us-east-1:s3",
                            "--user", f"{WEED_KEY}:{WEED_SECRET}"] + args, capture_output=True, text=True)
        return p.stdout

    def delete(self, bucket: str, key: str) -> None:
        code = self.curl(["-X", "DELETE", f"{self.endpoint}/{bucket}/{key}"]).strip()
        if code not in ("200", "204"):
            raise RuntimeError(f"DELETE {bucket}/{key}: {code}")

    def get_md5(self, bucket: str, key: str) -> str:
        p = subprocess.run(f"curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user {WEED_KEY}:{WEED_SECRET} "
                           f"{self.endpoint}/{bucket}/{key} | md5sum", shell=True, capture_output=True, text=True)
        return p.stdout.split()[0]

    def peak_rss_kib(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def port_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def file_multipart_etag(path: Path, part: int) -> str:
    """The multipart ETag of a file uploaded in parts of `part` bytes: MD5 of the part MD5s, -N."""
    import hashlib
    digests = []
    with open(path, "rb") as f:
        while True:
            b = f.read(part)
            if not b:
                break
            digests.append(hashlib.md5(b).digest())
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process and its children (nginx's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, procs: list) -> None:
    import urllib.request
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()
            return
        except OSError:
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} ended with {p.returncode}")
            if time.time() > deadline:
                raise RuntimeError(f"{url} does not answer")
            time.sleep(0.1)


def version(cmd: str) -> str:
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    return (p.stdout or p.stderr).strip().splitlines()[0] if (p.stdout or p.stderr).strip() else "?"


def machine() -> dict:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    return {"nproc": os.cpu_count(), "mem_mib": mem, "cpu": cpu, "kernel": platform.release(),
            "loadavg": open("/proc/loadavg").read().split()[:3]}


def versions() -> dict:
    return {
        "tartape": version(f"{TARTAPE} --version"),
        "rustc": version("rustc --version"),
        "cc": version("cc --version"),
        "gnu_tar": version("tar --version"),
        "bsdtar": version("bsdtar --version"),
        "md5sum": version("md5sum --version"),
        "python": version("python3 --version"),
        "tartape_py": version(f"{PY_TARTAPE3} -c 'import tartape, peewee; "
                              "print(\"tartape\", tartape.__version__, \"peewee\", peewee.__version__)'"),
        "git": version(f"git -C {ROOT} rev-parse --short HEAD"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small datasets, a smoke test")
    ap.add_argument("--only", default="", help="comma-separated groups: " + ",".join(GROUPS))
    ap.add_argument("--reps", type=int, default=5, help="runs of each contender (default 5)")
    args = ap.parse_args()
    mode = "quick" if args.quick else "full"
    only = [g for g in args.only.split(",") if g] or GROUPS
    unknown = set(only) - set(GROUPS)
    if unknown:
        ap.error(f"unknown group(s) {sorted(unknown)}; known: {GROUPS}")
    outdir = BENCH / "out"
    outdir.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = outdir / f"results-{mode}-{stamp}.jsonl"
    h = Harness(mode, args.reps, out)
    h.emit({"kind": "meta", "mode": mode, "reps": args.reps, "groups": only, "config": h.cfg,
            "started": stamp, "machine": machine(), "versions": versions()})
    for g in only:
        h.log(f"group {g}")
        t0 = time.perf_counter()
        getattr(h, f"g_{g}")()
        h.emit({"kind": "group_done", "group": g, "seconds": time.perf_counter() - t0,
                "loadavg": open("/proc/loadavg").read().split()[:3]})
    h.emit({"kind": "end", "finished": datetime.datetime.now().strftime("%Y%m%d-%H%M%S")})
    latest = outdir / f"latest-{mode}.jsonl"
    latest.unlink(missing_ok=True)
    latest.symlink_to(out.name)
    h.log(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
