//! `tartape extract`: a TAR or ZIP archive (or a TAR on standard input) into a directory, with
//! nothing ever written outside it.
//!
//! Refused, each with a message naming the entry: absolute names and `..` components, a path
//! through a symlink (one the archive made, or one swapped in meanwhile), hard links to names
//! outside, ZIP members whose local header names them differently from the central directory
//! (unless `--force`), and content whose CRC-32 or size does not match (its partial file is
//! removed). Files are written under a temporary name and renamed when complete. Modes (without
//! setuid and setgid: owners are not restored), mtimes and symlinks are restored; directories get
//! their mode and mtime at the end, once their content is in place.

use std::io::{Seek, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

use tartape::reader::{ArchiveEntry, EntryKind};

use crate::beneath::{self, Existing, Node, Refusal, Root};
use crate::cli::ExtractArgs;
use crate::create::bytes_of;
use crate::input::{self, Input, Members};
use crate::progress::Progress;
use crate::Failure;

/// What to do when something already exists under an entry's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Refuse,
    Overwrite,
    Keep,
}

/// A directory whose mode and mtime are set once everything is extracted.
struct DirFix {
    components: Vec<Vec<u8>>,
    mode: u32,
    mtime: i64,
}

struct Extraction {
    root: Root,
    policy: Policy,
    force: bool,
    strip: usize,
    /// The MEMBER arguments (components joined: no `.`, empty or trailing parts) and whether each
    /// matched.
    wanted: Vec<(Vec<u8>, bool)>,
    dirs: Vec<DirFix>,
    /// Names this run has extracted: a later entry of the same name replaces an earlier one.
    done: std::collections::HashSet<Vec<u8>>,
    buf: Vec<u8>,
    bytes: u64,
}

/// Runs `tartape extract`: exit 0 when everything was extracted, 2 when anything was refused or
/// failed (each reported on standard error) or a MEMBER was not found.
pub fn run(args: ExtractArgs) -> Result<u8, Failure> {
    let show = input::shown(&args.archive);
    let input = input::open(&args.archive)?;
    let total = match &input {
        Input::File(a) => Some(a.entries().iter().map(|e| e.size).sum()),
        Input::Stream(_) => None,
    };
    let mut x = Extraction {
        root: Root::open(&args.directory)?,
        policy: if args.overwrite {
            Policy::Overwrite
        } else if args.keep_existing {
            Policy::Keep
        } else {
            Policy::Refuse
        },
        force: args.force,
        strip: args.strip_components,
        wanted: args
            .members
            .iter()
            .map(|m| (components(bytes_of(m)).join(&b'/'), false))
            .collect(),
        dirs: Vec::new(),
        done: std::collections::HashSet::new(),
        buf: vec![0u8; 1 << 20],
        bytes: 0,
    };
    let progress = Progress::bytes(total, args.quiet);
    let mut members = Members::new(input);
    let mut failed = 0usize;
    let mut report = |name: &[u8], why: Refusal| {
        failed += 1;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "tartape: {}: {why}", name.escape_ascii());
    };
    loop {
        let entry = match members.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => {
                drop(progress);
                return Err(format!("{show}: {e}"));
            }
        };
        if let Err(why) = x.entry(&entry, &mut members, &progress) {
            report(&entry.name, why);
        }
    }
    for (name, why) in x.fix_directories() {
        report(&name, why);
    }
    progress.finish();
    drop(progress);
    let missing: Vec<String> = x
        .wanted
        .iter()
        .filter(|(_, found)| !found)
        .map(|(m, _)| format!("\"{}\"", m.escape_ascii()))
        .collect();
    if !missing.is_empty() {
        return Err(format!("not found in {show}: {}", missing.join(", ")));
    }
    if failed > 0 {
        return Err(format!(
            "{failed} entries of {show} not extracted (see above)"
        ));
    }
    Ok(0)
}

/// The components of a name, without empty and `.` ones.
fn components(name: &[u8]) -> Vec<&[u8]> {
    name.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect()
}

impl Extraction {
    /// True when `name` (components) is one of the wanted members or under one; marks it found.
    fn selected(&mut self, comps: &[&[u8]]) -> bool {
        if self.wanted.is_empty() {
            return true;
        }
        let joined = comps.join(&b'/');
        let mut any = false;
        for (w, found) in &mut self.wanted {
            if joined == *w || (joined.starts_with(w) && joined.get(w.len()) == Some(&b'/')) {
                *found = true;
                any = true;
            }
        }
        any
    }

