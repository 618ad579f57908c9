//! Seekable compressed tapes: the TAR cut into frames by a fixed rule, each frame compressed on
//! its own (a zstd frame, or a gzip member), and the compressed size of every frame recorded once,
//! so that the compressed archive's size and every frame's offset are known before streaming.
//!
//! The rule (docs/COMPRESSION.md): frames follow the layout; consecutive entries share a frame
//! while they fit in `frame_size` uncompressed bytes; an entry that does not fit starts a new frame
//! at its header and is cut every `frame_size` bytes from there; the trailer is one more entry.
//! zstd frames are followed by the seek table of the zstd seekable format in a skippable frame,
//! which plain `zstd -d` skips.

use zstd::zstd_safe::{self, CCtx, CParameter};

use super::Compress;
use crate::layout::Layout;
use crate::reader::Compression;
use crate::{Error, Result};

/// Uncompressed bytes per frame unless told otherwise.
pub const DEFAULT_FRAME_SIZE: u64 = 1 << 20;
/// The smallest frame size allowed (smaller frames lose too much compression).
pub const MIN_FRAME_SIZE: u64 = 64 << 10;
/// The largest frame size allowed: a stream holds a few frames in memory per thread.
pub const MAX_FRAME_SIZE: u64 = 64 << 20;

/// The skippable frame magic the zstd seekable format uses for its seek table.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;
/// The seek table footer's magic.
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;

/// A seekable compressed tape's frames: where each starts in the TAR and in the compressed
/// archive.
#[derive(Debug, Clone)]
pub struct Frames {
    compress: Compress,
    frame_size: u64,
    /// The library and version that made the recorded sizes ("libzstd 1.5.7").
    engine: String,
    /// The uncompressed start of each frame, then the TAR's size.
    starts: Vec<u64>,
    /// The compressed offset of each frame, then the end of the last one.
    offsets: Vec<u64>,
}

/// Frames are the same when they make the same bytes: the threads that compress them are left out.
impl PartialEq for Frames {
    fn eq(&self, other: &Frames) -> bool {
        self.compress.compression() == other.compress.compression()
            && self.compress.level() == other.compress.level()
            && self.frame_size == other.frame_size
            && self.engine == other.engine
            && self.starts == other.starts
            && self.offsets == other.offsets
    }
}

impl Eq for Frames {}

/// Checks a frame size (64 KiB to 64 MiB).
pub fn check_frame_size(frame_size: u64) -> Result<()> {
    if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&frame_size) {
        return Err(Error::InvalidArgument(format!(
            "frame size {frame_size}: use {MIN_FRAME_SIZE} (64 KiB) to {MAX_FRAME_SIZE} (64 MiB)"
        )));
    }
    Ok(())
}

/// The uncompressed start of every frame of `layout` (a TAR), then its total size.
pub fn cut(layout: &Layout, frame_size: u64) -> Result<Vec<u64>> {
    check_frame_size(frame_size)?;
    let total = layout.total_size();
    let mut starts = vec![0];
    let mut s = 0u64;
    let mut piece = |h: u64, e: u64, starts: &mut Vec<u64>| {
        if e - s <= frame_size {
            return;
        }
        if h > s {
            s = h;
            starts.push(s);
        }
        while e - s > frame_size {
            s += frame_size;
            starts.push(s);
        }
    };
    for i in 0..layout.len() {
        piece(layout.header_offset(i)?, layout.end_offset(i)?, &mut starts);
    }
    piece(layout.trailer_offset(), total, &mut starts);
    starts.push(total);
    Ok(starts)
}

/// What frame sizes depend on: the library and its version ("libzstd 1.5.7", "libdeflate 1.26").
pub fn engine(compression: Compression) -> String {
    match compression {
        Compression::Gzip => "libdeflate 1.26".into(),
        other => super::engine_version(other),
    }
}

