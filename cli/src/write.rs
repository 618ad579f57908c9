//! `tartape write`: the archive of a catalog written in place into one file, part by part, by any
//! number of processes on any number of hosts that share the file system, with `pwrite` at each
//! part's offset (parts never overlap, and their bytes do not depend on who makes them).
//!
//! Beside OUT, `--create` makes `OUT.tartape-partial` (the archive's size, holes until written)
//! and the directory `OUT.tartape-partial.d` holding the plan (fingerprint, sizes). Each
//! `--parts A-B` writes its parts, syncs them, and leaves a record of their MD5s in that
//! directory. `--complete` checks that every part was written and that the file holds exactly the
//! bytes each record says (reading the file once), syncs it and renames it to OUT. Without those
//! options, all three steps run here, parts on `--jobs` threads.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use tartape::Tape;

use crate::cli::WriteArgs;
use crate::output::Output;
use crate::upload::plan::{hex, parse_part_range};
use crate::Failure;

/// Bytes read and written at a time: memory is this per thread, whatever the part size.
const CHUNK: usize = 1 << 20;
/// Bytes per part unless told: a unit of work for one slice.
const DEFAULT_PART: u64 = 64 << 20;

/// What every slice must agree on, kept in the partial file's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Plan {
    fingerprint: String,
    total_size: u64,
    part_size: u64,
}

/// What one `--parts` run wrote: part number to MD5 (hex).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Written {
    parts: BTreeMap<u64, String>,
}

struct Paths {
    out: PathBuf,
    partial: PathBuf,
    dir: PathBuf,
}

impl Paths {
    fn of(out: &Path) -> Result<Paths, Failure> {
        let name = out
            .file_name()
            .ok_or_else(|| format!("{}: not a file name", out.display()))?;
        let mut partial = name.to_owned();
        partial.push(".tartape-partial");
        let partial = out.with_file_name(partial);
        let mut dir = partial.as_os_str().to_owned();
        dir.push(".d");
        Ok(Paths {
            out: out.to_owned(),
            partial,
            dir: PathBuf::from(dir),
        })
    }

    fn plan(&self) -> PathBuf {
        self.dir.join("plan.json")
    }
}

/// Runs `tartape write`.
pub fn run(args: WriteArgs) -> Result<u8, Failure> {
    let paths = Paths::of(&args.out)?;
    if args.abort {
        let existed = paths.partial.exists() || paths.dir.exists();
        remove(&paths)?;
        println!(
            "{}",
            if existed {
                format!("removed the partial write of {}", paths.out.display())
            } else {
                format!("no write of {} was in progress", paths.out.display())
            }
        );
        return Ok(0);
    }
    let tape = Tape::open(&args.catalog).map_err(|e| e.to_string())?;
    tape.check_random_access().map_err(|e| {
        format!("{e}: a stream-only tape (deflated ZIP) cannot be written in parts")
    })?;
    let plan = Plan {
        fingerprint: tape.fingerprint().map_err(|e| e.to_string())?,
        total_size: tape.total_size(),
        part_size: args.part_size.unwrap_or(DEFAULT_PART),
    };
    if plan.part_size == 0 {
        return Err("--part-size 0: a part holds at least one byte".into());
    }
    let count = plan.total_size.div_ceil(plan.part_size).max(1);
    if let Some(range) = &args.parts {
        let plan = load_plan(&paths, &plan, args.part_size.is_some())?;
        let count = plan.total_size.div_ceil(plan.part_size).max(1);
        let (a, b) = parse_part_range(range, count)?;
        let written = write_parts(&tape, &plan, &paths.partial, a..=b, args.jobs)?;
        save_written(&paths, a, b, &written)?;
        println!(
            "parts {a} to {b} of {count} are in {}",
            paths.partial.display()
        );
        return Ok(0);
    }
    if args.complete {
        let plan = load_plan(&paths, &plan, args.part_size.is_some())?;
        complete(&paths, &plan, args.jobs)?;
        println!("{}: {} bytes", paths.out.display(), plan.total_size);
        return Ok(0);
    }
    if paths.partial.exists() || paths.dir.exists() {
        return Err(format!(
            "a write of {} is in progress ({}): run its --parts and --complete, or --abort it",
            paths.out.display(),
            paths.partial.display()
        ));
    }
    create(&paths, &plan)?;
    if args.create {
        println!(
            "{}: {count} parts of {} bytes to write with --parts",
            paths.partial.display(),
            plan.part_size
        );
        return Ok(0);
    }
    let result = write_parts(&tape, &plan, &paths.partial, 1..=count, args.jobs)
        .and_then(|w| save_written(&paths, 1, count, &w))
        .and_then(|()| complete(&paths, &plan, args.jobs));
    if result.is_err() {
        let _ = remove(&paths);
    }
    result?;
    println!("{}: {} bytes", paths.out.display(), plan.total_size);
    Ok(0)
}

