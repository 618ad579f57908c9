//! Our archives read by the real readers: GNU tar, bsdtar, Python's tarfile and Go's archive/tar
//! list and extract every awkward case with names, links, sizes, modes, mtimes and contents
//! intact, and without a warning.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, FileExt};
use std::path::Path;
use std::process::Command;

use common::*;
/// The two zero blocks that end a TAR archive.
const TRAILER_LEN: u64 = 1024;

/// A tree with every name, link, size and time that needs more than a plain ustar header.
fn awkward_tree(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("tree");
    fs::create_dir(&root).unwrap();
    let mut rng = Rng::new(7);
    // A path of 300+ bytes through nested directories.
    let mut long = Vec::new();
    for i in 0..6 {
        long.extend_from_slice(format!("{i}-{}/", "d".repeat(50)).as_bytes());
    }
    long.extend_from_slice(b"deep-file.txt");
    assert!(long.len() > 300);
    write(&bpath(&root, &long), b"at the bottom\n");
    // One component longer than 100 bytes (no ustar split can hold it).
    write(&root.join("c".repeat(200)), &rng.bytes(1000));
    // Non-ASCII UTF-8.
    write(&root.join("héllo wörld ✓.txt"), "ünïcödé\n".as_bytes());
    write(&root.join("日本語/ファイル.bin"), &rng.bytes(70_000));
    write(
        &root.join("日本語/".repeat(25) + "長い.txt"),
        b"a long UTF-8 path\n",
    );
    // Not UTF-8: a short name (fits ustar) and a long one (pax path with hdrcharset=BINARY).
    write(&bpath(&root, b"bad\xff\xfename"), b"latin-1 soup\n");
    let mut long_bad = b"\xe9t\xe9-".repeat(40);
    long_bad.extend_from_slice(b"/x\xffy.dat");
    write(&bpath(&root, &long_bad), &rng.bytes(513));
    // Symlinks: a target over 100 bytes, a non-UTF-8 long target, a short one.
    let target = format!("../{}/target", "t".repeat(150));
    symlink(&target, root.join("long-link")).unwrap();
    let mut bad_target = b"\xff".repeat(120);
    bad_target.extend_from_slice(b"/end");
    symlink(
        std::ffi::OsStr::from_bytes(&bad_target),
        root.join("bad-link"),
    )
    .unwrap();
    symlink("héllo wörld ✓.txt", root.join("short-link")).unwrap();
    // Empty file, empty directory.
    write(&root.join("empty.txt"), b"");
    fs::create_dir(root.join("empty-dir")).unwrap();
    // Exactly one block, and one byte over.
    write(&root.join("block.bin"), &rng.bytes(512));
    write(&root.join("block1.bin"), &rng.bytes(513));
    // Modes.
    chmod(&root.join("block.bin"), 0o600);
    chmod(&root.join("block1.bin"), 0o755);
    chmod(&root.join("empty-dir"), 0o700);
    // Times: ordinary, negative, past 2^33 (beyond ustar's 11 octal digits).
    for (i, entry) in all_paths(&root).iter().rev().enumerate() {
        set_mtime(entry, 1_600_000_000 + i as i64 * 3600, 0);
    }
    set_mtime(&root.join("empty.txt"), -12_345, 0);
    set_mtime(&root.join("block.bin"), (1 << 33) + 7, 0);
    set_mtime(&root.join("short-link"), -1, 0);
    set_mtime(&root, 1_650_000_000, 0);
    root
}

/// Every path under `root`, parents before children.
fn all_paths(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            for c in fs::read_dir(&p).unwrap() {
                out.push(c.unwrap().path());
            }
        }
        i += 1;
    }
    out
}

/// Writes the archive of `root` to `dir/archive.tar`.
fn write_archive(dir: &Path, root: &Path) -> std::path::PathBuf {
    let tape = tape_of(&[root]);
    let path = dir.join("archive.tar");
    fs::write(&path, archive_bytes(&tape)).unwrap();
    path
}

