//! Compressing a whole TAR stream: gzip (libdeflate; members of 4 MiB
//! compressed by worker threads) or zstd (libzstd, always in its multithreaded
//! mode, whose output is the same for any number of workers >= 1).
//!
//! The same uncompressed bytes, compression and level always give the same compressed bytes
//! (for the library versions named in docs/COMPRESSION.md), whatever the number of threads: the
//! zstd compressor is fed in fixed [`CHUNK`]s cut from the uncompressed stream, whatever the sizes
//! of the pieces the stream produces, and is flushed only at the end; gzip members are fixed
//! slices of the stream; the gzip header holds no name, a zero mtime and the "unknown" operating
//! system (255); zstd frames carry a content checksum and no content size.

pub mod frames;
mod gzip_members;
mod pool;

use std::sync::Arc;

pub use frames::Frames;
pub use gzip_members::MEMBER as GZIP_MEMBER;
pub(crate) use pool::Job;
use pool::Pool;

use zstd::zstd_safe::{self, CCtx, CParameter, InBuffer, OutBuffer};

pub use crate::reader::Compression;
use crate::{Error, Result};

/// The uncompressed bytes handed to the zstd compressor at a time.
pub const CHUNK: usize = 128 << 10;

/// What gzip bytes depend on: the compressor (libdeflate, its version) and the member size; written
/// into fingerprints.
pub const GZIP_ENGINE: &str = "libdeflate 1.26, members of 4 MiB";

/// The library and version that make `compression`'s bytes: [`GZIP_ENGINE`] for gzip,
/// "libzstd 1.5.7" (the linked version) for zstd; empty for the others.
pub fn engine_version(compression: Compression) -> String {
    match compression {
        Compression::Gzip => GZIP_ENGINE.into(),
        Compression::Zstd => {
            let v = zstd_safe::version_number();
            format!("libzstd {}.{}.{}", v / 10000, v / 100 % 100, v % 100)
        }
        _ => String::new(),
    }
}

/// How a tape's stream is compressed: the compression, its level and (zstd) worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compress {
    compression: Compression,
    level: i32,
    threads: u32,
}

impl Compress {
    /// Checks `compression` (gzip or zstd) and `level` (0 for the default: gzip 6, zstd 3; gzip
    /// takes 1 to 9, zstd 1 to 22). One zstd worker thread; see [`Compress::with_threads`].
    pub fn new(compression: Compression, level: i32) -> Result<Compress> {
        let (default, max) = match compression {
            Compression::Gzip => (6, 9),
            Compression::Zstd => (3, 22),
            Compression::None => {
                return Err(Error::InvalidArgument(
                    "compression none: leave the stream uncompressed instead".into(),
                ))
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "writing {} (gzip and zstd are written; {} is only read)",
                    other.name(),
                    other.name()
                )))
            }
        };
        let level = if level == 0 { default } else { level };
        if !(1..=max).contains(&level) {
            return Err(Error::InvalidArgument(format!(
                "{} level {level}: use 1 to {max} (0 for the default, {default})",
                compression.name()
            )));
        }
        Ok(Compress {
            compression,
            level,
            threads: 1,
        })
    }

    /// Sets the number of compression threads (1 to 256): zstd's workers, or the threads that
    /// compress gzip members; the bytes do not depend on it.
    pub fn with_threads(mut self, threads: u32) -> Result<Compress> {
        if !(1..=256).contains(&threads) {
            return Err(Error::InvalidArgument(format!(
                "{threads} compression threads: use 1 to 256 (the bytes are the same for any)"
            )));
        }
        self.threads = threads;
        Ok(self)
    }

    /// The compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The level (the default resolved).
    pub fn level(&self) -> i32 {
        self.level
    }

    /// The compression threads.
    pub fn threads(&self) -> u32 {
        self.threads
    }
}

