//! Archives written by real tools (GNU tar, bsdtar, Python's tarfile and zipfile) read back
//! through the reader, content compared with the files they were made from. A tool that is not
//! installed is skipped with a printed note.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use tartape::reader::{Archive, EntryKind, Format};

fn workdir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tartape-reader-tools-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src/sub")).unwrap();
    std::fs::write(dir.join("src/small.txt"), b"hello, tools\n").unwrap();
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(dir.join("src/sub/big.bin"), big).unwrap();
    std::fs::write(dir.join("src/sub/zeros.bin"), vec![0u8; 100_000]).unwrap();
    std::fs::write(dir.join("src/sub/").join("n\u{e9}e.txt"), b"accent\n").unwrap();
    let long = "d".repeat(120);
    std::fs::create_dir_all(dir.join("src").join(&long)).unwrap();
    std::fs::write(
        dir.join("src").join(&long).join("f".repeat(110)),
        b"long name\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("small.txt", dir.join("src/link")).unwrap();
    dir
}

fn content(a: &Archive, i: usize) -> Vec<u8> {
    let mut out = Vec::new();
    a.open_member(i).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// Every regular file in the archive has the bytes of the file it came from under `root`.
fn check_against(archive_path: &Path, root: &Path, expect: Format) -> usize {
    let a =
        Archive::open(archive_path).unwrap_or_else(|e| panic!("{}: {e}", archive_path.display()));
    assert_eq!(a.format(), expect);
    let mut files = 0;
    for (i, e) in a.entries().iter().enumerate() {
        let name = String::from_utf8(e.name.clone()).unwrap();
        let name = name.trim_start_matches("./");
        match e.kind {
            EntryKind::File => {
                let want =
                    std::fs::read(root.join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
                assert_eq!(content(&a, i), want, "{name}");
                assert_eq!(e.size, want.len() as u64);
                if e.method == 0 {
                    let mut buf = vec![0u8; 100];
                    let n = a.read_member_at(i, 7, &mut buf).unwrap();
                    assert_eq!(&buf[..n], &want[want.len().min(7)..want.len().min(107)]);
                }
                files += 1;
            }
            EntryKind::Symlink => assert_eq!(e.link, b"small.txt"),
            _ => {}
        }
    }
    assert!(files >= 4, "{}: only {files} files", archive_path.display());
    files
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("note: {tool} is not installed; skipped");
    }
    ok
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gnu_tar_archives_read_back_in_every_format() {
    if !have("tar") {
        return;
    }
    let dir = workdir("gnu");
    for format in ["gnu", "oldgnu", "pax", "ustar", "v7"] {
        let out = dir.join(format!("{format}.tar"));
        let mut cmd = Command::new("tar");
        cmd.current_dir(dir.join("src"))
            .arg(format!("--format={format}"))
            .arg("-cf")
            .arg(&out)
            .arg(".");
        let status = cmd.output().unwrap();
        if !status.status.success() {
            // ustar and v7 refuse the 230-byte name: use the short files only.
            run(Command::new("tar")
                .current_dir(dir.join("src"))
                .arg(format!("--format={format}"))
                .arg("-cf")
                .arg(&out)
                .args(["small.txt", "sub", "link"]));
            let a = Archive::open(&out).unwrap();
            assert!(a.entries().iter().any(|e| e.name.ends_with(b"big.bin")));
            continue;
        }
        check_against(&out, &dir.join("src"), Format::Tar);
    }
    // A sparse file written by GNU tar in its sparse formats.
    let sparse = dir.join("sparse-src");
    std::fs::create_dir_all(&sparse).unwrap();
    let f = std::fs::File::create(sparse.join("holes")).unwrap();
    f.set_len(3 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"middle", 1 << 20).unwrap();
    f.write_all_at(b"end", (3 << 20) - 3).unwrap();
    let want = std::fs::read(sparse.join("holes")).unwrap();
    for (format, version) in [("gnu", None), ("pax", Some("0.1")), ("pax", Some("1.0"))] {
        let out = dir.join(format!("sparse-{format}-{}.tar", version.unwrap_or("old")));
        let mut cmd = Command::new("tar");
        cmd.current_dir(&sparse)
            .arg(format!("--format={format}"))
            .arg("-S");
        if let Some(v) = version {
            cmd.arg(format!("--sparse-version={v}"));
        }
        run(cmd.arg("-cf").arg(&out).arg("holes"));
        let a = Archive::open(&out).unwrap();
        let i = a.find(b"holes").unwrap();
        assert_eq!(a.entries()[i].size, want.len() as u64);
        assert_eq!(content(&a, i), want, "{}", out.display());
        let mut buf = [0u8; 6];
        a.read_member_at(i, 1 << 20, &mut buf).unwrap();
        assert_eq!(&buf, b"middle");
    }
}

#[test]
fn bsdtar_archives_read_back() {
    if !have("bsdtar") {
        return;
    }
    let dir = workdir("bsd");
    for format in ["pax", "gnutar", "ustar"] {
        let out = dir.join(format!("{format}.tar"));
        let status = Command::new("bsdtar")
            .current_dir(dir.join("src"))
            .arg("--format")
            .arg(format)
            .arg("-cf")
            .arg(&out)
            .arg(".")
            .output()
            .unwrap();
        if status.status.success() {
            check_against(&out, &dir.join("src"), Format::Tar);
        }
    }
    let out = dir.join("bsd.zip");
    run(Command::new("bsdtar")
        .current_dir(dir.join("src"))
        .args(["--format", "zip", "-cf"])
        .arg(&out)
        .arg("."));
    check_against(&out, &dir.join("src"), Format::Zip);
}

const PY_WRITE: &str = r##"
import sys, os, tarfile, zipfile
src, out = sys.argv[1], sys.argv[2]
files = []
for root, dirs, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        if os.path.isfile(p) and not os.path.islink(p):
            files.append((p, os.path.relpath(p, src)))
for fmt, name in [(tarfile.PAX_FORMAT, "py-pax.tar"), (tarfile.GNU_FORMAT, "py-gnu.tar")]:
    with tarfile.open(os.path.join(out, name), "w", format=fmt) as t:
        for p, rel in files:
            t.add(p, rel)
for method, name, z64 in [(zipfile.ZIP_STORED, "py-stored.zip", False), (zipfile.ZIP_DEFLATED, "py-deflate.zip", False), (zipfile.ZIP_DEFLATED, "py-zip64.zip", True)]:
    with zipfile.ZipFile(os.path.join(out, name), "w", compression=method) as z:
        for p, rel in files:
            with open(p, "rb") as f, z.open(rel, "w", force_zip64=z64) as w:
                w.write(f.read())
with open(os.path.join(out, "py-sfx.zip"), "wb") as f:
    f.write(b"#!/bin/sh\necho self-extracting stub\nexit 0\n" * 10)
    with open(os.path.join(out, "py-deflate.zip"), "rb") as z:
        f.write(z.read())
"##;

#[test]
fn python_tarfile_and_zipfile_archives_read_back() {
    if !have("python3") {
        return;
    }
    let dir = workdir("py");
    run(Command::new("python3")
        .arg("-c")
        .arg(PY_WRITE)
        .arg(dir.join("src"))
        .arg(&dir));
    for (name, format) in [
        ("py-pax.tar", Format::Tar),
        ("py-gnu.tar", Format::Tar),
        ("py-stored.zip", Format::Zip),
        ("py-deflate.zip", Format::Zip),
        ("py-zip64.zip", Format::Zip),
        ("py-sfx.zip", Format::Zip),
    ] {
        check_against(&dir.join(name), &dir.join("src"), format);
    }
    let sfx = Archive::open(dir.join("py-sfx.zip")).unwrap();
    assert!(
        sfx.entries()[0].header_offset >= 430,
        "the stub shifts the offsets"
    );
}
