//! What goes into a tape: name validation, duplicates, special files; and what comes out: the
//! order of events and their MD5 values.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use tartape::{EntryKind, Error, Event, MemoryEntry, Source, TapeBuilder};

#[test]
fn absolute_dotdot_nul_and_empty_names_are_refused_with_the_reason() {
    let mut b = TapeBuilder::new();
    for (name, reason) in [
        (&b"/etc/passwd"[..], "absolute"),
        (b"a/../b", ".."),
        (b"..", ".."),
        (b"../x", ".."),
        (b"a\0b", "NUL"),
        (b"", "empty"),
        (b"./", "no component"),
        (b"//", "absolute"),
    ] {
        match b.add_bytes(name, b"x".to_vec(), 0o644, 0) {
            Err(e @ Error::InvalidName { .. }) => {
                assert!(e.to_string().contains(reason), "{name:?}: {e}");
                assert!(!e.is_fatal());
            }
            other => panic!("{name:?}: {other:?}"),
        }
        assert!(matches!(
            b.add_path(Path::new("/tmp"), Some(name)),
            Err(Error::InvalidName { .. })
        ));
    }
    assert!(b.entries().is_empty(), "nothing was added");
    // Harmless forms are normalised.
    b.add_bytes(b"./a//b/./c/", b"x".to_vec(), 0o644, 0)
        .unwrap();
    b.add_bytes(b"..a/b..", b"x".to_vec(), 0o644, 0).unwrap();
    let names: Vec<&[u8]> = b.entries().iter().map(|e| &*e.name).collect();
    assert_eq!(names, [&b"a/b/c"[..], b"..a/b.."]);
}

#[test]
fn duplicate_names_make_seal_fail_naming_the_name() {
    let mut b = TapeBuilder::new();
    b.add_bytes(b"x/one", b"1".to_vec(), 0o644, 0).unwrap();
    b.add_bytes(b"x/dup", b"2".to_vec(), 0o644, 0).unwrap();
    b.add_bytes(b"./x//dup", b"3".to_vec(), 0o644, 0).unwrap(); // the same after normalising
    match b.seal() {
        Err(e @ Error::InvalidName { .. }) => {
            let text = e.to_string();
            assert!(text.contains("x/dup") && text.contains("twice"), "{text}");
        }
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("sealed a tape with a duplicate name"),
    }
    // A directory and a file of the same name are duplicates too.
    let dir = TempDir::new("dup");
    write(&dir.join("d/f"), b"f");
    let mut b = TapeBuilder::new();
    b.add_path(&dir.join("d"), None).unwrap();
    let mut meta = MemoryEntry::file("d", 0, 0o755, 0);
    meta.kind = EntryKind::Dir;
    b.add(meta, Source::Empty).unwrap();
    assert!(matches!(b.seal(), Err(Error::InvalidName { .. })));
}

#[test]
fn invalid_metadata_is_refused_when_added() {
    let mut b = TapeBuilder::new();
    assert!(matches!(
        b.add_bytes(b"m", b"x".to_vec(), 0o17777, 0),
        Err(Error::InvalidArgument(_))
    ));
    let mut link = MemoryEntry::file("l", 0, 0o777, 0);
    link.kind = EntryKind::Symlink;
    assert!(matches!(
        b.add(link.clone(), Source::Empty),
        Err(Error::InvalidArgument(_))
    ));
    link.link = b"a\0b".to_vec();
    assert!(matches!(
        b.add(link, Source::Empty),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        b.add(
            MemoryEntry::file("s", 10, 0o644, 0),
            Source::Bytes(Arc::from(&b"short"[..]))
        ),
        Err(Error::SizeMismatch { .. })
    ));
    assert!(b.entries().is_empty());
}

fn mkfifo(path: &Path) {
    run_ok(Command::new("mkfifo").arg(path));
}

