//! Reading a member's content: straight from the archive for TAR and stored ZIP members (no copy
//! of the whole member), expanded for sparse TAR members, inflated as a stream for deflated ZIP
//! members.
//!
//! Seeking a deflated member is allowed but costs: deflate has no index, so seeking backwards
//! re-inflates from the start, and seeking forwards inflates and discards up to the target (both
//! happen lazily, at the next read). A ZIP member's CRC-32 is checked when it has been read to the
//! end from its start; a mismatch is [`Error::Corrupt`], surfaced by [`std::io::Read`] as an
//! `io::Error` of kind `InvalidData` whose inner error is the [`Error`] (downcast it).

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};

use super::store::Store;
use super::unpack::{zip_codec, Cursor};
use super::{entry_at, ArchiveEntry, Format, Inner, Limits};
use crate::error::show_name;
use crate::{Error, Result};

const WHAT: &str = "archive member";
const CHUNK: usize = 64 << 10;

/// A sparse region with where its data is stored: (offset in the file, length, stored offset).
type Region = (u64, u64, u64);

enum Source {
    /// `size` bytes at `offset` (also empty members).
    Plain { offset: u64 },
    /// Data regions stored one after the other from `offset`; gaps are zeros.
    Sparse { offset: u64, regions: Vec<Region> },
    /// Raw deflate data.
    Deflate(Box<Inflate>),
    /// Data of another method (bzip2, LZMA, zstd, xz), decoded by a [`Cursor`].
    Codec(Box<Coded>),
}

/// A member compressed with a method other than deflate: its decoder, remade to seek back.
struct Coded {
    method: u16,
    start: u64,
    len: u64,
    cursor: Cursor,
    what: String,
    limits: Limits,
}

impl Coded {
    fn new(method: u16, start: u64, len: u64, limits: &Limits, what: String) -> Result<Coded> {
        let codec = match zip_codec(method, limits, &what) {
            Some(c) => c?,
            None => {
                return Err(Error::Unsupported(format!(
                    "compression method {method} of {what} (stored, deflate, bzip2, LZMA, zstd \
                     and xz are read)"
                )))
            }
        };
        let cursor = Cursor::new(codec, start, start + len, 0, &what);
        Ok(Coded {
            method,
            start,
            len,
            cursor,
            what,
            limits: limits.clone(),
        })
    }
}

struct Inflate {
    z: Decompress,
    start: u64,
    next: u64,
    end: u64,
    buf: Vec<u8>,
    buf_pos: usize,
    buf_len: usize,
    /// Uncompressed bytes produced so far.
    out: u64,
    ended: bool,
}

impl Inflate {
    fn new(start: u64, len: u64) -> Inflate {
        Inflate {
            z: Decompress::new(false),
            start,
            next: start,
            end: start + len,
            buf: Vec::new(),
            buf_pos: 0,
            buf_len: 0,
            out: 0,
            ended: false,
        }
    }
}

struct Crc {
    hasher: crc32fast::Hasher,
    upto: u64,
    expected: u32,
    verified: bool,
}

impl Crc {
    fn new(expected: u32) -> Crc {
        Crc {
            hasher: crc32fast::Hasher::new(),
            upto: 0,
            expected,
            verified: false,
        }
    }

    /// Hashes `bytes` found at `pos` when they continue what was hashed.
    fn track(&mut self, pos: u64, bytes: &[u8]) {
        if pos == self.upto && !bytes.is_empty() {
            self.hasher.update(bytes);
            self.upto += bytes.len() as u64;
        }
    }
}

/// The decoding state of one member, independent of how the archive is shared.
pub(crate) struct Body {
    size: u64,
    pos: u64,
    source: Source,
    crc: Option<Crc>,
}

