//! Where the command line writes: standard output, or a file that appears under its final name only
//! when complete.

use std::fs::{self, File};
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::unix::io::FromRawFd;
use std::path::{Path, PathBuf};

/// Standard output as a plain file descriptor: Rust's `Stdout` is line-buffered with a small
/// buffer, which costs a system call per small entry; the stream is written to this one in chunks
/// of up to 1 MiB, read straight into one buffer (`Stream::read`).
struct RawStdout(ManuallyDrop<File>);

impl RawStdout {
    fn new() -> RawStdout {
        widen_pipe(1);
        // SAFETY: descriptor 1 stays open for the life of the process; ManuallyDrop never closes it.
        RawStdout(ManuallyDrop::new(unsafe { File::from_raw_fd(1) }))
    }
}

/// Asks for a 1 MiB pipe buffer when `fd` is a pipe (Linux; silently kept as it is elsewhere or when
/// refused): with the default 64 KiB, each 1 MiB write wakes the reader sixteen times.
fn widen_pipe(fd: i32) {
    // SAFETY: fstat and fcntl on a descriptor we do not own only read or resize its pipe buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFIFO {
            #[cfg(target_os = "linux")]
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Standard output, or a temporary file renamed to its final name by `commit`.
pub struct Output {
    stdout: Option<RawStdout>,
    file: Option<File>,
    /// (temporary path, final path) while the file is not committed.
    paths: Option<(PathBuf, PathBuf)>,
}

impl Output {
    /// Opens standard output (`None` or `-`) or a temporary file beside `path`.
    pub fn open(path: Option<&Path>) -> Result<Output, String> {
        let target = match path {
            None => None,
            Some(p) if p.as_os_str() == "-" => None,
            Some(p) => Some(p),
        };
        let Some(target) = target else {
            return Ok(Output {
                stdout: Some(RawStdout::new()),
                file: None,
                paths: None,
            });
        };
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = target
            .file_name()
            .ok_or_else(|| format!("{}: not a file name", target.display()))?;
        let temp = dir.join(format!(
            ".{}.part-{}",
            base.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp).map_err(|e| format!("{}: {e}", temp.display()))?;
        Ok(Output {
            stdout: None,
            file: Some(file),
            paths: Some((temp, target.to_path_buf())),
        })
    }

    /// The temporary file, when the output is a file (for writes at offsets).
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }

    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        let r = match (&mut self.stdout, &mut self.file) {
            (Some(s), _) => s.write_all(bytes),
            (_, Some(f)) => f.write_all(bytes),
            _ => Ok(()),
        };
        r.map_err(|e| self.describe(e))
    }

    /// Flushes; for a file, syncs it and renames it to its final name.
    pub fn commit(mut self) -> Result<(), String> {
        if self.stdout.is_some() {
            return Ok(());
        }
        let (Some(file), Some((temp, target))) = (self.file.take(), self.paths.clone()) else {
            return Ok(());
        };
        file.sync_all()
            .and_then(|_| fs::rename(&temp, &target))
            .map_err(|e| format!("{}: {e}", target.display()))?;
        self.paths = None;
        Ok(())
    }

    fn describe(&self, e: io::Error) -> String {
        match &self.paths {
            Some((_, target)) => format!("{}: {e}", target.display()),
            None => format!("standard output: {e}"),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // An output dropped before `commit` is incomplete: never leave it behind.
        if let Some((temp, _)) = &self.paths {
            self.file = None;
            let _ = fs::remove_file(temp);
        }
    }
}
