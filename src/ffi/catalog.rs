//! Catalogs from C: recording checksums, saving, opening, fingerprints, binding memory entries
//! again, and verification reports.

use std::ffi::{c_char, c_void, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use crate::ffi::tape::{tape_ref, tt_free_fn, tt_read_at_fn, tt_tape, CallbackSource};
use crate::ffi::{boundary, boundary_or, c_bytes, input, put, tt_status};
use crate::source::Source;
use crate::verify::{Problem, Report};
use crate::{Checksums, Error, Tape};

/// A verification report: every discrepancy between a tape and the disk. Opaque; free it with
/// `tt_report_free`. Immutable, so any number of threads may read it at once.
#[allow(non_camel_case_types)]
pub struct tt_report {
    report: Report,
    texts: Vec<(CString, CString)>,
}

/// One discrepancy of a report. `name` (not NUL-terminated), `expected` and `found`
/// (NUL-terminated, human-readable) live as long as the report.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_discrepancy {
    /// What differs: 1 missing, 2 kind, 3 size, 4 mtime, 5 replaced, 6 mode, 7 link target,
    /// 8 content (deep), 9 unrecorded (on disk, not in the tape), 10 unreadable.
    pub problem: u32,
    /// The archive name.
    pub name: *const u8,
    /// Length of `name`.
    pub name_len: usize,
    /// A word for `problem` ("missing", "size", ...), static.
    pub problem_name: *const c_char,
    /// What the tape recorded.
    pub expected: *const c_char,
    /// What the disk holds.
    pub found: *const c_char,
}

fn path_arg<'a>(t: &tt_tape, path: *const c_char) -> Result<&'a Path, tt_status> {
    // SAFETY: the caller passes a NUL-terminated path or NULL.
    match unsafe { c_bytes(path) } {
        Some(p) => Ok(Path::new(OsStr::from_bytes(p))),
        None => Err(t
            .error
            .set_message(tt_status::InvalidArgument, "path is NULL")),
    }
}

/// Records the MD5 and CRC-32 of every file when the tape is sealed (reading each file once, on two
/// threads), so FILE_END reports the MD5 even of a resumed entry, a stream notices content that
/// changed without its size or mtime changing, and deep verification can compare content.
/// `tt_tape_record_checksums` chooses among MD5, CRC-32, SHA-256 and CRC-32C.
#[no_mangle]
pub extern "C" fn tt_tape_set_checksums(tape: *mut tt_tape, enabled: i32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            b.set_checksums(enabled != 0);
            Ok(())
        })
    })
}

/// A checksum algorithm of file contents, as a bit: `tt_tape_record_checksums` takes a set of them
/// (OR-ed together), `tt_tape_entry_checksum` one. Stable numbers.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tt_checksum {
    /// MD5 (16 bytes).
    Md5 = 1,
    /// CRC-32, ZIP's and S3's CRC32 (4 bytes).
    Crc32 = 2,
    /// SHA-256 (32 bytes).
    Sha256 = 4,
    /// CRC-32C, Castagnoli, S3's CRC32C (4 bytes).
    Crc32c = 8,
}

/// Records the checksums in `checksums` (`tt_checksum` bits OR-ed together: MD5, CRC32, SHA256,
/// CRC32C; 0 for none, the default) of every file when the tape is sealed, reading each file once
/// on two threads. `tt_tape_set_checksums(tape, 1)` is `TT_CHECKSUM_MD5 | TT_CHECKSUM_CRC32`.
/// Catalogs keep them (a catalog with SHA-256 or CRC-32C is written in format version 2, which
/// earlier builds refuse with UNSUPPORTED), `tt_tape_entry_checksum` gives them (at FILE_END, for
/// the event's `index`), and deep verification compares each with the disk. An unknown bit is
/// INVALID_ARGUMENT; STATE once the tape is sealed.
#[no_mangle]
pub extern "C" fn tt_tape_record_checksums(tape: *mut tt_tape, checksums: u32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.build(|b| {
            let which = Checksums::from_bits(checksums).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "checksums {checksums:#x}: use tt_checksum bits (1, 2, 4, 8)"
                ))
            })?;
            b.record_checksums(which);
            Ok(())
        })
    })
}

