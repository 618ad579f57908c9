//! The `tartape create` command line: output files appear only when complete, failures are one
//! line on stderr with exit code 1, and `--offset/--length` give exactly that slice.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;

fn tartape(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(tartape_bin())
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

fn small_tree(dir: &Path) -> PathBuf {
    let root = dir.join("tree");
    let mut rng = Rng::new(9);
    for i in 0..20 {
        let len = rng.below(5000) as usize;
        write(&root.join(format!("f{i:02}")), &rng.bytes(len));
    }
    write(&root.join(format!("{}/long", "x".repeat(150))), b"long\n");
    root
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// One line on stderr starting with "tartape: ", exit code 2, nothing on stdout.
fn assert_one_line_failure(out: &Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("tartape: "), "{err:?}");
    for w in words {
        assert!(err.contains(w), "{err:?} should contain {w:?}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn output_file_equals_standard_output_and_leaves_no_temporary_file() {
    let dir = TempDir::new("cli-ok");
    let root = small_tree(dir.path());
    let outdir = dir.join("out");
    fs::create_dir(&outdir).unwrap();
    let target = outdir.join("a.tar");
    let out = tartape(
        &["create", "--quiet", "-o", target.to_str().unwrap()],
        &[&root],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let stdout = tartape(&["create", "--quiet"], &[&root]);
    assert!(fs::read(&target).unwrap() == stdout.stdout);
    assert_eq!(listing(&outdir), ["a.tar"]);
    run_clean(Command::new("tar").arg("-tf").arg(&target));
}

/// A path whose size changes between the walk and the read, deterministically when the kernel
/// offers a sysfs file (stat says 4096 bytes, a read gives a few); otherwise a file that a thread
/// keeps growing while the command runs.
fn run_with_a_changing_source(dir: &Path, args: &[&str]) -> Output {
    let before = dir.join("before.txt");
    write(&before, &vec![b'b'; 100_000]);
    let sysfs = [
        "/sys/devices/system/cpu/online",
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/profiling",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| {
        fs::metadata(p).is_ok_and(|m| m.len() == 4096)
            && fs::read(p).is_ok_and(|d| !d.is_empty() && d.len() < 4096)
    });
    if let Some(p) = sysfs {
        return tartape(args, &[&before, p]);
    }
    let growing = dir.join("growing.bin");
    write(&growing, &vec![0u8; 16 << 20]);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, growing) = (stop.clone(), growing.clone());
        std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().append(true).open(growing).unwrap();
            while !stop.load(Ordering::Relaxed) {
                f.write_all(b"+").unwrap();
            }
        })
    };
    let out = tartape(args, &[&before, &growing]);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    out
}

