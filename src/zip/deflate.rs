//! The stream-only path: a ZIP tape with deflated entries.
//!
//! A deflated entry's compressed size is known only once it is compressed, so nothing after it
//! has a known offset: the stream finds every offset as it goes, and the total size, `read_at` and
//! resume offsets are refused ([`crate::Error::NotRandomAccess`]). What the central directory needs
//! is kept per entry while streaming: its offset, compressed size and CRC-32 (24 bytes an entry).
//!
//! The same input and level give the same bytes: the compressor is fed in chunks of [`CHUNK`]
//! bytes whatever the source (a file, a buffer, or a caller's pushed chunks of any size).

use std::fs::File;
use std::sync::Arc;

use flate2::{Compress, Compression, FlushCompress, Status};
use md5::{Digest, Md5};

use crate::entry::EntryKind;
use crate::error::{show_name, Error, Result};
use crate::layout::Slot;
use crate::source::{pread_full, Source};
use crate::stream::{Emitted, Event, BUFFER_SIZE};
use crate::tape::Tape;
use crate::zip::header as zip;

/// The compressor's input unit.
pub const CHUNK: usize = 64 * 1024;

/// What the central directory needs of an entry, kept while streaming.
#[derive(Debug, Clone, Copy)]
struct Kept {
    offset: u64,
    compressed: u64,
    crc: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Body,
    AwaitingFeed,
    End,
    Central,
    EndRecords,
    Completed,
    Done,
    Failed,
}

/// True when entry `level`/`size` needs 64-bit sizes: decided from the size before compressing
/// (deflate's worst case for deflated entries).
pub fn zip64_sizes(level: u8, size: u64) -> bool {
    if level > 0 {
        zip::deflate_bound(size) >= zip::MAX32
    } else {
        zip::stored_zip64(size)
    }
}

/// A stream of a ZIP tape with deflated entries, from offset 0.
pub struct DeflateStream {
    tape: Arc<Tape>,
    pos: u64,
    index: usize,
    phase: Phase,
    emitted: Emitted,
    md5_enabled: bool,
    md5: Option<Md5>,
    crc: crc32fast::Hasher,
    compress: Option<Compress>,
    slot: Option<Slot>,
    header_offset: u64,
    header_sent: bool,
    /// Content bytes taken from the source.
    read: u64,
    /// Bytes written between the local header and the descriptor.
    compressed: u64,
    staging: Vec<u8>,
    buf: Vec<u8>,
    /// `buf` holds output made by `feed`, not yet emitted.
    carry: bool,
    scratch: Vec<u8>,
    file: Option<File>,
    kept: Vec<Kept>,
    central_next: usize,
    cd_start: u64,
}

impl DeflateStream {
    /// A stream of `tape` from its first byte.
    pub fn new(tape: Arc<Tape>, md5: bool) -> DeflateStream {
        DeflateStream {
            kept: Vec::with_capacity(tape.len()),
            tape,
            pos: 0,
            index: 0,
            phase: Phase::Start,
            emitted: Emitted::Nothing,
            md5_enabled: md5,
            md5: None,
            crc: crc32fast::Hasher::new(),
            compress: None,
            slot: None,
            header_offset: 0,
            header_sent: false,
            read: 0,
            compressed: 0,
            staging: Vec::with_capacity(CHUNK),
            buf: Vec::new(),
            carry: false,
            scratch: Vec::new(),
            file: None,
            central_next: 0,
            cd_start: 0,
        }
    }

    /// The archive offset of the next byte this stream will emit.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The tape being streamed.
    pub fn tape(&self) -> &Arc<Tape> {
        &self.tape
    }

