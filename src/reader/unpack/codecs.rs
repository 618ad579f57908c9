//! The decoders other than gzip, each a thin push adaptor over its library: zstd (libzstd through
//! the `zstd` crate), xz and ZIP's LZMA (liblzma), bzip2 (the `bzip2` crate, pure Rust).

use liblzma::stream::{Action, Filters, Stream, CONCATENATED};
use zstd::zstd_safe::{self, DCtx, DParameter, InBuffer, OutBuffer};

use super::{bad, Codec, Resume, Step};
use crate::reader::Limits;
use crate::{Error, Result};

fn memory_limit(what: &str, codec: &str, limits: &Limits) -> Error {
    Error::Limit(format!(
        "{what}: {codec} data needs more than {} bytes of decoder memory (Limits::max_decoder_memory)",
        limits.max_decoder_memory
    ))
}

/// Zstandard frames (and skippable frames) one after the other.
pub(crate) struct Zstd {
    d: DCtx<'static>,
    /// The last call finished a frame (or nothing was decoded yet): a new decoder could start at
    /// the next input byte.
    at_frame_end: bool,
    limits: Limits,
    what: String,
}

impl Zstd {
    pub(crate) fn new(limits: &Limits, what: &str) -> Result<Zstd> {
        let mut d = DCtx::try_create()
            .ok_or_else(|| Error::Limit(format!("{what}: no memory for a zstd decoder")))?;
        // The window a frame may ask for: the largest power of two within the memory limit.
        let log = (63 - limits.max_decoder_memory.max(1 << 10).leading_zeros()).clamp(10, 31);
        d.set_parameter(DParameter::WindowLogMax(log))
            .map_err(|c| bad("zstd", what, zstd_safe::get_error_name(c)))?;
        Ok(Zstd {
            d,
            at_frame_end: true,
            limits: limits.clone(),
            what: what.to_string(),
        })
    }
}

impl Codec for Zstd {
    fn decode(&mut self, input: &[u8], out: &mut [u8], input_ends: bool) -> Result<Step> {
        let mut inb = InBuffer::around(input);
        let mut outb = OutBuffer::around(out);
        let hint = self.d.decompress_stream(&mut outb, &mut inb).map_err(|c| {
            let name = zstd_safe::get_error_name(c);
            if name.contains("memory") || name.contains("indowLog") {
                memory_limit(&self.what, "zstd", &self.limits)
            } else {
                bad("zstd", &self.what, name)
            }
        })?;
        let (consumed, produced) = (inb.pos(), outb.pos());
        self.at_frame_end = hint == 0;
        Ok(Step {
            consumed,
            produced,
            end: hint == 0 && input_ends && consumed == input.len(),
            boundary: hint == 0 && consumed > 0,
        })
    }

    fn resume(&mut self, _window: bool) -> Option<Resume> {
        self.at_frame_end.then_some(Resume::Fresh)
    }
}

/// An .xz stream (or several, with stream padding).
pub(crate) struct Xz {
    s: Stream,
    limits: Limits,
    what: String,
}

fn xz_error(e: liblzma::stream::Error, what: &str, limits: &Limits) -> Error {
    use liblzma::stream::Error as E;
    match e {
        E::MemLimit | E::Mem => memory_limit(what, "xz", limits),
        E::Format => bad("xz", what, "not an xz stream"),
        E::Options => bad("xz", what, "unsupported options"),
        E::Data => bad("xz", what, "corrupt data"),
        other => bad("xz", what, format!("{other:?}")),
    }
}

impl Xz {
    pub(crate) fn new(limits: &Limits, what: &str) -> Result<Xz> {
        let s = Stream::new_stream_decoder(limits.max_decoder_memory, CONCATENATED)
            .map_err(|e| xz_error(e, what, limits))?;
        Ok(Xz {
            s,
            limits: limits.clone(),
            what: what.to_string(),
        })
    }
}

/// Runs a liblzma stream over `input` into `out`.
fn lzma_step(
    s: &mut Stream,
    input: &[u8],
    out: &mut [u8],
    action: Action,
) -> std::result::Result<Step, liblzma::stream::Error> {
    let (in0, out0) = (s.total_in(), s.total_out());
    let status = s.process(input, out, action)?;
    Ok(Step {
        consumed: (s.total_in() - in0) as usize,
        produced: (s.total_out() - out0) as usize,
        end: status == liblzma::stream::Status::StreamEnd,
        boundary: false,
    })
}

impl Codec for Xz {
    fn decode(&mut self, input: &[u8], out: &mut [u8], input_ends: bool) -> Result<Step> {
        let action = if input_ends {
            Action::Finish
        } else {
            Action::Run
        };
        lzma_step(&mut self.s, input, out, action)
            .map_err(|e| xz_error(e, &self.what, &self.limits))
    }
}