impl Body {
    /// Prepares to read `entry`; `check_crc` for ZIP members.
    pub(crate) fn new(entry: &ArchiveEntry, limits: &Limits, check_crc: bool) -> Result<Body> {
        let name = show_name(&entry.name);
        if entry.encrypted {
            return Err(Error::Unsupported(format!("{name:?} is encrypted")));
        }
        let plain = |size: u64| Body {
            size,
            pos: 0,
            source: Source::Plain {
                offset: entry.data_offset,
            },
            crc: check_crc.then(|| Crc::new(entry.crc32)),
        };
        if !entry.has_content() {
            return Ok(Body {
                crc: None,
                ..plain(0)
            });
        }
        match entry.method {
            0 if entry.sparse => {
                let mut regions = Vec::with_capacity(entry.sparse_map.len());
                let (mut end, mut stored) = (0u64, 0u64);
                for r in &entry.sparse_map {
                    let r_end = r.offset.checked_add(r.length);
                    if r.offset < end || r_end.map_or(true, |e| e > entry.size) {
                        return Err(Error::corrupt(
                            "tar archive",
                            format!("sparse map of {name:?}: region at {} out of order or past the size", r.offset),
                        ));
                    }
                    regions.push((r.offset, r.length, stored));
                    stored += r.length;
                    end = r_end.unwrap_or(u64::MAX);
                }
                if stored > entry.compressed_size {
                    return Err(Error::corrupt(
                        "tar archive",
                        format!(
                            "sparse map of {name:?} holds {stored} bytes, the member stores {}",
                            entry.compressed_size
                        ),
                    ));
                }
                Ok(Body {
                    size: entry.size,
                    pos: 0,
                    source: Source::Sparse {
                        offset: entry.data_offset,
                        regions,
                    },
                    crc: None,
                })
            }
            0 => {
                if entry.size > entry.compressed_size {
                    return Err(Error::corrupt(
                        "zip archive",
                        format!(
                            "stored member {name:?} declares {} bytes but stores {}",
                            entry.size, entry.compressed_size
                        ),
                    ));
                }
                Ok(plain(entry.size))
            }
            8 | 12 | 14 | 93 | 95 => {
                if entry.size > limits.max_inflated_size {
                    return Err(Error::Limit(format!(
                        "{name:?} inflates to {} bytes, more than {} (Limits::max_inflated_size)",
                        entry.size, limits.max_inflated_size
                    )));
                }
                if entry.compressed_size > 0
                    && entry.size / entry.compressed_size >= limits.max_inflation_ratio
                {
                    return Err(Error::Limit(format!(
                        "{name:?} inflates {} bytes to {}, a ratio over {} (Limits::max_inflation_ratio)",
                        entry.compressed_size, entry.size, limits.max_inflation_ratio
                    )));
                }
                let source = if entry.method == 8 {
                    Source::Deflate(Box::new(Inflate::new(
                        entry.data_offset,
                        entry.compressed_size,
                    )))
                } else {
                    Source::Codec(Box::new(Coded::new(
                        entry.method,
                        entry.data_offset,
                        entry.compressed_size,
                        limits,
                        format!("{name:?}"),
                    )?))
                };
                Ok(Body {
                    source,
                    ..plain(entry.size)
                })
            }
            m => Err(Error::Unsupported(format!(
                "compression method {m} of {name:?} (stored, deflate, bzip2, LZMA, zstd and xz \
                 are read)"
            ))),
        }
    }

