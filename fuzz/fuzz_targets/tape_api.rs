#![no_main]
//! Random sequences of tape calls: adding entries of every kind (valid and invalid names), sealing,
//! streaming from random offsets while feeding random chunks, reading random ranges. Whatever the
//! sequence, nothing panics, and every byte read at random equals the streamed byte.
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use tartape::{Event, MemoryEntry, Source, TapeBuilder};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map(|(b, r)| (*b, r)).unwrap_or((0, &[]));
        self.0 = rest;
        b
    }
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let mut builder = TapeBuilder::new();
    let mut pushed = Vec::new();
    for i in 0..(input.byte() % 12) {
        let name_len = (input.byte() % 40) as usize;
        let mut name = input.take(name_len);
        if name.is_empty() {
            name = format!("e{i}").into_bytes();
        }
        let mtime = input.u64() as i64;
        let mode = u32::from(input.byte()) * 7;
        let _ = match input.byte() % 5 {
            0 => {
                let len = (input.byte() as usize) * 37;
                builder.add_bytes(&name, vec![input.byte(); len], mode, mtime)
            }
            1 => {
                let size = u64::from(input.byte()) * 13;
                let r = builder.add_push(&name, size, mode, mtime);
                if r.is_ok() {
                    pushed.push(size);
                }
                r
            }
            2 => {
                let mut m = MemoryEntry::file(name, 0, mode, mtime);
                m.kind = tartape::EntryKind::Dir;
                builder.add(m, Source::Empty)
            }
            3 => {
                let mut m = MemoryEntry::file(name, 0, 0o777, mtime);
                m.kind = tartape::EntryKind::Symlink;
                m.link = input.take(200);
                builder.add(m, Source::Empty)
            }
            _ => builder.add_bytes(&name, input.take(300), mode, mtime),
        };
    }
    // Sometimes the whole TAR is compressed: stream-only, and what it streams is a compressed
    // TAR the reader opens with every entry.
    let compression = match input.byte() % 8 {
        0 => Some(tartape::Compression::Gzip),
        1 => Some(tartape::Compression::Zstd),
        _ => None,
    };
    if let Some(kind) = compression {
        let c = tartape::Compress::new(kind, 1).and_then(|c| c.with_threads(1 + u32::from(input.byte() % 3)));
        builder.set_compression(c.ok());
    }
    let Ok(tape) = builder.seal() else {
        return;
    };
    let tape = Arc::new(tape);
    let total = tape.total_size();
    let start = if total == 0 { 0 } else { input.u64() % (total + 1) };
    if tape.compression().is_some() {
        if start > 0 {
            assert!(matches!(tape.stream(start, false), Err(tartape::Error::NotRandomAccess(_))));
        }
        assert!(tape.read_at(0, &mut [0u8; 16]).is_err());
        compressed_round_trip(&tape, &mut input);
        return;
    }
    let Ok(mut stream) = tape.stream(start, input.byte() & 1 == 1) else {
        return;
    };
    let mut streamed = Vec::new();
    let mut random_ok = Vec::new();
    loop {
        let step = match stream.next_event() {
            Ok(Some(Event::Data { offset, bytes, .. })) => {
                assert_eq!(offset, start + streamed.len() as u64);
                streamed.extend_from_slice(bytes);
                None
            }
            Ok(Some(Event::NeedData { remaining, .. })) => Some(remaining),
            Ok(Some(_)) => None,
            Ok(None) | Err(_) => break,
        };
        if let Some(remaining) = step {
            let n = (input.byte() as u64 * 5).min(remaining + 2);
            let r = if input.byte() % 17 == 0 {
                stream.feed_end()
            } else {
                stream.feed(&vec![b'p'; n as usize])
            };
            if r.is_err() {
                break;
            }
        }
    }
    // Random reads agree with the stream wherever both exist.
    for _ in 0..4 {
        let off = start + input.u64() % (streamed.len() as u64 + 1);
        let len = (input.byte() as usize) * 9;
        let mut buf = vec![0u8; len];
        if let Ok(n) = tape.read_at(off, &mut buf) {
            let from = (off - start) as usize;
            let avail = streamed.len().saturating_sub(from).min(n);
            assert_eq!(&buf[..avail], &streamed[from..from + avail]);
            random_ok.push(n);
        }
    }
    let _ = tape.read_at(u64::MAX - 3, &mut [0u8; 8]);
});

/// Streams a compressed tape from 0, feeding push entries as the input says; a stream that
/// completes is a compressed TAR that the reader lists with the tape's entries.
fn compressed_round_trip(tape: &Arc<tartape::Tape>, input: &mut Bytes) {
    let Ok(mut stream) = tape.stream(0, false) else {
        return;
    };
    let (mut packed, mut completed) = (Vec::new(), false);
    loop {
        let step = match stream.next_event() {
            Ok(Some(Event::Data { offset, bytes, index })) => {
                assert_eq!((offset, index), (packed.len() as u64, None));
                packed.extend_from_slice(bytes);
                None
            }
            Ok(Some(Event::NeedData { remaining, .. })) => Some(remaining),
            Ok(Some(Event::Completed)) => {
                completed = true;
                None
            }
            Ok(Some(_)) => None,
            Ok(None) | Err(_) => break,
        };
        if let Some(remaining) = step {
            let n = (input.byte() as u64 * 5).min(remaining);
            let r = if n == 0 && input.byte() % 17 == 0 {
                stream.feed_end()
            } else {
                stream.feed(&vec![b'p'; n as usize])
            };
            if r.is_err() {
                break;
            }
        }
    }
    if completed {
        let a = tartape::reader::Archive::from_bytes(packed).expect("a compressed tape reads back");
        assert_eq!(Some(a.compression()), tape.compression().map(|c| c.compression()));
        assert_eq!(a.entries().len(), tape.len());
    }
}
