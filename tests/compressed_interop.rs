//! Compressed tapes read by the real tools: `gzip -d` and `zstd -d` give back exactly the plain
//! TAR (and `gzip -t`, `zstd -t` find nothing to say); GNU tar (`-z`, `--zstd`) and bsdtar list
//! and extract them with names, modes, mtimes, links and contents intact, without a warning; and
//! Python's tarfile reads the gzip one as the source tree.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use tartape::{Compress, Compression, Tape, TapeBuilder};

fn tree(dir: &Path) -> PathBuf {
    let root = dir.join("tree");
    let mut rng = Rng::new(9);
    let mut long = Vec::new();
    for i in 0..4 {
        long.extend_from_slice(format!("{i}-{}/", "x".repeat(40)).as_bytes());
    }
    long.extend_from_slice(b"deep.txt");
    write(&bpath(&root, &long), b"at the bottom\n");
    write(&root.join("héllo ✓.txt"), "ünïcödé\n".as_bytes());
    write(&bpath(&root, b"bad\xffname"), b"latin-1\n");
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{} {}\n", i % 311, i % 7).into_bytes())
        .collect();
    write(&root.join("text.txt"), &text);
    write(&root.join("random.bin"), &rng.bytes(1 << 20));
    write(&root.join("empty"), b"");
    std::fs::create_dir(root.join("empty-dir")).unwrap();
    symlink("text.txt", root.join("link")).unwrap();
    chmod(&root.join("random.bin"), 0o600);
    chmod(&root.join("text.txt"), 0o755);
    let mut all = vec![root.clone()];
    let mut i = 0;
    while i < all.len() {
        if all[i].is_dir() && !all[i].is_symlink() {
            for e in std::fs::read_dir(&all[i]).unwrap() {
                all.push(e.unwrap().path());
            }
        }
        i += 1;
    }
    for (k, p) in all.iter().rev().enumerate() {
        set_mtime(p, 1_600_000_000 + k as i64 * 3600, 0);
    }
    root
}

/// The plain TAR of `root`, and the tape compressed with `kind` at `level`, written to files.
fn archives(dir: &Path, root: &Path, kind: Compression, level: i32) -> (Vec<u8>, PathBuf) {
    let seal = |c: Option<Compress>| {
        let mut b = TapeBuilder::new();
        b.add_path(root, None).unwrap();
        b.set_compression(c);
        Arc::new(b.seal().unwrap())
    };
    let plain = archive_bytes(&seal(None));
    let t: Arc<Tape> = seal(Some(Compress::new(kind, level).unwrap()));
    let mut s = t.stream(0, false).unwrap();
    let mut packed = Vec::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        packed.extend_from_slice(&buf[..n]);
    }
    let ext = if kind == Compression::Gzip {
        "tar.gz"
    } else {
        "tar.zst"
    };
    let path = dir.join(format!("tree-{level}.{ext}"));
    std::fs::write(&path, &packed).unwrap();
    (plain, path)
}

#[test]
fn gzip_and_zstd_commands_give_back_the_plain_tar() {
    let dir = TempDir::new("ci-tools");
    let root = tree(dir.path());
    for (kind, levels, tool) in [
        (Compression::Gzip, &[1, 6, 9][..], "gzip"),
        (Compression::Zstd, &[1, 3, 19][..], "zstd"),
    ] {
        for &level in levels {
            let (plain, path) = archives(dir.path(), &root, kind, level);
            run_clean(Command::new(tool).arg("-t").arg("-q").arg(&path));
            let out = run_clean(Command::new(tool).arg("-d").arg("-c").arg("-q").arg(&path));
            assert!(out.stdout == plain, "{tool} -d of level {level}");
        }
    }
}

#[test]
fn gnu_tar_lists_and_extracts_compressed_tapes_without_warnings() {
    let dir = TempDir::new("ci-gnu");
    let root = tree(dir.path());
    let expected = describe_tree(&root, b"tree");
    for (kind, flag) in [(Compression::Gzip, "-z"), (Compression::Zstd, "--zstd")] {
        let (_, path) = archives(dir.path(), &root, kind, 0);
        let listed = run_clean(
            Command::new("tar")
                .arg(flag)
                .arg("-tf")
                .arg(&path)
                .env("LC_ALL", "C"),
        );
        assert_eq!(
            listed.stdout.iter().filter(|b| **b == b'\n').count(),
            expected.len(),
            "{flag}"
        );
        let out = dir.join(format!("gnu-{}", kind.name()));
        std::fs::create_dir_all(&out).unwrap();
        run_clean(
            Command::new("tar")
                .arg(flag)
                .args(["--warning=no-timestamp", "-xpf"])
                .arg(&path)
                .arg("-C")
                .arg(&out)
                .env("LC_ALL", "C"),
        );
        assert_eq!(
            describe_tree(&out.join("tree"), b"tree"),
            expected,
            "{flag}"
        );
    }
}

#[test]
fn bsdtar_lists_and_extracts_compressed_tapes_without_warnings() {
    let dir = TempDir::new("ci-bsd");
    let root = tree(dir.path());
    let expected = describe_tree(&root, b"tree");
    for kind in [Compression::Gzip, Compression::Zstd] {
        let (_, path) = archives(dir.path(), &root, kind, 0);
        let out = dir.join(format!("bsd-{}", kind.name()));
        extract("bsdtar", &path, &out);
        assert_eq!(
            describe_tree(&out.join("tree"), b"tree"),
            expected,
            "{kind:?}"
        );
    }
}

#[test]
fn python_tarfile_reads_the_gzip_tape_as_the_tree() {
    let dir = TempDir::new("ci-py");
    let root = tree(dir.path());
    let (_, path) = archives(dir.path(), &root, Compression::Gzip, 6);
    assert_eq!(
        sorted(python_list(&path)),
        describe_tree(&root, b"tree"),
        "Python tarfile (r:*)"
    );
}
