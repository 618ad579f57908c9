//! Reading a stream as plain bytes: [`Stream::read`] fills the caller's buffer across entries, for
//! consumers that want the archive and not the events (a pipe, a socket, an upload).

use crate::error::{show_name, Error, Result};

use super::outbuf::READ_LENT_MIN;
use super::{Emitted, Inner, Stored, Stream};

/// What a read left for the next call.
#[derive(Default)]
pub(super) struct ReadState {
    /// Bytes of a deflated stream's event that did not fit (stored streams keep theirs in the
    /// output buffer), and how many of them were handed out.
    spill: Vec<u8>,
    spill_at: usize,
    /// The entry and archive offset of the spilled event.
    spill_index: Option<usize>,
    spill_offset: u64,
    /// An error met after some bytes were read: returned by the next call, as `io::Read` does.
    deferred: Option<Error>,
    /// A deflated stream's NEED_DATA met by `read`, kept for `next_event`: (index, content
    /// offset, bytes owed).
    held_need: Option<(usize, u64, u64)>,
}

impl Stream {
    /// Reads the archive's next bytes into `out`, across entries; returns how many (0 only at the
    /// end). A read fills `out` but for less than 4 KiB (room too small to build the next entry in
    /// place is left for the next call). Everything the events would check is checked the same
    /// way (a source that changed stops the stream with `Changed`, MD5s when hashing is on), and
    /// headers and content are built straight in `out`, without the copy a consumer of events
    /// makes. Bytes read before an error are returned first and the error by the next call. An
    /// entry fed by push stops the read with a `State` error; its `NeedData` is then the next
    /// event of [`Stream::next_event`], and `read` goes on once it is fed. May be mixed with
    /// `next_event` freely: an event starts with what `read` has not returned.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if let Some(e) = self.reading.deferred.take() {
            return Err(e);
        }
        let mut filled = 0;
        let result = match &mut self.inner {
            _ if self.compress.is_some() => self.read_compressed(out, &mut filled),
            Inner::Stored(s) => s.read(out, &mut filled),
            Inner::Deflate(_) => self.read_events(out, &mut filled),
        };
        match result {
            Ok(()) => Ok(filled),
            Err(e) if filled > 0 => {
                self.reading.deferred = Some(e);
                Ok(filled)
            }
            Err(e) => Err(e),
        }
    }

    /// What `read` kept of a deflated stream for `next_event`: the end of a DATA event, or a
    /// NEED_DATA event.
    pub(super) fn take_spill(&mut self) -> Option<crate::Event<'_>> {
        let st = &mut self.reading;
        if let Some((index, content_offset, remaining)) = st.held_need.take() {
            return Some(crate::Event::NeedData {
                index,
                content_offset,
                remaining,
            });
        }
        let at = st.spill_at;
        if at == st.spill.len() {
            return None;
        }
        st.spill_at = st.spill.len();
        Some(crate::Event::Data {
            index: st.spill_index,
            offset: st.spill_offset + at as u64,
            bytes: &st.spill[at..],
        })
    }

    /// Forgets a NEED_DATA that `read` kept: the caller fed the entry without asking for it.
    pub(super) fn drop_held_need(&mut self) {
        self.reading.held_need = None;
        if let Inner::Stored(s) = &mut self.inner {
            s.held = false;
        }
    }

    /// True when `read` kept something of a deflated stream for `next_event`.
    pub(super) fn holds_spill(&self) -> bool {
        let st = &self.reading;
        st.held_need.is_some() || st.spill_at < st.spill.len()
    }

    /// Bytes that `read` holds and has not returned yet.
    pub(super) fn unread(&self) -> u64 {
        let spilled = self.reading.spill.len() - self.reading.spill_at;
        let kept = match &self.inner {
            Inner::Stored(s) => s.unread,
            Inner::Deflate(_) => 0,
        };
        (spilled + kept) as u64
    }

    /// `read` through events, copying (deflated streams).
    fn read_events(&mut self, out: &mut [u8], filled: &mut usize) -> Result<()> {
        loop {
            let st = &mut self.reading;
            let n = (st.spill.len() - st.spill_at).min(out.len() - *filled);
            out[*filled..*filled + n].copy_from_slice(&st.spill[st.spill_at..st.spill_at + n]);
            st.spill_at += n;
            *filled += n;
            if *filled == out.len() {
                return Ok(());
            }
            st.spill.clear();
            st.spill_at = 0;
            let Inner::Deflate(d) = &mut self.inner else {
                unreachable!("read_events is for deflated streams")
            };
            match d.next_event()? {
                Some(crate::Event::Data {
                    bytes,
                    index,
                    offset,
                }) => {
                    let st = &mut self.reading;
                    st.spill.extend_from_slice(bytes);
                    (st.spill_index, st.spill_offset) = (index, offset);
                }
                Some(crate::Event::NeedData {
                    index,
                    content_offset,
                    remaining,
                }) => {
                    let err = push_fed(d.tape(), index);
                    self.reading.held_need = Some((index, content_offset, remaining));
                    return Err(err);
                }
                Some(_) => {}
                None => return Ok(()),
            }
        }
    }
}

pub(super) fn push_fed(tape: &crate::Tape, index: usize) -> Error {
    let name = tape.layout().name(index).map(show_name).unwrap_or_default();
    Error::State(format!(
        "{name} is fed by push, which read cannot do: its NEED_DATA is the next event (next_event, then feed)"
    ))
}

impl Stored {
    fn read(&mut self, out: &mut [u8], filled: &mut usize) -> Result<()> {
        loop {
            // What the last event left (always in our own buffer), first.
            if self.unread > 0 {
                let rest = &self.buf.as_slice()[..self.unread];
                let n = rest.len().min(out.len() - *filled);
                out[*filled..*filled + n].copy_from_slice(&rest[..n]);
                self.buf.consume(n);
                self.unread -= n;
                *filled += n;
            }
            if *filled == out.len() {
                return Ok(());
            }
            if *filled > 0 && out.len() - *filled < READ_LENT_MIN {
                // Too little room to build the next event in place: it would be built in our
                // buffer (up to 1 MiB) and copied out. A read a few KiB short is cheaper.
                return Ok(());
            }
            // The next event, built in `out` where it fits.
            self.buf.forget_lent();
            self.buf.lend_all(&mut out[*filled..]);
            let stepped = self.step();
            self.buf.stop_lending();
            if let Err(e) = stepped {
                self.buf.forget_lent();
                if e.is_fatal() {
                    self.fail();
                }
                return Err(e);
            }
            match self.emitted {
                Emitted::Data { .. } if self.buf.in_lent() => {
                    *filled += self.buf.len();
                    self.buf.forget_lent();
                }
                Emitted::Data { .. } => self.unread = self.buf.len(),
                Emitted::NeedData { .. } => {
                    // Kept for next_event, which gives it to the caller to feed.
                    self.held = true;
                    return Err(push_fed(&self.tape, self.index));
                }
                Emitted::Nothing => return Ok(()),
                _ => {}
            }
        }
    }
}
