//! The archive reader: list the entries of a TAR or ZIP archive and read its members in place.
//!
//! [`Archive::open`] (a file, read with `pread`) or [`Archive::from_bytes`] (memory) detects the
//! format from the content (also inside gzip, zstd, xz or bzip2: [`Compression`], read through
//! restart points that [`Archive::save_index`] can keep beside the archive), builds the whole
//! listing at once (bounded by [`Limits`]) and then answers
//! [`Archive::entries`], [`Archive::find`], [`Archive::open_member`] (a streaming [`Member`] that is
//! `Read + Seek`) and [`Archive::read_member_at`] (random access without a cursor). An `Archive` is
//! `Send + Sync` and cheap to clone: members can be read from several threads at once.
//! [`TarStream`] reads a TAR archive once, front to back, from a pipe or any other reader.
//!
//! Malformed input never panics, hangs or allocates without bound: it gives [`Error::Corrupt`]
//! naming what is wrong and where, or [`Error::Limit`] when a [`Limits`] bound is reached.

mod cp437;
mod member;
mod pax;
mod sequential;
mod store;
mod tar;
mod unpack;
mod zip;

use std::path::Path;
use std::sync::Arc;

pub use member::Member;
pub use sequential::TarStream;
pub use unpack::{detect as detect_compression, Compression};

use crate::{Error, Result};
use store::Store;

/// Safety bounds for reading untrusted archives. Every field has a documented default
/// ([`Limits::default`]); raise them for archives you trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most entries an archive may list. Default 10 million.
    pub max_entries: u64,
    /// Largest pax extended header ('x' or 'g') in bytes. Default 1 MiB.
    pub max_pax_header: u64,
    /// Longest GNU long name or long link ('L', 'K') and longest ZIP symlink target, in bytes.
    /// Default 64 KiB.
    pub max_long_name: u64,
    /// Most regions in one sparse map. Default 1 million.
    pub max_sparse_regions: u64,
    /// Total bytes of names, link targets and sparse maps kept for the listing. Default 1 GiB.
    pub max_listing_bytes: u64,
    /// Largest ratio of a compressed member's size to its compressed size (when the compressed
    /// size is not zero), and of a compressed archive's uncompressed bytes to its compressed bytes
    /// (checked as it decodes, past its first MiB). Default 1000.
    pub max_inflation_ratio: u64,
    /// Largest uncompressed size of a compressed member or of a compressed archive, whatever its
    /// ratio. Default 1 TiB.
    pub max_inflated_size: u64,
    /// Most memory one decoder may ask for: the window of a zstd frame, the dictionary of an xz
    /// stream (in ZIP members and compressed TARs). Default 256 MiB (zstd's command line allows
    /// 128 MiB, xz -9 needs 65 MiB).
    pub max_decoder_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000_000,
            max_pax_header: 1 << 20,
            max_long_name: 64 << 10,
            max_sparse_regions: 1_000_000,
            max_listing_bytes: 1 << 30,
            max_inflation_ratio: 1000,
            max_inflated_size: 1 << 40,
            max_decoder_memory: 256 << 20,
        }
    }
}

/// The container format of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A TAR archive (v7, ustar, GNU or pax).
    Tar,
    /// A ZIP archive (with or without zip64, possibly with data in front of it).
    Zip,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link; the target is [`ArchiveEntry::link`].
    Symlink,
    /// A hard link to an earlier entry named by [`ArchiveEntry::link`].
    Hardlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// Anything else (a TAR type tartape does not know, such as a volume label or Solaris ACL).
    Other,
}

/// One region of a sparse file: `length` bytes of data at `offset` in the expanded file. The
/// regions' data is stored one after the other from the entry's data offset; the gaps are zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparseRegion {
    /// Offset in the expanded file.
    pub offset: u64,
    /// Number of data bytes.
    pub length: u64,
}

