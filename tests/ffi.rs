//! The C ABI called from Rust: NULL in every pointer argument is refused with a status and a
//! message (or the documented fallback), calls in the wrong state are STATE, statuses have names,
//! and offsets near 2^64 are harmless.

mod common;

use std::ffi::{c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use tartape::ffi::catalog::tt_tape_fingerprint;
use tartape::ffi::frames::*;
use tartape::ffi::status::{tt_status_is_fatal, tt_status_name, tt_version};
use tartape::ffi::stream::*;
use tartape::ffi::tape::*;
use tartape::ffi::tt_status;

/// A tape freed when dropped.
struct Tape(*mut tt_tape);

impl Tape {
    fn new() -> Tape {
        let t = tt_tape_new();
        assert!(!t.is_null());
        Tape(t)
    }

    fn message(&self) -> String {
        let m = tt_tape_error_message(self.0);
        assert!(!m.is_null());
        // SAFETY: the tape's message is a valid C string until the next call on it.
        unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned()
    }

    /// `status` is `want` and the tape's message is not empty (and contains `words`).
    fn expect(&self, status: tt_status, want: tt_status, words: &str) {
        assert_eq!(status, want, "message: {}", self.message());
        let m = self.message();
        assert!(!m.is_empty(), "no message for {want:?}");
        assert!(m.contains(words), "{m:?} should contain {words:?}");
    }
}

impl Drop for Tape {
    fn drop(&mut self) {
        tt_tape_free(self.0);
    }
}

fn blank_event() -> tt_event {
    tt_event {
        type_: tt_event_type::Data,
        kind: tt_entry_kind::Symlink,
        index: 4242,
        offset: 4242,
        size: 4242,
        name: null(),
        name_len: 4242,
        data: null(),
        data_len: 4242,
        md5: [9; 16],
        has_md5: 9,
        resumed: 9,
    }
}

const IA: tt_status = tt_status::InvalidArgument;

#[test]
fn null_tape_gives_invalid_argument_or_the_documented_fallback_for_every_function() {
    let t: *mut tt_tape = null_mut();
    let mut n = 0u64;
    let mut ev = blank_event();
    let mut buf = [0u8; 8];
    let mut nread = 77usize;
    let name = b"n";
    tt_tape_free(t); // a no-op
    let msg = unsafe { CStr::from_ptr(tt_tape_error_message(t)) };
    assert!(!msg.to_bytes().is_empty());
    assert_eq!(tt_tape_set_walk_options(t, 1, 1), IA);
    assert_eq!(tt_tape_set_md5(t, 1), IA);
    assert_eq!(tt_add_path(t, c"/tmp".as_ptr(), null(), 0), IA);
    assert_eq!(tt_add_from_memory(t, name.as_ptr(), 1, 1, 0o644, 0), IA);
    assert_eq!(
        tt_add_bytes(t, name.as_ptr(), 1, name.as_ptr(), 1, 0o644, 0),
        IA
    );
    assert_eq!(tt_add_directory(t, name.as_ptr(), 1, 0o755, 0), IA);
    assert_eq!(tt_add_symlink(t, name.as_ptr(), 1, name.as_ptr(), 1, 0), IA);
    assert_eq!(tt_tape_seal(t), IA);
    assert_eq!(tt_tape_total_size(t, &mut n), IA);
    assert_eq!(tt_tape_entry_count(t, &mut n), IA);
    assert_eq!(tt_tape_skipped_count(t, &mut n), IA);
    let (mut p, mut k) = (null(), null());
    assert_eq!(tt_tape_skipped(t, 0, &mut p, &mut k), IA);
    let mut info = std::mem::MaybeUninit::<tt_entry_info>::uninit();
    assert_eq!(tt_tape_entry(t, 0, info.as_mut_ptr()), IA);
    assert_eq!(tt_tape_start_at(t, 0), IA);
    assert_eq!(tt_next_event(t, &mut ev), IA);
    assert_eq!(tt_feed(t, name.as_ptr(), 1), IA);
    assert_eq!(tt_feed_end(t), IA);
    assert_eq!(tt_read_at(t, 0, buf.as_mut_ptr(), 8, &mut nread), IA);
    assert_eq!(tt_read(t, buf.as_mut_ptr(), 8, &mut nread), IA);
    assert_eq!(tt_tape_record_frames(t, 2, 0, 0, 0), IA);
    assert_eq!(tt_tape_set_frame_threads(t, 1), IA);
    assert_eq!(tt_tape_frame_count(t), 0);
    let mut frame = tt_frame::default();
    assert_eq!(tt_tape_frame(t, 0, &mut frame), IA);
    assert_eq!(tt_tape_frame_find(t, 0, &mut n), IA);
    let mut frames = std::mem::MaybeUninit::<tt_frames_info>::uninit();
    assert_eq!(tt_tape_frames_info(t, frames.as_mut_ptr()), IA);
    assert_eq!(frame, tt_frame::default());
    assert_eq!(n, 0, "outputs untouched");
    assert_eq!(nread, 77);
    assert_eq!(ev.index, 4242);
    assert!(p.is_null() && k.is_null());
}

/// Counts its calls in the `AtomicUsize` that `userdata` points to.
unsafe extern "C" fn count_free(userdata: *mut c_void) {
    // SAFETY: the tests pass a pointer to a live AtomicUsize.
    unsafe { &*(userdata as *const AtomicUsize) }.fetch_add(1, Ordering::SeqCst);
}

fn counter(c: &AtomicUsize) -> *mut c_void {
    c as *const AtomicUsize as *mut c_void
}

unsafe extern "C" fn read_zeros(_u: *mut c_void, _off: u64, buf: *mut u8, len: usize) -> i64 {
    // SAFETY: the engine passes a writable buffer of len bytes.
    unsafe { buf.write_bytes(0, len) };
    len as i64
}

#[test]
fn null_pointer_arguments_give_invalid_argument_and_a_message() {
    let tape = Tape::new();
    let t = tape.0;
    let name = b"name";
    // Names: NULL with a length.
    tape.expect(tt_add_from_memory(t, null(), 4, 1, 0o644, 0), IA, "name");
    tape.expect(
        tt_add_bytes(t, null(), 4, name.as_ptr(), 4, 0o644, 0),
        IA,
        "name",
    );
    tape.expect(tt_add_directory(t, null(), 4, 0o755, 0), IA, "name");
    tape.expect(
        tt_add_symlink(t, null(), 4, name.as_ptr(), 4, 0),
        IA,
        "name",
    );
    // (NULL, 0) names are empty names: INVALID_NAME.
    tape.expect(
        tt_add_directory(t, null(), 0, 0o755, 0),
        tt_status::InvalidName,
        "empty",
    );
    // Other inputs.
    tape.expect(tt_add_path(t, null(), null(), 0), IA, "path");
    tape.expect(
        tt_add_bytes(t, name.as_ptr(), 4, null(), 4, 0o644, 0),
        IA,
        "data",
    );
    tape.expect(
        tt_add_symlink(t, name.as_ptr(), 4, null(), 4, 0),
        IA,
        "target",
    );
    // The read-at callback: NULL callback, NULL name and NULL tape all free the userdata once.
    let freed = AtomicUsize::new(0);
    tape.expect(
        tt_add_read_at(
            t,
            name.as_ptr(),
            4,
            10,
            0o644,
            0,
            None,
            counter(&freed),
            Some(count_free),
        ),
        IA,
        "callback",
    );
    assert_eq!(freed.load(Ordering::SeqCst), 1);
    tape.expect(
        tt_add_read_at(
            t,
            null(),
            4,
            10,
            0o644,
            0,
            Some(read_zeros),
            counter(&freed),
            Some(count_free),
        ),
        IA,
        "name",
    );
    assert_eq!(freed.load(Ordering::SeqCst), 2);
    assert_eq!(
        tt_add_read_at(
            null_mut(),
            name.as_ptr(),
            4,
            10,
            0o644,
            0,
            Some(read_zeros),
            counter(&freed),
            Some(count_free),
        ),
        IA
    );
    assert_eq!(freed.load(Ordering::SeqCst), 3);
    // (NULL, 0) data is an empty file: accepted.
    assert_eq!(
        tt_add_bytes(t, name.as_ptr(), 4, null(), 0, 0o644, 0),
        tt_status::Ok
    );
    // Outputs.
    let mut ev = blank_event();
    tape.expect(tt_tape_total_size(t, null_mut()), IA, "out");
    tape.expect(tt_tape_entry_count(t, null_mut()), IA, "out");
    tape.expect(tt_tape_skipped_count(t, null_mut()), IA, "out");
    let (mut p, mut k) = (null(), null());
    tape.expect(tt_tape_skipped(t, 0, null_mut(), &mut k), IA, "NULL");
    tape.expect(tt_tape_skipped(t, 0, &mut p, null_mut()), IA, "NULL");
    tape.expect(tt_tape_entry(t, 0, null_mut()), IA, "out");
    tape.expect(tt_next_event(t, null_mut()), IA, "out");
    let mut nread = 5usize;
    let mut buf = [0u8; 4];
    tape.expect(tt_read_at(t, 0, null_mut(), 4, &mut nread), IA, "buf");
    tape.expect(
        tt_read_at(t, 0, buf.as_mut_ptr(), 4, null_mut()),
        IA,
        "nread",
    );
    assert_eq!(nread, 5, "nread untouched on error");
    tape.expect(tt_read(t, null_mut(), 4, &mut nread), IA, "buf");
    tape.expect(tt_read(t, buf.as_mut_ptr(), 4, null_mut()), IA, "out_n");
    assert_eq!(nread, 5, "out_n untouched on error");
    // (NULL, 0) is an empty buffer.
    assert_eq!(tt_read_at(t, 0, null_mut(), 0, &mut nread), tt_status::Ok);
    assert_eq!(nread, 0);
    // Streaming: feeding NULL with a length.
    assert_eq!(tt_next_event(t, &mut ev), tt_status::Ok);
    tape.expect(tt_feed(t, null(), 3), IA, "data");
}

#[test]
fn calls_in_the_wrong_state_are_state_errors() {
    let tape = Tape::new();
    let t = tape.0;
    // Feeding with no stream.
    tape.expect(tt_feed(t, b"x".as_ptr(), 1), tt_status::State, "no stream");
    tape.expect(tt_feed(t, null(), 0), tt_status::State, "no stream");
    tape.expect(tt_feed_end(t), tt_status::State, "no stream");
    assert_eq!(
        tt_add_bytes(t, b"a".as_ptr(), 1, b"abc".as_ptr(), 3, 0o644, 5),
        tt_status::Ok
    );
    assert_eq!(tt_tape_seal(t), tt_status::Ok);
    assert_eq!(tt_tape_seal(t), tt_status::Ok, "sealing twice is OK");
    // Adding after seal.
    tape.expect(
        tt_add_bytes(t, b"b".as_ptr(), 1, b"abc".as_ptr(), 3, 0o644, 5),
        tt_status::State,
        "sealed",
    );
    tape.expect(
        tt_add_directory(t, b"d".as_ptr(), 1, 0o755, 0),
        tt_status::State,
        "sealed",
    );
    tape.expect(
        tt_add_path(t, c"/tmp".as_ptr(), null(), 0),
        tt_status::State,
        "sealed",
    );
    tape.expect(
        tt_tape_set_walk_options(t, 0, 1),
        tt_status::State,
        "sealed",
    );
    let freed = AtomicUsize::new(0);
    tape.expect(
        tt_add_read_at(
            t,
            b"r".as_ptr(),
            1,
            1,
            0o644,
            0,
            Some(read_zeros),
            counter(&freed),
            Some(count_free),
        ),
        tt_status::State,
        "sealed",
    );
    assert_eq!(
        freed.load(Ordering::SeqCst),
        1,
        "the refused callback's userdata is freed"
    );
    // Feeding while no entry waits, during a stream.
    let mut ev = blank_event();
    assert_eq!(tt_next_event(t, &mut ev), tt_status::Ok);
    assert_eq!(ev.type_, tt_event_type::FileStart);
    tape.expect(tt_feed(t, b"x".as_ptr(), 1), tt_status::State, "waiting");
    // The stream goes on to the end, then EOF for good.
    let mut types = Vec::new();
    loop {
        match tt_next_event(t, &mut ev) {
            tt_status::Ok => types.push(ev.type_),
            tt_status::Eof => break,
            other => panic!("{other:?}: {}", tape.message()),
        }
    }
    assert_eq!(
        types,
        [
            tt_event_type::Data,
            tt_event_type::FileEnd,
            tt_event_type::Data,
            tt_event_type::TapeCompleted
        ]
    );
    assert_eq!(tt_next_event(t, &mut ev), tt_status::Eof);
    // Indexes past the end.
    let mut info = std::mem::MaybeUninit::<tt_entry_info>::uninit();
    tape.expect(
        tt_tape_entry(t, 1, info.as_mut_ptr()),
        tt_status::NotFound,
        "1",
    );
    tape.expect(
        tt_tape_entry(t, u64::MAX, info.as_mut_ptr()),
        tt_status::NotFound,
        "",
    );
    let (mut p, mut k) = (null(), null());
    tape.expect(
        tt_tape_skipped(t, 0, &mut p, &mut k),
        tt_status::NotFound,
        "skipped",
    );
    tape.expect(tt_tape_start_at(t, u64::MAX), IA, "past the end");
}

#[test]
fn free_userdata_runs_once_when_the_tape_is_freed_after_sealing_fails() {
    let freed = AtomicUsize::new(0);
    {
        let tape = Tape::new();
        let t = tape.0;
        for _ in 0..2 {
            assert_eq!(
                tt_add_read_at(
                    t,
                    b"dup".as_ptr(),
                    3,
                    5,
                    0o644,
                    0,
                    Some(read_zeros),
                    counter(&freed),
                    Some(count_free),
                ),
                tt_status::Ok
            );
        }
        tape.expect(tt_tape_seal(t), tt_status::InvalidName, "dup");
        // Sealing failed: the tape is still building and can report it again.
        tape.expect(tt_tape_seal(t), tt_status::InvalidName, "dup");
        assert_eq!(freed.load(Ordering::SeqCst), 0);
    }
    assert_eq!(freed.load(Ordering::SeqCst), 2);
}

#[test]
fn every_status_has_its_name_and_grade() {
    let all = [
        (tt_status::Ok, "OK", 0),
        (tt_status::Eof, "EOF", 0),
        (tt_status::InvalidArgument, "INVALID_ARGUMENT", 0),
        (tt_status::InvalidName, "INVALID_NAME", 0),
        (tt_status::State, "STATE", 0),
        (tt_status::NotFound, "NOT_FOUND", 0),
        (tt_status::Unsupported, "UNSUPPORTED", 0),
        (tt_status::NotRandomAccess, "NOT_RANDOM_ACCESS", 0),
        (tt_status::Io, "IO", 1),
        (tt_status::Changed, "CHANGED", 1),
        (tt_status::SizeMismatch, "SIZE_MISMATCH", 1),
        (tt_status::Corrupt, "CORRUPT", 1),
        (tt_status::Limit, "LIMIT", 1),
        (tt_status::Callback, "CALLBACK", 1),
        (tt_status::Panic, "PANIC", 1),
    ];
    for (status, name, fatal) in all {
        let got = unsafe { CStr::from_ptr(tt_status_name(status as i32)) };
        assert_eq!(got.to_str().unwrap(), name);
        assert_eq!(tt_status_is_fatal(status as i32), fatal, "{name}");
    }
    // The stable numbers.
    let numbers: Vec<i32> = all.iter().map(|(s, _, _)| *s as i32).collect();
    assert_eq!(
        numbers,
        [0, 1, 10, 11, 12, 13, 14, 15, 30, 31, 32, 33, 34, 35, 99]
    );
    for unknown in [-1, 2, 9, 16, 29, 36, 98, 100, i32::MIN, i32::MAX] {
        let got = unsafe { CStr::from_ptr(tt_status_name(unknown)) };
        assert_eq!(got.to_str().unwrap(), "UNKNOWN", "{unknown}");
    }
    let v = unsafe { CStr::from_ptr(tt_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn read_at_near_2_pow_64_reads_nothing_and_never_overflows() {
    let tape = Tape::new();
    let t = tape.0;
    assert_eq!(
        tt_add_bytes(t, b"a".as_ptr(), 1, b"abc".as_ptr(), 3, 0o644, 5),
        tt_status::Ok
    );
    let mut total = 0u64;
    assert_eq!(tt_tape_total_size(t, &mut total), tt_status::Ok);
    assert_eq!(total, 2048);
    let mut buf = vec![0xAAu8; 4096];
    for off in [
        u64::MAX,
        u64::MAX - 1,
        u64::MAX - 4095,
        u64::MAX - 4096,
        1 << 63,
        total,
        total + 1,
    ] {
        let mut nread = 99usize;
        let st = tt_read_at(t, off, buf.as_mut_ptr(), buf.len(), &mut nread);
        assert_eq!(st, tt_status::Ok, "at {off}: {}", tape.message());
        assert_eq!(nread, 0, "at {off}");
    }
    assert!(buf.iter().all(|&b| b == 0xAA));
    // A read that starts inside and asks for more than is left stops at the end.
    let mut nread = 0usize;
    assert_eq!(
        tt_read_at(t, total - 10, buf.as_mut_ptr(), buf.len(), &mut nread),
        tt_status::Ok
    );
    assert_eq!(nread, 10);
}

#[test]
fn changed_source_through_the_c_abi_is_fatal_with_a_message_naming_the_file() {
    let dir = TempDir::new("ffi-changed");
    write(&dir.join("t/a.txt"), b"abc");
    let tape = Tape::new();
    let t = tape.0;
    let path = std::ffi::CString::new(dir.join("t").as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(tt_add_path(t, path.as_ptr(), null(), 0), tt_status::Ok);
    assert_eq!(tt_tape_seal(t), tt_status::Ok);
    write(&dir.join("t/a.txt"), b"abcd");
    let mut ev = blank_event();
    let mut saw_completed = false;
    let status = loop {
        match tt_next_event(t, &mut ev) {
            tt_status::Ok => saw_completed |= ev.type_ == tt_event_type::TapeCompleted,
            other => break other,
        }
    };
    tape.expect(status, tt_status::Changed, "t/a.txt");
    assert!(tape.message().contains("grew"), "{}", tape.message());
    assert_eq!(tt_status_is_fatal(status as i32), 1);
    assert!(!saw_completed);
    tape.expect(tt_next_event(t, &mut ev), tt_status::State, "stopped");
    // A new stream meets the same change.
    assert_eq!(tt_tape_start_at(t, 0), tt_status::Ok);
    let status = loop {
        match tt_next_event(t, &mut ev) {
            tt_status::Ok => {}
            other => break other,
        }
    };
    assert_eq!(status, tt_status::Changed);
}

#[test]
fn push_entries_through_the_c_abi_feed_and_refuse_read_at() {
    let tape = Tape::new();
    let t = tape.0;
    assert_eq!(
        tt_add_from_memory(t, b"m".as_ptr(), 1, 10, 0o644, 0),
        tt_status::Ok
    );
    let mut info = std::mem::MaybeUninit::<tt_entry_info>::uninit();
    assert_eq!(tt_tape_entry(t, 0, info.as_mut_ptr()), tt_status::Ok);
    // SAFETY: written on OK.
    let info = unsafe { info.assume_init() };
    assert_eq!(info.random_access, 0);
    let mut buf = [0u8; 16];
    let mut nread = 3usize;
    tape.expect(
        tt_read_at(t, info.data_offset, buf.as_mut_ptr(), 16, &mut nread),
        tt_status::NotRandomAccess,
        "m",
    );
    assert_eq!(nread, 3);
    let mut ev = blank_event();
    let mut out = Vec::new();
    loop {
        match tt_next_event(t, &mut ev) {
            tt_status::Ok => match ev.type_ {
                tt_event_type::Data => {
                    // SAFETY: data is valid for data_len bytes until the next call.
                    out.extend_from_slice(unsafe {
                        std::slice::from_raw_parts(ev.data, ev.data_len)
                    })
                }
                tt_event_type::NeedData => {
                    assert_eq!((ev.index, ev.offset, ev.size), (0, 0, 10));
                    tape.expect(
                        tt_feed(t, [1u8; 11].as_ptr(), 11),
                        tt_status::SizeMismatch,
                        "m",
                    );
                    break;
                }
                _ => {}
            },
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(out.len(), 512, "only the header went out");
    tape.expect(tt_next_event(t, &mut ev), tt_status::State, "");
}

/// Streams `tape` with `tt_read` to the end.
fn read_all(tape: &Tape) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 50_000];
    loop {
        let mut n = 0usize;
        let st = tt_read(tape.0, buf.as_mut_ptr(), buf.len(), &mut n);
        if st == tt_status::Eof {
            return out;
        }
        assert_eq!(st, tt_status::Ok, "{}", tape.message());
        out.extend_from_slice(&buf[..n]);
    }
}

fn add_two_entries(tape: &Tape, data: &[u8]) {
    for name in [&b"a.txt"[..], b"dir/b.txt"] {
        let st = tt_add_bytes(
            tape.0,
            name.as_ptr(),
            name.len(),
            data.as_ptr(),
            data.len(),
            0o644,
            1_700_000_000,
        );
        assert_eq!(st, tt_status::Ok, "{}", tape.message());
    }
}

#[test]
fn compression_is_set_checked_and_streamed_through_the_c_functions() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 61) as u8 + b' ').collect();
    let plain = Tape::new();
    add_two_entries(&plain, &data);
    let plain = read_all(&plain);

    let t = Tape::new();
    add_two_entries(&t, &data);
    t.expect(
        tt_tape_set_compression(t.0, 9, 0),
        tt_status::InvalidArgument,
        "compression 9",
    );
    t.expect(
        tt_tape_set_compression(t.0, 1, 10),
        tt_status::InvalidArgument,
        "gzip level 10",
    );
    t.expect(
        tt_tape_set_compression(t.0, 3, 0),
        tt_status::Unsupported,
        "xz",
    );
    t.expect(
        tt_tape_set_compression_threads(t.0, 2),
        tt_status::InvalidArgument,
        "zstd",
    );
    assert_eq!(
        tt_tape_set_compression(null_mut(), 2, 3),
        tt_status::InvalidArgument
    );
    assert_eq!(tt_tape_set_compression(t.0, 2, 19), tt_status::Ok);
    assert_eq!(tt_tape_set_compression_threads(t.0, 2), tt_status::Ok);
    t.expect(
        tt_tape_set_compression_threads(t.0, 0),
        tt_status::InvalidArgument,
        "threads",
    );
    assert_eq!(tt_tape_seal(t.0), tt_status::Ok);
    t.expect(
        tt_tape_set_compression(t.0, 1, 0),
        tt_status::State,
        "sealed",
    );
    let mut size = 0u64;
    t.expect(
        tt_tape_total_size(t.0, &mut size),
        tt_status::NotRandomAccess,
        "zstd",
    );
    let mut buf = [0u8; 10];
    let mut n = 0usize;
    t.expect(
        tt_read_at(t.0, 0, buf.as_mut_ptr(), buf.len(), &mut n),
        tt_status::NotRandomAccess,
        "offset 0",
    );
    t.expect(
        tt_tape_start_at(t.0, 512),
        tt_status::NotRandomAccess,
        "zstd",
    );
    let packed = read_all(&t);
    assert_eq!(zstd::stream::decode_all(&packed[..]).unwrap(), plain);

    // gzip, level 0 is the default (6); a ZIP tape cannot be compressed.
    let g = Tape::new();
    add_two_entries(&g, &data);
    assert_eq!(tt_tape_set_compression(g.0, 1, 0), tt_status::Ok);
    let mut back = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&read_all(&g)[..]),
        &mut back,
    )
    .unwrap();
    assert_eq!(back, plain);
    let z = Tape::new();
    add_two_entries(&z, &data);
    assert_eq!(tt_tape_set_format(z.0, 1), tt_status::Ok);
    assert_eq!(tt_tape_set_compression(z.0, 2, 3), tt_status::Ok);
    z.expect(tt_tape_seal(z.0), tt_status::InvalidArgument, "set_deflate");
}

