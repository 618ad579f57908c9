//! Verifying a tape against the disk: every discrepancy, not only the first.

use std::collections::HashSet;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::checksum::{self, hex, Checksums, Sums};
use crate::entry::{Entry, EntryKind};
use crate::error::Result;
use crate::name;
use crate::source::{FileIdentity, Source};
use crate::tape::Tape;

/// What differs between the tape and the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The path no longer exists.
    Missing,
    /// It is another kind of thing (a file became a directory...).
    Kind,
    /// Its size changed.
    Size,
    /// Its modification time changed.
    Mtime,
    /// It was replaced by another file (inode changed).
    Replaced,
    /// Its permission bits changed (the header would change).
    Mode,
    /// A symlink points elsewhere.
    LinkTarget,
    /// The content differs from a recorded checksum (deep only): MD5, CRC-32, SHA-256 or CRC-32C.
    /// One discrepancy per file, whose expected and found values name each algorithm that
    /// differs ("SHA-256 9f86..., CRC-32C 1a2b3c4d").
    Content,
    /// A file in a recorded directory that the tape does not hold.
    Unrecorded,
    /// It could not be read.
    Unreadable,
}

impl Problem {
    /// A stable lowercase word for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::Kind => "kind",
            Problem::Size => "size",
            Problem::Mtime => "mtime",
            Problem::Replaced => "replaced",
            Problem::Mode => "mode",
            Problem::LinkTarget => "link-target",
            Problem::Content => "content",
            Problem::Unrecorded => "unrecorded",
            Problem::Unreadable => "unreadable",
        }
    }

    /// A stable number for the C ABI.
    pub fn code(self) -> u32 {
        self as u32 + 1
    }
}

/// One discrepancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    /// The archive name (for `Unrecorded`, the name it would have).
    pub name: Vec<u8>,
    /// What differs.
    pub problem: Problem,
    /// What the tape recorded.
    pub expected: String,
    /// What the disk holds.
    pub found: String,
}

/// The result of a verification.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every discrepancy found, in archive order.
    pub discrepancies: Vec<Discrepancy>,
    /// How many entries were checked.
    pub checked: usize,
    /// Entries whose content could not be compared in a deep check: no checksum was recorded.
    pub without_checksum: usize,
}

impl Report {
    /// True when nothing differs.
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// Checks every entry of `tape` that came from disk: existence, kind, size, mtime, identity and
/// link target; each recorded directory for files not recorded; with `deep`, the content against
/// every checksum recorded (MD5, CRC-32, SHA-256, CRC-32C).
pub fn verify(tape: &Tape, deep: bool) -> Result<Report> {
    verify_with_progress(tape, deep, &mut |_| {})
}

/// [`verify`], calling `progress` after each file entry with the recorded sizes of the file
/// entries checked so far (a deep check reads that much content).
pub fn verify_with_progress(
    tape: &Tape,
    deep: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Report> {
    let mut report = Report::default();
    let mut done = 0u64;
    let mut buf = if deep { vec![0u8; 1 << 20] } else { Vec::new() };
    for i in 0..tape.len() {
        let slot = tape.slot(i)?;
        let e = &slot.entry;
        let Source::File(origin) = &e.source else {
            continue;
        };
        report.checked += 1;
        let path = origin.path(&e.name);
        let mut add = |problem, expected: String, found: String| {
            report.discrepancies.push(Discrepancy {
                name: e.name.to_vec(),
                problem,
                expected,
                found,
            })
        };
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                add(
                    Problem::Missing,
                    path.display().to_string(),
                    "nothing".into(),
                );
                continue;
            }
            Err(err) => {
                add(
                    Problem::Unreadable,
                    path.display().to_string(),
                    err.to_string(),
                );
                continue;
            }
        };
        let found_kind = kind_word(&meta);
        let expected_kind = match e.kind {
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symlink",
        };
        if found_kind != expected_kind {
            add(Problem::Kind, expected_kind.into(), found_kind.into());
            continue;
        }
        let now = FileIdentity::of(&meta);
        if e.kind != EntryKind::Symlink && meta.mode() & 0o7777 != e.mode {
            add(
                Problem::Mode,
                format!("{:04o}", e.mode),
                format!("{:04o}", meta.mode() & 0o7777),
            );
        }
        let was = origin.identity;
        if (was.dev, was.ino) != (now.dev, now.ino) {
            add(
                Problem::Replaced,
                format!("inode {}:{}", was.dev, was.ino),
                format!("inode {}:{}", now.dev, now.ino),
            );
        }
        match e.kind {
            EntryKind::File => {
                if e.size != now.size {
                    add(Problem::Size, e.size.to_string(), now.size.to_string());
                }
                if (was.mtime_sec, was.mtime_nsec) != (now.mtime_sec, now.mtime_nsec) {
                    add(
                        Problem::Mtime,
                        format!("{}.{:09}", was.mtime_sec, was.mtime_nsec),
                        format!("{}.{:09}", now.mtime_sec, now.mtime_nsec),
                    );
                }
                done += e.size;
                if deep {
                    let which = recorded_checksums(e);
                    if which.is_empty() {
                        report.without_checksum += 1;
                    } else {
                        // Hash what is on disk now, whatever its size.
                        let mut probe = e.clone();
                        if let Source::File(f) = &mut probe.source {
                            f.identity = now;
                        }
                        probe.size = now.size;
                        match checksum::of_entry(&probe, which, &mut buf) {
                            Ok(found) => {
                                let diff = differences(e, &found);
                                if !diff.is_empty() {
                                    let (expected, found): (Vec<_>, Vec<_>) =
                                        diff.into_iter().unzip();
                                    add(Problem::Content, expected.join(", "), found.join(", "));
                                }
                            }
                            Err(err) => {
                                add(Problem::Unreadable, "readable".into(), err.to_string())
                            }
                        }
                    }
                }
                progress(done);
            }
            EntryKind::Symlink => match fs::read_link(&path) {
                Ok(target) if target.as_os_str().as_bytes() != &*e.link => add(
                    Problem::LinkTarget,
                    String::from_utf8_lossy(&e.link).into_owned(),
                    target.display().to_string(),
                ),
                Ok(_) => {}
                Err(err) => add(Problem::Unreadable, "a symlink".into(), err.to_string()),
            },
            EntryKind::Dir => {
                check_directory(tape, &e.name, &path, &mut report.discrepancies)?;
            }
        }
    }
    Ok(report)
}

