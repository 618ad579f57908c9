//! The archive reader at the C boundary: `tt_archive` (an open TAR or ZIP archive and its
//! listing) and `tt_member` (a reader of one member's content).
//!
//! Opening reports failure through its status; because there is no handle yet, the message goes
//! to an optional caller buffer (`msg_buf`, `msg_len`), like `snprintf`. After that, each handle
//! owns its last error message (`tt_archive_error_message`, `tt_member_error_message`).

use std::ffi::{c_char, c_int};
use std::path::Path;

use super::tape::{tt_compression, tt_entry_kind};
use super::{boundary, boundary_or, c_bytes, input, output, put, tt_status, LastError};
use crate::reader::{Archive, ArchiveEntry, Compression, EntryKind, Member};
use crate::Error;

/// An open archive: its listing and the file or bytes its members are read from. Create it with
/// `tt_archive_open` or `tt_archive_open_memory`, free it with `tt_archive_free`. Its functions may
/// be called from several threads at once (the error message is then the last one set by any).
#[allow(non_camel_case_types)]
pub struct tt_archive {
    archive: Archive,
    error: LastError,
}

/// A reader of one member's content, with a cursor. Create it with `tt_member_open`, free it with
/// `tt_member_free`. It keeps its archive's data alive, so it may outlive `tt_archive_free`. Use it
/// from one thread at a time.
#[allow(non_camel_case_types)]
pub struct tt_member {
    member: Member,
    error: LastError,
}

/// Bits of `tt_archive_entry_info.flags`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_archive_flag {
    /// The name is absolute, has a `..` component, a NUL, or is empty: unsafe to extract as is.
    UnsafeName = 1,
    /// The content is encrypted (reading gives `UNSUPPORTED`).
    Encrypted = 2,
    /// A sparse TAR member (its content is expanded when read).
    Sparse = 4,
    /// A ZIP member whose local header names it differently from its central directory record:
    /// tools that read the local headers would extract it under another name.
    NameMismatch = 8,
}

/// One entry of an archive's listing, filled by `tt_archive_entry`. `name` and `link` point into
/// the archive and stay valid until `tt_archive_free`; they are not NUL-terminated (use the
/// lengths) and may hold any bytes.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_archive_entry_info {
    /// The name's bytes (never NULL, may be empty).
    pub name: *const u8,
    /// The name's length.
    pub name_len: usize,
    /// The link target's bytes (never NULL; empty unless a link).
    pub link: *const u8,
    /// The link target's length.
    pub link_len: usize,
    /// A `tt_entry_kind` value.
    pub kind: u32,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, seconds since the epoch (UTC).
    pub mtime: i64,
    /// The content's real size (uncompressed, or expanded for sparse members).
    pub size: u64,
    /// The bytes the content occupies in the archive.
    pub compressed_size: u64,
    /// Compression method: 0 stored, 8 deflate, others as the ZIP header says.
    pub method: u32,
    /// CRC-32 of the content (ZIP; 0 for TAR).
    pub crc32: u32,
    /// Offset of the entry's first header.
    pub header_offset: u64,
    /// Offset of the entry's stored content.
    pub data_offset: u64,
    /// `tt_archive_flag` bits.
    pub flags: u32,
}

fn kind_code(kind: EntryKind) -> tt_entry_kind {
    match kind {
        EntryKind::File => tt_entry_kind::File,
        EntryKind::Dir => tt_entry_kind::Dir,
        EntryKind::Symlink => tt_entry_kind::Symlink,
        EntryKind::Hardlink => tt_entry_kind::Hardlink,
        EntryKind::CharDevice => tt_entry_kind::CharDevice,
        EntryKind::BlockDevice => tt_entry_kind::BlockDevice,
        EntryKind::Fifo => tt_entry_kind::Fifo,
        EntryKind::Other => tt_entry_kind::Other,
    }
}

