//! The uncompressed view of a compressed archive, read at any offset.
//!
//! Opening decodes the whole stream once: that checks it (CRCs, truncation, the decompression
//! limits), learns its uncompressed length, and records restart points — every gzip member and
//! zstd frame start at least [`FRESH_SPAN`] after the last point, and, inside a gzip member, a
//! deflate block boundary with its 32 KiB window every [`SPAN`] (as zlib's zran example does).
//! A read at offset N then starts from the last point at or before N, or continues a cursor left
//! there by an earlier read: a few cursors are kept, so reading forward (listing, reading a
//! member) decodes each byte once, and reading a member far into a gzip archive decodes at most
//! one span before it. xz and bzip2 streams restart from their start (their blocks are not
//! indexed yet).

use std::sync::Mutex;

use super::saved::{self, Saved, SavedPoint};
use super::{codec, Compression, Cursor, Resume};
use crate::reader::store::Store;
use crate::reader::Limits;
use crate::{Error, Result};

/// Uncompressed bytes between two deflate checkpoints (each keeps a 32 KiB window).
pub(crate) const SPAN: u64 = 4 << 20;
/// Least uncompressed bytes between two restart points that need no window.
pub(crate) const FRESH_SPAN: u64 = 256 << 10;
/// Cursors kept for later reads.
const CURSORS: usize = 4;
/// Below this many uncompressed bytes the ratio limit does not apply.
const RATIO_FREE: u64 = 1 << 20;

struct Point {
    input: u64,
    output: u64,
    resume: Resume,
}

/// A compressed store seen uncompressed.
pub(crate) struct Unpacked {
    raw: Store,
    compression: Compression,
    len: u64,
    points: Vec<Point>,
    cursors: Mutex<Vec<Cursor>>,
    limits: Limits,
    what: String,
}

impl Unpacked {
    /// Decodes all of `raw` once (see the module's comment).
    pub(crate) fn index(raw: Store, compression: Compression, limits: &Limits) -> Result<Unpacked> {
        let what = format!("{} ({})", raw.describe(), compression.name());
        let mut points = vec![Point {
            input: 0,
            output: 0,
            resume: Resume::Fresh,
        }];
        let mut cur = Cursor::new(
            codec(compression, &Resume::Fresh, limits, &what)?,
            0,
            raw.len(),
            0,
            &what,
        );
        let mut scratch = vec![0u8; 256 << 10];
        loop {
            let last = points.last().map_or(0, |p| p.output);
            if cur.out - last >= SPAN {
                cur.codec().want_resume();
            }
            let (n, _) = cur.pull(&raw, &mut scratch)?;
            check_limits(cur.out, cur.input_pos(), limits, &what)?;
            let since = cur.out - last;
            if since >= FRESH_SPAN && !cur.ended() {
                if let Some(resume) = cur.codec().resume(since >= SPAN) {
                    points.push(Point {
                        input: cur.input_pos(),
                        output: cur.out,
                        resume,
                    });
                }
            }
            if n == 0 && cur.ended() {
                break;
            }
        }
        Ok(Unpacked {
            raw,
            compression,
            len: cur.out,
            points,
            cursors: Mutex::new(Vec::new()),
            limits: limits.clone(),
            what,
        })
    }

    /// The uncompressed view of a zstd archive that ends with a seek table (the zstd seekable
    /// format, as tartape's seekable tapes write it), without the decoding pass: a restart point
    /// at every frame. Used only when the table is consistent with the archive: its frames' sizes
    /// add up to the bytes before it, and every frame's header declares the content size the
    /// table gives (so that no frame can shift the offsets after it); otherwise `None`, and the
    /// archive is indexed by decoding it. As with a saved index, the checksums of the frames no
    /// read decodes are not checked.
    pub(crate) fn from_seek_table(raw: Store, limits: &Limits) -> Result<Result<Unpacked, Store>> {
        let Some(frames) = seek_table(&raw)? else {
            return Ok(Err(raw));
        };
        let what = format!("{} (zstd)", raw.describe());
        let mut points = Vec::with_capacity(frames.len());
        let (mut input, mut output) = (0u64, 0u64);
        let mut head = [0u8; 18];
        for (c, d) in frames {
            let n = raw.read_at(input, &mut head)?;
            let declared = zstd::zstd_safe::get_frame_content_size(&head[..n])
                .ok()
                .flatten();
            if declared != Some(d) {
                return Ok(Err(raw));
            }
            points.push(Point {
                input,
                output,
                resume: Resume::Fresh,
            });
            input += c;
            output += d;
        }
        check_limits(output, raw.len(), limits, &what)?;
        Ok(Ok(Unpacked {
            raw,
            compression: Compression::Zstd,
            len: output,
            points,
            cursors: Mutex::new(Vec::new()),
            limits: limits.clone(),
            what,
        }))
    }