/// Writes the `checksum` (one `tt_checksum` value) recorded for entry `index` to
/// `out[0..out_len]` and its length to `*written` (either may be NULL to ask for the length
/// only): 16 bytes for MD5, 32 for SHA-256, 4 for CRC-32 and CRC-32C (big-endian, as S3's
/// checksum headers and the hex of `tartape verify` write them). NOT_FOUND when the entry has
/// none recorded, without a message (the tape's message is left as it was: this is an answer,
/// not a failure), or past the last entry; INVALID_ARGUMENT for an unknown `checksum` or an
/// `out_len` below the length, with nothing written. Seals the tape.
/// Thread-safe on a sealed tape: at a FILE_END event, pass the event's `index`.
#[no_mangle]
pub extern "C" fn tt_tape_entry_checksum(
    tape: *const tt_tape,
    index: u64,
    checksum: u32,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
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
        let layout = sealed.layout();
        let digest: crate::Result<Option<Vec<u8>>> = match checksum {
            1 => layout.recorded_md5(i).map(|d| d.map(|d| d.to_vec())),
            2 => layout
                .recorded_crc32(i)
                .map(|d| d.map(|c| c.to_be_bytes().to_vec())),
            4 => layout.recorded_sha256(i).map(|d| d.map(|d| d.to_vec())),
            8 => layout
                .recorded_crc32c(i)
                .map(|d| d.map(|c| c.to_be_bytes().to_vec())),
            other => {
                return t.error.set_message(
                    tt_status::InvalidArgument,
                    &format!("checksum {other}: use one tt_checksum value (1, 2, 4 or 8)"),
                )
            }
        };
        let digest = match digest {
            Ok(Some(d)) => d,
            // An answer, not a failure: the tape's message is left as it is, so that asking at
            // every FILE_END does not replace the message of a call failing on another thread.
            Ok(None) => return tt_status::NotFound,
            Err(e) => return t.error.set(&e),
        };
        if !out.is_null() && out_len < digest.len() {
            return t.error.set_message(
                tt_status::InvalidArgument,
                &format!(
                    "out_len {out_len}: this checksum needs {} bytes",
                    digest.len()
                ),
            );
        }
        if !out.is_null() {
            // SAFETY: out points to out_len >= digest.len() writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(digest.as_ptr(), out, digest.len()) };
        }
        // SAFETY: a non-NULL `written` points to a size_t.
        unsafe { put(written, digest.len()) };
        tt_status::Ok
    })
}

/// Leaves out every file or directory named `name[0..name_len]` (one path component, such as
/// `.git`) from paths added afterwards. Verification does not report them either.
#[no_mangle]
pub extern "C" fn tt_tape_add_exclude(
    tape: *mut tt_tape,
    name: *const u8,
    name_len: usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: name points to name_len bytes or is (NULL, 0).
        let Some(name) =
            (unsafe { input(name, name_len) }).filter(|n| !n.is_empty() && !n.contains(&b'/'))
        else {
            return t.error.set_message(
                tt_status::InvalidArgument,
                "exclude name must be one non-empty path component",
            );
        };
        t.build(|b| {
            b.options_mut().exclude.push(name.to_vec());
            Ok(())
        })
    })
}

/// Saves the tape (sealing it) to a catalog file at `path`, atomically: a temporary file beside
/// it is written, synced and renamed, so `path` never holds a partial catalog.
#[no_mangle]
pub extern "C" fn tt_tape_save_catalog(tape: *mut tt_tape, path: *const c_char) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        let path = match path_arg(t, path) {
            Ok(p) => p,
            Err(st) => return st,
        };
        t.error.result(t.sealed().and_then(|s| s.save(path)))
    })
}

