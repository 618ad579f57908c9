//! `Tape::copy_into`: a TAR written into a file with file content copied in the kernel
//! (`copy_file_range`) is byte for byte the stream, for every kind of entry, between file systems
//! too (a copy through memory where the kernel refuses); a source that changed is `Changed`
//! naming it; ZIP and compressed tapes are refused.

mod common;

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Arc;

use common::*;
use tartape::{Compress, Compression, CopyReport, Error, Format, Tape, TapeBuilder};

/// A tree of files of awkward sizes, a symlink and a hard link; returns its content's size.
fn tree(root: &Path) -> u64 {
    let mut rng = Rng::new(23);
    let mut content = 0;
    for (name, len) in [
        ("big", 3_000_001usize),
        ("mid", 70_000),
        ("one", 1),
        ("empty", 0),
    ] {
        write(&root.join(name), &rng.bytes(len));
        content += len as u64;
    }
    for i in 0..40 {
        let len = rng.below(2000) as usize;
        write(&root.join(format!("sub/f{i:02}")), &rng.bytes(len));
        content += len as u64;
    }
    std::os::unix::fs::symlink("big", root.join("link")).unwrap();
    fs::hard_link(root.join("mid"), root.join("mid-again")).unwrap();
    content
}

fn tape(root: &Path, format: Format) -> Arc<Tape> {
    let mut b = TapeBuilder::new();
    b.set_format(format);
    b.add_path(root, None).unwrap();
    b.add_bytes(b"memory.bin", vec![7u8; 100_000], 0o644, 0)
        .unwrap();
    Arc::new(b.seal().unwrap())
}

fn copy(tape: &Tape, out: &Path) -> tartape::Result<CopyReport> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(out)
        .unwrap();
    let mut seen = Vec::new();
    let report = tape.copy_into(&file, &mut |n| seen.push(n));
    if report.is_ok() {
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "progress goes forward"
        );
        assert_eq!(seen.last(), Some(&tape.total_size()));
    }
    report
}

#[test]
fn a_copy_is_the_stream_with_file_content_copied_in_the_kernel() {
    let dir = TempDir::new("copy-into");
    let content = tree(&dir.join("tree"));
    let t = tape(&dir.join("tree"), Format::Tar);
    let want = archive_bytes(&t);
    let out = dir.join("out.tar");
    let report = copy(&t, &out).unwrap();
    assert!(fs::read(&out).unwrap() == want);
    assert_eq!(report.bytes, want.len() as u64);
    // Same file system: the kernel copies every file's content (both names of the hard link carry
    // it: each name is stored as a file); memory entries come from read_at.
    assert_eq!(report.copied_in_kernel, content + 70_000, "{report:?}");
    assert_eq!(report.copied_through_memory, 0, "{report:?}");
    // Over an older, longer file: only the archive's bytes are written (the caller truncates).
    fs::write(&out, vec![0xAA; want.len() + 10_000]).unwrap();
    let f = OpenOptions::new().write(true).open(&out).unwrap();
    t.copy_into(&f, &mut |_| {}).unwrap();
    assert!(fs::read(&out).unwrap()[..want.len()] == want[..]);
}

/// A file larger than the copy's step (32 MiB: each step's writeback is started as it is written)
/// is copied in several kernel copies, whole and in place, among entries before and after it.
#[test]
fn a_file_larger_than_a_writeback_step_is_copied_whole() {
    let dir = TempDir::new("copy-into-large");
    let root = dir.join("tree");
    write(&root.join("a"), b"before");
    let len = (70u64 << 20) + 3;
    let big = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(root.join("b"))
        .unwrap();
    big.set_len(len).unwrap();
    let mut rng = Rng::new(5);
    for at in [0, (32 << 20) - 1, 32 << 20, 64 << 20, len - 7] {
        std::os::unix::fs::FileExt::write_all_at(&big, &rng.bytes(7), at).unwrap();
    }
    drop(big);
    write(&root.join("c"), b"after");
    let t = tape(&root, Format::Tar);
    let want = archive_bytes(&t);
    let out = dir.join("out.tar");
    let report = copy(&t, &out).unwrap();
    assert_eq!(report.copied_in_kernel, len + 11, "{report:?}");
    assert!(fs::read(&out).unwrap() == want);
}

#[test]
fn a_copy_between_file_systems_is_the_same_bytes() {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        println!("note: no /dev/shm; skipped");
        return;
    }
    let dir = TempDir::new("copy-into-xfs");
    let src = shm.join(format!("tartape-copy-into-{}", std::process::id()));
    let _ = fs::remove_dir_all(&src);
    tree(&src);
    let t = tape(&src, Format::Tar);
    let want = archive_bytes(&t);
    let out = dir.join("out.tar");
    let report = copy(&t, &out);
    fs::remove_dir_all(&src).unwrap();
    let report = report.unwrap();
    assert!(fs::read(&out).unwrap() == want);
    println!("tmpfs to ext4: {report:?}");
}

#[test]
fn a_changed_source_fails_the_copy_naming_it() {
    let dir = TempDir::new("copy-into-changed");
    tree(&dir.join("tree"));
    let t = tape(&dir.join("tree"), Format::Tar);
    set_mtime(&dir.join("tree/big"), 1_000_000_000, 0);
    match copy(&t, &dir.join("a.tar")) {
        Err(Error::Changed { name, .. }) => assert!(name.contains("big"), "{name}"),
        other => panic!("expected Changed, got {other:?}"),
    }
    let t = tape(&dir.join("tree"), Format::Tar);
    fs::remove_file(dir.join("tree/sub/f07")).unwrap();
    match copy(&t, &dir.join("b.tar")) {
        Err(e) => assert!(e.to_string().contains("f07"), "{e}"),
        Ok(r) => panic!("a deleted file was copied: {r:?}"),
    }
}

#[test]
fn zip_and_compressed_tapes_are_refused() {
    let dir = TempDir::new("copy-into-refused");
    tree(&dir.join("tree"));
    let zip = tape(&dir.join("tree"), Format::Zip);
    assert!(matches!(
        copy(&zip, &dir.join("z")),
        Err(Error::InvalidArgument(_))
    ));
    let mut b = TapeBuilder::new();
    b.add_path(&dir.join("tree"), None).unwrap();
    b.set_compression(Some(Compress::new(Compression::Zstd, 3).unwrap()));
    let zst = b.seal().unwrap();
    assert!(matches!(
        copy(&zst, &dir.join("c")),
        Err(Error::NotRandomAccess(_))
    ));
}