/// One entry of an archive's listing: plain data, as read from the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    /// The name as stored, raw bytes (for ZIP without the UTF-8 flag: decoded from CP437 to UTF-8).
    pub name: Vec<u8>,
    /// What the entry is.
    pub kind: EntryKind,
    /// TAR type flag byte as stored (`b'0'`, `b'5'`, `b'x'`...); 0 for ZIP.
    pub typeflag: u8,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch (UTC), rounded down.
    pub mtime: i64,
    /// The content's real size: uncompressed for ZIP, expanded for sparse TAR members.
    pub size: u64,
    /// Bytes the content occupies in the archive: compressed size for ZIP; for TAR the stored size
    /// (smaller than `size` for sparse members, the sparse map excluded).
    pub compressed_size: u64,
    /// Compression method: 0 stored (always for TAR), 8 deflate, others as the ZIP header says.
    pub method: u16,
    /// Link target (symlinks and hard links), raw bytes; empty otherwise.
    pub link: Vec<u8>,
    /// Offset of the entry's first header (TAR: its first extension header; ZIP: local header).
    pub header_offset: u64,
    /// Offset of the entry's stored content.
    pub data_offset: u64,
    /// CRC-32 of the content (ZIP); 0 for TAR.
    pub crc32: u32,
    /// The content is encrypted (ZIP flag bit 0): listed, but reading gives `Unsupported`.
    pub encrypted: bool,
    /// The name is absolute, has a `..` component, a NUL, or is empty (see [`is_unsafe_name`]).
    pub unsafe_name: bool,
    /// The entry is a sparse file (old GNU 'S' or pax GNU.sparse); see `sparse_map`.
    pub sparse: bool,
    /// ZIP only: the local header names the member differently from the central directory (a
    /// reader that trusts local headers would extract it under the other name).
    pub name_mismatch: bool,
    /// The data regions of a sparse entry (empty otherwise).
    pub sparse_map: Vec<SparseRegion>,
    /// Owner's user id (TAR; 0 for ZIP).
    pub uid: u64,
    /// Owner's group id (TAR; 0 for ZIP).
    pub gid: u64,
    /// Owner's user name (TAR; empty for ZIP).
    pub uname: Vec<u8>,
    /// Owner's group name (TAR; empty for ZIP).
    pub gname: Vec<u8>,
    /// Device numbers (major, minor) of a TAR character or block device; (0, 0) otherwise.
    pub device: (u32, u32),
}

impl ArchiveEntry {
    /// True when the entry has content that [`Archive::open_member`] yields: TAR files and TAR
    /// types tartape does not know (which carry data), and every ZIP entry but directories (a
    /// ZIP symlink's content is its target).
    pub fn has_content(&self) -> bool {
        match self.kind {
            EntryKind::File | EntryKind::Other => true,
            EntryKind::Dir => false,
            _ => self.typeflag == 0,
        }
    }
}

/// Parses the records of a pax extended header (`"LEN KEY=VALUE\n"`...) as the TAR reader does;
/// exposed for fuzzing and for tools.
pub fn parse_pax_records(data: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    pax::parse(data, 0)
}

/// True when extracting `name` could write outside the target folder or is meaningless: empty,
/// absolute (`/x`, `\x`, `C:x`), with a `..` component (split on `/` and `\`), or with a NUL.
pub fn is_unsafe_name(name: &[u8]) -> bool {
    if name.is_empty() || name.contains(&0) {
        return true;
    }
    if name[0] == b'/' || name[0] == b'\\' {
        return true;
    }
    if name.len() >= 2 && name[1] == b':' && name[0].is_ascii_alphabetic() {
        return true;
    }
    name.split(|b| *b == b'/' || *b == b'\\')
        .any(|c| c == b"..")
}

/// True when two member names are the same as [`Archive::find`] compares them: a trailing `/` is
/// ignored on both sides, so `dir` is `dir/`.
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
    let trim = |n: &[u8]| n.len() - usize::from(n.len() > 1 && n.ends_with(b"/"));
    a[..trim(a)] == b[..trim(b)]
}

/// What an archive shares with its members.
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) format: Format,
    pub(crate) compression: Compression,
    pub(crate) entries: Vec<ArchiveEntry>,
    pub(crate) limits: Limits,
    pub(crate) comment: Vec<u8>,
}

/// An open archive: its listing and the store its members are read from. Cloning is cheap (the
/// listing and store are shared); `Send + Sync`.
///
/// ```
/// use std::io::Read;
/// use tartape::reader::{Archive, EntryKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut b = tartape::TapeBuilder::new();
/// # b.set_format(tartape::Format::Zip);
/// # b.add_bytes(b"docs/readme.txt", b"read me\n".to_vec(), 0o644, 0)?;
/// # let tape = b.seal()?;
/// # let mut bytes = vec![0; tape.total_size() as usize];
/// # tape.read_at(0, &mut bytes)?;
/// let archive = Archive::from_bytes(bytes)?; // or Archive::open(path)
/// for entry in archive.entries() {
///     assert!(!entry.unsafe_name);
/// }
/// let index = archive.find(b"docs/readme.txt").expect("listed");
/// assert_eq!(archive.entries()[index].kind, EntryKind::File);
/// let mut text = String::new();
/// archive.open_member(index)?.read_to_string(&mut text)?;
/// assert_eq!(text, "read me\n");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Archive {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("format", &self.inner.format)
            .field("entries", &self.inner.entries.len())
            .finish()
    }
}

