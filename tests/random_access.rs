//! Streaming from any offset and `Tape::read_at` give exactly the bytes of the full stream.

mod common;

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use common::*;
use tartape::{Error, Event, ReadAtSource, Tape, TapeBuilder};

/// Content read at any offset from memory, as a caller's callback would.
struct Generated(Vec<u8>);

impl ReadAtSource for Generated {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = (offset as usize).min(self.0.len());
        // Deliberately short reads: at most 1000 bytes per call.
        let n = buf.len().min(self.0.len() - start).min(1000);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
}

/// A tape over many small files, a few larger ones, names that need pax headers, and memory
/// entries of both random-access kinds.
fn mixed_tape(dir: &Path) -> Arc<Tape> {
    let mut rng = Rng::new(42);
    let root = dir.join("mixed");
    for i in 0..150 {
        let len = rng.below(3000) as usize;
        write(&root.join(format!("small/{i:03}.txt")), &rng.bytes(len));
    }
    write(&root.join("large/a.bin"), &rng.bytes(300_000));
    write(&root.join("large/b.bin"), &rng.bytes((1 << 20) + 12_345)); // over one stream buffer
    let long_dir = "l".repeat(120);
    write(
        &root.join(format!("{long_dir}/{}", "n".repeat(150))),
        &rng.bytes(777),
    );
    let mut b = TapeBuilder::new();
    b.add_path(&root, None).unwrap();
    b.add_bytes(b"memory/bytes.bin", rng.bytes(5000), 0o644, 1_234_567_890)
        .unwrap();
    let generated = rng.bytes(70_001);
    b.add_read_at(
        format!("memory/{}/generated.bin", "g".repeat(200)).as_bytes(),
        generated.len() as u64,
        0o600,
        1_234_567_891,
        Arc::new(Generated(generated)),
    )
    .unwrap();
    b.add_bytes(b"memory/empty", Vec::new(), 0o644, 0).unwrap();
    Arc::new(b.seal().unwrap())
}

#[test]
fn resume_at_1000_random_offsets_matches_the_suffix_of_the_full_stream() {
    let dir = TempDir::new("ra-resume");
    let tape = mixed_tape(dir.path());
    let full = archive_bytes(&tape);
    let total = tape.total_size();
    let mut rng = Rng::new(1);
    let mut offsets: Vec<u64> = (0..990).map(|_| rng.below(total + 1)).collect();
    // The edges too: the start, block boundaries, the trailer, the very end.
    offsets.extend([
        0,
        1,
        511,
        512,
        513,
        total - 1024,
        total - 1023,
        total - 1,
        total,
        4096,
    ]);
    for off in offsets {
        let mut s = tape.stream(off, true).unwrap();
        let mut got = Vec::new();
        let mut first = true;
        while let Some(ev) = s.next_event().unwrap() {
            match ev {
                Event::Data { offset, bytes, .. } => {
                    assert_eq!(offset, off + got.len() as u64);
                    got.extend_from_slice(bytes);
                }
                Event::FileStart {
                    header_offset,
                    resumed,
                    ..
                } => {
                    assert_eq!(resumed, first && off > header_offset, "at {off}");
                    first = false;
                }
                _ => {}
            }
        }
        assert!(
            got == full[off as usize..],
            "stream from {off} differs from the suffix"
        );
    }
}

#[test]
fn read_at_from_four_threads_at_random_ranges_matches_the_stream() {
    let dir = TempDir::new("ra-threads");
    let tape = mixed_tape(dir.path());
    let full = Arc::new(archive_bytes(&tape));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let tape = tape.clone();
            let full = full.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(100 + t);
                let total = tape.total_size();
                for _ in 0..400 {
                    let off = rng.below(total + 10);
                    let len = rng.below(200_000) as usize;
                    let mut buf = vec![0xEE; len];
                    let n = tape.read_at(off, &mut buf).unwrap();
                    let expected = if off >= total {
                        &[][..]
                    } else {
                        &full[off as usize..(off as usize + len).min(full.len())]
                    };
                    assert_eq!(n, expected.len(), "length at {off}+{len}");
                    assert!(buf[..n] == *expected, "bytes at {off}+{len}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn read_at_at_and_past_the_end_reads_nothing() {
    let dir = TempDir::new("ra-end");
    let tape = mixed_tape(dir.path());
    let total = tape.total_size();
    let mut buf = [7u8; 100];
    for off in [total, total + 1, u64::MAX - 1, u64::MAX] {
        assert_eq!(tape.read_at(off, &mut buf).unwrap(), 0, "at {off}");
    }
    assert_eq!(buf, [7u8; 100], "nothing written");
    assert_eq!(tape.read_at(total - 10, &mut buf).unwrap(), 10);
    assert_eq!(&buf[..10], &[0u8; 10]);
    assert_eq!(tape.read_at(0, &mut []).unwrap(), 0, "an empty buffer");
    // A stream may start at the end: it only completes.
    let mut s = tape.stream(total, true).unwrap();
    assert!(matches!(s.next_event().unwrap(), Some(Event::Completed)));
    assert!(s.next_event().unwrap().is_none());
    assert!(matches!(
        tape.stream(total + 1, true),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn read_at_into_a_push_fed_entry_is_not_random_access_but_its_neighbours_read() {
    let mut b = TapeBuilder::new();
    b.add_bytes(b"before", b"x".repeat(700), 0o644, 1).unwrap();
    b.add_push(b"pushed", 2000, 0o644, 2).unwrap();
    b.add_bytes(b"after", b"y".repeat(300), 0o644, 3).unwrap();
    let tape = Arc::new(b.seal().unwrap());
    let pushed = &tape.layout().slot(1).unwrap();
    let (data, end) = (pushed.data_offset(), pushed.end_offset());

    // Ranges touching the pushed content fail, whole or in part, and name the entry.
    for (off, len) in [(data, 10), (data - 5, 10), (end - 100, 200), (0, 10_000)] {
        let mut buf = vec![0u8; len];
        match tape.read_at(off, &mut buf) {
            Err(Error::NotRandomAccess(msg)) => assert!(msg.contains("pushed"), "{msg}"),
            other => panic!("read_at({off}, {len}): {other:?}"),
        }
    }
    // Everything around it reads: the entry before, the pushed entry's header, its padding, the
    // entry after and the trailer.
    let content_end = data + 2000;
    let mut before = vec![0u8; data as usize];
    assert_eq!(tape.read_at(0, &mut before).unwrap(), before.len());
    let mut rest = vec![0u8; (tape.total_size() - content_end) as usize];
    assert_eq!(tape.read_at(content_end, &mut rest).unwrap(), rest.len());

    // The stream, fed, gives the same bytes around the pushed content.
    let mut s = tape.stream(0, false).unwrap();
    let mut full = Vec::new();
    loop {
        match s.next_event().unwrap() {
            Some(Event::Data { bytes, .. }) => full.extend_from_slice(bytes),
            Some(Event::NeedData { remaining, .. }) => {
                let n = remaining.min(333) as usize;
                s.feed(&vec![b'p'; n]).unwrap();
            }
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(full.len() as u64, tape.total_size());
    assert!(full[..data as usize] == before[..]);
    assert!(full[data as usize..content_end as usize]
        .iter()
        .all(|&b| b == b'p'));
    assert!(full[content_end as usize..] == rest[..]);
    // Python reads the fed archive.
    let dir = TempDir::new("ra-push");
    fs::write(dir.join("a.tar"), &full).unwrap();
    let names: Vec<Vec<u8>> = python_list(&dir.join("a.tar"))
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, [&b"before"[..], b"pushed", b"after"]);
}