#[test]
fn frames_are_recorded_and_read_through_the_c_functions() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 61) as u8 + b' ').collect();
    let plain = Tape::new();
    add_two_entries(&plain, &data);
    let plain = read_all(&plain);

    let t = Tape::new();
    add_two_entries(&t, &data);
    let mut before = null();
    assert_eq!(
        tt_tape_fingerprint(t.0, &mut before),
        tt_status::Ok,
        "{}",
        t.message()
    );
    // SAFETY: the fingerprint lives as long as the tape.
    let before_text = unsafe { CStr::from_ptr(before) }.to_owned();
    t.expect(
        tt_tape_record_frames(t.0, 2, 0, 1000, 1),
        tt_status::InvalidArgument,
        "frame size 1000",
    );
    assert_eq!(
        tt_tape_record_frames(t.0, 2, 0, 64 << 10, 2),
        tt_status::Ok,
        "{}",
        t.message()
    );
    // The fingerprint given out before is still readable, and no longer the tape's.
    assert_eq!(unsafe { CStr::from_ptr(before) }, &*before_text);
    let mut after = null();
    assert_eq!(tt_tape_fingerprint(t.0, &mut after), tt_status::Ok);
    assert_ne!(unsafe { CStr::from_ptr(after) }, &*before_text);

    let count = tt_tape_frame_count(t.0);
    assert!(count >= 10, "{count} frames");
    let mut info = std::mem::MaybeUninit::<tt_frames_info>::uninit();
    assert_eq!(tt_tape_frames_info(t.0, info.as_mut_ptr()), tt_status::Ok);
    // SAFETY: written on OK.
    let info = unsafe { info.assume_init() };
    let mut size = 0u64;
    assert_eq!(tt_tape_total_size(t.0, &mut size), tt_status::Ok);
    assert_eq!(
        (info.count, info.tar_size, info.total_size),
        (count, plain.len() as u64, size)
    );
    let mut at = (0, 0);
    for k in 0..count {
        let mut f = tt_frame::default();
        assert_eq!(tt_tape_frame(t.0, k, &mut f), tt_status::Ok);
        assert_eq!((f.tar_offset, f.offset), at);
        at = (f.tar_offset + f.tar_length, f.offset + f.length);
    }
    assert_eq!(at, (info.tar_size, info.frames_end));
    t.expect(
        tt_tape_frame(t.0, count, &mut tt_frame::default()),
        tt_status::NotFound,
        "frames",
    );

    let packed = read_all(&t);
    assert_eq!(packed.len() as u64, size);
    assert_eq!(zstd::stream::decode_all(&packed[..]).unwrap(), plain);
    let mut buf = vec![0u8; 30_000];
    let mut n = 0usize;
    let from = size / 3;
    assert_eq!(
        tt_read_at(t.0, from, buf.as_mut_ptr(), buf.len(), &mut n),
        tt_status::Ok
    );
    assert_eq!(buf[..n], packed[from as usize..from as usize + n]);
    t.expect(
        tt_tape_set_frame_threads(t.0, 2),
        tt_status::State,
        "stream",
    );

    // A tape compressed as one stream has no frames to record.
    let c = Tape::new();
    add_two_entries(&c, &data);
    assert_eq!(tt_tape_set_compression(c.0, 1, 0), tt_status::Ok);
    c.expect(
        tt_tape_record_frames(c.0, 2, 0, 0, 0),
        tt_status::State,
        "one stream",
    );
}
