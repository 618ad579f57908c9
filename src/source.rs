//! Where an entry's content comes from, and how the engine reads it.

use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Content that can be read at any offset, any number of times, from any thread.
///
/// Implemented by callers (the C ABI's read-at callback) and by archive members.
pub trait ReadAtSource: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset` of the content; returns how many were read
    /// (0 only at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// The identity and state of a file at the time it was added, checked again before and while it is
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime_sec: i64,
    /// Modification time, nanoseconds within the second.
    pub mtime_nsec: u32,
}

impl FileIdentity {
    /// The identity recorded in `meta`.
    pub fn of(meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_sec: meta.mtime(),
            mtime_nsec: meta.mtime_nsec() as u32,
        }
    }

    /// What differs between the recorded identity (`self`) and `now`, if anything.
    pub fn difference(&self, now: &FileIdentity) -> Option<String> {
        // A device number is one host's name for a mounted file system: the same NFS, Lustre or
        // CephFS export has another on every client, while inode numbers are the server's. So a
        // file read on another host than the recording one is the same file when only the device
        // differs and its size and mtime (to the nanosecond) are the recorded ones.
        let same_file_elsewhere = self.ino == now.ino
            && self.size == now.size
            && (self.mtime_sec, self.mtime_nsec) == (now.mtime_sec, now.mtime_nsec);
        if (self.dev, self.ino) != (now.dev, now.ino) && !same_file_elsewhere {
            return Some(format!(
                "replaced: inode {}:{} became {}:{}",
                self.dev, self.ino, now.dev, now.ino
            ));
        }
        if self.size != now.size {
            let how = if now.size > self.size {
                "grew"
            } else {
                "shrank"
            };
            return Some(format!(
                "{how}: size {} bytes became {} bytes",
                self.size, now.size
            ));
        }
        if (self.mtime_sec, self.mtime_nsec) != (now.mtime_sec, now.mtime_nsec) {
            return Some(format!(
                "modified: mtime {}.{:09} became {}.{:09}",
                self.mtime_sec, self.mtime_nsec, now.mtime_sec, now.mtime_nsec
            ));
        }
        None
    }
}

/// A file on disk. Its path is `base` followed by the entry name past its first `name_skip` bytes,
/// so a tree of a million files stores one base path, not a million.
#[derive(Debug, Clone)]
pub struct FileSource {
    /// The path given to `add_path` (for a walked tree, its root).
    pub base: Arc<PathBuf>,
    /// How many bytes of the entry name stand for `base`.
    pub name_skip: u32,
    /// The file as it was when added.
    pub identity: FileIdentity,
}

impl FileSource {
    /// The file's path for the entry named `name`.
    pub fn path(&self, name: &[u8]) -> PathBuf {
        let rest = &name[(self.name_skip as usize).min(name.len())..];
        let rest = rest.strip_prefix(b"/").unwrap_or(rest);
        if rest.is_empty() {
            self.base.as_ref().clone()
        } else {
            self.base.join(std::ffi::OsStr::from_bytes(rest))
        }
    }

    /// Opens the file and checks that it still is what was recorded.
    pub fn open_checked(&self, name: &[u8]) -> Result<File> {
        let file = self.open(name)?;
        self.check(name, &file)?;
        Ok(file)
    }

    /// Opens the file without checking it: the caller must [`FileSource::check`] it after
    /// reading and before using any byte (one check then covers changes before and during the
    /// read, which saves a system call per small file).
    pub fn open(&self, name: &[u8]) -> Result<File> {
        self.open_path(name, self.path(name))
    }

    /// [`FileSource::open`] relative to the file's directory, kept open in `dir` for the next
    /// file of the same directory: the kernel then resolves one name instead of the whole path
    /// (a fifth of the system time of a tree of small files). The identity check that follows
    /// the read is the same, so a file replaced under its name is still refused; a directory
    /// renamed meanwhile is read where it now is, as GNU tar reads it.
    pub fn open_in(&self, name: &[u8], dir: &mut DirHandle) -> Result<File> {
        let path = self.path(name);
        let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
            return self.open_path(name, path);
        };
        if dir.path.as_deref() != Some(parent) {
            dir.fd = None;
            dir.path = Some(parent.to_path_buf());
            dir.fd = open_dir(parent);
        }
        let Some(fd) = &dir.fd else {
            // The directory could not be opened: the full path gives the error its right words.
            return self.open_path(name, path);
        };
        match open_at(fd, file_name) {
            Ok(file) => Ok(file),
            Err(_) => self.open_path(name, path),
        }
    }

    fn open_path(&self, name: &[u8], path: PathBuf) -> Result<File> {
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking: a path replaced by a FIFO must be refused by the check below, not hang the
        // open until some writer appears. (The flag changes nothing for regular files.)
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path);
        let file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::Changed {
                    name: crate::error::show_name(name),
                    what: format!("deleted: {} no longer exists", path.display()),
                })
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        Ok(file)
    }

    /// Checks the path (without opening it) against the recorded identity: for files with no
    /// content to read, whose change would otherwise go unseen.
    pub fn check_path(&self, name: &[u8]) -> Result<()> {
        let path = self.path(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::Changed {
                    name: crate::error::show_name(name),
                    what: format!("deleted: {} no longer exists", path.display()),
                })
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        if !meta.is_file() {
            return Err(Error::Changed {
                name: crate::error::show_name(name),
                what: "replaced: no longer a regular file".into(),
            });
        }
        match self.identity.difference(&FileIdentity::of(&meta)) {
            None => Ok(()),
            Some(what) => Err(Error::Changed {
                name: crate::error::show_name(name),
                what,
            }),
        }
    }

    /// Checks an open file against the recorded identity.
    pub fn check(&self, name: &[u8], file: &File) -> Result<()> {
        let meta = file.metadata().map_err(|e| Error::io(self.path(name), e))?;
        if !meta.is_file() {
            return Err(Error::Changed {
                name: crate::error::show_name(name),
                what: "replaced: no longer a regular file".into(),
            });
        }
        if meta.nlink() == 0 {
            // The open file has no name any more: the path was deleted, or replaced by a rename.
            return Err(Error::Changed {
                name: crate::error::show_name(name),
                what: format!(
                    "replaced or deleted while being read: {} no longer names this file",
                    self.path(name).display()
                ),
            });
        }
        match self.identity.difference(&FileIdentity::of(&meta)) {
            None => Ok(()),
            Some(what) => Err(Error::Changed {
                name: crate::error::show_name(name),
                what,
            }),
        }
    }
}

/// The directory of the file a stream opened last, for [`FileSource::open_in`].
#[derive(Debug, Default)]
pub struct DirHandle {
    path: Option<PathBuf>,
    fd: Option<OwnedFd>,
}

/// Opens a directory only to open names relative to it (`O_PATH`: no read permission needed).
fn open_dir(path: &Path) -> Option<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `c` is a NUL-terminated path; the descriptor returned is owned by the OwnedFd.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `name` in the directory `dir` for reading, with the flags of [`FileSource::open`].
fn open_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> io::Result<File> {
    let c = CString::new(name.as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open descriptor and `c` a NUL-terminated name.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Where an entry's content comes from.
#[derive(Clone)]
pub enum Source {
    /// No content (directories, symlinks).
    Empty,
    /// A file on disk, checked against its recorded identity when read.
    File(FileSource),
    /// A whole buffer in memory.
    Bytes(Arc<[u8]>),
    /// A caller's or an archive's random-access reader.
    ReadAt(Arc<dyn ReadAtSource>),
    /// Bytes the caller pushes when the stream reaches the entry; they cannot be read twice.
    Push,
    /// Bytes stored in the tape's own table (small memory entries), at this table offset.
    Inline {
        /// Where the bytes start in the table.
        at: u64,
    },
    /// Bytes that were held by the process that recorded the tape and have not been bound again
    /// since the catalog was opened (see `Tape::bind`).
    Unbound,
}

impl Source {
    /// True when the content can be read again at any offset (everything but `Push`).
    pub fn is_random_access(&self) -> bool {
        !matches!(self, Source::Push | Source::Unbound)
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Empty => f.write_str("Empty"),
            Source::File(s) => f.debug_tuple("File").field(&s.base).finish(),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::ReadAt(_) => f.write_str("ReadAt"),
            Source::Push => f.write_str("Push"),
            Source::Inline { at } => write!(f, "Inline(at {at})"),
            Source::Unbound => f.write_str("Unbound"),
        }
    }
}

/// Reads `buf.len()` bytes at `offset` of `path`'s open `file`, looping over short reads; returns how
/// many bytes were read before the end of the file.
pub fn pread_full(file: &File, mut offset: u64, mut buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut total = 0;
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                offset += n as u64;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// Fills `buf` from a random-access source, looping over short reads.
pub fn read_at_full(
    src: &dyn ReadAtSource,
    mut offset: u64,
    mut buf: &mut [u8],
) -> io::Result<usize> {
    let mut total = 0;
    while !buf.is_empty() {
        match src.read_at(offset, buf) {
            Ok(0) => break,
            Ok(n) => {
                let n = n.min(buf.len());
                total += n;
                offset += n as u64;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::FileIdentity;

    #[test]
    fn another_hosts_device_number_is_the_same_file_only_if_all_else_is() {
        let recorded = FileIdentity {
            dev: 53,
            ino: 1_234_567,
            size: 4096,
            mtime_sec: 1_700_000_000,
            mtime_nsec: 123_456_789,
        };
        let elsewhere = FileIdentity {
            dev: 61,
            ..recorded
        };
        assert_eq!(recorded.difference(&recorded), None);
        assert_eq!(recorded.difference(&elsewhere), None);
        let replaced = FileIdentity {
            ino: 7,
            ..elsewhere
        };
        assert!(recorded
            .difference(&replaced)
            .unwrap()
            .starts_with("replaced"));
        let touched = FileIdentity {
            mtime_nsec: 0,
            ..elsewhere
        };
        assert!(recorded.difference(&touched).is_some());
        let grown = FileIdentity {
            size: 4097,
            ..elsewhere
        };
        assert!(recorded.difference(&grown).is_some());
    }
}