    /// The restart points as an index file's content (see [`super::saved`]).
    pub(crate) fn to_saved(&self) -> Result<Vec<u8>> {
        Ok(saved::encode(&Saved {
            compression: self.compression,
            compressed_len: self.raw.len(),
            compressed_crc: crc_of(&self.raw)?,
            len: self.len,
            points: self
                .points
                .iter()
                .map(|p| SavedPoint {
                    input: p.input,
                    output: p.output,
                    resume: p.resume.clone(),
                })
                .collect(),
        }))
    }

    /// The uncompressed view of `raw` from a saved index, without decoding: the index must be of
    /// this very archive (same compressed length and CRC-32 of all its bytes, checked now: one
    /// read of the compressed bytes, no decoding). The decoding pass that opening otherwise makes
    /// is skipped, and with it the check of the gzip CRCs and zstd checksums of the parts no read
    /// decodes from their start.
    pub(crate) fn from_saved(
        raw: Store,
        compression: Compression,
        index: &[u8],
        limits: &Limits,
    ) -> Result<Unpacked> {
        let s = saved::decode(index)?;
        let what = format!("{} ({})", raw.describe(), compression.name());
        let stale = |why: String| {
            Error::InvalidArgument(format!("{what}: the index is not this archive's: {why}"))
        };
        if s.compression != compression {
            return Err(stale(format!(
                "it is of a {} archive",
                s.compression.name()
            )));
        }
        if s.compressed_len != raw.len() {
            return Err(stale(format!(
                "it is of {} compressed bytes, the archive has {}",
                s.compressed_len,
                raw.len()
            )));
        }
        if s.compressed_crc != crc_of(&raw)? {
            return Err(stale("the CRC-32 of the compressed bytes differs".into()));
        }
        if s.len > limits.max_inflated_size {
            return Err(Error::Limit(format!(
                "{what}: decompresses to more than {} bytes (Limits::max_inflated_size)",
                limits.max_inflated_size
            )));
        }
        check_limits(s.len, raw.len(), limits, &what)?;
        let points = s
            .points
            .into_iter()
            .map(|p| Point {
                input: p.input,
                output: p.output,
                resume: p.resume,
            })
            .collect();
        Ok(Unpacked {
            raw,
            compression,
            len: s.len,
            points,
            cursors: Mutex::new(Vec::new()),
            limits: limits.clone(),
            what,
        })
    }

    /// The uncompressed length.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The compression.
    pub(crate) fn compression(&self) -> Compression {
        self.compression
    }

    /// The number of restart points recorded (the start included).
    pub(crate) fn points(&self) -> usize {
        self.points.len()
    }

    /// A cursor at or before `offset`, as close to it as the kept cursors and points allow.
    fn cursor(&self, offset: u64) -> Result<Cursor> {
        let i = self.points.partition_point(|p| p.output <= offset);
        let p = &self.points[i.saturating_sub(1)];
        {
            let mut kept = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
            let best = kept
                .iter()
                .enumerate()
                .filter(|(_, c)| c.out <= offset && c.out >= p.output)
                .max_by_key(|(_, c)| c.out)
                .map(|(i, _)| i);
            if let Some(i) = best {
                return Ok(kept.swap_remove(i));
            }
        }
        Ok(Cursor::new(
            codec(self.compression, &p.resume, &self.limits, &self.what)?,
            p.input,
            self.raw.len(),
            p.output,
            &self.what,
        ))
    }