/// The partial file at the archive's size (sparse: holes until written) and its plan.
fn create(paths: &Paths, plan: &Plan) -> Result<(), Failure> {
    let show = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    fs::create_dir(&paths.dir).map_err(|e| show(&paths.dir, e))?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&paths.partial)
        .map_err(|e| show(&paths.partial, e))?;
    file.set_len(plan.total_size)
        .map_err(|e| show(&paths.partial, e))?;
    let text = serde_json::to_string_pretty(plan).map_err(|e| e.to_string())? + "\n";
    let mut out = Output::open(Some(&paths.plan()))?;
    out.write_all(text.as_bytes())?;
    out.commit()
}

/// The plan of the write in progress, checked against this catalog (and part size, if given).
fn load_plan(paths: &Paths, now: &Plan, part_size_given: bool) -> Result<Plan, Failure> {
    let bytes = fs::read(paths.plan()).map_err(|e| {
        format!(
            "{}: {e}: no write of {} was started (run --create first)",
            paths.plan().display(),
            paths.out.display()
        )
    })?;
    let plan: Plan = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a write plan: {e}", paths.plan().display()))?;
    if plan.fingerprint != now.fingerprint || plan.total_size != now.total_size {
        return Err(format!(
            "the write in progress of {} is of another archive (fingerprint {}, this catalog's is \
             {}): --abort it",
            paths.out.display(),
            plan.fingerprint,
            now.fingerprint
        ));
    }
    if part_size_given && plan.part_size != now.part_size {
        return Err(format!(
            "the write in progress of {} has parts of {} bytes, not {}",
            paths.out.display(),
            plan.part_size,
            now.part_size
        ));
    }
    Ok(plan)
}

/// Reads parts `range` from the tape and writes each at its offset, on `jobs` threads; returns
/// their MD5s once the file is synced.
fn write_parts(
    tape: &Tape,
    plan: &Plan,
    partial: &Path,
    range: std::ops::RangeInclusive<u64>,
    jobs: u64,
) -> Result<BTreeMap<u64, String>, Failure> {
    let file = OpenOptions::new().write(true).open(partial).map_err(|e| {
        format!(
            "{}: {e} (is it on a file system this host shares? run --create first)",
            partial.display()
        )
    })?;
    let len = file
        .metadata()
        .map_err(|e| format!("{}: {e}", partial.display()))?
        .len();
    if len != plan.total_size {
        return Err(format!(
            "{}: {len} bytes, the archive has {}: not this write's file",
            partial.display(),
            plan.total_size
        ));
    }
    let each = |n: u64, buf: &mut [u8]| -> Result<String, Failure> {
        let mut md5 = Md5::new();
        each_chunk(plan, n, buf.len(), |offset, want| {
            let got = tape
                .read_at(offset, &mut buf[..want])
                .map_err(|e| format!("part {n}: {e}"))?;
            if got != want {
                return Err(format!(
                    "part {n}: the archive ends at {}",
                    offset + got as u64
                ));
            }
            file.write_all_at(&buf[..want], offset)
                .map_err(|e| format!("{}: part {n}: {e}", partial.display()))?;
            md5.update(&buf[..want]);
            Ok(())
        })?;
        Ok(hex(&md5.finalize()))
    };
    let done = on_threads(range, jobs, each)?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    Ok(done)
}

/// Calls `f(offset, len)` for each chunk of part `n`, in order.
fn each_chunk(
    plan: &Plan,
    n: u64,
    chunk: usize,
    mut f: impl FnMut(u64, usize) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let start = (n - 1) * plan.part_size;
    let end = (start + plan.part_size).min(plan.total_size);
    let mut offset = start;
    while offset < end {
        let want = ((end - offset) as usize).min(chunk);
        f(offset, want)?;
        offset += want as u64;
    }
    Ok(())
}

