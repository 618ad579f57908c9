//! `Stream::read`: the archive as plain bytes across entries, built in the caller's buffer. The
//! same bytes as the events for every format, buffer size and start offset; the position follows
//! what was returned; it mixes with `next_event`; a changed source returns the bytes before it,
//! then the error; pushed entries are refused.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use tartape::{Error, Event, Format, Tape, TapeBuilder};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tartape-read-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tree with a large file, many small ones across directories, an empty one, a long name and
/// symlinks (a long target too), plus a memory entry.
fn tape(dir: &std::path::Path, format: Format, deflate: bool) -> Arc<Tape> {
    let root = dir.join("t");
    let big: Vec<u8> = (0..2_500_001u32).map(|i| (i * 7 % 253) as u8).collect();
    fs::create_dir_all(root.join("a")).unwrap();
    fs::write(root.join("a/big"), &big).unwrap();
    for d in 0..4 {
        let sub = root.join(format!("s{d}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..40 {
            let len = (d * 40 + f) * 97 % 9000;
            fs::write(sub.join(format!("f{f:02}")), &big[f..f + len]).unwrap();
        }
    }
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join("n".repeat(200)), b"long name").unwrap();
    std::os::unix::fs::symlink("a/big", root.join("link")).unwrap();
    std::os::unix::fs::symlink("t".repeat(150), root.join("long-link")).unwrap();
    let mut b = TapeBuilder::new();
    b.set_format(format);
    if deflate {
        b.set_deflate(6).unwrap();
    }
    b.add_path(&root, None).unwrap();
    b.add_bytes(b"mem", big[..300_000].to_vec(), 0o644, 0)
        .unwrap();
    Arc::new(b.seal().unwrap())
}

fn event_bytes(t: &Arc<Tape>, from: u64) -> Vec<u8> {
    let mut s = t.stream(from, true).unwrap();
    let mut out = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    out
}

/// Reads the whole stream with buffers of `size`; checks the position after each call.
fn read_all(t: &Arc<Tape>, from: u64, size: usize) -> Vec<u8> {
    let mut s = t.stream(from, true).unwrap();
    let mut buf = vec![0u8; size];
    let mut out = Vec::new();
    let mut short = 0;
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        // A read fills the buffer but for less than 4 KiB while bytes remain.
        short += usize::from(size - n >= 4096);
        out.extend_from_slice(&buf[..n]);
        assert_eq!(
            s.position(),
            from + out.len() as u64,
            "position after a read of {size}"
        );
    }
    assert!(
        short <= 1,
        "{short} reads more than 4 KiB short with a buffer of {size}"
    );
    assert_eq!(s.read(&mut buf).unwrap(), 0, "the end stays the end");
    out
}

#[test]
fn read_gives_the_events_bytes_for_every_format_buffer_size_and_start() {
    let dir = scratch("formats");
    for (format, deflate) in [
        (Format::Tar, false),
        (Format::Zip, false),
        (Format::Zip, true),
    ] {
        let sub = dir.join(format!("{format:?}-{deflate}"));
        let t = tape(&sub, format, deflate);
        let expected = event_bytes(&t, 0);
        for size in [
            1,
            7,
            511,
            512,
            4095,
            4096,
            4097,
            9000,
            65_536,
            1 << 20,
            3 << 20,
        ] {
            let got = read_all(&t, 0, size);
            assert!(
                got == expected,
                "{format:?} deflate {deflate}, buffer {size}: bytes differ"
            );
        }
        if !deflate {
            let total = t.total_size();
            for from in [1, 511, 512, 513, 2_500_000, total / 2, total - 1, total] {
                let got = read_all(&t, from, 100_000);
                assert!(got == expected[from as usize..], "{format:?} from {from}");
            }
        }
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn read_and_next_event_mix_without_losing_a_byte() {
    let dir = scratch("mix");
    for (format, deflate) in [(Format::Tar, false), (Format::Zip, true)] {
        let t = tape(&dir.join(format!("{format:?}")), format, deflate);
        let expected = event_bytes(&t, 0);
        let mut s = t.stream(0, true).unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1000];
        for round in 0.. {
            if round % 3 == 0 {
                // A short read leaves the rest of an event for next_event.
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
                continue;
            }
            match s.next_event().unwrap() {
                None => break,
                Some(Event::Data { bytes, offset, .. }) => {
                    assert_eq!(offset, got.len() as u64, "{format:?}: offset of the event");
                    got.extend_from_slice(bytes);
                }
                Some(_) => {}
            }
        }
        assert!(got == expected, "{format:?}: bytes differ");
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_changed_file_returns_the_bytes_before_it_then_the_error() {
    let dir = scratch("changed");
    let root = dir.join("t");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("a"), vec![b'a'; 3000]).unwrap();
    fs::write(root.join("b"), vec![b'b'; 3000]).unwrap();
    let mut builder = TapeBuilder::new();
    builder.add_path(&root, None).unwrap();
    let t = Arc::new(builder.seal().unwrap());
    let b_header = t.slot(2).unwrap().header_offset;
    fs::write(root.join("b"), vec![b'b'; 3001]).unwrap();
    let mut s = t.stream(0, true).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    assert_eq!(
        s.read(&mut buf).unwrap() as u64,
        b_header,
        "everything before b"
    );
    match s.read(&mut buf) {
        Err(Error::Changed { name, what }) => {
            assert_eq!(name, "t/b");
            assert!(what.contains("grew"), "{what}");
        }
        other => panic!("expected Changed, got {other:?}"),
    }
    assert!(
        matches!(s.read(&mut buf), Err(Error::State(_))),
        "stopped for good"
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_pushed_entry_stops_read_and_its_need_data_is_the_next_event() {
    for deflate in [false, true] {
        let mut b = TapeBuilder::new();
        if deflate {
            b.set_format(Format::Zip);
            b.set_deflate(6).unwrap();
        }
        b.add_bytes(b"first", vec![1; 100], 0o644, 0).unwrap();
        b.add_push(b"pushed", 10_000, 0o644, 0).unwrap();
        b.add_bytes(b"last", vec![3; 100], 0o644, 0).unwrap();
        let t = Arc::new(b.seal().unwrap());
        let mut s = t.stream(0, false).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut got = Vec::new();
        let mut fed = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(Error::State(m)) => {
                    assert!(m.contains("pushed") && m.contains("NEED_DATA"), "{m}");
                    match s.next_event().unwrap() {
                        Some(Event::NeedData { remaining, .. }) => {
                            // Part of it: read goes on with it, and asks again for the rest.
                            let n = (remaining as usize).min(6000);
                            s.feed(&vec![2; n]).unwrap();
                            fed += n;
                        }
                        other => panic!("deflate {deflate}: expected NEED_DATA, got {other:?}"),
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(fed, 10_000, "deflate {deflate}");
        if !deflate {
            assert_eq!(got.len() as u64, t.total_size());
        }
        let archive = tartape::reader::Archive::from_bytes(got).unwrap();
        let mut content = Vec::new();
        let i = archive
            .entries()
            .iter()
            .position(|e| e.name == b"pushed")
            .unwrap();
        std::io::Read::read_to_end(&mut archive.open_member(i).unwrap(), &mut content).unwrap();
        assert_eq!(content.len(), 10_000);
        assert!(
            content.iter().all(|&b| b == 2),
            "deflate {deflate}: pushed content"
        );
    }
}
