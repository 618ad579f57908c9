//! Rebuilding bundles from members of opened archives, without extracting: copy some members, drop
//! others, convert ZIP to TAR and back; checked with Python's tarfile and zipfile.

use std::process::Command;
use std::sync::Arc;

use tartape::reader::Archive;
use tartape::Format;
use tartape::{EntryKind, Error, Event, MemoryEntry, Source, TapeBuilder};

fn stream(b: TapeBuilder) -> Vec<u8> {
    let tape = Arc::new(b.seal().unwrap());
    let mut s = tape.stream(0, false).unwrap();
    let mut out = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    let mut again = vec![0u8; out.len()];
    assert_eq!(tape.read_at(0, &mut again).unwrap(), out.len());
    assert!(again == out, "read_at equals the stream");
    out
}

fn source_bundle(format: Format) -> Vec<u8> {
    let mut b = TapeBuilder::new();
    b.set_format(format);
    b.add_bytes(b"keep/a.txt", &b"alpha"[..], 0o644, 1_700_000_000)
        .unwrap();
    b.add_bytes(b"drop/b.txt", &b"beta"[..], 0o600, 1_700_000_001)
        .unwrap();
    b.add_bytes(
        b"keep/big.bin",
        (0..200_000u32)
            .map(|i| (i % 253) as u8)
            .collect::<Vec<u8>>(),
        0o755,
        1_700_000_002,
    )
    .unwrap();
    let mut d = MemoryEntry::file(&b"keep/dir"[..], 0, 0o750, 1_700_000_003);
    d.kind = EntryKind::Dir;
    b.add(d, Source::Empty).unwrap();
    let mut l = MemoryEntry::file(&b"keep/link"[..], 0, 0o777, 1_700_000_004);
    l.kind = EntryKind::Symlink;
    l.link = b"a.txt".to_vec();
    b.add(l, Source::Empty).unwrap();
    stream(b)
}

fn python(script: &str, bytes: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!(
        "tartape-rebuild-{}-{}",
        std::process::id(),
        script.len()
    ));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rebuild(from: &[u8], to: Format) -> Vec<u8> {
    let archive = Archive::from_bytes(from.to_vec()).unwrap();
    let mut b = TapeBuilder::new();
    b.set_format(to);
    for (i, e) in archive.entries().iter().enumerate() {
        if e.name.starts_with(b"drop/") {
            continue;
        }
        b.add_member(&archive, i, None).unwrap();
    }
    drop(archive); // the tape keeps the archive's bytes alive
    stream(b)
}

const EXPECTED: &str =
    "keep/a.txt 5 420 alpha\nkeep/big.bin 200000 493\nkeep/dir dir\nkeep/link -> a.txt\n";

#[test]
fn a_zip_rebuilt_as_tar_keeps_the_kept_members_intact() {
    let tar = rebuild(&source_bundle(Format::Zip), Format::Tar);
    let listing = python(
        "import sys,tarfile\nt=tarfile.open(sys.argv[1])\nfor m in t:\n  n=m.name.rstrip('/')\n  if m.isdir(): print(n,'dir')\n  elif m.issym(): print(n,'->',m.linkname)\n  else:\n    d=t.extractfile(m).read()\n    assert m.mtime>=1700000000\n    print(n,len(d),m.mode,d.decode() if len(d)<10 else '')\n",
        &tar,
    );
    assert_eq!(listing.replace(" \n", "\n"), EXPECTED);
}

#[test]
fn a_tar_rebuilt_as_zip_keeps_the_kept_members_intact() {
    let zip = rebuild(&source_bundle(Format::Tar), Format::Zip);
    let listing = python(
        "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist():\n  n=i.filename.rstrip('/')\n  mode=i.external_attr>>16\n  if i.is_dir(): print(n,'dir')\n  elif (mode & 0o170000)==0o120000: print(n,'->',z.read(i).decode())\n  else:\n    d=z.read(i)\n    print(n,len(d),mode&0o7777,d.decode() if len(d)<10 else '')\n",
        &zip,
    );
    assert_eq!(listing.replace(" \n", "\n"), EXPECTED);
}

#[test]
fn compressed_and_encrypted_members_are_refused_before_any_byte_goes_out() {
    let mut b = TapeBuilder::new();
    b.set_format(Format::Zip);
    b.set_deflate(6).unwrap();
    b.add_bytes(b"x.txt", vec![b'x'; 5000], 0o644, 0).unwrap();
    let deflated = {
        let tape = Arc::new(b.seal().unwrap());
        let mut s = tape.stream(0, false).unwrap();
        let mut out = Vec::new();
        while let Some(ev) = s.next_event().unwrap() {
            if let Event::Data { bytes, .. } = ev {
                out.extend_from_slice(bytes);
            }
        }
        out
    };
    let archive = Archive::from_bytes(deflated).unwrap();
    let mut t = TapeBuilder::new();
    assert!(matches!(
        t.add_member(&archive, 0, None),
        Err(Error::Unsupported(_))
    ));
    assert!(matches!(
        t.add_member(&archive, 9, None),
        Err(Error::NotFound(_))
    ));
    assert!(t.entries().is_empty());
}
