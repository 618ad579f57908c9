//! gzip (RFC 1952): members one after the other, each a header, raw deflate and a trailer with the
//! CRC-32 and size of its content, checked. Inflating is miniz_oxide's (the Rust backend flate2
//! uses) driven directly, so that it can stop between two deflate blocks and hand out what is
//! needed to start again there: the bits of the current byte and the 32 KiB window (as zlib's
//! zran example does with `inflatePrime` and `inflateSetDictionary`).
//!
//! Zero bytes after a member are skipped (tape padding, as GNU gzip does); anything else that is
//! not another member is `Corrupt`.

use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY,
};
use miniz_oxide::inflate::core::{decompress, BlockBoundaryState, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use super::{bad, Codec, Resume, Step};
use crate::Result;

const DICT: usize = miniz_oxide::inflate::core::TINFL_LZ_DICT_SIZE;
/// The longest gzip header accepted (file name and comment included).
const MAX_HEADER: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between members (or before the first): zeros, another member, or the end.
    Between,
    Header,
    Body,
    Trailer,
}

pub(crate) struct Gzip {
    phase: Phase,
    /// Header or trailer bytes gathered so far.
    pending: Vec<u8>,
    z: Box<DecompressorOxide>,
    dict: Box<[u8]>,
    /// Start of the bytes in `dict` not yet delivered; decoding writes from here.
    dict_pos: usize,
    /// Bytes in `dict` from `dict_pos` not yet delivered.
    avail: usize,
    /// The member's deflate data is complete (the trailer follows once `avail` is delivered).
    body_done: bool,
    /// CRC-32 and size of the member so far (None when resumed inside a member).
    crc: Option<(crc32fast::Hasher, u32)>,
    want: bool,
    at_block: bool,
    members: u64,
    what: String,
}

impl Gzip {
    pub(crate) fn new(resume: &Resume, what: &str) -> Gzip {
        let mut g = Gzip {
            phase: Phase::Between,
            pending: Vec::new(),
            z: Box::default(),
            dict: vec![0; DICT].into_boxed_slice(),
            dict_pos: 0,
            avail: 0,
            body_done: false,
            crc: None,
            want: false,
            at_block: false,
            members: 0,
            what: what.to_string(),
        };
        if let Resume::Deflate {
            num_bits,
            bit_buf,
            window,
            window_pos,
        } = resume
        {
            g.z = Box::new(DecompressorOxide::from_block_boundary_state(
                &BlockBoundaryState {
                    num_bits: *num_bits,
                    bit_buf: *bit_buf,
                    ..BlockBoundaryState::default()
                },
            ));
            g.dict.copy_from_slice(window);
            g.dict_pos = *window_pos;
            g.phase = Phase::Body;
            g.members = 1;
        }
        g
    }

    fn err(&self, why: impl std::fmt::Display) -> crate::Error {
        bad(
            "gzip",
            &self.what,
            format!("member {}: {why}", self.members),
        )
    }

    /// Copies undelivered inflated bytes into `out`.
    fn deliver(&mut self, out: &mut [u8]) -> usize {
        let n = self.avail.min(out.len());
        out[..n].copy_from_slice(&self.dict[self.dict_pos..self.dict_pos + n]);
        if let Some((h, size)) = &mut self.crc {
            h.update(&out[..n]);
            *size = size.wrapping_add(n as u32);
        }
        self.dict_pos = (self.dict_pos + n) & (DICT - 1);
        self.avail -= n;
        n
    }

    /// Gathers header bytes; returns how many of `input` were used and whether it is complete.
    fn header(&mut self, input: &[u8]) -> Result<(usize, bool)> {
        let before = self.pending.len();
        let take = input.len().min(MAX_HEADER + 1 - before);
        self.pending.extend_from_slice(&input[..take]);
        match header_len(&self.pending).map_err(|why| self.err(why))? {
            Some(len) => {
                self.pending.clear();
                Ok((len - before, true))
            }
            None if self.pending.len() > MAX_HEADER => {
                Err(self.err(format!("header longer than {MAX_HEADER} bytes")))
            }
            None => Ok((take, false)),
        }
    }

    fn trailer(&mut self, input: &[u8]) -> Result<(usize, bool)> {
        let take = input.len().min(8 - self.pending.len());
        self.pending.extend_from_slice(&input[..take]);
        if self.pending.len() < 8 {
            return Ok((take, false));
        }
        let p = &self.pending;
        let want_crc = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let want_size = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        if let Some((h, size)) = self.crc.take() {
            let got = h.finalize();
            if got != want_crc {
                return Err(self.err(format!(
                    "CRC-32 is {got:08x}, the trailer says {want_crc:08x}"
                )));
            }
            if size != want_size {
                return Err(self.err(format!(
                    "size is {size} (mod 2^32), the trailer says {want_size}"
                )));
            }
        }
        self.pending.clear();
        Ok((take, true))
    }
}

