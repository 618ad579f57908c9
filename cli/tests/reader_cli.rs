//! `tartape ls` and `tartape cat` on archives built byte by byte (TAR and ZIP), from a file and
//! from standard input.

#[path = "../../tests/support/reader_build.rs"]
mod build;
#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn temp_archive(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tartape-reader-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tartape(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tartape"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs tartape with `stdin` piped in (a pipe, not a file: the sequential reader).
fn tartape_piped(args: &[&str], stdin: &[u8]) -> Output {
    common::run_with_input(
        Command::new(env!("CARGO_BIN_EXE_tartape")).args(args),
        stdin,
    )
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn ls_prints_type_mode_size_time_and_name() {
    let t = build::tar(&[(build::tar_header(b"dir/file.txt", 5, b'0'), b"hello")]);
    let p = temp_archive("ls.tar", &t);
    let out = tartape(&[os("ls"), p.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "-0644            5 1970-01-01 00:00:00 dir/file.txt\n"
    );
    // The same from a pipe.
    let piped = tartape_piped(&["ls", "-"], &t);
    assert!(piped.status.success(), "{piped:?}");
    assert_eq!(
        String::from_utf8(piped.stdout).unwrap(),
        "-0644            5 1970-01-01 00:00:00 dir/file.txt\n"
    );
}

#[test]
fn ls_json_escapes_non_utf8_names_and_adds_name_hex() {
    let z = build::zip(&[build::ZipMember {
        name: b"caf\xe9",
        data: b"x",
        method: 0,
        flags: 0x800,
        unix_mode: 0o100600,
    }]);
    let p = temp_archive("ls.zip", &z);
    let out = tartape(&[os("ls"), os("--json"), p.as_os_str()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("{\"name\":\"caf\\\\xe9\",\"name_hex\":\"636166e9\",\"type\":\"file\""),
        "{text}"
    );
    assert!(text.contains("\"mode\":\"0600\""), "{text}");
    assert!(text.contains("\"name_mismatch\":false"), "{text}");
    assert_eq!(text.lines().count(), 1);
}

#[test]
fn cat_writes_a_member_and_reports_missing_ones() {
    let z = build::zip(&[
        build::member(b"a.txt", b"alpha", 8),
        build::member(b"b.txt", b"beta", 0),
    ]);
    let p = temp_archive("cat.zip", &z);
    let out = tartape(&[os("cat"), p.as_os_str(), os("a.txt")]);
    assert_eq!(out.stdout, b"alpha");
    let out = tartape(&[os("cat"), p.as_os_str(), os("b.txt")]);
    assert_eq!(out.stdout, b"beta");
    let out = tartape(&[os("cat"), p.as_os_str(), os("nope")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no member named \"nope\""));
    assert_eq!(tartape(&[os("cat"), p.as_os_str()]).status.code(), Some(2));
    assert_eq!(tartape(&[os("ls")]).status.code(), Some(2));
}

#[test]
fn a_tar_on_a_pipe_is_read_front_to_back_and_a_zip_is_refused_with_a_reason() {
    let t = build::tar(&[
        (build::tar_header(b"a.txt", 5, b'0'), b"alpha"),
        (build::tar_header(b"b.txt", 4, b'0'), b"beta"),
    ]);
    let out = tartape_piped(&["cat", "-", "b.txt"], &t);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"beta");
    let z = build::zip(&[build::member(b"a.txt", b"alpha", 0)]);
    let out = tartape_piped(&["ls", "-"], &z);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ZIP") && err.contains("seekable"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A truncated TAR on a pipe is an error, never a silent short listing.
    let out = tartape_piped(&["ls", "-"], &t[..700]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_compressed_tar_on_a_pipe_lists_extracts_and_cats_as_the_plain_one() {
    let t = build::tar(&[
        (build::tar_header(b"a.txt", 5, b'0'), b"alpha"),
        (build::tar_header(b"dir/b.txt", 4, b'0'), b"beta"),
    ]);
    let plain = tartape_piped(&["ls", "-"], &t);
    assert!(plain.status.success(), "{plain:?}");
    for cmd in [
        &["gzip", "-c", "-n"][..],
        &["zstd", "-q", "-c"],
        &["xz", "-c", "-T1"],
        &["bzip2", "-c"],
    ] {
        let packed = common::run_with_input(Command::new(cmd[0]).args(&cmd[1..]), &t).stdout;
        let listed = tartape_piped(&["ls", "-"], &packed);
        assert!(listed.status.success(), "{cmd:?}: {listed:?}");
        assert_eq!(listed.stdout, plain.stdout, "{cmd:?}");
        let cat = tartape_piped(&["cat", "-", "dir/b.txt"], &packed);
        assert_eq!(cat.stdout, b"beta", "{cmd:?}: {cat:?}");
        let dir = std::env::temp_dir().join(format!(
            "tartape-reader-cli-x-{}-{}",
            std::process::id(),
            cmd[0]
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let dir_s = dir.to_str().unwrap();
        let out = tartape_piped(&["extract", "-", "-C", dir_s, "-q"], &packed);
        assert!(out.status.success(), "{cmd:?}: {out:?}");
        assert_eq!(std::fs::read(dir.join("dir/b.txt")).unwrap(), b"beta");
        std::fs::remove_dir_all(&dir).unwrap();
        // Cut short: an error naming the compression, never a short listing taken for whole.
        let cut = tartape_piped(&["ls", "-"], &packed[..packed.len() - 6]);
        assert_eq!(cut.status.code(), Some(2), "{cmd:?}: {cut:?}");
        let err = String::from_utf8_lossy(&cut.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
