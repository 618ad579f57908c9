//! The parts of a multipart upload: their size (chosen or checked against S3's limits), their
//! byte ranges in the archive, their digests, and the ETag and composite checksum the object will
//! have once they are assembled.

use base64::Engine;
use md5::Digest;

/// S3's limits on multipart uploads.
pub const MIN_PART: u64 = 5 << 20;
/// The largest part S3 accepts.
pub const MAX_PART: u64 = 5 << 30;
/// The most parts one upload may have.
pub const MAX_PARTS: u64 = 10_000;

/// The additional checksum asked for each part (MD5 is always sent as Content-MD5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// Content-MD5 only.
    Md5,
    /// CRC-32 (ISO-HDLC, as zlib's).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// SHA-256.
    Sha256,
}

impl Checksum {
    /// The word users type and state files keep.
    pub fn name(self) -> &'static str {
        match self {
            Checksum::Md5 => "md5",
            Checksum::Crc32 => "crc32",
            Checksum::Crc32c => "crc32c",
            Checksum::Sha256 => "sha256",
        }
    }

    /// Parses a name written by [`Checksum::name`].
    pub fn from_name(name: &str) -> Option<Checksum> {
        [
            Checksum::Md5,
            Checksum::Crc32,
            Checksum::Crc32c,
            Checksum::Sha256,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }

    /// The raw additional checksum of `bytes` (none for MD5).
    pub fn of(self, bytes: &[u8]) -> Option<Vec<u8>> {
        match self {
            Checksum::Md5 => None,
            Checksum::Crc32 => Some(crc32fast::hash(bytes).to_be_bytes().to_vec()),
            Checksum::Crc32c => Some(crc32c::crc32c(bytes).to_be_bytes().to_vec()),
            Checksum::Sha256 => Some(sha2::Sha256::digest(bytes).to_vec()),
        }
    }

    /// The composite checksum of an object made of parts with these raw checksums: the checksum
    /// of their concatenation, base64, then `-N` (how S3 reports a multipart object's checksum).
    pub fn composite(self, parts: &[Vec<u8>]) -> Option<String> {
        let joined: Vec<u8> = parts.concat();
        self.of(&joined)
            .map(|c| format!("{}-{}", base64(&c), parts.len()))
    }
}

/// Standard base64, as S3's checksum headers want it.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The part size for an archive of `total` bytes: `given` checked against S3's limits, or the
/// smallest whole number of MiB, at least 8 MiB, that keeps the archive within 10,000 parts.
pub fn part_size(total: u64, given: Option<u64>) -> Result<u64, String> {
    let size = match given {
        Some(s) => s,
        None => (total.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20).max(8 << 20),
    };
    if size > MAX_PART {
        return Err(format!(
            "--part-size {size}: S3 takes parts of at most 5 GiB ({MAX_PART} bytes)"
        ));
    }
    // One part may be of any size; every part but the last must be at least 5 MiB.
    if size < MIN_PART && total > size {
        return Err(format!(
            "--part-size {size}: S3 takes parts of at least 5 MiB ({MIN_PART} bytes) except the last"
        ));
    }
    let n = parts(total, size);
    if n > MAX_PARTS {
        return Err(format!(
            "{total} bytes in parts of {size} make {n} parts, more than S3's 10,000: use \
             --part-size {} or more",
            total.div_ceil(MAX_PARTS)
        ));
    }
    Ok(size)
}

/// How many parts of `size` bytes hold `total` bytes (at least one).
pub fn parts(total: u64, size: u64) -> u64 {
    total.div_ceil(size).max(1)
}

/// Part `number` (1-based, as S3 counts) as an archive byte range.
pub fn range(total: u64, size: u64, number: u64) -> (u64, u64) {
    let start = (number - 1) * size;
    (start, (start + size).min(total))
}

/// What one part's bytes hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartDigest {
    /// MD5 (the part's ETag when the store does not encrypt with KMS).
    pub md5: [u8; 16],
    /// The additional checksum, raw.
    pub checksum: Option<Vec<u8>>,
}

impl PartDigest {
    /// Digests `bytes`.
    pub fn of(bytes: &[u8], checksum: Checksum) -> PartDigest {
        PartDigest {
            md5: md5::Md5::digest(bytes).into(),
            checksum: checksum.of(bytes),
        }
    }