/// Runs `each(part, buffer)` for every part of `range` on `jobs` threads, each with its own buffer;
/// the first error stops the others.
fn on_threads(
    range: std::ops::RangeInclusive<u64>,
    jobs: u64,
    each: impl Fn(u64, &mut [u8]) -> Result<String, Failure> + Sync,
) -> Result<BTreeMap<u64, String>, Failure> {
    let next = AtomicU64::new(*range.start());
    let last = *range.end();
    let out = Mutex::new((BTreeMap::new(), None::<(u64, Failure)>));
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, 64) {
            s.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n > last {
                        return;
                    }
                    let result = each(n, &mut buf);
                    let mut guard = out.lock().unwrap_or_else(|p| p.into_inner());
                    match result {
                        Ok(md5) => {
                            guard.0.insert(n, md5);
                        }
                        Err(e) => {
                            next.store(last + 1, Ordering::Relaxed);
                            // The first failing part, so that the message does not depend on timing
                            // more than it must.
                            if guard.1.as_ref().map_or(true, |(m, _)| n < *m) {
                                guard.1 = Some((n, e));
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    let (done, failed) = out.into_inner().unwrap_or_else(|p| p.into_inner());
    match failed {
        Some((_, e)) => Err(e),
        None => Ok(done),
    }
}

fn save_written(
    paths: &Paths,
    a: u64,
    b: u64,
    parts: &BTreeMap<u64, String>,
) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(&Written {
        parts: parts.clone(),
    })
    .map_err(|e| e.to_string())?
        + "\n";
    let mut out = Output::open(Some(&paths.dir.join(format!("parts-{a}-{b}.json"))))?;
    out.write_all(text.as_bytes())?;
    out.commit()
}

/// Checks that every part was written and that the file holds what was written, then syncs the
/// file and renames it into place.
fn complete(paths: &Paths, plan: &Plan, jobs: u64) -> Result<(), Failure> {
    let count = plan.total_size.div_ceil(plan.part_size).max(1);
    let mut recorded: BTreeMap<u64, String> = BTreeMap::new();
    let entries = fs::read_dir(&paths.dir).map_err(|e| format!("{}: {e}", paths.dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", paths.dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("parts-") && name.ends_with(".json")) {
            continue;
        }
        let bytes =
            fs::read(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
        let w: Written = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a record of parts: {e}", entry.path().display()))?;
        recorded.extend(w.parts);
    }
    if let Some(n) = (1..=count).find(|n| !recorded.contains_key(n)) {
        let missing = (1..=count).filter(|n| !recorded.contains_key(n)).count();
        return Err(format!(
            "part {n} of {count} was never written ({missing} missing in all): run --parts for it"
        ));
    }
    if let Some(n) = recorded.keys().find(|n| **n > count) {
        return Err(format!(
            "part {n}: a record of a part the archive does not have ({count} parts)"
        ));
    }
    let file =
        File::open(&paths.partial).map_err(|e| format!("{}: {e}", paths.partial.display()))?;
    let len = file
        .metadata()
        .map_err(|e| format!("{}: {e}", paths.partial.display()))?
        .len();
    if len != plan.total_size {
        return Err(format!(
            "{}: {len} bytes, the archive has {}",
            paths.partial.display(),
            plan.total_size
        ));
    }
    on_threads(1..=count, jobs, |n, buf| {
        let mut md5 = Md5::new();
        each_chunk(plan, n, buf.len(), |offset, want| {
            file.read_exact_at(&mut buf[..want], offset)
                .map_err(|e| format!("{}: part {n}: {e}", paths.partial.display()))?;
            md5.update(&buf[..want]);
            Ok(())
        })?;
        let found = hex(&md5.finalize());
        if found != recorded[&n] {
            return Err(format!(
                "part {n}: {} holds other bytes than were written there (MD5 {found}, written \
                 {}): run --parts {n} again",
                paths.partial.display(),
                recorded[&n]
            ));
        }
        Ok(found)
    })?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", paths.partial.display()))?;
    fs::rename(&paths.partial, &paths.out).map_err(|e| format!("{}: {e}", paths.out.display()))?;
    if let Some(parent) = paths.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all(); // the rename is durable once the directory is
        }
    }
    fs::remove_dir_all(&paths.dir).map_err(|e| format!("{}: {e}", paths.dir.display()))
}

fn remove(paths: &Paths) -> Result<(), Failure> {
    for r in [
        fs::remove_file(&paths.partial),
        fs::remove_dir_all(&paths.dir),
    ] {
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", paths.partial.display())),
        }
    }
    Ok(())
}
