//! Seekable compressed tapes from C: recording a tape's frames, their threads, and the frame
//! table (where each frame lies in the TAR and in the compressed archive).

use std::ffi::{c_char, CString};

use crate::compress::Frames;
use crate::ffi::tape::{tape_ref, tt_compression, tt_tape};
use crate::ffi::{boundary, boundary_or, tt_status};
use crate::{Compress, Compression, Error, Result, DEFAULT_FRAME_SIZE};

/// One frame of a seekable compressed tape, filled by `tt_tape_frame`: TAR bytes
/// `[tar_offset, tar_offset + tar_length)` compress to archive bytes `[offset, offset + length)`,
/// a zstd frame or a gzip member that decompresses alone.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct tt_frame {
    /// Where the frame starts in the uncompressed TAR.
    pub tar_offset: u64,
    /// Its uncompressed length (at most the frame size; the last one may be shorter).
    pub tar_length: u64,
    /// Where it starts in the compressed archive (`tt_read_at`, `tt_tape_start_at`).
    pub offset: u64,
    /// Its compressed length.
    pub length: u64,
}

/// What a seekable compressed tape's frames are, filled by `tt_tape_frames_info`. `engine` is
/// NUL-terminated, owned by the tape and valid as long as it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct tt_frames_info {
    /// `TT_COMPRESSION_GZIP` or `TT_COMPRESSION_ZSTD`.
    pub compression: tt_compression,
    /// The level (the default resolved: gzip 6, zstd 3).
    pub level: i32,
    /// The threads streams compress frames on (`tt_tape_set_frame_threads`).
    pub threads: u32,
    /// The uncompressed size of a frame (the last one may be shorter).
    pub frame_size: u64,
    /// The number of frames (`tt_tape_frame_count`).
    pub count: u64,
    /// The uncompressed TAR's size.
    pub tar_size: u64,
    /// Where the last frame ends: the seek table starts there (zstd).
    pub frames_end: u64,
    /// The seek table's length: 0 for gzip; for zstd the seekable format's skippable frame,
    /// which `zstd -d` skips.
    pub seek_table_length: u64,
    /// The compressed archive's size: `frames_end + seek_table_length`, `tt_tape_total_size`.
    pub total_size: u64,
    /// The library and version that made the recorded sizes ("libzstd 1.5.7"): the same one
    /// must compress the frames again for `tt_read_at` and streams.
    pub engine: *const c_char,
}

/// The tape behind a handle for a change only this caller may make, or `None` for NULL.
fn tape_mut<'a>(tape: *mut tt_tape) -> Option<&'a mut tt_tape> {
    // SAFETY: a non-NULL tape comes from tt_tape_new; the functions taking it this way are
    // documented to run with no other call on the tape.
    unsafe { tape.as_mut() }
}

/// A `tt_compression` value for frames: gzip or zstd.
fn frame_compression(compression: u32) -> Result<Compression> {
    match compression {
        1 => Ok(Compression::Gzip),
        2 => Ok(Compression::Zstd),
        3 | 4 => Err(Error::Unsupported(format!(
            "frames of compression {compression}: xz and bzip2 are read only; use \
             TT_COMPRESSION_GZIP (1) or TT_COMPRESSION_ZSTD (2)"
        ))),
        other => Err(Error::InvalidArgument(format!(
            "frames of compression {other}: use TT_COMPRESSION_GZIP (1) or TT_COMPRESSION_ZSTD (2)"
        ))),
    }
}