impl Archive {
    /// Opens the archive at `path` with the default [`Limits`]. The file stays open and is read
    /// with `pread`, so it must not change while the archive is in use.
    pub fn open(path: impl AsRef<Path>) -> Result<Archive> {
        Archive::open_with_limits(path, Limits::default())
    }

    /// Opens the archive at `path` with `limits`.
    pub fn open_with_limits(path: impl AsRef<Path>, limits: Limits) -> Result<Archive> {
        Archive::from_store(Store::open(path.as_ref())?, limits)
    }

    /// Reads an archive held in memory (a `Vec<u8>`, `Arc<[u8]>`...) with the default [`Limits`].
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Result<Archive> {
        Archive::from_bytes_with_limits(bytes, Limits::default())
    }

    /// Reads an archive held in memory with `limits`.
    pub fn from_bytes_with_limits(bytes: impl Into<Arc<[u8]>>, limits: Limits) -> Result<Archive> {
        Archive::from_store(Store::Memory(bytes.into()), limits)
    }

    /// Opens the compressed archive at `path` with the restart points saved by
    /// [`Archive::save_index`] (`index`: that file's bytes), skipping the decoding pass that
    /// opening otherwise makes: listing and reading then start from the saved points. The index
    /// must be this archive's (its compressed length and the CRC-32 of all its bytes are checked,
    /// which reads the file once without decoding it): `InvalidArgument` otherwise, `Corrupt` for
    /// a damaged index, `InvalidArgument` for an archive that is not compressed.
    pub fn open_with_index(
        path: impl AsRef<Path>,
        index: &[u8],
        limits: Limits,
    ) -> Result<Archive> {
        Archive::from_store_indexed(Store::open(path.as_ref())?, Some(index), limits)
    }

    /// [`Archive::open_with_index`] for a compressed archive held in memory.
    pub fn from_bytes_with_index(
        bytes: impl Into<Arc<[u8]>>,
        index: &[u8],
        limits: Limits,
    ) -> Result<Archive> {
        Archive::from_store_indexed(Store::Memory(bytes.into()), Some(index), limits)
    }

    /// The restart points of a compressed archive as the bytes of an index file, for
    /// [`Archive::open_with_index`]: about 32 KiB per 4 MiB of a gzip archive, 24 bytes per point
    /// otherwise. `InvalidArgument` for an archive that is not compressed.
    pub fn index_bytes(&self) -> Result<Vec<u8>> {
        match &self.inner.store {
            Store::Unpacked(u) => u.to_saved(),
            _ => Err(Error::InvalidArgument(
                "the archive is not compressed: it needs no index".into(),
            )),
        }
    }

