//! Recorded tapes: catalogs, fingerprints, resume in a new process, verify, volumes.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tartape::verify::Problem;
use tartape::volume::{self, Role, Volume};
use tartape::{Error, Event, Source, Tape, TapeBuilder};

fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tartape-catalog-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tree with small and larger files, a long name that needs a pax header, a symlink, an empty
/// file and an empty directory.
fn tree(root: &Path) -> PathBuf {
    let d = root.join("data");
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    fs::create_dir_all(d.join("empty-dir")).unwrap();
    for i in 0..30 {
        fs::write(
            d.join(format!("sub/f{i:02}.txt")),
            vec![b'a' + (i % 26) as u8; i * 97],
        )
        .unwrap();
    }
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    fs::write(d.join("big.bin"), big).unwrap();
    let long = "n".repeat(120);
    fs::write(d.join("sub/deeper").join(&long), b"long name").unwrap();
    fs::write(d.join("empty"), b"").unwrap();
    std::os::unix::fs::symlink("sub/f01.txt", d.join("link")).unwrap();
    d
}

fn record(dir: &Path, checksums: bool) -> Tape {
    let mut b = TapeBuilder::new();
    b.set_checksums(checksums);
    b.add_path(dir, None).unwrap();
    b.seal().unwrap()
}

fn stream_all(tape: &Arc<Tape>, offset: u64) -> Result<Vec<u8>, Error> {
    let mut s = tape.stream(offset, true)?;
    let mut out = Vec::new();
    while let Some(ev) = s.next_event()? {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    Ok(out)
}

#[path = "support/bin.rs"]
mod bin;

fn tartape() -> Command {
    Command::new(bin::tartape_bin())
}

#[test]
fn reopened_catalog_gives_the_same_bytes_and_offsets() {
    let root = scratch("reopen");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, false));
    let original = stream_all(&tape, 0).unwrap();
    let cat = root.join("t.catalog");
    tape.save(&cat).unwrap();
    let opened = Arc::new(Tape::open(&cat).unwrap());
    assert_eq!(opened.total_size(), tape.total_size());
    assert_eq!(opened.len(), tape.len());
    for i in 0..tape.len() {
        let (a, b) = (tape.slot(i).unwrap(), opened.slot(i).unwrap());
        assert_eq!(
            (a.header_offset, a.data_offset(), a.end_offset()),
            (b.header_offset, b.data_offset(), b.end_offset())
        );
        assert_eq!(a.entry.name, b.entry.name);
    }
    assert_eq!(stream_all(&opened, 0).unwrap(), original);
    let mut buf = vec![0u8; original.len()];
    assert_eq!(opened.read_at(0, &mut buf).unwrap(), original.len());
    assert_eq!(buf, original);
    assert_eq!(opened.fingerprint().unwrap(), tape.fingerprint().unwrap());
}

#[test]
fn play_in_a_new_process_from_random_offsets_equals_the_suffix() {
    let root = scratch("play");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, false));
    let original = stream_all(&tape, 0).unwrap();
    let cat = root.join("t.catalog");
    tape.save(&cat).unwrap();
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut offsets: Vec<u64> = vec![
        0,
        1,
        511,
        512,
        original.len() as u64 - 1,
        original.len() as u64,
    ];
    for _ in 0..14 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        offsets.push(seed % original.len() as u64);
    }
    for off in offsets {
        let out = tartape()
            .args(["play", "--quiet", "--offset"])
            .arg(off.to_string())
            .arg(&cat)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout == original[off as usize..],
            "suffix at {off} differs"
        );
    }
}