fn c_entry(e: &ArchiveEntry) -> tt_archive_entry_info {
    tt_archive_entry_info {
        name: e.name.as_ptr(),
        name_len: e.name.len(),
        link: e.link.as_ptr(),
        link_len: e.link.len(),
        kind: kind_code(e.kind) as u32,
        mode: e.mode,
        mtime: e.mtime,
        size: e.size,
        compressed_size: e.compressed_size,
        method: u32::from(e.method),
        crc32: e.crc32,
        header_offset: e.header_offset,
        data_offset: e.data_offset,
        flags: (u32::from(e.unsafe_name) * tt_archive_flag::UnsafeName as u32)
            | (u32::from(e.encrypted) * tt_archive_flag::Encrypted as u32)
            | (u32::from(e.sparse) * tt_archive_flag::Sparse as u32)
            | (u32::from(e.name_mismatch) * tt_archive_flag::NameMismatch as u32),
    }
}

/// Writes `message` NUL-terminated into the caller's buffer, truncated to fit; NULL or 0 skips.
///
/// # Safety
/// When non-NULL, `buf` must point to `len` writable bytes.
unsafe fn write_message(buf: *mut c_char, len: usize, message: &str) {
    if buf.is_null() || len == 0 {
        return;
    }
    let text = message.replace('\0', "\\0");
    let n = text.len().min(len - 1);
    std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
    *buf.add(n) = 0;
}

/// Finishes an open: stores the handle in `*out` or reports the error.
///
/// # Safety
/// `out` must be valid for a write; `msg_buf` as in `write_message`.
unsafe fn finish_open(
    result: crate::Result<Archive>,
    msg_buf: *mut c_char,
    msg_len: usize,
    out: *mut *mut tt_archive,
) -> tt_status {
    match result {
        Ok(archive) => {
            *out = Box::into_raw(Box::new(tt_archive {
                archive,
                error: LastError::new(),
            }));
            tt_status::Ok
        }
        Err(e) => {
            write_message(msg_buf, msg_len, &e.to_string());
            tt_status::of(&e)
        }
    }
}

/// Opens the TAR or ZIP archive at `path` (a NUL-terminated byte path), detecting the format from
/// its content, and lists all its entries (bounded by the default limits: see docs/READER.md).
///
/// An archive compressed with gzip, zstd, xz or bzip2 (`.tar.gz`, `.tar.zst`, `.tar.xz`,
/// `.tar.bz2`) is detected by its magic bytes and read as what it decompresses to: opening decodes
/// it once (checking it, and recording restart points so that members far in are read without
/// decoding from the start; `tt_archive_save_index` saves them for `tt_archive_open_with_index`);
/// entry offsets are then offsets in the uncompressed bytes, and `tt_archive_compression` names
/// the compression. Truncated or corrupt compressed data gives
/// `CORRUPT`; one past the decompression limits (ratio 1000, 1 TiB, 256 MiB of decoder memory)
/// gives `LIMIT`, its message naming the limit.
///
/// On success `*out` receives a new archive the caller owns and frees with `tt_archive_free`; the
/// file stays open and must not change while in use. On failure `*out` is untouched, the status
/// says why (`IO`, `CORRUPT`, `LIMIT`, `UNSUPPORTED`...) and, when `msg_buf` is not NULL, the
/// message is written there NUL-terminated and truncated to `msg_len` bytes. `path` and `out` may
/// not be NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_open(
    path: *const c_char,
    msg_buf: *mut c_char,
    msg_len: usize,
    out: *mut *mut tt_archive,
) -> tt_status {
    boundary(|| unsafe {
        let Some(path) = c_bytes(path) else {
            write_message(msg_buf, msg_len, "path is NULL");
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            write_message(msg_buf, msg_len, "out is NULL");
            return tt_status::InvalidArgument;
        }
        let path = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path));
        finish_open(Archive::open(path), msg_buf, msg_len, out)
    })
}

