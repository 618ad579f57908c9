//! The tape handle: building, sealing, the layout's accessors, random access. Streaming it (events,
//! `tt_read`, feeding memory entries) is in stream.rs.

use std::ffi::{c_char, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::entry::EntryKind;
use crate::ffi::{boundary, boundary_or, c_bytes, input, output, put, tt_status, LastError};
use crate::source::{ReadAtSource, Source};
use crate::stream::Stream;
use crate::tape::{MemoryEntry, Tape, TapeBuilder};
use crate::{Compress, Compression, Error, Result};

/// A tape: entries are added, then it is sealed (explicitly or by the first event, read or size
/// query) and its layout is fixed. Opaque; create with `tt_tape_new`, free with `tt_tape_free`.
///
/// Threads: `tt_read_at` and the accessors of a sealed tape (`tt_tape_total_size`,
/// `tt_tape_entry_count`, `tt_tape_entry`) may be called from several threads at once, also while
/// another thread streams. Adding, sealing, `tt_tape_start_at`, `tt_next_event`, `tt_feed` and
/// `tt_feed_end` must not run at the same time as each other on one tape.
/// `tt_tape_record_frames` and `tt_tape_set_frame_threads` must not run at the same time as any
/// other call on the tape.
#[allow(non_camel_case_types)]
pub struct tt_tape {
    builder: Mutex<Option<TapeBuilder>>,
    sealed: OnceLock<Arc<Tape>>,
    stream: Mutex<Option<Stream>>,
    pub(super) md5: Mutex<bool>,
    skipped_c: OnceLock<Vec<(CString, &'static CStr)>>,
    pub(crate) fingerprint_c: OnceLock<CString>,
    /// Fingerprints given out before frames changed the tape's: kept, since their pointers are
    /// documented to live as long as the tape.
    retired_c: Vec<CString>,
    /// The frames' engine ("libzstd 1.5.7") as a C string, made once.
    pub(crate) frames_engine_c: OnceLock<CString>,
    pub(crate) error: LastError,
}

/// What kind of entry. A tape holds files, directories and symlinks; an archive being read
/// (`tt_archive_entry_info.kind`) may hold any of these.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_entry_kind {
    /// A regular file.
    File = 0,
    /// A directory.
    Dir = 1,
    /// A symbolic link.
    Symlink = 2,
    /// A hard link to the entry named by `link` (archives only).
    Hardlink = 3,
    /// A character device (archives only).
    CharDevice = 4,
    /// A block device (archives only).
    BlockDevice = 5,
    /// A named pipe (archives only).
    Fifo = 6,
    /// Anything else (archives only).
    Other = 7,
}

impl From<EntryKind> for tt_entry_kind {
    fn from(k: EntryKind) -> Self {
        match k {
            EntryKind::File => tt_entry_kind::File,
            EntryKind::Dir => tt_entry_kind::Dir,
            EntryKind::Symlink => tt_entry_kind::Symlink,
        }
    }
}

/// One entry of a sealed tape's layout, filled by `tt_tape_entry`. `name` and `link` live as long
/// as the tape and are not NUL-terminated.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_entry_info {
    /// File, directory or symlink.
    pub kind: tt_entry_kind,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Content size.
    pub size: u64,
    /// Where the header starts.
    pub header_offset: u64,
    /// Where the content starts.
    pub data_offset: u64,
    /// Where the entry (with padding) ends.
    pub end_offset: u64,
    /// The archive name.
    pub name: *const u8,
    /// Length of `name`.
    pub name_len: usize,
    /// The symlink target (empty for other kinds).
    pub link: *const u8,
    /// Length of `link`.
    pub link_len: usize,
    /// 1 when the entry's bytes can be read with `tt_read_at` (0 for memory entries fed by
    /// `tt_feed`).
    pub random_access: u8,
}

/// Reads up to `len` bytes of an entry's content at `offset` into `buf`. Returns how many bytes it
/// wrote (0 only at the end of the content), or -1 on failure. It may be called from any thread
/// that calls `tt_read_at` or streams the tape, at the same time.
#[allow(non_camel_case_types)]
pub type tt_read_at_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, offset: u64, buf: *mut u8, len: usize) -> i64,
>;