/// The length of the gzip header at the start of `h`, `None` when `h` is too short to tell.
fn header_len(h: &[u8]) -> std::result::Result<Option<usize>, String> {
    if h.len() < 10 {
        return Ok(None);
    }
    if h[0] != 0x1f || h[1] != 0x8b {
        return Err("not a gzip header".into());
    }
    if h[2] != 8 {
        return Err(format!(
            "compression method {} (only 8, deflate, exists)",
            h[2]
        ));
    }
    let flags = h[3];
    if flags & 0xe0 != 0 {
        return Err(format!("reserved header flags set ({flags:#04x})"));
    }
    let mut pos = 10;
    if flags & 4 != 0 {
        if h.len() < pos + 2 {
            return Ok(None);
        }
        pos += 2 + usize::from(u16::from_le_bytes([h[pos], h[pos + 1]]));
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            match h.get(pos..).and_then(|r| r.iter().position(|b| *b == 0)) {
                Some(z) => pos += z + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    Ok((h.len() >= pos).then_some(pos))
}

impl Codec for Gzip {
    fn decode(&mut self, input: &[u8], out: &mut [u8], input_ends: bool) -> Result<Step> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match self.phase {
                Phase::Between => {
                    let zeros = rest.iter().take_while(|b| **b == 0).count();
                    consumed += zeros;
                    let rest = &input[consumed..];
                    if rest.is_empty() {
                        return Ok(Step {
                            consumed,
                            produced: 0,
                            end: input_ends,
                            boundary: false,
                        });
                    }
                    if rest[0] != 0x1f {
                        return Err(bad(
                            "gzip",
                            &self.what,
                            format!(
                                "{} bytes after member {} that are not another member",
                                rest.len(),
                                self.members
                            ),
                        ));
                    }
                    self.phase = Phase::Header;
                    self.members += 1;
                }
                Phase::Header => {
                    let (n, done) = self.header(rest)?;
                    consumed += n;
                    if !done {
                        return Ok(Step {
                            consumed,
                            ..Step::default()
                        });
                    }
                    self.phase = Phase::Body;
                    *self.z = DecompressorOxide::default();
                    self.dict_pos = 0;
                    self.avail = 0;
                    self.body_done = false;
                    self.crc = Some((crc32fast::Hasher::new(), 0));
                }
                Phase::Body => {
                    if self.avail > 0 {
                        let produced = self.deliver(out);
                        return Ok(Step {
                            consumed,
                            produced,
                            ..Step::default()
                        });
                    }
                    if self.body_done {
                        self.phase = Phase::Trailer;
                        continue;
                    }
                    let mut flags = 0;
                    if !input_ends {
                        flags |= TINFL_FLAG_HAS_MORE_INPUT;
                    }
                    if self.want {
                        flags |= TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY;
                    }
                    self.at_block = false;
                    let (status, n_in, n_out) =
                        decompress(&mut self.z, rest, &mut self.dict, self.dict_pos, flags);
                    consumed += n_in;
                    self.avail = n_out;
                    match status {
                        TINFLStatus::Done => self.body_done = true,
                        TINFLStatus::BlockBoundary => {
                            self.at_block = true;
                            self.want = false;
                        }
                        TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => {}
                        TINFLStatus::FailedCannotMakeProgress => {
                            return Err(self.err("truncated deflate data"))
                        }
                        other => return Err(self.err(format!("invalid deflate data ({other:?})"))),
                    }
                    let produced = self.deliver(out);
                    if produced == 0 && self.body_done {
                        continue;
                    }
                    return Ok(Step {
                        consumed,
                        produced,
                        end: false,
                        boundary: self.at_block,
                    });
                }
                Phase::Trailer => {
                    let (n, done) = self.trailer(rest)?;
                    consumed += n;
                    if !done {
                        return Ok(Step {
                            consumed,
                            ..Step::default()
                        });
                    }
                    self.phase = Phase::Between;
                    return Ok(Step {
                        consumed,
                        boundary: true,
                        ..Step::default()
                    });
                }
            }
        }
    }

    fn want_resume(&mut self) {
        self.want = true;
    }

    fn resume(&mut self, window: bool) -> Option<Resume> {
        match self.phase {
            Phase::Between if self.pending.is_empty() => Some(Resume::Fresh),
            Phase::Body if self.at_block && self.avail == 0 && window => {
                let st = self.z.block_boundary_state()?;
                Some(Resume::Deflate {
                    num_bits: st.num_bits,
                    bit_buf: st.bit_buf,
                    window: self.dict.clone(),
                    window_pos: self.dict_pos,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        let plain = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(header_len(&plain), Ok(Some(10)));
        assert_eq!(header_len(&plain[..9]), Ok(None));
        let mut named = plain.to_vec();
        named[3] = 8 | 4 | 2;
        named.extend_from_slice(&[2, 0, b'x', b'y']);
        assert_eq!(header_len(&named), Ok(None));
        named.extend_from_slice(b"name\0");
        assert_eq!(header_len(&named), Ok(None));
        named.extend_from_slice(&[0, 0]);
        assert_eq!(header_len(&named), Ok(Some(named.len())));
        let mut reserved = plain;
        reserved[3] = 0x20;
        assert!(header_len(&reserved).is_err());
    }
}
