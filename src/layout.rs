//! The layout of a sealed tape: one table of entries with their offsets. Streaming, `read_at`,
//! resume, volumes, locate and catalogs all read this table; a catalog file is this table on disk.
//!
//! The table is bytes: an index of `count` pairs (header offset, record offset), then the records.
//! A record is the entry's metadata in a fixed little-endian form (docs/CATALOG.md), so a tape of a
//! million entries costs about 90 bytes per entry plus its name, in memory or mapped from a file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::entry::{Entry, EntryKind, Owner};
use crate::error::{show_name, Error, Result};
use crate::header::{self, padding, TRAILER_LEN};
use crate::source::{FileIdentity, FileSource, Source};
use crate::table::Table;
use crate::zip::header as zip;

/// Memory entries up to this size are stored in the table itself (and so in catalogs).
pub const INLINE_MAX: u64 = 64 * 1024;

/// An index item: header offset, record offset, and for ZIP the central-directory record's offset.
const INDEX_ITEM_TAR: usize = 16;
const INDEX_ITEM_ZIP: usize = 24;
const FIXED: usize = 36;
const FILE_PART: usize = 36;

/// How the source of a record is stored.
mod tag {
    pub const EMPTY: u8 = 0;
    pub const FILE: u8 = 1;
    pub const INLINE: u8 = 2;
    /// Bytes or a read-at source held by the process, not by the table.
    pub const BOUND: u8 = 3;
    pub const PUSH: u8 = 4;
}

mod flag {
    pub const MD5: u8 = 1;
    pub const OWNER: u8 = 2;
    pub const CRC: u8 = 4;
    /// Catalog version 2 and later.
    pub const SHA256: u8 = 8;
    /// Catalog version 2 and later.
    pub const CRC32C: u8 = 16;
    /// The flags of each catalog version's records (index: version).
    pub const KNOWN: [u8; 3] = [0, MD5 | OWNER | CRC, MD5 | OWNER | CRC | SHA256 | CRC32C];
}

/// The newest catalog version: its records may hold SHA-256 and CRC-32C.
pub const CATALOG_VERSION: u32 = 2;

/// The archive format a tape is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// POSIX pax TAR (docs/FORMAT.md).
    #[default]
    Tar,
    /// ZIP with data descriptors, zip64 where needed (docs/FORMAT-ZIP.md).
    Zip,
}

impl Format {
    /// The stable number of catalogs and the C ABI: 0 = TAR, 1 = ZIP.
    pub fn code(self) -> u32 {
        match self {
            Format::Tar => 0,
            Format::Zip => 1,
        }
    }

    /// The format for a number from [`Format::code`].
    pub fn from_code(code: u32) -> Option<Format> {
        match code {
            0 => Some(Format::Tar),
            1 => Some(Format::Zip),
            _ => None,
        }
    }

    pub(crate) fn index_item(self) -> usize {
        match self {
            Format::Tar => INDEX_ITEM_TAR,
            Format::Zip => INDEX_ITEM_ZIP,
        }
    }
}

/// The bytes after an entry's content: TAR padding to the block, or a ZIP data descriptor.
pub fn tail_len(format: Format, size: u64) -> u64 {
    match format {
        Format::Tar => padding(size),
        Format::Zip => zip::descriptor_len(zip::stored_zip64(size)),
    }
}

/// The length of an entry's header: a TAR header (pax included), or a ZIP local header.
pub fn header_len(format: Format, entry: &Entry, scratch: &mut Vec<u8>) -> u64 {
    match format {
        Format::Tar => header::encoded_len(entry, scratch),
        Format::Zip => zip::local_len(entry),
    }
}

/// An entry placed in the archive, decoded from the table.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The entry's index.
    pub index: usize,
    /// Its metadata and source.
    pub entry: Entry,
    /// Where its header (pax header included) starts.
    pub header_offset: u64,
    /// The header's length (TAR: a multiple of 512; ZIP: the local header).
    pub header_len: u32,
    /// Where it ends: content and padding (or ZIP data descriptor) included: the next header's
    /// offset.
    pub end_offset: u64,
}

impl Slot {
    /// Where the content starts.
    pub fn data_offset(&self) -> u64 {
        self.header_offset + u64::from(self.header_len)
    }

    /// Where the content ends (before the padding).
    pub fn content_end(&self) -> u64 {
        self.data_offset() + self.entry.size
    }

    /// Where the content and its padding end.
    pub fn end_offset(&self) -> u64 {
        self.end_offset
    }
}

