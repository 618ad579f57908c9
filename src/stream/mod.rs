//! Streaming a sealed tape as a sequence of events, from any byte offset.
//!
//! For each entry: `FileStart`, one or more `Data` (archive bytes: header, content, padding),
//! `NeedData` whenever a push-fed entry wants its next chunk, and `FileEnd`; after the last entry
//! the trailer's `Data` and `Completed`; then the end. Buffers are fixed: memory does not grow with
//! the archive.

use std::fs::File;
use std::sync::Arc;

use md5::{Digest, Md5};

use crate::entry::{Entry, EntryKind};
use crate::error::{show_name, Error, Result};
use crate::hashpool::{self, HashPool};
use crate::header;
use crate::layout::Slot;
use crate::layout::{Format, Position};
use crate::source::{pread_full, DirHandle, Source};

mod compressed;
mod outbuf;
mod read;

use crate::tape::Tape;
use outbuf::OutBuf;

/// The size of the stream's buffer: the most bytes one `Data` event carries.
pub const BUFFER_SIZE: usize = 1 << 20;

/// One step of a stream. Borrowed data lives until the next call on the stream.
#[derive(Debug)]
pub enum Event<'a> {
    /// An entry begins (or, when the stream started inside it, resumes).
    FileStart {
        /// The entry's index in the layout.
        index: usize,
        /// Its metadata.
        entry: &'a Entry,
        /// Where its header starts.
        header_offset: u64,
        /// True when the stream started inside this entry, after its first byte.
        resumed: bool,
    },
    /// Archive bytes, starting at archive offset `offset`.
    Data {
        /// The entry these bytes belong to (`None` for the trailer).
        index: Option<usize>,
        /// The archive offset of `bytes[0]`.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// A push-fed entry wants content from `content_offset` on: call [`Stream::feed`] with at most
    /// `remaining` bytes, or [`Stream::feed_end`] if there is no more.
    NeedData {
        /// The entry's index.
        index: usize,
        /// The offset within the entry's content of the next byte wanted.
        content_offset: u64,
        /// How many content bytes are still owed.
        remaining: u64,
    },
    /// An entry is done.
    FileEnd {
        /// The entry's index.
        index: usize,
        /// Its metadata.
        entry: &'a Entry,
        /// Where it ends (the next header's offset).
        end_offset: u64,
        /// The MD5 of its content, when hashing is on and the whole content passed through this
        /// stream.
        md5: Option<[u8; 16]>,
    },
    /// The whole archive, trailer included, has been emitted.
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// About to start the entry at `index` (or the trailer when past the last entry).
    Start,
    /// Emitting the entry's header, content and padding.
    Body,
    /// Waiting for `feed` or `feed_end` on a push-fed entry.
    AwaitingFeed,
    /// A fed chunk is in the buffer, waiting to be emitted.
    Fed,
    /// The entry's bytes are out; `FileEnd` is next.
    End,
    /// The two zero blocks are next.
    Trailer,
    /// `Completed` is next.
    Completed,
    /// Nothing more.
    Done,
    /// Stopped by a fatal error.
    Failed,
}

/// The event the last step produced, without borrows (shared with the deflate stream).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Emitted {
    FileStart {
        header_offset: u64,
        resumed: bool,
    },
    Data {
        index: Option<usize>,
        offset: u64,
    },
    NeedData {
        content_offset: u64,
        remaining: u64,
    },
    FileEnd {
        index: usize,
        end_offset: u64,
        md5: Option<[u8; 16]>,
    },
    Completed,
    Nothing,
}