/// Reads an archive from the `len` bytes at `buf`, which are copied: the caller may free `buf` as
/// soon as this returns. Ownership of `*out`, failure reporting and `msg_buf` as in
/// `tt_archive_open`. `(NULL, 0)` is an empty buffer (an empty TAR). Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_open_memory(
    buf: *const u8,
    len: usize,
    msg_buf: *mut c_char,
    msg_len: usize,
    out: *mut *mut tt_archive,
) -> tt_status {
    boundary(|| unsafe {
        let Some(bytes) = input(buf, len) else {
            write_message(msg_buf, msg_len, "buf is NULL with a nonzero length");
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            write_message(msg_buf, msg_len, "out is NULL");
            return tt_status::InvalidArgument;
        }
        finish_open(Archive::from_bytes(bytes.to_vec()), msg_buf, msg_len, out)
    })
}

/// Opens the compressed archive at `path` with the restart points that `tt_archive_save_index`
/// saved in the file `index_path` (both NUL-terminated byte paths), without the decoding pass
/// `tt_archive_open` makes: listing and member reads start from the saved points. The index must
/// be this archive's: its compressed length and the CRC-32 of all its bytes are checked (one read
/// of the file, no decoding); another archive's index, or this one's after the archive changed,
/// gives INVALID_ARGUMENT, a damaged index CORRUPT, an archive that is not compressed
/// INVALID_ARGUMENT. Ownership of `*out`, failure reporting and `msg_buf` as in
/// `tt_archive_open`. No pointer may be NULL but `msg_buf`. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_open_with_index(
    path: *const c_char,
    index_path: *const c_char,
    msg_buf: *mut c_char,
    msg_len: usize,
    out: *mut *mut tt_archive,
) -> tt_status {
    boundary(|| unsafe {
        let (Some(path), Some(index_path)) = (c_bytes(path), c_bytes(index_path)) else {
            write_message(msg_buf, msg_len, "path or index_path is NULL");
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            write_message(msg_buf, msg_len, "out is NULL");
            return tt_status::InvalidArgument;
        }
        let os = |b: &[u8]| -> std::path::PathBuf {
            Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b)).into()
        };
        let (path, index_path) = (os(path), os(index_path));
        let result = std::fs::read(&index_path)
            .map_err(|e| Error::io(&index_path, e))
            .and_then(|index| {
                Archive::open_with_index(&path, &index, crate::reader::Limits::default())
            });
        finish_open(result, msg_buf, msg_len, out)
    })
}

/// Saves the restart points of a compressed `archive` to `path` (a NUL-terminated byte path),
/// atomically (a temporary file beside it, then renamed), for `tt_archive_open_with_index`:
/// about 32 KiB per 4 MiB of a gzip archive, 24 bytes per point otherwise. INVALID_ARGUMENT for
/// an archive that is not compressed or a NULL pointer, IO when the file cannot be written.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_save_index(
    archive: *const tt_archive,
    path: *const c_char,
) -> tt_status {
    boundary(|| unsafe {
        let Some(a) = archive.as_ref() else {
            return tt_status::InvalidArgument;
        };
        let Some(path) = c_bytes(path) else {
            return a
                .error
                .set_message(tt_status::InvalidArgument, "path is NULL");
        };
        let path = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path));
        a.error.result(a.archive.save_index(path))
    })
}

/// The compression around `archive`, a `tt_compression` value: `TT_COMPRESSION_NONE` (0) for a
/// plain archive or a NULL `archive`. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_compression(archive: *const tt_archive) -> u32 {
    boundary_or(tt_compression::None as u32, || {
        let Some(a) = (unsafe { archive.as_ref() }) else {
            return tt_compression::None as u32;
        };
        (match a.archive.compression() {
            Compression::None => tt_compression::None,
            Compression::Gzip => tt_compression::Gzip,
            Compression::Zstd => tt_compression::Zstd,
            Compression::Xz => tt_compression::Xz,
            Compression::Bzip2 => tt_compression::Bzip2,
        }) as u32
    })
}

/// The number of entries of `archive`, or 0 when `archive` is NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_entry_count(archive: *const tt_archive) -> u64 {
    boundary_or(0, || unsafe {
        archive
            .as_ref()
            .map_or(0, |a| a.archive.entries().len() as u64)
    })
}

