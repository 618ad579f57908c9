//! Real ZIP readers (unzip, Python's zipfile, 7zz, bsdtar, Go's archive/zip, SQLite's zipfile)
//! read every member of our archives back with names, modes, mtimes and contents intact.

mod zipkit;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use tartape::Format;
use zipkit::*;

/// A stored archive and a deflated one (level 6 for the tape, level 1 for one memory entry).
fn archives(root: &Path) -> Vec<(std::path::PathBuf, Vec<Expected>)> {
    let dir = tree(root);
    let mut out = Vec::new();
    for deflate in [0u32, 6] {
        let mut b = builder(&dir, Format::Zip, true);
        b.set_deflate(deflate).unwrap();
        let tape = Arc::new(b.seal().unwrap());
        let bytes = stream_from(&tape, 0, 10_000);
        let path = root.join(format!("deflate{deflate}.zip"));
        fs::write(&path, bytes).unwrap();
        out.push((path, expected(&tape)));
    }
    out
}

const PYTHON: &str = r#"
import calendar, hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for i in z.infolist():
    data = z.read(i)
    print("%s|%d|%d|%d|%s" % (i.filename, i.external_attr >> 16,
          calendar.timegm(i.date_time + (0, 0, 0)), i.file_size, hashlib.md5(data).hexdigest()))
"#;

fn lines(expected: &[Expected], mtime: impl Fn(i64) -> i64) -> String {
    expected
        .iter()
        .map(|e| {
            format!(
                "{}|{}|{}|{}|{}\n",
                e.name,
                e.mode,
                mtime(e.mtime),
                e.content.len(),
                md5_hex(&e.content)
            )
        })
        .collect()
}

#[test]
fn python_zipfile_reads_names_modes_utc_dos_times_and_contents() {
    let root = scratch("python");
    for (zip, expected) in archives(&root) {
        let got = run(Command::new("python3").args(["-c", PYTHON]).arg(&zip));
        // DOS times have 2-second steps and are written in UTC.
        assert_eq!(got, lines(&expected, |t| t - t % 2), "{}", zip.display());
    }
}

#[test]
fn go_archive_zip_reads_every_member_with_extended_timestamps() {
    let root = scratch("go");
    let prog = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/zipgo");
    for (zip, expected) in archives(&root) {
        let got = run(Command::new("go")
            .arg("run")
            .arg(".")
            .arg(&zip)
            .current_dir(&prog));
        assert_eq!(got, lines(&expected, |t| t), "{}", zip.display());
    }
}

#[test]
fn unzip_and_7zz_test_every_member() {
    let root = scratch("unzip");
    for (zip, expected) in archives(&root) {
        let out = run(Command::new("unzip").arg("-t").arg(&zip));
        assert!(out.contains("No errors detected"), "{out}");
        let out = run(Command::new("7zz").arg("t").arg(&zip));
        assert!(out.contains("Everything is Ok"), "{out}");
        let listed = run(Command::new("unzip").arg("-Z1").arg(&zip));
        let names: Vec<&str> = expected.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(listed.lines().collect::<Vec<_>>(), names);
    }
}

#[test]
fn bsdtar_extracts_contents_modes_mtimes_and_symlinks() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = scratch("bsdtar");
    for (zip, expected) in archives(&root) {
        let listed = run(Command::new("bsdtar").arg("tf").arg(&zip));
        assert_eq!(listed.lines().count(), expected.len());
        let out = root.join(format!("x-{}", zip.file_stem().unwrap().to_string_lossy()));
        fs::create_dir_all(&out).unwrap();
        run(Command::new("bsdtar")
            .arg("-xpf")
            .arg(&zip)
            .arg("-C")
            .arg(&out));
        for e in &expected {
            let p = out.join(e.name.trim_end_matches('/'));
            let meta = fs::symlink_metadata(&p).unwrap();
            match e.mode & 0o170000 {
                0o120000 => {
                    use std::os::unix::ffi::OsStrExt;
                    assert_eq!(fs::read_link(&p).unwrap().as_os_str().as_bytes(), e.content);
                }
                0o040000 => assert!(meta.is_dir()),
                _ => {
                    assert_eq!(fs::read(&p).unwrap(), e.content, "{}", e.name);
                    assert_eq!(meta.permissions().mode() & 0o7777, e.mode & 0o7777);
                    assert_eq!(meta.mtime(), e.mtime, "{}", e.name);
                }
            }
        }
    }
}

#[test]
fn sqlite_zipfile_reads_names_modes_mtimes_and_data() {
    let root = scratch("sqlite");
    for (zip, expected) in archives(&root) {
        let sql = format!(
            "SELECT name, mode, mtime, sz, data IS NOT NULL, hex(data) FROM zipfile('{}')",
            zip.display()
        );
        let got = run(Command::new("sqlite3").arg(":memory:").arg(&sql));
        let want: String = expected
            .iter()
            .map(|e| {
                let hex: String = e.content.iter().map(|b| format!("{b:02X}")).collect();
                let has_data = !e.name.ends_with('/');
                format!(
                    "{}|{}|{}|{}|{}|{}\n",
                    e.name,
                    e.mode,
                    e.mtime,
                    e.content.len(),
                    i32::from(has_data),
                    hex
                )
            })
            .collect();
        assert_eq!(got, want, "{}", zip.display());
    }
}
