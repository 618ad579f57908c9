//! `Stream::next_event_into` (C: `tt_next_event_into`): content read straight into the caller's
//! buffer gives the same events and bytes as `next_event`, for every kind of source and format,
//! whatever the buffer's size, and resumed streams too.

use std::fs;
use std::sync::Arc;

use tartape::{Event, Format, Tape, TapeBuilder};

fn tape(format: Format) -> (Arc<Tape>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tartape-into-{format:?}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("d")).unwrap();
    let big: Vec<u8> = (0..3_000_001u32).map(|i| (i * 7 % 253) as u8).collect();
    fs::write(dir.join("d/big"), &big).unwrap();
    fs::write(dir.join("d/small"), b"small").unwrap();
    fs::write(dir.join("d/empty"), b"").unwrap();
    let mut b = TapeBuilder::new();
    b.set_format(format);
    b.add_path(&dir.join("d"), None).unwrap();
    b.add_bytes(b"mem", big[..200_000].to_vec(), 0o644, 0)
        .unwrap();
    (Arc::new(b.seal().unwrap()), dir)
}

/// Events as text (kinds, offsets, MD5s) and the bytes; `lent` counts DATA events whose bytes
/// were in the caller's buffer (each either fills it or ends its entry's content).
fn run(tape: &Arc<Tape>, from: u64, buf_len: Option<usize>) -> (Vec<String>, Vec<u8>, usize) {
    let mut s = tape.stream(from, true).unwrap();
    let mut buf = vec![0u8; buf_len.unwrap_or(0)];
    let (mut seen, mut bytes, mut lent, mut full) = (Vec::new(), Vec::new(), 0, 0);
    let range = buf.as_ptr_range();
    let cap = buf.len();
    loop {
        let ev = match buf_len {
            Some(_) => s.next_event_into(&mut buf).unwrap(),
            None => s.next_event().unwrap(),
        };
        match ev {
            None => break,
            Some(Event::Data {
                bytes: b, offset, ..
            }) => {
                assert_eq!(offset, from + bytes.len() as u64);
                if !b.is_empty() && range.contains(&b.as_ptr()) {
                    lent += 1;
                    full += usize::from(b.len() == cap);
                }
                bytes.extend_from_slice(b);
            }
            Some(Event::FileStart {
                index,
                header_offset,
                ..
            }) => seen.push(format!("start {index} {header_offset}")),
            Some(Event::FileEnd {
                index,
                end_offset,
                md5,
                ..
            }) => seen.push(format!("end {index} {end_offset} {md5:?}")),
            Some(other) => seen.push(format!("{other:?}")),
        }
    }
    if from == 0 && buf_len.is_some_and(|n| (65_536..=1 << 20).contains(&n)) {
        assert!(full > 0, "no event filled a lent buffer of {}", buf.len());
    }
    (seen, bytes, lent)
}

#[test]
fn lent_buffers_give_the_same_events_and_bytes() {
    for format in [Format::Tar, Format::Zip] {
        let (t, dir) = tape(format);
        let (events, bytes, _) = run(&t, 0, None);
        assert_eq!(bytes.len() as u64, t.total_size());
        for size in [
            0,
            1000,
            65_536,
            65_536 + 512,
            100_000,
            1 << 20,
            (1 << 20) + 512,
            5 << 20,
        ] {
            let (e, b, lent) = run(&t, 0, Some(size));
            assert_eq!(e, events, "{format:?} {size}");
            assert!(b == bytes, "{format:?} {size}: bytes differ");
            // Buffers too small are not used; large ones take the large contents.
            assert_eq!(lent > 0, size >= 65_536, "{format:?} {size}: {lent} lent");
        }
        for from in [1, 511, 512, 700_000, t.total_size() - 3] {
            let (_, b, _) = run(&t, from, Some(100_000));
            assert!(b == bytes[from as usize..], "{format:?} from {from}");
        }
        fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn pushed_entries_stream_through_the_tapes_own_buffer() {
    let mut b = TapeBuilder::new();
    b.add_push(b"pushed", 300_000, 0o644, 0).unwrap();
    let t = Arc::new(b.seal().unwrap());
    let mut s = t.stream(0, false).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut got = Vec::new();
    loop {
        match s.next_event_into(&mut buf).unwrap() {
            None => break,
            Some(Event::NeedData { remaining, .. }) => {
                let n = remaining.min(70_000) as usize;
                s.feed(&vec![b'p'; n]).unwrap();
            }
            Some(Event::Data { bytes, .. }) => got.extend_from_slice(bytes),
            Some(_) => {}
        }
    }
    assert_eq!(got.len() as u64, t.total_size());
    assert_eq!(&got[512..300_512], &vec![b'p'; 300_000][..]);
}
