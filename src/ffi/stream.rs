//! Streaming a tape: its events (`tt_next_event`, `tt_next_event_into`), its bytes (`tt_read`), and
//! the memory entries fed while it runs (`tt_feed`, `tt_feed_end`). One stream per tape, started
//! by `tt_tape_start_at` or by the first call.

use std::sync::MutexGuard;

use crate::ffi::tape::{tape_ref, tt_entry_kind, tt_tape};
use crate::ffi::{boundary, input, output, tt_status};
use crate::stream::{Event, Stream};
use crate::Error;

/// What an event is.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_event_type {
    /// An entry begins: `index`, `name`, `kind`, `size`, and `offset` = its header offset;
    /// `resumed` is 1 when the stream started inside it.
    FileStart = 1,
    /// Archive bytes `data[0..data_len]` at archive offset `offset`; `index` is the entry they
    /// belong to, or `UINT64_MAX` for the trailer.
    Data = 2,
    /// A memory entry (`tt_add_from_memory`) wants its next chunk: call `tt_feed` with at most
    /// `size` bytes (the bytes still owed), the content from `offset` (an offset within the
    /// entry's content) on, or `tt_feed_end` if there are no more.
    NeedData = 3,
    /// An entry is done: `offset` = its end offset; `has_md5` says whether `md5` holds the MD5 of
    /// its content (hashing on, and the whole content passed through this stream). The other
    /// checksums recorded when sealing (SHA-256, CRC-32C, CRC-32: `tt_tape_record_checksums`) are
    /// `tt_tape_entry_checksum(tape, index, ...)`.
    FileEnd = 4,
    /// The whole archive, trailer included, has been emitted. The next call returns `EOF`.
    TapeCompleted = 5,
}

/// One event of a stream, filled by `tt_next_event`.
///
/// `name` and `data` are borrowed: `name` lives as long as the tape, `data` until the next call of
/// `tt_next_event`, `tt_feed`, `tt_feed_end`, `tt_tape_start_at` or `tt_tape_free` on the tape.
/// Fields that do not apply to an event type are 0 / NULL.
///
/// cbindgen:field-names=[type, kind, index, offset, size, name, name_len, data, data_len, md5, has_md5, resumed]
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_event {
    /// What happened.
    pub type_: tt_event_type,
    /// The entry's kind (FILE_START).
    pub kind: tt_entry_kind,
    /// The entry's index in the layout (`UINT64_MAX` for the trailer and TAPE_COMPLETED).
    pub index: u64,
    /// See `tt_event_type`: a header, data, content or end offset.
    pub offset: u64,
    /// FILE_START: the content size. NEED_DATA: the bytes still owed.
    pub size: u64,
    /// The entry's archive name (FILE_START, FILE_END), not NUL-terminated.
    pub name: *const u8,
    /// Length of `name`.
    pub name_len: usize,
    /// DATA: the bytes.
    pub data: *const u8,
    /// DATA: how many bytes.
    pub data_len: usize,
    /// FILE_END: the MD5 of the content, when `has_md5` is 1.
    pub md5: [u8; 16],
    /// FILE_END: 1 when `md5` is set.
    pub has_md5: u8,
    /// FILE_START: 1 when the stream started inside this entry.
    pub resumed: u8,
}

impl tt_event {
    fn empty(type_: tt_event_type) -> Self {
        tt_event {
            type_,
            kind: tt_entry_kind::File,
            index: u64::MAX,
            offset: 0,
            size: 0,
            name: std::ptr::null(),
            name_len: 0,
            data: std::ptr::null(),
            data_len: 0,
            md5: [0; 16],
            has_md5: 0,
            resumed: 0,
        }
    }
}

