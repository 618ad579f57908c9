//! File-system operations confined to one directory, for extraction: every path is resolved one
//! component at a time from the root's descriptor with `O_NOFOLLOW`, so no symlink (from the
//! archive, or swapped in by another process between two entries) and no `..` can lead outside.
//! Final names are created under a temporary name and renamed into place, so nothing incomplete
//! ever appears under a final name.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an operation was refused or failed, as a message naming the path.
pub type Refusal = String;

/// What exists at a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Nothing.
    Nothing,
    /// A directory.
    Dir,
    /// Anything else (a file, a symlink, a FIFO...).
    Other,
}

fn cstr(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn show(components: &[&[u8]]) -> String {
    components.join(&b'/').escape_ascii().to_string()
}

/// The directory everything is extracted into.
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    /// Opens `dir` (created with its parents if missing).
    pub fn open(dir: &Path) -> Result<Root, Refusal> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path =
            cstr(dir.as_os_str().as_bytes()).map_err(|e| format!("{}: {e}", dir.display()))?;
        // SAFETY: a valid NUL-terminated path; the descriptor is owned from here on.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        let fd = check(fd).map_err(|e| format!("{}: {e}", dir.display()))?;
        // SAFETY: `fd` was just opened and is owned by nobody else.
        Ok(Root {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The directory that holds `components`' last one, walking (and, with `create`, making) the
    /// ones before it. A symlink or a non-directory on the way is refused.
    pub fn parent(&self, components: &[&[u8]], create: bool) -> Result<OwnedFd, Refusal> {
        let mut dir = dup(&self.fd).map_err(|e| format!("extraction directory: {e}"))?;
        let Some((_, dirs)) = components.split_last() else {
            return Ok(dir);
        };
        for (i, comp) in dirs.iter().enumerate() {
            let here = || show(&components[..=i]);
            let c = cstr(comp).map_err(|e| format!("{}: {e}", here()))?;
            let open = || {
                // SAFETY: a valid directory descriptor and NUL-terminated name.
                check(unsafe {
                    libc::openat(
                        dir.as_raw_fd(),
                        c.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                })
            };
            let fd = match open() {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                    // SAFETY: as above; the umask applies to directories the archive does not list.
                    let made = check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o777) });
                    match made {
                        Ok(_) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                        Err(e) => return Err(format!("{}: {e}", here())),
                    }
                    open().map_err(|e| describe_open_error(&here(), e))?
                }
                Err(e) => return Err(describe_open_error(&here(), e)),
            };
            // SAFETY: `fd` was just opened and is owned by nobody else.
            dir = unsafe { OwnedFd::from_raw_fd(fd) };
        }
        Ok(dir)
    }
}

fn describe_open_error(path: &str, e: io::Error) -> Refusal {
    match e.raw_os_error() {
        Some(libc::ELOOP) => format!("{path} is a symlink: nothing is written through a symlink"),
        Some(libc::ENOTDIR) => format!("{path} is not a directory"),
        _ => format!("{path}: {e}"),
    }
}

fn dup(fd: &OwnedFd) -> io::Result<OwnedFd> {
    fd.try_clone()
}

/// What exists at `name` in `dir` (not following a symlink).
pub fn existing(dir: &OwnedFd, name: &[u8]) -> io::Result<Existing> {
    let c = cstr(name)?;
    // SAFETY: `st` is plain data filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, NUL-terminated name, writable struct.
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ENOENT) {
            Ok(Existing::Nothing)
        } else {
            Err(e)
        };
    }
    Ok(if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        Existing::Dir
    } else {
        Existing::Other
    })
}

/// Removes what is at `name` (an empty directory when `dir_too`).
pub fn remove(dir: &OwnedFd, name: &[u8], is_dir: bool) -> io::Result<()> {
    let c = cstr(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid descriptor and NUL-terminated name.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) }).map(|_| ())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name in the extraction's namespace (short, so any final name still fits).
pub fn temp_name() -> Vec<u8> {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".tartape-{}-{n}.tmp", std::process::id()).into_bytes()
}

/// Creates a new file `name` in `dir` (never an existing one, never through a symlink).
pub fn create_file(dir: &OwnedFd, name: &[u8]) -> io::Result<File> {
    let c = cstr(name)?;
    // SAFETY: valid descriptor and NUL-terminated name; the descriptor is owned by the File.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Sets a file's permission bits and modification time through its descriptor.
pub fn finish_file(file: &File, mode: u32, mtime: i64) -> io::Result<()> {
    // SAFETY: a valid descriptor; `times` outlives the call.
    unsafe {
        check(libc::fchmod(file.as_raw_fd(), mode as libc::mode_t))?;
        let times = [timespec(mtime), timespec(mtime)];
        check(libc::futimens(file.as_raw_fd(), times.as_ptr()))?;
    }
    Ok(())
}

fn timespec(secs: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    }
}