/// Fills `*out` with entry `index` of `archive`. The name and link pointers borrow from the
/// archive and stay valid until `tt_archive_free`. `NOT_FOUND` when `index` is out of range;
/// `INVALID_ARGUMENT` when `archive` or `out` is NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_entry(
    archive: *const tt_archive,
    index: u64,
    out: *mut tt_archive_entry_info,
) -> tt_status {
    boundary(|| unsafe {
        let Some(a) = archive.as_ref() else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return a
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        match usize::try_from(index)
            .ok()
            .and_then(|i| a.archive.entries().get(i))
        {
            Some(e) => {
                *out = c_entry(e);
                tt_status::Ok
            }
            None => a.error.result(Err(Error::NotFound(format!(
                "entry {index} (the archive has {})",
                a.archive.entries().len()
            )))),
        }
    })
}

/// Finds the last entry named by the `len` bytes at `name` (a trailing `/` is ignored on both
/// sides) and writes its index to `*index`. `NOT_FOUND` when there is none. `archive` and `index`
/// may not be NULL; `(NULL, 0)` is the empty name. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_archive_find(
    archive: *const tt_archive,
    name: *const u8,
    len: usize,
    index: *mut u64,
) -> tt_status {
    boundary(|| unsafe {
        let Some(a) = archive.as_ref() else {
            return tt_status::InvalidArgument;
        };
        let (Some(name), false) = (input(name, len), index.is_null()) else {
            return a
                .error
                .set_message(tt_status::InvalidArgument, "name or index is NULL");
        };
        match a.archive.find(name) {
            Some(i) => {
                *index = i as u64;
                tt_status::Ok
            }
            None => a.error.set(&Error::NotFound(format!(
                "no entry named {:?}",
                crate::error::show_name(name)
            ))),
        }
    })
}

/// Opens a reader of entry `index`'s content: `*out` receives a new member the caller owns and
/// frees with `tt_member_free`; it keeps the archive's data alive. `UNSUPPORTED` for an encrypted
/// member or a method other than stored and deflate, `LIMIT` past the inflation limits,
/// `NOT_FOUND` for an index out of range (the message is on `archive`). Thread-safe.
#[no_mangle]
pub extern "C" fn tt_member_open(
    archive: *const tt_archive,
    index: u64,
    out: *mut *mut tt_member,
) -> tt_status {
    boundary(|| unsafe {
        let Some(a) = archive.as_ref() else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return a
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        match a.archive.open_member(index) {
            Ok(member) => {
                *out = Box::into_raw(Box::new(tt_member {
                    member,
                    error: LastError::new(),
                }));
                tt_status::Ok
            }
            Err(e) => a.error.set(&e),
        }
    })
}

/// Reads up to `len` bytes of the member's content at its cursor into `buf` and writes the count
/// to `*nread`. At the end it returns `OK` with `*nread` = 0. A ZIP member's CRC-32 is checked
/// when the end is reached from the start (`CORRUPT` on mismatch). `(NULL, 0)` is an empty buffer.
/// One thread at a time per member.
#[no_mangle]
pub extern "C" fn tt_member_read(
    member: *mut tt_member,
    buf: *mut u8,
    len: usize,
    nread: *mut usize,
) -> tt_status {
    boundary(|| unsafe {
        let Some(m) = member.as_mut() else {
            return tt_status::InvalidArgument;
        };
        let (Some(buf), false) = (output(buf, len), nread.is_null()) else {
            return m
                .error
                .set_message(tt_status::InvalidArgument, "buf or nread is NULL");
        };
        match m.member.read_data(buf) {
            Ok(n) => {
                *nread = n;
                tt_status::Ok
            }
            Err(e) => m.error.set(&e),
        }
    })
}

