#!/usr/bin/env python3
"""Turns a results file of bench/run.py (JSON lines) into BENCHMARKS.md on standard output.

Every figure is computed here from the runs; the section "What limits us" is bench/analysis.md,
written by hand from the profiles (bench/out/profile-*) and included as it is.
Usage: python3 bench/report.py RESULTS.jsonl [LATER.jsonl...] > bench/BENCHMARKS.md\n(a group found in a later file replaces that group's results from earlier ones)
"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

MIB = 1 << 20


def load(paths):
    """Reads results files in order; a group found in a later file replaces that group's results."""
    meta, runs, other = None, defaultdict(list), []
    for path in paths:
        recs = [json.loads(line) for line in open(path)]
        groups = {r["group"] for r in recs if "group" in r}
        # catalog_memory is run by the resume group.
        if "resume" in groups:
            groups.add("catalog_memory")
        for key in [k for k in runs if k[0] in groups]:
            del runs[key]
        other = [o for o in other if o.get("group") not in groups]
        for r in recs:
            if r["kind"] == "meta":
                if meta is None:
                    meta = r
                else:
                    meta.setdefault("later", []).append(
                        {"started": r["started"], "groups": r["groups"], "reps": r["reps"],
                         "git": r["versions"]["git"], "loadavg": r["machine"]["loadavg"],
                         "tartape_py": r["versions"].get("tartape_py", "")})
            elif r["kind"] == "run":
                runs[(r["group"], r["contender"])].append(r)
            else:
                other.append(r)
    return meta, runs, other