    fn entry(
        &mut self,
        e: &ArchiveEntry,
        members: &mut Members,
        progress: &Progress,
    ) -> Result<(), Refusal> {
        if e.unsafe_name {
            return Err(
                "unsafe name (absolute, with a .. component, a NUL or empty): \
                        not extracted"
                    .into(),
            );
        }
        let all = components(&e.name);
        if all.len() <= self.strip {
            return Ok(());
        }
        // MEMBER arguments name entries as the archive does, before --strip-components.
        if !self.selected(&all) {
            return Ok(());
        }
        let comps: Vec<&[u8]> = all[self.strip..].to_vec();
        if e.name_mismatch && !self.force {
            return Err(
                "the ZIP local header names this member differently from the central \
                        directory: not extracted (--force extracts it under this name)"
                    .into(),
            );
        }
        if e.encrypted {
            return Err("encrypted: not extracted".into());
        }
        if e.kind == EntryKind::Other && e.typeflag == b'V' {
            return Ok(()); // a GNU volume label names the archive, not a file
        }
        let shown = comps.join(&b'/').escape_ascii().to_string();
        let parent = self.root.parent(&comps, true)?;
        let name = *comps.last().expect("at least one component");
        let there = beneath::existing(&parent, name).map_err(|e| e.to_string())?;
        let is_dir = e.kind == EntryKind::Dir;
        let joined = comps.join(&b'/');
        let ours = self.done.contains(&joined);
        let policy = if ours { Policy::Overwrite } else { self.policy };
        match (there, is_dir) {
            (Existing::Nothing, _) => {}
            (Existing::Dir, true) => {}
            (_, _) if policy == Policy::Keep => return Ok(()),
            (_, _) if policy == Policy::Refuse => {
                return Err(
                    "already exists (--overwrite replaces it, --keep-existing keeps it)".into(),
                )
            }
            (Existing::Dir, false) => beneath::remove(&parent, name, true)
                .map_err(|err| format!("cannot replace the directory there: {err}"))?,
            (Existing::Other, _) => {
                if is_dir {
                    beneath::remove(&parent, name, false).map_err(|err| err.to_string())?
                }
            }
        }
        let replace = policy == Policy::Overwrite;
        let mode = e.mode & 0o1777;
        self.done.insert(joined);
        match e.kind {
            EntryKind::Dir => {
                match beneath::mkdir(&parent, name) {
                    Ok(()) => {}
                    Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(err) => return Err(err.to_string()),
                }
                self.dirs.push(DirFix {
                    components: comps.iter().map(|c| c.to_vec()).collect(),
                    mode,
                    mtime: e.mtime,
                });
                Ok(())
            }
            EntryKind::File | EntryKind::Other => {
                self.file(&parent, name, &shown, e, members, replace, progress)
            }
            EntryKind::Symlink => {
                if e.link.is_empty() {
                    return Err("a symlink whose target could not be read: not extracted".into());
                }
                let temp = beneath::temp_name();
                beneath::symlink(&parent, &temp, &e.link).map_err(|err| err.to_string())?;
                let _ = beneath::set_link_mtime(&parent, &temp, e.mtime);
                self.place(&parent, &temp, name, &shown, replace)
            }
            EntryKind::Hardlink => {
                let target = self.link_target(&e.link)?;
                let tparent = self.root.parent(&target, false)?;
                let tname = target.last().expect("at least one component");
                let temp = beneath::temp_name();
                beneath::hard_link(&tparent, tname, &parent, &temp).map_err(|err| {
                    format!("hard link to {}: {err}", target.join(&b'/').escape_ascii())
                })?;
                self.place(&parent, &temp, name, &shown, replace)
            }
            EntryKind::Fifo | EntryKind::CharDevice | EntryKind::BlockDevice => {
                let (major, minor) = e.device;
                let kind = match e.kind {
                    EntryKind::CharDevice => Node::Char(major, minor),
                    EntryKind::BlockDevice => Node::Block(major, minor),
                    _ => Node::Fifo,
                };
                let temp = beneath::temp_name();
                beneath::node(&parent, &temp, kind, mode, e.mtime).map_err(|err| {
                    let _ = beneath::remove(&parent, &temp, false);
                    format!("cannot make this special file: {err}")
                })?;
                self.place(&parent, &temp, name, &shown, replace)
            }
        }
    }