#[test]
fn damaged_catalogs_are_refused() {
    let root = scratch("damage");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, true));
    let cat = root.join("t.catalog");
    tape.save(&cat).unwrap();
    let good = fs::read(&cat).unwrap();
    let bad = root.join("bad.catalog");
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        0,
        10,
        16,
        30,
        good.len() / 3,
        good.len() / 2,
        good.len() - 1,
    ] {
        cases.push((format!("truncated to {cut}"), good[..cut].to_vec()));
    }
    let mut extended = good.clone();
    extended.extend_from_slice(b"junk");
    cases.push(("extended".into(), extended));
    for pos in (0..good.len())
        .step_by(good.len() / 40 + 1)
        .chain([good.len() - 1])
    {
        let mut flipped = good.clone();
        flipped[pos] ^= 0x20;
        cases.push((format!("byte {pos} flipped"), flipped));
    }
    for (what, bytes) in cases {
        fs::write(&bad, &bytes).unwrap();
        let refused = match Tape::open(&bad) {
            Err(e) => matches!(e, Error::Corrupt { .. } | Error::Unsupported(_)),
            Ok(t) => matches!(t.check_catalog(), Err(Error::Corrupt { .. })),
        };
        assert!(refused, "{what}: the damaged catalog was accepted");
    }
    // A damaged table is also caught lazily, by the first use of the damaged chunk.
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 1;
    fs::write(&bad, &flipped).unwrap();
    let t = Arc::new(Tape::open(&bad).unwrap());
    assert!(matches!(stream_all(&t, 0), Err(Error::Corrupt { .. })));
}

