//! The layout of a sealed tape: one table of entries with their offsets. Streaming, `read_at`,
//! resume, volumes and locate all read this table.

use crate::entry::Entry;
use crate::header::{self, round_up_block, TRAILER_LEN};

/// An entry placed in the archive.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The entry's metadata and source.
    pub entry: Entry,
    /// Where its header (pax header included) starts.
    pub header_offset: u64,
    /// The header's length, a multiple of 512.
    pub header_len: u32,
}

impl Slot {
    /// Where the content starts.
    pub fn data_offset(&self) -> u64 {
        self.header_offset + u64::from(self.header_len)
    }

    /// Where the content and its padding end (the next entry's header offset).
    pub fn end_offset(&self) -> u64 {
        self.data_offset() + round_up_block(self.entry.size)
    }
}

/// Where an archive offset falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Inside the entry at this index (header, content or padding).
    Entry(usize),
    /// Inside the two zero blocks that end the archive.
    Trailer,
    /// At or past the end.
    End,
}

/// Every entry with its offsets, and the total size.
#[derive(Debug, Default)]
pub struct Layout {
    slots: Vec<Slot>,
    total_size: u64,
}

impl Layout {
    /// Places `entries` one after the other, then the trailer.
    pub fn build(entries: Vec<Entry>) -> Layout {
        let mut scratch = Vec::with_capacity(1024);
        let mut offset = 0u64;
        let slots = entries
            .into_iter()
            .map(|entry| {
                let header_len = header::encoded_len(&entry, &mut scratch);
                let slot = Slot {
                    header_offset: offset,
                    header_len: header_len as u32,
                    entry,
                };
                offset = slot.end_offset();
                slot
            })
            .collect();
        Layout {
            slots,
            total_size: offset + TRAILER_LEN,
        }
    }

    /// The archive's size in bytes.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// Where the trailer starts.
    pub fn trailer_offset(&self) -> u64 {
        self.total_size - TRAILER_LEN
    }

    /// All slots, in archive order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The slot at `index`.
    pub fn slot(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index)
    }

    /// Which entry holds byte `offset`: a binary search, never a scan.
    pub fn find(&self, offset: u64) -> Position {
        if offset >= self.total_size {
            return Position::End;
        }
        if offset >= self.trailer_offset() {
            return Position::Trailer;
        }
        // The first slot whose end lies past the offset holds it.
        Position::Entry(self.slots.partition_point(|s| s.end_offset() <= offset))
    }

    /// The index of the entry named `name`.
    pub fn locate(&self, name: &[u8]) -> Option<usize> {
        self.slots.iter().position(|s| &*s.entry.name == name)
    }
}