class Report:
    def __init__(self, paths):
        self.paths = list(paths)
        self.meta, self.runs, self.other = load(paths)
        self.lines = []
        self.targets = []

    def w(self, text=""):
        self.lines.append(text)

    def walls(self, group, name):
        return [r["wall"] for r in self.runs.get((group, name), [])]

    def med(self, group, name, key=None):
        rs = self.runs.get((group, name), [])
        if not rs:
            return None
        vals = [r["wall"] if key is None else r["json"][key] for r in rs]
        return statistics.median(vals)

    def field(self, group, name, key):
        return [r["json"][key] for r in self.runs.get((group, name), []) if r.get("json") and key in r["json"]]

    def size_of(self, group, name):
        for r in self.other:
            if r["kind"] == "size" and r["group"] == group and r["contender"] == name:
                return r["sizes"][0]
        js = self.field(group, name, "bytes")
        return js[0] if js else None

    def target(self, what, measured, limit, ok, note=""):
        self.targets.append((what, measured, limit, "PASS" if ok else "MISS", note))

    def walls_by_file(self, group):
        """(meta, {contender: [wall s]}) of each results file, in order, that ran the group."""
        for path in self.paths:
            recs = [json.loads(line) for line in open(path)]
            meta = next((r for r in recs if r["kind"] == "meta"), None)
            walls = defaultdict(list)
            for r in recs:
                if r["kind"] == "run" and r["group"] == group:
                    walls[r["contender"]].append(r["wall"])
            if meta is not None and walls:
                yield meta, walls

    def group_history(self, group):
        """(started, reps, load average, {(set, sums): TarTape / ours}) of every results file with the group."""
        out = []
        for meta, walls in self.walls_by_file(group):
            ratios = {}
            for s in ["large", "small"]:
                for sums in ["", "_sums"]:
                    a, b = walls.get(f"py3_{s}{sums}"), walls.get(f"ours_{s}{sums}")
                    if a and b:
                        ratios[(s, sums)] = statistics.median(a) / statistics.median(b)
            out.append((meta["started"], len(walls.get("py3_large", [])), meta["machine"]["loadavg"], ratios))
        return out

    def latest_ratios(self, group, num, den, n=3):
        """The ratio of medians num / den in each of the latest n results files holding the group,
        oldest first, with each file's start and load average: a target counts as met when it
        holds in every one of them."""
        out = []
        for meta, walls in self.walls_by_file(group):
            if not walls.get(num) or not walls.get(den):
                continue
            out.append((meta["started"], meta["machine"]["loadavg"],
                        statistics.median(walls[num]) / statistics.median(walls[den])))
        return out[-n:]

    def target_in_runs(self, what, group, num, den, limit, note=""):
        """A ratio target (at most `limit`) judged on the worst of the latest three runs."""
        hist = self.latest_ratios(group, num, den)
        v = [h[2] for h in hist]
        spread = (f"{len(v)} runs: min {min(v):.2f}, median {statistics.median(v):.2f}, "
                  f"max {max(v):.2f}")
        self.target(what, f"{max(v):.2f}", f"<= {limit:.2f}", max(v) <= limit and len(v) >= 3,
                    spread + (f"; {note}" if note else ""))

    RANDOM_CASES = [("", "TAR, walked"), ("cat_", "TAR, catalog"), ("zip_", "stored ZIP, walked"),
                    ("zipcat_", "stored ZIP, catalog")]

    def random_history(self):
        """(started, reps, load average, {contender: median calls/s}) of every results file whose
        random group has the pread + fstat contender (the side-by-side runs of the second round)."""
        out = []
        for path in self.paths:
            recs = [json.loads(line) for line in open(path)]
            meta = next((r for r in recs if r["kind"] == "meta"), None)
            rates, cpu = defaultdict(list), defaultdict(list)
            for r in recs:
                if r["kind"] == "run" and r["group"] == "random" and r.get("json"):
                    rates[r["contender"]].append(r["json"]["calls_per_s"])
                    if "calls_per_cpu_s" in r["json"]:
                        cpu[r["contender"]].append(r["json"]["calls_per_cpu_s"])
            if meta is None or "pread_check_1t" not in rates:
                continue
            out.append((meta["started"], meta["reps"], meta["machine"]["loadavg"],
                        {k: statistics.median(v) for k, v in rates.items()},
                        {k: statistics.median(v) for k, v in cpu.items()}))
        return out

    def random_section(self):
        self.w("### Random 4 KiB reads (`tt_read_at` at random offsets over the large set)")
        self.w()
        self.w("| contender | calls/s median | min | max | calls per CPU second, median |")
        self.w("|---|---:|---:|---:|---:|")
        names = []
        for t in ("1", "2"):
            names += [f"pread_{t}t", f"pread_check_{t}t"] + [f"{who}_{c}{t}t" for who in ("ours", "before")
                                                             for c, _ in self.RANDOM_CASES]
        names.append("ours_small_1t")
        for n in names:
            v = self.field("random", n, "calls_per_s")
            if v:
                c = [r["json"]["calls_per_cpu_s"] for r in self.runs.get(("random", n), [])
                     if r.get("json") and "calls_per_cpu_s" in r["json"]]
                cpu = f" | {statistics.median(c):,.0f}" if c else " | "
                self.w(f"| {n} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f}{cpu} |")
        self.w()
        self.w("`pread_*` is the same random pattern as plain pread calls on the files (the limit); "
               "`pread_check_*` adds an fstat of the file after each pread, the least a reader that "
               "checks its source on every call can do; `ours_*` is tt_read_at: `cat_` from a tape "
               "opened from a catalog of the walked tape, `zip_` a stored ZIP; `before_*` the same "
               "program built against the library before the second round's read_at work (when the run had "
               "one: `TT_RANDOM_BEFORE`); `ours_small_1t` reads the small-file set, where a 4 KiB range "
               "touches one to three files. Calls per CPU second (the timed part's user + system time of "
               "the process) are the cost of a call whatever share of the cores the run was given.")
        self.w()
        o1 = self.med("random", "ours_1t", "calls_per_s")
        o2 = self.med("random", "ours_2t", "calls_per_s")
        p1 = self.med("random", "pread_1t", "calls_per_s")
        self.target("Random 4 KiB tt_read_at, one thread", f"{o1:,.0f}/s", ">= 400,000/s", o1 >= 400000,
                    f"plain pread on this machine: {p1:,.0f}/s")
        self.target("Random 4 KiB tt_read_at, two threads vs one", f"{o2 / o1:.2f}x", "> 1.00x", o2 > o1,
                    f"{o2:,.0f}/s; pread two threads: {self.med('random', 'pread_2t', 'calls_per_s'):,.0f}/s")
        hist = self.random_history()
        if not hist:
            return
        self.w("Ratios to plain pread of the same ranges, each the median of one run's rounds, for every "
               "run kept in bench/results (the table above is the last one):")
        self.w()
        head = ["pread+fstat"] + [c for _, c in self.RANDOM_CASES] + [f"before: {c}" for _, c in self.RANDOM_CASES]
        keys = lambda t: ([f"pread_check_{t}t"] + [f"ours_{c}{t}t" for c, _ in self.RANDOM_CASES]
                          + [f"before_{c}{t}t" for c, _ in self.RANDOM_CASES])
        ratios = defaultdict(list)
        for which, label in ((3, "calls per second"), (4, "calls per CPU second")):
            self.w(f"{label[0].upper() + label[1:]}, as a ratio to plain pread's:")
            self.w()
            self.w("| run (load average) | threads | " + " | ".join(head) + " |")
            self.w("|---|---:|" + "---:|" * len(head))
            for h in hist:
                started, reps, load, med = h[0], h[1], h[2], h[which]
                for t in ("1", "2"):
                    p = med.get(f"pread_{t}t")
                    if not p:
                        continue
                    row = []
                    for key in keys(t):
                        if key in med:
                            ratios[(which, key)].append(med[key] / p)
                            row.append(f"{med[key] / p:.2f}")
                        else:
                            row.append("")
                    self.w(f"| {started}, {reps} rounds ({' '.join(load)}) | {t} | " + " | ".join(row) + " |")
            self.w()
        n = len(hist)
        for t, threads in (("1", "one thread"), ("2", "two threads")):
            floor = ratios.get((3, f"pread_check_{t}t"), [])
            for c, what in self.RANDOM_CASES:
                v = ratios.get((3, f"ours_{c}{t}t"), [])
                if not v:
                    continue
                note = f"{n} runs: min {min(v):.2f}, median {statistics.median(v):.2f}, max {max(v):.2f}"
                vc = ratios.get((4, f"ours_{c}{t}t"), [])
                if vc:
                    note += f"; per CPU second: median {statistics.median(vc):.2f}"
                b = ratios.get((3, f"before_{c}{t}t"), [])
                if b:
                    note += f"; before: median {statistics.median(b):.2f}"
                self.target(f"Random 4 KiB tt_read_at vs pread, {what}, {threads}",
                            f"{min(v):.2f}", ">= 0.85", min(v) >= 0.85 and n >= 3, note)
            if floor:
                fc = ratios.get((4, f"pread_check_{t}t"), [])
                self.target(f"(info) pread + fstat vs pread, {threads}: the ceiling with a check per read",
                            f"{statistics.median(floor):.2f}", ">= 0.85", statistics.median(floor) >= 0.85,
                            f"min {min(floor):.2f}, max {max(floor):.2f}"
                            + (f"; per CPU second: median {statistics.median(fc):.2f}" if fc else ""))

    def small_floor(self):
        """The small-file floor (bench/c/tree_floor.c) against the command line and GNU tar, for every
        results file whose small group has it."""
        self.w("`floor` is bench/c/tree_floor: each directory listed, each file opened relative to its "
               "directory, fstat'ed, read whole and closed, in our order, nothing written (its output bytes "
               "column is empty: it writes none). `floor_uring` (bench/uring_floor) does the same with openat, read and close "
               "batched 64 files at a time through io_uring (the size from an fstat system call), `floor_uring_statx` with "
               "the statx in the ring too. `floor_pipe` (`tree_floor --pipe | cat > /dev/null`) is the floor plus "
               "what the pipe costs: the bytes of a TAR of the same size written 1 MiB at a time from one thread, "
               "each file read straight into the output buffer. `ours_cli` streams as it walks (`TapeBuilder::stream_paths`); `ours_c_pipe` and "
               "the in-process rows seal the tape first. Each run kept in bench/results, as the ratio of medians:")
        self.w()
        self.w("| run (load average) | rounds | floor / GNU tar | ours / floor | ours / GNU tar "
               "| floor_pipe / floor | ours / floor_pipe |")
        self.w("|---|---:|---:|---:|---:|---:|---:|")
        hist = []
        for meta, walls in self.walls_by_file("small"):
            if not walls.get("floor"):
                continue
            f, t, o = (statistics.median(walls[k]) for k in ("floor", "gnu_tar", "ours_cli"))
            hist.append((f / t, o / f, o / t))
            p = statistics.median(walls["floor_pipe"]) if walls.get("floor_pipe") else None
            self.w(f"| {meta['started']} ({' '.join(meta['machine']['loadavg'])}) | {len(walls['floor'])} | "
                   f"{f / t:.2f} | {o / f:.2f} | {o / t:.2f} | "
                   + (f"{p / f:.2f} | {o / p:.2f} |" if p else " | |"))
        self.w()
        if not hist:
            return
        # Judged on the latest three runs (the table above keeps the earlier ones, of older code).
        hist = hist[-3:]
        n = len(hist)
        spread = lambda i: (f"{n} runs: min {min(h[i] for h in hist):.2f}, median "
                            f"{statistics.median(h[i] for h in hist):.2f}, max {max(h[i] for h in hist):.2f}")
        worst_f = max(h[1] for h in hist)
        worst_t = max(h[2] for h in hist)
        self.target("Small files, pipe: `tartape create --no-md5 | cat` vs the floor", f"{worst_f:.2f}",
                    "<= 1.15", worst_f <= 1.15 and n >= 3, spread(1))
        self.target("Small files, pipe: `tartape create --no-md5 | cat` vs GNU tar (second round)",
                    f"{worst_t:.2f}", "<= 0.70", worst_t <= 0.70 and n >= 3, spread(2))
        self.target("(info) Small files: the floor vs GNU tar", f"{statistics.median(h[0] for h in hist):.2f}",
                    "<= 0.70", max(h[0] for h in hist) <= 0.70, spread(0))
        if self.latest_ratios("small", "floor_pipe", "floor"):
            self.target_in_runs("(info) Small files: the floor through the pipe (`tree_floor --pipe | cat`) vs the floor",
                                "small", "floor_pipe", "floor", 1.15)
            self.target_in_runs("(info) Small files: `tartape create --no-md5 | cat` vs the floor through the pipe",
                                "small", "ours_cli", "floor_pipe", 1.15)

    # ---- tables ----
    def wall_table(self, group, ours, names, extra=None):
        self.w("| contender | median s | min s | max s | user s | sys s | output bytes | MB/s | wall / ours |")
        self.w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = self.med(group, ours)
        for n in names:
            ws = self.walls(group, n)
            if not ws:
                continue
            rs = self.runs[(group, n)]
            m = statistics.median(ws)
            size = self.size_of(group, n)
            mbs = f"{size / m / 1e6:.0f}" if size else ""
            self.w(f"| {n}{' (ours)' if n == ours else ''} | {m:.3f} | {min(ws):.3f} | {max(ws):.3f} | "
                   f"{statistics.median(r['user'] for r in rs):.2f} | {statistics.median(r['sys'] for r in rs):.2f} | "
                   f"{size if size is not None else ''} | {mbs} | {m / base:.2f} |")
        self.w()

    def build(self):
        m = self.meta
        mach, ver = m["machine"], m["versions"]
        self.w("# Benchmarks")
        self.w()
        self.w(f"Generated by `bench/run.sh` ({m['mode']} mode, {m['reps']} runs of each contender, "
               f"started {m['started']}, commit {ver['git']}). Every figure is the median of runs made in "
               "alternation in one session (the order rotates each round); min and max show the spread. "
               "The machine is shared with other builds, so absolute figures are noisy; the ratios are what "
               "the targets judge. Regenerate with `bench/run.sh`; `bench/README.md` says what each "
               "contender measures.")
        for later in m.get("later", []):
            self.w()
            self.w(f"Group(s) {', '.join(later['groups'])}: from a later run (started {later['started']}, "
                   f"{later['reps']} runs, commit {later['git']}, load average {' '.join(later['loadavg'])}"
                   + (f"; Python TarTape: {later['tartape_py']}" if "tartape3" in later["groups"] else "")
                   + ").")
        self.w()
        self.w("## Machine and versions")
        self.w()
        self.w(f"- CPU: {mach['cpu']}, {mach['nproc']} cores (shared); memory {mach['mem_mib']} MiB; "
               f"kernel {mach['kernel']}; load average at start {' '.join(mach['loadavg'])}")
        for k, v in ver.items():
            self.w(f"- {k}: {v}")
        c = m["config"]
        self.w(f"- datasets: large = {c['large_files']} files x {c['large_mib']} MiB of random bytes; "
               f"large4 = the large set {c['large4_copies']} times (hard links, streamed as full files); "
               f"small = {c['small_files']} files of 0 to {c['small_max']} bytes in {c['small_dirs']} "
               f"directories; tree = {c['tree_entries']} entries (directories and empty files)")
        self.w()
        body = []
        saved, self.lines = self.lines, body
        self.groups()
        self.lines = saved
        self.w("## Targets")
        self.w()
        self.w("| target | measured | limit | result | note |")
        self.w("|---|---:|---:|:---:|---|")
        for t in self.targets:
            self.w("| " + " | ".join(t) + " |")
        self.w()
        self.lines += body
        analysis = Path(__file__).with_name("analysis.md")
        if analysis.exists():
            self.w(analysis.read_text().rstrip())
            self.w()
        self.checks()
        return "\n".join(self.lines) + "\n"

    def groups(self):
        R = self.runs
        self.w("## Figures")
        self.w()
        if ("large_inproc", "ours_inproc") in R:
            self.w("### Large files, hashing off, in-process (vs the pread loop)")
            self.w()
            self.w("`pread_loop` reads the four files with pread into one reused 1 MiB buffer; `tt_stream` adds "
                   "the directory to a tape and consumes every tt_next_event. Wall time of the whole process "
                   "(scan included).")
            self.w()
            self.wall_table("large_inproc", "ours_inproc", ["pread_loop", "ours_inproc"])
            ours = self.size_of("large_inproc", "ours_inproc") / self.med("large_inproc", "ours_inproc")
            lim = self.size_of("large_inproc", "pread_loop") / self.med("large_inproc", "pread_loop")
            inner_o = statistics.median(self.field("large_inproc", "ours_inproc", "bytes_per_s"))
            inner_p = statistics.median(self.field("large_inproc", "pread_loop", "bytes_per_s"))
            self.w(f"Throughput: ours {ours / 1e6:.0f} MB/s, pread loop {lim / 1e6:.0f} MB/s (timed inside the "
                   f"programs: {inner_o / 1e6:.0f} vs {inner_p / 1e6:.0f} MB/s).")
            self.w()
            self.target("Large, in-process, hashing off: throughput vs pread loop", f"{ours / lim:.2f}", ">= 0.90",
                        ours / lim >= 0.90, f"{ours / 1e6:.0f} vs {lim / 1e6:.0f} MB/s")
        if ("large_pipe", "ours_cli") in R:
            self.w("### Large files through a pipe (`X | cat > /dev/null`)")
            self.w()
            self.w("`ours_c_pipe` is `tt_stream --write`: the events' bytes copied into one 1 MiB buffer written to "
                   "the pipe; `ours_c_read_pipe` is `tt_stream --read --write`: `tt_read` building the archive in "
                   "one 1 MiB buffer, written as it is (what the command line does); `ours_inproc` consumes the "
                   "events without writing them, `ours_inproc_read` the bytes of `tt_read`.")
            self.w()
            self.wall_table("large_pipe", "ours_cli", ["gnu_tar", "bsdtar", "ours_cli", "ours_cli_md5", "ours_c_pipe",
                                                       "ours_c_read_pipe", "ours_inproc", "ours_inproc_read"])
            r = self.med("large_pipe", "ours_cli") / self.med("large_pipe", "gnu_tar")
            self.target("Large, pipe: default `tartape create` wall vs GNU tar", f"{r:.2f}", "<= 1.00", r <= 1.0,
                        "nothing is hashed unless --manifest --md5 asks")
            r2 = self.med("large_pipe", "ours_cli_md5") / self.med("large_pipe", "gnu_tar")
            self.target("(info) Large, pipe, `create --manifest F --md5` vs GNU tar", f"{r2:.2f}", "<= 1.00",
                        r2 <= 1.0, "every byte hashed; GNU tar hashes nothing")
        if ("write_file", "ours_file") in R:
            self.w("### Writing the archive into a file (`-o FILE`), large files")
            self.w()
            self.w("`ours_file` is `tartape create large -o FILE`: headers from memory, file content copied "
                   "in the kernel (copy_file_range), each 32 MiB handed to the disk as it is written, the file "
                   "synced and renamed into place; `gnu_tar_sync` is `tar cf FILE large && sync FILE` (the same "
                   "durability), `gnu_tar` without the sync. Before each run, untimed: both outputs removed "
                   "and `sync` (no run writes back the one before it).")
            self.w()
            self.wall_table("write_file", "ours_file", ["gnu_tar_sync", "gnu_tar", "ours_file"])
            self.target_in_runs("Large, into a file (`create -o FILE`, synced) vs `tar cf FILE && sync FILE`",
                                "write_file", "ours_file", "gnu_tar_sync", 0.70,
                                "ext4; file content by copy_file_range")
        if ("reflink", "ours_aligned") in R:
            self.w("### An aligned archive on XFS (reflinks), large files")
            self.w()
            info = next((o for o in self.other if o["kind"] == "info" and o["group"] == "reflink"
                         and "extra_disk_bytes" in o), {})
            self.w("The large set on a loop-mounted XFS (`mkfs.xfs -m reflink=1`); `ours_aligned` is "
                   "`tartape create large --align 4K -o FILE` beside it (file content by copy_file_range, "
                   "which shares the blocks when the offsets are aligned; synced, renamed), `gnu_tar_sync` "
                   f"`tar cf FILE large && sync FILE`. Extra disk use of the aligned archive: "
                   f"{info.get('extra_disk_bytes', 0):,} bytes for an archive of {info.get('archive_bytes', 0):,}.")
            self.w()
            self.wall_table("reflink", "ours_aligned", ["gnu_tar_sync", "ours_aligned"])
            r = self.med("reflink", "ours_aligned") / self.med("reflink", "gnu_tar_sync")
            self.target("Aligned archive on XFS beside its sources vs `tar cf FILE && sync FILE` there",
                        f"{r:.3f}", "<= 0.10", r <= 0.10,
                        f"extra disk use {info.get('extra_disk_bytes', 0) / 1024:.0f} KiB")
        if ("large_md5", "md5sum") in R:
            self.w("### Large files with MD5 (vs md5sum over the same files)")
            self.w()
            self.wall_table("large_md5", "ours_inproc_md5", ["md5sum", "ours_inproc_md5"])
            self.target_in_runs("Large, MD5 events on (in-process): wall vs md5sum", "large_md5",
                                "ours_inproc_md5", "md5sum", 0.75,
                                "two files hashed at once on 2 cores: 0.50 is the least possible")
        if ("small", "ours_cli") in R:
            self.w(f"### {self.meta['config']['small_files']:,} small files, scan plus stream to a pipe")
            self.w()
            self.wall_table("small", "ours_cli", ["floor", "floor_pipe", "floor_uring", "floor_uring_statx", "gnu_tar", "bsdtar", "ours_cli", "ours_cli_md5", "ours_c_pipe",
                                                  "ours_c_read_pipe", "ours_inproc", "ours_inproc_read"])
            if ("small", "floor") in R:
                self.small_floor()
            r = self.med("small", "ours_cli") / self.med("small", "gnu_tar")
            self.target("Small files, pipe: default `tartape create` wall vs GNU tar", f"{r:.2f}", "<= 1.00",
                        r <= 1.0)
            self.target("Small files, pipe: wall vs GNU tar (first-round target)", f"{r:.2f}", "<= 0.80", r <= 0.8)
            r2 = self.med("small", "ours_cli_md5") / self.med("small", "gnu_tar")
            self.target("(info) Small files, pipe, `create --manifest F --md5` vs GNU tar", f"{r2:.2f}", "<= 0.80",
                        r2 <= 0.8)
        if ("tree", "ours_cli") in R:
            self.w("### Tree of entries (directories and empty files), scan plus stream to a pipe (info)")
            self.w()
            self.wall_table("tree", "ours_cli", ["gnu_tar", "ours_cli", "ours_c_pipe"])
        if ("memory", "cli_1x") in R:
            self.w("### Peak memory of the command line (`/usr/bin/time -f %M tartape create DIR | cat`)")
            self.w()
            self.w("| run | bytes streamed | peak RSS KiB (max) | min | median | median wall s |")
            self.w("|---|---:|---:|---:|---:|---:|")
            info = next((o for o in self.other if o["kind"] == "info" and o["group"] == "memory"), {})
            peaks = {}
            for n in ["cli_1x", "cli_1x_no_md5", "cli_4x", "cli_4x_no_md5"]:
                v = self.field("memory", n, "peak_rss_kib")
                if not v:
                    continue
                peaks[n] = max(v)
                b = info.get("bytes_4x" if "4x" in n else "bytes_1x", "")
                self.w(f"| {n} | {b} | {max(v)} | {min(v)} | {statistics.median(v):.0f} | "
                       f"{self.med('memory', n):.2f} |")
            self.w()
            p1 = max(peaks["cli_1x"], peaks.get("cli_1x_no_md5", 0))
            c = self.meta["config"]
            gib = c["large_files"] * c["large_mib"] / 1024
            self.target(f"CLI peak RSS streaming the {gib:g} GiB set", f"{p1} KiB", "<= 8192 KiB", p1 <= 8192)
            p4 = max(peaks.get("cli_4x", 0), peaks.get("cli_4x_no_md5", 0))
            if p4:
                self.target(f"CLI peak RSS, {gib * c['large4_copies']:g} GiB set minus {gib:g} GiB set", f"{p4 - p1:+d} KiB", "<= 1024 KiB",
                          p4 - p1 <= 1024, f"{p4} KiB for 4 GiB")
        if ("catalog_memory", "opened") in R:
            self.catalog_memory()
        if ("random", "ours_1t") in R:
            self.random_section()
        if ("resume", "warm") in R:
            self.w("### Resume: open a catalog, start near its end, first DATA event")
            self.w()
            self.w("| run | first byte us median | min | max | open us median | process wall ms median |")
            self.w("|---|---:|---:|---:|---:|---:|")
            for n in ["warm", "cold"]:
                v = self.field("resume", n, "first_byte_us")
                o = self.field("resume", n, "open_us")
                self.w(f"| {n} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} | "
                       f"{statistics.median(o):,.0f} | {self.med('resume', n) * 1000:.1f} |")
            self.w()
            j = self.runs[("resume", "warm")][0]["json"]
            self.w(f"Catalog of {j['entries']:,} entries, {j['catalog_bytes']:,} bytes; start offset {j['offset']:,} "
                   f"of {j['total']:,}. Warm: the catalog is in the page cache (a resume soon after a failure); "
                   "cold: its pages were dropped first (posix_fadvise DONTNEED), so they come from the disk "
                   "(here a virtual disk with a host cache). Times are from before tt_tape_new to the first "
                   "DATA event, inside a fresh process each run.")
            self.w()
            rec = next((o for o in self.other if o["kind"] == "info" and o.get("what") == "record"), None)
            if rec:
                self.w(f"Recording the catalog (`tartape record`): {rec['wall']:.2f} s, peak RSS {rec['peak_rss_kib']} KiB.")
                self.w()
            v = self.med("resume", "warm", "first_byte_us")
            self.target("Resume: open catalog to first byte near the end (warm)", f"{v:,.0f} us", "<= 5,000 us",
                        v <= 5000, f"cold: {self.med('resume', 'cold', 'first_byte_us'):,.0f} us")
        if ("tartape3", "py3_large") in R:
            self.w("### Python TarTape 3.0.3 (PyPI) vs our Python package: record, then play()")
            self.w()
            self.w("| set | checksums | contender | median s | min s | max s | user CPU s | record s | play s | "
                   "bytes | MD5s | TarTape / ours |")
            self.w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            ratios = {}
            for s in ["large", "small"]:
                for sums in ["", "_sums"]:
                    base = self.med("tartape3", f"ours_{s}{sums}")
                    theirs = self.med("tartape3", f"py3_{s}{sums}")
                    if base is None or theirs is None:
                        continue
                    ratios[(s, sums)] = theirs / base
                    for n in [f"py3_{s}{sums}", f"ours_{s}{sums}"]:
                        ws = self.walls("tartape3", n)
                        rec = statistics.median(self.field("tartape3", n, "record_seconds"))
                        play = statistics.median(self.field("tartape3", n, "play_seconds"))
                        ratio = f"{theirs / base:.2f}" if n.startswith("py3") else ""
                        user = statistics.median(r["user"] for r in self.runs[("tartape3", n)])
                        self.w(f"| {s} | {'MD5' if sums else 'off'} | {n} | {statistics.median(ws):.3f} | "
                               f"{min(ws):.3f} | {max(ws):.3f} | {user:.2f} | {rec:.3f} | {play:.3f} | "
                               f"{self.field('tartape3', n, 'bytes')[0]} | {self.field('tartape3', n, 'md5s')[0]} | "
                               f"{ratio} |")
            self.w()
            self.w("Each run is a fresh process: `tartape.record(DIR)` to a new catalog, then every chunk of "
                   "`play()` counted (bench/py/tartape3_py.py for TarTape, bench/py/ours_record_play.py for "
                   "ours). With checksums both read and hash every file at recording (TarTape "
                   "`checksum=\"md5\"`, ours `checksum=True`: MD5 and CRC-32) and hash it again while "
                   "streaming (the MD5s column counts the files whose end event carried one); without, neither "
                   "hashes. TarTape's global hash cache starts empty each run (a fresh HOME), as for a first "
                   "recording. Wall times include the interpreter start; both stream the same number of bytes "
                   "(checked; TarTape gives no checksum for an empty file, hence its smaller MD5 count). "
                   "This group alone: `bash bench/run.sh --only tartape3 --reps 3`, its results copied to "
                   "bench/results/, then `python3 bench/report.py bench/results/*.jsonl > bench/BENCHMARKS.md`.")
            self.w()
            if ratios:
                self.w("TarTape 3.0.3's wall time over ours: " + "; ".join(
                    f"{s} with checksums {'on' if sums else 'off'} {r:.2f}" for (s, sums), r in ratios.items()) + ".")
                self.w()
            earlier = self.group_history("tartape3")
            if len(earlier) > 1:
                self.w("Every run of this group kept in bench/results (the table above is the last one), with "
                       "the load average when it started (2 cores, shared). The large-file ratios with MD5 move "
                       "with the load: ours spends more CPU there (MD5 and CRC-32 at recording, MD5 again while "
                       "streaming: see the user CPU column) but spreads it over both cores, which a saturated "
                       "machine does not give, while TarTape hashes on its one thread; the small-file ratios "
                       "hold.")
                self.w()
                self.w("| run | runs each | load average | large off | large MD5 | small off | small MD5 |")
                self.w("|---|---:|---|---:|---:|---:|---:|")
                for started, reps, load, rs in earlier:
                    cells = [f"{rs[k]:.2f}" if k in rs else "" for k in
                             [("large", ""), ("large", "_sums"), ("small", ""), ("small", "_sums")]]
                    self.w(f"| {started} | {reps} | {' '.join(load)} | " + " | ".join(cells) + " |")
                self.w()
        if ("python", "py_large") in R:
            self.w("### History: Python TarTape 2.3.3 (PyPI) vs ours, in-process with MD5 (record, then play)")
            self.w()
            self.w("Kept from the last run against TarTape 2.3.3 (no longer run: the group is now `tartape3`, "
                   "above). Ours was the C loop `tt_stream --md5` here.")
            self.w()
            self.w("| set | contender | median s | min s | max s | record s | play s | bytes | wall / ours |")
            self.w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
            for s in ["large", "small"]:
                base = self.med("python", f"ours_{s}")
                for n in [f"py_{s}", f"ours_{s}"]:
                    ws = self.walls("python", n)
                    rec = statistics.median(self.field("python", n, "record_seconds")) if n.startswith("py") else None
                    play = statistics.median(self.field("python", n, "play_seconds")) if n.startswith("py") else None
                    self.w(f"| {s} | {n} | {statistics.median(ws):.3f} | {min(ws):.3f} | {max(ws):.3f} | "
                           f"{'' if rec is None else f'{rec:.3f}'} | {'' if play is None else f'{play:.3f}'} | "
                           f"{self.field('python', n, 'bytes')[0]} | {statistics.median(ws) / base:.2f} |")
            self.w()
            self.w("Python TarTape always hashes in play(), so ours runs `tt_stream --md5` here; its wall time "
                   "includes the interpreter start and `record` (a SQLite index in DIR/.tartape, removed after "
                   "each run). Both produce the same bytes for these trees (sizes above).")
            self.w()

        for data in ("text", "small"):
            group = f"compress_{data}"
            if (group, "ours_zstd3") not in R:
                continue
            self.w(f"### Compressed TAR of the `{data}` set: the engine (`tt_stream --read --write`, as the "
                   "command line writes) against tar piped into the compressor, same level")
            self.w()
            self.wall_table(group, "ours_zstd3", ["tar_zstd3_T2", "ours_zstd3", "tar_czf", "ours_gzip6"])
            for ours, theirs, what in (("ours_zstd3", "tar_zstd3_T2", "zstd -3 (2 workers) vs `tar cf - | zstd -3 -T2`"),
                                       ("ours_gzip6", "tar_czf", "gzip -6 (2 threads) vs `tar czf -`")):
                r = self.med(group, ours) / self.med(group, theirs)
                a, b = self.size_of(group, ours), self.size_of(group, theirs)
                self.target(f"Compressed, {data} set: {what}", f"{r:.2f}", "<= 1.00", r <= 1.0,
                            f"sizes {a:,} vs {b:,} bytes ({100 * (a / b - 1):+.2f}%)")
        for data in ("text", "small", "large"):
            group = f"seekable_{data}"
            if (group, "ours_play_zstd3") not in R:
                continue
            self.w(f"### Seekable compressed archive of the `{data}` set: frames of 1 MiB recorded in a catalog")
            self.w()
            self.w("`ours_record_zstd3` is `tartape record --zstd --frame-size 1M` (the walk and one compression "
                   "of every frame, on 2 threads, to learn the sizes); `ours_play_zstd3` streams the compressed "
                   "archive from the catalog (`play --compress-threads 2`: each frame compressed again, its size "
                   "checked); against `tar cf - | zstd -3 -T2`. Sizes: the seekable archives (frames and seek "
                   "table) against one stream of the whole TAR.")
            self.w()
            self.wall_table(group, "ours_play_zstd3", ["tar_zstd3_T2", "ours_play_zstd3", "ours_record_zstd3"])
            for ours, one, what in (("ours_zstd3_frames", "zstd3_one_stream", "zstd -3"),
                                    ("ours_gzip6_frames", "gzip6_one_stream", "gzip -6")):
                a, b = self.size_of(group, ours), self.size_of(group, one)
                cost = 100 * (a / b - 1)
                if what == "zstd -3":
                    self.target(f"Seekable, {data} set: size of 1 MiB zstd frames vs one `zstd -3` stream",
                                f"{cost:+.2f}%", "<= +3%", cost <= 3.0, f"{a:,} vs {b:,} bytes")
                else:
                    self.w(f"- gzip -6 in 1 MiB frames: {a:,} bytes against {b:,} for one `gzip -6` stream "
                           f"({cost:+.2f}%).")
            r = self.med(group, "ours_play_zstd3") / self.med(group, "tar_zstd3_T2")
            self.w(f"- streaming the seekable archive takes {r:.2f} of `tar cf - | zstd -3 -T2`'s wall time.")
            self.w()
        if ("binding", "py_play") in R:
            self.w("### Our Python binding vs the C loop (1 GiB tape, hashing off, in-process)")
            self.w()
            self.w("`c_loop` is `tt_stream` (tt_next_event over the tape, bytes counted, no copy); `py_play` "
                   "iterates `Tape.play()` of the same tape through the ctypes binding (content read straight "
                   "into fresh `bytes` objects lent to `tt_next_event_into`); `py_readinto` reads "
                   "`Tape.as_file()` with `readinto` into one 1 MiB buffer; `py_write_to` is `Tape.write_to` "
                   "(`tt_read` into one reused 1 MiB buffer, each stretch handed to a writer that counts it). "
                   "Same library, same files; the "
                   "stream is timed inside each program (interpreter start excluded).")
            self.w()
            self.w("| contender | median s | min s | max s | throughput MB/s | vs c_loop |")
            self.w("|---|---:|---:|---:|---:|---:|")
            inner = {n: statistics.median(self.field("binding", n, "stream_seconds"))
                     for n in ["c_loop", "py_play", "py_readinto", "py_write_to"]
                     if ("binding", n) in R}
            size = self.field("binding", "c_loop", "bytes")[0]
            for n, sec in inner.items():
                xs = self.field("binding", n, "stream_seconds")
                self.w(f"| {n} | {sec:.3f} | {min(xs):.3f} | {max(xs):.3f} | {size / sec / 1e6:,.0f} | "
                       f"{inner['c_loop'] / sec:.2f} |")
            self.w()
            r = inner["c_loop"] / inner["py_play"]
            also = "; ".join(f"{n[3:]}: {inner['c_loop'] / inner[n]:.2f}"
                             for n in ["py_readinto", "py_write_to"] if n in inner)
            self.target("Python binding: play() throughput vs the C loop", f"{r:.2f}", ">= 0.80", r >= 0.80,
                        also)
        if ("serve", "ours_1c") in R:
            self.serve()
        if ("upload", "ours_upload") in R:
            self.upload()
        if ("record_scale", "ours_record") in R:
            self.record_scale()

    def record_scale(self):
        self.w("### Recording a large tree: `tartape record` against `find -printf` (wall, peak RSS)")
        self.w()
        self.w("`ours_record` is `tartape record --quiet DIR --catalog FILE` (the walk in its final order, "
               "directories listed ahead by a few threads, each entry's record written to temporary files "
               "as it is found, the catalog assembled at the end); `find_printf` is `find DIR -printf "
               "'%s %T@\\n' > /dev/null`, the least a tool reading every entry's size and mtime does. "
               "Peak RSS from `/usr/bin/time -f %M`. Trees of empty files (bench/scale_tree.sh): 1,000 "
               "directories of 1,000 on the root file system, and 10,000 directories of 1,000 in a "
               "loop-mounted XFS image (the root file system has 16M inodes), whose metadata does not all "
               "stay cached: that tree is read from the image's disk blocks in part, by both contenders.")
        self.w()
        self.w("| tree | contender | median s | min s | max s | user s | sys s | peak RSS KiB: min | median "
               "| max | wall / find |")
        self.w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ratios, peaks, entries = {}, {}, {}
        for group in ["record_scale", "record_scale_10m"]:
            if (group, "ours_record") not in self.runs:
                continue
            find = self.med(group, "find_printf")
            n = self.field(group, "ours_record", "entries")[0]
            entries[group] = n
            for c in ["ours_record", "find_printf"]:
                ws, rs = self.walls(group, c), self.runs[(group, c)]
                rss = self.field(group, c, "peak_rss_kib")
                m = statistics.median(ws)
                self.w(f"| {n:,} entries | {c} | {m:.2f} | {min(ws):.2f} | {max(ws):.2f} | "
                       f"{statistics.median(r['user'] for r in rs):.2f} | "
                       f"{statistics.median(r['sys'] for r in rs):.2f} | {min(rss):,} | "
                       f"{statistics.median(rss):,.0f} | {max(rss):,} | {m / find:.2f} |")
            ratios[group] = self.med(group, "ours_record") / find
            peaks[group] = max(self.field(group, "ours_record", "peak_rss_kib"))
            cat = self.field(group, "ours_record", "catalog_bytes")[0]
            self.w(f"| {n:,} entries | catalog | {cat:,} bytes, {cat / n:.1f} per entry | | | | | | | | |")
        self.w()
        history = []
        for path in self.paths:
            walls, rss, load = defaultdict(list), [], ""
            for line in open(path):
                r = json.loads(line)
                if r["kind"] == "group_done" and r["group"] == "record_scale":
                    load = " ".join(r["loadavg"])
                elif r["kind"] == "run" and r["group"] == "record_scale":
                    walls[r["contender"]].append(r["wall"])
                    if r["contender"] == "ours_record":
                        rss.append(r["json"]["peak_rss_kib"])
            if walls.get("ours_record") and walls.get("find_printf"):
                o, f = statistics.median(walls["ours_record"]), statistics.median(walls["find_printf"])
                history.append(f"{Path(path).name}: {o:.2f} / {f:.2f} s = {o / f:.2f}, peak {max(rss):,} KiB "
                               f"(load average after the group {load})")
        self.w("The walk lists directories on two threads (the machine's cores) while the writer places "
               "entries; the fingerprint, which begins with the entry count and the total size, can only be "
               "computed once the walk is over: a second pass re-encodes every header and hashes them "
               "(about 536 MB of MD5 input for the 1M tree, 0.65 s of one core here) on a thread of its "
               "own. With both cores free the two passes together take about find's time; with one core "
               "held by other work the walk loses its second thread and the ratio rises to about 1.5 "
               "(the runs below).")
        self.w()
        if len(history) > 1:
            self.w("Every kept run of the 1M comparison (ours / find, median wall); the table above is the "
                   "last: " + "; ".join(history) + ".")
            self.w()
        walked = self.field("record_scale_walked", "walked", "bytes_per_entry")
        if walked:
            wpeak = max(self.field("record_scale_walked", "walked", "peak_rss_kib"))
            n = self.field("record_scale_walked", "walked", "entries")[0]
            per = statistics.median(walked)
            self.w(f"A tape walked into memory (`tt_add_path`, sealed: what the C ABI and the bindings hold) of "
                   f"the same {n:,} entries keeps {per:.0f} bytes per entry on the heap (median of "
                   f"{len(walked)} runs; peak RSS while walking and sealing {wpeak:,} KiB, "
                   f"{wpeak * 1024 / n:.0f} bytes per entry): about {(1 << 30) / per / 1e6:.1f} million "
                   f"entries per GiB resident, {(1 << 30) / (wpeak * 1024 / n) / 1e6:.1f} million per GiB "
                   "at the peak.")
            self.w()
        if "record_scale" in ratios:
            self.target("record_scale: `tartape record` of 1M entries, wall vs `find -printf`",
                        f"{ratios['record_scale']:.2f}", "<= 1.20", ratios["record_scale"] <= 1.20,
                        f"{entries['record_scale']:,} entries")
            self.target("record_scale: peak RSS of `tartape record`, 1M entries", f"{peaks['record_scale']:,} KiB",
                        "<= 65,536 KiB", peaks["record_scale"] <= 65536)
        if "record_scale_10m" in ratios:
            self.target("record_scale: peak RSS of `tartape record`, 10M entries (XFS image)",
                        f"{peaks['record_scale_10m']:,} KiB", "<= 65,536 KiB", peaks["record_scale_10m"] <= 65536,
                        f"{entries['record_scale_10m']:,} entries")
            self.target("(info) record_scale: 10M entries, wall vs `find -printf`",
                        f"{ratios['record_scale_10m']:.2f}", "<= 1.20", ratios["record_scale_10m"] <= 1.20)

    def upload(self):
        info = next((o for o in self.other if o["kind"] == "info" and o["group"] == "upload"), {})
        part, jobs = info["part_size"], info["jobs"]
        self.w("### Upload to S3: `tartape upload` from the tree vs boto3's upload_file of a tar on disk")
        self.w()
        self.w(f"Both upload the large set to one SeaweedFS ({info.get('weed', 'weed')}, `weed mini`, the "
               "tests' S3 server) on 127.0.0.1 with a fresh data directory, in parts of "
               f"{part // MIB} MiB, {jobs} at once: `ours_upload` is `tartape upload --part-size "
               f"{part // MIB}M --jobs {jobs} large s3://bench/ours.tar` (the parts read with read_at "
               "straight from the files, each with its Content-MD5, no temporary file); `boto3_upload` is "
               f"{info.get('boto3', 'boto3')}'s `upload_file` with TransferConfig(multipart_chunksize = "
               f"multipart_threshold = {part // MIB} MiB, max_concurrency = {jobs}) of the tar "
               "`gnu_tar_to_disk` wrote (`tar cf large.tar large`, into the page cache: not synced), with "
               "boto3's default checksum (a CRC32 of each part; ours computes an MD5 of each, which "
               "costs more). Each object is deleted after its run. The client, the server and its volume "
               "writes share the machine's two cores.")
        self.w()
        self.w("| contender | median s | min s | max s | user s | sys s | bytes | MB/s | wall / ours |")
        self.w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        ours = self.med("upload", "ours_upload")
        sizes = {"ours_upload": info["ours_bytes"], "boto3_upload": info["gnu_tar_bytes"],
                 "gnu_tar_to_disk": info["gnu_tar_bytes"]}
        for n in ["ours_upload", "boto3_upload", "gnu_tar_to_disk"]:
            ws = self.walls("upload", n)
            rs = self.runs[("upload", n)]
            m = statistics.median(ws)
            self.w(f"| {n}{' (ours)' if n == 'ours_upload' else ''} | {m:.3f} | {min(ws):.3f} | {max(ws):.3f} | "
                   f"{statistics.median(r['user'] for r in rs):.2f} | {statistics.median(r['sys'] for r in rs):.2f} | "
                   f"{sizes[n]} | {sizes[n] / m / 1e6:.0f} | {m / ours:.2f} |")
        boto = self.med("upload", "boto3_upload")
        tar = self.med("upload", "gnu_tar_to_disk")
        self.w(f"| boto3_upload + gnu_tar_to_disk (sum of medians) | {boto + tar:.3f} | | | | | "
               f"{info['gnu_tar_bytes']} | {info['gnu_tar_bytes'] / (boto + tar) / 1e6:.0f} | {(boto + tar) / ours:.2f} |")
        self.w()
        rss = self.field("upload", "ours_upload", "peak_rss_kib")
        limit = info["rss_limit_kib"]
        self.w(f"Peak RSS of `tartape upload` (`/usr/bin/time -f %M`): {max(rss):,} KiB at most "
               f"(median {statistics.median(rss):,.0f}); jobs x part + 16 MiB = {limit:,} KiB. "
               f"The server's own peak RSS: {info.get('weed_peak_rss_kib', 0):,} KiB. {info['parts']} parts; "
               "every object's ETag was the same in every run and the one predicted (ours: `tartape record "
               "--part-size`; boto3's: the MD5 of the file's part MD5s), and each object was read back once "
               "and compared with its archive (checks below).")
        self.w()
        history = []
        for path in self.paths:
            walls, rss_max, started = defaultdict(list), 0, ""
            for line in open(path):
                r = json.loads(line)
                if r["kind"] == "meta":
                    started = f"{r['started']} (load {' '.join(r['machine']['loadavg'])})"
                elif r["kind"] == "run" and r["group"] == "upload":
                    walls[r["contender"]].append(r["wall"])
                    if r["contender"] == "ours_upload":
                        rss_max = max(rss_max, r["json"]["peak_rss_kib"])
            if walls.get("ours_upload") and walls.get("boto3_upload"):
                o, b = statistics.median(walls["ours_upload"]), statistics.median(walls["boto3_upload"])
                t = statistics.median(walls["gnu_tar_to_disk"])
                history.append(f"{started}: {o / b:.2f} alone, {o / (b + t):.2f} with GNU tar, {rss_max:,} KiB")
        if len(history) > 1:
            self.w("Every kept run of this group (ours / boto3 upload alone, ours / GNU tar + boto3, our peak "
                   "RSS); the table above is the last: " + "; ".join(history) + ".")
            self.w()
        self.target("upload: `tartape upload` from the tree vs boto3 upload_file alone (tar already on disk)",
                    f"{ours / boto:.2f}", "<= 1.00", ours / boto <= 1.0,
                    f"{ours:.2f} vs {boto:.2f} s, {part // MIB} MiB parts x {jobs}")
        self.target("(info) upload: vs GNU tar to disk, then boto3 upload_file", f"{ours / (boto + tar):.2f}",
                    "<= 1.00", ours / (boto + tar) <= 1.0, f"{ours:.2f} vs {tar:.2f} + {boto:.2f} s")
        self.target("upload: peak RSS of `tartape upload`", f"{max(rss):,} KiB", f"<= {limit:,} KiB",
                    max(rss) <= limit, f"jobs x part + 16 MiB = {jobs} x {part // MIB} MiB + 16 MiB")

    def serve(self):
        info = next((o for o in self.other if o["kind"] == "info" and o["group"] == "serve"), {})
        size = info.get("archive_bytes")
        self.w("### `tartape serve` vs nginx serving the same archive from disk (loopback)")
        self.w()
        self.w(f"The large set served by `tartape serve large` (the archive is never written) and by "
               f"{info.get('nginx', 'nginx')} (sendfile on, tcp_nopush on, `worker_processes auto`, access "
               f"log off) serving the {size:,}-byte archive `tartape create` wrote to disk, both on "
               "127.0.0.1 and started by the benchmark. `_1c`: one curl fetching the whole archive; `_8r`: "
               "eight curls at once, each fetching one eighth as a Range. Every run's byte count is checked "
               "against the archive's size, and each server's bytes were compared with the file once "
               "(`curl | cmp`). The clients run on the same two cores as the servers.")
        self.w()
        self.w("| contender | median s | min s | max s | client user s | client sys s | MB/s | throughput vs nginx |")
        self.w("|---|---:|---:|---:|---:|---:|---:|---:|")
        ratios = {}
        for kind in ["1c", "8r"]:
            base = self.med("serve", f"nginx_{kind}")
            for who in ["nginx", "ours"]:
                n = f"{who}_{kind}"
                ws = self.walls("serve", n)
                rs = self.runs[("serve", n)]
                m = statistics.median(ws)
                ratios[n] = base / m
                self.w(f"| {n} | {m:.3f} | {min(ws):.3f} | {max(ws):.3f} | "
                       f"{statistics.median(r['user'] for r in rs):.2f} | {statistics.median(r['sys'] for r in rs):.2f} | "
                       f"{size / m / 1e6:,.0f} | {base / m:.2f} |")
        self.w()
        cpu = info.get("server_cpu_s")
        if cpu:
            gib = info["served_bytes_each"] / (1 << 30)
            self.w(f"CPU time of the servers themselves over all these runs (each sent {gib:.1f} GiB): nginx "
                   f"{cpu['nginx']:.2f} s ({cpu['nginx'] / gib:.3f} s/GiB, master and workers), tartape serve "
                   f"{cpu['ours']:.2f} s ({cpu['ours'] / gib:.3f} s/GiB). The user and sys columns above are "
                   "the clients'. tartape serve copies each byte twice (pread into a pooled buffer, then "
                   "the socket write) where nginx's sendfile copies once; it spreads one connection over "
                   "a tokio worker and a blocking read thread where nginx serves it from one worker.")
            self.w()
        hwm = info.get("ours_peak_rss_kib")
        self.w(f"Peak RSS of `tartape serve` over the whole session, ending with 64 clients at once each "
               f"fetching 1/64 of the archive as a Range ({info.get('clients_64_wall', 0):.2f} s): {hwm:,} KiB.")
        self.w()
        self.target("serve: one client, throughput vs nginx (sendfile)", f"{ratios['ours_1c']:.2f}", ">= 0.90",
                    ratios["ours_1c"] >= 0.9, f"{size / self.med('serve', 'ours_1c') / 1e6:,.0f} vs "
                    f"{size / self.med('serve', 'nginx_1c') / 1e6:,.0f} MB/s")
        self.target("serve: eight parallel range clients, throughput vs nginx", f"{ratios['ours_8r']:.2f}", ">= 0.90",
                    ratios["ours_8r"] >= 0.9, f"{size / self.med('serve', 'ours_8r') / 1e6:,.0f} vs "
                    f"{size / self.med('serve', 'nginx_8r') / 1e6:,.0f} MB/s")
        self.target("serve: peak RSS with 64 connections", f"{hwm:,} KiB", "<= 32768 KiB", hwm <= 32768)

    def catalog_memory(self):
        op = [r["json"] for r in self.runs[("catalog_memory", "opened")]]
        wk = [r["json"] for r in self.runs[("catalog_memory", "walked")]]
        j = op[0]
        n = j["entries"]
        name = j["mean_name"]
        anon = statistics.median((o["anon_checked_kib"] - o["anon_before_kib"]) * 1024 / n for o in op)
        mapped = statistics.median(o["catalog_mapped_kib"] * 1024 / n for o in op)
        mapped_first = statistics.median(o["catalog_mapped_first_kib"] * 1024 / n for o in op)
        walk = statistics.median(w["bytes_per_entry"] for w in wk)
        trimmed = [w["bytes_per_entry_trimmed"] for w in wk if "bytes_per_entry_trimmed" in w]
        peak = max(w["peak_rss_kib"] for w in wk) * 1024 / n
        self.w("### Memory per entry (tree catalog)")
        self.w()
        self.w(f"{n:,} entries, mean name {name:.1f} bytes; catalog file {j['catalog_bytes']:,} bytes = "
               f"{j['catalog_bytes'] / n:.1f} bytes per entry.")
        self.w()
        self.w("| tape | bytes per entry | minus the mean name |")
        self.w("|---|---:|---:|")
        self.w(f"| opened catalog, after the first byte: mapped catalog pages resident | {mapped_first:.1f} | |")
        self.w(f"| opened catalog, every byte checked: heap + mapped catalog resident | {anon + mapped:.1f} "
               f"| {anon + mapped - name:.1f} |")
        self.w(f"| tape built by walking the tree (tt_add_path, sealed): resident heap | {walk:.1f} | {walk - name:.1f} |")
        if trimmed:
            t = statistics.median(trimmed)
            self.w(f"| the same after malloc_trim(0) (memory freed while sealing, kept by the allocator, given back) "
                   f"| {t:.1f} | {t - name:.1f} |")
        self.w(f"| the same, peak while walking and sealing (whole process) | {peak:.1f} | {peak - name:.1f} |")
        self.w()
        self.w("An opened catalog is mapped, not copied: its pages are the page cache's, shared and "
               "reclaimable; only what is read becomes resident. A walked tape (what `record` holds "
               "before saving, and every in-process tape built with tt_add_path) lives on the heap.")
        self.w()
        self.target("Catalog memory per entry (opened, fully resident)", f"{name:.0f} + {anon + mapped - name:.0f} B",
                    "<= name + 100 B", anon + mapped - name <= 100)
        self.target("Tape memory per entry (walked, in memory, resident)", f"{name:.0f} + {walk - name:.0f} B",
                    "<= name + 100 B", walk - name <= 100,
                    (f"live after malloc_trim: {name:.0f} + {statistics.median(trimmed) - name:.0f} B; " if trimmed else "")
                    + f"peak while sealing {peak:.0f} B")

    def checks(self):
        self.w("## Honesty checks")
        self.w()
        self.w("- Every contender's output size is the same across its own runs (pipes: re-run into `wc -c`; "
               "in-process programs report their byte count each run). Sizes differ between tar "
               "implementations (GNU tar and bsdtar round the archive up to a 10 KiB record), so they are "
               "shown side by side, not compared.")
        for o in self.other:
            if o["kind"] == "check":
                what = o["what"] if "MD5" in o["what"] else f"{o['what']}: {o['a']} / {o['b']}"
                self.w(f"- {o['group']}: {what}: {'ok' if o['ok'] else 'FAILED'}")
            elif o["kind"] == "size":
                self.w(f"- {o['group']}/{o['contender']}: sizes {o['sizes']}")
        self.w("- The page cache is warmed (every file read with `cat`) before each group; nothing else "
               "persists between runs: each run is a new process that scans the directory (or opens the "
               "catalog) itself. Python TarTape's index is deleted after each run.")
        self.w()


def main():
    paths = sys.argv[1:] or ["bench/out/latest-full.jsonl"]
    sys.stdout.write(Report(paths).build())


if __name__ == "__main__":
    main()
