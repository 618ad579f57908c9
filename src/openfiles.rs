//! The files `read_at` keeps open between calls, and the check each read makes on them.
//!
//! A file is opened and checked against its whole recorded identity once (type, device and
//! inode, size, mtime, a name still linking it); after that each read is one `pread` and one
//! `fstat` of the descriptor, compared with what can still change on an open file (size, mtime,
//! link count): docs/RELIABILITY.md gives the reasoning. The cache is split into shards, each
//! thread using its own, so that threads reading the same files share no lock and no reference
//! count on the hot path (a shard's files are counted only by the threads that use it); a shard's
//! lock is held only to find a file, never across a read.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;
use crate::layout::Slot;
use crate::source::{pread_full, FileIdentity, FileSource};

/// Shards of the cache: threads take them in turn, so up to this many threads never share one.
const SHARDS: usize = 8;

/// Files kept open per shard: at most 128 descriptors per tape in all, and only when eight threads
/// or more read it (the single cache before the shards held 64).
const PER_SHARD: usize = 16;

/// An open file of an entry, checked against its recorded identity when opened.
struct OpenFile {
    index: usize,
    file: File,
    identity: FileIdentity,
    /// Where the entry's content starts in the archive (its size is the identity's).
    data_offset: u64,
}

#[derive(Default)]
struct ShardFiles {
    files: Vec<Arc<OpenFile>>,
    /// The next file to close when the shard is full (oldest first).
    evict: usize,
}

/// One shard on its own cache lines, so that two threads' locks do not share one.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<ShardFiles>);

/// The open-file cache of a tape.
pub(crate) struct OpenFiles {
    shards: Box<[Shard]>,
}

impl Default for OpenFiles {
    fn default() -> OpenFiles {
        OpenFiles {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

/// What a read of a cached file found.
pub(crate) enum Cached {
    /// The bytes were read and the file is unchanged.
    Read(usize),
    /// The file is not open, or the read or the check failed: the caller takes the slow path,
    /// which opens, reads and checks again and words any error.
    Miss,
}

impl OpenFiles {
    fn shard(&self) -> MutexGuard<'_, ShardFiles> {
        thread_local! {
            static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        }
        static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
        let slot = SLOT.with(|s| *s) % SHARDS;
        self.shards[slot]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// This thread's shard's open file of entry `index`, if it has one. The lock is held for the
    /// lookup only: the read and its check run outside it, so threads that share a shard (more
    /// than eight) still read in parallel.
    fn cached(&self, index: usize) -> Option<Arc<OpenFile>> {
        self.shard()
            .files
            .iter()
            .find(|f| f.index == index)
            .cloned()
    }

    /// The read of archive offset `pos` in entry `index` when this thread's shard has the entry's
    /// file open and `pos` lies in its content: reads into `out` up to the content's end and
    /// checks after the read that the file has not changed. Decodes nothing from the table: the
    /// entry's offsets were checked when its file was opened.
    pub(crate) fn read_cached(&self, index: usize, pos: u64, out: &mut [u8]) -> Cached {
        let Some(f) = self.cached(index) else {
            return Cached::Miss;
        };
        let Some(at) = pos
            .checked_sub(f.data_offset)
            .filter(|&at| at < f.identity.size)
        else {
            return Cached::Miss;
        };
        let n = ((f.identity.size - at) as usize).min(out.len());
        match pread_full(&f.file, at, &mut out[..n]) {
            Ok(got) if got == n && unchanged(&f.file, &f.identity) => Cached::Read(n),
            _ => Cached::Miss,
        }
    }

    /// Reads `out` at `offset` of entry `index`'s file, opening it (and checking its whole
    /// identity) when this thread's shard does not have it; after the read, the file is checked
    /// with [`FileSource::check`]. Returns the bytes read (fewer at the end of the file).
    pub(crate) fn read(
        &self,
        slot: &Slot,
        source: &FileSource,
        offset: u64,
        out: &mut [u8],
    ) -> Result<usize> {
        let (index, name) = (slot.index, &slot.entry.name[..]);
        let f = match self.cached(index) {
            Some(f) => f,
            None => {
                let opened = Arc::new(OpenFile {
                    index,
                    file: source.open_checked(name)?,
                    identity: source.identity,
                    data_offset: slot.data_offset(),
                });
                let mut shard = self.shard();
                if shard.files.len() < PER_SHARD {
                    shard.files.push(opened.clone());
                } else {
                    let at = shard.evict;
                    shard.evict = (at + 1) % PER_SHARD;
                    shard.files[at] = opened.clone();
                }
                opened
            }
        };
        let got = pread_full(&f.file, offset, out)
            .map_err(|e| crate::error::Error::io(source.path(name), e))?;
        // The file stays open between calls: check that it is still what was recorded, so that
        // bytes edited after an earlier read are never returned as its content.
        source.check(name, &f.file)?;
        Ok(got)
    }
}

/// True when the open `file` still has the recorded size and mtime and still has a name, which is
/// what can change on an open file (its type and inode are compared too, at no cost, though an
/// open descriptor cannot change them). One `fstat`: the full check's `statx` asks for more fields
/// and words the difference, which the slow path does when this says no.
fn unchanged(file: &File, id: &FileIdentity) -> bool {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if fstat(file.as_raw_fd(), &mut st) != 0 {
        return false;
    }
    st.st_size as u64 == id.size
        && st.st_mtime == id.mtime_sec
        && st.st_mtime_nsec as u32 == id.mtime_nsec
        && st.st_nlink != 0
        && st.st_mode & libc::S_IFMT == libc::S_IFREG
        && st.st_ino == id.ino
}

/// `fstat(2)` itself where the architecture has it: glibc's `fstat` is `fstatat(fd, "",
/// AT_EMPTY_PATH)`, which makes the kernel look at an empty path first.
#[cfg(target_arch = "x86_64")]
fn fstat(fd: libc::c_int, st: &mut libc::stat) -> libc::c_long {
    // SAFETY: `fd` is an open descriptor and `st` a writable `stat`, as the system call expects.
    unsafe { libc::syscall(libc::SYS_fstat, fd, st as *mut libc::stat) }
}

#[cfg(not(target_arch = "x86_64"))]
fn fstat(fd: libc::c_int, st: &mut libc::stat) -> libc::c_long {
    // SAFETY: `fd` is an open descriptor and `st` a writable `stat`.
    libc::c_long::from(unsafe { libc::fstat(fd, st) })
}
