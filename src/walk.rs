//! Adding paths from disk: a deterministic walk (names sorted byte-wise, each directory before its
//! contents) that records each entry's metadata and identity.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::entry::{Entry, EntryKind, Owner};
use crate::error::{Error, Result};
use crate::name;
use crate::source::{FileIdentity, FileSource, Source};
use crate::workqueue::WorkQueue;

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
    /// Counters the walk advances as it finds entries, for a progress display in another thread.
    pub progress: Option<Arc<ScanProgress>>,
}

/// What a walk has found so far: entries and bytes of file content. Updated with relaxed atomic
/// additions as the walk's threads go; read them from any thread.
#[derive(Debug, Default)]
pub struct ScanProgress {
    entries: AtomicU64,
    bytes: AtomicU64,
}

impl ScanProgress {
    /// Entries found so far.
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }

    /// Bytes of file content found so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn add(&self, size: u64) {
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }
}

/// Walks `path` (a file, symlink or directory) and appends its entries, named from `name`.
///
/// Directories are listed and their children stat'ed by a few threads at once (the scan is most
/// of the work of a tree of small files, and the rest of the stream cannot start before it);
/// the entries are then put in the walk's one order, so the result does not depend on which
/// thread saw what. An error is the one the serial walk would meet first.
pub fn walk(
    path: &Path,
    name: &[u8],
    options: &WalkOptions,
    entries: &mut Vec<Entry>,
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let stat = Stat::new(path, name, options);
    let lister = Lister {
        stat: &stat,
        queue: WorkQueue::new(),
    };
    let root_meta = fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    let mut owners = stat.owners();
    let root = stat.item(
        &|| path.to_path_buf(),
        name.to_vec(),
        root_meta,
        &mut owners,
    )?;
    let root = lister.queued(root);
    // Helpers only where there is a directory to list (adding single files stays thread-free).
    let workers = match root {
        Item::Dir(..) => worker_count(),
        _ => 1,
    };
    let mut listings: Vec<Option<Result<Vec<Item>>>> = Vec::new();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers)
            .map(|_| scope.spawn(|| lister.work()))
            .collect();
        let mut done = lister.work();
        for h in helpers {
            // A helper that panicked would leave listings missing; the walk reports that below.
            done.extend(h.join().unwrap_or_default());
        }
        for (id, listing) in done {
            if listings.len() <= id {
                listings.resize_with(id + 1, || None);
            }
            listings[id] = Some(listing);
        }
    });
    // Put the entries in order: each directory, then its listing, depth first.
    let mut stack = vec![vec![root].into_iter()];
    while let Some(items) = stack.last_mut() {
        let Some(item) = items.next() else {
            stack.pop();
            continue;
        };
        match item {
            Item::Entry(entry) => entries.push(entry),
            Item::Dir(entry, id) => {
                entries.push(entry);
                let listing = listings
                    .get_mut(id)
                    .and_then(Option::take)
                    .ok_or_else(|| not_listed(path))??;
                stack.push(listing.into_iter());
            }
            Item::Special(s) if options.strict => return Err(refused(&s)),
            Item::Special(s) => skipped.push(s),
        }
    }
    Ok(())
}

/// The error for a directory whose listing is missing because a walking thread panicked.
pub(crate) fn not_listed(root: &Path) -> Error {
    let why = "the directory was not listed (a walking thread failed)";
    Error::io(root, std::io::Error::other(why))
}

/// The error for a special file met in strict mode.
pub(crate) fn refused(s: &Skipped) -> Error {
    Error::Unsupported(format!(
        "{}: a {} cannot be stored (strict mode)",
        s.path.display(),
        s.kind
    ))
}

/// How many threads list directories at most.
const MAX_WORKERS: usize = 4;

/// The threads a walk uses: the cores there are (read once: it reads cgroup files), at most
/// [`MAX_WORKERS`].
pub(crate) fn worker_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS))
    })
}

/// What the walk emits for one path, in order, once its directories are numbered.
enum Item {
    /// A file or symlink.
    Entry(Entry),
    /// A directory, and the number of its listing.
    Dir(Entry, usize),
    /// A special file, skipped (or refused in strict mode).
    Special(Skipped),
}

/// What stat'ing one path finds.
pub(crate) enum Found {
    /// A file or symlink.
    Entry(Entry),
    /// A directory, and how to list it.
    Dir(Entry, Job),
    /// A special file, skipped (or refused in strict mode).
    Special(Skipped),
}

/// A directory still to list: its path and entry name.
pub(crate) struct Job {
    pub(crate) path: PathBuf,
    pub(crate) name: Box<[u8]>,
}

/// Numbers the directories of one walk and lists them, from any number of threads.
struct Lister<'a> {
    stat: &'a Stat<'a>,
    /// Directories to list, numbered in the order they were met.
    queue: WorkQueue<Job>,
}

impl Lister<'_> {
    /// Lists directories until none is left; returns the listings this thread made, by number.
    /// (A listing that panics is missing from the result: the walk reports its directory as
    /// not listed.)
    fn work(&self) -> Vec<(usize, Result<Vec<Item>>)> {
        let mut owners = self.stat.owners();
        self.queue.run(|_, job| {
            let listing = self.stat.list(&job, &mut owners)?;
            Ok(listing.into_iter().map(|f| self.queued(f)).collect())
        })
    }

    /// The item for `found`, its directory queued for listing.
    fn queued(&self, found: Found) -> Item {
        match found {
            Found::Entry(e) => Item::Entry(e),
            Found::Dir(e, job) => Item::Dir(e, self.queue.push(job)),
            Found::Special(s) => Item::Special(s),
        }
    }
}

