//! A tape with recorded frames (a seekable compressed tape): recording the compressed size of
//! every frame once, and reading compressed bytes at any offset by compressing again only the
//! frames the read touches, each checked against its recorded size.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::compress::frames::{compress_frame, cut, engine};
use crate::compress::{Compress, Frames, Job};
use crate::error::{Error, Result};
use crate::layout::{Format, Position};
use crate::tape::Tape;

/// Compressed frames kept by a tape for reads that come back to them (a range read cut into
/// chunks, parts that share a frame, a slow client's next request).
const CACHED_FRAMES: usize = 4;

/// The last frames a tape compressed for `read_at`, most recent last.
#[derive(Default)]
pub(crate) struct FrameCache(Mutex<Vec<(usize, Arc<Vec<u8>>)>>);

impl FrameCache {
    fn get(&self, k: usize) -> Option<Arc<Vec<u8>>> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = v.iter().position(|(f, _)| *f == k)?;
        let hit = v.remove(i);
        let bytes = hit.1.clone();
        v.push(hit);
        Some(bytes)
    }

    fn put(&self, k: usize, bytes: Arc<Vec<u8>>) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if v.iter().any(|(f, _)| *f == k) {
            return;
        }
        if v.len() == CACHED_FRAMES {
            v.remove(0);
        }
        v.push((k, bytes));
    }

    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The name of the entry holding TAR byte `offset`, for errors.
fn name_at(tape: &Tape, offset: u64) -> Vec<u8> {
    match tape.layout().find(offset) {
        Ok(Position::Entry(i)) => tape
            .slot(i)
            .map(|s| s.entry.name.to_vec())
            .unwrap_or_default(),
        _ => b"(the TAR trailer)".to_vec(),
    }
}

/// What a stream's compression threads do with its piece `seq`, frame `first + seq`: compress
/// it and check its size.
pub(crate) fn frame_job(tape: Arc<Tape>, frames: Arc<Frames>, first: usize) -> Arc<Job> {
    Arc::new(move |seq, data: Vec<u8>| {
        let k = first + seq as usize;
        frames.compress_checked(k, &data, || name_at(&tape, frames.plain(k).0))
    })
}

impl Tape {
    /// Records this tape's frames: cuts the TAR into frames of at most `frame_size` uncompressed
    /// bytes (packing small entries, cutting large ones; docs/COMPRESSION.md), compresses each one
    /// once on `compress`'s threads to learn its compressed size, and makes the tape a seekable
    /// compressed tape: from then on [`Tape::size`], [`Tape::read_at`], streams from any offset,
    /// volumes and the fingerprint are those of the compressed archive. Every entry must be
    /// readable at random (no push-fed entries); `progress` is called with the TAR bytes
    /// compressed so far. TAR only; not with stream-only compression.
    pub fn record_frames(
        &mut self,
        compress: Compress,
        frame_size: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<()> {
        if self.format() != Format::Tar {
            return Err(Error::InvalidArgument(
                "frames are recorded for TAR tapes (a ZIP compresses its entries: set_deflate)"
                    .into(),
            ));
        }
        if self.frames().is_some() {
            return Err(Error::State(
                "the tape's frames are already recorded".into(),
            ));
        }
        if let Some(c) = self.compression() {
            return Err(Error::State(format!(
                "the tape is {}-compressed as one stream: frames replace that, set no compression",
                c.compression().name()
            )));
        }
        let starts = cut(self.layout(), frame_size)?;
        let n = starts.len() - 1;
        let sizes: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
        let next = AtomicUsize::new(0);
        let done = AtomicU64::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
        let threads = (compress.threads() as usize).min(n).max(1);
        let work = || {
            let mut buf = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    return;
                }
                let (a, b) = (starts[k], starts[k + 1]);
                let got = self
                    .read_tar_exact(a, b, &mut buf)
                    .and_then(|()| compress_frame(compress.compression(), compress.level(), &buf));
                let err = match got {
                    Ok(z) if z.len() <= u32::MAX as usize => {
                        sizes[k].store(z.len() as u32, Ordering::Relaxed);
                        progress(done.fetch_add(b - a, Ordering::Relaxed) + (b - a));
                        continue;
                    }
                    Ok(z) => Error::Limit(format!("frame {k} compresses to {} bytes", z.len())),
                    Err(e) => e,
                };
                failed.store(true, Ordering::Relaxed);
                let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                // The error of the earliest frame, as one thread would have met it.
                if first.as_ref().map_or(true, |(f, _)| k < *f) {
                    *first = Some((k, err));
                }
            }
        };
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
        if let Some((_, e)) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        let sizes: Vec<u32> = sizes.into_iter().map(AtomicU32::into_inner).collect();
        let frames = Frames::new(
            compress,
            frame_size,
            engine(compress.compression()),
            starts,
            &sizes,
        )?;
        let plain = self.fingerprint()?;
        self.set_frames(frames, Some(&plain));
        Ok(())
    }

    /// Compressed bytes at `offset` of a tape with frames: the frames touched are compressed
    /// again from the TAR (checked against their recorded sizes), the seek table computed.
    pub(crate) fn read_framed_at(
        &self,
        frames: &Frames,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        let total = frames.total();
        if offset >= total {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(total - offset) as usize;
        let mut done = 0;
        while done < want {
            let pos = offset + done as u64;
            let n = match frames.frame_at(pos) {
                Some(k) => {
                    let z = self.frame_bytes(frames, k)?;
                    let from = (pos - frames.compressed(k).0) as usize;
                    let n = (z.len() - from).min(want - done);
                    buf[done..done + n].copy_from_slice(&z[from..from + n]);
                    n
                }
                None => frames.seek_table_at(pos - frames.frames_end(), &mut buf[done..want]),
            };
            if n == 0 {
                return Err(Error::corrupt("tape", format!("nothing at offset {pos}")));
            }
            done += n;
        }
        Ok(done)
    }

    /// The TAR's bytes `[a, b)` (a frame's) into `buf`, resized to hold them.
    fn read_tar_exact(&self, a: u64, b: u64, buf: &mut Vec<u8>) -> Result<()> {
        buf.resize((b - a) as usize, 0);
        if self.read_tar_at(a, buf)? != buf.len() {
            return Err(Error::corrupt("tape", format!("the TAR ends before {b}")));
        }
        Ok(())
    }

    /// Frame `k` compressed, from the cache or compressed again now.
    fn frame_bytes(&self, frames: &Frames, k: usize) -> Result<Arc<Vec<u8>>> {
        if let Some(z) = self.frame_cache().get(k) {
            return Ok(z);
        }
        let (a, b) = frames.plain(k);
        let mut plain = Vec::new();
        self.read_tar_exact(a, b, &mut plain)?;
        let z = Arc::new(frames.compress_checked(k, &plain, || name_at(self, a))?);
        self.frame_cache().put(k, z.clone());
        Ok(z)
    }
}

/// The fingerprint of a tape with frames: its TAR's fingerprint and everything the compressed
/// bytes depend on.
pub(crate) fn fingerprint(plain: &str, frames: &Frames) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(b"tartape fingerprint frames v1\0");
    h.update(plain.as_bytes());
    h.update(frames.fingerprint_input());
    crate::checksum::hex(&h.finalize())
}
