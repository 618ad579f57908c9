//! The archive a reading command works on: a file read in place, or `-`, standard input: a TAR
//! read front to back (a regular file redirected to standard input is read in place).

use std::io::Read;
use std::path::Path;

use tartape::reader::{Archive, ArchiveEntry, Member, TarStream};

use crate::Failure;

/// An archive to read.
pub enum Input {
    /// A file: listed at once, members read in place.
    File(Archive),
    /// A pipe: members one after the other.
    Stream(Box<TarStream>),
}

/// How an archive argument is named in messages.
pub fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

/// Opens `path`, or standard input for `-`.
pub fn open(path: &Path) -> Result<Input, Failure> {
    let show = path.display();
    if path.as_os_str() == "-" {
        if stdin_is_a_file() {
            return Archive::open("/dev/stdin")
                .map(Input::File)
                .map_err(|e| format!("standard input: {e}"));
        }
        return TarStream::new(std::io::stdin())
            .map(|s| Input::Stream(Box::new(s)))
            .map_err(|e| format!("standard input: {e}"));
    }
    Archive::open(path)
        .map(Input::File)
        .map_err(|e| format!("{show}: {e}"))
}

fn stdin_is_a_file() -> bool {
    // SAFETY: fstat on descriptor 0 only fills the zeroed struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(0, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG
    }
}

/// The members of an input in archive order, each with a reader of its content.
pub struct Members {
    input: Input,
    next: usize,
    member: Option<Member>,
}

impl Members {
    /// Walks `input`.
    pub fn new(input: Input) -> Members {
        Members {
            input,
            next: 0,
            member: None,
        }
    }

    /// The next entry (a copy), or `None` at the end.
    pub fn next_entry(&mut self) -> tartape::Result<Option<ArchiveEntry>> {
        self.member = None;
        match &mut self.input {
            Input::File(archive) => {
                let Some(entry) = archive.entries().get(self.next).cloned() else {
                    return Ok(None);
                };
                self.next += 1;
                Ok(Some(entry))
            }
            Input::Stream(tar) => Ok(tar.next_entry()?.cloned()),
        }
    }

    /// True when members can be read at any offset (a file, not a stream).
    pub fn is_seekable(&self) -> bool {
        matches!(self.input, Input::File(_))
    }

    /// Reads the current entry's content at `offset` (files only; sparse members expanded).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> tartape::Result<usize> {
        match &self.input {
            Input::File(archive) => archive.read_member_at(self.next - 1, offset, buf),
            Input::Stream(_) => Err(tartape::Error::NotRandomAccess("a stream".into())),
        }
    }

    /// Reads the current entry's content (CRC-32 of ZIP members checked at the end).
    pub fn read(&mut self, buf: &mut [u8]) -> tartape::Result<usize> {
        match &mut self.input {
            Input::File(archive) => {
                if self.member.is_none() {
                    self.member = Some(archive.open_member(self.next - 1)?);
                }
                self.member.as_mut().map_or(Ok(0), |m| m.read_data(buf))
            }
            Input::Stream(tar) => tar.read_data(buf),
        }
    }
}

impl Read for Members {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Members::read(self, buf).map_err(std::io::Error::other)
    }
}