impl Emitted {
    /// The event, borrowing the current entry (`index`, `slot`) and the data buffer.
    pub(crate) fn to_event<'a>(
        self,
        index: usize,
        slot: Option<&'a Slot>,
        bytes: &'a [u8],
    ) -> Option<Event<'a>> {
        let entry = || &slot.expect("an entry is current").entry;
        Some(match self {
            Emitted::FileStart {
                header_offset,
                resumed,
            } => Event::FileStart {
                index,
                entry: entry(),
                header_offset,
                resumed,
            },
            Emitted::Data { index, offset } => Event::Data {
                index,
                offset,
                bytes,
            },
            Emitted::NeedData {
                content_offset,
                remaining,
            } => Event::NeedData {
                index,
                content_offset,
                remaining,
            },
            Emitted::FileEnd {
                index,
                end_offset,
                md5,
            } => Event::FileEnd {
                index,
                entry: entry(),
                end_offset,
                md5,
            },
            Emitted::Completed => Event::Completed,
            Emitted::Nothing => return None,
        })
    }
}

/// A stream over a sealed tape. Not shareable between threads while in use (`Send`, not `Sync`).
pub struct Stream {
    inner: Inner,
    reading: read::ReadState,
    /// A compressed tape's compressor (gzip or zstd around the TAR).
    compress: Option<Box<compressed::Compressing>>,
}

enum Inner {
    /// Every offset is in the layout: TAR, or ZIP with stored entries.
    Stored(Box<Stored>),
    /// A ZIP with deflated entries: offsets are found while streaming.
    Deflate(Box<crate::zip::deflate::DeflateStream>),
}

impl Stream {
    /// A stream of `tape` starting at archive offset `offset` (at most the total size). A tape
    /// with deflated entries only streams from 0 ([`Error::NotRandomAccess`] otherwise).
    pub fn new(tape: Arc<Tape>, offset: u64, md5: bool) -> Result<Stream> {
        if let Some((c, start)) = compressed::Compressing::framed(&tape, offset)? {
            let total = tape.total_size();
            if offset > total {
                return Err(Error::InvalidArgument(format!(
                    "start offset {offset} is past the end of the archive ({total} bytes)"
                )));
            }
            return Ok(Stream {
                inner: Inner::Stored(Box::new(Stored::new(tape, start, md5)?)),
                reading: read::ReadState::default(),
                compress: Some(Box::new(c)),
            });
        }
        let compress = match tape.compression() {
            Some(c) => {
                if offset > 0 {
                    tape.check_random_access()?;
                }
                Some(Box::new(compressed::Compressing::new(&c)?))
            }
            None => None,
        };
        let inner = if tape.layout().deflated() {
            if offset > 0 {
                tape.check_random_access()?;
            }
            Inner::Deflate(Box::new(crate::zip::deflate::DeflateStream::new(tape, md5)))
        } else {
            Inner::Stored(Box::new(Stored::new(tape, offset, md5)?))
        };
        Ok(Stream {
            inner,
            reading: read::ReadState::default(),
            compress,
        })
    }

    /// The archive offset of the next byte this stream will emit.
    pub fn position(&self) -> u64 {
        if let Some(c) = &self.compress {
            return c.emitted();
        }
        let produced = match &self.inner {
            Inner::Stored(s) => s.pos,
            Inner::Deflate(d) => d.position(),
        };
        produced - self.unread()
    }

    /// The tape being streamed.
    pub fn tape(&self) -> &Arc<Tape> {
        match &self.inner {
            Inner::Stored(s) => &s.tape,
            Inner::Deflate(d) => d.tape(),
        }
    }