#[test]
fn python_and_go_list_awkward_names_links_modes_and_times_intact() {
    let dir = TempDir::new("interop-list");
    let root = awkward_tree(dir.path());
    let archive = write_archive(dir.path(), &root);
    let expected = describe_tree(&root, b"tree");
    assert_eq!(sorted(python_list(&archive)), expected, "Python tarfile");
    assert_eq!(sorted(go_list(&archive)), expected, "Go archive/tar");
}

#[test]
fn gnu_tar_lists_and_extracts_awkward_names_without_warnings() {
    let dir = TempDir::new("interop-gnu");
    let root = awkward_tree(dir.path());
    let archive = write_archive(dir.path(), &root);
    let expected = describe_tree(&root, b"tree");
    let mut names = gnu_tar_names(&archive);
    names.sort();
    let mut want: Vec<Vec<u8>> = expected.iter().map(|l| l.name.clone()).collect();
    want.sort();
    assert_eq!(names, want);
    let out = dir.join("out");
    extract("tar", &archive, &out);
    assert_eq!(describe_tree(&out.join("tree"), b"tree"), expected);
}

#[test]
fn bsdtar_lists_and_extracts_awkward_names_without_warnings() {
    let dir = TempDir::new("interop-bsd");
    let root = awkward_tree(dir.path());
    let archive = write_archive(dir.path(), &root);
    let expected = describe_tree(&root, b"tree");
    // bsdtar needs a UTF-8 locale for UTF-8 pax paths (in the C locale it refuses any archive's).
    let listing = run_clean(
        Command::new("bsdtar")
            .arg("-tf")
            .arg(&archive)
            .env("LC_ALL", "C.UTF-8"),
    );
    assert_eq!(
        listing.stdout.split(|&b| b == b'\n').count() - 1,
        expected.len()
    );
    let out = dir.join("out");
    extract("bsdtar", &archive, &out);
    assert_eq!(describe_tree(&out.join("tree"), b"tree"), expected);
}

#[test]
fn gnu_tar_compare_mode_finds_no_difference_with_the_source() {
    let dir = TempDir::new("interop-diff");
    let root = awkward_tree(dir.path());
    let archive = write_archive(dir.path(), &root);
    // `tar --compare` checks sizes, modes, mtimes, link targets and contents against the disk.
    run_clean(
        Command::new("tar")
            .args(["--compare", "-f"])
            .arg(&archive)
            .arg("-C")
            .arg(dir.path())
            .env("LC_ALL", "C"),
    );
}

const NINE_GIB: u64 = 9 << 30;

/// A directory with a sparse 9 GiB file `huge.bin` and a small `small.txt`.
fn sparse_tree(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let huge = dir.join("huge.bin");
    let f = fs::File::create(&huge).unwrap();
    f.set_len(NINE_GIB).unwrap();
    drop(f);
    set_mtime(&huge, 1_700_000_000, 0);
    let small = dir.join("small.txt");
    write(&small, b"after the big one\n");
    set_mtime(&small, 1_700_000_001, 0);
    (huge, small)
}

#[test]
fn sparse_9gib_file_header_is_read_by_python_and_go_from_the_first_blocks() {
    let dir = TempDir::new("sparse-head");
    let (huge, small) = sparse_tree(dir.path());
    let out = run_ok(
        Command::new(tartape_bin())
            .args(["create", "--quiet", "--length", "4096"])
            .arg(&huge)
            .arg(&small),
    );
    assert_eq!(out.stdout.len(), 4096);
    let text = String::from_utf8_lossy(&out.stdout[512..1024]);
    assert!(
        text.contains(" size=9663676416\n"),
        "pax size record: {text}"
    );
    for (reader, l) in [
        ("python", python_first_header(&out.stdout)),
        ("go", go_first_header(&out.stdout)),
    ] {
        assert_eq!(l.name, b"huge.bin", "{reader}");
        assert_eq!(l.kind, '0', "{reader}");
        assert_eq!(l.size, NINE_GIB, "{reader}");
        assert_eq!(l.mode, 0o644, "{reader}");
        assert_eq!(l.mtime, 1_700_000_000, "{reader}");
    }
}