enum Engine {
    Gzip(Box<Pool>),
    Zstd(Box<CCtx<'static>>),
    /// A seekable tape's frames, compressed each on its own by a pool, then the seek table.
    Frames(Box<Framing>),
}

/// Where a stream of a seekable tape is in its frames.
struct Framing {
    pool: Pool,
    frames: Arc<Frames>,
    /// The frame the next uncompressed bytes belong to.
    next: usize,
    /// Where the seek table starts being emitted (past 0 for a stream started inside it).
    table_from: u64,
}

/// A running compressor: uncompressed bytes in ([`Compressor::write`]), compressed bytes out
/// ([`Compressor::output`]) as they come.
pub(crate) struct Compressor {
    engine: Engine,
    /// Uncompressed bytes waiting for a whole chunk.
    staged: Vec<u8>,
    /// Compressed bytes not handed out yet start at `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// The compressed offset of the next byte handed out.
    emitted: u64,
    /// Compressed bytes still to drop before handing any out (a stream started inside a frame).
    skip: u64,
    finished: bool,
}

pub(crate) fn zstd_error(code: usize) -> Error {
    Error::Io {
        path: "zstd compressor".into(),
        source: std::io::Error::other(zstd_safe::get_error_name(code)),
    }
}

impl Compressor {
    pub(crate) fn new(c: &Compress) -> Result<Compressor> {
        let engine = match c.compression {
            Compression::Gzip => {
                Engine::Gzip(Box::new(gzip_members::pool(c.level as u32, c.threads)?))
            }
            Compression::Zstd => {
                let mut z = CCtx::try_create().ok_or_else(|| Error::Io {
                    path: "zstd compressor".into(),
                    source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
                })?;
                z.set_parameter(CParameter::CompressionLevel(c.level))
                    .map_err(zstd_error)?;
                z.set_parameter(CParameter::ChecksumFlag(true))
                    .map_err(zstd_error)?;
                z.set_parameter(CParameter::NbWorkers(c.threads))
                    .map_err(zstd_error)?;
                Engine::Zstd(Box::new(z))
            }
            _ => {
                return Err(Error::Unsupported(format!(
                    "writing {}",
                    c.compression.name()
                )))
            }
        };
        Ok(Compressor {
            engine,
            staged: Vec::with_capacity(CHUNK),
            out: Vec::new(),
            out_pos: 0,
            emitted: 0,
            skip: 0,
            finished: false,
        })
    }

    /// The compressor of a seekable tape's stream from compressed byte `offset`: it takes the
    /// TAR's bytes from the start of the frame holding `offset` (see [`Compressor::plain_start`]),
    /// compresses each frame with `job` (which checks the recorded size) and drops what comes
    /// before `offset`; the seek table follows the last frame. `job` is made for the first frame
    /// the stream compresses (the pool's piece 0).
    pub(crate) fn framed(
        frames: Arc<Frames>,
        offset: u64,
        job: impl FnOnce(usize) -> Arc<Job>,
    ) -> Result<Compressor> {
        let (next, skip, table_from) = match frames.frame_at(offset) {
            Some(k) => (k, offset - frames.compressed(k).0, 0),
            None => (
                frames.len(),
                0,
                offset.min(frames.total()) - frames.frames_end(),
            ),
        };
        let pool = Pool::new("frame compressor", frames.compress().threads(), job(next))?;
        Ok(Compressor {
            engine: Engine::Frames(Box::new(Framing {
                pool,
                frames,
                next,
                table_from,
            })),
            staged: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            emitted: offset,
            skip,
            finished: false,
        })
    }

    /// Where in the TAR a framed compressor wants its bytes from: its first frame's start (the
    /// TAR's end when it starts in the seek table); 0 for the others.
    pub(crate) fn plain_start(&self) -> u64 {
        match &self.engine {
            Engine::Frames(f) if f.next < f.frames.len() => f.frames.plain(f.next).0,
            Engine::Frames(f) => f.frames.tar_size(),
            _ => 0,
        }
    }

    /// Uncompressed bytes compressed at a time: a gzip member, a zstd chunk, the current frame.
    fn unit(&self) -> Result<usize> {
        Ok(match &self.engine {
            Engine::Gzip(_) => GZIP_MEMBER,
            Engine::Zstd(_) => CHUNK,
            Engine::Frames(f) if f.next < f.frames.len() => {
                let (a, b) = f.frames.plain(f.next);
                (b - a) as usize
            }
            Engine::Frames(_) => {
                return Err(Error::corrupt(
                    "tape",
                    "the TAR stream goes on past its last frame",
                ))
            }
        })
    }