/// Stats and lists the paths of one walk (from any number of threads): what the in-memory walk
/// and the streaming one (src/walkahead.rs) share, so that both find the same entries.
pub(crate) struct Stat<'a> {
    base: Arc<PathBuf>,
    name_skip: u32,
    options: &'a WalkOptions,
    /// Owners found by every thread of the walk: one [`Owner`] per (uid, gid), so that a catalog's
    /// owner table does not depend on which thread met whom.
    owners: Mutex<HashMap<(u32, u32), Arc<Owner>>>,
}

impl<'a> Stat<'a> {
    /// The walk of `path` under the archive name `name`.
    pub(crate) fn new(path: &Path, name: &[u8], options: &'a WalkOptions) -> Stat<'a> {
        Stat {
            base: Arc::new(path.to_path_buf()),
            name_skip: name.len() as u32,
            options,
            owners: Mutex::new(HashMap::new()),
        }
    }

    /// A thread's cache of the walk's owners.
    pub(crate) fn owners(&self) -> OwnerCache<'_> {
        OwnerCache {
            shared: &self.owners,
            seen: HashMap::new(),
        }
    }

    /// The children of one directory, sorted by name, each stat'ed relative to the directory's
    /// descriptor (one name for the kernel to resolve, not the whole path).
    pub(crate) fn list(&self, job: &Job, owners: &mut OwnerCache) -> Result<Vec<Found>> {
        let mut children: Vec<(Vec<u8>, fs::DirEntry)> = Vec::new();
        for child in fs::read_dir(&job.path).map_err(|e| Error::io(&job.path, e))? {
            let child = child.map_err(|e| Error::io(&job.path, e))?;
            let file_name = child.file_name().as_bytes().to_vec();
            if !self.options.exclude.contains(&file_name) {
                children.push((file_name, child));
            }
        }
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut items = Vec::with_capacity(children.len());
        for (file_name, child) in children {
            // statx relative to the directory's descriptor, without following a symlink.
            let meta = child.metadata().map_err(|e| Error::io(child.path(), e))?;
            let name = name::join(&job.name, &file_name)?;
            items.push(self.item(&|| child.path(), name, meta, owners)?);
        }
        Ok(items)
    }

    /// What the walk finds at the path `path()` (made only where needed: a regular file needs
    /// none), stat'ed as `meta`.
    pub(crate) fn item(
        &self,
        path: &dyn Fn() -> PathBuf,
        name: Vec<u8>,
        meta: Metadata,
        owners: &mut OwnerCache,
    ) -> Result<Found> {
        let ft = meta.file_type();
        let owner = self.options.keep_owners.then(|| owners.get(&meta));
        // Every walked entry remembers where it came from, so verification can find it again.
        let origin = Source::File(FileSource {
            base: self.base.clone(),
            name_skip: self.name_skip,
            identity: FileIdentity::of(&meta),
        });
        let mut entry = Entry {
            name: name.into_boxed_slice(),
            kind: EntryKind::File,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            size: 0,
            link: Box::new([]),
            owner,
            source: origin,
            md5: None,
            crc32: None,
            sha256: None,
            crc32c: None,
            level: 0,
        };
        if let Some(p) = &self.options.progress {
            p.add(if ft.is_file() { meta.len() } else { 0 });
        }
        if ft.is_file() {
            entry.size = meta.len();
            Ok(Found::Entry(entry))
        } else if ft.is_symlink() {
            let path = path();
            let target = fs::read_link(&path).map_err(|e| Error::io(&path, e))?;
            entry.kind = EntryKind::Symlink;
            entry.mode = 0o777;
            entry.link = target.as_os_str().as_bytes().into();
            Ok(Found::Entry(entry))
        } else if ft.is_dir() {
            entry.kind = EntryKind::Dir;
            let job = Job {
                path: path(),
                name: entry.name.clone(),
            };
            Ok(Found::Dir(entry, job))
        } else {
            let kind = special_kind(&meta);
            Ok(Found::Special(Skipped { path: path(), kind }))
        }
    }
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

/// One thread's owners, looked up once per (uid, gid) pair in the walk's shared table.
pub(crate) struct OwnerCache<'a> {
    shared: &'a Mutex<HashMap<(u32, u32), Arc<Owner>>>,
    seen: HashMap<(u32, u32), Arc<Owner>>,
}

impl OwnerCache<'_> {
    fn get(&mut self, meta: &Metadata) -> Arc<Owner> {
        let key = (meta.uid(), meta.gid());
        let shared = self.shared;
        self.seen
            .entry(key)
            .or_insert_with(|| {
                let mut all = shared.lock().unwrap_or_else(|e| e.into_inner());
                all.entry(key)
                    .or_insert_with(|| {
                        Arc::new(Owner {
                            uid: u64::from(key.0),
                            gid: u64::from(key.1),
                            uname: user_name(key.0).into_boxed_slice(),
                            gname: group_name(key.1).into_boxed_slice(),
                        })
                    })
                    .clone()
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