    /// Writes [`Archive::index_bytes`] to `path` atomically (a temporary file beside it, then
    /// renamed).
    pub fn save_index(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.index_bytes()?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = path.file_name().ok_or_else(|| {
            Error::InvalidArgument(format!("{}: not a file name", path.display()))
        })?;
        let temp = dir.join(format!(
            ".{}.tmp-{}",
            base.to_string_lossy(),
            std::process::id()
        ));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&temp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::io(path, e)
        })
    }

    fn from_store(store: Store, limits: Limits) -> Result<Archive> {
        Archive::from_store_indexed(store, None, limits)
    }

    fn from_store_indexed(
        mut store: Store,
        index: Option<&[u8]>,
        limits: Limits,
    ) -> Result<Archive> {
        // Compressed (gzip, zstd, xz, bzip2 magic, and not a valid TAR header): the archive is
        // what it decompresses to, read through an index of restart points.
        let mut head = [0u8; 10];
        let n = store.read_at(0, &mut head)?;
        let compression = unpack::detect(&head[..n]);
        if compression != Compression::None && !tar::starts_with_header(&store)? {
            let unpacked = match index {
                Some(index) => {
                    unpack::index::Unpacked::from_saved(store, compression, index, &limits)?
                }
                None if compression == Compression::Zstd => {
                    match unpack::index::Unpacked::from_seek_table(store, &limits)? {
                        Ok(u) => u,
                        Err(store) => unpack::index::Unpacked::index(store, compression, &limits)?,
                    }
                }
                None => unpack::index::Unpacked::index(store, compression, &limits)?,
            };
            store = Store::Unpacked(Arc::new(unpacked));
        } else if index.is_some() {
            return Err(Error::InvalidArgument(
                "the archive is not compressed: it takes no index".into(),
            ));
        }
        let compression = match &store {
            Store::Unpacked(u) => u.compression(),
            _ => Compression::None,
        };
        // A valid TAR header at offset 0 wins (a TAR may hold a ZIP as its last member); otherwise
        // an end-of-central-directory record makes it a ZIP; otherwise it is read as TAR.
        let (format, entries, comment) = if !tar::starts_with_header(&store)? {
            match zip::locate(&store)? {
                Some(eocd) => {
                    let (entries, comment) = zip::list(&store, &eocd, &limits)?;
                    (Format::Zip, entries, comment)
                }
                None => (Format::Tar, tar::list(&store, &limits)?, Vec::new()),
            }
        } else {
            (Format::Tar, tar::list(&store, &limits)?, Vec::new())
        };
        Ok(Archive {
            inner: Arc::new(Inner {
                store,
                format,
                compression,
                entries,
                limits,
                comment,
            }),
        })
    }

    /// The archive's format.
    pub fn format(&self) -> Format {
        self.inner.format
    }

    /// The compression around the archive ([`Compression::None`] for a plain one). Offsets of a
    /// compressed archive's entries are offsets in its uncompressed bytes.
    pub fn compression(&self) -> Compression {
        self.inner.compression
    }

    /// The number of places decoding a compressed archive can start from (its start, gzip
    /// members, zstd frames and deflate checkpoints recorded when it was opened); 0 when not
    /// compressed. Reading at an offset decodes from the last such place before it.
    pub fn restart_points(&self) -> usize {
        match &self.inner.store {
            Store::Unpacked(u) => u.points(),
            _ => 0,
        }
    }

    /// Every entry, in archive order.
    pub fn entries(&self) -> &[ArchiveEntry] {
        &self.inner.entries
    }

    /// The ZIP archive comment (empty for TAR).
    pub fn comment(&self) -> &[u8] {
        &self.inner.comment
    }

    /// The limits this archive was read with.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The index of the last entry named `name` (a later entry replaces an earlier one, as when
    /// extracting). A trailing `/` is ignored on both sides, so `dir` finds `dir/`.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.inner
            .entries
            .iter()
            .rposition(|e| same_name(&e.name, name))
    }

    /// A reader of entry `index`'s content (expanded for sparse TAR, inflated for deflated ZIP).
    ///
    /// Errors: `NotFound` for an index out of range; `Unsupported` for an encrypted member or a
    /// compression method other than stored and deflate; `Limit` for a deflated member past the
    /// inflation limits; `Corrupt` for an invalid sparse map.
    pub fn open_member(&self, index: usize) -> Result<Member> {
        Member::new(self.inner.clone(), index)
    }

    /// Reads entry `index`'s content from `offset` into `buf`, without a cursor: the random access
    /// the tape engine uses. Returns the bytes read, 0 at or past the end. Works for TAR members
    /// (sparse ones expanded) and stored ZIP members (the CRC is not checked here); a deflated
    /// member gives `NotRandomAccess` (use [`Archive::open_member`]), an encrypted one or another
    /// method `Unsupported`. Thread-safe.
    pub fn read_member_at(&self, index: usize, offset: u64, buf: &mut [u8]) -> Result<usize> {
        member::read_at(&self.inner, index, offset, buf)
    }
}

/// The entry at `index` or `NotFound`.
pub(crate) fn entry_at(inner: &Inner, index: usize) -> Result<&ArchiveEntry> {
    inner.entries.get(index).ok_or_else(|| {
        Error::NotFound(format!(
            "entry {index} (the archive has {})",
            inner.entries.len()
        ))
    })
}

/// Counts what the listing keeps, failing with `Limit` past the limits.
pub(crate) struct Budget<'a> {
    limits: &'a Limits,
    entries: u64,
    bytes: u64,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(limits: &'a Limits) -> Self {
        Budget {
            limits,
            entries: 0,
            bytes: 0,
        }
    }

    /// Accounts for `entry`.
    pub(crate) fn add(&mut self, entry: &ArchiveEntry) -> Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(Error::Limit(format!(
                "more than {} entries (Limits::max_entries)",
                self.limits.max_entries
            )));
        }
        self.bytes += (entry.name.len()
            + entry.link.len()
            + entry.uname.len()
            + entry.gname.len()
            + entry.sparse_map.len() * 16
            + std::mem::size_of::<ArchiveEntry>()) as u64;
        if self.bytes > self.limits.max_listing_bytes {
            return Err(Error::Limit(format!(
                "listing larger than {} bytes (Limits::max_listing_bytes)",
                self.limits.max_listing_bytes
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_flagged() {
        for n in [
            &b""[..],
            b"/etc/passwd",
            b"../x",
            b"a/../../x",
            b"a\\..\\x",
            b"C:x",
            b"a\0b",
            b"..",
        ] {
            assert!(is_unsafe_name(n), "{n:?}");
        }
        for n in [&b"a"[..], b"a/b/", b"..a/b", b"a/..b", b"./a"] {
            assert!(!is_unsafe_name(n), "{n:?}");
        }
    }

    #[test]
    fn archive_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Archive>();
        check::<Member>();
    }
}