    /// The next event, or `None` after `Completed`. A fatal error stops the stream for good; an
    /// error in the call (wrong state) changes nothing.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        if self.compress.is_some() {
            return self.next_compressed();
        }
        if self.holds_spill() {
            return Ok(self.take_spill());
        }
        match &mut self.inner {
            Inner::Stored(s) => s.next_event(),
            Inner::Deflate(d) => d.next_event(),
        }
    }

    /// Like [`Stream::next_event`], but the content of a `Data` event is read straight into `out`
    /// when it can be (file, buffer and read-at content past the entry's header), so that a
    /// consumer that must own the bytes (a Python `bytes`, a socket's ring buffer) does not copy
    /// them again: while more content follows, the event fills `out` exactly. Other `Data` events
    /// point into the stream's own buffer as usual. `out` must hold at least 64 KiB to be used.
    /// A compressed tape's `Data` events always point into the stream's buffer.
    pub fn next_event_into<'a>(&'a mut self, out: &'a mut [u8]) -> Result<Option<Event<'a>>> {
        if self.compress.is_some() {
            return self.next_compressed();
        }
        if self.holds_spill() {
            return Ok(self.take_spill());
        }
        match &mut self.inner {
            Inner::Stored(s) => s.next_event_lent(Some(out)),
            Inner::Deflate(d) => d.next_event(),
        }
    }

    /// Hands the next chunk of a push-fed entry's content to the stream (after `NeedData`). A chunk
    /// longer than what is still owed is refused before any of it goes out, and stops the stream.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.drop_held_need();
        match &mut self.inner {
            Inner::Stored(s) => s.feed(chunk),
            Inner::Deflate(d) => d.feed(chunk),
        }
    }

    /// Says that a push-fed entry has no more bytes. Before its declared size is reached this is an
    /// error that stops the stream.
    pub fn feed_end(&mut self) -> Result<()> {
        self.drop_held_need();
        match &mut self.inner {
            Inner::Stored(s) => s.feed_end(),
            Inner::Deflate(d) => d.feed_end(),
        }
    }
}

/// The stream of a tape whose offsets are all in its layout.
struct Stored {
    tape: Arc<Tape>,
    /// The archive offset of the next byte to emit.
    pos: u64,
    /// The current entry (the number of entries once past the last).
    index: usize,
    phase: Phase,
    emitted: Emitted,
    md5_enabled: bool,
    md5: Option<Md5>,
    /// Large files are hashed ahead by a pool of workers instead of inline.
    pool: Option<HashPool>,
    /// The current entry's MD5 comes from the pool.
    md5_pooled: bool,
    /// ZIP: the CRC-32 of the current entry, when this stream reads its content from the start.
    crc: Option<crc32fast::Hasher>,
    buf: OutBuf,
    header: Vec<u8>,
    file: Option<File>,
    /// The directory of the last file opened, to open the next one by its name in it.
    dir: DirHandle,
    /// The current entry, decoded once when it starts.
    slot: Option<Slot>,
    /// Bytes at the start of `buf` that [`Stream::read`] has not handed out yet.
    unread: usize,
    /// The emitted event was met by [`Stream::read`] and is still to be given (a NEED_DATA).
    held: bool,
}

impl Stored {
    fn new(tape: Arc<Tape>, offset: u64, md5: bool) -> Result<Stored> {
        let total = tape.layout().total_size();
        if offset > total {
            return Err(Error::InvalidArgument(format!(
                "start offset {offset} is past the end of the archive ({total} bytes)"
            )));
        }
        let entries = tape.len();
        let (index, phase) = match tape.layout().find(offset)? {
            Position::Entry(i) => (i, Phase::Start),
            Position::Trailer => (entries, Phase::Trailer),
            Position::End => (entries, Phase::Completed),
        };
        Ok(Stored {
            tape,
            pos: offset,
            index,
            phase,
            emitted: Emitted::Nothing,
            md5_enabled: md5,
            md5: None,
            pool: None,
            md5_pooled: false,
            crc: None,
            buf: OutBuf::default(),
            header: Vec::new(),
            file: None,
            dir: DirHandle::default(),
            slot: None,
            unread: 0,
            held: false,
        })
    }

    fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        self.next_event_lent(None)
    }

    /// The next event, content read into `out` where it can be (see [`Stream::next_event_into`]).
    fn next_event_lent<'a>(&'a mut self, out: Option<&'a mut [u8]>) -> Result<Option<Event<'a>>> {
        if std::mem::take(&mut self.held) {
            return Ok(self.current_event());
        }
        if self.unread > 0 {
            // Stream::read kept the end of a Data event: it comes first.
            if let Emitted::Data { index, .. } = self.emitted {
                let offset = self.pos - self.unread as u64;
                self.emitted = Emitted::Data { index, offset };
            }
            self.unread = 0;
            return Ok(self.current_event());
        }
        self.buf.forget_lent();
        if let Some(out) = out {
            self.buf.lend(out);
        }
        let stepped = self.step();
        // Nothing more goes into `out`; the event may still point into it (as `out` is borrowed
        // for as long as the event lives).
        self.buf.stop_lending();
        if let Err(e) = stepped {
            self.buf.forget_lent();
            if e.is_fatal() {
                self.fail();
            }
            return Err(e);
        }
        Ok(self.current_event())
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        let (name, remaining) = self.awaiting("feed")?;
        if chunk.len() as u64 > remaining {
            self.fail();
            return Err(Error::SizeMismatch {
                name,
                what: format!(
                    "a chunk of {} bytes passes the declared size: only {remaining} bytes are still owed",
                    chunk.len()
                ),
            });
        }
        if chunk.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        self.buf.extend(chunk);
        if let Some(m) = &mut self.md5 {
            m.update(chunk);
        }
        if let Some(c) = &mut self.crc {
            c.update(chunk);
        }
        self.phase = Phase::Fed;
        Ok(())
    }

    fn feed_end(&mut self) -> Result<()> {
        let (name, remaining) = self.awaiting("feed_end")?;
        let size = self.current().entry.size;
        self.fail();
        Err(Error::SizeMismatch {
            name,
            what: format!("ended after {} of {size} declared bytes", size - remaining),
        })
    }

    /// The current entry's name and the bytes it still owes, if it is waiting for data.
    fn awaiting(&self, call: &str) -> Result<(String, u64)> {
        if self.phase != Phase::AwaitingFeed {
            return Err(Error::State(format!(
                "{call}: no entry is waiting for data (call it after a NEED_DATA event)"
            )));
        }
        let slot = self.current();
        Ok((show_name(&slot.entry.name), slot.content_end() - self.pos))
    }

    /// The current entry (set by `Start`).
    fn current(&self) -> &Slot {
        self.slot
            .as_ref()
            .expect("an entry is current in this phase")
    }

    fn fail(&mut self) {
        self.phase = Phase::Failed;
        self.file = None;
        self.emitted = Emitted::Nothing;
    }

    /// Advances the state machine by one event, recorded in `self.emitted`.
    fn step(&mut self) -> Result<()> {
        loop {
            self.emitted = match self.phase {
                Phase::Start if self.index >= self.tape.len() => {
                    self.phase = Phase::Trailer;
                    continue;
                }
                Phase::Start => {
                    let slot = self.tape.slot(self.index)?;
                    if let (EntryKind::File, 0, Source::File(f)) =
                        (slot.entry.kind, slot.entry.size, &slot.entry.source)
                    {
                        // An empty file is never opened: check that it is still empty.
                        f.check_path(&slot.entry.name)?;
                    }
                    let whole = self.md5_enabled
                        && slot.entry.kind == EntryKind::File
                        && self.pos <= slot.data_offset();
                    self.md5_pooled = whole && hashpool::wants(&slot);
                    if self.md5_pooled {
                        self.pool
                            .get_or_insert_with(|| HashPool::new(self.tape.clone(), self.index))
                            .advance(self.index);
                    }
                    self.md5 = (whole && !self.md5_pooled).then(Md5::new);
                    self.crc = (self.tape.format() == Format::Zip
                        && self.pos <= slot.data_offset())
                    .then(crc32fast::Hasher::new);
                    self.file = None;
                    self.phase = Phase::Body;
                    let emitted = Emitted::FileStart {
                        header_offset: slot.header_offset,
                        resumed: self.pos > slot.header_offset,
                    };
                    self.slot = Some(slot);
                    emitted
                }
                Phase::Body => self.fill_body()?,
                Phase::Fed => self.emit_fed()?,
                Phase::AwaitingFeed => {
                    return Err(Error::State(format!(
                        "{} is waiting for data: call feed or feed_end before the next event",
                        show_name(&self.current().entry.name)
                    )));
                }
                Phase::End => {
                    let md5 = self.finish_md5()?;
                    self.file = None;
                    self.index += 1;
                    self.phase = Phase::Start;
                    Emitted::FileEnd {
                        index: self.index - 1,
                        end_offset: self.current().end_offset(),
                        md5,
                    }
                }
                Phase::Trailer => {
                    let total = self.tape.layout().total_size();
                    if self.pos >= total {
                        self.phase = Phase::Completed;
                        continue;
                    }
                    let offset = self.pos;
                    let n = (total - offset).min(BUFFER_SIZE as u64) as usize;
                    self.buf.clear();
                    let out = self.buf.grow(n);
                    self.tape.read_tar_at(offset, out)?;
                    self.pos += n as u64;
                    Emitted::Data {
                        index: None,
                        offset,
                    }
                }
                Phase::Completed => {
                    self.phase = Phase::Done;
                    Emitted::Completed
                }
                Phase::Done => Emitted::Nothing,
                Phase::Failed => {
                    return Err(Error::State(
                        "the stream stopped after an error; start a new one".into(),
                    ))
                }
            };
            return Ok(());
        }
    }

    /// The entry's MD5: computed by this stream when it read the whole content, else the one
    /// recorded in the catalog (the two must agree).
    fn finish_md5(&mut self) -> Result<Option<[u8; 16]>> {
        let computed: Option<[u8; 16]> = match (&self.pool, self.md5_pooled) {
            (Some(pool), true) => Some(pool.wait(self.index)?),
            _ => self.md5.take().map(|m| m.finalize().into()),
        };
        crate::checksum::md5_against_record(&self.current().entry, computed)
    }

    /// Fills the buffer with the next bytes of the current entry: the rest of its header, as much
    /// content as fits, and the padding once the content is done.
    fn fill_body(&mut self) -> Result<Emitted> {
        let slot = self.slot.take().expect("an entry is current in Body");
        let result = self.fill_body_of(&slot);
        self.slot = Some(slot);
        result
    }

    fn fill_body_of(&mut self, slot: &Slot) -> Result<Emitted> {
        let entry = &slot.entry;
        let data_offset = slot.data_offset();
        let content_end = data_offset + entry.size;
        let end = slot.end_offset();
        let start = self.pos;
        self.buf.clear();
        if !matches!(entry.source, Source::Push)
            && self.buf.may_lend(data_offset.saturating_sub(self.pos))
        {
            self.buf.use_lent();
        }
        if self.pos < data_offset {
            self.tape.encode_header(slot, &mut self.header)?;
            let from = (self.pos - slot.header_offset) as usize;
            self.buf.extend(&self.header[from..]);
            self.pos = data_offset;
        }
        if self.pos < content_end {
            if let Source::Push = entry.source {
                if self.buf.is_empty() {
                    self.phase = Phase::AwaitingFeed;
                    return Ok(Emitted::NeedData {
                        content_offset: self.pos - data_offset,
                        remaining: content_end - self.pos,
                    });
                }
                // Send the header first; the content is asked for by the next event.
                return Ok(Emitted::Data {
                    index: Some(self.index),
                    offset: start,
                });
            }
            let room = self
                .buf
                .capacity()
                .saturating_sub(self.buf.len())
                .max(header::BLOCK);
            let left = content_end - self.pos;
            let have = self.buf.len();
            let n = match self.buf.lent_room() {
                // A lent buffer is filled whole while more content follows (so a caller can hand
                // it on as it is), and keeps room for the tail with the entry's last bytes.
                Some(cap) if left > (cap - have) as u64 => cap - have,
                _ => (left as usize).min(room),
            };
            self.buf.grow(n);
            let content_pos = self.pos - data_offset;
            self.read_content(slot, content_pos, have)?;
            if let Some(m) = &mut self.md5 {
                m.update(&self.buf.as_slice()[have..]);
            }
            if let Some(c) = &mut self.crc {
                c.update(&self.buf.as_slice()[have..]);
            }
            self.pos += n as u64;
            if self.pos == content_end {
                if let (Source::File(f), Some(file)) = (&entry.source, &self.file) {
                    // The whole content is read: the file must not have changed meanwhile.
                    f.check(&entry.name, file)?;
                }
            }
        }
        if self.pos >= content_end && self.pos < end {
            self.append_tail(slot)?;
        }
        if self.pos == end {
            self.phase = Phase::End;
        }
        Ok(Emitted::Data {
            index: Some(self.index),
            offset: start,
        })
    }

    /// Appends the bytes from the position to the entry's end: TAR padding, or the ZIP data
    /// descriptor with the CRC this stream computed (checked against a recorded one, then kept by
    /// the tape) or, for a resumed entry, the tape's ([`Tape::crc32`]).
    fn append_tail(&mut self, slot: &Slot) -> Result<()> {
        let crc = match self.crc.take() {
            Some(h) => {
                let c = h.finalize();
                crate::checksum::crc32_against_record(&slot.entry, c)?;
                self.tape.keep_crc(slot.index, c);
                Some(c)
            }
            None => None,
        };
        self.tape.encode_tail(slot, crc, &mut self.header)?;
        let from = (self.pos - slot.content_end()) as usize;
        self.buf.extend(&self.header[from..]);
        self.pos = slot.end_offset();
        Ok(())
    }

    /// Reads content at `content_pos` into `self.buf[from..]`.
    fn read_content(&mut self, slot: &Slot, content_pos: u64, from: usize) -> Result<()> {
        let (Source::File(f), false) = (&slot.entry.source, slot.entry.kind == EntryKind::Symlink)
        else {
            return self
                .tape
                .read_content(slot, content_pos, self.buf.tail_mut(from));
        };
        let name = &slot.entry.name;
        // A file read whole by this one call is checked once, after the read (fill_body checks
        // every file when its last byte is read), not also when opened.
        let unchecked = self.file.is_none()
            && content_pos == 0
            && (self.buf.len() - from) as u64 == slot.entry.size;
        if self.file.is_none() {
            let file = f.open_in(name, &mut self.dir)?;
            if !unchecked {
                f.check(name, &file)?;
            }
            self.file = Some(file);
        }
        let file = self.file.as_ref().expect("opened above");
        let out = self.buf.tail_mut(from);
        let read = pread_full(file, content_pos, out);
        let got = match read {
            Ok(got) if got == out.len() => return Ok(()),
            Ok(got) => got,
            Err(e) => {
                if unchecked {
                    f.check(name, file)?; // a replaced file is reported as replaced
                }
                return Err(Error::io(f.path(name), e));
            }
        };
        if unchecked {
            f.check(name, file)?;
        }
        Err(Error::Changed {
            name: show_name(name),
            what: format!(
                "shrank while being read: {} bytes expected, the file ended at {}",
                slot.entry.size,
                content_pos + got as u64
            ),
        })
    }

    /// Emits a fed chunk (and the padding or descriptor when it completes the entry).
    fn emit_fed(&mut self) -> Result<Emitted> {
        let content_end = self.current().content_end();
        let start = self.pos;
        self.pos += self.buf.len() as u64;
        if self.pos == content_end {
            let slot = self.slot.take().expect("an entry is current when fed");
            let result = self.append_tail(&slot);
            self.slot = Some(slot);
            result?;
            self.phase = Phase::End;
        } else {
            self.phase = Phase::Body;
        }
        Ok(Emitted::Data {
            index: Some(self.index),
            offset: start,
        })
    }

    fn current_event(&self) -> Option<Event<'_>> {
        self.emitted
            .to_event(self.index, self.slot.as_ref(), self.buf.as_slice())
    }
}