/// Makes `tape` a seekable compressed tape (sealing it first if needed): cuts its TAR into
/// frames of at most `frame_size` uncompressed bytes (65536 to 67108864; 0 for 1 MiB), packing
/// small entries together and cutting large ones (docs/COMPRESSION.md), and compresses each once
/// on `threads` threads (1 to 256; 0 for 1) to record its compressed size. `compression` is
/// `TT_COMPRESSION_ZSTD` (frames followed by the zstd seekable format's seek table, which
/// `zstd -d` skips) or `TT_COMPRESSION_GZIP` (one gzip member per frame); `level` is gzip 1 to 9
/// or zstd 1 to 22, 0 for the default (gzip 6, zstd 3). The same entries, compression, level and
/// frame size give the same bytes, whatever the threads. Blocks until every frame is compressed.
///
/// Afterwards the tape is random-access compressed: `tt_tape_total_size` is the compressed
/// archive's size, `tt_read_at`, `tt_tape_start_at` (at any compressed byte), volumes and the
/// fingerprint are those of the compressed archive, and only the frames a read touches are
/// compressed again, each checked against its recorded size (CHANGED, naming the entry, when one
/// differs). DATA events carry compressed bytes, their `index` `UINT64_MAX`; `tt_tape_entry`
/// and FILE_START/FILE_END keep the TAR's offsets; `tt_tape_frame` maps one to the other.
/// Catalogs saved afterwards keep the frames (format version 3), so an opened catalog is
/// seekable compressed without compressing anything again. A fingerprint obtained before stays
/// allocated but is no longer the tape's.
///
/// Errors: INVALID_ARGUMENT for a NULL tape, a bad compression, level, frame size or thread
/// count, and for a ZIP tape; UNSUPPORTED for XZ and BZIP2; NOT_RANDOM_ACCESS when a memory
/// entry is fed by `tt_feed`; STATE when the frames are already recorded, when the tape is
/// compressed as one stream (`tt_tape_set_compression`), or when a stream (`tt_tape_start_at`,
/// `tt_next_event`, `tt_read`) or a volume already uses it; CHANGED when a source changed.
///
/// Threads: no other call on `tape` may run at the same time (not even `tt_read_at`).
#[no_mangle]
pub extern "C" fn tt_tape_record_frames(
    tape: *mut tt_tape,
    compression: u32,
    level: i32,
    frame_size: u64,
    threads: u32,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_mut(tape) else {
            return tt_status::InvalidArgument;
        };
        let result = record(t, compression, level, frame_size, threads);
        if result.is_ok() {
            t.fingerprint_changed();
        }
        t.error.result(result)
    })
}

fn record(
    t: &mut tt_tape,
    compression: u32,
    level: i32,
    frame_size: u64,
    threads: u32,
) -> Result<()> {
    let compress =
        Compress::new(frame_compression(compression)?, level)?.with_threads(threads.max(1))?;
    let frame_size = if frame_size == 0 {
        DEFAULT_FRAME_SIZE
    } else {
        frame_size
    };
    // Checked before sealing and before asking for exclusive use, for the clearer message.
    crate::compress::frames::check_frame_size(frame_size)?;
    t.sealed_mut("recording frames")?
        .record_frames(compress, frame_size, &|_| {})
}

/// Sets the threads the streams of a seekable compressed tape compress frames on: 1 (the
/// default) to 256; the bytes are the same for any number (`tt_read_at` compresses only the
/// frames it touches, on the calling thread). For a tape opened from a catalog, which does not
/// record threads. STATE for a tape without frames or one a stream or volume already uses;
/// INVALID_ARGUMENT for 0 or more than 256. No other call on `tape` may run at the same time.
#[no_mangle]
pub extern "C" fn tt_tape_set_frame_threads(tape: *mut tt_tape, threads: u32) -> tt_status {
    boundary(|| {
        let Some(t) = tape_mut(tape) else {
            return tt_status::InvalidArgument;
        };
        let result = t
            .sealed_mut("setting frame threads")
            .and_then(|s| s.set_frame_threads(threads));
        t.error.result(result)
    })
}

/// The frames of a sealed tape, if it has any.
fn frames_of(t: &tt_tape) -> Option<&Frames> {
    t.sealed_if()?.frames().map(|f| &**f)
}

fn no_frames() -> Error {
    Error::NotFound("the tape has no frames (tt_tape_record_frames)".into())
}

