//! `tartape write`: one archive file written in place, whole or by slices run as separate
//! processes (as the nodes of a batch job would), equals `tartape create` of the same tree;
//! `--complete` refuses a missing or wrong part and names it; failures leave OUT untouched.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

fn tartape(args: &[&OsStr]) -> Output {
    Command::new(tartape_bin()).args(args).output().unwrap()
}

fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// A tree of large and small files with a non-UTF-8 name, its catalog and `tartape create`'s bytes.
fn recorded(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let root = dir.join("tree");
    let mut rng = Rng::new(17);
    write(&root.join("big.bin"), &rng.bytes(3 << 20));
    write(&root.join("mid.bin"), &rng.bytes((1 << 20) + 12_345));
    for i in 0..50 {
        let len = rng.below(3000) as usize;
        write(&root.join(format!("small/f{i:02}")), &rng.bytes(len));
    }
    write(&bpath(&root, b"caf\xe9.txt"), b"latin-1 name\n");
    let catalog = dir.join("tree.tartape");
    let out = tartape(&[
        os("record"),
        root.as_os_str(),
        os("--catalog"),
        catalog.as_os_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = tartape(&[os("create"), root.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    (root, catalog, out.stdout)
}

fn assert_one_line_failure(out: &Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    for w in words {
        assert!(err.contains(w), "{err:?} should contain {w:?}");
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| String::from_utf8_lossy(e.unwrap().file_name().as_bytes()).into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_whole_write_is_the_archive() {
    let dir = TempDir::new("write-whole");
    let (_, catalog, archive) = recorded(dir.path());
    for (jobs, part) in [("1", "64M"), ("3", "300001"), ("8", "1M")] {
        let out_dir = dir.join(format!("out-{jobs}"));
        fs::create_dir(&out_dir).unwrap();
        let out = out_dir.join("a.tar");
        let got = tartape(&[
            os("write"),
            catalog.as_os_str(),
            out.as_os_str(),
            os("--jobs"),
            os(jobs),
            os("--part-size"),
            os(part),
        ]);
        assert!(got.status.success(), "{got:?}");
        assert!(
            fs::read(&out).unwrap() == archive,
            "jobs {jobs}, parts of {part}"
        );
        assert_eq!(names(&out_dir), ["a.tar"], "nothing left beside it");
    }
}

#[test]
fn three_slices_in_parallel_processes_and_complete_give_the_archive() {
    let dir = TempDir::new("write-slices");
    let (_, catalog, archive) = recorded(dir.path());
    let out = dir.join("sliced.tar");
    let created = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--part-size"),
        os("1M"),
        os("--create"),
    ]);
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).contains("5 parts of 1048576 bytes"));
    assert!(!out.exists());
    // --complete before every part is written names the first missing one.
    let early = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--complete"),
    ]);
    assert_one_line_failure(&early, &["part 1 of 5 was never written", "5 missing"]);
    let children: Vec<_> = ["1-2", "3", "4-5"]
        .iter()
        .map(|range| {
            Command::new(tartape_bin())
                .args([os("write"), catalog.as_os_str(), out.as_os_str()])
                .args(["--parts", range, "--jobs", "2"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // A byte changed on the disk after its slice wrote it: named, nothing completed.
    let partial = dir.join("sliced.tar.tartape-partial");
    let f = fs::OpenOptions::new().write(true).open(&partial).unwrap();
    let byte = archive[(3 << 20) + 77] ^ 0xff;
    f.write_all_at(&[byte], (3 << 20) + 77).unwrap();
    let wrong = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--complete"),
    ]);
    assert_one_line_failure(
        &wrong,
        &["part 4:", "other bytes than were written", "--parts 4"],
    );
    assert!(!out.exists());
    let again = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--parts"),
        os("4"),
    ]);
    assert!(again.status.success(), "{again:?}");
    let done = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--complete"),
    ]);
    assert!(done.status.success(), "{done:?}");
    assert!(fs::read(&out).unwrap() == archive);
    assert_eq!(names(dir.path()), ["sliced.tar", "tree", "tree.tartape"]);
}