#[test]
fn sparse_9gib_file_tail_padding_trailer_and_total_size_add_up() {
    let dir = TempDir::new("sparse-tail");
    let (huge, small) = sparse_tree(dir.path());
    let tape = tape_of(&[&huge, &small]);
    let slots = tape.layout().slots().unwrap();
    assert_eq!(slots.len(), 2);
    let (h, s) = (&slots[0], &slots[1]);
    assert_eq!(h.header_len, 3 * 512, "pax header, records, ustar block");
    assert_eq!(h.entry.size, NINE_GIB);
    assert_eq!(h.end_offset(), 1536 + NINE_GIB, "9 GiB needs no padding");
    assert_eq!(s.header_offset, h.end_offset());
    assert_eq!(s.end_offset(), s.header_offset + 512 + 512);
    assert_eq!(tape.total_size(), 1536 + NINE_GIB + 1024 + TRAILER_LEN);

    // The last content bytes of the big file, then the small entry and the trailer.
    let tail_start = h.end_offset() - 4096;
    let mut tail = vec![0xAA; (tape.total_size() - tail_start) as usize];
    assert_eq!(
        tape.read_at(tail_start, &mut tail).unwrap(),
        tail.len(),
        "read_at fills up to the end"
    );
    assert!(
        tail[..4096].iter().all(|&b| b == 0),
        "sparse content is zeros"
    );
    let small_hdr = &tail[4096..4096 + 512];
    assert_eq!(&small_hdr[..9], b"small.txt");
    assert_eq!(&tail[4096 + 512..4096 + 512 + 18], b"after the big one\n");
    assert!(
        tail[4096 + 512 + 18..4096 + 1024].iter().all(|&b| b == 0),
        "padding is zeros"
    );
    assert_eq!(tail.len(), 4096 + 1024 + 1024);
    assert!(tail[4096 + 1024..].iter().all(|&b| b == 0), "the trailer");
    // At and past the end: nothing.
    let mut buf = [1u8; 16];
    assert_eq!(tape.read_at(tape.total_size(), &mut buf).unwrap(), 0);
    assert_eq!(tape.read_at(tape.total_size() + 1, &mut buf).unwrap(), 0);
    assert_eq!(tape.read_at(u64::MAX, &mut buf).unwrap(), 0);
    // A stream resumed near the end gives the same bytes as read_at.
    let resumed = stream_bytes(&tape, tail_start).unwrap();
    assert_eq!(resumed, tail);
    // And so does the command line's --offset/--length.
    let out = run_ok(
        Command::new(tartape_bin())
            .args(["create", "--quiet", "--offset"])
            .arg(tail_start.to_string())
            .args(["--length", "100000"])
            .arg(&huge)
            .arg(&small),
    );
    assert_eq!(out.stdout, tail);
}

#[test]
fn sparse_9gib_archive_is_listed_by_every_reader_by_seeking() {
    let dir = TempDir::new("sparse-list");
    let (huge, small) = sparse_tree(dir.path());
    let tape = tape_of(&[&huge, &small]);
    // The archive's content region is zeros, so a sparse file holding only the header and the
    // tail is byte for byte the archive, and readers that seek list it without reading 9 GiB.
    let archive = dir.join("sparse.tar");
    let f = fs::File::create(&archive).unwrap();
    f.set_len(tape.total_size()).unwrap();
    let data_offset = tape.layout().slot(0).unwrap().data_offset();
    let mut head = vec![0u8; data_offset as usize];
    tape.read_at(0, &mut head).unwrap();
    f.write_all_at(&head, 0).unwrap();
    let tail_start = tape.layout().slot(0).unwrap().end_offset() - 512;
    let mut tail = vec![0u8; (tape.total_size() - tail_start) as usize];
    tape.read_at(tail_start, &mut tail).unwrap();
    f.write_all_at(&tail, tail_start).unwrap();
    drop(f);

    let gnu = run_clean(
        Command::new("tar")
            .args(["--seek", "--numeric-owner", "-tvf"])
            .arg(&archive)
            .env("LC_ALL", "C")
            .env("TZ", "UTC"),
    );
    let text = String::from_utf8(gnu.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(" 9663676416 ") && lines[0].ends_with(" huge.bin"));
    assert!(lines[1].contains(" 18 ") && lines[1].ends_with(" small.txt"));

    let bsd = run_clean(Command::new("bsdtar").arg("-tvf").arg(&archive));
    let text = String::from_utf8(bsd.stdout).unwrap();
    assert!(text.contains(" 9663676416 "), "{text}");
    assert!(text.contains("small.txt"), "{text}");

    for (reader, listing) in [
        (
            "python",
            parse_listing(
                &run_clean(
                    Command::new("python3")
                        .arg(root().join("tests/interop/pylist.py"))
                        .arg("--headers-only")
                        .arg(&archive),
                )
                .stdout,
            ),
        ),
        (
            "go",
            parse_listing(
                &run_clean(Command::new(go_lister()).arg("-headers-only").arg(&archive)).stdout,
            ),
        ),
    ] {
        let sizes: Vec<(Vec<u8>, u64, i64)> = listing
            .into_iter()
            .map(|l| (l.name, l.size, l.mtime))
            .collect();
        assert_eq!(
            sizes,
            vec![
                (b"huge.bin".to_vec(), NINE_GIB, 1_700_000_000),
                (b"small.txt".to_vec(), 18, 1_700_000_001)
            ],
            "{reader}"
        );
    }
}