#[test]
fn a_failed_create_leaves_no_partial_output_file_and_says_why_in_one_line() {
    let dir = TempDir::new("cli-fail");
    let outdir = dir.join("out");
    fs::create_dir(&outdir).unwrap();
    let target = outdir.join("a.tar");
    let out = run_with_a_changing_source(
        dir.path(),
        &["create", "--quiet", "-o", target.to_str().unwrap()],
    );
    assert_one_line_failure(&out, &["source changed"]);
    assert!(
        listing(&outdir).is_empty(),
        "left behind: {:?}",
        listing(&outdir)
    );
    // An existing file of that name is left as it was.
    fs::write(&target, b"precious").unwrap();
    let out = run_with_a_changing_source(
        dir.path(),
        &["create", "--quiet", "-o", target.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    assert_eq!(listing(&outdir), ["a.tar"]);
}

#[test]
fn usage_errors_and_missing_paths_exit_2_with_a_message() {
    let dir = TempDir::new("cli-usage");
    let missing = dir.join("missing");
    let out = tartape(&["create", "--quiet"], &[&missing]);
    assert_one_line_failure(&out, &["missing", "No such file"]);
    let out = tartape(&["create", "--bogus"], &[]);
    assert_one_line_failure(
        &out,
        &["unexpected argument '--bogus'", "tartape create --help"],
    );
    let out = tartape(&["create"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = tartape(&["create", "--offset", "12Q"], &[dir.path()]);
    assert_eq!(out.status.code(), Some(2));
    let root = small_tree(dir.path());
    let out = tartape(&["create", "--offset", "1T"], &[&root]);
    assert_one_line_failure(&out, &["past the end"]);
    let out = Command::new(tartape_bin()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = tartape(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = tartape(&["--version"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tartape {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn offset_and_length_give_exactly_that_slice_of_the_archive() {
    let dir = TempDir::new("cli-slice");
    let root = small_tree(dir.path());
    let full = tartape(&["create", "--quiet"], &[&root]).stdout;
    let total = full.len();
    assert_eq!(
        total as u64,
        tape_of(&[&root]).total_size(),
        "the library's total size"
    );
    let mut cases: Vec<(String, Option<String>, usize, usize)> = vec![
        ("0".into(), None, 0, total),
        ("1K".into(), Some("1K".into()), 1024, 2048),
        ("513".into(), Some("1000".into()), 513, 1513),
        ((total - 1).to_string(), None, total - 1, total),
        (total.to_string(), None, total, total),
        (
            (total - 100).to_string(),
            Some("1M".into()),
            total - 100,
            total,
        ),
        ("7".into(), Some("0".into()), 7, 7),
    ];
    let mut rng = Rng::new(11);
    for _ in 0..10 {
        let off = rng.below(total as u64) as usize;
        let len = rng.below(20_000) as usize;
        cases.push((
            off.to_string(),
            Some(len.to_string()),
            off,
            (off + len).min(total),
        ));
    }
    for (off, len, from, to) in cases {
        let mut args = vec!["create", "--quiet", "--offset", off.as_str()];
        if let Some(l) = &len {
            args.extend(["--length", l.as_str()]);
        }
        let out = tartape(&args, &[&root]);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            out.stdout == full[from..to],
            "--offset {off} --length {len:?}: {} bytes, want {}",
            out.stdout.len(),
            to - from
        );
    }
}

/// `create` to standard output streams while it walks (the plain TAR needs nothing sealed first):
/// the bytes are those of the sealed tape, which `-o FILE` and `--manifest` still write; a
/// source that changes stops it with the same one-line error.
#[test]
fn standard_output_streams_while_walking_the_same_bytes() {
    let dir = TempDir::new("cli-walked");
    let a = dir.join("a");
    let mut rng = Rng::new(17);
    for i in 0..2500 {
        let len = rng.below(4000) as usize;
        write(&a.join(format!("d{}/f{i:04}", i % 7)), &rng.bytes(len));
    }
    write(&a.join("big"), &rng.bytes(3 << 20));
    let b = small_tree(dir.path());
    let sealed = dir.join("sealed.tar");
    let out = tartape(
        &["create", "--quiet", "-o", sealed.to_str().unwrap()],
        &[&a, &b],
    );
    assert!(out.status.success(), "{out:?}");
    let walked = tartape(&["create", "--quiet"], &[&a, &b]);
    assert!(walked.status.success(), "{walked:?}");
    assert!(walked.stderr.is_empty(), "{walked:?}");
    assert!(walked.stdout == fs::read(&sealed).unwrap());
    let manifest = dir.join("m.jsonl");
    let with_manifest = tartape(
        &[
            "create",
            "--quiet",
            "--manifest",
            manifest.to_str().unwrap(),
        ],
        &[&a, &b],
    );
    assert!(with_manifest.stdout == walked.stdout);
    assert_eq!(gnu_tar_names(&sealed).len(), 2509 + 23);
    // With the walk's options: owners kept, names excluded.
    let options = ["--keep-owners", "--exclude", "d3", "--exclude", "f07"];
    let out = tartape(
        &[
            &["create", "--quiet", "-o", sealed.to_str().unwrap()],
            &options[..],
        ]
        .concat(),
        &[&a, &b],
    );
    assert!(out.status.success(), "{out:?}");
    let walked = tartape(&[&["create", "--quiet"], &options[..]].concat(), &[&a, &b]);
    assert!(walked.status.success(), "{walked:?}");
    assert!(walked.stdout == fs::read(&sealed).unwrap());
    assert!(gnu_tar_names(&sealed).len() < 2509 + 23 - 300);
    // --strict walks the whole tree first: a FIFO after thousands of entries gives no byte.
    let fifo = std::ffi::CString::new(a.join("zz-fifo").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let strict = tartape(&["create", "--quiet", "--strict"], &[&a]);
    assert_eq!(strict.status.code(), Some(2), "{strict:?}");
    assert!(
        strict.stdout.is_empty(),
        "{} bytes went out",
        strict.stdout.len()
    );
    assert!(String::from_utf8_lossy(&strict.stderr).contains("zz-fifo"));
    let out = run_with_a_changing_source(dir.path(), &["create", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.contains("source changed"), "{err:?}");
}
