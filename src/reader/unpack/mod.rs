//! Decompression for the reader: which compression wraps an archive (by its magic bytes), the
//! decoders (gzip, zstd, xz, bzip2, and the ZIP methods bzip2, LZMA, zstd, xz) behind one push
//! interface, and a [`Cursor`] that pulls compressed bytes from a [`Store`] range through one.
//!
//! A decoder may report a place where decoding can start again without what came before
//! ([`Resume`]): between gzip members, zstd frames, and (with their 32 KiB window) between deflate
//! blocks. The indexed store ([`index`]) records such places every few MiB so that reading far
//! into a compressed TAR does not decode it from its start.

mod codecs;
mod gzip;
pub(crate) mod index;
mod saved;
pub(crate) mod stream;

use super::store::Store;
use super::Limits;
use crate::{Error, Result};

/// The compression around a whole archive (a TAR usually: `.tar.gz`, `.tar.zst`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (RFC 1952), one member or several concatenated.
    Gzip,
    /// Zstandard frames (RFC 8878), skippable frames included.
    Zstd,
    /// xz (.xz streams, concatenated streams and padding included).
    Xz,
    /// bzip2, one stream or several concatenated.
    Bzip2,
}

impl Compression {
    /// The usual name of the compression ("gzip", "zstd", "xz", "bzip2", "none").
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// The compression whose magic bytes start `head` (at least its first 10 bytes when there are).
pub fn detect(head: &[u8]) -> Compression {
    let zstd_skippable =
        head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18];
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || zstd_skippable {
        Compression::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Xz
    } else if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        Compression::Bzip2
    } else {
        Compression::None
    }
}

/// What one call of [`Codec::decode`] did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// Output bytes written.
    pub produced: usize,
    /// The compressed data is complete: nothing more will come out.
    pub end: bool,
    /// The decoder stopped at a place it can resume from (see [`Codec::want_resume`]).
    pub boundary: bool,
}

/// Where a decoder can start again.
#[derive(Clone)]
pub(crate) enum Resume {
    /// At the start of a gzip member, a zstd frame, or a whole stream: a new decoder starts here.
    Fresh,
    /// Between two deflate blocks of a gzip member: the bits of the current input byte that belong
    /// to the next block and the 32 KiB window the next blocks may refer to.
    Deflate {
        /// Bits of the last consumed byte still to be decoded (0..=7).
        num_bits: u8,
        /// Those bits, in the low bits.
        bit_buf: u8,
        /// The decompressor's wrapping 32 KiB output buffer and the position in it.
        window: Box<[u8]>,
        /// The position in `window`.
        window_pos: usize,
    },
}

/// A push decoder: input in, output out, with the state it needs in between.
pub(crate) trait Codec: Send + Sync {
    /// Decodes some of `input` into `out` (not empty). `input_ends` says no input follows
    /// `input`. Decoders with no progress to make return a step with nothing consumed or produced;
    /// the caller decides whether that is a truncation.
    fn decode(&mut self, input: &[u8], out: &mut [u8], input_ends: bool) -> Result<Step>;

    /// Asks the decoder to stop at the next place it can resume from (deflate only).
    fn want_resume(&mut self) {}

    /// When decoding can resume from exactly here (with the input after the bytes consumed so
    /// far): how. Cheap to call; builds the window only when `window` is true.
    fn resume(&mut self, _window: bool) -> Option<Resume> {
        None
    }
}

/// A decoder for `compression` starting at `resume` (`what` names the data in errors).
pub(crate) fn codec(
    compression: Compression,
    resume: &Resume,
    limits: &Limits,
    what: &str,
) -> Result<Box<dyn Codec>> {
    Ok(match compression {
        Compression::None => {
            return Err(Error::InvalidArgument(
                "no decoder for uncompressed data".into(),
            ))
        }
        Compression::Gzip => Box::new(gzip::Gzip::new(resume, what)),
        Compression::Zstd => Box::new(codecs::Zstd::new(limits, what)?),
        Compression::Xz => Box::new(codecs::Xz::new(limits, what)?),
        Compression::Bzip2 => Box::new(codecs::Bzip2::new(what)),
    })
}

