//! Checksums recorded per algorithm (MD5, CRC-32, SHA-256, CRC-32C): equal to what other tools
//! compute, kept by catalogs (version 2 only when needed, version 1 still read), compared by deep
//! verification with the algorithm named, and given to C at FILE_END.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tartape::verify::Problem;
use tartape::{Checksums, EntryKind, Event, MemoryEntry, Source, Tape, TapeBuilder};

#[path = "support/bin.rs"]
mod bin;

fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tartape-checksums-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Files of several sizes (empty, small, over the 1 MiB read buffer) and a symlink.
fn tree(root: &Path) -> PathBuf {
    let d = root.join("data");
    fs::create_dir_all(d.join("sub")).unwrap();
    for i in 0..12usize {
        fs::write(
            d.join(format!("sub/f{i:02}.txt")),
            vec![b'a' + (i % 26) as u8; i * 997],
        )
        .unwrap();
    }
    let big: Vec<u8> = (0..2_500_000u32).map(|i| (i * 31 % 251) as u8).collect();
    fs::write(d.join("big.bin"), big).unwrap();
    fs::write(d.join("empty"), b"").unwrap();
    std::os::unix::fs::symlink("sub/f01.txt", d.join("link")).unwrap();
    d
}

fn record(dir: &Path, which: Checksums) -> Tape {
    let mut b = TapeBuilder::new();
    b.record_checksums(which);
    b.add_path(dir, None).unwrap();
    b.seal().unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// sha256sum's digest of every regular file under `dir`, by archive name ("data/...").
fn sha256sum(dir: &Path) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let parent = dir.parent().unwrap();
    for (name, path) in files(dir, parent) {
        let o = Command::new("sha256sum").arg(&path).output().unwrap();
        assert!(o.status.success());
        out.insert(name, String::from_utf8_lossy(&o.stdout)[..64].to_string());
    }
    out
}

/// Python's hashlib (MD5, SHA-256), zlib (CRC-32) and crc32c module (CRC-32C) of every file, as
/// "name md5 crc32 sha256 crc32c" lines.
fn python_digests(dir: &Path) -> HashMap<String, [String; 4]> {
    let script = r#"
import hashlib, os, sys, zlib
import crc32c
root = sys.argv[1]
base = os.path.dirname(root)
for d, _, names in os.walk(root):
    for n in names:
        p = os.path.join(d, n)
        if os.path.islink(p):
            continue
        b = open(p, 'rb').read()
        print(os.path.relpath(p, base), hashlib.md5(b).hexdigest(), '%08x' % zlib.crc32(b),
              hashlib.sha256(b).hexdigest(), '%08x' % crc32c.crc32c(b))
"#;
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python3 (tests/deps.sh installs it and its crc32c module)");
    assert!(
        o.status.success(),
        "python3 with the crc32c module: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                [f[1], f[2], f[3], f[4]].map(|s| s.to_string()),
            )
        })
        .collect()
}

fn files(dir: &Path, base: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(files(&e.path(), base));
        } else if t.is_file() {
            let name = e.path().strip_prefix(base).unwrap().display().to_string();
            out.push((name, e.path()));
        }
    }
    out
}