/// (Re)starts the tape's stream at archive byte `offset` (0 for the whole archive; at most the
/// total size), sealing the tape. The first DATA event then begins exactly at `offset`, and no
/// content before it is read. Without this call, the first `tt_next_event` starts at 0.
#[no_mangle]
pub extern "C" fn tt_tape_start_at(tape: *mut tt_tape, offset: u64) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        let md5 = *t.md5.lock().unwrap_or_else(|e| e.into_inner());
        let result = t.sealed().and_then(|s| s.stream(offset, md5));
        match result {
            Ok(stream) => {
                *t.stream_guard() = Some(stream);
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}

/// Pulls the next event into `*out`: OK with an event, EOF after TAPE_COMPLETED (then `*out` is
/// untouched). A fatal status (30 and up) stops the stream: the message names the entry and what
/// went wrong; `tt_tape_start_at` starts a new stream.
#[no_mangle]
pub extern "C" fn tt_next_event(tape: *mut tt_tape, out: *mut tt_event) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        next_event(t, out, None)
    })
}

/// Like `tt_next_event`, but a DATA event's content is read straight into `buf[0..len]` when it
/// can be (file, buffer and read-at content after the entry's header): its `data` then points into
/// `buf`, so a consumer that needs the bytes in its own memory does not copy them again. Other DATA
/// events point into the tape's buffer as usual; compare `data` with `buf` to tell. While more of
/// the entry's content follows, such an event fills `buf` exactly (`data_len == len`). `buf` must
/// hold at least 64 KiB to be used, and stay valid until the next call on the tape.
#[no_mangle]
pub extern "C" fn tt_next_event_into(
    tape: *mut tt_tape,
    buf: *mut u8,
    len: usize,
    out: *mut tt_event,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: buf points to len writable bytes or is (NULL, 0).
        let Some(lent) = (unsafe { output(buf, len) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "buf is NULL with a length");
        };
        next_event(t, out, Some(lent))
    })
}

/// Reads the archive's next bytes into `buf[0..len]`, across entries, and stores how many in
/// `*out_n`: OK while bytes come (a read fills `buf` but for less than 4 KiB), EOF (with 0) at the
/// end; with any other status `*out_n` is untouched. For a consumer that wants the archive and not
/// the events (a pipe, a socket, an upload): headers and content are built in `buf` itself, without
/// the copy a consumer of `tt_next_event`'s data makes. Everything is checked as for the events (a
/// source that changed is a fatal status; with hashing on the MD5s are computed); bytes read before
/// an error are returned first and the status by the next call. An entry fed by push gives STATE:
/// its NEED_DATA is then the next `tt_next_event`; feed it and go on reading. `tt_read` and
/// `tt_next_event` may be mixed freely; `tt_tape_start_at` chooses where reading starts. A `len` of
/// 0 reads nothing and returns OK.
#[no_mangle]
pub extern "C" fn tt_read(
    tape: *mut tt_tape,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out_n.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out_n is NULL");
        }
        // SAFETY: buf points to len writable bytes or is (NULL, 0).
        let Some(buf) = (unsafe { output(buf, len) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "buf is NULL with a length");
        };
        let mut guard = t.stream_guard();
        let stream = match started(t, &mut guard) {
            Ok(s) => s,
            Err(status) => return status,
        };
        let read = stream.read(buf);
        match read {
            // SAFETY: out_n is non-NULL, checked above.
            Ok(n) => unsafe {
                *out_n = n;
                if n == 0 && !buf.is_empty() {
                    tt_status::Eof
                } else {
                    tt_status::Ok
                }
            },
            Err(e) => t.error.set(&e),
        }
    })
}

/// The tape's stream, started at 0 (sealing the tape) if none was.
fn started<'a>(
    t: &tt_tape,
    guard: &'a mut MutexGuard<'_, Option<Stream>>,
) -> Result<&'a mut Stream, tt_status> {
    if guard.is_none() {
        let md5 = *t.md5.lock().unwrap_or_else(|e| e.into_inner());
        match t.sealed().and_then(|s| s.stream(0, md5)) {
            Ok(s) => **guard = Some(s),
            Err(e) => return Err(t.error.set(&e)),
        }
    }
    Ok(guard.as_mut().expect("set above"))
}