#[test]
fn a_write_in_progress_is_kept_apart_and_can_be_aborted() {
    let dir = TempDir::new("write-progress");
    let (root, catalog, _) = recorded(dir.path());
    let out = dir.join("x.tar");
    let w = |extra: &[&str]| {
        let mut args = vec![os("write"), catalog.as_os_str(), out.as_os_str()];
        args.extend(extra.iter().map(os));
        tartape(&args)
    };
    assert_one_line_failure(&w(&["--parts", "1"]), &["no write of", "--create first"]);
    assert!(w(&["--create", "--part-size", "2M"]).status.success());
    assert_one_line_failure(&w(&[]), &["in progress", "--abort"]);
    assert_one_line_failure(&w(&["--create"]), &["in progress"]);
    assert_one_line_failure(
        &w(&["--parts", "1", "--part-size", "1M"]),
        &["parts of 2097152"],
    );
    assert_one_line_failure(&w(&["--parts", "4"]), &["--parts 4", "from 1 to 3"]);
    assert_one_line_failure(&w(&["--parts", "2-1"]), &["--parts 2-1"]);
    // Another archive's catalog may not write into this one's file.
    write(&root.join("new.txt"), b"another archive\n");
    let other = dir.join("other.tartape");
    assert!(tartape(&[
        os("record"),
        root.as_os_str(),
        os("--catalog"),
        other.as_os_str()
    ])
    .status
    .success());
    let mixed = tartape(&[
        os("write"),
        other.as_os_str(),
        out.as_os_str(),
        os("--parts"),
        os("1"),
    ]);
    assert_one_line_failure(&mixed, &["another archive", "--abort"]);
    let aborted = w(&["--abort"]);
    assert!(aborted.status.success(), "{aborted:?}");
    assert_eq!(names(dir.path()), ["other.tartape", "tree", "tree.tartape"]);
    assert!(String::from_utf8_lossy(&w(&["--abort"]).stdout).contains("no write"));
}

#[test]
fn a_changed_source_stops_the_write_and_leaves_out_untouched() {
    let dir = TempDir::new("write-changed");
    let (root, catalog, _) = recorded(dir.path());
    let out = dir.join("kept.tar");
    write(&out, b"the previous archive\n");
    set_mtime(&root.join("mid.bin"), 1_000_000_000, 0);
    let got = tartape(&[os("write"), catalog.as_os_str(), out.as_os_str()]);
    assert_one_line_failure(&got, &["mid.bin"]);
    assert_eq!(fs::read(&out).unwrap(), b"the previous archive\n");
    assert_eq!(names(dir.path()), ["kept.tar", "tree", "tree.tartape"]);
    // A slice that meets it fails the same way and records nothing for its parts.
    assert!(tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--create")
    ])
    .status
    .success());
    let slice = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--parts"),
        os("1"),
    ]);
    assert_one_line_failure(&slice, &["mid.bin"]);
    let done = tartape(&[
        os("write"),
        catalog.as_os_str(),
        out.as_os_str(),
        os("--complete"),
    ]);
    assert_one_line_failure(&done, &["part 1 of 1 was never written"]);
    assert_eq!(fs::read(&out).unwrap(), b"the previous archive\n");
    let missing = tartape(&[os("write"), dir.join("nope").as_os_str(), out.as_os_str()]);
    assert_one_line_failure(&missing, &["nope"]);
}

#[test]
fn a_catalog_recorded_from_a_relative_path_works_from_any_directory() {
    let dir = TempDir::new("write-relative");
    let (_, _, archive) = recorded(dir.path());
    let rec = Command::new(tartape_bin())
        .current_dir(dir.path())
        .args(["record", "tree", "--catalog", "rel.tartape"])
        .output()
        .unwrap();
    assert!(rec.status.success(), "{rec:?}");
    let elsewhere = dir.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let out = Command::new(tartape_bin())
        .current_dir(&elsewhere)
        .args([
            os("write"),
            dir.join("rel.tartape").as_os_str(),
            os("out.tar"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(fs::read(elsewhere.join("out.tar")).unwrap() == archive);
}