/// `data` compressed as one frame: a zstd frame with its content size and checksum (libzstd's
/// single-threaded compressor at `level`), or a gzip member.
pub fn compress_frame(compression: Compression, level: i32, data: &[u8]) -> Result<Vec<u8>> {
    match compression {
        Compression::Gzip => Ok(super::gzip_members::member(data, level as u32)),
        Compression::Zstd => ZSTD.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(CCtx::try_create().ok_or_else(|| Error::Io {
                    path: "zstd compressor".into(),
                    source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
                })?);
            }
            let z = slot.as_mut().expect("set above");
            z.reset(zstd_safe::ResetDirective::SessionAndParameters)
                .map_err(super::zstd_error)?;
            for p in [
                CParameter::CompressionLevel(level),
                CParameter::ChecksumFlag(true),
                CParameter::ContentSizeFlag(true),
            ] {
                z.set_parameter(p).map_err(super::zstd_error)?;
            }
            let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
            z.compress2(&mut out, data).map_err(super::zstd_error)?;
            Ok(out)
        }),
        other => Err(Error::Unsupported(format!("{} frames", other.name()))),
    }
}

thread_local! {
    /// One zstd context per thread, reused frame after frame.
    static ZSTD: std::cell::RefCell<Option<CCtx<'static>>> = const { std::cell::RefCell::new(None) };
}

impl Frames {
    /// Frames from their uncompressed `starts` (as `cut` gives them, the TAR's size last) and
    /// compressed sizes; `engine` names the library that made the sizes.
    pub fn new(
        compress: Compress,
        frame_size: u64,
        engine: String,
        starts: Vec<u64>,
        sizes: &[u32],
    ) -> Result<Frames> {
        check_frame_size(frame_size)?;
        if !matches!(
            compress.compression(),
            Compression::Gzip | Compression::Zstd
        ) {
            return Err(Error::Unsupported(format!(
                "{} frames",
                compress.compression().name()
            )));
        }
        let bad = |why: String| Error::corrupt("frame table", why);
        if starts.len() != sizes.len() + 1 || starts.first() != Some(&0) || sizes.is_empty() {
            return Err(bad(format!(
                "{} frame starts for {} frames",
                starts.len(),
                sizes.len()
            )));
        }
        for (k, w) in starts.windows(2).enumerate() {
            if w[1] <= w[0] || w[1] - w[0] > frame_size {
                return Err(bad(format!(
                    "frame {k} spans bytes {}..{} of the TAR (frames of at most {frame_size})",
                    w[0], w[1]
                )));
            }
        }
        if sizes.len() > u32::MAX as usize {
            return Err(Error::Limit(format!("{} frames", sizes.len())));
        }
        let mut offsets = Vec::with_capacity(starts.len());
        let mut at = 0u64;
        offsets.push(0);
        for (k, &s) in sizes.iter().enumerate() {
            if s == 0 {
                return Err(bad(format!("frame {k} has a compressed size of 0")));
            }
            at += u64::from(s);
            offsets.push(at);
        }
        Ok(Frames {
            compress,
            frame_size,
            engine,
            starts,
            offsets,
        })
    }

    /// The compression and level.
    pub fn compress(&self) -> Compress {
        self.compress
    }

    /// Sets the threads a stream compresses on (speed only: the bytes are the same).
    pub(crate) fn set_threads(&mut self, threads: u32) -> Result<()> {
        self.compress = self.compress.with_threads(threads)?;
        Ok(())
    }

    /// The uncompressed size of a frame (the last one may be shorter).
    pub fn frame_size(&self) -> u64 {
        self.frame_size
    }

    /// The library that made the recorded sizes.
    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Never true: a TAR has at least its trailer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frame `k`'s bytes `[start, end)` in the uncompressed TAR.
    pub fn plain(&self, k: usize) -> (u64, u64) {
        (self.starts[k], self.starts[k + 1])
    }

