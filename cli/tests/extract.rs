//! `tartape extract`: the trees it makes equal GNU tar's and bsdtar's for our own archives and for
//! the shared corpora, and every kind of escape from the target directory is refused with a
//! message naming the entry and nothing written outside.

#[path = "../../tests/support/reader_build.rs"]
mod build;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn tartape() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tartape"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("tartape-extract-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Directories extracted without write permission must be opened up to be removed.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(&self.0)
            .status();
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What a tree holds: per relative path, its kind, mode, mtime (files and directories) and
/// content or link target.
type Tree = BTreeMap<Vec<u8>, (char, u32, i64, Vec<u8>)>;

fn tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let m = fs::symlink_metadata(&path).unwrap();
            let ft = m.file_type();
            let mode = m.mode() & 0o7777;
            if ft.is_symlink() {
                let t = fs::read_link(&path).unwrap();
                out.insert(rel, ('l', 0, 0, t.as_os_str().as_bytes().to_vec()));
            } else if ft.is_dir() {
                // A directory the archive does not list gets the time it was made: not compared.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                let mtime = if now - m.mtime() < 3600 { 0 } else { m.mtime() };
                out.insert(rel, ('d', mode, mtime, Vec::new()));
                walk(root, &path, out);
            } else if ft.is_file() && m.len() > 256 << 20 {
                // A sparse file of several GiB: its size and its blocks (it must stay sparse).
                assert!(
                    m.blocks() * 512 < m.len() / 2,
                    "{} is not sparse",
                    path.display()
                );
                out.insert(rel, ('-', mode, m.mtime(), m.len().to_le_bytes().to_vec()));
            } else if ft.is_file() {
                out.insert(rel, ('-', mode, m.mtime(), digest(&path)));
            } else {
                out.insert(rel, ('?', mode, m.mtime(), Vec::new()));
            }
        }
    }
    let mut out = Tree::new();
    if root.is_dir() {
        walk(root, root, &mut out);
    }
    out
}