/// Edits one byte of `f` keeping its size and mtime (to the nanosecond): only content checks see it.
fn edit_in_place(f: &Path) {
    let mtime = fs::metadata(f).unwrap().modified().unwrap();
    let mut content = fs::read(f).unwrap();
    let at = content.len() / 2;
    content[at] ^= 0x20;
    fs::write(f, &content).unwrap();
    fs::File::options()
        .write(true)
        .open(f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

#[test]
fn recorded_sha256_and_crc32c_equal_sha256sum_and_python_for_every_file() {
    let root = scratch("equal");
    let dir = tree(&root);
    let tape = record(&dir, Checksums::ALL);
    let sums = sha256sum(&dir);
    let py = python_digests(&dir);
    assert_eq!(sums.len(), 14);
    let mut seen = 0;
    for i in 0..tape.len() {
        let e = tape.slot(i).unwrap().entry;
        if e.kind != EntryKind::File {
            assert!(e.sha256.is_none() && e.crc32c.is_none() && e.md5.is_none());
            continue;
        }
        let name = String::from_utf8(e.name.to_vec()).unwrap();
        let [md5, crc32, sha256, crc32c] = &py[&name];
        assert_eq!(&hex(&e.sha256.unwrap()), &sums[&name], "{name}: sha256sum");
        assert_eq!(&hex(&e.sha256.unwrap()), sha256, "{name}: hashlib");
        assert_eq!(&format!("{:08x}", e.crc32c.unwrap()), crc32c, "{name}");
        assert_eq!(&hex(&e.md5.unwrap()), md5, "{name}");
        assert_eq!(&format!("{:08x}", e.crc32.unwrap()), crc32, "{name}");
        seen += 1;
    }
    assert_eq!(seen, 14);

    // The catalog keeps them, in version 2, and they come back the same from another process.
    let cat = root.join("t.tartape");
    tape.save(&cat).unwrap();
    let bytes = fs::read(&cat).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[16..20].try_into().unwrap()), 2);
    let opened = Tape::open(&cat).unwrap();
    opened.check_catalog().unwrap();
    assert_eq!(opened.fingerprint().unwrap(), tape.fingerprint().unwrap());
    for i in 0..tape.len() {
        let (a, b) = (tape.slot(i).unwrap().entry, opened.slot(i).unwrap().entry);
        assert_eq!(
            (a.md5, a.crc32, a.sha256, a.crc32c),
            (b.md5, b.crc32, b.sha256, b.crc32c)
        );
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn each_algorithm_is_recorded_alone_and_only_when_asked() {
    let root = scratch("alone");
    let dir = tree(&root);
    let file_entry = |t: &Tape| {
        (0..t.len())
            .map(|i| t.slot(i).unwrap().entry)
            .find(|e| &*e.name == b"data/big.bin")
            .unwrap()
    };
    let none = file_entry(&record(&dir, Checksums::NONE));
    assert_eq!(
        (none.md5, none.crc32, none.sha256, none.crc32c),
        (None, None, None, None)
    );
    let sha = file_entry(&record(&dir, Checksums::SHA256));
    assert!(
        sha.sha256.is_some() && sha.md5.is_none() && sha.crc32.is_none() && sha.crc32c.is_none()
    );
    let c = file_entry(&record(&dir, Checksums::CRC32C));
    assert!(c.crc32c.is_some() && c.md5.is_none() && c.sha256.is_none());
    // set_checksums(true) is still MD5 and CRC-32, nothing more, and its catalog is version 1.
    let mut b = TapeBuilder::new();
    b.set_checksums(true);
    assert_eq!(b.checksums(), Checksums::MD5 | Checksums::CRC32);
    b.add_path(&dir, None).unwrap();
    let t = b.seal().unwrap();
    let d = file_entry(&t);
    assert!(d.md5.is_some() && d.crc32.is_some() && d.sha256.is_none() && d.crc32c.is_none());
    let cat = root.join("v1.tartape");
    t.save(&cat).unwrap();
    assert_eq!(fs::read(&cat).unwrap()[16..20], 1u32.to_le_bytes());
    assert_eq!(Checksums::from_bits(16), None);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn deep_verification_detects_a_same_size_edit_by_each_algorithm_and_names_it() {
    for (which, word) in [
        (Checksums::MD5, "MD5"),
        (Checksums::CRC32, "CRC-32"),
        (Checksums::SHA256, "SHA-256"),
        (Checksums::CRC32C, "CRC-32C"),
    ] {
        let root = scratch("deep");
        let dir = tree(&root);
        let tape = record(&dir, which);
        let clean = tape.verify(true).unwrap();
        assert!(clean.is_clean() && clean.without_checksum == 0, "{word}");
        edit_in_place(&dir.join("big.bin"));
        let report = tape.verify(true).unwrap();
        assert_eq!(
            report.discrepancies.len(),
            1,
            "{word}: {:?}",
            report.discrepancies
        );
        let d = &report.discrepancies[0];
        assert_eq!(
            (&d.name[..], d.problem),
            (&b"data/big.bin"[..], Problem::Content)
        );
        assert!(
            d.expected.starts_with(&format!("{word} ")) && d.found.starts_with(&format!("{word} ")),
            "{word}: {d:?}"
        );
        assert_ne!(d.expected, d.found);
        // Quick verification cannot see it: size and mtime are the same.
        assert!(tape.verify(false).unwrap().is_clean());
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn deep_verification_names_every_algorithm_that_differs() {
    let root = scratch("every");
    let dir = tree(&root);
    let tape = record(&dir, Checksums::SHA256 | Checksums::CRC32C);
    edit_in_place(&dir.join("sub/f03.txt"));
    let report = tape.verify(true).unwrap();
    assert_eq!(report.discrepancies.len(), 1, "{:?}", report.discrepancies);
    let d = &report.discrepancies[0];
    assert_eq!(&d.name[..], b"data/sub/f03.txt");
    assert!(
        d.expected.starts_with("SHA-256 ") && d.expected.contains(", CRC-32C "),
        "{d:?}"
    );
    assert!(
        d.found.starts_with("SHA-256 ") && d.found.contains(", CRC-32C "),
        "{d:?}"
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn file_end_events_carry_the_recorded_checksums_also_when_resumed() {
    let root = scratch("events");
    let dir = tree(&root);
    let tape = record(&dir, Checksums::SHA256 | Checksums::CRC32C);
    let cat = root.join("t.tartape");
    tape.save(&cat).unwrap();
    let tape = Arc::new(Tape::open(&cat).unwrap());
    let big = (0..tape.len())
        .find(|&i| tape.layout().name(i).unwrap() == b"data/big.bin")
        .unwrap();
    let slot = tape.slot(big).unwrap();
    // Start in the middle of big.bin: its FILE_END still carries what was recorded.
    let mut s = tape.stream(slot.data_offset() + 1000, false).unwrap();
    let mut ends = 0;
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::FileEnd {
            index, entry, md5, ..
        } = ev
        {
            ends += 1;
            if index == big {
                assert_eq!(entry.sha256, slot.entry.sha256);
                assert_eq!(entry.crc32c, slot.entry.crc32c);
                assert!(entry.sha256.is_some() && md5.is_none());
            }
        }
    }
    assert_eq!(ends, tape.len() - big);
    fs::remove_dir_all(&root).unwrap();
}

/// The version-1 catalog of tests/fixtures/catalog-v1.c, written by the build of main at 262f5cf
/// (before version 2): memory entries only, so the catalog holds every byte of the archive.
const V1_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/catalog-v1.tartape"
);

#[test]
fn a_version_1_catalog_of_an_earlier_build_opens_streams_and_is_written_the_same() {
    let bytes = fs::read(V1_FIXTURE).unwrap();
    assert_eq!(bytes[16..20], 1u32.to_le_bytes());
    let tape = Arc::new(Tape::open(Path::new(V1_FIXTURE)).unwrap());
    tape.check_catalog().unwrap();
    assert_eq!(
        tape.fingerprint().unwrap(),
        "a11ece5f5f0090ee53e577260721fc9c"
    );
    assert_eq!(tape.len(), 5);
    let hello = tape.slot(1).unwrap().entry;
    assert_eq!(&*hello.name, b"data/hello.txt");
    assert_eq!(hex(&hello.md5.unwrap()), "22c3683b094136c3398391ae71b20f04");
    assert_eq!((hello.sha256, hello.crc32c), (None, None));
    // Streams the archive the earlier build streamed (sha256sum of its output then).
    let mut s = tape.stream(0, true).unwrap();
    let mut out = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    let o = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&out)?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        &String::from_utf8_lossy(&o.stdout)[..64],
        "a758fc0d4e0a4f5070afd208edd0fb15fa4d42a00d43b80104666af43a026ccc"
    );

    // The same tape built by this build (MD5 and CRC-32 only) saves to the same bytes.
    let big: Vec<u8> = (0..40000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut b = TapeBuilder::new();
    b.set_checksums(true);
    let mut dir_meta = MemoryEntry::file(&b"data"[..], 0, 0o755, 1_700_000_000);
    dir_meta.kind = EntryKind::Dir;
    b.add(dir_meta, Source::Empty).unwrap();
    b.add_bytes(
        b"data/hello.txt",
        b"hello, world\n".to_vec(),
        0o644,
        1_700_000_001,
    )
    .unwrap();
    b.add_bytes(b"data/big.bin", big, 0o600, 1_700_000_002)
        .unwrap();
    b.add_bytes(b"data/empty", Vec::new(), 0o644, 1_700_000_003)
        .unwrap();
    let mut link = MemoryEntry::file(&b"data/link"[..], 0, 0o777, 1_700_000_004);
    link.kind = EntryKind::Symlink;
    link.link = b"hello.txt".to_vec();
    b.add(link, Source::Empty).unwrap();
    let again = b.seal().unwrap();
    let dir = scratch("v1");
    let cat = dir.join("again.tartape");
    again.save(&cat).unwrap();
    assert!(
        fs::read(&cat).unwrap() == bytes,
        "a version-1 catalog is written as before"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_version_1_catalog_with_a_version_2_field_is_refused() {
    // Forge the fixture: flag a record as holding a SHA-256 (bit 8), then fix the CRCs so that
    // only the version rule can refuse it.
    let mut bytes = fs::read(V1_FIXTURE).unwrap();
    let header_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let rec = u64::from_le_bytes(
        bytes[header_len + 8 + 16..header_len + 16 + 16]
            .try_into()
            .unwrap(),
    ) as usize;
    bytes[header_len + rec + 2] |= 8;
    // Chunk CRC: the table is one chunk; its CRC is the last u32 before the header CRC.
    let table_crc = crc32fast_hash(&bytes[header_len..]);
    bytes[header_len - 8..header_len - 4].copy_from_slice(&table_crc.to_le_bytes());
    let head_crc = crc32fast_hash(&bytes[..header_len - 4]);
    bytes[header_len - 4..header_len].copy_from_slice(&head_crc.to_le_bytes());
    let tape = Tape::open_bytes(bytes).unwrap();
    let err = tape.slot(1).unwrap_err().to_string();
    assert!(err.contains("unknown in catalog version 1"), "{err}");
}

/// CRC-32 (IEEE), bitwise: the catalog's chunk checksum, for forging.
fn crc32fast_hash(b: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in b {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn record_and_verify_on_the_command_line_name_the_algorithm() {
    let root = scratch("cli");
    let dir = tree(&root);
    let cat = root.join("t.tartape");
    let o = Command::new(bin::tartape_bin())
        .args(["record", "-q", "--sha256", "--crc32c"])
        .arg(&dir)
        .arg("--catalog")
        .arg(&cat)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tape = Tape::open(&cat).unwrap();
    let sums = sha256sum(&dir);
    for i in 0..tape.len() {
        let e = tape.slot(i).unwrap().entry;
        if e.kind == EntryKind::File {
            let name = String::from_utf8(e.name.to_vec()).unwrap();
            assert_eq!(hex(&e.sha256.unwrap()), sums[&name]);
            assert!(e.crc32c.is_some() && e.md5.is_none());
        }
    }
    let verify = || {
        Command::new(bin::tartape_bin())
            .args(["verify", "--deep", "-q"])
            .arg(&cat)
            .output()
            .unwrap()
    };
    assert_eq!(verify().status.code(), Some(0));
    edit_in_place(&dir.join("sub/f07.txt"));
    let o = verify();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().next().unwrap();
    assert!(
        line.starts_with("content\tdata/sub/f07.txt\texpected SHA-256 ")
            && line.contains("CRC-32C"),
        "{out}"
    );
    fs::remove_dir_all(&root).unwrap();
}

/// A same-size edit with the mtime kept is invisible to the stat checks; a stream that reads the
/// whole content stops at that entry with the recorded and the read digest, whichever format
/// and checksum the catalog has (the TAR, the stored ZIP and the deflated ZIP streams).
#[test]
fn a_same_size_edit_stops_the_stream_with_both_digests_named() {
    use tartape::{Error, Format};
    for (format, deflate, which, word) in [
        (Format::Tar, 0, Checksums::MD5, "MD5"),
        (Format::Zip, 0, Checksums::MD5, "MD5"),
        (Format::Zip, 6, Checksums::MD5, "MD5"),
        (Format::Zip, 0, Checksums::CRC32, "CRC-32"),
        (Format::Zip, 6, Checksums::CRC32, "CRC-32"),
    ] {
        let case = format!("{format:?}, deflate {deflate}, {word}");
        let root = scratch("edit-stream");
        let dir = tree(&root);
        let mut b = TapeBuilder::new();
        b.set_format(format);
        b.set_deflate(deflate).unwrap();
        b.record_checksums(which);
        b.add_path(&dir, None).unwrap();
        let tape = Arc::new(b.seal().unwrap());
        let index = (0..tape.len())
            .find(|&i| &*tape.slot(i).unwrap().entry.name == b"data/sub/f05.txt")
            .unwrap();
        let entry = tape.slot(index).unwrap().entry;
        let recorded = match word {
            "MD5" => hex(&entry.md5.unwrap()),
            _ => format!("{:08x}", entry.crc32.unwrap()),
        };
        edit_in_place(&dir.join("sub/f05.txt"));
        // What the stream read, by another implementation: Python's hashlib and zlib.
        let [md5, crc32, ..] = &python_digests(&dir)["data/sub/f05.txt"];
        let read = if word == "MD5" { md5 } else { crc32 };
        assert_ne!(read, &recorded, "{case}: the edit changed the content");
        let mut s = tape.stream(0, true).unwrap();
        let err = loop {
            match s.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("{case}: the stream ended without seeing the edit"),
                Err(e) => break e,
            }
        };
        match err {
            Error::Changed { name, what } => {
                assert_eq!(name, "data/sub/f05.txt", "{case}");
                let both = format!("({word} {recorded} recorded, {read} read)");
                assert!(what.ends_with(&both), "{case}: {what}");
            }
            other => panic!("{case}: expected Changed, got {other:?}"),
        }
        fs::remove_dir_all(&root).unwrap();
    }
}