/// Where an archive offset falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Inside the entry at this index (header, content or padding).
    Entry(usize),
    /// Inside the trailer: TAR's two zero blocks, or ZIP's central directory and end records.
    Trailer,
    /// At or past the end.
    End,
}

/// The parts of a layout besides its table: the base paths and owners records point to.
#[derive(Debug, Clone, Default)]
pub struct Sidecar {
    /// Paths that file records are relative to.
    pub bases: Vec<Arc<PathBuf>>,
    /// Owners that records point to.
    pub owners: Vec<Arc<Owner>>,
    /// Names left out of directory walks (so verification does not report them).
    pub exclude: Vec<Vec<u8>>,
}

/// Every entry with its offsets, and the total size.
pub struct Layout {
    table: Table,
    count: usize,
    sidecar: Sidecar,
    total_size: u64,
    format: Format,
    trailer_offset: u64,
    deflated: bool,
    /// The catalog version the records follow: 1 unless some record holds a SHA-256 or CRC-32C.
    version: u32,
    by_name: OnceLock<Vec<u32>>,
}

impl Layout {
    /// Places `entries` one after the other, then the trailer. Sources the table cannot hold
    /// (large buffers, read-at callbacks) are returned by index, to be kept beside it.
    /// For ZIP, the central-directory offset of every entry is kept in the index too.
    ///
    /// With `align` (TAR only; 0 for none), each file's content starts at a multiple of `align`:
    /// its header carries the padding (pax `comment` records), recorded in its header
    /// length, so a catalog keeps it.
    pub fn build(
        entries: Vec<Entry>,
        exclude: Vec<Vec<u8>>,
        format: Format,
        align: u64,
    ) -> (Layout, HashMap<usize, Source>) {
        let count = entries.len();
        let item = format.index_item();
        let mut index = Vec::with_capacity(count * item);
        let mut cd_len = 0u64;
        let mut deflated = false;
        let mut records = Vec::new();
        let mut sidecar = Sidecar {
            exclude,
            ..Sidecar::default()
        };
        let mut base_ids: HashMap<*const PathBuf, u32> = HashMap::new();
        let mut owner_ids: HashMap<*const Owner, u32> = HashMap::new();
        let mut bound = HashMap::new();
        let mut scratch = Vec::with_capacity(1024);
        let mut offset = 0u64;
        let mut version = 1;
        let records_start = (count * item) as u64;
        for (i, entry) in entries.into_iter().enumerate() {
            let mut header_len = header_len(format, &entry, &mut scratch);
            if align > 0 && format == Format::Tar && entry.kind == EntryKind::File && entry.size > 0
            {
                let rem = (offset + header_len) % align;
                let want = if rem == 0 { 0 } else { align - rem };
                header_len += crate::header::pad_at_least(&entry, want, align);
            }
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&(records_start + records.len() as u64).to_le_bytes());
            if format == Format::Zip {
                // Relative to the central directory's start until it is known, below.
                index.extend_from_slice(&cd_len.to_le_bytes());
                cd_len += zip::central_len(&entry, offset, zip::stored_zip64(entry.size));
                deflated |= entry.level > 0;
            }
            let mut ids = |e: &Entry| -> (Option<u32>, Option<u32>) {
                let base = match &e.source {
                    Source::File(f) => {
                        Some(*base_ids.entry(Arc::as_ptr(&f.base)).or_insert_with(|| {
                            sidecar.bases.push(f.base.clone());
                            sidecar.bases.len() as u32 - 1
                        }))
                    }
                    _ => None,
                };
                let owner = e.owner.as_ref().map(|o| {
                    *owner_ids.entry(Arc::as_ptr(o)).or_insert_with(|| {
                        sidecar.owners.push(o.clone());
                        sidecar.owners.len() as u32 - 1
                    })
                });
                (base, owner)
            };
            let (base, owner) = ids(&entry);
            if entry.sha256.is_some() || entry.crc32c.is_some() {
                version = CATALOG_VERSION;
            }
            if let Some(s) = encode_record(&entry, header_len as u32, base, owner, &mut records) {
                bound.insert(i, s);
            }
            offset += header_len + entry.size + tail_len(format, entry.size);
        }
        let trailer_offset = offset;
        let trailer_len = match format {
            Format::Tar => TRAILER_LEN,
            Format::Zip => {
                for i in 0..count {
                    let at = i * item + 16;
                    let rel = u64::from_le_bytes(index[at..at + 8].try_into().expect("8"));
                    index[at..at + 8].copy_from_slice(&(trailer_offset + rel).to_le_bytes());
                }
                cd_len + zip::end_len(count, trailer_offset, cd_len)
            }
        };
        index.extend_from_slice(&records);
        let layout = Layout {
            table: Table::trusted(index),
            count,
            sidecar,
            total_size: trailer_offset + trailer_len,
            format,
            trailer_offset,
            deflated,
            version,
            by_name: OnceLock::new(),
        };
        (layout, bound)
    }

    /// A layout over a table read from a catalog.
    pub fn from_parts(
        table: Table,
        count: usize,
        sidecar: Sidecar,
        total_size: u64,
        format: Format,
        trailer_offset: u64,
        deflated: bool,
    ) -> Result<Layout> {
        if trailer_offset > total_size {
            return Err(Error::corrupt(
                "catalog",
                "the trailer starts past the end of the archive",
            ));
        }
        if format == Format::Tar && trailer_offset.checked_add(TRAILER_LEN) != Some(total_size) {
            return Err(Error::corrupt(
                "catalog",
                "the archive size is not the trailer's end",
            ));
        }
        if count == 0 && trailer_offset != 0 {
            return Err(Error::corrupt(
                "catalog",
                "a tape with no entries has content before its trailer",
            ));
        }
        if table.len() < count.saturating_mul(format.index_item()) {
            return Err(Error::corrupt(
                "catalog",
                "the entry table is shorter than its index",
            ));
        }
        Ok(Layout {
            table,
            count,
            sidecar,
            total_size,
            format,
            trailer_offset,
            deflated,
            version: CATALOG_VERSION,
            by_name: OnceLock::new(),
        })
    }

    /// The catalog version this layout's records follow (1 or 2): saving writes it, and a layout
    /// opened from a version-1 catalog refuses records with version-2 fields.
    pub fn catalog_version(&self) -> u32 {
        self.version
    }

    /// Sets the version of a catalog's records, as its header says (1 up to [`CATALOG_VERSION`]).
    pub(crate) fn set_catalog_version(&mut self, version: u32) {
        self.version = version;
    }

    /// The archive format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when some entry is deflated: then offsets past it are not known before streaming, and
    /// only a stream from offset 0 can produce the archive.
    pub fn deflated(&self) -> bool {
        self.deflated
    }

    /// Where entry `i`'s ZIP central-directory record starts (ZIP tapes only).
    pub fn central_offset(&self, i: usize) -> Result<u64> {
        if self.format != Format::Zip {
            return Err(Error::State("a TAR tape has no central directory".into()));
        }
        self.table.u64_at(i * INDEX_ITEM_ZIP + 16)
    }

    /// The entry whose central-directory record holds byte `offset` (a binary search over the
    /// index), for an offset between the trailer's start and the directory's end.
    pub fn find_central(&self, offset: u64) -> Result<usize> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.central_offset(mid)? <= offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo.saturating_sub(1))
    }

    /// The table's bytes and chunk checksums, for writing a catalog.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Base paths and owners.
    pub fn sidecar(&self) -> &Sidecar {
        &self.sidecar
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the tape has no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The archive's size in bytes.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// Where the trailer (TAR's zero blocks, ZIP's central directory) starts.
    pub fn trailer_offset(&self) -> u64 {
        self.trailer_offset
    }

    /// Where entry `i`'s header starts.
    pub fn header_offset(&self, i: usize) -> Result<u64> {
        self.table.u64_at(i * self.format.index_item())
    }

    /// Where entry `i` ends: the next header, or the trailer.
    pub fn end_offset(&self, i: usize) -> Result<u64> {
        if i + 1 < self.count {
            self.header_offset(i + 1)
        } else {
            Ok(self.trailer_offset())
        }
    }

    /// Which entry holds byte `offset`: a binary search over the index, decoding no record.
    pub fn find(&self, offset: u64) -> Result<Position> {
        if offset >= self.total_size {
            return Ok(Position::End);
        }
        if offset >= self.trailer_offset() {
            return Ok(Position::Trailer);
        }
        // The last entry whose header starts at or before the offset holds it.
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.header_offset(mid)? <= offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // A forged index out of order would send the search to an entry that does not hold the
        // offset; the entry found must hold it.
        let i = lo.saturating_sub(1);
        if self.header_offset(i)? > offset || self.end_offset(i)? <= offset {
            return Err(Error::corrupt(
                "catalog",
                format!("entry {i}: the index is out of order at archive offset {offset}"),
            ));
        }
        Ok(Position::Entry(i))
    }

    /// The record of entry `i`.
    fn record(&self, i: usize) -> Result<Record<'_>> {
        if i >= self.count {
            return Err(Error::NotFound(format!("no entry at index {i}")));
        }
        let at = self.table.u64_at(i * self.format.index_item() + 8)? as usize;
        let fixed = self.table.get(at, FIXED)?;
        let name_len = le_u32(fixed, 20) as usize;
        let link_len = le_u32(fixed, 24) as usize;
        let (kind, source, flags, level) = (fixed[0], fixed[1], fixed[2], fixed[3]);
        let size = le_u64(fixed, 28);
        let mut len = FIXED;
        let file_at = len;
        if source == tag::FILE {
            len += FILE_PART;
        }
        let owner_at = len;
        if flags & flag::OWNER != 0 {
            len += 4;
        }
        let md5_at = len;
        if flags & flag::MD5 != 0 {
            len += 16;
        }
        let crc_at = len;
        if flags & flag::CRC != 0 {
            len += 4;
        }
        let sha256_at = len;
        if flags & flag::SHA256 != 0 {
            len += 32;
        }
        let crc32c_at = len;
        if flags & flag::CRC32C != 0 {
            len += 4;
        }
        let inline_at = len;
        if source == tag::INLINE {
            if size > INLINE_MAX {
                return Err(Error::corrupt(
                    "catalog",
                    format!("entry {i}: inline content too large"),
                ));
            }
            len += size as usize;
        }
        let name_at = len;
        len += name_len + link_len;
        let bytes = self.table.get(at, len)?;
        let bad = |what: &str| Error::corrupt("catalog", format!("entry {i}: {what}"));
        let kind = EntryKind::from_code(kind).ok_or_else(|| bad("unknown kind"))?;
        let known = flag::KNOWN[(self.version as usize).min(flag::KNOWN.len() - 1)];
        if flags & !known != 0 {
            return Err(bad(&format!(
                "record flags {flags:#x} unknown in catalog version {}",
                self.version
            )));
        }
        if source > tag::PUSH {
            return Err(bad("unknown source"));
        }
        if level > 9 {
            return Err(bad("deflate level above 9"));
        }
        Ok(Record {
            bytes,
            kind,
            source,
            flags,
            level,
            size,
            file_at,
            owner_at,
            md5_at,
            crc_at,
            sha256_at,
            crc32c_at,
            inline_at,
            name_at,
            name_len,
            link_len,
            table_at: at,
        })
    }

    /// Every entry with its offsets, decoded (a copy of the whole table: for tools and tests).
    pub fn slots(&self) -> Result<Vec<Slot>> {
        (0..self.len()).map(|i| self.slot(i)).collect()
    }

    /// The name of entry `i`, borrowed from the table.
    pub fn name(&self, i: usize) -> Result<&[u8]> {
        Ok(self.name_and_link(i)?.0)
    }

    /// The name and symlink target of entry `i`, borrowed from the table.
    pub fn name_and_link(&self, i: usize) -> Result<(&[u8], &[u8])> {
        let r = self.record(i)?;
        let name_end = r.name_at + r.name_len;
        Ok((
            &r.bytes[r.name_at..name_end],
            &r.bytes[name_end..name_end + r.link_len],
        ))
    }

    /// The MD5 recorded for entry `i`, if any.
    pub fn recorded_md5(&self, i: usize) -> Result<Option<[u8; 16]>> {
        let r = self.record(i)?;
        Ok((r.flags & flag::MD5 != 0)
            .then(|| r.bytes[r.md5_at..r.md5_at + 16].try_into().expect("16")))
    }

    /// The CRC-32 recorded for entry `i`, if any.
    pub fn recorded_crc32(&self, i: usize) -> Result<Option<u32>> {
        let r = self.record(i)?;
        Ok((r.flags & flag::CRC != 0).then(|| le_u32(r.bytes, r.crc_at)))
    }

    /// The SHA-256 recorded for entry `i`, if any.
    pub fn recorded_sha256(&self, i: usize) -> Result<Option<[u8; 32]>> {
        let r = self.record(i)?;
        Ok((r.flags & flag::SHA256 != 0).then(|| {
            r.bytes[r.sha256_at..r.sha256_at + 32]
                .try_into()
                .expect("32")
        }))
    }

    /// The CRC-32C recorded for entry `i`, if any.
    pub fn recorded_crc32c(&self, i: usize) -> Result<Option<u32>> {
        let r = self.record(i)?;
        Ok((r.flags & flag::CRC32C != 0).then(|| le_u32(r.bytes, r.crc32c_at)))
    }

    /// The bytes of an inline entry `i` (stored in the table).
    pub fn inline_bytes(&self, i: usize) -> Result<&[u8]> {
        let r = self.record(i)?;
        if r.source != tag::INLINE {
            return Err(Error::State(format!("entry {i} is not stored inline")));
        }
        Ok(&r.bytes[r.inline_at..r.inline_at + r.size as usize])
    }

    /// True when entry `i`'s bytes were held by the process that sealed the tape (not the table).
    pub fn is_bound_source(&self, i: usize) -> Result<bool> {
        Ok(self.record(i)?.source == tag::BOUND)
    }

    /// Entry `i` with its offsets, decoded from the table.
    pub fn slot(&self, i: usize) -> Result<Slot> {
        let r = self.record(i)?;
        let b = r.bytes;
        let name = &b[r.name_at..r.name_at + r.name_len];
        let link = &b[r.name_at + r.name_len..r.name_at + r.name_len + r.link_len];
        let mtime = le_u64(b, 12) as i64;
        let source = match r.source {
            tag::EMPTY => Source::Empty,
            tag::FILE => {
                let f = r.file_at;
                let base = self
                    .sidecar
                    .bases
                    .get(le_u32(b, f) as usize)
                    .ok_or_else(|| {
                        Error::corrupt("catalog", format!("entry {i}: base path out of range"))
                    })?;
                Source::File(FileSource {
                    base: base.clone(),
                    name_skip: le_u32(b, f + 4),
                    identity: FileIdentity {
                        dev: le_u64(b, f + 8),
                        ino: le_u64(b, f + 16),
                        size: r.size,
                        mtime_sec: le_u64(b, f + 24) as i64,
                        mtime_nsec: le_u32(b, f + 32),
                    },
                })
            }
            tag::INLINE => Source::Inline {
                at: (r.table_at + r.inline_at) as u64,
            },
            tag::BOUND => Source::Unbound,
            _ => Source::Push,
        };
        let owner = if r.flags & flag::OWNER != 0 {
            let id = le_u32(b, r.owner_at) as usize;
            Some(self.sidecar.owners.get(id).cloned().ok_or_else(|| {
                Error::corrupt("catalog", format!("entry {i}: owner out of range"))
            })?)
        } else {
            None
        };
        let header_offset = self.header_offset(i)?;
        let header_len = le_u32(b, 8);
        // Every header has a fixed part: a forged length of 0 would make an entry of no bytes,
        // which no offset can be found in.
        let header_fits = match self.format {
            Format::Tar => {
                header_len >= header::BLOCK as u32 && header_len % header::BLOCK as u32 == 0
            }
            Format::Zip => u64::from(header_len) >= zip::LOCAL_FIXED,
        };
        if !header_fits {
            return Err(Error::corrupt(
                "catalog",
                format!(
                    "entry {i} ({}): a header of {header_len} bytes is impossible in a {:?} archive",
                    show_name(name),
                    self.format
                ),
            ));
        }
        let end_offset = self.end_offset(i)?;
        let end = header_offset
            .checked_add(u64::from(header_len))
            .and_then(|e| e.checked_add(r.size))
            .and_then(|e| e.checked_add(tail_len(self.format, r.size)));
        if end != Some(end_offset) {
            return Err(Error::corrupt(
                "catalog",
                format!("entry {i} ({}): its offsets do not add up", show_name(name)),
            ));
        }
        Ok(Slot {
            index: i,
            entry: Entry {
                name: name.into(),
                kind: r.kind,
                mode: le_u32(b, 4),
                mtime,
                size: r.size,
                link: link.into(),
                owner,
                source,
                md5: (r.flags & flag::MD5 != 0)
                    .then(|| b[r.md5_at..r.md5_at + 16].try_into().expect("16")),
                crc32: (r.flags & flag::CRC != 0).then(|| le_u32(b, r.crc_at)),
                sha256: (r.flags & flag::SHA256 != 0)
                    .then(|| b[r.sha256_at..r.sha256_at + 32].try_into().expect("32")),
                crc32c: (r.flags & flag::CRC32C != 0).then(|| le_u32(b, r.crc32c_at)),
                level: r.level,
            },
            header_offset,
            header_len,
            end_offset,
        })
    }

    /// Bytes of the table at `at` (inline content).
    pub fn table_bytes(&self, at: u64, len: usize) -> Result<&[u8]> {
        self.table.get(at as usize, len)
    }

    /// The index of the entry named `name` (a sorted name index is built on first use).
    pub fn locate(&self, name: &[u8]) -> Result<Option<usize>> {
        let sorted = match self.by_name.get() {
            Some(s) => s,
            None => {
                let mut ids: Vec<u32> = (0..self.count as u32).collect();
                let mut names = Vec::with_capacity(self.count);
                for i in 0..self.count {
                    names.push(self.name(i)?);
                }
                ids.sort_unstable_by(|&a, &b| names[a as usize].cmp(names[b as usize]));
                let _ = self.by_name.set(ids);
                self.by_name.get().expect("set above")
            }
        };
        let mut err = None;
        let found = sorted.binary_search_by(|&id| match self.name(id as usize) {
            Ok(n) => n.cmp(name),
            Err(e) => {
                err = Some(e);
                std::cmp::Ordering::Equal
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        Ok(found.ok().map(|p| sorted[p] as usize))
    }
}

/// A record's bytes and where its parts lie.
struct Record<'a> {
    bytes: &'a [u8],
    kind: EntryKind,
    source: u8,
    flags: u8,
    level: u8,
    size: u64,
    file_at: usize,
    owner_at: usize,
    md5_at: usize,
    crc_at: usize,
    sha256_at: usize,
    crc32c_at: usize,
    inline_at: usize,
    name_at: usize,
    name_len: usize,
    link_len: usize,
    table_at: usize,
}

/// Appends `entry`'s record; returns its source when the table cannot hold it.
pub(crate) fn encode_record(
    entry: &Entry,
    header_len: u32,
    base: Option<u32>,
    owner: Option<u32>,
    out: &mut Vec<u8>,
) -> Option<Source> {
    let (source_tag, keep) = match &entry.source {
        Source::Empty => (tag::EMPTY, None),
        Source::File(_) => (tag::FILE, None),
        Source::Bytes(b) if b.len() as u64 <= INLINE_MAX => (tag::INLINE, None),
        Source::Inline { .. } | Source::Unbound => (tag::BOUND, None),
        Source::Bytes(_) | Source::ReadAt(_) => (tag::BOUND, Some(entry.source.clone())),
        Source::Push => (tag::PUSH, None),
    };
    let mut flags = 0;
    if entry.md5.is_some() {
        flags |= flag::MD5;
    }
    if owner.is_some() {
        flags |= flag::OWNER;
    }
    if entry.crc32.is_some() {
        flags |= flag::CRC;
    }
    if entry.sha256.is_some() {
        flags |= flag::SHA256;
    }
    if entry.crc32c.is_some() {
        flags |= flag::CRC32C;
    }
    out.extend_from_slice(&[entry.kind.code(), source_tag, flags, entry.level]);
    out.extend_from_slice(&entry.mode.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&entry.mtime.to_le_bytes());
    out.extend_from_slice(&(entry.name.len() as u32).to_le_bytes());
    out.extend_from_slice(&(entry.link.len() as u32).to_le_bytes());
    out.extend_from_slice(&entry.size.to_le_bytes());
    if let Source::File(f) = &entry.source {
        out.extend_from_slice(&base.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&f.name_skip.to_le_bytes());
        out.extend_from_slice(&f.identity.dev.to_le_bytes());
        out.extend_from_slice(&f.identity.ino.to_le_bytes());
        out.extend_from_slice(&f.identity.mtime_sec.to_le_bytes());
        out.extend_from_slice(&f.identity.mtime_nsec.to_le_bytes());
    }
    if let Some(o) = owner {
        out.extend_from_slice(&o.to_le_bytes());
    }
    if let Some(m) = entry.md5 {
        out.extend_from_slice(&m);
    }
    if let Some(c) = entry.crc32 {
        out.extend_from_slice(&c.to_le_bytes());
    }
    if let Some(h) = entry.sha256 {
        out.extend_from_slice(&h);
    }
    if let Some(c) = entry.crc32c {
        out.extend_from_slice(&c.to_le_bytes());
    }
    if source_tag == tag::INLINE {
        if let Source::Bytes(b) = &entry.source {
            out.extend_from_slice(b);
        }
    }
    out.extend_from_slice(&entry.name);
    out.extend_from_slice(&entry.link);
    keep
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
