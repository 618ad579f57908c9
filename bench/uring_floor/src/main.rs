//! The floor of archiving a tree (bench/c/tree_floor.c), with the per-file system calls batched
//! through io_uring: each directory listed and sorted as there, then its files taken 64 at a
//! time: one submission opens all 64 (openat relative to the directory), a second reads each
//! (one read of up to 64 KiB: the small set's files are all smaller) and closes it, linked. The
//! size each header needs comes from an fstat system call (default) or, with `--statx`, from a
//! statx in the ring linked between the read and the close. Nothing is written. Prints one JSON
//! line like tree_floor's. Usage: uring_floor [--statx] DIR

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use io_uring::{opcode, squeue, types, IoUring};

/// Files per batch.
const BATCH: usize = 64;
/// The one read per file.
const FILE_BUF: usize = 64 << 10;

#[derive(Default)]
struct Counts {
    files: u64,
    dirs: u64,
    bytes: u64,
    /// Files larger than one read (their rest is not read: the probe is for small files).
    larger: u64,
}

struct Probe {
    ring: IoUring,
    statx: bool,
    bufs: Vec<Vec<u8>>,
    stx: Vec<libc::statx>,
    counts: Counts,
}

fn fail<T>(what: &str, e: impl std::fmt::Display) -> Result<T, String> {
    Err(format!("{what}: {e}"))
}

impl Probe {
    fn walk(&mut self, dir: &Path, dfd: i32) -> Result<(), String> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).or_else(|e| fail(&dir.display().to_string(), e))? {
            let e = e.or_else(|e| fail(&dir.display().to_string(), e))?;
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            names.push((e.file_name().as_bytes().to_vec(), is_dir));
        }
        names.sort();
        let mut i = 0;
        while i < names.len() {
            if names[i].1 {
                let c = CString::new(names[i].0.clone()).map_err(|e| e.to_string())?;
                // SAFETY: openat with a NUL-terminated name relative to an open directory.
                let sub = unsafe {
                    libc::openat(
                        dfd,
                        c.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    )
                };
                if sub < 0 {
                    return fail("openat", std::io::Error::last_os_error());
                }
                self.counts.dirs += 1;
                let r = self.walk(&dir.join(OsStr::from_bytes(&names[i].0)), sub);
                // SAFETY: closing the descriptor opened above.
                unsafe { libc::close(sub) };
                r?;
                i += 1;
                continue;
            }
            let mut j = i;
            while j < names.len() && !names[j].1 && j - i < BATCH {
                j += 1;
            }
            self.files(dfd, &names[i..j])?;
            i = j;
        }
        Ok(())
    }

    fn files(&mut self, dfd: i32, names: &[(Vec<u8>, bool)]) -> Result<(), String> {
        let cs: Vec<CString> = names
            .iter()
            .map(|n| CString::new(n.0.clone()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        {
            let mut sq = self.ring.submission();
            for (k, c) in cs.iter().enumerate() {
                let e = opcode::OpenAt::new(types::Fd(dfd), c.as_ptr())
                    .flags(libc::O_RDONLY | libc::O_CLOEXEC)
                    .build()
                    .user_data(k as u64);
                // SAFETY: the names outlive the submission, which is waited for below.
                unsafe { sq.push(&e) }.or_else(|e| fail("submission queue", e))?;
            }
        }
        self.ring
            .submit_and_wait(cs.len())
            .or_else(|e| fail("io_uring_enter", e))?;
        let mut fds = vec![-1i32; cs.len()];
        for c in self.ring.completion() {
            fds[c.user_data() as usize] = c.result();
        }
        if let Some(e) = fds.iter().find(|&&fd| fd < 0) {
            return fail("openat", std::io::Error::from_raw_os_error(-e));
        }
        let empty = c"";
        let per = if self.statx { 3 } else { 2 };
        {
            let mut sq = self.ring.submission();
            for (k, &fd) in fds.iter().enumerate() {
                let tag = (k as u64) << 2;
                let read =
                    opcode::Read::new(types::Fd(fd), self.bufs[k].as_mut_ptr(), FILE_BUF as u32)
                        .offset(0)
                        .build()
                        .user_data(tag)
                        // A hard link: a short read (every small file's) must not cancel the rest.
                        .flags(squeue::Flags::IO_HARDLINK);
                let close = opcode::Close::new(types::Fd(fd)).build().user_data(tag | 2);
                // SAFETY: buffers, the statx records and the empty name outlive the submission.
                unsafe {
                    if self.statx {
                        let stx = &mut self.stx[k] as *mut libc::statx as *mut types::statx;
                        let st = opcode::Statx::new(types::Fd(fd), empty.as_ptr(), stx)
                            .flags(libc::AT_EMPTY_PATH)
                            .mask(libc::STATX_BASIC_STATS)
                            .build()
                            .user_data(tag | 1)
                            .flags(squeue::Flags::IO_HARDLINK);
                        sq.push(&read)
                            .and_then(|_| sq.push(&st))
                            .and_then(|_| sq.push(&close))
                    } else {
                        let mut st: libc::stat = std::mem::zeroed();
                        if libc::fstat(fd, &mut st) != 0 {
                            return fail("fstat", std::io::Error::last_os_error());
                        }
                        self.stx[k].stx_size = st.st_size as u64;
                        sq.push(&read).and_then(|_| sq.push(&close))
                    }
                }
                .or_else(|e| fail("submission queue", e))?;
            }
        }
        self.ring
            .submit_and_wait(cs.len() * per)
            .or_else(|e| fail("io_uring_enter", e))?;
        for c in self.ring.completion() {
            if c.result() < 0 {
                return fail(
                    "a read, statx or close",
                    std::io::Error::from_raw_os_error(-c.result()),
                );
            }
            if c.user_data() & 3 == 0 {
                self.counts.bytes += c.result() as u64;
            }
        }
        for k in 0..cs.len() {
            self.counts.files += 1;
            if self.stx[k].stx_size as usize > FILE_BUF {
                self.counts.larger += 1;
            }
        }
        Ok(())
    }
}

fn main() {
    let mut statx = false;
    let mut dir = None;
    for a in std::env::args_os().skip(1) {
        if a == "--statx" {
            statx = true;
        } else {
            dir = Some(std::path::PathBuf::from(a));
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: uring_floor [--statx] DIR");
        std::process::exit(2);
    };
    let result = || -> Result<Counts, String> {
        let ring = IoUring::builder()
            .build(512)
            .or_else(|e| fail("io_uring_setup", e))?;
        let mut probe = Probe {
            ring,
            statx,
            bufs: (0..BATCH).map(|_| vec![0u8; FILE_BUF]).collect(),
            // SAFETY: statx is plain data; all zeroes is a valid value.
            stx: (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect(),
            counts: Counts::default(),
        };
        let c = CString::new(dir.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: open with a NUL-terminated path.
        let root = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if root < 0 {
            return fail(&dir.display().to_string(), std::io::Error::last_os_error());
        }
        probe.walk(&dir, root)?;
        Ok(probe.counts)
    };
    let t = Instant::now();
    match result() {
        Ok(c) => println!(
            "{{\"files\": {}, \"dirs\": {}, \"content_bytes\": {}, \"larger_than_one_read\": {}, \"statx_in_ring\": {}, \"seconds\": {:.6}}}",
            c.files, c.dirs, c.bytes, c.larger, statx, t.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("uring_floor: {e}");
            std::process::exit(1);
        }
    }
}
