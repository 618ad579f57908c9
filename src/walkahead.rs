//! The walk in its final order, in bounded memory: entries are handed to the caller one by one
//! (each directory, then its listing, depth first: the order of [`crate::walk::walk`]) while a
//! few threads list the directories the caller will reach next.
//!
//! Directories are keyed by their place in that order (the child indices from the root, compared
//! lexicographically), and the listing threads always take the first one queued. Listings made
//! but not yet reached hold at most about [`WINDOW`] entries: past it, a thread lists only the
//! directory the caller waits for, which is always the first one queued, so the walk cannot stall
//! and never holds more than the window, the listings on the caller's path and the directories
//! still to list.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::checksum::{self, Checksums};
use crate::entry::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::walk::{self, Found, Job, OwnerCache, Skipped, Stat, WalkOptions};

/// Entries listed ahead of the caller (besides the listing it waits for) before the threads stop
/// listing ahead.
pub(crate) const WINDOW: usize = 16 * 1024;

/// What the walk hands to the caller, in order.
// Passed by value one at a time, never stored: boxing the entry would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Step {
    /// The next entry. `hash_error` is set when its checksums were asked for and could not be
    /// computed (the file could not be read, or changed while being read).
    Entry {
        /// The entry, with its checksums when asked for.
        entry: Entry,
        /// Why its checksums are missing.
        hash_error: Option<Error>,
    },
    /// A special file left out (never in strict mode, which stops with an error instead).
    Skipped(Skipped),
}

/// A directory's place in the walk's order: the index of each directory on the way to it in its
/// parent's listing.
type Key = Vec<u32>;

/// A listing: the directory's children in order, and the first checksum failure among them.
struct Listing {
    items: Vec<Found>,
    hash_error: Option<(usize, Error)>,
}

/// Walks `path` under the archive name `name`, calling `each` with every step in order, and
/// records the checksums in `hash` of every file on the listing threads. Stops at the first
/// error of the walk or of `each`: the error the serial walk would meet first.
pub(crate) fn walk_each(
    path: &Path,
    name: &[u8],
    options: &WalkOptions,
    hash: Checksums,
    each: &mut dyn FnMut(Step) -> Result<()>,
) -> Result<()> {
    let stat = Stat::new(path, name, options);
    let root_meta = fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    let mut owners = stat.owners();
    let root = stat.item(
        &|| path.to_path_buf(),
        name.to_vec(),
        root_meta,
        &mut owners,
    )?;
    let ahead = Ahead {
        root: path,
        stat: &stat,
        hash,
        state: Mutex::new(State {
            queue: BTreeMap::new(),
            listed: HashMap::new(),
            held: 0,
            wanted: None,
            stop: false,
        }),
        work: Condvar::new(),
        done: Condvar::new(),
    };
    let mut root = vec![root];
    let root_hash = ahead.hash_all(&mut root);
    let root_listing = Listing {
        items: root,
        hash_error: root_hash,
    };
    let workers = match root_listing.items.first() {
        Some(Found::Dir(..)) => walk::worker_count(),
        _ => 0,
    };
    std::thread::scope(|scope| {
        let spawned = (0..workers).try_for_each(|_| {
            std::thread::Builder::new()
                .name("tartape-walk".into())
                .spawn_scoped(scope, || ahead.work())
                .map(drop)
        });
        let result = match spawned {
            Ok(()) => ahead.emit(root_listing, options.strict, each),
            Err(e) => Err(Error::State(format!("no walking thread could start: {e}"))),
        };
        ahead.lock().stop = true;
        ahead.work.notify_all();
        result
    })
}

/// The listing threads' shared state.
struct Ahead<'a> {
    /// The walk's root path, named when a listing thread fails.
    root: &'a Path,
    stat: &'a Stat<'a>,
    hash: Checksums,
    state: Mutex<State>,
    /// Wakes listing threads: a directory queued, the window freed, the caller waiting, the end.
    work: Condvar,
    /// Wakes the caller: a listing made.
    done: Condvar,
}

struct State {
    /// Directories to list, first in the walk's order first.
    queue: BTreeMap<Key, Job>,
    /// Listings made and not yet taken by the caller.
    listed: HashMap<Key, Result<Listing>>,
    /// Entries in `listed`.
    held: usize,
    /// The directory the caller waits for.
    wanted: Option<Key>,
    /// The walk is over (done or failed): the threads return.
    stop: bool,
}

