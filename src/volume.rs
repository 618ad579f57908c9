//! Volumes: the archive cut into parts of a fixed size, each readable on its own and described by
//! a manifest; and locating an entry's parts. All of it is arithmetic over the layout.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use md5::{Digest, Md5};

use crate::error::{show_name, Error, Result};
use crate::header::BLOCK;
use crate::layout::Position;
use crate::tape::Tape;

/// How an entry lies in a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Header to padding, all in this part.
    Whole,
    /// Starts in this part and goes on in the next.
    Head,
    /// Started in an earlier part, goes on after this one.
    Body,
    /// Started in an earlier part and ends in this one.
    Tail,
}

impl Role {
    /// The role of an entry that starts in the part (or not) and ends in it (or not).
    fn of(starts_here: bool, ends_here: bool) -> Role {
        match (starts_here, ends_here) {
            (true, true) => Role::Whole,
            (true, false) => Role::Head,
            (false, false) => Role::Body,
            (false, true) => Role::Tail,
        }
    }

    /// A stable lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Whole => "whole",
            Role::Head => "head",
            Role::Body => "body",
            Role::Tail => "tail",
        }
    }
}

/// One entry of a part's manifest. Ranges are byte offsets within the part, end exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestItem {
    /// The entry's index.
    pub index: usize,
    /// Its archive name.
    pub name: Vec<u8>,
    /// Whole, head, body or tail.
    pub role: Role,
    /// The entry's bytes (header, content, padding) within the part.
    pub range: (u64, u64),
    /// The entry's content bytes within the part (empty when none lie here).
    pub content_range: (u64, u64),
    /// The offset within the entry's content of `content_range.0`.
    pub content_offset: u64,
    /// The entry's content size.
    pub size: u64,
}

/// Checks a part size: a positive multiple of 512.
pub fn check_part_size(part_size: u64) -> Result<()> {
    if part_size == 0 || part_size % BLOCK as u64 != 0 {
        return Err(Error::InvalidArgument(format!(
            "part size {part_size} must be a positive multiple of 512"
        )));
    }
    Ok(())
}

/// How many parts of `part_size` bytes hold the archive.
pub fn count(tape: &Tape, part_size: u64) -> Result<u64> {
    check_part_size(part_size)?;
    Ok(tape.size()?.div_ceil(part_size))
}

/// The archive range `[start, end)` of part `part`.
pub fn range(tape: &Tape, part_size: u64, part: u64) -> Result<(u64, u64)> {
    let n = count(tape, part_size)?;
    if part >= n {
        return Err(Error::NotFound(format!(
            "part {part} (the archive has {n} parts of {part_size} bytes)"
        )));
    }
    let start = part * part_size;
    Ok((
        start,
        start.saturating_add(part_size).min(tape.total_size()),
    ))
}

/// The entries that lie in part `part`, with where each lies.
pub fn manifest(tape: &Tape, part_size: u64, part: u64) -> Result<Vec<ManifestItem>> {
    tape.check_random_access()?;
    if let Some(f) = tape.frames() {
        return framed_manifest(tape, f, part_size, part);
    }
    let (start, end) = range(tape, part_size, part)?;
    let mut items = Vec::new();
    let mut i = match tape.layout().find(start)? {
        Position::Entry(i) => i,
        _ => return Ok(items),
    };
    while i < tape.len() {
        let slot = tape.slot(i)?;
        if slot.header_offset >= end {
            break;
        }
        let (from, to) = (slot.header_offset.max(start), slot.end_offset().min(end));
        let (c0, c1) = (slot.data_offset().max(start), slot.content_end().min(end));
        let content_range = if c0 < c1 {
            (c0 - start, c1 - start)
        } else {
            (from - start, from - start)
        };
        let role = Role::of(slot.header_offset >= start, slot.end_offset() <= end);
        items.push(ManifestItem {
            index: i,
            name: slot.entry.name.to_vec(),
            role,
            range: (from - start, to - start),
            content_range,
            content_offset: c0.saturating_sub(slot.data_offset()).min(slot.entry.size),
            size: slot.entry.size,
        });
        i += 1;
    }
    Ok(items)
}