    /// The ETag S3 gives a part with these bytes: the hex MD5 in quotes.
    pub fn etag(&self) -> String {
        format!("\"{}\"", hex(&self.md5))
    }
}

/// The ETag of a multipart object made of parts with these digests: the MD5 of their MD5s, then
/// `-N`, in quotes.
pub fn multipart_etag(parts: &[PartDigest]) -> String {
    let mut h = md5::Md5::new();
    for p in parts {
        h.update(p.md5);
    }
    format!("\"{}-{}\"", hex(&h.finalize()), parts.len())
}

/// Parses `A-B` or `N` (1-based part numbers, inclusive).
pub fn parse_part_range(text: &str, count: u64) -> Result<(u64, u64), String> {
    let bad = || format!("--parts {text}: use N or A-B with part numbers from 1 to {count}");
    let (a, b) = match text.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u64>(), b.trim().parse::<u64>()),
        None => (text.trim().parse::<u64>(), text.trim().parse::<u64>()),
    };
    let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
    if a == 0 || a > b || b > count {
        return Err(bad());
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_keep_within_s3_limits() {
        assert_eq!(part_size(100, None).unwrap(), 8 << 20);
        // 1 TiB needs parts of at least 110 MiB (rounded up to whole MiB).
        let tib = 1u64 << 40;
        let s = part_size(tib, None).unwrap();
        assert!(parts(tib, s) <= MAX_PARTS && s % (1 << 20) == 0, "{s}");
        assert!(
            part_size(100, Some(1024)).is_ok(),
            "a single part may be small"
        );
        assert!(part_size(20 << 20, Some(1 << 20))
            .unwrap_err()
            .contains("at least 5 MiB"));
        assert!(part_size(20 << 20, Some(6 << 30))
            .unwrap_err()
            .contains("at most 5 GiB"));
        assert!(part_size(60_000 << 20, Some(5 << 20))
            .unwrap_err()
            .contains("more than S3's 10,000"));
    }

    #[test]
    fn ranges_cover_the_archive_once() {
        let (total, size) = (25u64 << 20, 8u64 << 20);
        let n = parts(total, size);
        assert_eq!(n, 4);
        let mut at = 0;
        for i in 1..=n {
            let (a, b) = range(total, size, i);
            assert_eq!(a, at);
            at = b;
        }
        assert_eq!(at, total);
    }

    #[test]
    fn multipart_etag_is_the_md5_of_the_md5s() {
        // Two parts "a" and "b": MD5(MD5("a") || MD5("b")) = ...-2 (as S3 computes it).
        let p = [
            PartDigest::of(b"a", Checksum::Md5),
            PartDigest::of(b"b", Checksum::Md5),
        ];
        let mut h = md5::Md5::new();
        h.update(md5::Md5::digest(b"a"));
        h.update(md5::Md5::digest(b"b"));
        assert_eq!(multipart_etag(&p), format!("\"{}-2\"", hex(&h.finalize())));
        assert_eq!(p[0].etag(), "\"0cc175b9c0f1b6a831c399e269772661\"");
    }

    #[test]
    fn checksums_are_big_endian_and_composites_hash_the_parts() {
        assert_eq!(base64(&Checksum::Crc32.of(b"abc").unwrap()), "NSRBwg==");
        assert_eq!(base64(&Checksum::Crc32c.of(b"abc").unwrap()), "Nks/tw==");
        let parts = vec![
            Checksum::Crc32.of(b"a").unwrap(),
            Checksum::Crc32.of(b"b").unwrap(),
        ];
        let joined = parts.concat();
        assert_eq!(
            Checksum::Crc32.composite(&parts).unwrap(),
            format!("{}-2", base64(&crc32fast::hash(&joined).to_be_bytes()))
        );
        assert_eq!(Checksum::Md5.composite(&parts), None);
    }

    #[test]
    fn part_ranges_parse_and_are_checked() {
        assert_eq!(parse_part_range("3-7", 10).unwrap(), (3, 7));
        assert_eq!(parse_part_range("4", 10).unwrap(), (4, 4));
        for bad in ["0-3", "5-2", "1-11", "x", "-3"] {
            assert!(parse_part_range(bad, 10).is_err(), "{bad}");
        }
    }
}
