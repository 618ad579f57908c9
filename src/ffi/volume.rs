//! Volumes from C: fixed-size parts of a tape, each readable and seekable on its own with its
//! manifest, and locating an entry's parts.

use std::ffi::c_char;
use std::io::{Read, Seek, SeekFrom};

use crate::ffi::tape::{tape_ref, tt_tape};
use crate::ffi::{boundary, boundary_or, input, output, put, tt_status, LastError};
use crate::volume::{self, ManifestItem, Role, Volume};

/// One part of a tape. Opaque; open with `tt_volume_open`, free with `tt_volume_free`. It keeps
/// the tape's layout alive, so it stays valid after `tt_tape_free`. `tt_volume_read_at` may be
/// called from several threads at once; `tt_volume_read` and `tt_volume_seek` move a position and
/// must not run at the same time as each other.
#[allow(non_camel_case_types)]
pub struct tt_volume {
    volume: Volume,
    manifest: Vec<ManifestItem>,
    error: LastError,
}

/// How an entry lies in a part.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_role {
    /// Header to padding, all in this part.
    Whole = 0,
    /// Starts in this part and goes on in the next.
    Head = 1,
    /// Started in an earlier part and goes on after this one.
    Body = 2,
    /// Started in an earlier part and ends in this one.
    Tail = 3,
}

/// One entry of a part's manifest. Ranges are byte offsets within the part, end exclusive. `name`
/// (not NUL-terminated) lives as long as the volume.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_manifest_item {
    /// The entry's index in the tape.
    pub index: u64,
    /// Whole, head, body or tail.
    pub role: tt_role,
    /// The entry's bytes in the part: [range_start, range_end).
    pub range_start: u64,
    /// End of the entry's bytes in the part.
    pub range_end: u64,
    /// The entry's content bytes in the part: [content_start, content_end) (empty when none).
    pub content_start: u64,
    /// End of the content bytes in the part.
    pub content_end: u64,
    /// Which byte of the entry's content lies at `content_start`.
    pub content_offset: u64,
    /// The entry's content size.
    pub size: u64,
    /// The archive name.
    pub name: *const u8,
    /// Length of `name`.
    pub name_len: usize,
}

/// Where an entry lies in the archive and in parts of a given size.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_location {
    /// The entry's index.
    pub index: u64,
    /// Where its header starts.
    pub header_offset: u64,
    /// Where its content starts.
    pub data_offset: u64,
    /// Where it ends (padding included).
    pub end_offset: u64,
    /// Its content size.
    pub size: u64,
    /// The first part holding any of its bytes.
    pub first_part: u64,
    /// The last part holding any of its bytes.
    pub last_part: u64,
}

fn volume_ref<'a>(v: *const tt_volume) -> Option<&'a tt_volume> {
    // SAFETY: a non-NULL volume comes from tt_volume_open and outlives the call.
    unsafe { v.as_ref() }
}