/// Opens the catalog at `path` into `tape`, which must be new (nothing added): the tape is then
/// sealed with the recorded layout, and streams and reads give the recorded bytes. Sources are not
/// rescanned; each is checked when its bytes are read. CORRUPT for a truncated or altered catalog,
/// UNSUPPORTED for another format version.
#[no_mangle]
pub extern "C" fn tt_tape_open_catalog(tape: *mut tt_tape, path: *const c_char) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        let path = match path_arg(t, path) {
            Ok(p) => p,
            Err(st) => return st,
        };
        t.error
            .result(Tape::open(path).and_then(|opened| t.adopt(opened)))
    })
}

/// Opens a catalog held in memory (`len` bytes at `data`, as `tt_tape_save_catalog` wrote them:
/// fetched from object storage, shipped to a worker) into `tape`, which must be new. The bytes are
/// copied, so the caller may free them on return; everything else is as `tt_tape_open_catalog`.
#[no_mangle]
pub extern "C" fn tt_tape_open_catalog_bytes(
    tape: *mut tt_tape,
    data: *const u8,
    len: usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: the caller promises `len` readable bytes at `data` for this call.
        let Some(bytes) = (unsafe { input(data, len) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "data is NULL");
        };
        t.error
            .result(Tape::open_bytes(bytes.to_vec()).and_then(|opened| t.adopt(opened)))
    })
}

/// Checks every byte of an opened catalog now (opening checks its header and size; the entry table
/// is otherwise checked chunk by chunk as it is used). OK for a tape that was not opened.
#[no_mangle]
pub extern "C" fn tt_tape_check_catalog(tape: *mut tt_tape) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        t.error.result(t.sealed().and_then(|s| s.check_catalog()))
    })
}

/// Writes to `*out` the tape's fingerprint (sealing it): 32 lowercase hex digits, NUL-terminated,
/// owned by the tape and valid as long as it. It changes exactly when the archive's bytes would.
#[no_mangle]
pub extern "C" fn tt_tape_fingerprint(tape: *mut tt_tape, out: *mut *const c_char) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        if t.fingerprint_c.get().is_none() {
            match t.sealed().and_then(|s| s.fingerprint()) {
                Ok(f) => {
                    let _ = t.fingerprint_c.set(CString::new(f).unwrap_or_default());
                }
                Err(e) => return t.error.set(&e),
            }
        }
        let f = t.fingerprint_c.get().expect("set above");
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(f.as_ptr()) };
        tt_status::Ok
    })
}

/// Supplies again the bytes of memory entry `index` of an opened catalog whose content the catalog
/// could not keep (buffers over 64 KiB and read-at sources): `data[0..len]`, copied, of exactly the
/// entry's size.
#[no_mangle]
pub extern "C" fn tt_tape_bind_bytes(
    tape: *mut tt_tape,
    index: u64,
    data: *const u8,
    len: usize,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: data points to len bytes or is (NULL, 0).
        let Some(data) = (unsafe { input(data, len) }) else {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "data is NULL with a length");
        };
        let result = t
            .sealed()
            .and_then(|s| s.bind(index_arg(index)?, Source::Bytes(Arc::from(data))));
        t.error.result(result)
    })
}

/// Like `tt_tape_bind_bytes`, with a read-at callback (see `tt_add_read_at` for its rules).
/// `free_userdata` is called once when the tape no longer needs `userdata`, also on failure.
#[no_mangle]
pub extern "C" fn tt_tape_bind_read_at(
    tape: *mut tt_tape,
    index: u64,
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
                // SAFETY: the caller gave userdata with this function to free it.
                unsafe { free(userdata) };
            }
            return t
                .error
                .set_message(tt_status::InvalidArgument, "read callback is NULL");
        };
        let result = t
            .sealed()
            .and_then(|s| s.bind(index_arg(index)?, Source::ReadAt(Arc::new(source))));
        t.error.result(result)
    })
}

fn index_arg(index: u64) -> crate::Result<usize> {
    usize::try_from(index).map_err(|_| Error::NotFound(format!("no entry at index {index}")))
}