#[test]
fn fifos_are_skipped_with_a_report() {
    let dir = TempDir::new("fifo");
    write(&dir.join("t/a.txt"), b"a");
    mkfifo(&dir.join("t/pipe"));
    let mut b = TapeBuilder::new();
    b.add_path(&dir.join("t"), None).unwrap();
    assert_eq!(b.skipped().len(), 1);
    assert_eq!(b.skipped()[0].kind, "fifo");
    assert_eq!(b.skipped()[0].path, dir.join("t/pipe"));
    let tape = Arc::new(b.seal().unwrap());
    assert_eq!(tape.skipped().len(), 1);
    let slots = tape.layout().slots().unwrap();
    let names: Vec<&[u8]> = slots.iter().map(|s| &*s.entry.name).collect();
    assert_eq!(names, [&b"t"[..], b"t/a.txt"]);
    // The command line reports it on stderr and still succeeds.
    let out = run_ok(
        Command::new(tartape_bin())
            .args(["create", "--quiet"])
            .arg(dir.join("t")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped fifo") && err.contains("pipe"),
        "{err}"
    );
}

#[test]
fn fifos_are_an_error_in_strict_mode_and_nothing_of_the_path_is_added() {
    let dir = TempDir::new("fifo-strict");
    write(&dir.join("t/a.txt"), b"a");
    mkfifo(&dir.join("t/pipe"));
    let mut b = TapeBuilder::new();
    b.add_bytes(b"kept", b"k".to_vec(), 0o644, 0).unwrap();
    b.options_mut().strict = true;
    match b.add_path(&dir.join("t"), None) {
        Err(e @ Error::Unsupported(_)) => {
            let text = e.to_string();
            assert!(text.contains("fifo") && text.contains("pipe"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let names: Vec<&[u8]> = b.entries().iter().map(|e| &*e.name).collect();
    assert_eq!(names, [&b"kept"[..]]);
    let out = Command::new(tartape_bin())
        .args(["create", "--quiet", "--strict"])
        .arg(dir.join("t"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn events_come_as_file_start_data_file_end_per_entry_then_trailer_and_completed() {
    let dir = TempDir::new("events");
    let mut rng = Rng::new(5);
    write(&dir.join("t/big.bin"), &rng.bytes((2 << 20) + 1));
    write(&dir.join("t/small.txt"), b"small\n");
    write(&dir.join("t/empty"), b"");
    std::os::unix::fs::symlink("small.txt", dir.join("t/link")).unwrap();
    let tape = tape_of(&[&dir.join("t")]);
    let mut s = tape.stream(0, true).unwrap();
    let mut log = Vec::new();
    let mut pos = 0;
    let mut md5s = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        log.push(match ev {
            Event::FileStart {
                index,
                entry,
                header_offset,
                resumed,
            } => {
                assert!(!resumed);
                assert_eq!(header_offset, pos);
                assert_eq!(
                    &*entry.name,
                    &*tape.layout().slot(index).unwrap().entry.name
                );
                format!("S{index}")
            }
            Event::Data {
                index,
                offset,
                bytes,
            } => {
                assert_eq!(offset, pos);
                assert!(!bytes.is_empty());
                assert!(bytes.len() <= tartape::stream::BUFFER_SIZE + 512);
                pos += bytes.len() as u64;
                match index {
                    Some(i) => format!("D{i}"),
                    None => "T".into(),
                }
            }
            Event::NeedData { .. } => panic!("no push entries here"),
            Event::FileEnd {
                index,
                end_offset,
                md5,
                ..
            } => {
                assert_eq!(end_offset, pos);
                let entry = &tape.layout().slot(index).unwrap().entry;
                assert_eq!(md5.is_some(), entry.kind == EntryKind::File);
                if let Some(m) = md5 {
                    md5s.push((entry.name.to_vec(), m));
                }
                format!("E{index}")
            }
            Event::Completed => "C".into(),
        });
    }
    assert_eq!(pos, tape.total_size());
    // t, t/big.bin (3 data events), t/empty, t/link, t/small.txt; the trailer; completed.
    assert_eq!(
        log.join(" "),
        "S0 D0 E0 S1 D1 D1 D1 E1 S2 D2 E2 S3 D3 E3 S4 D4 E4 T C"
    );
    assert!(s.next_event().unwrap().is_none(), "nothing after the end");
    assert!(s.next_event().unwrap().is_none());

    // MD5s as md5sum computes them.
    let out = run_ok(
        Command::new("md5sum")
            .args(["t/big.bin", "t/empty", "t/small.txt"])
            .current_dir(dir.path()),
    );
    let expected: Vec<(Vec<u8>, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| (l.as_bytes()[34..].to_vec(), l[..32].to_string()))
        .collect();
    let got: Vec<(Vec<u8>, String)> = md5s
        .into_iter()
        .map(|(n, m)| (n, m.iter().map(|b| format!("{b:02x}")).collect()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn md5_is_off_when_not_asked_and_absent_for_an_entry_resumed_inside_its_content() {
    let mut b = TapeBuilder::new();
    b.add_bytes(b"a", b"a".repeat(2000), 0o644, 0).unwrap();
    b.add_bytes(b"b", b"b".repeat(2000), 0o644, 0).unwrap();
    let tape = Arc::new(b.seal().unwrap());
    let ends = |offset: u64, md5: bool| {
        let mut s = tape.stream(offset, md5).unwrap();
        let mut v = Vec::new();
        while let Some(ev) = s.next_event().unwrap() {
            if let Event::FileEnd { index, md5, .. } = ev {
                v.push((index, md5.map(|m| m[0])));
            }
        }
        v
    };
    assert_eq!(ends(0, false), [(0, None), (1, None)]);
    let both = ends(0, true);
    assert!(both.iter().all(|(_, m)| m.is_some()));
    // Inside a's content: a has no MD5, b has the same one as in a full stream.
    assert_eq!(ends(600, true), [(0, None), both[1]]);
    // Inside a's padding: the same.
    assert_eq!(ends(512 + 2040, true), [(0, None), both[1]]);
}