/// Writes how many parts of `part_size` bytes (a positive multiple of 512) the archive makes.
#[no_mangle]
pub extern "C" fn tt_volume_count(tape: *mut tt_tape, part_size: u64, out: *mut u64) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        match t.sealed().and_then(|s| volume::count(&s, part_size)) {
            Ok(n) => {
                // SAFETY: out is non-NULL by the check above.
                unsafe { out.write(n) };
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}

/// Opens part `part` (0-based) of the archive cut in parts of `part_size` bytes, with its manifest.
/// Concatenated in order, the parts are exactly the archive. Errors are reported on the tape.
#[no_mangle]
pub extern "C" fn tt_volume_open(
    tape: *mut tt_tape,
    part_size: u64,
    part: u64,
    out: *mut *mut tt_volume,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        let opened = t.sealed().and_then(|s| {
            let manifest = volume::manifest(&s, part_size, part)?;
            Ok(tt_volume {
                volume: Volume::new(s, part_size, part)?,
                manifest,
                error: LastError::new(),
            })
        });
        match opened {
            Ok(v) => {
                // SAFETY: out is non-NULL by the check above.
                unsafe { out.write(Box::into_raw(Box::new(v))) };
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}

/// Frees a volume; NULL is a no-op.
#[no_mangle]
pub extern "C" fn tt_volume_free(volume: *mut tt_volume) {
    boundary_or((), || {
        if !volume.is_null() {
            // SAFETY: the volume came from tt_volume_open and is freed once.
            drop(unsafe { Box::from_raw(volume) });
        }
    })
}

/// The message of the last error on `volume` (see `tt_tape_error_message`).
#[no_mangle]
pub extern "C" fn tt_volume_error_message(volume: *const tt_volume) -> *const c_char {
    boundary_or(c"internal error".as_ptr(), || match volume_ref(volume) {
        Some(v) => v.error.as_ptr(),
        None => c"volume is NULL".as_ptr(),
    })
}

/// Copies the message of the most recent error on `volume` (see `tt_tape_error_copy`); thread-safe.
#[no_mangle]
pub extern "C" fn tt_volume_error_copy(
    volume: *const tt_volume,
    buf: *mut c_char,
    len: usize,
) -> usize {
    boundary_or(0, || {
        volume_ref(volume).map_or(0, |v| v.error.copy_to(buf, len))
    })
}

/// Writes where the part starts in the archive and its length (the last part may be shorter);
/// either pointer may be NULL.
#[no_mangle]
pub extern "C" fn tt_volume_range(
    volume: *const tt_volume,
    start: *mut u64,
    len: *mut u64,
) -> tt_status {
    boundary(|| {
        let Some(v) = volume_ref(volume) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: non-NULL out-pointers point to u64s, by the caller's contract.
        unsafe {
            put(start, v.volume.start());
            put(len, v.volume.len());
        }
        tt_status::Ok
    })
}

/// Reads up to `len` bytes at the volume's position into `buf`, advances it, and writes the count
/// to `*nread` (0 at the end of the part).
#[no_mangle]
pub extern "C" fn tt_volume_read(
    volume: *mut tt_volume,
    buf: *mut u8,
    len: usize,
    nread: *mut usize,
) -> tt_status {
    boundary(|| {
        // SAFETY: a non-NULL volume comes from tt_volume_open; reads and seeks are not concurrent
        // by the documented contract.
        let Some(v) = (unsafe { volume.as_mut() }) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: buf points to len writable bytes or is (NULL, 0).
        let (Some(buf), false) = (unsafe { output(buf, len) }, nread.is_null()) else {
            return v
                .error
                .set_message(tt_status::InvalidArgument, "buf or nread is NULL");
        };
        match v.volume.read(buf) {
            Ok(n) => {
                // SAFETY: nread is non-NULL by the check above.
                unsafe { nread.write(n) };
                tt_status::Ok
            }
            Err(e) => match e
                .into_inner()
                .and_then(|inner| inner.downcast::<crate::Error>().ok())
            {
                Some(err) => v.error.set(&err),
                None => v.error.set_message(tt_status::Io, "read failed"),
            },
        }
    })
}

/// Reads up to `len` bytes at `offset` within the part into `buf` without moving the position;
/// writes the count to `*nread`. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_volume_read_at(
    volume: *const tt_volume,
    offset: u64,
    buf: *mut u8,
    len: usize,
    nread: *mut usize,
) -> tt_status {
    boundary(|| {
        let Some(v) = volume_ref(volume) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: buf points to len writable bytes or is (NULL, 0).
        let (Some(buf), false) = (unsafe { output(buf, len) }, nread.is_null()) else {
            return v
                .error
                .set_message(tt_status::InvalidArgument, "buf or nread is NULL");
        };
        match v.volume.read_at(offset, buf) {
            Ok(n) => {
                // SAFETY: nread is non-NULL by the check above.
                unsafe { nread.write(n) };
                tt_status::Ok
            }
            Err(e) => v.error.set(&e),
        }
    })
}

/// Moves the volume's position like lseek: `whence` 0 (SEEK_SET), 1 (SEEK_CUR) or 2 (SEEK_END);
/// writes the new position to `*pos` (may be NULL). A position past the end reads 0 bytes.
#[no_mangle]
pub extern "C" fn tt_volume_seek(
    volume: *mut tt_volume,
    offset: i64,
    whence: i32,
    pos: *mut u64,
) -> tt_status {
    boundary(|| {
        // SAFETY: a non-NULL volume comes from tt_volume_open.
        let Some(v) = (unsafe { volume.as_mut() }) else {
            return tt_status::InvalidArgument;
        };
        let to = match whence {
            0 if offset >= 0 => SeekFrom::Start(offset as u64),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => {
                return v.error.set_message(
                    tt_status::InvalidArgument,
                    "whence must be 0, 1 or 2, and a SEEK_SET offset not negative",
                )
            }
        };
        match v.volume.seek(to) {
            Ok(p) => {
                // SAFETY: when non-NULL, pos points to a u64, by the caller's contract.
                unsafe { put(pos, p) };
                tt_status::Ok
            }
            Err(e) => v
                .error
                .set_message(tt_status::InvalidArgument, &e.to_string()),
        }
    })
}

/// Computes the MD5 of the part's bytes (reading the whole part) into `out[0..16]`.
#[no_mangle]
pub extern "C" fn tt_volume_md5(volume: *const tt_volume, out: *mut u8) -> tt_status {
    boundary(|| {
        let Some(v) = volume_ref(volume) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return v
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        match v.volume.md5() {
            Ok(d) => {
                // SAFETY: out points to 16 writable bytes by the documented contract.
                unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), out, 16) };
                tt_status::Ok
            }
            Err(e) => v.error.set(&e),
        }
    })
}

