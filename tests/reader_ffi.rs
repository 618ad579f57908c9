//! The archive reader's C functions, called from Rust as C would call them.

#[path = "support/reader_build.rs"]
mod build;

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use tartape::ffi::archive::*;
use tartape::ffi::tape::{tt_compression, tt_entry_kind};
use tartape::ffi::tt_status;

fn open_memory(bytes: &[u8]) -> *mut tt_archive {
    let mut a = ptr::null_mut();
    let st = tt_archive_open_memory(bytes.as_ptr(), bytes.len(), ptr::null_mut(), 0, &mut a);
    assert_eq!(st, tt_status::Ok);
    a
}

#[test]
fn list_find_and_read_members_through_the_c_functions() {
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let z = build::zip(&[
        build::member(b"dir/", b"", 0),
        build::member(b"dir/a.bin", &data, 8),
    ]);
    let a = open_memory(&z);
    assert_eq!(tt_archive_entry_count(a), 2);
    let mut e = std::mem::MaybeUninit::<tt_archive_entry_info>::uninit();
    assert_eq!(tt_archive_entry(a, 1, e.as_mut_ptr()), tt_status::Ok);
    let e = unsafe { e.assume_init() };
    let name = unsafe { std::slice::from_raw_parts(e.name, e.name_len) };
    assert_eq!(name, b"dir/a.bin");
    assert_eq!(
        (e.kind, e.size, e.method, e.flags),
        (tt_entry_kind::File as u32, 50_000, 8, 0)
    );
    let mut idx = 0u64;
    assert_eq!(
        tt_archive_find(a, b"dir/a.bin".as_ptr(), 9, &mut idx),
        tt_status::Ok
    );
    assert_eq!(idx, 1);
    assert_eq!(
        tt_archive_find(a, b"nope".as_ptr(), 4, &mut idx),
        tt_status::NotFound
    );
    let msg = unsafe { CStr::from_ptr(tt_archive_error_message(a)) };
    assert!(msg.to_str().unwrap().contains("nope"));

    let mut m = ptr::null_mut();
    assert_eq!(tt_member_open(a, 1, &mut m), tt_status::Ok);
    tt_archive_free(a); // the member keeps the data alive
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let mut n = 0usize;
        assert_eq!(
            tt_member_read(m, buf.as_mut_ptr(), buf.len(), &mut n),
            tt_status::Ok
        );
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, data);
    let mut pos = 0u64;
    assert_eq!(
        tt_member_seek(m, -10, libc::SEEK_END, &mut pos),
        tt_status::Ok
    );
    assert_eq!(pos, 49_990);
    let mut n = 0usize;
    assert_eq!(
        tt_member_read(m, buf.as_mut_ptr(), buf.len(), &mut n),
        tt_status::Ok
    );
    assert_eq!(&buf[..n], &data[49_990..]);
    assert_eq!(
        tt_member_seek(m, -1, libc::SEEK_SET, &mut pos),
        tt_status::InvalidArgument
    );
    assert!(!unsafe { CStr::from_ptr(tt_member_error_message(m)) }
        .to_bytes()
        .is_empty());
    tt_member_free(m);
}

#[test]
fn null_pointers_and_bad_input_give_statuses_not_crashes() {
    let mut a = ptr::null_mut();
    assert_eq!(
        tt_archive_open(ptr::null(), ptr::null_mut(), 0, &mut a),
        tt_status::InvalidArgument
    );
    assert_eq!(
        tt_archive_open_memory(ptr::null(), 5, ptr::null_mut(), 0, &mut a),
        tt_status::InvalidArgument
    );
    let mut msg = [0 as c_char; 64];
    let path = CString::new("/nonexistent/tartape.tar").unwrap();
    assert_eq!(
        tt_archive_open(path.as_ptr(), msg.as_mut_ptr(), msg.len(), &mut a),
        tt_status::Io
    );
    assert!(a.is_null(), "out untouched on failure");
    let text = unsafe { CStr::from_ptr(msg.as_ptr()) }.to_str().unwrap();
    assert!(text.starts_with("/nonexistent/tartape.tar"), "{text}");
    let garbage = [0x55u8; 700];
    let st = tt_archive_open_memory(garbage.as_ptr(), garbage.len(), msg.as_mut_ptr(), 8, &mut a);
    assert_eq!(st, tt_status::Corrupt);
    assert_eq!(
        unsafe { CStr::from_ptr(msg.as_ptr()) }.to_bytes().len(),
        7,
        "truncated to fit"
    );
    assert_eq!(tt_archive_entry_count(ptr::null()), 0);
    assert_eq!(
        tt_archive_entry(ptr::null(), 0, ptr::null_mut()),
        tt_status::InvalidArgument
    );
    assert_eq!(
        tt_member_read(ptr::null_mut(), ptr::null_mut(), 0, ptr::null_mut()),
        tt_status::InvalidArgument
    );
    tt_archive_free(ptr::null_mut());
    tt_member_free(ptr::null_mut());
    assert!(
        unsafe { CStr::from_ptr(tt_archive_error_message(ptr::null())) }
            .to_bytes()
            .is_empty()
    );

    let empty = open_memory(&[]);
    assert_eq!(tt_archive_entry_count(empty), 0);
    let mut e = std::mem::MaybeUninit::<tt_archive_entry_info>::uninit();
    assert_eq!(
        tt_archive_entry(empty, 0, e.as_mut_ptr()),
        tt_status::NotFound
    );
    let mut m = ptr::null_mut();
    assert_eq!(tt_member_open(empty, 3, &mut m), tt_status::NotFound);
    tt_archive_free(empty);
}