/// An archive of `root` with each file's content at a multiple of `align` (`--align`).
fn aligned_archive(dir: &Path, root: &Path, align: u64) -> (std::path::PathBuf, Vec<u8>) {
    let mut b = tartape::TapeBuilder::new();
    b.set_align(align).unwrap();
    b.add_path(root, None).unwrap();
    let tape = std::sync::Arc::new(b.seal().unwrap());
    let bytes = archive_bytes(&tape);
    // Kept by a catalog: opened again, the same bytes.
    let catalog = dir.join(format!("aligned-{align}.tartape"));
    tape.save(&catalog).unwrap();
    let opened = std::sync::Arc::new(tartape::Tape::open(&catalog).unwrap());
    assert!(
        archive_bytes(&opened) == bytes,
        "the catalog keeps the alignment"
    );
    let path = dir.join(format!("aligned-{align}.tar"));
    fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn aligned_archives_are_read_by_every_reader_with_content_at_the_alignment() {
    let dir = TempDir::new("interop-align");
    let root = awkward_tree(dir.path());
    let expected = describe_tree(&root, b"tree");
    let plain = archive_bytes(&tape_of(&[&root]));
    for align in [512u64, 4096, 64 << 10] {
        let (archive, bytes) = aligned_archive(dir.path(), &root, align);
        let (_, again) = aligned_archive(dir.path(), &root, align);
        assert!(bytes == again, "deterministic");
        assert!(align == 512 || bytes != plain, "{align}: padded");
        let listed = tartape::reader::Archive::open(&archive).unwrap();
        for e in listed.entries() {
            if e.kind == tartape::reader::EntryKind::File && e.size > 0 {
                assert_eq!(e.data_offset % align, 0, "{align}: {:?}", e.name);
            }
        }
        assert_eq!(
            sorted(python_list(&archive)),
            expected,
            "Python tarfile, {align}"
        );
        assert_eq!(
            sorted(go_list(&archive)),
            expected,
            "Go archive/tar, {align}"
        );
        let out = dir.join(format!("out-gnu-{align}"));
        extract("tar", &archive, &out);
        assert_eq!(
            describe_tree(&out.join("tree"), b"tree"),
            expected,
            "GNU tar, {align}"
        );
        let out = dir.join(format!("out-bsd-{align}"));
        extract("bsdtar", &archive, &out);
        assert_eq!(
            describe_tree(&out.join("tree"), b"tree"),
            expected,
            "bsdtar, {align}"
        );
        run_clean(
            Command::new("tar")
                .args(["--compare", "-f"])
                .arg(&archive)
                .arg("-C")
                .arg(dir.path())
                .env("LC_ALL", "C"),
        );
    }
    let mut b = tartape::TapeBuilder::new();
    for bad in [1u64, 1000, 256, 128 << 10] {
        assert!(b.set_align(bad).is_err(), "{bad}");
    }
    b.set_format(tartape::Format::Zip);
    b.set_align(4096).unwrap();
    assert!(b.seal().is_err(), "ZIP refuses alignment");
}