/// Frees a callback's `userdata` when the tape no longer needs it.
#[allow(non_camel_case_types)]
pub type tt_free_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A caller's read-at callback as a source.
pub(crate) struct CallbackSource {
    pub(crate) read: unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize) -> i64,
    pub(crate) userdata: *mut c_void,
    pub(crate) free: tt_free_fn,
}

// SAFETY: the header tells callers that the callback is called from several threads at once and
// must be thread-safe; `userdata` is only handed back to it.
unsafe impl Send for CallbackSource {}
// SAFETY: as above.
unsafe impl Sync for CallbackSource {}

impl ReadAtSource for CallbackSource {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` bytes; the callback's contract is in the header.
        let n = unsafe { (self.read)(self.userdata, offset, buf.as_mut_ptr(), buf.len()) };
        if n < 0 || n as u64 > buf.len() as u64 {
            return Err(std::io::Error::other(format!(
                "the read-at callback returned {n} for a buffer of {} bytes",
                buf.len()
            )));
        }
        Ok(n as usize)
    }
}

impl Drop for CallbackSource {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the caller gave us `userdata` with this function to free it, once.
            unsafe { free(self.userdata) };
        }
    }
}

impl tt_tape {
    pub(crate) fn building(&self) -> MutexGuard<'_, Option<TapeBuilder>> {
        self.builder.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn stream_guard(&self) -> MutexGuard<'_, Option<Stream>> {
        self.stream.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the builder; an error once sealed.
    pub(crate) fn build(&self, f: impl FnOnce(&mut TapeBuilder) -> Result<()>) -> tt_status {
        let mut guard = self.building();
        let result = match guard.as_mut() {
            Some(b) => f(b),
            None => Err(Error::State(
                "the tape is sealed: entries can no longer be added".into(),
            )),
        };
        self.error.result(result)
    }

    /// The sealed tape, sealing it now if needed.
    pub(crate) fn sealed(&self) -> Result<Arc<Tape>> {
        if let Some(t) = self.sealed.get() {
            return Ok(t.clone());
        }
        let mut guard = self.building();
        if let Some(t) = self.sealed.get() {
            return Ok(t.clone());
        }
        let builder = guard.as_ref().expect("a tape is either building or sealed");
        builder.check()?;
        let tape = guard.take().expect("checked above").seal()?;
        Ok(self.sealed.get_or_init(|| Arc::new(tape)).clone())
    }

    /// [`tt_tape::sealed`] without taking a reference: for the calls that run on many threads
    /// at once (`tt_read_at`), whose shared count would be a cache line every call writes.
    pub(crate) fn sealed_ref(&self) -> Result<&Tape> {
        if let Some(t) = self.sealed.get() {
            return Ok(t);
        }
        self.sealed()?;
        Ok(self.sealed.get().expect("sealed above"))
    }

    /// The sealed tape if it is sealed, without sealing it.
    pub(crate) fn sealed_if(&self) -> Option<&Tape> {
        self.sealed.get().map(|t| &**t)
    }

    /// The sealed tape (sealing it now if needed) for a change in place, such as recording its
    /// frames: only while nothing shares it (a stream started on this handle, a volume, a
    /// reader); STATE otherwise. The caller holds the handle alone (`&mut`).
    pub(crate) fn sealed_mut(&mut self, what: &str) -> Result<&mut Tape> {
        self.sealed()?;
        let shared = self.sealed.get_mut().expect("sealed above");
        Arc::get_mut(shared).ok_or_else(|| {
            Error::State(format!(
                "{what}: the tape is already in use by a stream or a volume (do it before the \
                 first stream, tt_tape_start_at or tt_volume_open)"
            ))
        })
    }

    /// Forgets the cached fingerprint after the tape's changed (the old string stays allocated).
    pub(crate) fn fingerprint_changed(&mut self) {
        if let Some(old) = self.fingerprint_c.take() {
            self.retired_c.push(old);
        }
    }

    /// Makes `tape` (opened from a catalog) this handle's sealed tape; the handle must be new.
    pub(crate) fn adopt(&self, tape: Tape) -> Result<()> {
        let mut guard = self.building();
        let fresh =
            guard.as_ref().is_some_and(|b| b.entries().is_empty()) && self.sealed.get().is_none();
        if !fresh {
            return Err(Error::State(
                "a catalog can only be opened into a new, empty tape".into(),
            ));
        }
        *guard = None;
        let _ = self.sealed.set(Arc::new(tape));
        Ok(())
    }

    /// The skipped files' paths and kinds as C strings, made once.
    fn skipped_c(&self, tape: &Tape) -> &[(CString, &'static CStr)] {
        self.skipped_c.get_or_init(|| {
            tape.skipped()
                .iter()
                .map(|s| {
                    let path =
                        CString::new(s.path.as_os_str().as_bytes().to_vec()).unwrap_or_default();
                    let kind = match s.kind {
                        "fifo" => c"fifo",
                        "socket" => c"socket",
                        "character device" => c"character device",
                        "block device" => c"block device",
                        _ => c"unknown file type",
                    };
                    (path, kind)
                })
                .collect()
        })
    }
}

/// Reads a name argument: `(NULL, 0)` is refused as empty by the engine.
unsafe fn name_arg<'a>(name: *const u8, name_len: usize) -> Result<&'a [u8]> {
    input(name, name_len).ok_or_else(|| Error::InvalidArgument("name is NULL".into()))
}

/// The tape behind a handle, or `None` for NULL.
pub(crate) fn tape_ref<'a>(tape: *const tt_tape) -> Option<&'a tt_tape> {
    // SAFETY: a non-NULL tape comes from tt_tape_new and outlives the call.
    unsafe { tape.as_ref() }
}

/// The tape of a call that takes a descriptor, or the status it returns: INVALID_ARGUMENT for a
/// NULL tape or a negative descriptor (named in the tape's error).
fn tape_and_fd<'a>(tape: *const tt_tape, fd: i32) -> std::result::Result<&'a tt_tape, tt_status> {
    let t = tape_ref(tape).ok_or(tt_status::InvalidArgument)?;
    if fd < 0 {
        return Err(t
            .error
            .set_message(tt_status::InvalidArgument, "fd is negative"));
    }
    Ok(t)
}

/// Creates an empty tape. Returns NULL only when memory is exhausted. Free it with `tt_tape_free`.
#[no_mangle]
pub extern "C" fn tt_tape_new() -> *mut tt_tape {
    boundary_or(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(tt_tape {
            builder: Mutex::new(Some(TapeBuilder::new())),
            sealed: OnceLock::new(),
            stream: Mutex::new(None),
            md5: Mutex::new(true),
            skipped_c: OnceLock::new(),
            fingerprint_c: OnceLock::new(),
            retired_c: Vec::new(),
            frames_engine_c: OnceLock::new(),
            error: LastError::new(),
        }))
    })
}

/// Frees a tape and everything it owns (borrowed names and event data become invalid). NULL is a
/// no-op. No other call on the tape may be running.
#[no_mangle]
pub extern "C" fn tt_tape_free(tape: *mut tt_tape) {
    boundary_or((), || {
        if !tape.is_null() {
            // SAFETY: the pointer came from tt_tape_new and is freed once, by the caller's contract.
            drop(unsafe { Box::from_raw(tape) });
        }
    })
}

/// The message of the most recent error on `tape`, NUL-terminated ("" before any error). Owned by
/// the tape and valid until the next call on it. When other threads may be calling `tt_read_at` on
/// the same tape, use `tt_tape_error_copy` instead: a failing call on another thread replaces the
/// message. NULL tape gives a static message.
#[no_mangle]
pub extern "C" fn tt_tape_error_message(tape: *const tt_tape) -> *const c_char {
    boundary_or(c"internal error".as_ptr(), || match tape_ref(tape) {
        Some(t) => t.error.as_ptr(),
        None => c"tape is NULL".as_ptr(),
    })
}

/// Copies the message of the most recent error on `tape` into `buf[0..len]` (cut to fit and always
/// NUL-terminated when `len > 0`; `buf` may be NULL with `len` 0 to ask for the length) and returns
/// the message's full length without the NUL. Thread-safe: use it when several threads call the
/// tape. Returns 0 for a NULL tape.
#[no_mangle]
pub extern "C" fn tt_tape_error_copy(tape: *const tt_tape, buf: *mut c_char, len: usize) -> usize {
    boundary_or(0, || match tape_ref(tape) {
        Some(t) => t.error.copy_to(buf, len),
        None => 0,
    })
}

/// Writes the number of entries added so far to `*out`, without sealing the tape: the index the next
/// added entry will have (a path added as a directory adds several). After sealing, the count.
#[no_mangle]
pub extern "C" fn tt_tape_added_count(tape: *const tt_tape, out: *mut u64) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        let n = match (t.building().as_ref(), t.sealed.get()) {
            (Some(b), _) => b.entries().len(),
            (None, Some(s)) => s.len(),
            (None, None) => 0,
        };
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(n as u64) };
        tt_status::Ok
    })
}

/// Sets options for paths added from now on: `keep_owners` nonzero keeps real uid, gid, user and
/// group names (default: 0, 0, "", ""); `strict` nonzero makes FIFOs, sockets and devices met in a
/// walk an UNSUPPORTED error (default: skipped and listed by `tt_tape_skipped`).
#[no_mangle]
pub extern "C" fn tt_tape_set_walk_options(
    tape: *mut tt_tape,
    keep_owners: i32,
    strict: i32,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            b.options_mut().keep_owners = keep_owners != 0;
            b.options_mut().strict = strict != 0;
            Ok(())
        })
    })
}

/// The archive format of a tape (`tt_tape_set_format`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_format {
    /// POSIX pax TAR (the default).
    Tar = 0,
    /// ZIP: stored entries with data descriptors, zip64 records only where needed. Random access,
    /// resume, volumes and locate work as for TAR.
    Zip = 1,
}

/// A compression around a whole archive: what `tt_archive_compression` reports of an archive
/// read, and what `tt_tape_set_compression` writes. Stable numbers.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_compression {
    /// Not compressed.
    None = 0,
    /// gzip (RFC 1952).
    Gzip = 1,
    /// Zstandard (RFC 8878).
    Zstd = 2,
    /// xz (read only).
    Xz = 3,
    /// bzip2 (read only).
    Bzip2 = 4,
}

/// Chooses the archive format, before the tape is sealed (STATE after). `format` is a
/// `tt_format` value passed as a fixed-width integer; an unknown value gives INVALID_ARGUMENT.
///
/// For ZIP, a data descriptor or central-directory byte read by `tt_read_at` (or a stream started
/// past an entry's first content byte) needs the entry's CRC-32: it is the recorded one
/// (checksums), or the one kept from an earlier stream, or it is computed then by reading the whole
/// entry once and kept (8 bytes per entry).
#[no_mangle]
pub extern "C" fn tt_tape_set_format(tape: *mut tt_tape, format: u32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        let Some(format) = crate::layout::Format::from_code(format) else {
            return t.error.set_message(
                tt_status::InvalidArgument,
                "unknown format: use TT_FORMAT_TAR (0) or TT_FORMAT_ZIP (1)",
            );
        };
        t.build(|b| {
            b.set_format(format);
            Ok(())
        })
    })
}

/// Sets the deflate level of a ZIP tape's file entries, before sealing: 0 stores them (the
/// default), 1 (fastest) to 9 (smallest) deflates them. The same input and level always give the
/// same bytes. A deflated tape is stream-only: `tt_tape_total_size`, `tt_read_at` and
/// `tt_tape_start_at` with an offset above 0 give NOT_RANDOM_ACCESS; event offsets are the real
/// ones. Streaming keeps 24 bytes per entry for the central directory. Ignored for TAR.
#[no_mangle]
pub extern "C" fn tt_tape_set_deflate(tape: *mut tt_tape, level: i32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            let level = u32::try_from(level).map_err(|_| {
                Error::InvalidArgument(format!("deflate level {level}: use 0 (stored) to 9"))
            })?;
            b.set_deflate(level)
        })
    })
}

/// Compresses the whole TAR stream, before sealing (STATE after): `compression` is a
/// `tt_compression` value, `TT_COMPRESSION_GZIP` or `TT_COMPRESSION_ZSTD` (`TT_COMPRESSION_NONE`
/// turns it off; XZ and BZIP2 are read only: UNSUPPORTED); `level` is 1 to 9 for gzip, 1 to 22
/// for zstd, 0 for the default (gzip 6, zstd 3); anything else is INVALID_ARGUMENT.
///
/// Like a deflated ZIP, a compressed tape is stream-only: `tt_tape_total_size`, `tt_read_at` and
/// `tt_tape_start_at` with an offset above 0 give NOT_RANDOM_ACCESS. Its DATA events carry
/// compressed bytes, their `offset` counting compressed bytes and their `index` UINT64_MAX (the
/// bytes mix entries); FILE_START and FILE_END keep the TAR's offsets. The same entries,
/// compression and level give the same bytes (for the library versions of docs/COMPRESSION.md:
/// gzip by libdeflate, in members of 4 MiB uncompressed, zstd by libzstd), whatever the number
/// of threads (`tt_tape_set_compression_threads`). A ZIP tape cannot be
/// compressed (its entries are deflated: `tt_tape_set_deflate`): sealing it gives
/// INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn tt_tape_set_compression(
    tape: *mut tt_tape,
    compression: u32,
    level: i32,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            let threads = b.compression().map_or(1, |c| c.threads());
            let kind = match compression {
                0 => {
                    b.set_compression(None);
                    return Ok(());
                }
                1 => Compression::Gzip,
                2 => Compression::Zstd,
                3 => Compression::Xz,
                4 => Compression::Bzip2,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "compression {other}: use a tt_compression value (0 to 4)"
                    )))
                }
            };
            b.set_compression(Some(Compress::new(kind, level)?.with_threads(threads)?));
            Ok(())
        })
    })
}

/// Sets the number of compression threads of a tape compressed with `tt_tape_set_compression`,
/// before sealing: 1 (the default: one thread compresses while the caller's thread builds the
/// TAR) to 256; zstd's workers, or the threads that compress gzip members. The bytes are the same
/// for any number. INVALID_ARGUMENT when no compression is set or `threads` is out of range;
/// STATE once sealed.
#[no_mangle]
pub extern "C" fn tt_tape_set_compression_threads(tape: *mut tt_tape, threads: u32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| match b.compression() {
            Some(c) => {
                b.set_compression(Some(c.with_threads(threads)?));
                Ok(())
            }
            None => Err(Error::InvalidArgument(
                "compression threads: set gzip or zstd compression first (tt_tape_set_compression)"
                    .into(),
            )),
        })
    })
}

/// Puts each file's content at a multiple of `align` bytes in the archive (a power of two from 512
/// to 65536; 0, the default, for none), before sealing: the header before it is padded with a
/// pax `comment` record every reader skips. A TAR option (sealing a ZIP tape with it is
/// INVALID_ARGUMENT); INVALID_ARGUMENT for another value; STATE once sealed.
#[no_mangle]
pub extern "C" fn tt_tape_set_align(tape: *mut tt_tape, align: u64) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| b.set_align(align))
    })
}

/// Switches MD5 hashing of file contents for FILE_END events (on by default). Applies to streams
/// started afterwards.
#[no_mangle]
pub extern "C" fn tt_tape_set_md5(tape: *mut tt_tape, enabled: i32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        *t.md5.lock().unwrap_or_else(|e| e.into_inner()) = enabled != 0;
        tt_status::Ok
    })
}

/// Adds a file, symlink (stored as a link, never followed) or directory (recursively, names sorted
/// byte-wise, each directory before its contents). `path` is NUL-terminated. `name` is the name in
/// the archive; NULL uses the path's last component. On error nothing of this path is added.
#[no_mangle]
pub extern "C" fn tt_add_path(
    tape: *mut tt_tape,
    path: *const c_char,
    name: *const u8,
    name_len: usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: the caller passes a NUL-terminated path or NULL.
        let Some(path) = (unsafe { c_bytes(path) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "path is NULL");
        };
        // SAFETY: name is NULL or points to name_len bytes.
        let name = if name.is_null() {
            None
        } else {
            Some(unsafe { std::slice::from_raw_parts(name, name_len) })
        };
        t.build(|b| b.add_path(Path::new(OsStr::from_bytes(path)), name))
    })
}

/// Declares a memory entry of exactly `size` bytes whose content the caller feeds with `tt_feed`
/// when the stream reaches it (a NEED_DATA event). Its bytes cannot be read with `tt_read_at`.
#[no_mangle]
pub extern "C" fn tt_add_from_memory(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
    size: u64,
    mode: u32,
    mtime: i64,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            // SAFETY: name points to name_len bytes.
            let name = unsafe { name_arg(name, name_len) }?;
            b.add_push(name, size, mode, mtime)
        })
    })
}

/// Adds a file whose content is `data[0..len]`, copied now. `(NULL, 0)` is an empty file.
#[no_mangle]
pub extern "C" fn tt_add_bytes(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
    data: *const u8,
    len: usize,
    mode: u32,
    mtime: i64,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            // SAFETY: name points to name_len bytes, data to len bytes.
            let name = unsafe { name_arg(name, name_len) }?;
            let data = unsafe { input(data, len) }
                .ok_or_else(|| Error::InvalidArgument("data is NULL with a length".into()))?;
            b.add_bytes(name, data, mode, mtime)
        })
    })
}

/// Adds a file of `size` bytes read through `read` (which may be called many times, from several
/// threads, at any offset). `free_userdata`, if not NULL, is called once with `userdata` when the
/// tape no longer needs it, also when this call fails.
#[no_mangle]
pub extern "C" fn tt_add_read_at(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
    size: u64,
    mode: u32,
    mtime: i64,
    read: tt_read_at_fn,
    userdata: *mut c_void,
    free_userdata: tt_free_fn,
) -> tt_status {
    boundary(|| {
        let source = read.map(|read| CallbackSource {
            read,
            userdata,
            free: free_userdata,
        });
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        let Some(source) = source else {
            if let Some(free) = free_userdata {
                // SAFETY: the caller gave us userdata with this function to free it.
                unsafe { free(userdata) };
            }
            return t
                .error
                .set_message(tt_status::InvalidArgument, "read callback is NULL");
        };
        t.build(|b| {
            // SAFETY: name points to name_len bytes.
            let name = unsafe { name_arg(name, name_len) }?;
            b.add_read_at(name, size, mode, mtime, Arc::new(source))
        })
    })
}

/// Adds a directory entry with no source on disk.
#[no_mangle]
pub extern "C" fn tt_add_directory(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
    mode: u32,
    mtime: i64,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            // SAFETY: name points to name_len bytes.
            let name = unsafe { name_arg(name, name_len) }?;
            let mut meta = MemoryEntry::file(name, 0, mode, mtime);
            meta.kind = EntryKind::Dir;
            b.add(meta, Source::Empty)
        })
    })
}

/// Adds a symlink entry pointing to `target[0..target_len]`, with no source on disk.
#[no_mangle]
pub extern "C" fn tt_add_symlink(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
    target: *const u8,
    target_len: usize,
    mtime: i64,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            // SAFETY: name and target point to their lengths in bytes.
            let name = unsafe { name_arg(name, name_len) }?;
            let target = unsafe { input(target, target_len) }
                .ok_or_else(|| Error::InvalidArgument("target is NULL".into()))?;
            let mut meta = MemoryEntry::file(name, 0, 0o777, mtime);
            meta.kind = EntryKind::Symlink;
            meta.link = target.to_vec();
            b.add(meta, Source::Empty)
        })
    })
}

/// Seals the tape: its layout (every offset, the total size) is fixed; no entry can be added.
/// Sealing twice is OK. Fails with INVALID_NAME when two entries have the same name.
#[no_mangle]
pub extern "C" fn tt_tape_seal(tape: *mut tt_tape) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.error.result(t.sealed().map(|_| ()))
    })
}

/// Writes the archive's total size in bytes to `*out` (sealing the tape). A ZIP with deflated
/// entries gives NOT_RANDOM_ACCESS: its size is known only once streamed.
#[no_mangle]
pub extern "C" fn tt_tape_total_size(tape: *const tt_tape, out: *mut u64) -> tt_status {
    sealed_query(tape, out, |t| t.size())
}

/// Writes the number of entries to `*out` (sealing the tape).
#[no_mangle]
pub extern "C" fn tt_tape_entry_count(tape: *const tt_tape, out: *mut u64) -> tt_status {
    sealed_query(tape, out, |t| Ok(t.len() as u64))
}

/// Writes the number of special files left out of walks to `*out` (sealing the tape); see
/// `tt_tape_skipped`.
#[no_mangle]
pub extern "C" fn tt_tape_skipped_count(tape: *const tt_tape, out: *mut u64) -> tt_status {
    sealed_query(tape, out, |t| Ok(t.skipped().len() as u64))
}

fn sealed_query(
    tape: *const tt_tape,
    out: *mut u64,
    f: impl FnOnce(&Tape) -> Result<u64>,
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
        match t.sealed().and_then(|sealed| f(&sealed)) {
            Ok(value) => {
                // SAFETY: out is non-NULL and points to a u64 by the caller's contract.
                unsafe { out.write(value) };
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}

/// Writes the special file skipped at `index` (0-based): `*path` is its NUL-terminated path and
/// `*kind` a static NUL-terminated word ("fifo", "socket", "character device", "block device"),
/// both valid as long as the tape. NOT_FOUND past the last one.
#[no_mangle]
pub extern "C" fn tt_tape_skipped(
    tape: *const tt_tape,
    index: u64,
    path: *mut *const c_char,
    kind: *mut *const c_char,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if path.is_null() || kind.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "path or kind is NULL");
        }
        let sealed = match t.sealed() {
            Ok(s) => s,
            Err(e) => return t.error.set(&e),
        };
        let skipped = t.skipped_c(&sealed);
        let Some((c_path, c_kind)) = usize::try_from(index).ok().and_then(|i| skipped.get(i))
        else {
            return t.error.set_message(
                tt_status::NotFound,
                &format!("no skipped file at index {index}"),
            );
        };
        // SAFETY: both out-pointers are non-NULL; the strings live in the sealed tape.
        unsafe {
            path.write(c_path.as_ptr());
            kind.write(c_kind.as_ptr());
        }
        tt_status::Ok
    })
}

/// Writes the layout of the entry at `index` to `*out` (sealing the tape). NOT_FOUND past the last.
/// Thread-safe on a sealed tape.
#[no_mangle]
pub extern "C" fn tt_tape_entry(
    tape: *const tt_tape,
    index: u64,
    out: *mut tt_entry_info,
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
        let sealed = match t.sealed() {
            Ok(s) => s,
            Err(e) => return t.error.set(&e),
        };
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        if i >= sealed.len() {
            return t
                .error
                .set_message(tt_status::NotFound, &format!("no entry at index {index}"));
        }
        let described = sealed.slot(i).and_then(|slot| {
            let (name, link) = sealed.layout().name_and_link(i)?;
            Ok((slot, name, link))
        });
        let (slot, name, link) = match described {
            Ok(d) => d,
            Err(e) => return t.error.set(&e),
        };
        let e = &slot.entry;
        let info = tt_entry_info {
            kind: e.kind.into(),
            mode: e.mode,
            mtime: e.mtime,
            size: e.size,
            header_offset: slot.header_offset,
            data_offset: slot.data_offset(),
            end_offset: slot.end_offset(),
            name: name.as_ptr(),
            name_len: name.len(),
            link: link.as_ptr(),
            link_len: link.len(),
            random_access: u8::from(e.source.is_random_access()),
        };
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(info) };
        tt_status::Ok
    })
}

/// Writes the whole archive into the regular file open for writing at descriptor `fd`, from its
/// offset 0 (the file's own offset is not used or moved; it is not truncated or synced): headers
/// from memory, each file's content copied in the kernel with copy_file_range (through memory
/// where the kernel refuses), every source checked as a stream checks it. `*copied_in_kernel`
/// (may be NULL) gets how many content bytes the kernel copied. Seals the tape. A TAR tape only:
/// INVALID_ARGUMENT for a ZIP, NOT_RANDOM_ACCESS for a compressed tape; CHANGED (and a file that
/// must not be kept) when a source changed.
#[no_mangle]
pub extern "C" fn tt_tape_copy_into(
    tape: *mut tt_tape,
    fd: i32,
    copied_in_kernel: *mut u64,
) -> tt_status {
    boundary(|| {
        let t = match tape_and_fd(tape, fd) {
            Ok(t) => t,
            Err(status) => return status,
        };
        // SAFETY: the caller's open descriptor, borrowed for this call: ManuallyDrop never closes it.
        let out = std::mem::ManuallyDrop::new(unsafe {
            <std::fs::File as std::os::unix::io::FromRawFd>::from_raw_fd(fd)
        });
        let result = t.sealed().and_then(|s| s.copy_into(&out, &mut |_| {}));
        match result {
            Ok(report) => {
                // SAFETY: when non-NULL, the caller promises a writable u64.
                unsafe { put(copied_in_kernel, report.copied_in_kernel) };
                tt_status::Ok
            }
            Err(e) => t.error.result(Err(e)),
        }
    })
}

/// Walks each of the `count` NUL-terminated `paths` (each under its last component, as
/// `tt_add_path` with no name) and writes to descriptor `fd` (a pipe, socket or file, written from
/// its current position) the TAR that adding them, sealing and streaming would give, byte for
/// byte, while the walk goes: the first bytes go out at once, and the walk runs on other threads
/// beside the reading. The tape handle gives the options only (`tt_tape_set_walk_options`): it must
/// hold no entry and stays as it was. `*written` (may be NULL) gets the bytes written.
///
/// The total size is not known before the first byte (seal a tape for that), special files are
/// left out without being listed, and an error (a directory that cannot be listed, a file changed
/// after the walk saw it: CHANGED, the descriptor failing: IO) stops the writing where it has got
/// to: what was written is the archive's beginning, without its end, and must not be kept.
/// INVALID_ARGUMENT for a ZIP, compressed or aligned tape, STATE for a tape with entries or sealed.
#[no_mangle]
pub extern "C" fn tt_tape_stream_paths(
    tape: *mut tt_tape,
    paths: *const *const c_char,
    count: usize,
    fd: i32,
    written: *mut u64,
) -> tt_status {
    boundary(|| {
        let t = match tape_and_fd(tape, fd) {
            Ok(t) => t,
            Err(status) => return status,
        };
        if count > 0 && paths.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "paths is NULL");
        }
        let mut list = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: paths points to count pointers, each NULL or NUL-terminated.
            let Some(p) = (unsafe { c_bytes(*paths.add(i)) }) else {
                return t
                    .error
                    .set_message(tt_status::InvalidArgument, &format!("paths[{i}] is NULL"));
            };
            list.push(Path::new(OsStr::from_bytes(p)));
        }
        // SAFETY: the caller's open descriptor, borrowed for this call: ManuallyDrop never closes it.
        let mut out = FdWriter(std::mem::ManuallyDrop::new(unsafe {
            <std::fs::File as std::os::unix::io::FromRawFd>::from_raw_fd(fd)
        }));
        let guard = t.building();
        let result = match guard.as_ref() {
            Some(b) => b.stream_paths(&list, &mut out, &mut |_| {}),
            None => Err(Error::State(
                "the tape is sealed: stream_paths needs a tape that holds no entry".into(),
            )),
        };
        drop(guard);
        match result {
            Ok(streamed) => {
                // SAFETY: when non-NULL, the caller promises a writable u64.
                unsafe { put(written, streamed.bytes) };
                tt_status::Ok
            }
            Err(e) => t.error.result(Err(e)),
        }
    })
}

/// A caller's descriptor as a writer that also takes non-blocking ones (Go's pipes and sockets
/// are): a write that would block waits in `poll` until the descriptor takes more.
struct FdWriter(std::mem::ManuallyDrop<std::fs::File>);

impl std::io::Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match std::io::Write::write(&mut &*self.0, buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let mut p = libc::pollfd {
                        fd: std::os::unix::io::AsRawFd::as_raw_fd(&*self.0),
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one pollfd owned by this frame.
                    if unsafe { libc::poll(&mut p, 1, -1) } < 0 {
                        let e = std::io::Error::last_os_error();
                        if e.kind() != std::io::ErrorKind::Interrupted {
                            return Err(e);
                        }
                    }
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fills `buf[0..len]` with the archive bytes at `offset` and writes how many it filled to
/// `*nread`: `len` unless the archive ends first, 0 at or past the end. Reads only the sources that
/// overlap the range (a binary search over the layout). Seals the tape.
///
/// Thread-safe: many threads may call it at once on one tape, also while another streams. On
/// error (a memory entry fed by `tt_feed` lies in the range: NOT_RANDOM_ACCESS; a changed source:
/// CHANGED) `*nread` is untouched, and with concurrent calls the tape's message is that of one of
/// the failing calls.
#[no_mangle]
pub extern "C" fn tt_read_at(
    tape: *const tt_tape,
    offset: u64,
    buf: *mut u8,
    len: usize,
    nread: *mut usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if nread.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "nread is NULL");
        }
        // SAFETY: buf points to len writable bytes or is (NULL, 0).
        let Some(buf) = (unsafe { output(buf, len) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "buf is NULL with a length");
        };
        match t.sealed_ref().and_then(|s| s.read_at(offset, buf)) {
            Ok(n) => {
                // SAFETY: nread is non-NULL by the check above.
                unsafe { nread.write(n) };
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}
