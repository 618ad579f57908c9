//! The fingerprint: a stable identifier of an archive's bytes, computed from the layout alone.

use md5::{Digest, Md5};

use crate::error::Result;
use crate::source::Source;
use crate::tape::Tape;

/// MD5 over everything that decides the archive's bytes: each entry's header (every field), size,
/// its source's mtime to the nanosecond, recorded checksums, and the bytes of memory entries held
/// in the tape. Paths on disk, inode numbers and the catalog's own location are left out.
pub fn compute(tape: &Tape) -> Result<String> {
    let mut h = begin(
        tape.format(),
        tape.compression(),
        tape.len() as u64,
        // The TAR's size: a tape with frames adds them to this fingerprint (crate::seekable).
        tape.layout().total_size(),
    );
    add_entries(&mut h, tape)?;
    Ok(finish(h))
}

/// The fingerprint's start: what comes before the entries (a tape's format, compression, entry
/// count and total size), for a fingerprint computed in parts ([`add_entries`], [`finish`]).
pub(crate) fn begin(
    format: crate::Format,
    compression: Option<crate::Compress>,
    count: u64,
    total_size: u64,
) -> Md5 {
    let mut h = Md5::new();
    h.update(b"tartape fingerprint v1\0");
    match format {
        crate::Format::Tar => h.update(b"tar\0"),
        crate::Format::Zip => h.update(b"zip\0"),
    }
    if let Some(c) = compression {
        // The compressed bytes depend on the compression, its level and the library's version
        // (not on the number of zstd threads).
        h.update(b"compressed\0");
        h.update(c.compression().name());
        h.update(c.level().to_le_bytes());
        h.update(crate::compress::engine_version(c.compression()));
    }
    h.update(count.to_le_bytes());
    h.update(total_size.to_le_bytes());
    h
}

/// Where the bytes of a fingerprint go: the MD5 itself, or a buffer that another thread hashes
/// (the same bytes in the same order give the same digest).
pub(crate) trait Sink {
    /// Appends `bytes` to what is fingerprinted.
    fn put(&mut self, bytes: impl AsRef<[u8]>);
}

impl Sink for Md5 {
    fn put(&mut self, bytes: impl AsRef<[u8]>) {
        self.update(bytes);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: impl AsRef<[u8]>) {
        self.extend_from_slice(bytes.as_ref());
    }
}

/// The fingerprint's hex digits once every entry is in.
pub(crate) fn finish(h: Md5) -> String {
    crate::checksum::hex(&h.finalize())
}

/// Adds every entry of `tape` to the fingerprint `h`, in order (a tape may hold a run of another
/// tape's entries, at their offsets).
pub(crate) fn add_entries(h: &mut impl Sink, tape: &Tape) -> Result<()> {
    let mut scratch = Vec::new();
    for i in 0..tape.len() {
        let slot = tape.slot(i)?;
        let e = &slot.entry;
        tape.encode_header(&slot, &mut scratch)?;
        h.put(&scratch);
        if e.level > 0 {
            h.put(b"deflate");
            h.put([e.level]);
        }
        h.put(e.size.to_le_bytes());
        match &e.source {
            Source::File(f) => {
                h.put(b"file");
                h.put(f.identity.mtime_sec.to_le_bytes());
                h.put(f.identity.mtime_nsec.to_le_bytes());
            }
            Source::Inline { at } => {
                h.put(b"inline");
                h.put(tape.layout().table_bytes(*at, e.size as usize)?);
            }
            Source::Bytes(b) => {
                h.put(b"inline");
                h.put(b);
            }
            Source::Empty => h.put(b"empty"),
            Source::ReadAt(_) | Source::Push | Source::Unbound => h.put(b"external"),
        }
        if let Some(m) = e.md5 {
            h.put(b"md5");
            h.put(m);
        }
        // Added with catalog version 2: absent, they leave earlier fingerprints as they were.
        if let Some(s) = e.sha256 {
            h.put(b"sha256");
            h.put(s);
        }
        if let Some(c) = e.crc32c {
            h.put(b"crc32c");
            h.put(c.to_le_bytes());
        }
    }
    Ok(())
}
