//! The stream's output buffer: its own, or one lent by the caller for the length of a call.

use crate::header;

use super::BUFFER_SIZE;

/// The bytes of the next `Data` event. The vector only grows, so reading into it never zeroes
/// memory again (zeroing a 1 MiB buffer before each read cost a fifth of the copy).
///
/// During [`super::Stream::next_event_into`] the caller's buffer is lent: a chunk of pure content
/// may be read into it instead (room is left for the padding or data descriptor that may follow).
/// During [`super::Stream::read`] headers go there too, so that a tree of small files is built in
/// the caller's buffer without a copy.
#[derive(Default)]
pub(super) struct OutBuf {
    data: Vec<u8>,
    /// Bytes before `start` were already handed to a reader ([`super::Stream::read`]).
    start: usize,
    len: usize,
    /// The lent buffer, valid only while `lent_cap` is non-zero (within one call).
    lent: *mut u8,
    lent_cap: usize,
    /// Headers may go in the lent buffer too.
    lent_headers: bool,
    /// The current bytes are in the lent buffer.
    in_lent: bool,
}

// SAFETY: the lent pointer is only dereferenced within the call that lent it, on its thread.
unsafe impl Send for OutBuf {}
unsafe impl Sync for OutBuf {}

/// Room kept in a lent buffer for the bytes after an entry's content: TAR padding (under 512
/// bytes) or a ZIP data descriptor (24 bytes at most).
pub(super) const LENT_TAIL: usize = header::BLOCK;
/// Lent buffers smaller than this are not used for content alone.
const LENT_MIN: usize = 64 << 10;
/// Lent buffers smaller than this are not used by a reader.
pub(super) const READ_LENT_MIN: usize = 4 << 10;

impl OutBuf {
    /// Lends `out` for content (see [`super::Stream::next_event_into`]).
    pub(super) fn lend(&mut self, out: &mut [u8]) {
        if out.len() >= LENT_MIN {
            self.lent = out.as_mut_ptr();
            self.lent_cap = out.len();
            self.lent_headers = false;
        }
    }

    /// Lends `out` for headers and content alike (see [`super::Stream::read`]).
    pub(super) fn lend_all(&mut self, out: &mut [u8]) {
        if out.len() >= READ_LENT_MIN {
            self.lent = out.as_mut_ptr();
            self.lent_cap = out.len();
            self.lent_headers = true;
        }
    }

    /// True when the next chunk may go in the lent buffer: one of pure content, or, while
    /// headers are lent too, one whose `header_rest` header bytes leave a block of room for
    /// content besides the tail.
    pub(super) fn may_lend(&self, header_rest: u64) -> bool {
        self.lent_cap > 0
            && (header_rest == 0
                || (self.lent_headers
                    && header_rest
                        .checked_add((header::BLOCK + LENT_TAIL) as u64)
                        .is_some_and(|need| need <= self.lent_cap as u64)))
    }

    /// Drops bytes left in a buffer lent by an earlier call (the caller may have freed it).
    pub(super) fn forget_lent(&mut self) {
        if self.in_lent {
            self.in_lent = false;
            self.start = 0;
            self.len = 0;
        }
        self.lent = std::ptr::null_mut();
        self.lent_cap = 0;
    }

    /// Ends the call that lent the buffer: nothing more is written to it.
    pub(super) fn stop_lending(&mut self) {
        self.lent_cap = 0;
    }

    /// Puts the next bytes in the lent buffer, if one is lent. Call right after `clear`.
    pub(super) fn use_lent(&mut self) {
        self.in_lent = self.lent_cap > 0;
    }

    /// True when the current bytes are in the lent buffer.
    pub(super) fn in_lent(&self) -> bool {
        self.in_lent
    }

    /// The lent buffer's size, when the current bytes go there.
    pub(super) fn lent_room(&self) -> Option<usize> {
        self.in_lent.then_some(self.lent_cap)
    }

    /// How many bytes a chunk may take: the lent buffer less room for a tail, or our own.
    pub(super) fn capacity(&self) -> usize {
        if self.in_lent {
            self.lent_cap - LENT_TAIL
        } else {
            BUFFER_SIZE
        }
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
        self.in_lent = false;
    }

    /// How many bytes the buffer holds, those already handed to a reader included.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes not yet handed to a reader.
    pub(super) fn as_slice(&self) -> &[u8] {
        if self.in_lent {
            // SAFETY: in_lent is set only within the call that lent `lent_cap` bytes at `lent`,
            // and len never passes lent_cap (see grow).
            unsafe { std::slice::from_raw_parts(self.lent.add(self.start), self.len - self.start) }
        } else {
            &self.data[self.start..self.len]
        }
    }

    /// Marks the first `n` bytes of [`OutBuf::as_slice`] as handed to a reader.
    pub(super) fn consume(&mut self, n: usize) {
        assert!(
            n <= self.len - self.start,
            "consumed more than the buffer holds"
        );
        self.start += n;
    }

    pub(super) fn extend(&mut self, bytes: &[u8]) {
        self.grow(bytes.len()).copy_from_slice(bytes);
    }

    /// Makes the buffer `n` bytes longer and returns the new bytes (whatever they held before).
    pub(super) fn grow(&mut self, n: usize) -> &mut [u8] {
        let end = self.len + n;
        let from = self.len;
        if self.in_lent {
            assert!(end <= self.lent_cap, "a chunk larger than the lent buffer");
            self.len = end;
            return self.tail_mut(from);
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.len = end;
        &mut self.data[from..end]
    }

    /// The bytes from `from` to the end.
    pub(super) fn tail_mut(&mut self, from: usize) -> &mut [u8] {
        if self.in_lent {
            // SAFETY: as in as_slice; `from <= len <= lent_cap`, checked by the slice below.
            let all = unsafe { std::slice::from_raw_parts_mut(self.lent, self.len) };
            return &mut all[from..];
        }
        &mut self.data[from..self.len]
    }
}