    /// Takes uncompressed bytes; compressed output may follow in [`Compressor::output`].
    pub(crate) fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let unit = self.unit()?;
            let n = bytes.len().min(unit - self.staged.len());
            self.staged.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.staged.len() == unit {
                self.compress_staged(false)?;
            }
        }
        Ok(())
    }

    /// Compresses what is staged; `end` ends the stream.
    fn compress_staged(&mut self, end: bool) -> Result<()> {
        self.compact();
        match &mut self.engine {
            Engine::Gzip(g) => {
                // A last member only if there is something for it (or nothing was written).
                if !self.staged.is_empty() || (end && g.is_empty()) {
                    let data = std::mem::replace(&mut self.staged, Vec::with_capacity(GZIP_MEMBER));
                    g.submit(data, &mut self.out)?;
                }
                if end {
                    g.finish(&mut self.out)?;
                }
            }
            Engine::Frames(f) => {
                if !self.staged.is_empty() {
                    let data = std::mem::take(&mut self.staged);
                    f.pool.submit(data, &mut self.out)?;
                    f.next += 1;
                }
                if end {
                    if f.next != f.frames.len() {
                        return Err(Error::corrupt(
                            "tape",
                            format!(
                                "the TAR stream ended in frame {} of {}",
                                f.next,
                                f.frames.len()
                            ),
                        ));
                    }
                    f.pool.finish(&mut self.out)?;
                    let mut table = vec![0; f.frames.seek_table_len() as usize];
                    let n = f.frames.seek_table_at(f.table_from, &mut table);
                    self.out.extend_from_slice(&table[..n]);
                }
            }
            Engine::Zstd(z) => {
                let mut input = InBuffer::around(&self.staged);
                let op = if end {
                    zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_end
                } else {
                    zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_continue
                };
                loop {
                    self.out.reserve(CCtx::out_size());
                    let pos = self.out.len();
                    let mut output = OutBuffer::around_pos(&mut self.out, pos);
                    let left = z
                        .compress_stream2(&mut output, &mut input, op)
                        .map_err(zstd_error)?;
                    let done_input = input.pos() == self.staged.len();
                    if done_input && (!end || left == 0) {
                        break;
                    }
                }
            }
        }
        self.staged.clear();
        Ok(())
    }

    /// Drops the compressed bytes already handed out.
    fn compact(&mut self) {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > 1 << 20 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }

    /// Ends the stream: the rest of the compressed bytes follow in [`Compressor::output`].
    pub(crate) fn finish(&mut self) -> Result<()> {
        if !self.finished {
            self.compress_staged(true)?;
            self.finished = true;
        }
        Ok(())
    }

    /// Compressed bytes not handed out yet.
    pub(crate) fn pending(&mut self) -> usize {
        // A stream started inside a frame drops the frame's bytes before its start.
        if self.skip > 0 {
            let d = (self.out.len() - self.out_pos).min(self.skip as usize);
            self.out_pos += d;
            self.skip -= d as u64;
        }
        self.out.len() - self.out_pos
    }

    /// Hands out up to `max` compressed bytes, with the compressed offset of the first.
    pub(crate) fn output(&mut self, max: usize) -> (u64, &[u8]) {
        let n = self.pending().min(max);
        let at = self.emitted;
        let start = self.out_pos;
        self.out_pos += n;
        self.emitted += n as u64;
        (at, &self.out[start..start + n])
    }

    /// Compressed bytes handed out so far.
    pub(crate) fn emitted(&self) -> u64 {
        self.emitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(c: &Compress, data: &[u8], piece: usize) -> Vec<u8> {
        let mut z = Compressor::new(c).unwrap();
        let mut out = Vec::new();
        for p in data.chunks(piece) {
            z.write(p).unwrap();
            out.extend_from_slice(z.output(usize::MAX).1);
        }
        z.finish().unwrap();
        while z.pending() > 0 {
            out.extend_from_slice(z.output(1000).1);
        }
        assert_eq!(z.emitted(), out.len() as u64);
        out
    }

    #[test]
    fn levels_are_checked() {
        assert!(Compress::new(Compression::Gzip, 10).is_err());
        assert!(Compress::new(Compression::Zstd, 23).is_err());
        assert!(Compress::new(Compression::Zstd, -1).is_err());
        assert!(matches!(
            Compress::new(Compression::Xz, 1),
            Err(Error::Unsupported(_))
        ));
        assert_eq!(Compress::new(Compression::Gzip, 0).unwrap().level(), 6);
        assert_eq!(Compress::new(Compression::Zstd, 0).unwrap().level(), 3);
        assert!(Compress::new(Compression::Zstd, 3)
            .unwrap()
            .with_threads(0)
            .is_err());
    }

    #[test]
    fn gzip_members_are_fixed_slices_whatever_the_threads() {
        let data: Vec<u8> = (0..(2 * GZIP_MEMBER + 1000) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let c = Compress::new(Compression::Gzip, 6).unwrap();
        let one = compress(&c, &data, 300_000);
        let want: Vec<u8> = data
            .chunks(GZIP_MEMBER)
            .flat_map(|m| gzip_members::member(m, 6))
            .collect();
        assert_eq!(one, want);
        assert_eq!(one, compress(&c.with_threads(3).unwrap(), &data, 1 << 20));
        let empty = compress(&c, &[], 1);
        assert_eq!(empty, gzip_members::member(&[], 6));
    }

    #[test]
    fn bytes_do_not_depend_on_how_the_input_is_cut() {
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 27) as u8)
            .collect();
        for c in [
            Compress::new(Compression::Gzip, 6).unwrap(),
            Compress::new(Compression::Zstd, 3).unwrap(),
        ] {
            let a = compress(&c, &data, 1 << 20);
            assert_eq!(a, compress(&c, &data, 777), "{c:?}");
            assert_eq!(a, compress(&c, &data, 512 << 10), "{c:?}");
        }
    }
}