    /// Reads the uncompressed bytes at `offset` into `buf` as far as they go.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.len - offset).unwrap_or(usize::MAX));
        let mut cur = self.cursor(offset)?;
        let changed = |at: u64| {
            Error::corrupt(
                "compressed data",
                format!(
                    "{}: ends at {at} uncompressed bytes, {} when opened (did the file change?)",
                    self.what, self.len
                ),
            )
        };
        if cur.out < offset {
            let mut scratch = vec![0u8; (offset - cur.out).min(256 << 10) as usize];
            while cur.out < offset {
                let n = (offset - cur.out).min(scratch.len() as u64) as usize;
                if cur.read(&self.raw, &mut scratch[..n])? == 0 {
                    return Err(changed(cur.out));
                }
            }
        }
        let mut done = 0;
        while done < want {
            let n = cur.read(&self.raw, &mut buf[done..want])?;
            if n == 0 {
                return Err(changed(cur.out));
            }
            done += n;
        }
        let mut kept = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= CURSORS {
            kept.remove(0);
        }
        kept.push(cur);
        Ok(want)
    }
}

/// The decompression limits: `out` uncompressed bytes from `input` compressed ones.
pub(crate) fn check_limits(out: u64, input: u64, limits: &Limits, what: &str) -> Result<()> {
    if out > limits.max_inflated_size {
        return Err(Error::Limit(format!(
            "{what}: decompresses to more than {} bytes (Limits::max_inflated_size)",
            limits.max_inflated_size
        )));
    }
    if out > RATIO_FREE && out / input.max(1) >= limits.max_inflation_ratio {
        return Err(Error::Limit(format!(
            "{what}: {input} compressed bytes decompress to {out}, a ratio over {} \
             (Limits::max_inflation_ratio)",
            limits.max_inflation_ratio
        )));
    }
    Ok(())
}

/// The frames (compressed and uncompressed sizes) of a seek table at the end of `raw`, when there
/// is one and its frames' compressed sizes add up to the bytes before it.
fn seek_table(raw: &Store) -> Result<Option<Vec<(u64, u64)>>> {
    const FOOTER: u64 = 9;
    if raw.len() < 8 + FOOTER {
        return Ok(None);
    }
    let mut footer = [0u8; 9];
    raw.read_exact_at(raw.len() - FOOTER, &mut footer, "zstd seek table")?;
    let le = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4"));
    if le(&footer[5..9]) != 0x8F92_EAB1 || footer[4] & 0x7c != 0 {
        return Ok(None);
    }
    let count = u64::from(le(&footer[0..4]));
    let entry = if footer[4] & 0x80 != 0 { 12 } else { 8 };
    let table = 8 + count * entry + FOOTER;
    if count == 0 || table > raw.len() || count > 64 << 20 {
        return Ok(None);
    }
    let start = raw.len() - table;
    let mut bytes = vec![0u8; table as usize];
    raw.read_exact_at(start, &mut bytes, "zstd seek table")?;
    if le(&bytes[0..4]) != 0x184D_2A5E || u64::from(le(&bytes[4..8])) != table - 8 {
        return Ok(None);
    }
    let frames: Vec<(u64, u64)> = bytes[8..8 + (count * entry) as usize]
        .chunks_exact(entry as usize)
        .map(|e| (u64::from(le(&e[0..4])), u64::from(le(&e[4..8]))))
        .collect();
    let sum: u64 = frames.iter().map(|f| f.0).sum();
    if sum != start || frames.iter().any(|f| f.0 == 0) {
        return Ok(None);
    }
    Ok(Some(frames))
}

/// The CRC-32 of all the bytes of `store`.
fn crc_of(store: &Store) -> Result<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < store.len() {
        let n = (store.len() - at).min(buf.len() as u64) as usize;
        store.read_exact_at(at, &mut buf[..n], "compressed data")?;
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(h.finalize())
}