#[test]
fn catalogs_are_written_atomically() {
    let root = scratch("atomic");
    let dir = tree(&root);
    let tape = record(&dir, false);
    let cat = root.join("t.catalog");
    tape.save(&cat).unwrap();
    tape.save(&cat).unwrap();
    let names: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only the tree and the catalog, no temporary file: {names:?}"
    );
    // A catalog cannot be written into a missing directory, and nothing is left behind.
    assert!(matches!(
        tape.save(&root.join("missing/t.catalog")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn fingerprint_changes_exactly_when_the_archive_would() {
    let root = scratch("fingerprint");
    let dir = tree(&root);
    let first = record(&dir, false).fingerprint().unwrap();
    assert_eq!(first.len(), 32);
    assert_eq!(
        record(&dir, false).fingerprint().unwrap(),
        first,
        "stable when nothing changed"
    );
    // Where the catalog lies and when it was written do not matter.
    let t = record(&dir, false);
    t.save(&root.join("a.catalog")).unwrap();
    fs::create_dir_all(root.join("elsewhere")).unwrap();
    fs::copy(root.join("a.catalog"), root.join("elsewhere/b.catalog")).unwrap();
    assert_eq!(
        Tape::open(&root.join("elsewhere/b.catalog"))
            .unwrap()
            .fingerprint()
            .unwrap(),
        first
    );

    type Change<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let changes: Vec<Change> = vec![
        (
            "mode",
            Box::new(|| {
                fs::set_permissions(dir.join("empty"), fs::Permissions::from_mode(0o600)).unwrap()
            }),
        ),
        (
            "size",
            Box::new(|| fs::write(dir.join("sub/f03.txt"), b"other").unwrap()),
        ),
        (
            "new file",
            Box::new(|| fs::write(dir.join("sub/zz-new"), b"x").unwrap()),
        ),
        (
            "removed file",
            Box::new(|| fs::remove_file(dir.join("sub/f04.txt")).unwrap()),
        ),
        (
            "link target",
            Box::new(|| {
                fs::remove_file(dir.join("link")).unwrap();
                std::os::unix::fs::symlink("elsewhere", dir.join("link")).unwrap();
            }),
        ),
        (
            "mtime",
            Box::new(|| {
                let f = fs::File::options()
                    .write(true)
                    .open(dir.join("big.bin"))
                    .unwrap();
                f.set_modified(
                    std::time::SystemTime::UNIX_EPOCH
                        + std::time::Duration::from_secs(1_000_000_000),
                )
                .unwrap();
            }),
        ),
    ];
    let mut seen = vec![first];
    for (what, change) in changes {
        change();
        let now = record(&dir, false).fingerprint().unwrap();
        assert!(
            !seen.contains(&now),
            "fingerprint did not change with {what}"
        );
        seen.push(now);
    }
    // Recording checksums is part of what the fingerprint covers.
    let with = record(&dir, true).fingerprint().unwrap();
    assert!(!seen.contains(&with));
}

#[test]
fn verify_reports_every_kind_of_discrepancy() {
    let root = scratch("verify");
    let dir = tree(&root);
    let tape = record(&dir, true);
    let report = tape.verify(true).unwrap();
    assert!(report.is_clean(), "{:?}", report.discrepancies);
    assert_eq!(report.without_checksum, 0);

    // A same-size edit within the same nanosecond of mtime: only the content check finds it.
    let f = dir.join("sub/f05.txt");
    let mtime = fs::metadata(&f).unwrap().modified().unwrap();
    let mut content = fs::read(&f).unwrap();
    content[0] ^= 1;
    fs::write(&f, &content).unwrap();
    fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    fs::write(dir.join("empty"), b"grew").unwrap(); // an empty file that grew
    fs::remove_file(dir.join("sub/f01.txt")).unwrap(); // missing
    fs::write(dir.join("sub/f02.txt.new"), b"replacement").unwrap();
    fs::rename(dir.join("sub/f02.txt.new"), dir.join("sub/f02.txt")).unwrap(); // replaced (and size)
    fs::remove_file(dir.join("link")).unwrap();
    std::os::unix::fs::symlink("somewhere/else", dir.join("link")).unwrap(); // link target
    fs::set_permissions(dir.join("sub/f06.txt"), fs::Permissions::from_mode(0o700)).unwrap(); // mode
    fs::remove_dir(dir.join("empty-dir")).unwrap();
    fs::write(dir.join("empty-dir"), b"").unwrap(); // kind
    fs::write(dir.join("sub/unrecorded.txt"), b"new").unwrap(); // unrecorded

    let report = tape.verify(true).unwrap();
    let found: Vec<(String, Problem)> = report
        .discrepancies
        .iter()
        .map(|d| (String::from_utf8_lossy(&d.name).into_owned(), d.problem))
        .collect();
    for expected in [
        ("data/sub/f05.txt", Problem::Content),
        ("data/empty", Problem::Size),
        ("data/sub/f01.txt", Problem::Missing),
        ("data/sub/f02.txt", Problem::Replaced),
        ("data/sub/f02.txt", Problem::Size),
        ("data/link", Problem::LinkTarget),
        ("data/sub/f06.txt", Problem::Mode),
        ("data/empty-dir", Problem::Kind),
        ("data/sub/unrecorded.txt", Problem::Unrecorded),
    ] {
        assert!(
            found
                .iter()
                .any(|(n, p)| n == expected.0 && *p == expected.1),
            "{expected:?} not reported in {found:?}"
        );
    }
    // Quick verification does not read content, so the same-size edit stays unseen there.
    let quick = tape.verify(false).unwrap();
    assert!(!quick
        .discrepancies
        .iter()
        .any(|d| d.problem == Problem::Content));

    // The command line: exit 1 with the report, JSON on request.
    let cat = root.join("t.catalog");
    tape.save(&cat).unwrap();
    let out = tartape()
        .args(["verify", "--deep", "--json"])
        .arg(&cat)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"problem\": \"content\""), "{text}");
    assert!(text.contains("\"clean\": false"), "{text}");
}

#[test]
fn a_same_size_edit_is_caught_while_streaming_when_checksums_were_recorded() {
    let root = scratch("same-size");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, true));
    let f = dir.join("sub/f09.txt");
    let mtime = fs::metadata(&f).unwrap().modified().unwrap();
    let mut content = fs::read(&f).unwrap();
    content[3] ^= 1;
    fs::write(&f, &content).unwrap();
    fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    match stream_all(&tape, 0) {
        Err(Error::Changed { name, what }) => {
            assert_eq!(name, "data/sub/f09.txt");
            assert!(what.contains("recorded checksum"), "{what}");
        }
        other => panic!("expected Changed, got {other:?}"),
    }
}

