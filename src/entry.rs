//! An entry of a tape: plain metadata plus where its content comes from.

use std::sync::Arc;

use crate::source::Source;

/// What kind of thing an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (also a hard link, which is stored as a full copy).
    File,
    /// A directory.
    Dir,
    /// A symbolic link, stored as a link and never followed.
    Symlink,
}

impl EntryKind {
    /// A stable number for catalogs and the C ABI.
    pub fn code(self) -> u8 {
        match self {
            EntryKind::File => 0,
            EntryKind::Dir => 1,
            EntryKind::Symlink => 2,
        }
    }

    /// The kind for a number from [`EntryKind::code`].
    pub fn from_code(code: u8) -> Option<EntryKind> {
        match code {
            0 => Some(EntryKind::File),
            1 => Some(EntryKind::Dir),
            2 => Some(EntryKind::Symlink),
            _ => None,
        }
    }
}

/// Who owns an entry, as written in its header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    /// Numeric user id.
    pub uid: u64,
    /// Numeric group id.
    pub gid: u64,
    /// User name (may be empty).
    pub uname: Box<[u8]>,
    /// Group name (may be empty).
    pub gname: Box<[u8]>,
}

/// One entry of a tape: everything its header says, and its content's source.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The normalised archive name (no trailing `/`, even for directories).
    pub name: Box<[u8]>,
    /// File, directory or symlink.
    pub kind: EntryKind,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Modification time, whole seconds since the epoch, as written in the header.
    pub mtime: i64,
    /// Content size in bytes (0 for directories and symlinks).
    pub size: u64,
    /// The symlink target (empty for other kinds).
    pub link: Box<[u8]>,
    /// The owner written in the header; `None` writes the anonymous default (0, 0, "", "").
    pub owner: Option<Arc<Owner>>,
    /// Where the content comes from.
    pub source: Source,
    /// The content's MD5, when recorded with checksums.
    pub md5: Option<[u8; 16]>,
    /// The content's CRC-32, when recorded with checksums (or computed for ZIP).
    pub crc32: Option<u32>,
    /// The content's SHA-256, when recorded ([`crate::Checksums::SHA256`]).
    pub sha256: Option<[u8; 32]>,
    /// The content's CRC-32C (Castagnoli), when recorded ([`crate::Checksums::CRC32C`]).
    pub crc32c: Option<u32>,
    /// The deflate level of a ZIP entry: 0 stores it (the default), 1 to 9 deflate it (which makes
    /// the tape stream-only). Ignored for TAR.
    pub level: u8,
}