fn next_event(t: &tt_tape, out: *mut tt_event, lent: Option<&mut [u8]>) -> tt_status {
    if out.is_null() {
        return t
            .error
            .set_message(tt_status::InvalidArgument, "out is NULL");
    }
    let mut guard = t.stream_guard();
    let stream = match started(t, &mut guard) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let tape_ref = stream.tape().clone();
    // Names point into the tape's table, which lives as long as the tape handle.
    let name_of = |i: usize| -> &[u8] { tape_ref.layout().name(i).unwrap_or(&[]) };
    let next = match lent {
        Some(buf) => stream.next_event_into(buf),
        None => stream.next_event(),
    };
    let event = match next {
        Ok(Some(e)) => e,
        Ok(None) => return tt_status::Eof,
        Err(e) => return t.error.set(&e),
    };
    let ev = match event {
        Event::FileStart {
            index,
            entry,
            header_offset,
            resumed,
        } => tt_event {
            kind: entry.kind.into(),
            index: index as u64,
            offset: header_offset,
            size: entry.size,
            name: name_of(index).as_ptr(),
            name_len: name_of(index).len(),
            resumed: u8::from(resumed),
            ..tt_event::empty(tt_event_type::FileStart)
        },
        Event::Data {
            index,
            offset,
            bytes,
        } => tt_event {
            index: index.map_or(u64::MAX, |i| i as u64),
            offset,
            data: bytes.as_ptr(),
            data_len: bytes.len(),
            ..tt_event::empty(tt_event_type::Data)
        },
        Event::NeedData {
            index,
            content_offset,
            remaining,
        } => tt_event {
            index: index as u64,
            offset: content_offset,
            size: remaining,
            ..tt_event::empty(tt_event_type::NeedData)
        },
        Event::FileEnd {
            index,
            entry,
            end_offset,
            md5,
        } => {
            let name = name_of(index);
            tt_event {
                kind: entry.kind.into(),
                size: entry.size,
                index: index as u64,
                offset: end_offset,
                name: name.as_ptr(),
                name_len: name.len(),
                md5: md5.unwrap_or([0; 16]),
                has_md5: u8::from(md5.is_some()),
                ..tt_event::empty(tt_event_type::FileEnd)
            }
        }
        Event::Completed => tt_event::empty(tt_event_type::TapeCompleted),
    };
    // SAFETY: out is non-NULL by the check above.
    unsafe { out.write(ev) };
    tt_status::Ok
}

/// Feeds the next chunk `data[0..len]` of the memory entry that asked for it with NEED_DATA. The
/// bytes are copied. A chunk longer than the bytes still owed is refused (SIZE_MISMATCH) before any
/// of it goes out, and stops the stream. STATE when no entry is waiting for data.
#[no_mangle]
pub extern "C" fn tt_feed(tape: *mut tt_tape, data: *const u8, len: usize) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: data points to len bytes or is (NULL, 0).
        let Some(chunk) = (unsafe { input(data, len) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "data is NULL with a length");
        };
        let mut guard = t.stream_guard();
        let result = match guard.as_mut() {
            Some(s) => s.feed(chunk),
            None => Err(Error::State(
                "no stream: no entry is waiting for data".into(),
            )),
        };
        t.error.result(result)
    })
}

/// Says the memory entry that asked for data has no more. Since it had not reached its declared
/// size, this is SIZE_MISMATCH and the stream stops: an archive is never padded silently.
#[no_mangle]
pub extern "C" fn tt_feed_end(tape: *mut tt_tape) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        let mut guard = t.stream_guard();
        let result = match guard.as_mut() {
            Some(s) => s.feed_end(),
            None => Err(Error::State(
                "no stream: no entry is waiting for data".into(),
            )),
        };
        t.error.result(result)
    })
}