    /// The next event, as [`crate::Stream::next_event`].
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        if let Err(e) = self.step() {
            if e.is_fatal() {
                self.fail();
            }
            return Err(e);
        }
        Ok(self.current_event())
    }

    /// Takes the next chunk of a push-fed entry, as [`crate::Stream::feed`].
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
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
        self.carry = true;
        self.phase = Phase::Body;
        let size = self.current().entry.size;
        if let Err(e) = self.take_content(chunk, size) {
            self.fail();
            return Err(e);
        }
        Ok(())
    }

    /// Ends a push-fed entry early: always a size mismatch, as [`crate::Stream::feed_end`].
    pub fn feed_end(&mut self) -> Result<()> {
        let (name, remaining) = self.awaiting("feed_end")?;
        let size = self.current().entry.size;
        self.fail();
        Err(Error::SizeMismatch {
            name,
            what: format!("ended after {} of {size} declared bytes", size - remaining),
        })
    }

    fn awaiting(&self, call: &str) -> Result<(String, u64)> {
        if self.phase != Phase::AwaitingFeed {
            return Err(Error::State(format!(
                "{call}: no entry is waiting for data (call it after a NEED_DATA event)"
            )));
        }
        let slot = self.current();
        Ok((show_name(&slot.entry.name), slot.entry.size - self.read))
    }

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

    fn step(&mut self) -> Result<()> {
        loop {
            self.emitted = match self.phase {
                Phase::Start if self.index >= self.tape.len() => {
                    self.cd_start = self.pos;
                    self.phase = Phase::Central;
                    continue;
                }
                Phase::Start => self.start_entry()?,
                Phase::Body => {
                    let slot = self.slot.take().expect("an entry is current in Body");
                    let result = self.fill_body(&slot);
                    self.slot = Some(slot);
                    result?
                }
                Phase::AwaitingFeed => {
                    return Err(Error::State(format!(
                        "{} is waiting for data: call feed or feed_end before the next event",
                        show_name(&self.current().entry.name)
                    )))
                }
                Phase::End => {
                    let md5 = self.finish_md5()?;
                    self.file = None;
                    self.index += 1;
                    self.phase = Phase::Start;
                    Emitted::FileEnd {
                        index: self.index - 1,
                        end_offset: self.pos,
                        md5,
                    }
                }
                Phase::Central => self.fill_central()?,
                Phase::EndRecords => {
                    let count = self.tape.len();
                    zip::end(
                        count,
                        self.cd_start,
                        self.pos - self.cd_start,
                        &mut self.buf,
                    );
                    self.phase = Phase::Completed;
                    self.emit(None)
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

    fn start_entry(&mut self) -> Result<Emitted> {
        let slot = self.tape.slot(self.index)?;
        if let (EntryKind::File, 0, Source::File(f)) =
            (slot.entry.kind, slot.entry.size, &slot.entry.source)
        {
            f.check_path(&slot.entry.name)?;
        }
        self.md5 = (self.md5_enabled && slot.entry.kind == EntryKind::File).then(Md5::new);
        self.crc = crc32fast::Hasher::new();
        self.compress = (slot.entry.level > 0)
            .then(|| Compress::new(Compression::new(u32::from(slot.entry.level)), false));
        self.header_offset = self.pos;
        self.header_sent = false;
        self.read = 0;
        self.compressed = 0;
        self.staging.clear();
        self.file = None;
        self.phase = Phase::Body;
        self.slot = Some(slot);
        Ok(Emitted::FileStart {
            header_offset: self.pos,
            resumed: false,
        })
    }

    /// Emits `buf` as archive bytes at the position.
    fn emit(&mut self, index: Option<usize>) -> Emitted {
        let offset = self.pos;
        self.pos += self.buf.len() as u64;
        self.carry = false;
        Emitted::Data { index, offset }
    }

    fn fill_body(&mut self, slot: &Slot) -> Result<Emitted> {
        if !self.carry {
            self.buf.clear();
        }
        let entry = &slot.entry;
        let (method, zip64) = (
            if entry.level > 0 {
                zip::DEFLATED
            } else {
                zip::STORED
            },
            zip64_sizes(entry.level, entry.size),
        );
        if !self.header_sent {
            zip::local(entry, self.header_offset, method, zip64, &mut self.scratch);
            self.buf.extend_from_slice(&self.scratch);
            self.header_sent = true;
        }
        let mut chunk = std::mem::take(&mut self.scratch);
        let result = self.pull(slot, &mut chunk);
        self.scratch = chunk;
        if let Some(need) = result? {
            return Ok(need);
        }
        if self.read == entry.size {
            self.finish_entry(slot, method, zip64)?;
        }
        Ok(self.emit(Some(self.index)))
    }

    /// Reads content until the buffer is full or the content is done. For a push-fed entry, asks
    /// for data (returns the event) when the buffer has nothing to send.
    fn pull(&mut self, slot: &Slot, chunk: &mut Vec<u8>) -> Result<Option<Emitted>> {
        let size = slot.entry.size;
        while self.read < size && self.buf.len() < BUFFER_SIZE {
            if let Source::Push = slot.entry.source {
                if !self.buf.is_empty() {
                    break;
                }
                self.phase = Phase::AwaitingFeed;
                return Ok(Some(Emitted::NeedData {
                    content_offset: self.read,
                    remaining: size - self.read,
                }));
            }
            let n = ((size - self.read) as usize).min(CHUNK - self.staging.len());
            chunk.clear();
            chunk.resize(n, 0);
            self.read_content(slot, self.read, chunk)?;
            self.take_content(chunk, size)?;
        }
        Ok(None)
    }

    fn read_content(&mut self, slot: &Slot, pos: u64, out: &mut [u8]) -> Result<()> {
        let (Source::File(f), false) = (&slot.entry.source, slot.entry.kind == EntryKind::Symlink)
        else {
            return self.tape.read_content(slot, pos, out);
        };
        if self.file.is_none() {
            self.file = Some(f.open_checked(&slot.entry.name)?);
        }
        let file = self.file.as_ref().expect("opened above");
        let got = pread_full(file, pos, out).map_err(|e| Error::io(f.path(&slot.entry.name), e))?;
        if got < out.len() {
            return Err(Error::Changed {
                name: show_name(&slot.entry.name),
                what: format!(
                    "shrank while being read: {} bytes expected, the file ended at {}",
                    slot.entry.size,
                    pos + got as u64
                ),
            });
        }
        Ok(())
    }

    /// Hashes content bytes and hands them to the compressor in whole chunks.
    fn take_content(&mut self, mut data: &[u8], size: u64) -> Result<()> {
        self.crc.update(data);
        if let Some(m) = &mut self.md5 {
            m.update(data);
        }
        self.read += data.len() as u64;
        let last = self.read == size;
        while !data.is_empty() {
            let take = (CHUNK - self.staging.len()).min(data.len());
            self.staging.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.staging.len() == CHUNK && !(last && data.is_empty()) {
                self.consume(false)?;
            }
        }
        if last {
            self.consume(true)?;
        }
        Ok(())
    }

    /// Compresses (or copies) the staged chunk into the buffer.
    fn consume(&mut self, finish: bool) -> Result<()> {
        let before = self.buf.len();
        match &mut self.compress {
            Some(c) => deflate_into(c, &self.staging, &mut self.buf, finish)?,
            None => self.buf.extend_from_slice(&self.staging),
        }
        self.compressed += (self.buf.len() - before) as u64;
        self.staging.clear();
        Ok(())
    }

    /// Appends the descriptor and keeps what the central directory needs.
    fn finish_entry(&mut self, slot: &Slot, method: u16, zip64: bool) -> Result<()> {
        let entry = &slot.entry;
        if entry.size == 0 && method == zip::DEFLATED {
            // No content went through `take_content`: the compressor still owes its end.
            self.consume(true)?;
        }
        let crc = std::mem::take(&mut self.crc).finalize();
        crate::checksum::crc32_against_record(entry, crc)?;
        if let (Source::File(f), Some(file)) = (&entry.source, &self.file) {
            f.check(&entry.name, file)?;
        }
        if !zip64 && self.compressed >= zip::MAX32 {
            return Err(Error::Limit(format!(
                "{}: compressed to {} bytes, past the bound its headers were written for",
                show_name(&entry.name),
                self.compressed
            )));
        }
        zip::descriptor(crc, self.compressed, entry.size, zip64, &mut self.scratch);
        self.buf.extend_from_slice(&self.scratch);
        self.kept.push(Kept {
            offset: self.header_offset,
            compressed: self.compressed,
            crc,
        });
        self.tape.keep_crc(slot.index, crc);
        self.phase = Phase::End;
        Ok(())
    }

    fn finish_md5(&mut self) -> Result<Option<[u8; 16]>> {
        let computed: Option<[u8; 16]> = self.md5.take().map(|m| m.finalize().into());
        crate::checksum::md5_against_record(&self.current().entry, computed)
    }

    /// The central directory, a buffer at a time, from what was kept.
    fn fill_central(&mut self) -> Result<Emitted> {
        let count = self.tape.len();
        self.buf.clear();
        while self.central_next < count && self.buf.len() < BUFFER_SIZE {
            let i = self.central_next;
            let slot = self.tape.slot(i)?;
            let k = self.kept[i];
            let level = slot.entry.level;
            let m = zip::Member {
                offset: k.offset,
                method: if level > 0 {
                    zip::DEFLATED
                } else {
                    zip::STORED
                },
                zip64_sizes: zip64_sizes(level, slot.entry.size),
                crc: k.crc,
                compressed: k.compressed,
            };
            zip::central(&slot.entry, &m, &mut self.buf);
            self.central_next += 1;
        }
        if self.central_next == count {
            self.phase = Phase::EndRecords;
        }
        if self.buf.is_empty() {
            // No entries: straight to the end records.
            self.phase = Phase::EndRecords;
            return self.fill_end();
        }
        Ok(self.emit(None))
    }

    fn fill_end(&mut self) -> Result<Emitted> {
        let count = self.tape.len();
        zip::end(
            count,
            self.cd_start,
            self.pos - self.cd_start,
            &mut self.buf,
        );
        self.phase = Phase::Completed;
        Ok(self.emit(None))
    }

    fn current_event(&self) -> Option<Event<'_>> {
        self.emitted
            .to_event(self.index, self.slot.as_ref(), &self.buf)
    }
}

/// Deflates `input` into `out` (appending); with `finish`, ends the deflate stream.
fn deflate_into(c: &mut Compress, mut input: &[u8], out: &mut Vec<u8>, finish: bool) -> Result<()> {
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::None
    };
    loop {
        out.reserve(input.len() / 2 + 4096);
        let before = c.total_in();
        let status = c
            .compress_vec(input, out, flush)
            .map_err(|e| Error::State(format!("deflate failed: {e}")))?;
        input = &input[(c.total_in() - before) as usize..];
        match status {
            Status::StreamEnd => return Ok(()),
            _ if !finish && input.is_empty() => return Ok(()),
            _ => {}
        }
    }
}