/// bzip2 streams one after the other.
pub(crate) struct Bzip2 {
    d: bzip2::Decompress,
    /// The current stream has ended; the next bytes must start another one (gathered here).
    between: Option<Vec<u8>>,
    streams: u64,
    what: String,
}

impl Bzip2 {
    pub(crate) fn new(what: &str) -> Bzip2 {
        Bzip2 {
            d: bzip2::Decompress::new(false),
            between: None,
            streams: 1,
            what: what.to_string(),
        }
    }
}

impl Codec for Bzip2 {
    fn decode(&mut self, input: &[u8], out: &mut [u8], input_ends: bool) -> Result<Step> {
        let mut consumed = 0;
        if let Some(magic) = &mut self.between {
            if input.is_empty() && magic.is_empty() {
                return Ok(Step {
                    end: input_ends,
                    ..Step::default()
                });
            }
            let take = input.len().min(4 - magic.len());
            magic.extend_from_slice(&input[..take]);
            consumed = take;
            if magic.len() < 4 {
                if input_ends {
                    return Err(bad(
                        "bzip2",
                        &self.what,
                        format!("{} stray bytes after stream {}", magic.len(), self.streams),
                    ));
                }
                return Ok(Step {
                    consumed,
                    ..Step::default()
                });
            }
            if !(magic.starts_with(b"BZh") && (b'1'..=b'9').contains(&magic[3])) {
                return Err(bad(
                    "bzip2",
                    &self.what,
                    format!(
                        "data after stream {} that is not another stream",
                        self.streams
                    ),
                ));
            }
            let magic = std::mem::take(magic);
            self.between = None;
            self.streams += 1;
            self.d = bzip2::Decompress::new(false);
            let in0 = self.d.total_in();
            self.d.decompress(&magic, &mut []).map_err(|e| {
                bad(
                    "bzip2",
                    &self.what,
                    format!("{e:?} in stream {}", self.streams),
                )
            })?;
            if self.d.total_in() - in0 != 4 {
                return Err(bad("bzip2", &self.what, "stream header not accepted"));
            }
        }
        let (in0, out0) = (self.d.total_in(), self.d.total_out());
        let status = self.d.decompress(&input[consumed..], out).map_err(|e| {
            bad(
                "bzip2",
                &self.what,
                format!("{e:?} in stream {}", self.streams),
            )
        })?;
        consumed += (self.d.total_in() - in0) as usize;
        let produced = (self.d.total_out() - out0) as usize;
        let mut end = false;
        if status == bzip2::Status::StreamEnd {
            self.between = Some(Vec::new());
            end = input_ends && consumed == input.len();
        }
        Ok(Step {
            consumed,
            produced,
            end,
            boundary: false,
        })
    }
}

/// A ZIP member compressed with LZMA (method 14): a 4-byte header (LZMA SDK version, properties
/// length), the 5 bytes of LZMA properties, then raw LZMA1 data, with or without an end marker
/// (the member's size says where it stops).
pub(crate) struct ZipLzma {
    header: Vec<u8>,
    s: Option<Stream>,
    what: String,
}

impl ZipLzma {
    pub(crate) fn new(what: &str) -> ZipLzma {
        ZipLzma {
            header: Vec::new(),
            s: None,
            what: what.to_string(),
        }
    }
}

impl Codec for ZipLzma {
    fn decode(&mut self, input: &[u8], out: &mut [u8], _input_ends: bool) -> Result<Step> {
        let mut consumed = 0;
        while self.s.is_none() {
            let want = match self.header.get(2..4) {
                None => 4,
                Some(len) => {
                    let props = usize::from(u16::from_le_bytes([len[0], len[1]]));
                    if props != 5 {
                        return Err(bad(
                            "LZMA",
                            &self.what,
                            format!("{props} bytes of properties (5 expected)"),
                        ));
                    }
                    9
                }
            };
            if self.header.len() == want && want == 9 {
                let mut filters = Filters::new();
                filters
                    .lzma1_properties(&self.header[4..9])
                    .map_err(|e| bad("LZMA", &self.what, format!("properties: {e:?}")))?;
                self.s = Some(
                    Stream::new_raw_decoder(&filters)
                        .map_err(|e| bad("LZMA", &self.what, format!("properties: {e:?}")))?,
                );
                break;
            }
            let take = (input.len() - consumed).min(want - self.header.len());
            if take == 0 {
                return Ok(Step {
                    consumed,
                    ..Step::default()
                });
            }
            self.header
                .extend_from_slice(&input[consumed..consumed + take]);
            consumed += take;
        }
        let Some(s) = self.s.as_mut() else {
            return Err(bad("LZMA", &self.what, "no decoder"));
        };
        let step = lzma_step(s, &input[consumed..], out, Action::Run)
            .map_err(|e| bad("LZMA", &self.what, format!("{e:?}")))?;
        Ok(Step {
            consumed: consumed + step.consumed,
            ..step
        })
    }
}