    /// A hard link's target, checked and stripped like the entry names.
    fn link_target<'a>(&self, link: &'a [u8]) -> Result<Vec<&'a [u8]>, Refusal> {
        if tartape::reader::is_unsafe_name(link) {
            return Err(format!(
                "hard link to {}, outside the extraction directory: not extracted",
                link.escape_ascii()
            ));
        }
        let all = components(link);
        if all.len() <= self.strip {
            return Err(format!(
                "hard link to {}, which --strip-components removes",
                link.escape_ascii()
            ));
        }
        Ok(all[self.strip..].to_vec())
    }

    /// Renames the finished temporary `temp` to `name`; on failure removes it.
    fn place(
        &self,
        parent: &OwnedFd,
        temp: &[u8],
        name: &[u8],
        shown: &str,
        replace: bool,
    ) -> Result<(), Refusal> {
        beneath::rename(parent, temp, name, replace).map_err(|err| {
            let _ = beneath::remove(parent, temp, false);
            if err.raw_os_error() == Some(libc::EEXIST) {
                format!("{shown} appeared while it was being extracted: left as it is")
            } else {
                err.to_string()
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn file(
        &mut self,
        parent: &OwnedFd,
        name: &[u8],
        shown: &str,
        e: &ArchiveEntry,
        members: &mut Members,
        replace: bool,
        progress: &Progress,
    ) -> Result<(), Refusal> {
        let temp = beneath::temp_name();
        let mut file = beneath::create_file(parent, &temp).map_err(|err| err.to_string())?;
        let result = (|| {
            if e.sparse && members.is_seekable() {
                // Only the data regions are read and written: the holes stay holes.
                for r in &e.sparse_map {
                    let mut done = 0u64;
                    while done < r.length {
                        let want = (r.length - done).min(self.buf.len() as u64) as usize;
                        let n = members
                            .read_at(r.offset + done, &mut self.buf[..want])
                            .map_err(|err| err.to_string())?;
                        if n == 0 {
                            return Err(format!("sparse region at {} cut short", r.offset));
                        }
                        file.write_all_at(&self.buf[..n], r.offset + done)
                            .map_err(|err| format!("writing: {err}"))?;
                        done += n as u64;
                        self.bytes += n as u64;
                        progress.set(self.bytes);
                    }
                }
                file.set_len(e.size)
                    .map_err(|err| format!("writing: {err}"))?;
                return beneath::finish_file(&file, e.mode & 0o1777, e.mtime)
                    .map_err(|err| format!("setting mode and time: {err}"));
            }
            let mut written = 0u64;
            loop {
                let n = members.read(&mut self.buf).map_err(|err| err.to_string())?;
                if n == 0 {
                    break;
                }
                let chunk = &self.buf[..n];
                if e.sparse && chunk.iter().all(|b| *b == 0) {
                    // A sparse member from a stream: runs of zeros become holes.
                    file.seek(std::io::SeekFrom::Current(n as i64))
                        .map_err(|err| format!("writing: {err}"))?;
                } else {
                    file.write_all(chunk)
                        .map_err(|err| format!("writing: {err}"))?;
                }
                written += n as u64;
                self.bytes += n as u64;
                progress.set(self.bytes);
            }
            if written != e.size {
                return Err(format!(
                    "{written} bytes of content where the archive declares {}",
                    e.size
                ));
            }
            if e.sparse {
                file.set_len(e.size)
                    .map_err(|err| format!("writing: {err}"))?;
            }
            beneath::finish_file(&file, e.mode & 0o1777, e.mtime)
                .map_err(|err| format!("setting mode and time: {err}"))
        })();
        drop(file);
        if let Err(why) = result {
            let _ = beneath::remove(parent, &temp, false);
            return Err(format!("{why}: not extracted"));
        }
        self.place(parent, &temp, name, shown, replace)
    }

    /// Sets each extracted directory's mode and mtime, deepest first (setting a directory's mode
    /// before its content would block writing it; its mtime after, or writing would change it).
    fn fix_directories(&mut self) -> Vec<(Vec<u8>, Refusal)> {
        let mut problems = Vec::new();
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components.len()));
        for d in dirs {
            let comps: Vec<&[u8]> = d.components.iter().map(Vec::as_slice).collect();
            let fixed = self.root.parent(&comps, false).and_then(|parent| {
                let dir = beneath::open_dir(&parent, comps[comps.len() - 1])
                    .map_err(|err| err.to_string())?;
                beneath::finish_file(&dir, d.mode, d.mtime).map_err(|err| err.to_string())
            });
            if let Err(why) = fixed {
                problems.push((comps.join(&b'/'), why));
            }
        }
        problems
    }
}
