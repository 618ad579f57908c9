//! The restart points of a compressed archive saved beside it, so that opening it again needs no
//! decoding pass ([`super::index::Unpacked::from_saved`]).
//!
//! The file, all integers little-endian:
//!
//! ```text
//! "TTZINDEX" version:u32=1 compression:u8 reserved:[u8;3]
//! compressed_len:u64 compressed_crc32:u32 uncompressed_len:u64 points:u32
//! points x (input:u64 output:u64 kind:u8 num_bits:u8 bit_buf:u8 reserved:u8 window_pos:u32
//!           [window: 32768 bytes when kind = 1])
//! crc32 of everything before:u32
//! ```
//!
//! `kind` 0 is a fresh start (a gzip member, a zstd frame, the stream's start), 1 a deflate block
//! boundary with its window. The archive it belongs to is named by its compressed length and the
//! CRC-32 of all its compressed bytes, checked when it is loaded: an index of another archive, or
//! of this one changed, is refused rather than trusted (a wrong window would decode wrong bytes).

use super::{Compression, Resume};
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"TTZINDEX";
const VERSION: u32 = 1;
const WINDOW: usize = 32 << 10;
const HEAD: usize = 8 + 4 + 4 + 8 + 4 + 8 + 4;
const POINT: usize = 8 + 8 + 4 + 4;

/// One restart point: compressed offset, uncompressed offset, how to resume.
pub(crate) struct SavedPoint {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) resume: Resume,
}

/// What an index file holds.
pub(crate) struct Saved {
    pub(crate) compression: Compression,
    pub(crate) compressed_len: u64,
    pub(crate) compressed_crc: u32,
    pub(crate) len: u64,
    pub(crate) points: Vec<SavedPoint>,
}

fn code(c: Compression) -> u8 {
    match c {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Zstd => 2,
        Compression::Xz => 3,
        Compression::Bzip2 => 4,
    }
}

/// The bytes of an index file.
pub(crate) fn encode(s: &Saved) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + s.points.len() * (POINT + 64) + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&[code(s.compression), 0, 0, 0]);
    out.extend_from_slice(&s.compressed_len.to_le_bytes());
    out.extend_from_slice(&s.compressed_crc.to_le_bytes());
    out.extend_from_slice(&s.len.to_le_bytes());
    out.extend_from_slice(&(s.points.len() as u32).to_le_bytes());
    for p in &s.points {
        out.extend_from_slice(&p.input.to_le_bytes());
        out.extend_from_slice(&p.output.to_le_bytes());
        match &p.resume {
            Resume::Fresh => out.extend_from_slice(&[0; 8]),
            Resume::Deflate {
                num_bits,
                bit_buf,
                window,
                window_pos,
            } => {
                out.extend_from_slice(&[1, *num_bits, *bit_buf, 0]);
                out.extend_from_slice(&(*window_pos as u32).to_le_bytes());
                out.extend_from_slice(window);
            }
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::corrupt("compressed archive index", why.to_string())
}

struct Bytes<'a> {
    b: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(|| bad(format!("truncated at byte {}", self.at)))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u64(&mut self) -> Result<u64> {
        let mut v = [0u8; 8];
        v.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(v))
    }

    fn u32(&mut self) -> Result<u32> {
        let mut v = [0u8; 4];
        v.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(v))
    }
}

/// Parses and checks an index file (its own CRC, the order and bounds of its points).
pub(crate) fn decode(b: &[u8]) -> Result<Saved> {
    if b.len() < HEAD + 4 || &b[..8] != MAGIC {
        return Err(bad("not a tartape index (magic TTZINDEX)"));
    }
    let (body, tail) = b.split_at(b.len() - 4);
    let want = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if crc32fast::hash(body) != want {
        return Err(bad("CRC-32 mismatch: the index file is damaged"));
    }
    let mut r = Bytes { b: body, at: 8 };
    let version = r.u32()?;
    if version != VERSION {
        return Err(bad(format!(
            "version {version} (this build reads {VERSION})"
        )));
    }
    let compression = match r.take(4)?[0] {
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        3 => Compression::Xz,
        4 => Compression::Bzip2,
        c => return Err(bad(format!("compression code {c}"))),
    };
    let compressed_len = r.u64()?;
    let compressed_crc = r.u32()?;
    let len = r.u64()?;
    let count = r.u32()? as usize;
    if count == 0 || count > (body.len() - HEAD) / POINT {
        return Err(bad(format!("{count} points do not fit the file")));
    }
    let mut points: Vec<SavedPoint> = Vec::with_capacity(count);
    for i in 0..count {
        let input = r.u64()?;
        let output = r.u64()?;
        let k = r.take(4)?;
        let (kind, num_bits, bit_buf) = (k[0], k[1], k[2]);
        let window_pos = r.u32()? as usize;
        let prev = points.last().map(|p| (p.input, p.output));
        let ordered = match prev {
            None => input == 0 && output == 0,
            Some((pi, po)) => input > pi && output > po,
        };
        if !ordered || input > compressed_len || output > len {
            return Err(bad(format!("point {i} is out of order or out of bounds")));
        }
        let resume = match kind {
            0 => Resume::Fresh,
            1 if compression == Compression::Gzip
                && num_bits <= 7
                && u32::from(bit_buf) >> num_bits == 0
                && window_pos < WINDOW =>
            {
                Resume::Deflate {
                    num_bits,
                    bit_buf,
                    window: r.take(WINDOW)?.to_vec().into_boxed_slice(),
                    window_pos,
                }
            }
            _ => return Err(bad(format!("point {i} has an invalid kind or state"))),
        };
        points.push(SavedPoint {
            input,
            output,
            resume,
        });
    }
    if r.at != body.len() {
        return Err(bad(format!(
            "{} bytes after the last point",
            body.len() - r.at
        )));
    }
    Ok(Saved {
        compression,
        compressed_len,
        compressed_crc,
        len,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_round_trips_and_every_damage_is_refused() {
        let s = Saved {
            compression: Compression::Gzip,
            compressed_len: 1000,
            compressed_crc: 7,
            len: 9000,
            points: vec![
                SavedPoint {
                    input: 0,
                    output: 0,
                    resume: Resume::Fresh,
                },
                SavedPoint {
                    input: 500,
                    output: 5000,
                    resume: Resume::Deflate {
                        num_bits: 3,
                        bit_buf: 5,
                        window: vec![9; WINDOW].into_boxed_slice(),
                        window_pos: 100,
                    },
                },
            ],
        };
        let b = encode(&s);
        let d = decode(&b).unwrap();
        assert_eq!((d.compressed_len, d.compressed_crc, d.len), (1000, 7, 9000));
        assert_eq!(d.points.len(), 2);
        assert!(matches!(
            d.points[1].resume,
            Resume::Deflate {
                window_pos: 100,
                ..
            }
        ));
        for cut in [0, 10, b.len() / 2, b.len() - 1] {
            assert!(decode(&b[..cut]).is_err());
        }
        for at in [0, 9, 20, 45, b.len() - 3] {
            let mut x = b.clone();
            x[at] ^= 1;
            assert!(decode(&x).is_err(), "flip at {at}");
        }
    }
}