impl Ahead<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while holding the lock left the state consistent: every change
        // under it is made without code that can panic in between.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A listing thread: lists the first queued directory while the window has room or the caller
    /// waits for it, until the walk is over.
    fn work(&self) {
        let mut owners = self.stat.owners();
        loop {
            let (key, job) = {
                let mut s = self.lock();
                loop {
                    if s.stop {
                        return;
                    }
                    let first = s.queue.first_key_value().map(|(k, _)| k);
                    if let Some(k) = first {
                        if s.held < WINDOW || s.wanted.as_ref() == Some(k) {
                            break s.queue.pop_first().expect("a first key");
                        }
                    }
                    s = self.work.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            // Should listing panic, the caller still gets an answer for this directory.
            let mut answer = Answer {
                ahead: self,
                key: Some(key),
            };
            let listing = self.list(&job, &mut owners).map(|mut l| {
                self.queue_dirs(answer.key.as_ref().expect("set above"), &mut l.items);
                l
            });
            answer.give(listing);
        }
    }

    /// Lists one directory and hashes its files.
    fn list(&self, job: &Job, owners: &mut OwnerCache) -> Result<Listing> {
        let mut items = self.stat.list(job, owners)?;
        let hash_error = self.hash_all(&mut items);
        Ok(Listing { items, hash_error })
    }

    /// Records the checksums asked for of every file of `items`; returns the first failure.
    fn hash_all(&self, items: &mut [Found]) -> Option<(usize, Error)> {
        if self.hash.is_empty() {
            return None;
        }
        let mut buf = Vec::new();
        let mut first = None;
        for (i, found) in items.iter_mut().enumerate() {
            let Found::Entry(e) = found else { continue };
            if e.kind != EntryKind::File || first.is_some() {
                continue;
            }
            if buf.is_empty() && e.size > 0 {
                buf.resize(1 << 20, 0);
            }
            match checksum::of_entry(e, self.hash, &mut buf) {
                Ok(sums) => {
                    e.md5 = sums.md5;
                    e.crc32 = sums.crc32;
                    e.sha256 = sums.sha256;
                    e.crc32c = sums.crc32c;
                }
                Err(err) => first = Some((i, err)),
            }
        }
        first
    }

    /// Hands every entry to `each` in order, waiting for each directory's listing.
    fn emit(
        &self,
        mut root: Listing,
        strict: bool,
        each: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<()> {
        // The root is the only item of a listing keyed []: the root directory's key is [0].
        self.queue_dirs(&Vec::new(), &mut root.items);
        let mut stack = vec![Open {
            key: Vec::new(),
            items: root.items.into_iter(),
            hash_error: root.hash_error,
            next: 0,
        }];
        while let Some(open) = stack.last_mut() {
            let Some(found) = open.items.next() else {
                stack.pop();
                continue;
            };
            let i = open.next;
            open.next += 1;
            let failed = match &open.hash_error {
                Some((j, _)) if *j == i => open.hash_error.take().map(|(_, e)| e),
                _ => None,
            };
            match found {
                Found::Entry(entry) => each(Step::Entry {
                    entry,
                    hash_error: failed,
                })?,
                Found::Dir(entry, _) => {
                    let mut child = open.key.clone();
                    child.push(i as u32);
                    each(Step::Entry {
                        entry,
                        hash_error: failed,
                    })?;
                    let listing = self.take(&child)?;
                    stack.push(Open {
                        key: child,
                        items: listing.items.into_iter(),
                        hash_error: listing.hash_error,
                        next: 0,
                    });
                }
                Found::Special(s) if strict => return Err(walk::refused(&s)),
                Found::Special(s) => each(Step::Skipped(s))?,
            }
        }
        Ok(())
    }

    /// Queues for listing the subdirectories in the listing of `parent` (their jobs move from the
    /// listing to the queue).
    fn queue_dirs(&self, parent: &Key, items: &mut [Found]) {
        let mut jobs = Vec::new();
        for (i, found) in items.iter_mut().enumerate() {
            if let Found::Dir(_, job) = found {
                let mut k = parent.clone();
                k.push(i as u32);
                let job = Job {
                    path: std::mem::take(&mut job.path),
                    name: std::mem::take(&mut job.name),
                };
                jobs.push((k, job));
            }
        }
        if jobs.is_empty() {
            return;
        }
        self.lock().queue.extend(jobs);
        self.work.notify_all();
    }

    /// Waits for the listing of `key` and takes it.
    fn take(&self, key: &Key) -> Result<Listing> {
        let mut s = self.lock();
        s.wanted = Some(key.clone());
        self.work.notify_all();
        loop {
            if let Some(listing) = s.listed.remove(key) {
                if let Ok(l) = &listing {
                    s.held -= l.items.len();
                }
                s.wanted = None;
                drop(s);
                self.work.notify_all();
                return listing;
            }
            s = self.done.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A directory the caller is in: its key, the rest of its listing, the first checksum failure
/// in it, and the index of the next item.
struct Open {
    key: Key,
    items: std::vec::IntoIter<Found>,
    hash_error: Option<(usize, Error)>,
    next: usize,
}

/// A listing thread's answer for one directory, given even if listing panics.
struct Answer<'a, 'b> {
    ahead: &'a Ahead<'b>,
    key: Option<Key>,
}

impl Answer<'_, '_> {
    fn give(&mut self, listing: Result<Listing>) {
        let Some(key) = self.key.take() else { return };
        let mut s = self.ahead.lock();
        if let Ok(l) = &listing {
            s.held += l.items.len();
        }
        s.listed.insert(key, listing);
        drop(s);
        self.ahead.done.notify_all();
    }
}

impl Drop for Answer<'_, '_> {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.give(Err(walk::not_listed(self.ahead.root)));
        }
    }
}