    /// Reads at `pos` without a cursor (stored and sparse sources only).
    pub(crate) fn read_at(&self, store: &Store, pos: u64, buf: &mut [u8]) -> Result<usize> {
        if pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.size - pos).unwrap_or(usize::MAX));
        let buf = &mut buf[..want];
        match &self.source {
            Source::Plain { offset } => {
                store.read_exact_at(offset + pos, buf, WHAT)?;
                Ok(want)
            }
            Source::Sparse { offset, regions } => {
                let i = regions.partition_point(|r| r.0 + r.1 <= pos);
                match regions.get(i) {
                    Some(&(start, len, stored)) if start <= pos => {
                        let n = want.min(usize::try_from(start + len - pos).unwrap_or(usize::MAX));
                        store.read_exact_at(
                            offset + stored + (pos - start),
                            &mut buf[..n],
                            WHAT,
                        )?;
                        Ok(n)
                    }
                    next => {
                        let gap_end = next.map_or(self.size, |r| r.0);
                        let n = want.min(usize::try_from(gap_end - pos).unwrap_or(usize::MAX));
                        buf[..n].fill(0);
                        Ok(n)
                    }
                }
            }
            Source::Deflate(_) | Source::Codec(_) => {
                Err(Error::NotRandomAccess("a compressed member".into()))
            }
        }
    }

    /// Reads at the cursor and advances it; checks the CRC at the end.
    pub(crate) fn read(
        &mut self,
        store: &Store,
        entry: &ArchiveEntry,
        buf: &mut [u8],
    ) -> Result<usize> {
        let n = if let Source::Codec(c) = &mut self.source {
            if self.pos < c.cursor.out {
                let fresh = Coded::new(c.method, c.start, c.len, &c.limits, c.what.clone())?;
                **c = fresh;
                if let Some(crc) = &mut self.crc {
                    *crc = Crc::new(crc.expected);
                }
            }
            let mut scratch = Vec::new();
            while c.cursor.out < self.pos.min(self.size) {
                if scratch.is_empty() {
                    scratch = vec![0; CHUNK];
                }
                let n = (self.pos - c.cursor.out).min(CHUNK as u64) as usize;
                decode_some(c, store, &mut scratch[..n], self.size, &mut self.crc)?;
            }
            if self.pos >= self.size || buf.is_empty() {
                0
            } else {
                let want = buf
                    .len()
                    .min(usize::try_from(self.size - self.pos).unwrap_or(usize::MAX));
                decode_some(c, store, &mut buf[..want], self.size, &mut self.crc)?
            }
        } else if let Source::Deflate(z) = &mut self.source {
            let z = z.as_mut();
            if self.pos < z.out {
                *z = Inflate::new(z.start, z.end - z.start);
                if let Some(crc) = &mut self.crc {
                    *crc = Crc::new(crc.expected);
                }
            }
            let mut scratch = Vec::new();
            while z.out < self.pos.min(self.size) {
                if scratch.is_empty() {
                    scratch = vec![0; CHUNK];
                }
                let n = (self.pos - z.out).min(CHUNK as u64) as usize;
                inflate_some(z, store, entry, &mut scratch[..n], self.size, &mut self.crc)?;
            }
            if self.pos >= self.size || buf.is_empty() {
                0
            } else {
                let want = buf
                    .len()
                    .min(usize::try_from(self.size - self.pos).unwrap_or(usize::MAX));
                inflate_some(z, store, entry, &mut buf[..want], self.size, &mut self.crc)?
            }
        } else {
            let n = self.read_at(store, self.pos, buf)?;
            if let Some(crc) = &mut self.crc {
                crc.track(self.pos, &buf[..n]);
            }
            n
        };
        self.pos += n as u64;
        if let Some(crc) = &mut self.crc {
            if crc.upto == self.size && !crc.verified {
                let got = crc.hasher.clone().finalize();
                if got != crc.expected {
                    return Err(Error::corrupt(
                        "zip archive",
                        format!(
                            "CRC-32 of {:?} is {got:08x}, the directory says {:08x}",
                            show_name(&entry.name),
                            crc.expected
                        ),
                    ));
                }
                crc.verified = true;
            }
        }
        Ok(n)
    }
}

/// Decodes into `out` (not empty); returns the bytes produced (never 0: an early end is an error).
fn decode_some(
    c: &mut Coded,
    store: &Store,
    out: &mut [u8],
    size: u64,
    crc: &mut Option<Crc>,
) -> Result<usize> {
    let at = c.cursor.out;
    let n = c.cursor.read(store, out)?;
    if n == 0 {
        return Err(Error::corrupt(
            "zip archive",
            format!(
                "{}: the compressed data ends after {at} of {size} bytes",
                c.what
            ),
        ));
    }
    if let Some(crc) = crc {
        crc.track(at, &out[..n]);
    }
    Ok(n)
}