/// Writes the number of entries in the part's manifest to `*out`.
#[no_mangle]
pub extern "C" fn tt_volume_manifest_count(volume: *const tt_volume, out: *mut u64) -> tt_status {
    boundary(|| {
        let Some(v) = volume_ref(volume) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return v
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(v.manifest.len() as u64) };
        tt_status::Ok
    })
}

/// Writes manifest item `index` (0-based, in archive order) to `*out`; NOT_FOUND past the last.
#[no_mangle]
pub extern "C" fn tt_volume_manifest_item(
    volume: *const tt_volume,
    index: u64,
    out: *mut tt_manifest_item,
) -> tt_status {
    boundary(|| {
        let Some(v) = volume_ref(volume) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return v
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        let Some(m) = usize::try_from(index).ok().and_then(|i| v.manifest.get(i)) else {
            return v
                .error
                .set_message(tt_status::NotFound, &format!("no manifest item {index}"));
        };
        let item = tt_manifest_item {
            index: m.index as u64,
            role: match m.role {
                Role::Whole => tt_role::Whole,
                Role::Head => tt_role::Head,
                Role::Body => tt_role::Body,
                Role::Tail => tt_role::Tail,
            },
            range_start: m.range.0,
            range_end: m.range.1,
            content_start: m.content_range.0,
            content_end: m.content_range.1,
            content_offset: m.content_offset,
            size: m.size,
            name: m.name.as_ptr(),
            name_len: m.name.len(),
        };
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(item) };
        tt_status::Ok
    })
}

/// Finds the entry named `name[0..name_len]` and writes where it lies, and which parts of
/// `part_size` bytes hold it, to `*out`. NOT_FOUND when no entry has that name.
#[no_mangle]
pub extern "C" fn tt_tape_locate(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
    part_size: u64,
    out: *mut tt_location,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: name points to name_len bytes or is (NULL, 0).
        let (Some(name), false) = (unsafe { input(name, name_len) }, out.is_null()) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "name or out is NULL");
        };
        match t.sealed().and_then(|s| volume::locate(&s, name, part_size)) {
            Ok(l) => {
                let loc = tt_location {
                    index: l.index as u64,
                    header_offset: l.header_offset,
                    data_offset: l.data_offset,
                    end_offset: l.end_offset,
                    size: l.size,
                    first_part: l.first_part,
                    last_part: l.last_part,
                };
                // SAFETY: out is non-NULL by the check above.
                unsafe { out.write(loc) };
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}
