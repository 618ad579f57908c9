//! A compressed tape's stream (gzip or zstd around the whole TAR): the TAR stream's bytes go
//! through a [`Compressor`] and its output comes out as `Data` events (and from
//! [`Stream::read`]). Such a stream starts at offset 0 only; its `Data` offsets are offsets in the
//! compressed output and carry no entry index (compressed bytes mix entries); `FileStart` and
//! `FileEnd` keep the uncompressed TAR's offsets, and come when the TAR stream reaches them, which
//! may be before the compressor has let out the entry's bytes.

use std::sync::Arc;

use crate::compress::{Compress, Compressor};
use crate::error::Result;
use crate::tape::Tape;

use super::{read::push_fed, Emitted, Event, Inner, Stored, Stream, BUFFER_SIZE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// The compressor is finished: its last bytes, then `Completed`.
    Completing,
    Done,
}

/// The compressor of a stream and where it is.
pub(super) struct Compressing {
    z: Compressor,
    state: State,
}

impl Compressing {
    pub(super) fn new(c: &Compress) -> Result<Compressing> {
        Ok(Compressing {
            z: Compressor::new(c)?,
            state: State::Running,
        })
    }

    /// The stream of a seekable tape from compressed byte `offset`, with the TAR offset its
    /// uncompressed stream must start at.
    pub(super) fn framed(tape: &Arc<Tape>, offset: u64) -> Result<Option<(Compressing, u64)>> {
        let Some(frames) = tape.frames().cloned() else {
            return Ok(None);
        };
        let job = |first| crate::seekable::frame_job(tape.clone(), frames.clone(), first);
        let z = Compressor::framed(frames.clone(), offset, job)?;
        let start = z.plain_start();
        let c = Compressing {
            z,
            state: State::Running,
        };
        Ok(Some((c, start)))
    }

    /// The compressed offset of the next byte handed out.
    pub(super) fn emitted(&self) -> u64 {
        self.z.emitted()
    }

    /// Feeds the TAR stream's last step to the compressor; true when it is an event other than
    /// data (for the caller to return).
    fn take(&mut self, s: &mut Stored) -> Result<bool> {
        let fed = match s.emitted {
            Emitted::Data { .. } => self.z.write(s.buf.as_slice()),
            Emitted::Completed => {
                self.state = State::Completing;
                self.z.finish()
            }
            Emitted::Nothing => {
                self.state = State::Done;
                Ok(())
            }
            _ => return Ok(true),
        };
        if let Err(e) = fed {
            s.fail();
            self.state = State::Done;
            return Err(e);
        }
        Ok(false)
    }
}

impl Stored {
    /// One step of the TAR stream for a compressed stream (no lending, nothing kept by `read`).
    fn advance(&mut self) -> Result<()> {
        if std::mem::take(&mut self.held) {
            return Ok(());
        }
        self.buf.forget_lent();
        if let Err(e) = self.step() {
            if e.is_fatal() {
                self.fail();
            }
            return Err(e);
        }
        Ok(())
    }
}

impl Stream {
    /// The next event of a compressed stream.
    pub(super) fn next_compressed(&mut self) -> Result<Option<Event<'_>>> {
        let (Inner::Stored(s), Some(c)) = (&mut self.inner, self.compress.as_deref_mut()) else {
            return Ok(None);
        };
        loop {
            if c.z.pending() > 0 {
                let (offset, bytes) = c.z.output(BUFFER_SIZE);
                return Ok(Some(Event::Data {
                    index: None,
                    offset,
                    bytes,
                }));
            }
            match c.state {
                State::Done => return Ok(None),
                State::Completing => {
                    c.state = State::Done;
                    return Ok(Some(Event::Completed));
                }
                State::Running => {}
            }
            s.advance()?;
            if c.take(s)? {
                return Ok(s.current_event());
            }
        }
    }

    /// [`Stream::read`] of a compressed stream: fills `out` from `*filled`.
    pub(super) fn read_compressed(&mut self, out: &mut [u8], filled: &mut usize) -> Result<()> {
        let (Inner::Stored(s), Some(c)) = (&mut self.inner, self.compress.as_deref_mut()) else {
            return Ok(());
        };
        loop {
            let (_, bytes) = c.z.output(out.len() - *filled);
            out[*filled..*filled + bytes.len()].copy_from_slice(bytes);
            *filled += bytes.len();
            if *filled == out.len() {
                return Ok(());
            }
            match c.state {
                State::Done => return Ok(()),
                State::Completing => {
                    c.state = State::Done;
                    return Ok(());
                }
                State::Running => {}
            }
            s.advance()?;
            if c.take(s)? {
                if let Emitted::NeedData { .. } = s.emitted {
                    s.held = true;
                    return Err(push_fed(&s.tape, s.index));
                }
            }
        }
    }
}