/// Checks the tape's entries against the disk (missing, kind, size, mtime, identity, mode, link
/// target, and files in recorded directories that the tape does not hold); with `deep` nonzero,
/// also reads every file and compares it with each checksum recorded (MD5, CRC-32, SHA-256,
/// CRC-32C): a `content` item per file whose `expected` and `found` name each algorithm that
/// differs ("SHA-256 9f86..."). Writes a new report to
/// `*out` (free it with `tt_report_free`): every discrepancy, not only the first. A clean report
/// has 0 items. Errors (an unreadable catalog) are statuses; discrepancies are not.
#[no_mangle]
pub extern "C" fn tt_tape_verify(
    tape: *mut tt_tape,
    deep: i32,
    out: *mut *mut tt_report,
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
        match t.sealed().and_then(|s| s.verify(deep != 0)) {
            Ok(report) => {
                let texts = report
                    .discrepancies
                    .iter()
                    .map(|d| {
                        (
                            CString::new(d.expected.replace('\0', "\\0")).unwrap_or_default(),
                            CString::new(d.found.replace('\0', "\\0")).unwrap_or_default(),
                        )
                    })
                    .collect();
                let r = Box::new(tt_report { report, texts });
                // SAFETY: out is non-NULL by the check above.
                unsafe { out.write(Box::into_raw(r)) };
                tt_status::Ok
            }
            Err(e) => t.error.set(&e),
        }
    })
}

/// Writes the number of discrepancies to `*count` and of entries checked to `*checked` (either may
/// be NULL). Thread-safe.
#[no_mangle]
pub extern "C" fn tt_report_count(
    report: *const tt_report,
    count: *mut u64,
    checked: *mut u64,
) -> tt_status {
    boundary(|| {
        // SAFETY: a non-NULL report comes from tt_tape_verify.
        let Some(r) = (unsafe { report.as_ref() }) else {
            return tt_status::InvalidArgument;
        };
        // SAFETY: non-NULL out-pointers point to u64s, by the caller's contract.
        unsafe {
            put(count, r.report.discrepancies.len() as u64);
            put(checked, r.report.checked as u64);
        }
        tt_status::Ok
    })
}

/// Writes discrepancy `index` (0-based) to `*out`; NOT_FOUND past the last. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_report_item(
    report: *const tt_report,
    index: u64,
    out: *mut tt_discrepancy,
) -> tt_status {
    boundary(|| {
        // SAFETY: a non-NULL report comes from tt_tape_verify.
        let Some(r) = (unsafe { report.as_ref() }) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return tt_status::InvalidArgument;
        }
        let Some(i) = usize::try_from(index).ok().filter(|&i| i < r.texts.len()) else {
            return tt_status::NotFound;
        };
        let d = &r.report.discrepancies[i];
        let word = match d.problem {
            Problem::Missing => c"missing",
            Problem::Kind => c"kind",
            Problem::Size => c"size",
            Problem::Mtime => c"mtime",
            Problem::Replaced => c"replaced",
            Problem::Mode => c"mode",
            Problem::LinkTarget => c"link-target",
            Problem::Content => c"content",
            Problem::Unrecorded => c"unrecorded",
            Problem::Unreadable => c"unreadable",
        };
        let item = tt_discrepancy {
            problem: d.problem.code(),
            name: d.name.as_ptr(),
            name_len: d.name.len(),
            problem_name: word.as_ptr(),
            expected: r.texts[i].0.as_ptr(),
            found: r.texts[i].1.as_ptr(),
        };
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(item) };
        tt_status::Ok
    })
}

/// Frees a report; NULL is a no-op.
#[no_mangle]
pub extern "C" fn tt_report_free(report: *mut tt_report) {
    boundary_or((), || {
        if !report.is_null() {
            // SAFETY: the report came from tt_tape_verify and is freed once.
            drop(unsafe { Box::from_raw(report) });
        }
    })
}