    /// Frame `k`'s bytes `[start, end)` in the compressed archive.
    pub fn compressed(&self, k: usize) -> (u64, u64) {
        (self.offsets[k], self.offsets[k + 1])
    }

    /// The uncompressed TAR's size.
    pub fn tar_size(&self) -> u64 {
        self.starts[self.len()]
    }

    /// Where the frames end and the seek table (zstd) starts.
    pub fn frames_end(&self) -> u64 {
        self.offsets[self.len()]
    }

    /// The compressed archive's size: every frame, then the seek table.
    pub fn total(&self) -> u64 {
        self.frames_end() + self.seek_table_len()
    }

    /// The seek table's length: a skippable frame of 8 bytes per frame and a 9-byte footer
    /// (zstd), none for gzip.
    pub fn seek_table_len(&self) -> u64 {
        match self.compress.compression() {
            Compression::Zstd => 8 + 8 * self.len() as u64 + 9,
            _ => 0,
        }
    }

    /// Copies the seek table's bytes from `from` into `out` (as many as fit).
    pub fn seek_table_at(&self, from: u64, out: &mut [u8]) -> usize {
        let len = self.seek_table_len();
        if from >= len {
            return 0;
        }
        let n = ((len - from) as usize).min(out.len());
        for (i, b) in out[..n].iter_mut().enumerate() {
            *b = self.seek_table_byte(from + i as u64);
        }
        n
    }

    /// One byte of the seek table, computed from the frame sizes (the table is never stored).
    fn seek_table_byte(&self, at: u64) -> u8 {
        let n = self.len() as u64;
        let u32_byte = |v: u32, i: u64| v.to_le_bytes()[i as usize];
        match at {
            0..4 => u32_byte(SKIPPABLE_MAGIC, at),
            4..8 => u32_byte((8 * n + 9) as u32, at - 4),
            _ if at < 8 + 8 * n => {
                let k = ((at - 8) / 8) as usize;
                let within = (at - 8) % 8;
                let (c0, c1) = self.compressed(k);
                let (p0, p1) = self.plain(k);
                if within < 4 {
                    u32_byte((c1 - c0) as u32, within)
                } else {
                    u32_byte((p1 - p0) as u32, within - 4)
                }
            }
            _ => {
                let f = at - 8 - 8 * n;
                match f {
                    0..4 => u32_byte(n as u32, f),
                    4 => 0, // descriptor: no per-frame checksums
                    _ => u32_byte(SEEKABLE_MAGIC, f - 5),
                }
            }
        }
    }

    /// The frame holding compressed byte `offset`; `None` in the seek table or past the end.
    pub fn frame_at(&self, offset: u64) -> Option<usize> {
        if offset >= self.frames_end() {
            return None;
        }
        Some(self.offsets.partition_point(|&o| o <= offset) - 1)
    }

    /// The frame holding byte `offset` of the uncompressed TAR (the last frame past its end).
    pub fn frame_of_plain(&self, offset: u64) -> usize {
        (self.starts.partition_point(|&s| s <= offset) - 1).min(self.len() - 1)
    }

    /// The compressed size of frame `k`.
    pub fn size(&self, k: usize) -> u32 {
        (self.offsets[k + 1] - self.offsets[k]) as u32
    }

