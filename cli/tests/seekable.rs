//! Seekable compressed archives from the command line: `record --zstd` / `--compress gzip` saves
//! the frames in the catalog, `play` gives the same bytes as `create --seekable`, from any
//! compressed offset too; `zstd -d` / `gzip -d` give `create`'s plain TAR; volumes concatenate to
//! the archive; `locate` names the compressed bytes of an entry; and what cannot be done says so.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn tartape(args: &[&str]) -> Output {
    Command::new(tartape_bin()).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Vec<u8> {
    let out = tartape(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    out.stdout
}

fn tree(dir: &Path) -> PathBuf {
    let root = dir.join("tree");
    let mut rng = Rng::new(5);
    for i in 0..120 {
        let text = format!("file {i}: {}\n", "some words ".repeat(i % 40)).repeat(i % 9 + 1);
        write(&root.join(format!("docs/{i:03}.txt")), text.as_bytes());
    }
    write(&root.join("blob.bin"), &rng.bytes(900_000));
    write(
        &root.join("logs/big.log"),
        &"GET /index.html 200\n".repeat(40_000).into_bytes(),
    );
    root
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn record_play_and_create_give_one_seekable_archive() {
    let dir = TempDir::new("cli-seekable");
    let root = tree(dir.path());
    let plain = ok(&["create", p(&root)]);
    for (flags, tool) in [
        (vec!["--zstd"], "zstd"),
        (vec!["--compress", "zstd=9"], "zstd"),
        (vec!["--compress", "gzip=6"], "gzip"),
    ] {
        let cat = dir.join("t.tartape");
        let mut args = vec![
            "record",
            p(&root),
            "--catalog",
            p(&cat),
            "--frame-size",
            "64K",
        ];
        args.extend(&flags);
        let said = String::from_utf8(ok(&args)).unwrap();
        assert!(said.contains("frames: "), "{said}");
        let whole = ok(&["play", p(&cat)]);
        let total: u64 = said
            .lines()
            .find_map(|l| l.strip_prefix("total size: "))
            .and_then(|r| r.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            whole.len() as u64,
            total,
            "{flags:?}: the size said before streaming"
        );
        assert!(whole.len() < plain.len() / 2, "{flags:?} compresses");
        let mut create_args = vec!["create", "--seekable", "--frame-size", "64K"];
        create_args.extend(&flags);
        create_args.push(p(&root));
        assert!(
            ok(&create_args) == whole,
            "{flags:?}: create --seekable = play"
        );
        let out = run_with_input(Command::new(tool).args(["-d", "-c"]), &whole);
        assert!(out.stdout == plain, "{tool} -d gives the plain TAR");

        // From any compressed byte, and to a file.
        for at in [1u64, 4097, whole.len() as u64 / 2, whole.len() as u64 - 3] {
            let got = ok(&["play", p(&cat), "--offset", &at.to_string()]);
            assert!(got == whole[at as usize..], "{flags:?} from {at}");
        }
        let file = dir.join("out.tar.x");
        ok(&["play", p(&cat), "-o", p(&file), "-q"]);
        assert!(std::fs::read(&file).unwrap() == whole);
        // Written in place by parts on several threads, as many hosts would.
        let written = dir.join("written.tar.x");
        ok(&[
            "write",
            p(&cat),
            p(&written),
            "--part-size",
            "64K",
            "--jobs",
            "3",
        ]);
        assert!(
            std::fs::read(&written).unwrap() == whole,
            "{flags:?}: tartape write"
        );

        // Volumes are byte ranges of the compressed archive.
        let vols = dir.join("vols");
        let _ = std::fs::remove_dir_all(&vols);
        ok(&[
            "volumes",
            p(&cat),
            "--size",
            "50K",
            "--out-dir",
            p(&vols),
            "-q",
        ]);
        let mut names: Vec<_> = std::fs::read_dir(&vols)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".json"))
            .collect();
        names.sort();
        let joined: Vec<u8> = names
            .iter()
            .flat_map(|n| std::fs::read(n).unwrap())
            .collect();
        assert!(
            joined == whole,
            "{flags:?}: volumes concatenate to the archive"
        );

        let loc = String::from_utf8(ok(&["locate", p(&cat), "tree/logs/big.log"])).unwrap();
        assert!(loc.contains("compressed: bytes "), "{loc}");

        // Compression options on a catalog that has its frames are refused, in one line.
        let out = tartape(&["play", p(&cat), "--zstd"]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("already compressed"), "{err}");
    }
}

#[test]
fn bad_frame_sizes_and_zip_are_refused_in_one_line() {
    let dir = TempDir::new("cli-seekable-bad");
    let root = tree(dir.path());
    for args in [
        vec!["create", "--seekable", "--frame-size", "1K", p(&root)],
        vec!["create", "--seekable", "--frame-size", "1G", p(&root)],
        vec!["create", "--format", "zip", "--seekable", p(&root)],
    ] {
        let out = tartape(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
}
