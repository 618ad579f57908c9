//! Recording checksums of file contents (MD5, CRC-32, SHA-256, CRC-32C: each on request), on both
//! cores.

use std::ops::{BitOr, BitOrAssign};
use std::thread;

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::entry::Entry;
use crate::error::{show_name, Error, Result};
use crate::source::{pread_full, Source};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 a stream reports for `entry`: the one it `computed` from the content it read, else the
/// one recorded in the catalog. When both exist they must agree: a file edited without changing its
/// size or mtime is caught here.
pub(crate) fn md5_against_record(
    entry: &Entry,
    computed: Option<[u8; 16]>,
) -> Result<Option<[u8; 16]>> {
    match (computed, entry.md5) {
        (Some(c), Some(r)) if c != r => Err(Error::Changed {
            name: show_name(&entry.name),
            what: format!(
                "content differs from the recorded checksum (MD5 {} recorded, {} read)",
                hex(&r),
                hex(&c)
            ),
        }),
        (Some(c), _) => Ok(Some(c)),
        (None, r) => Ok(r),
    }
}

/// The CRC-32 a stream `computed` from `entry`'s content against the recorded one, if any.
pub(crate) fn crc32_against_record(entry: &Entry, computed: u32) -> Result<()> {
    match entry.crc32 {
        Some(r) if r != computed => Err(Error::Changed {
            name: show_name(&entry.name),
            what: format!("content differs from the recorded checksum (CRC-32 {r:08x} recorded, {computed:08x} read)"),
        }),
        _ => Ok(()),
    }
}

/// A set of checksum algorithms: which ones a tape records of each file's content when sealed
/// ([`crate::TapeBuilder::record_checksums`]). The bits are stable (the C ABI's `tt_checksum`).
///
/// ```
/// use tartape::Checksums;
/// let which = Checksums::SHA256 | Checksums::CRC32C;
/// assert!(which.contains(Checksums::SHA256) && !which.contains(Checksums::MD5));
/// assert_eq!(Checksums::from_bits(which.bits()), Some(which));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Checksums(u32);

impl Checksums {
    /// No checksum (the default: nothing is read when sealing).
    pub const NONE: Checksums = Checksums(0);
    /// MD5 (FILE_END events, deep verification, S3's Content-MD5 and ETags).
    pub const MD5: Checksums = Checksums(1);
    /// CRC-32 (ZIP's, and S3's CRC32).
    pub const CRC32: Checksums = Checksums(2);
    /// SHA-256.
    pub const SHA256: Checksums = Checksums(4);
    /// CRC-32C (Castagnoli, S3's CRC32C).
    pub const CRC32C: Checksums = Checksums(8);
    /// What [`crate::TapeBuilder::set_checksums`]`(true)` records: MD5 and CRC-32.
    pub const DEFAULT: Checksums = Checksums(1 | 2);
    /// Every algorithm.
    pub const ALL: Checksums = Checksums(1 | 2 | 4 | 8);

    /// The bits of the set.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The set of these bits; `None` when a bit names no algorithm.
    pub const fn from_bits(bits: u32) -> Option<Checksums> {
        if bits & !Self::ALL.0 == 0 {
            Some(Checksums(bits))
        } else {
            None
        }
    }

    /// True when every algorithm of `other` is in the set.
    pub const fn contains(self, other: Checksums) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Checksums {
    type Output = Checksums;
    fn bitor(self, other: Checksums) -> Checksums {
        Checksums(self.0 | other.0)
    }
}

impl BitOrAssign for Checksums {
    fn bitor_assign(&mut self, other: Checksums) {
        self.0 |= other.0;
    }
}

/// The checksums of one content: those asked for are `Some`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub md5: Option<[u8; 16]>,
    pub crc32: Option<u32>,
    pub sha256: Option<[u8; 32]>,
    pub crc32c: Option<u32>,
}

/// The hashers of a set of algorithms, fed in order.
struct Hashers {
    md5: Option<Md5>,
    crc32: Option<crc32fast::Hasher>,
    sha256: Option<Sha256>,
    crc32c: Option<u32>,
}

impl Hashers {
    fn new(which: Checksums) -> Hashers {
        Hashers {
            md5: which.contains(Checksums::MD5).then(Md5::new),
            crc32: which
                .contains(Checksums::CRC32)
                .then(crc32fast::Hasher::new),
            sha256: which.contains(Checksums::SHA256).then(Sha256::new),
            crc32c: which.contains(Checksums::CRC32C).then_some(0),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.md5 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.crc32 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        if let Some(c) = &mut self.crc32c {
            *c = crc32c::crc32c_append(*c, bytes);
        }
    }

    fn finish(self) -> Sums {
        Sums {
            md5: self.md5.map(|h| h.finalize().into()),
            crc32: self.crc32.map(|h| h.finalize()),
            sha256: self.sha256.map(|h| h.finalize().into()),
            crc32c: self.crc32c,
        }
    }
}

/// The checksums in `which` of a file entry's content, read through its checked source.
pub fn of_entry(entry: &Entry, which: Checksums, buf: &mut [u8]) -> Result<Sums> {
    let mut h = Hashers::new(which);
    if let Source::File(f) = &entry.source {
        if entry.size > 0 {
            let file = f.open_checked(&entry.name)?;
            let mut pos = 0u64;
            while pos < entry.size {
                let want = ((entry.size - pos) as usize).min(buf.len());
                let got = pread_full(&file, pos, &mut buf[..want])
                    .map_err(|e| Error::io(f.path(&entry.name), e))?;
                if got < want {
                    return Err(Error::Changed {
                        name: crate::error::show_name(&entry.name),
                        what: format!("shrank while being hashed: ended at {}", pos + got as u64),
                    });
                }
                h.update(&buf[..want]);
                pos += want as u64;
            }
            f.check(&entry.name, &file)?;
        }
    } else if let Source::Bytes(b) = &entry.source {
        h.update(b);
    }
    Ok(h.finish())
}

/// Computes and records the checksums in `which` of every file entry, splitting the work over two
/// threads.
pub fn record_all(entries: &mut [Entry], which: Checksums) -> Result<()> {
    let wanted = |e: &Entry| {
        matches!(e.source, Source::File(_) | Source::Bytes(_)) && e.kind == crate::EntryKind::File
    };
    let half = entries.len() / 2;
    let (a, b) = entries.split_at_mut(half);
    let work = |part: &mut [Entry]| -> Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        for e in part.iter_mut().filter(|e| wanted(e)) {
            let sums = of_entry(e, which, &mut buf)?;
            e.md5 = sums.md5;
            e.crc32 = sums.crc32;
            e.sha256 = sums.sha256;
            e.crc32c = sums.crc32c;
        }
        Ok(())
    };
    thread::scope(|s| {
        let other = s.spawn(|| work(b));
        let mine = work(a);
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(Error::State("a checksum thread panicked".into())));
        mine.and(theirs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_the_check_string() {
        let mut h = Hashers::new(Checksums::ALL);
        h.update(b"1234");
        h.update(b"56789");
        let s = h.finish();
        assert_eq!(s.crc32, Some(0xcbf4_3926));
        assert_eq!(s.crc32c, Some(0xe306_9283));
        assert_eq!(hex(&s.md5.unwrap()), "25f9e794323b453885f5181f1b624d0b");
        assert_eq!(
            hex(&s.sha256.unwrap()),
            "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"
        );
    }
}