/// Inflates into `out` (not empty); returns the bytes produced (never 0: no progress is an error).
fn inflate_some(
    z: &mut Inflate,
    store: &Store,
    entry: &ArchiveEntry,
    out: &mut [u8],
    size: u64,
    crc: &mut Option<Crc>,
) -> Result<usize> {
    let bad = |why: String| {
        Error::corrupt(
            "zip archive",
            format!("deflate data of {:?}: {why}", show_name(&entry.name)),
        )
    };
    loop {
        if z.ended {
            return Err(bad(format!("stream ends after {} of {size} bytes", z.out)));
        }
        if z.buf_pos == z.buf_len && z.next < z.end {
            let n = (z.end - z.next).min(CHUNK as u64) as usize;
            if z.buf.is_empty() {
                z.buf = vec![0; CHUNK];
            }
            store.read_exact_at(z.next, &mut z.buf[..n], WHAT)?;
            z.next += n as u64;
            z.buf_pos = 0;
            z.buf_len = n;
        }
        let (in0, out0) = (z.z.total_in(), z.z.total_out());
        let status =
            z.z.decompress(&z.buf[z.buf_pos..z.buf_len], out, FlushDecompress::None)
                .map_err(|e| bad(format!("{e} after {} bytes", z.out)))?;
        let consumed = (z.z.total_in() - in0) as usize;
        let produced = (z.z.total_out() - out0) as usize;
        z.buf_pos += consumed;
        if let Some(crc) = crc {
            crc.track(z.out, &out[..produced]);
        }
        z.out += produced as u64;
        if status == Status::StreamEnd {
            z.ended = true;
        }
        if produced > 0 {
            return Ok(produced);
        }
        if consumed == 0 && (z.buf_pos < z.buf_len || z.next >= z.end) {
            return Err(bad(format!("truncated after {} of {size} bytes", z.out)));
        }
    }
}

/// Random access for [`super::Archive::read_member_at`].
pub(crate) fn read_at(inner: &Inner, index: usize, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let entry = entry_at(inner, index)?;
    if entry.method != 0 && entry.has_content() && !entry.encrypted {
        return Err(Error::NotRandomAccess(format!(
            "{:?} is compressed (method {}): read it with open_member",
            show_name(&entry.name),
            entry.method
        )));
    }
    Body::new(entry, &inner.limits, false)?.read_at(&inner.store, offset, buf)
}

/// A reader of one member's content, `Read + Seek`. It keeps its archive alive; `Send + Sync`, one
/// cursor: use one `Member` per thread.
pub struct Member {
    inner: Arc<Inner>,
    index: usize,
    body: Body,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("index", &self.index)
            .field("len", &self.body.size)
            .field("pos", &self.body.pos)
            .finish()
    }
}

impl Member {
    pub(crate) fn new(inner: Arc<Inner>, index: usize) -> Result<Member> {
        let entry = entry_at(&inner, index)?;
        let body = Body::new(entry, &inner.limits, inner.format == Format::Zip)?;
        Ok(Member { inner, index, body })
    }

    /// The entry's index in the archive.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The entry this member reads.
    pub fn entry(&self) -> &ArchiveEntry {
        &self.inner.entries[self.index]
    }

    /// The number of bytes the member yields (0 for directories, links and devices).
    pub fn len(&self) -> u64 {
        self.body.size
    }

    /// True when the member yields no bytes.
    pub fn is_empty(&self) -> bool {
        self.body.size == 0
    }

    /// Reads at the cursor, with the engine's error (what [`Read::read`] wraps in `io::Error`).
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        let entry = &self.inner.entries[self.index];
        self.body.read(&self.inner.store, entry, buf)
    }

    /// Moves the cursor to `pos` (past the end is allowed: reads there give 0 bytes).
    pub fn seek_to(&mut self, pos: u64) {
        self.body.pos = pos;
    }

    /// The cursor.
    pub fn position(&self) -> u64 {
        self.body.pos
    }
}

/// The `io::Error` that carries `err`.
pub(crate) fn to_io(err: Error) -> io::Error {
    let kind = match &err {
        Error::Io { source, .. } => source.kind(),
        Error::Corrupt { .. } => io::ErrorKind::InvalidData,
        Error::Unsupported(_) => io::ErrorKind::Unsupported,
        Error::NotFound(_) => io::ErrorKind::NotFound,
        Error::InvalidArgument(_) => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}

impl Read for Member {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_data(buf).map_err(to_io)
    }
}

impl Seek for Member {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match pos {
            SeekFrom::Start(p) => {
                self.seek_to(p);
                return Ok(p);
            }
            SeekFrom::End(d) => (self.body.size, d),
            SeekFrom::Current(d) => (self.body.pos, d),
        };
        let new = base.checked_add_signed(delta).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the member",
            )
        })?;
        self.seek_to(new);
        Ok(new)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.body.pos)
    }
}