/// A tree with what extraction must restore: nested directories, modes, mtimes, symlinks (one
/// dangling, one long), a non-UTF-8 name, an empty file, a read-only directory.
fn source_tree(root: &Path) -> PathBuf {
    let src = root.join("src");
    fs::create_dir_all(src.join("a/b/c")).unwrap();
    fs::write(src.join("a/b/c/deep.txt"), b"deep\n").unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    fs::write(
        src.join(OsStr::from_bytes(b"caf\xe9.bin")),
        vec![7u8; 70_000],
    )
    .unwrap();
    fs::write(src.join("exec.sh"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(src.join("exec.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    symlink("a/b/c/deep.txt", src.join("link")).unwrap();
    symlink("nowhere", src.join("dangling")).unwrap();
    symlink("x".repeat(150), src.join("longlink")).unwrap();
    fs::create_dir_all(src.join("ro")).unwrap();
    fs::write(src.join("ro/inside"), b"inside\n").unwrap();
    fs::set_permissions(src.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    for p in [
        "a/b/c/deep.txt",
        "empty",
        "exec.sh",
        "a/b/c",
        "a/b",
        "a",
        "ro/inside",
        "ro",
        ".",
    ] {
        set_mtime(&src.join(p), 1_600_000_000);
    }
    src
}

/// A file's size and MD5 (content read in pieces: corpora hold sparse files of several GiB).
fn digest(path: &Path) -> Vec<u8> {
    use md5::Digest;
    use std::io::Read;
    let mut f = fs::File::open(path).unwrap();
    let mut h = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(&h.finalize());
    out
}

/// The first differences between two trees, briefly (content as its length).
fn diff(a: &Tree, b: &Tree) -> String {
    let brief = |v: Option<&(char, u32, i64, Vec<u8>)>| {
        v.map(|(k, m, t, c)| format!("{k} {m:o} {t} {}", c.escape_ascii()))
            .unwrap_or_else(|| "missing".into())
    };
    let keys: std::collections::BTreeSet<&Vec<u8>> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(6)
        .map(|k| {
            format!(
                "{}: {} vs {}",
                k.escape_ascii(),
                brief(a.get(k)),
                brief(b.get(k))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn set_mtime(path: &Path, secs: i64) {
    let status = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{secs}"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn extract_ours(archive: &Path, dest: &Path, extra: &[&str]) -> Output {
    run(tartape()
        .arg("extract")
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .args(extra))
}

#[test]
fn our_tar_and_zip_extract_to_the_trees_gnu_tar_and_bsdtar_make() {
    let s = Scratch::new("ours");
    let src = source_tree(&s.0);
    for format in ["tar", "zip"] {
        if format == "zip" {
            // A ZIP name is UTF-8 or CP437: a name that is neither has no faithful form there.
            fs::remove_file(src.join(OsStr::from_bytes(b"caf\xe9.bin"))).unwrap();
            set_mtime(&src, 1_600_000_000);
        }
        let archive = s.0.join(format!("a.{format}"));
        let out = run(tartape()
            .args(["create", "--format", format, "-o"])
            .arg(&archive)
            .arg(&src));
        assert!(out.status.success(), "{out:?}");
        let ours = s.0.join(format!("ours-{format}"));
        let out = extract_ours(&archive, &ours, &[]);
        assert!(out.status.success(), "{out:?}");
        let mine = tree(&ours);
        assert_eq!(mine.get(&b"src/exec.sh"[..]).map(|e| e.1), Some(0o750));
        assert_eq!(
            mine.get(&b"src/ro"[..]).map(|e| (e.1, e.2)),
            Some((0o555, 1_600_000_000))
        );
        assert_eq!(
            mine.get(&b"src/link"[..]).map(|e| e.3.clone()),
            Some(b"a/b/c/deep.txt".to_vec())
        );
        let tools: &[(&str, &[&str])] = if format == "tar" {
            &[("tar", &["-xf"]), ("bsdtar", &["-xpf"])]
        } else {
            &[("bsdtar", &["-xpf"])]
        };
        for (tool, args) in tools {
            if !has(tool) {
                panic!("{tool} is needed (tests/deps.sh installs it)");
            }
            let theirs = s.0.join(format!("{tool}-{format}"));
            fs::create_dir_all(&theirs).unwrap();
            let out = run(Command::new(tool)
                .args(*args)
                .arg(&archive)
                .arg("-C")
                .arg(&theirs));
            assert!(out.status.success(), "{tool}: {out:?}");
            let theirs = tree(&theirs);
            assert!(
                mine == theirs,
                "{format}: ours vs {tool}: {}",
                diff(&mine, &theirs)
            );
        }
        // The same archive through a pipe (TAR only: ZIP needs a seekable file).
        if format == "tar" {
            let piped = s.0.join("piped");
            let out = run(Command::new("sh").arg("-c").arg(format!(
                "cat '{}' | '{}' extract - -C '{}'",
                archive.display(),
                env!("CARGO_BIN_EXE_tartape"),
                piped.display()
            )));
            assert!(out.status.success(), "{out:?}");
            let piped = tree(&piped);
            assert!(mine == piped, "from a pipe: {}", diff(&mine, &piped));
        }
    }
}

#[test]
fn members_strip_components_and_existing_files_follow_the_options() {
    let s = Scratch::new("options");
    let src = source_tree(&s.0);
    let archive = s.0.join("a.tar");
    assert!(
        run(tartape().arg("create").arg("-o").arg(&archive).arg(&src))
            .status
            .success()
    );
    let dest = s.0.join("d");
    let out = extract_ours(&archive, &dest, &["--strip-components", "2", "src/a/"]);
    assert!(out.status.success(), "{out:?}");
    let t = tree(&dest);
    assert_eq!(
        t.keys().cloned().collect::<Vec<_>>(),
        [b"b".to_vec(), b"b/c".to_vec(), b"b/c/deep.txt".to_vec()]
    );
    // An existing file is an error by default, kept with --keep-existing, replaced with --overwrite.
    fs::write(dest.join("b/c/deep.txt"), b"mine").unwrap();
    let out = extract_ours(&archive, &dest, &["--strip-components", "2", "src/a"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("src/a/b/c/deep.txt: already exists"), "{err}");
    assert_eq!(fs::read(dest.join("b/c/deep.txt")).unwrap(), b"mine");
    let out = extract_ours(
        &archive,
        &dest,
        &["--strip-components", "2", "--keep-existing", "src/a"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read(dest.join("b/c/deep.txt")).unwrap(), b"mine");
    let out = extract_ours(
        &archive,
        &dest,
        &["--strip-components", "2", "--overwrite", "src/a"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read(dest.join("b/c/deep.txt")).unwrap(), b"deep\n");
    // A member that is not in the archive is named.
    let out = extract_ours(&archive, &dest, &["src/nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found in"));
    assert_no_temporaries(&dest);
}

fn assert_no_temporaries(dir: &Path) {
    for (name, _) in tree(dir) {
        assert!(
            !name.windows(9).any(|w| w == b".tartape-"),
            "temporary left: {}",
            name.escape_ascii()
        );
    }
}

/// A ustar header with a link target.
fn link_header(name: &[u8], typeflag: u8, target: &[u8]) -> [u8; 512] {
    let mut h = build::tar_header(name, 0, typeflag);
    h[157..157 + target.len()].copy_from_slice(target);
    build::fix_checksum(&mut h);
    h
}

fn dir_header(name: &[u8]) -> [u8; 512] {
    let mut h = build::tar_header(name, 0, b'5');
    h[100..108].copy_from_slice(b"0000755\0");
    build::fix_checksum(&mut h);
    h
}

/// Extracts `archive` (bytes) into a fresh `inside` directory beside an `outside` one and checks
/// that it is refused naming `entry` and that nothing appeared outside.
fn assert_refused(tag: &str, archive: &[u8], ext: &str, entry: &str, extra: &[&str]) {
    let s = Scratch::new(tag);
    let outside = s.0.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let path = s.0.join(format!("hostile.{ext}"));
    fs::write(&path, archive).unwrap();
    let inside = s.0.join("inside");
    let out = extract_ours(&path, &inside, extra);
    assert_eq!(out.status.code(), Some(2), "{tag}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(entry),
        "{tag}: the message names {entry}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        tree(&outside).is_empty(),
        "{tag}: written outside: {:?}",
        tree(&outside)
    );
    assert!(!s.0.join("evil").exists() && !Path::new("/tmp/tartape-evil").exists());
    assert_no_temporaries(&inside);
}

#[test]
fn every_kind_of_escape_is_refused_and_nothing_is_written_outside() {
    let abs = build::tar(&[(build::tar_header(b"/tmp/tartape-evil", 4, b'0'), b"evil")]);
    assert_refused("absolute", &abs, "tar", "/tmp/tartape-evil", &[]);
    let dots = build::tar(&[(build::tar_header(b"a/../../evil", 4, b'0'), b"evil")]);
    assert_refused("dotdot", &dots, "tar", "a/../../evil", &[]);
    // A symlink pointing outside, then a file written through it.
    let through = build::tar(&[
        (link_header(b"esc", b'2', b"../outside"), b""),
        (build::tar_header(b"esc/evil", 4, b'0'), b"evil"),
    ]);
    assert_refused("through-symlink", &through, "tar", "esc/evil", &[]);
    // The same with an absolute target, and with --overwrite.
    let through_abs = build::tar(&[
        (link_header(b"esc", b'2', b"/tmp"), b""),
        (build::tar_header(b"esc/tartape-evil", 4, b'0'), b"evil"),
    ]);
    assert_refused(
        "through-abs-symlink",
        &through_abs,
        "tar",
        "esc/tartape-evil",
        &["--overwrite"],
    );
    // A directory, then a symlink of the same name, then a file under it.
    let swapped = build::tar(&[
        (dir_header(b"d/"), b""),
        (link_header(b"d", b'2', b"../outside"), b""),
        (build::tar_header(b"d/evil", 4, b'0'), b"evil"),
    ]);
    assert_refused("dir-then-symlink", &swapped, "tar", "d", &["--overwrite"]);
    // Hard links to names outside.
    let hard = build::tar(&[(link_header(b"h", b'1', b"../outside/x"), b"")]);
    assert_refused("hardlink-dotdot", &hard, "tar", "h", &[]);
    let hard_abs = build::tar(&[(link_header(b"h", b'1', b"/etc/passwd"), b"")]);
    assert_refused("hardlink-abs", &hard_abs, "tar", "h", &[]);
    // A hard link to a name reached through a symlink the archive made.
    let hard_via = build::tar(&[
        (link_header(b"esc", b'2', b"/etc"), b""),
        (link_header(b"h", b'1', b"esc/passwd"), b""),
    ]);
    assert_refused("hardlink-through-symlink", &hard_via, "tar", "h", &[]);
    // ZIP names that escape.
    let zip_dots = build::zip(&[build::member(b"../evil", b"evil", 0)]);
    assert_refused("zip-dotdot", &zip_dots, "zip", "../evil", &[]);
    let zip_abs = build::zip(&[build::member(b"/tmp/tartape-evil", b"evil", 8)]);
    assert_refused("zip-absolute", &zip_abs, "zip", "/tmp/tartape-evil", &[]);
}

#[test]
fn a_zip_whose_local_header_names_another_file_is_not_extracted_unless_forced() {
    let mut z = build::zip(&[build::member(b"good.txt", b"content", 0)]);
    // The local header's name (at 30) becomes "evil.txt"; the central directory keeps "good.txt".
    z[30..38].copy_from_slice(b"evil.txt");
    let s = Scratch::new("mismatch");
    let path = s.0.join("m.zip");
    fs::write(&path, &z).unwrap();
    let listed = run(tartape().arg("ls").arg("--json").arg(&path));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("\"name_mismatch\":true"));
    let dest = s.0.join("d");
    let out = extract_ours(&path, &dest, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("good.txt") && err.contains("local header"),
        "{err}"
    );
    assert!(tree(&dest).is_empty());
    let out = extract_ours(&path, &dest, &["--force"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read(dest.join("good.txt")).unwrap(), b"content");
    assert!(!dest.join("evil.txt").exists());
}

#[test]
fn content_that_fails_its_crc_or_size_leaves_no_file() {
    let s = Scratch::new("crc");
    let mut z = build::zip(&[
        build::member(b"bad.txt", b"content", 0),
        build::member(b"ok.txt", b"fine", 0),
    ]);
    z[30 + 7] ^= 0x20; // one byte of bad.txt's stored content
    let path = s.0.join("c.zip");
    fs::write(&path, &z).unwrap();
    let dest = s.0.join("d");
    let out = extract_ours(&path, &dest, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.txt") && err.contains("CRC"), "{err}");
    assert!(!dest.join("bad.txt").exists());
    assert_eq!(fs::read(dest.join("ok.txt")).unwrap(), b"fine");
    assert_no_temporaries(&dest);
    // A TAR cut inside a member's content, from a file and from a pipe.
    let t = build::tar(&[(build::tar_header(b"big", 5000, b'0'), &[1u8; 5000][..])]);
    let cut = s.0.join("cut.tar");
    fs::write(&cut, &t[..3000]).unwrap();
    for piped in [false, true] {
        let dest = s.0.join(format!("cut-{piped}"));
        let out = if piped {
            run(Command::new("sh").arg("-c").arg(format!(
                "cat '{}' | '{}' extract - -C '{}'",
                cut.display(),
                env!("CARGO_BIN_EXE_tartape"),
                dest.display()
            )))
        } else {
            extract_ours(&cut, &dest, &[])
        };
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(!dest.join("big").exists());
        if dest.exists() {
            assert_no_temporaries(&dest);
        }
    }
}

/// Corpora archives where we deliberately differ from a tool's extraction: (tool, file, reason).
const CORPORA_DIFFERENCES: &[(&str, &str, &str)] = &[
    ("tar", "libarchive/test_leading_slash.tar", "absolute names are refused, GNU tar strips the /"),
    ("tar", "libarchive/test_patterns_2.tar", "absolute names are refused, GNU tar strips the /"),
    ("tar", "libarchive/test_patterns_3.tar", "absolute names are refused, GNU tar strips the /"),
    (
        "tar",
        "libarchive/test_read_format_tar_empty_filename.tar",
        "an empty name is reported, GNU tar skips it silently",
    ),
    ("tar", "tar-rs/empty_filename.tar", "an empty name is reported, GNU tar skips it silently"),
    (
        "tar",
        "libarchive/test_read_format_tar_pax_timestamps.tar",
        "a pax mtime with trailing garbage is ignored (the ustar time is used); GNU tar reads its leading number",
    ),
    ("bsdtar", "libarchive/test_leading_slash.tar", "absolute names are refused, bsdtar strips the /"),
    ("bsdtar", "libarchive/test_patterns_2.tar", "absolute names are refused, bsdtar strips the /"),
    ("bsdtar", "libarchive/test_patterns_3.tar", "absolute names are refused, bsdtar strips the /"),
    (
        "bsdtar",
        "libarchive/test_read_format_gtar_sparse_1_17_posix10_modified.tar",
        "a GNU sparse 1.0 map with a stray byte is corrupt to our reader; bsdtar reads past it",
    ),
    (
        "bsdtar",
        "libarchive/test_read_format_tar_V_negative_size.tar",
        "a header with a negative size is corrupt to our reader; bsdtar skips the volume label",
    ),
    (
        "bsdtar",
        "libarchive/test_read_format_tar_pax_timestamps.tar",
        "a pax mtime with trailing garbage is ignored (the ustar time is used); bsdtar reads its leading number",
    ),
    ("bsdtar-zip", "cpython/zip_cp437_header.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_filename_cp866.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_filename_cp932.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_filename_koi8r.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_filename_utf8_ru2.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "zip2/chinese.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "zip2/non_utf8.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "zip2/windows-7zip.zip", "a name without the UTF-8 flag is decoded as CP437, as APPNOTE says and CPython does; bsdtar keeps its bytes"),
    ("bsdtar-zip", "libarchive/test_compat_zip_1.zip", "entries without Unix permissions get 0644 and 0755 (the reader's listing); bsdtar gives 0664 and 0775"),
    ("bsdtar-zip", "libarchive/test_compat_zip_5.zip", "entries without Unix permissions get 0644 and 0755 (the reader's listing); bsdtar gives 0664 and 0775"),
    ("bsdtar-zip", "libarchive/test_compat_zip_6.zip", "entries without Unix permissions get 0644 and 0755 (the reader's listing); bsdtar gives 0664 and 0775"),
    ("bsdtar-zip", "zip2/lzma.zip", "entries without Unix permissions get 0644 and 0755 (the reader's listing); bsdtar gives 0664 and 0775"),
    ("bsdtar-zip", "libarchive/test_compat_zip_8.zip", "a backslash stays in the name (it is a file name character on Unix); bsdtar reads it as a separator"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_7075_utf8_paths.zip", "its local headers name members differently from the central directory: refused without --force"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_extra_padding.zip", "known gap: our reader finds no end of central directory record behind the padding; bsdtar reads the local headers"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_mac_metadata.zip", "the extended timestamp (UTC) is used; bsdtar uses the DOS time"),
    ("bsdtar-zip", "libarchive/test_write_disk_appledouble_zip.zip", "the extended timestamp (UTC) is used; bsdtar uses the DOS time"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_msdos.zip", "known gap: a DOS directory attribute without a trailing / is a file to our reader (as to CPython); bsdtar makes a directory"),
    ("bsdtar-zip", "libarchive/test_read_format_zip_uncompressed_size_off_by_4gib.zip", "a stored member whose declared size is not its data's is refused as corrupt; bsdtar extracts the data"),
    ("bsdtar-zip", "zip2/lin-ub_iwd-v11.zip", "DOS read-only attributes do not change modes (0755, 0644); bsdtar gives 0555"),
    ("bsdtar-zip", "zip2/ppmd.zip", "known gap: PPMd (method 98) is not read"),
    ("bsdtar-zip", "zip2/zip64_demo.zip", "a member that zip recorded as a FIFO (it read standard input) is made as a FIFO; bsdtar makes nothing"),
    ("bsdtar-zip", "zip2/zip64_magic_in_filename_1.zip", "a name holding a NUL is unsafe and refused; bsdtar cuts it at the NUL"),
    ("bsdtar-zip", "zip2/zip64_magic_in_filename_2.zip", "a name holding a NUL is unsafe and refused; bsdtar cuts it at the NUL"),
    ("bsdtar-zip", "zip2/zip64_magic_in_filename_4.zip", "a name holding a NUL is unsafe and refused; bsdtar cuts it at the NUL"),
];

/// Extracts every corpora archive that `tool` extracts cleanly with us too, and compares the trees.
fn corpora_against(tool: &str, args: &[&str], extensions: &[&str]) {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if !corpora.is_dir() {
        eprintln!("SKIPPED: ../shared/corpora is not here");
        return;
    }
    let (tool, label) = (tool.split('-').next().unwrap_or(tool), tool);
    assert!(has(tool), "{tool} is needed (tests/deps.sh installs it)");
    let s = Scratch::new(&format!("corpora-{tool}"));
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["cpython", "libarchive", "tar-rs", "zip2"] {
        for e in fs::read_dir(corpora.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let ext = p.extension().and_then(OsStr::to_str).unwrap_or("");
            if extensions.contains(&ext) {
                files.push(p);
            }
        }
    }
    files.sort();
    let (mut compared, mut differences, mut unexpected) = (0, Vec::new(), Vec::new());
    for (i, archive) in files.iter().enumerate() {
        let rel = archive
            .strip_prefix(&corpora)
            .unwrap()
            .display()
            .to_string();
        let theirs = s.0.join(format!("theirs-{i}"));
        fs::create_dir_all(&theirs).unwrap();
        let status = run(Command::new(tool)
            .args(args)
            .arg(archive)
            .arg("-C")
            .arg(&theirs));
        if !status.status.success() {
            continue; // broken archives: the reader's tests cover what we say of them
        }
        let ours = s.0.join(format!("ours-{i}"));
        let out = extract_ours(archive, &ours, &[]);
        if out.status.success() && tree(&ours) == tree(&theirs) {
            compared += 1;
            continue;
        }
        differences.push(rel.clone());
        if !CORPORA_DIFFERENCES
            .iter()
            .any(|(t, f, _)| *t == label && *f == rel)
        {
            let err = String::from_utf8_lossy(&out.stderr);
            let first: Vec<&str> = err.lines().take(2).collect();
            unexpected.push(format!(
                "{rel}: ours differs from {tool}'s extraction ({:?}; {first:?}): {}",
                out.status.code(),
                diff(&tree(&ours), &tree(&theirs))
            ));
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    for (t, f, why) in CORPORA_DIFFERENCES.iter().filter(|(t, _, _)| *t == label) {
        assert!(
            differences.iter().any(|d| d == f),
            "{t} {f} no longer differs ({why}): update the list"
        );
    }
    assert!(
        compared >= 10,
        "only {compared} corpora archives compared with {tool}"
    );
    eprintln!("{compared} corpora archives extract as {tool} extracts them");
}

#[test]
fn the_shared_corpora_extract_as_gnu_tar_extracts_them() {
    corpora_against("tar", &["-xf"], &["tar"]);
}

#[test]
fn the_shared_corpora_extract_as_bsdtar_extracts_them() {
    corpora_against("bsdtar", &["-xpf"], &["tar"]);
}

#[test]
fn the_shared_corpora_zips_extract_as_bsdtar_extracts_them() {
    // A passphrase that is wrong: without one, bsdtar spends 16 s of CPU per AES-encrypted
    // archive on retries before it gives up (we do not decrypt; such archives are skipped).
    corpora_against(
        "bsdtar-zip",
        &["--passphrase", "not-the-passphrase", "-xpf"],
        &["zip"],
    );
}
