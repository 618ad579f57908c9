//! Decompressing a stream read once, front to back (a `.tar.gz` on a pipe): the same decoders as
//! the indexed reader, fed from a [`Read`] instead of a store range, with the same limits.

use std::io::Read;
use std::path::Path;

use super::index::check_limits;
use super::{codec, Codec, Compression, Resume};
use crate::reader::Limits;
use crate::{Error, Result};

const CHUNK: usize = 64 << 10;

/// The uncompressed bytes of a compressed stream.
pub(crate) struct StreamDecoder {
    input: Box<dyn Read + Send>,
    codec: Box<dyn Codec>,
    compression: Compression,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    input_ends: bool,
    consumed: u64,
    produced: u64,
    ended: bool,
    /// The last step that did something ended at a member or frame boundary.
    at_boundary: bool,
    limits: Limits,
    what: String,
}

impl StreamDecoder {
    /// Decodes `head` (bytes already read from `input`) then the rest of `input`.
    pub(crate) fn new(
        compression: Compression,
        head: Vec<u8>,
        input: Box<dyn Read + Send>,
        limits: &Limits,
    ) -> Result<StreamDecoder> {
        let what = format!("standard input ({})", compression.name());
        let mut buf = head;
        let len = buf.len();
        buf.resize(CHUNK.max(len), 0);
        Ok(StreamDecoder {
            input,
            codec: codec(compression, &Resume::Fresh, limits, &what)?,
            what,
            compression,
            buf,
            pos: 0,
            len,
            input_ends: false,
            consumed: 0,
            produced: 0,
            ended: false,
            at_boundary: false,
            limits: limits.clone(),
        })
    }

    /// The compression being decoded.
    pub(crate) fn compression(&self) -> Compression {
        self.compression
    }

    /// More input after what is left unconsumed (moved to the front); sets `input_ends` at EOF.
    fn fill(&mut self) -> Result<()> {
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        loop {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.input_ends = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(Path::new("standard input"), e)),
            }
        }
    }

    /// Decodes into `out`: the bytes produced, 0 only at the end of the compressed data. Input
    /// that ends first is `Corrupt`; output past the limits is `Limit`.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.ended {
                return Ok(0);
            }
            if self.pos == self.len && !self.input_ends {
                self.fill()?;
            }
            if self.pos == self.len && self.input_ends && self.at_boundary {
                // The input ended just after a complete gzip member or zstd frame. (Asking a
                // zstd decoder for more with no input would wait for another frame's header.)
                self.ended = true;
                return Ok(0);
            }
            let step = self
                .codec
                .decode(&self.buf[self.pos..self.len], out, self.input_ends)?;
            self.pos += step.consumed;
            if step.consumed > 0 || step.produced > 0 {
                self.at_boundary = step.boundary;
            }
            self.consumed += step.consumed as u64;
            self.produced += step.produced as u64;
            check_limits(self.produced, self.consumed, &self.limits, &self.what)?;
            if step.end {
                self.ended = true;
            }
            if step.produced > 0 || step.end {
                return Ok(step.produced);
            }
            if step.consumed == 0 {
                if self.input_ends {
                    return Err(Error::corrupt(
                        "compressed data",
                        format!(
                            "{}: truncated: the stream ends after {} compressed bytes ({} \
                             uncompressed), before the end of its compressed data",
                            self.what, self.consumed, self.produced
                        ),
                    ));
                }
                if self.len - self.pos == self.buf.len() {
                    return Err(Error::corrupt(
                        "compressed data",
                        format!(
                            "{}: the decoder makes no progress at offset {}",
                            self.what, self.consumed
                        ),
                    ));
                }
                self.fill()?; // the decoder needs more than what is left
            }
        }
    }
}