/// Moves the member's cursor like `lseek`: `whence` is `SEEK_SET` (0), `SEEK_CUR` (1) or
/// `SEEK_END` (2); the new position goes to `*pos` (`pos` may be NULL). Past the end is allowed
/// (reads give 0 bytes); before the start is `INVALID_ARGUMENT`. Seeking a deflated member is
/// cheap, but the next read re-inflates from the start when moving backwards. One thread at a time
/// per member.
#[no_mangle]
pub extern "C" fn tt_member_seek(
    member: *mut tt_member,
    offset: i64,
    whence: c_int,
    pos: *mut u64,
) -> tt_status {
    boundary(|| unsafe {
        let Some(m) = member.as_mut() else {
            return tt_status::InvalidArgument;
        };
        let base = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => m.member.position(),
            libc::SEEK_END => m.member.len(),
            _ => {
                return m.error.set_message(
                    tt_status::InvalidArgument,
                    "whence is not SEEK_SET, SEEK_CUR or SEEK_END",
                )
            }
        };
        let Some(new) = base.checked_add_signed(offset) else {
            return m.error.set_message(
                tt_status::InvalidArgument,
                "seek before the start of the member",
            );
        };
        m.member.seek_to(new);
        put(pos, new);
        tt_status::Ok
    })
}

/// Frees a member. NULL is a no-op. The pointer is invalid afterwards.
#[no_mangle]
pub extern "C" fn tt_member_free(member: *mut tt_member) {
    boundary_or((), || unsafe {
        if !member.is_null() {
            drop(Box::from_raw(member));
        }
    })
}

/// Frees an archive; its entries' name and link pointers become invalid. Open members stay
/// usable until freed. NULL is a no-op.
#[no_mangle]
pub extern "C" fn tt_archive_free(archive: *mut tt_archive) {
    boundary_or((), || unsafe {
        if !archive.is_null() {
            drop(Box::from_raw(archive));
        }
    })
}

/// The message of the archive's last error: NUL-terminated, owned by the archive, valid until the
/// next call on it that fails or `tt_archive_free`. Empty when none; "" for NULL.
#[no_mangle]
pub extern "C" fn tt_archive_error_message(archive: *const tt_archive) -> *const c_char {
    boundary_or(c"".as_ptr(), || unsafe {
        archive.as_ref().map_or(c"".as_ptr(), |a| a.error.as_ptr())
    })
}

/// The message of the member's last error: NUL-terminated, owned by the member, valid until the
/// next call on it that fails or `tt_member_free`. Empty when none; "" for NULL.
#[no_mangle]
pub extern "C" fn tt_member_error_message(member: *const tt_member) -> *const c_char {
    boundary_or(c"".as_ptr(), || unsafe {
        member.as_ref().map_or(c"".as_ptr(), |m| m.error.as_ptr())
    })
}

/// Adds member `index` of `archive` to `tape` under `name[0..name_len]` (NULL: the member's own
/// name). Its bytes are read straight from the archive whenever the tape is streamed or read at
/// random, so a bundle is rebuilt or converted (ZIP to TAR and back) without extracting; the tape
/// keeps the archive's data alive, so the archive may be freed afterwards. Directories and symlinks
/// are copied as such. UNSUPPORTED for encrypted or compressed members (stream those through
/// `tt_add_from_memory` and a `tt_member`) and for special files.
#[no_mangle]
pub extern "C" fn tt_add_member(
    tape: *mut super::tape::tt_tape,
    archive: *const tt_archive,
    index: u64,
    name: *const u8,
    name_len: usize,
) -> tt_status {
    boundary(|| {
        // SAFETY: non-NULL handles come from tt_tape_new and tt_archive_open*.
        let (Some(t), Some(a)) = (unsafe { tape.as_ref() }, unsafe { archive.as_ref() }) else {
            return tt_status::InvalidArgument;
        };
        let name = if name.is_null() {
            None
        } else {
            // SAFETY: name points to name_len bytes.
            Some(unsafe { std::slice::from_raw_parts(name, name_len) })
        };
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        t.build(|b| b.add_member(&a.archive, index, name))
    })
}