#[test]
fn resumed_entries_report_the_recorded_md5() {
    let root = scratch("md5");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, true));
    let i = tape.layout().locate(b"data/big.bin").unwrap().unwrap();
    let slot = tape.slot(i).unwrap();
    let expected = slot.entry.md5.expect("recorded");
    let mut s = tape.stream(slot.data_offset() + 1000, true).unwrap();
    let mut got = None;
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::FileEnd { index, md5, .. } = ev {
            if index == i {
                got = md5;
            }
        }
    }
    assert_eq!(got, Some(expected));
}

#[test]
fn volumes_concatenate_to_the_archive_for_any_part_size() {
    let root = scratch("volumes");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, false));
    let original = stream_all(&tape, 0).unwrap();
    let long_name_header = tape
        .slot(
            tape.layout()
                .locate(format!("data/sub/deeper/{}", "n".repeat(120)).as_bytes())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
    // Part sizes that split headers (pax headers are 1536 bytes here), content and padding.
    let splitting = long_name_header.header_offset + 1024;
    for part_size in [
        512u64,
        1024,
        1536,
        2560,
        4096,
        65536,
        1 << 20,
        splitting / 512 * 512,
    ] {
        let n = volume::count(&tape, part_size).unwrap();
        let mut joined = Vec::new();
        for p in 0..n {
            let mut v = Volume::new(tape.clone(), part_size, p).unwrap();
            let mut part = Vec::new();
            v.read_to_end(&mut part).unwrap();
            assert!(part.len() as u64 == part_size || p == n - 1);
            // Seeking within a part works like a file.
            v.seek(SeekFrom::Start(part.len() as u64 / 2)).unwrap();
            let mut half = Vec::new();
            v.read_to_end(&mut half).unwrap();
            assert_eq!(half, part[part.len() / 2..]);
            // The manifest says where each entry's content lies, so it can be recovered here.
            for m in volume::manifest(&tape, part_size, p).unwrap() {
                let slot = tape.slot(m.index).unwrap();
                let (c0, c1) = m.content_range;
                let from = slot.data_offset() + m.content_offset;
                assert_eq!(
                    &part[c0 as usize..c1 as usize],
                    &original[from as usize..(from + c1 - c0) as usize]
                );
                let whole =
                    slot.header_offset >= p * part_size && slot.end_offset() <= (p + 1) * part_size;
                assert_eq!(m.role == Role::Whole, whole);
            }
            joined.extend_from_slice(&part);
        }
        assert!(
            joined == original,
            "parts of {part_size} bytes do not concatenate to the archive"
        );
    }
    assert!(matches!(
        volume::count(&tape, 1000),
        Err(Error::InvalidArgument(_))
    ));
    let loc = volume::locate(&tape, b"data/big.bin", 65536).unwrap();
    assert_eq!(loc.first_part, loc.header_offset / 65536);
    assert_eq!(loc.last_part, (loc.end_offset - 1) / 65536);
    assert!(matches!(
        volume::locate(&tape, b"nope", 512),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn volumes_command_writes_parts_and_a_manifest() {
    let root = scratch("volumes-cli");
    let dir = tree(&root);
    let tape = Arc::new(record(&dir, false));
    let cat = root.join("t.catalog");
    tape.save(&cat).unwrap();
    let out_dir = root.join("parts");
    let out = tartape()
        .args(["volumes", "--size", "64K", "--md5", "--out-dir"])
        .arg(&out_dir)
        .arg(&cat)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut parts: Vec<_> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tar"))
        .collect();
    parts.sort();
    let joined: Vec<u8> = parts.iter().flat_map(|p| fs::read(p).unwrap()).collect();
    assert!(joined == stream_all(&tape, 0).unwrap());
    let manifest = fs::read_to_string(out_dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"role\": \"head\"") && manifest.contains("\"md5\": \""));
    let check = Command::new("python3")
        .arg("-c")
        .arg("import json,sys; m=json.load(open(sys.argv[1])); assert len(m['parts'])>1")
        .arg(out_dir.join("manifest.json"))
        .status()
        .unwrap();
    assert!(check.success());
}

#[test]
fn memory_entries_survive_a_catalog_as_documented() {
    let root = scratch("memory");
    let mut b = TapeBuilder::new();
    b.add_bytes(b"small.txt", &b"kept in the catalog"[..], 0o644, 5)
        .unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    b.add_bytes(b"big.bin", big.clone(), 0o644, 5).unwrap();
    b.add_push(b"pushed.bin", 3, 0o644, 5).unwrap();
    let tape = b.seal().unwrap();
    let cat = root.join("m.catalog");
    tape.save(&cat).unwrap();
    let opened = Arc::new(Tape::open(&cat).unwrap());
    let small = opened.slot(0).unwrap();
    let mut buf = vec![0u8; 19];
    opened.read_at(small.data_offset(), &mut buf).unwrap();
    assert_eq!(&buf, b"kept in the catalog");
    let big_slot = opened.slot(1).unwrap();
    let mut one = [0u8; 1];
    assert!(matches!(
        opened.read_at(big_slot.data_offset(), &mut one),
        Err(Error::NotRandomAccess(_))
    ));
    assert!(matches!(
        opened.bind(1, Source::Bytes(Arc::from(&b"short"[..]))),
        Err(Error::SizeMismatch { .. })
    ));
    assert!(matches!(
        opened.bind(0, Source::Bytes(Arc::from(&b"x"[..]))),
        Err(Error::State(_))
    ));
    opened
        .bind(1, Source::Bytes(Arc::from(big.as_slice())))
        .unwrap();
    opened
        .read_at(big_slot.data_offset() + 7, &mut one)
        .unwrap();
    assert_eq!(one[0], 7);
    // A push-fed entry asks for its bytes again when the stream reaches it.
    let mut s = opened
        .stream(opened.slot(2).unwrap().header_offset, false)
        .unwrap();
    let mut asked = false;
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::NeedData { remaining, .. } = ev {
            assert_eq!(remaining, 3);
            asked = true;
            s.feed(b"abc").unwrap();
        }
    }
    assert!(asked);
}

#[test]
fn a_large_catalog_reopens_and_resumes_near_its_end_quickly() {
    let root = scratch("large");
    let mut b = TapeBuilder::new();
    for i in 0..200_000u32 {
        let name = format!("d{:03}/file-{i:06}.txt", i % 500);
        b.add_bytes(
            name.as_bytes(),
            format!("{i}\n").into_bytes(),
            0o644,
            1_700_000_000,
        )
        .unwrap();
    }
    let tape = Arc::new(b.seal().unwrap());
    let cat = root.join("big.catalog");
    tape.save(&cat).unwrap();
    let catalog_bytes = fs::metadata(&cat).unwrap().len();
    let started = std::time::Instant::now();
    let opened = Arc::new(Tape::open(&cat).unwrap());
    let offset = opened.total_size() - 5000;
    let mut s = opened.stream(offset, true).unwrap();
    let first = loop {
        match s.next_event().unwrap() {
            Some(Event::Data {
                offset: o, bytes, ..
            }) => break (o, bytes.to_vec()),
            Some(_) => continue,
            None => panic!("no data"),
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(first.0, offset);
    let mut expected = vec![0u8; first.1.len()];
    tape.read_at(offset, &mut expected).unwrap();
    assert_eq!(first.1, expected);
    // Figures, not assertions on time: the benchmark harness owns speed targets.
    println!(
        "200000 entries: catalog {catalog_bytes} bytes ({:.1} per entry), open to first byte {:?}",
        catalog_bytes as f64 / 200_000.0,
        elapsed
    );
    let i = opened.layout().locate(b"d499/file-199999.txt").unwrap();
    assert_eq!(i, Some(199_999));
}