    /// Frame `k` compressed from its uncompressed bytes, checked against the recorded size;
    /// `name` names the entry it starts in, for the error.
    pub fn compress_checked(
        &self,
        k: usize,
        plain: &[u8],
        name: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>> {
        let c = self.compress;
        let out = compress_frame(c.compression(), c.level(), plain)?;
        let want = self.size(k);
        if out.len() != want as usize {
            let now = engine(c.compression());
            let why = if now == self.engine {
                format!(
                    "the content changed without its size and mtime changing (the sizes were \
                     recorded with {now} too)"
                )
            } else {
                format!(
                    "the sizes were recorded with {}, this is {now}",
                    self.engine
                )
            };
            let (a, b) = self.plain(k);
            return Err(Error::Changed {
                name: crate::error::show_name(&name()),
                what: format!(
                    "frame {k} (TAR bytes {a}..{b}) compresses to {} bytes at {} level {}, the \
                     catalog says {want}: {why}",
                    out.len(),
                    c.compression().name(),
                    c.level()
                ),
            });
        }
        Ok(out)
    }

    /// What the fingerprint adds for the frames: everything the compressed bytes depend on.
    pub(crate) fn fingerprint_input(&self) -> Vec<u8> {
        let mut v = b"frames\0".to_vec();
        v.extend_from_slice(self.compress.compression().name().as_bytes());
        v.extend_from_slice(&self.compress.level().to_le_bytes());
        v.extend_from_slice(&self.frame_size.to_le_bytes());
        v.extend_from_slice(self.engine.as_bytes());
        v.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for k in 0..self.len() {
            v.extend_from_slice(&self.size(k).to_le_bytes());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(starts: Vec<u64>, sizes: &[u32]) -> Frames {
        let c = Compress::new(Compression::Zstd, 3).unwrap();
        Frames::new(c, MIN_FRAME_SIZE, "libzstd".into(), starts, sizes).unwrap()
    }

    #[test]
    fn the_seek_table_is_the_seekable_formats() {
        let f = frames(vec![0, 1000, 1500], &[300, 200]);
        let mut t = vec![0; f.seek_table_len() as usize];
        assert_eq!(f.seek_table_at(0, &mut t), t.len());
        let mut want = Vec::new();
        for v in [SKIPPABLE_MAGIC, 8 * 2 + 9, 300, 1000, 200, 500, 2] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        want.push(0);
        want.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
        assert_eq!(t, want);
        let mut tail = [0u8; 7];
        assert_eq!(f.seek_table_at(t.len() as u64 - 5, &mut tail), 5);
        assert_eq!(&tail[..5], &want[want.len() - 5..]);
        assert_eq!(f.total(), 500 + want.len() as u64);
    }

    #[test]
    fn offsets_find_their_frames() {
        let f = frames(vec![0, 1000, 1500], &[300, 200]);
        assert_eq!(f.frame_at(0), Some(0));
        assert_eq!(f.frame_at(299), Some(0));
        assert_eq!(f.frame_at(300), Some(1));
        assert_eq!(f.frame_at(499), Some(1));
        assert_eq!(f.frame_at(500), None);
        assert_eq!(f.frame_of_plain(999), 0);
        assert_eq!(f.frame_of_plain(1000), 1);
        assert_eq!(f.frame_of_plain(1500), 1);
    }

    #[test]
    fn bad_tables_are_refused() {
        let c = Compress::new(Compression::Zstd, 3).unwrap();
        let new = |s: Vec<u64>, z: &[u32]| Frames::new(c, MIN_FRAME_SIZE, String::new(), s, z);
        assert!(new(vec![0, 10], &[]).is_err());
        assert!(new(vec![1, 10], &[5]).is_err());
        assert!(new(vec![0, 10, 10], &[5, 5]).is_err());
        assert!(new(vec![0, MIN_FRAME_SIZE + 1], &[5]).is_err());
        assert!(new(vec![0, 10], &[0]).is_err());
        assert!(check_frame_size(MIN_FRAME_SIZE - 1).is_err());
        assert!(check_frame_size(MAX_FRAME_SIZE + 1).is_err());
    }

    #[test]
    fn zstd_frames_carry_their_size_and_decode_alone() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
        let z = compress_frame(Compression::Zstd, 3, &data).unwrap();
        assert_eq!(z, compress_frame(Compression::Zstd, 3, &data).unwrap());
        assert_eq!(
            zstd_safe::get_frame_content_size(&z).unwrap(),
            Some(data.len() as u64)
        );
        assert_eq!(zstd::decode_all(&z[..]).unwrap(), data);
    }
}