/// The checksums recorded for `e`.
fn recorded_checksums(e: &Entry) -> Checksums {
    let mut which = Checksums::NONE;
    for (on, c) in [
        (e.md5.is_some(), Checksums::MD5),
        (e.crc32.is_some(), Checksums::CRC32),
        (e.sha256.is_some(), Checksums::SHA256),
        (e.crc32c.is_some(), Checksums::CRC32C),
    ] {
        if on {
            which |= c;
        }
    }
    which
}

/// Each recorded checksum of `e` that `found` contradicts, as (expected, found) texts that name
/// the algorithm: "SHA-256 9f86...".
fn differences(e: &Entry, found: &Sums) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut compare = |name: &str, recorded: Option<String>, now: Option<String>| {
        if let (Some(r), Some(n)) = (recorded, now) {
            if r != n {
                out.push((format!("{name} {r}"), format!("{name} {n}")));
            }
        }
    };
    let crc = |c: u32| format!("{c:08x}");
    compare("MD5", e.md5.map(|m| hex(&m)), found.md5.map(|m| hex(&m)));
    compare("CRC-32", e.crc32.map(crc), found.crc32.map(crc));
    compare(
        "SHA-256",
        e.sha256.map(|m| hex(&m)),
        found.sha256.map(|m| hex(&m)),
    );
    compare("CRC-32C", e.crc32c.map(crc), found.crc32c.map(crc));
    out
}

/// Reports the children of a recorded directory that the tape does not hold (special files, which
/// a tape never stores, are left out).
fn check_directory(
    tape: &Tape,
    dir_name: &[u8],
    path: &std::path::Path,
    out: &mut Vec<Discrepancy>,
) -> Result<()> {
    let Ok(read) = fs::read_dir(path) else {
        return Ok(()); // reported as unreadable by the entry's own check if it matters
    };
    let excluded: HashSet<&[u8]> = tape
        .layout()
        .sidecar()
        .exclude
        .iter()
        .map(|v| v.as_slice())
        .collect();
    let mut names = Vec::new();
    for child in read.flatten() {
        let file_name = child.file_name();
        let bytes = file_name.as_bytes();
        if excluded.contains(bytes) {
            continue;
        }
        let special = child
            .file_type()
            .map(|t| t.is_fifo() || t.is_socket() || t.is_block_device() || t.is_char_device())
            .unwrap_or(false);
        if special {
            continue;
        }
        names.push(bytes.to_vec());
    }
    names.sort();
    for n in names {
        let full = name::join(dir_name, &n)?;
        if tape.layout().locate(&full)?.is_none() {
            out.push(Discrepancy {
                name: full,
                problem: Problem::Unrecorded,
                expected: "not present".into(),
                found: "present on disk".into(),
            });
        }
    }
    Ok(())
}

fn kind_word(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "file"
    } else if t.is_dir() {
        "directory"
    } else if t.is_symlink() {
        "symlink"
    } else {
        "special file"
    }
}