/// The number of frames of a seekable compressed tape: 0 for a tape without frames (also one not
/// sealed yet, and a NULL tape). Does not seal the tape. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_tape_frame_count(tape: *const tt_tape) -> u64 {
    boundary_or(0, || {
        tape_ref(tape)
            .and_then(frames_of)
            .map_or(0, |f| f.len() as u64)
    })
}

/// Writes frame `k` (0-based, in archive order) of a seekable compressed tape to `*out`:
/// where it lies in the TAR and in the compressed archive. NOT_FOUND for a tape without frames
/// and past the last frame; `*out` is written only on success. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_tape_frame(tape: *const tt_tape, k: u64, out: *mut tt_frame) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        let Some(frames) = frames_of(t) else {
            return t.error.set(&no_frames());
        };
        let Some(k) = usize::try_from(k).ok().filter(|&k| k < frames.len()) else {
            return t.error.set_message(
                tt_status::NotFound,
                &format!("no frame {k}: the tape has {} frames", frames.len()),
            );
        };
        let ((a, b), (c, d)) = (frames.plain(k), frames.compressed(k));
        let frame = tt_frame {
            tar_offset: a,
            tar_length: b - a,
            offset: c,
            length: d - c,
        };
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(frame) };
        tt_status::Ok
    })
}

/// Writes the index of the frame holding byte `tar_offset` of the uncompressed TAR to `*k` (an
/// entry's `header_offset`, say: its bytes start in that frame): frames are in TAR order, so an
/// entry's compressed bytes lie in frames `find(header_offset)` to `find(end_offset - 1)`.
/// NOT_FOUND for a tape without frames and at or past the TAR's end. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_tape_frame_find(
    tape: *const tt_tape,
    tar_offset: u64,
    k: *mut u64,
) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if k.is_null() {
            return t.error.set_message(tt_status::InvalidArgument, "k is NULL");
        }
        let Some(frames) = frames_of(t) else {
            return t.error.set(&no_frames());
        };
        if tar_offset >= frames.tar_size() {
            return t.error.set_message(
                tt_status::NotFound,
                &format!(
                    "TAR offset {tar_offset}: the TAR is {} bytes",
                    frames.tar_size()
                ),
            );
        }
        // SAFETY: k is non-NULL by the check above.
        unsafe { k.write(frames.frame_of_plain(tar_offset) as u64) };
        tt_status::Ok
    })
}

/// Writes what the frames of a seekable compressed tape are to `*out`: compression, level,
/// threads, frame size, count, the TAR's and the compressed archive's sizes, the seek table and
/// the compressing library. NOT_FOUND for a tape without frames; `*out` is written only on
/// success. Thread-safe.
#[no_mangle]
pub extern "C" fn tt_tape_frames_info(tape: *const tt_tape, out: *mut tt_frames_info) -> tt_status {
    boundary(|| {
        let Some(t) = tape_ref(tape) else {
            return tt_status::InvalidArgument;
        };
        if out.is_null() {
            return t
                .error
                .set_message(tt_status::InvalidArgument, "out is NULL");
        }
        let Some(frames) = frames_of(t) else {
            return t.error.set(&no_frames());
        };
        let c = frames.compress();
        let engine = t
            .frames_engine_c
            .get_or_init(|| CString::new(frames.engine()).unwrap_or_default());
        let info = tt_frames_info {
            compression: match c.compression() {
                Compression::Gzip => tt_compression::Gzip,
                _ => tt_compression::Zstd,
            },
            level: c.level(),
            threads: c.threads(),
            frame_size: frames.frame_size(),
            count: frames.len() as u64,
            tar_size: frames.tar_size(),
            frames_end: frames.frames_end(),
            seek_table_length: frames.seek_table_len(),
            total_size: frames.total(),
            engine: engine.as_ptr(),
        };
        // SAFETY: out is non-NULL by the check above.
        unsafe { out.write(info) };
        tt_status::Ok
    })
}