/// The manifest of a part of a tape with frames: the entries whose frames overlap the part, with
/// the compressed bytes of those frames in it (frame by frame: a frame cut by the part's edge is
/// decoded with the neighbouring part).
fn framed_manifest(
    tape: &Tape,
    f: &crate::compress::Frames,
    part_size: u64,
    part: u64,
) -> Result<Vec<ManifestItem>> {
    let (start, end) = range(tape, part_size, part)?;
    let mut items = Vec::new();
    let Some(first) = f.frame_at(start) else {
        return Ok(items); // the part holds only the seek table
    };
    let plain_start = f.plain(first).0;
    let plain_end = f.plain(f.frame_at(end - 1).unwrap_or(f.len() - 1)).1;
    // The compressed bytes of the frames holding TAR bytes [a, b), within the part.
    let extent = |a: u64, b: u64| {
        let (c0, c1) = (
            f.compressed(f.frame_of_plain(a)).0,
            f.compressed(f.frame_of_plain(b - 1)).1,
        );
        (
            c0,
            c1,
            c0.max(start) - start,
            c1.min(end).max(start) - start,
        )
    };
    let mut i = match tape.layout().find(plain_start)? {
        Position::Entry(i) => i,
        _ => return Ok(items),
    };
    while i < tape.len() {
        let slot = tape.slot(i)?;
        if slot.header_offset >= plain_end {
            break;
        }
        let (c0, c1, from, to) = extent(slot.header_offset, slot.end_offset());
        let (content_range, content_offset) = if slot.entry.size > 0 {
            let (_, _, a, b) = extent(slot.data_offset(), slot.content_end());
            // The content offset where the first frame of the content that starts in this part
            // begins (0 when the content starts in it).
            let k = f.frame_of_plain(slot.data_offset());
            let k = if f.compressed(k).0 < start { k + 1 } else { k };
            let at = f.plain(k.min(f.len() - 1)).0;
            (
                (a, b),
                at.saturating_sub(slot.data_offset()).min(slot.entry.size),
            )
        } else {
            ((from, from), 0)
        };
        let role = Role::of(c0 >= start, c1 <= end);
        if from < to {
            items.push(ManifestItem {
                index: i,
                name: slot.entry.name.to_vec(),
                role,
                range: (from, to),
                content_range,
                content_offset,
                size: slot.entry.size,
            });
        }
        i += 1;
    }
    Ok(items)
}

/// Where an entry lies: its offsets and the parts that hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The entry's index.
    pub index: usize,
    /// Header offset in the archive.
    pub header_offset: u64,
    /// Content offset in the archive.
    pub data_offset: u64,
    /// End offset (padding included).
    pub end_offset: u64,
    /// Content size.
    pub size: u64,
    /// The first part holding any of its bytes.
    pub first_part: u64,
    /// The last part holding any of its bytes.
    pub last_part: u64,
    /// For a tape with frames: the compressed bytes `[start, end)` of the frames holding the
    /// entry (the offsets above are then the TAR's, and the parts those of the compressed
    /// archive).
    pub compressed: Option<(u64, u64)>,
}

/// Finds the entry named `name` and the parts of `part_size` bytes that hold it.
pub fn locate(tape: &Tape, name: &[u8], part_size: u64) -> Result<Location> {
    tape.check_random_access()?;
    check_part_size(part_size)?;
    let index = tape
        .layout()
        .locate(name)?
        .ok_or_else(|| Error::NotFound(format!("no entry named {}", show_name(name))))?;
    let slot = tape.slot(index)?;
    let compressed = tape.frames().map(|f| {
        let first = f.frame_of_plain(slot.header_offset);
        let last = f.frame_of_plain(slot.end_offset() - 1);
        (f.compressed(first).0, f.compressed(last).1)
    });
    let (a, b) = compressed.unwrap_or((slot.header_offset, slot.end_offset()));
    Ok(Location {
        index,
        header_offset: slot.header_offset,
        data_offset: slot.data_offset(),
        end_offset: slot.end_offset(),
        size: slot.entry.size,
        first_part: a / part_size,
        last_part: (b - 1) / part_size,
        compressed,
    })
}

/// One part, readable and seekable on its own (positions are relative to the part).
///
/// ```
/// use std::io::Read;
/// use std::sync::Arc;
/// use tartape::{volume, TapeBuilder};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut builder = TapeBuilder::new();
/// builder.add_bytes(b"big.bin", vec![7u8; 5000], 0o644, 0)?;
/// let tape = Arc::new(builder.seal()?);
/// let parts = volume::count(&tape, 2048)?;
/// let mut whole = Vec::new();
/// for part in 0..parts {
///     volume::Volume::new(tape.clone(), 2048, part)?.read_to_end(&mut whole)?;
/// }
/// assert_eq!(whole.len() as u64, tape.total_size()); // the parts concatenate to the archive
/// # Ok(())
/// # }
/// ```
pub struct Volume {
    tape: Arc<Tape>,
    part: u64,
    start: u64,
    len: u64,
    pos: u64,
}

impl Volume {
    /// Part `part` of `tape` cut in parts of `part_size` bytes.
    pub fn new(tape: Arc<Tape>, part_size: u64, part: u64) -> Result<Volume> {
        let (start, end) = range(&tape, part_size, part)?;
        Ok(Volume {
            tape,
            part,
            start,
            len: end - start,
            pos: 0,
        })
    }

    /// The part's number (0-based).
    pub fn part(&self) -> u64 {
        self.part
    }

    /// Where the part starts in the archive.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The part's length (the last part may be shorter).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty part (never: parts hold at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tape it is part of.
    pub fn tape(&self) -> &Arc<Tape> {
        &self.tape
    }

    /// Reads part bytes at `offset` within the part.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        self.tape.read_at(self.start + offset, &mut buf[..n])
    }

    /// The MD5 of the part's bytes (reads the whole part).
    pub fn md5(&self) -> Result<[u8; 16]> {
        let mut h = Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0;
        while at < self.len {
            let n = self.read_at(at, &mut buf)?;
            h.update(&buf[..n]);
            at += n as u64;
        }
        Ok(h.finalize().into())
    }
}

impl Read for Volume {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.pos, buf).map_err(io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Volume {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the part",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}
