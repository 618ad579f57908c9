//! Adding paths from disk: a deterministic walk (names sorted byte-wise, each directory before its
//! contents) that records each entry's metadata and identity.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::entry::{Entry, EntryKind, Owner};
use crate::error::{Error, Result};
use crate::name;
use crate::source::{FileIdentity, FileSource, Source};

/// A file met in a walk that a TAR tape does not store (FIFO, socket, device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path on disk.
    pub path: PathBuf,
    /// What it is: "fifo", "socket", "character device", "block device" or "unknown".
    pub kind: &'static str,
}

/// How paths are walked and recorded.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Keep real uid, gid, user and group names instead of the anonymous default.
    pub keep_owners: bool,
    /// Refuse special files with an error instead of skipping them with a report.
    pub strict: bool,
    /// Names (single components) to leave out wherever they appear, e.g. `.git`.
    pub exclude: Vec<Vec<u8>>,
}

/// Walks `path` (a file, symlink or directory) and appends its entries, named from `name`.
pub fn walk(
    path: &Path,
    name: &[u8],
    options: &WalkOptions,
    entries: &mut Vec<Entry>,
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let base = Arc::new(path.to_path_buf());
    let name_skip = name.len() as u32;
    let mut owners = OwnerCache::default();
    // A stack of (path, name) still to visit; children are pushed in reverse so they pop in order.
    let mut stack = vec![(path.to_path_buf(), name.to_vec())];
    let mut children: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    while let Some((path, name)) = stack.pop() {
        let meta = fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        let ft = meta.file_type();
        let owner = options.keep_owners.then(|| owners.get(&meta));
        // Every walked entry remembers where it came from, so verification can find it again.
        let origin = Source::File(FileSource {
            base: base.clone(),
            name_skip,
            identity: FileIdentity::of(&meta),
        });
        let mut entry = Entry {
            name: name.clone().into_boxed_slice(),
            kind: EntryKind::File,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            size: 0,
            link: Box::new([]),
            owner,
            source: origin,
            md5: None,
            crc32: None,
            level: 0,
        };
        if ft.is_file() {
            entry.size = meta.len();
            entries.push(entry);
        } else if ft.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| Error::io(&path, e))?;
            entry.kind = EntryKind::Symlink;
            entry.mode = 0o777;
            entry.link = target.as_os_str().as_bytes().into();
            entries.push(entry);
        } else if ft.is_dir() {
            entry.kind = EntryKind::Dir;
            entries.push(entry);
            children.clear();
            for child in fs::read_dir(&path).map_err(|e| Error::io(&path, e))? {
                let child = child.map_err(|e| Error::io(&path, e))?;
                let file_name = child.file_name().as_bytes().to_vec();
                if options.exclude.contains(&file_name) {
                    continue;
                }
                children.push((file_name, child.path()));
            }
            children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (file_name, child_path) in children.drain(..).rev() {
                stack.push((child_path, name::join(&name, &file_name)?));
            }
        } else {
            let kind = special_kind(&meta);
            if options.strict {
                return Err(Error::Unsupported(format!(
                    "{}: a {kind} cannot be stored (strict mode)",
                    path.display()
                )));
            }
            skipped.push(Skipped { path, kind });
        }
    }
    Ok(())
}

/// The archive name for `path` when the caller gave none: its last component, or that of its
/// canonical form for paths like `.`.
pub fn default_name(path: &Path) -> Result<Vec<u8>> {
    let base = match path.file_name() {
        Some(n) => n.as_bytes().to_vec(),
        None => {
            let canonical = fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
            match canonical.file_name() {
                Some(n) => n.as_bytes().to_vec(),
                None => {
                    return Err(Error::InvalidArgument(format!(
                        "cannot derive an archive name from {}: give one",
                        path.display()
                    )))
                }
            }
        }
    };
    name::normalize(&base)
}

fn special_kind(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else {
        "unknown file type"
    }
}

/// Owners looked up once per (uid, gid) pair.
#[derive(Default)]
struct OwnerCache {
    seen: HashMap<(u32, u32), Arc<Owner>>,
}

impl OwnerCache {
    fn get(&mut self, meta: &Metadata) -> Arc<Owner> {
        let key = (meta.uid(), meta.gid());
        self.seen
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Owner {
                    uid: u64::from(key.0),
                    gid: u64::from(key.1),
                    uname: user_name(key.0).into_boxed_slice(),
                    gname: group_name(key.1).into_boxed_slice(),
                })
            })
            .clone()
    }
}

fn user_name(uid: u32) -> Vec<u8> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; the result points into `buf` and `pwd`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return Vec::new();
    }
    // SAFETY: on success pw_name is a NUL-terminated string inside `buf`.
    unsafe { CStr::from_ptr(pwd.pw_name) }.to_bytes().to_vec()
}

fn group_name(gid: u32) -> Vec<u8> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; the result points into `buf` and `grp`.
    let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return Vec::new();
    }
    // SAFETY: on success gr_name is a NUL-terminated string inside `buf`.
    unsafe { CStr::from_ptr(grp.gr_name) }.to_bytes().to_vec()
}