#[test]
fn encrypted_and_unsafe_entries_are_flagged() {
    let mut enc = build::member(b"../secret", b"x", 0);
    enc.flags = 1;
    let a = open_memory(&build::zip(&[enc]));
    let mut e = std::mem::MaybeUninit::<tt_archive_entry_info>::uninit();
    assert_eq!(tt_archive_entry(a, 0, e.as_mut_ptr()), tt_status::Ok);
    let e = unsafe { e.assume_init() };
    assert_eq!(
        e.flags,
        tt_archive_flag::UnsafeName as u32 | tt_archive_flag::Encrypted as u32
    );
    let mut m = ptr::null_mut();
    assert_eq!(tt_member_open(a, 0, &mut m), tt_status::Unsupported);
    tt_archive_free(a);
}

#[test]
fn a_compressed_tar_opens_from_memory_and_names_its_compression() {
    use std::io::Write;
    let data: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    let tar = build::tar(&[(build::tar_header(b"a.bin", data.len() as u64, b'0'), &data)]);
    let plain = open_memory(&tar);
    assert_eq!(tt_archive_compression(plain), tt_compression::None as u32);
    tt_archive_free(plain);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let a = open_memory(&gz);
    assert_eq!(tt_archive_compression(a), tt_compression::Gzip as u32);
    assert_eq!(
        tt_archive_compression(ptr::null()),
        tt_compression::None as u32
    );
    assert_eq!(tt_archive_entry_count(a), 1);
    let mut m = ptr::null_mut();
    assert_eq!(tt_member_open(a, 0, &mut m), tt_status::Ok);
    let mut buf = vec![0u8; 40_000];
    let mut n = 0usize;
    let mut got = Vec::new();
    loop {
        assert_eq!(
            tt_member_read(m, buf.as_mut_ptr(), buf.len(), &mut n),
            tt_status::Ok
        );
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, data);
    tt_member_free(m);
    tt_archive_free(a);
    // Cut short: CORRUPT with a message, no handle.
    let mut out = ptr::null_mut();
    let mut msg = [0 as c_char; 200];
    let st = tt_archive_open_memory(gz.as_ptr(), gz.len() - 5, msg.as_mut_ptr(), 200, &mut out);
    assert_eq!(st, tt_status::Corrupt);
    assert!(out.is_null());
    let msg = unsafe { CStr::from_ptr(msg.as_ptr()) }.to_string_lossy();
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn a_saved_index_reopens_a_compressed_tar_through_the_c_functions() {
    use std::io::Write;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let tar = build::tar(&[(build::tar_header(b"a.bin", data.len() as u64, b'0'), &data)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let dir = std::env::temp_dir().join(format!("tartape-reader-ffi-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a.tar.gz");
    std::fs::write(&file, gz.finish().unwrap()).unwrap();
    let c = |p: &std::path::Path| CString::new(p.to_str().unwrap()).unwrap();
    let (file_c, index_c) = (c(&file), c(&dir.join("a.idx")));
    let mut a = ptr::null_mut();
    assert_eq!(
        tt_archive_open(file_c.as_ptr(), ptr::null_mut(), 0, &mut a),
        tt_status::Ok
    );
    assert_eq!(tt_archive_save_index(a, index_c.as_ptr()), tt_status::Ok);
    assert_eq!(
        tt_archive_save_index(a, ptr::null()),
        tt_status::InvalidArgument
    );
    tt_archive_free(a);
    let mut b = ptr::null_mut();
    assert_eq!(
        tt_archive_open_with_index(
            file_c.as_ptr(),
            index_c.as_ptr(),
            ptr::null_mut(),
            0,
            &mut b
        ),
        tt_status::Ok
    );
    assert_eq!(tt_archive_entry_count(b), 1);
    assert_eq!(tt_archive_compression(b), tt_compression::Gzip as u32);
    tt_archive_free(b);
    // A plain TAR takes no index and has none to save.
    let plain = dir.join("a.tar");
    std::fs::write(&plain, &tar).unwrap();
    let mut msg = [0 as c_char; 200];
    let mut x = ptr::null_mut();
    let st = tt_archive_open_with_index(
        c(&plain).as_ptr(),
        index_c.as_ptr(),
        msg.as_mut_ptr(),
        200,
        &mut x,
    );
    assert_eq!(st, tt_status::InvalidArgument);
    assert!(x.is_null());
    let p = open_memory(&tar);
    assert_eq!(
        tt_archive_save_index(p, index_c.as_ptr()),
        tt_status::InvalidArgument
    );
    let m = unsafe { CStr::from_ptr(tt_archive_error_message(p)) }
        .to_string_lossy()
        .into_owned();
    assert!(m.contains("not compressed"), "{m}");
    tt_archive_free(p);
    let _ = std::fs::remove_dir_all(&dir);
}