/// A decoder for ZIP compression `method` (12 bzip2, 14 LZMA, 93 zstd, 95 xz), or `None`.
pub(crate) fn zip_codec(
    method: u16,
    limits: &Limits,
    what: &str,
) -> Option<Result<Box<dyn Codec>>> {
    Some(match method {
        12 => Ok(Box::new(codecs::Bzip2::new(what))),
        14 => Ok(Box::new(codecs::ZipLzma::new(what))),
        93 => codecs::Zstd::new(limits, what).map(|c| Box::new(c) as Box<dyn Codec>),
        95 => codecs::Xz::new(limits, what).map(|c| Box::new(c) as Box<dyn Codec>),
        _ => return None,
    })
}

const CHUNK: usize = 64 << 10;

/// Decodes the compressed bytes of a store range `[next, end)` on demand.
pub(crate) struct Cursor {
    codec: Box<dyn Codec>,
    /// The next compressed byte to read from the store.
    next: u64,
    end: u64,
    buf: Vec<u8>,
    buf_pos: usize,
    buf_len: usize,
    /// Uncompressed bytes produced so far (counted from where the cursor started).
    pub(crate) out: u64,
    ended: bool,
    what: String,
}

impl Cursor {
    /// A cursor decoding `[start, end)` of a store with `codec`; `out` is the uncompressed
    /// position of `start`.
    pub(crate) fn new(codec: Box<dyn Codec>, start: u64, end: u64, out: u64, what: &str) -> Self {
        Cursor {
            codec,
            next: start,
            end,
            buf: Vec::new(),
            buf_pos: 0,
            buf_len: 0,
            out,
            ended: false,
            what: what.to_string(),
        }
    }

    /// The offset in the store of the next compressed byte the decoder will use.
    pub(crate) fn input_pos(&self) -> u64 {
        self.next - (self.buf_len - self.buf_pos) as u64
    }

    /// True once the compressed data is complete.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// The decoder, for [`Codec::want_resume`] and [`Codec::resume`].
    pub(crate) fn codec(&mut self) -> &mut dyn Codec {
        self.codec.as_mut()
    }

    /// Decodes into `out` (not empty): returns the bytes produced, 0 only at the end of the data.
    /// Input that ends before the data does is `Corrupt`.
    pub(crate) fn read(&mut self, store: &Store, out: &mut [u8]) -> Result<usize> {
        loop {
            let (n, _) = self.pull(store, out)?;
            if n > 0 || self.ended {
                return Ok(n);
            }
        }
    }

    /// Decodes into `out` (not empty) until some bytes come out, the data ends, or the decoder
    /// stops at a place it can resume from; returns the bytes produced and whether it stopped so.
    pub(crate) fn pull(&mut self, store: &Store, out: &mut [u8]) -> Result<(usize, bool)> {
        loop {
            if self.ended {
                return Ok((0, false));
            }
            if self.buf_pos == self.buf_len && self.next < self.end {
                let n = (self.end - self.next).min(CHUNK as u64) as usize;
                if self.buf.is_empty() {
                    self.buf = vec![0; CHUNK];
                }
                store.read_exact_at(self.next, &mut self.buf[..n], "compressed data")?;
                self.next += n as u64;
                self.buf_pos = 0;
                self.buf_len = n;
            }
            let input_ends = self.next >= self.end;
            let step = self
                .codec
                .decode(&self.buf[self.buf_pos..self.buf_len], out, input_ends)?;
            self.buf_pos += step.consumed;
            self.out += step.produced as u64;
            if step.end {
                self.ended = true;
            }
            if step.produced > 0 || step.end || step.boundary {
                return Ok((step.produced, step.boundary));
            }
            if step.consumed == 0 && (self.buf_pos < self.buf_len || input_ends) {
                if input_ends && self.buf_pos == self.buf_len {
                    return Err(Error::corrupt(
                        "compressed data",
                        format!(
                            "{}: truncated: the compressed data ends at offset {} after {} \
                             uncompressed bytes, before its end",
                            self.what, self.end, self.out
                        ),
                    ));
                }
                return Err(Error::corrupt(
                    "compressed data",
                    format!(
                        "{}: the decoder makes no progress at offset {}",
                        self.what,
                        self.input_pos()
                    ),
                ));
            }
        }
    }
}

/// The `Corrupt` error of decoder `what` (`format` is "gzip", "zstd"...).
pub(crate) fn bad(format: &str, what: &str, why: impl std::fmt::Display) -> Error {
    Error::corrupt("compressed data", format!("{what}: {format} data: {why}"))
}