/// Sets the modification time of `name` in `dir` without following it (symlinks).
pub fn set_link_mtime(dir: &OwnedFd, name: &[u8], mtime: i64) -> io::Result<()> {
    let c = cstr(name)?;
    let times = [timespec(mtime), timespec(mtime)];
    // SAFETY: valid descriptor, NUL-terminated name, `times` outlives the call.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(|_| ())
}

/// Creates the symlink `name` -> `target` in `dir`.
pub fn symlink(dir: &OwnedFd, name: &[u8], target: &[u8]) -> io::Result<()> {
    let (c, t) = (cstr(name)?, cstr(target)?);
    // SAFETY: valid descriptor and NUL-terminated strings.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) }).map(|_| ())
}

/// Creates the hard link `name` in `dir` to `target_name` in `target_dir` (a symlink there is
/// linked itself, never followed).
pub fn hard_link(
    target_dir: &OwnedFd,
    target_name: &[u8],
    dir: &OwnedFd,
    name: &[u8],
) -> io::Result<()> {
    let (t, c) = (cstr(target_name)?, cstr(name)?);
    // SAFETY: valid descriptors and NUL-terminated names.
    check(unsafe {
        libc::linkat(
            target_dir.as_raw_fd(),
            t.as_ptr(),
            dir.as_raw_fd(),
            c.as_ptr(),
            0,
        )
    })
    .map(|_| ())
}

/// The kinds of special file [`node`] makes.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    /// A named pipe.
    Fifo,
    /// A character device (major, minor).
    Char(u32, u32),
    /// A block device (major, minor).
    Block(u32, u32),
}

/// Creates the FIFO or device `name` in `dir` with exactly `mode` (the umask does not apply) and
/// `mtime`. Devices need the privilege to make them (root).
pub fn node(dir: &OwnedFd, name: &[u8], kind: Node, mode: u32, mtime: i64) -> io::Result<()> {
    let c = cstr(name)?;
    let (ty, dev) = match kind {
        Node::Fifo => (libc::S_IFIFO, 0),
        Node::Char(ma, mi) => (libc::S_IFCHR, libc::makedev(ma, mi)),
        Node::Block(ma, mi) => (libc::S_IFBLK, libc::makedev(ma, mi)),
    };
    let times = [timespec(mtime), timespec(mtime)];
    // SAFETY: valid descriptor, NUL-terminated name, `times` outlives the call. The node was just
    // made under a fresh temporary name, so fchmodat and utimensat reach it and nothing else.
    unsafe {
        check(libc::mknodat(dir.as_raw_fd(), c.as_ptr(), ty | 0o600, dev))?;
        check(libc::fchmodat(
            dir.as_raw_fd(),
            c.as_ptr(),
            mode as libc::mode_t,
            0,
        ))?;
        check(libc::utimensat(
            dir.as_raw_fd(),
            c.as_ptr(),
            times.as_ptr(),
            0,
        ))?;
    }
    Ok(())
}

/// Makes the directory `name` in `dir` (0700 until its own mode is set at the end, so that its
/// content can be written even when the archive gives it no write permission).
pub fn mkdir(dir: &OwnedFd, name: &[u8]) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid descriptor and NUL-terminated name.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o700) }).map(|_| ())
}

/// Opens the directory `name` in `dir` without following a symlink.
pub fn open_dir(dir: &OwnedFd, name: &[u8]) -> io::Result<File> {
    let c = cstr(name)?;
    // SAFETY: valid descriptor and NUL-terminated name; the descriptor is owned by the File.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Renames `from` to `to` in `dir`. With `replace` false the rename fails with `EEXIST` rather
/// than replace something that appeared at `to` meanwhile (renameat2 RENAME_NOREPLACE).
pub fn rename(dir: &OwnedFd, from: &[u8], to: &[u8], replace: bool) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    let flags = if replace { 0 } else { libc::RENAME_NOREPLACE };
    // SAFETY: valid descriptors and NUL-terminated names.
    check(unsafe {
        libc::renameat2(
            dir.as_raw_fd(),
            f.as_ptr(),
            dir.as_raw_fd(),
            t.as_ptr(),
            flags,
        )
    })
    .map(|_| ())
}
