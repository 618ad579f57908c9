//! Eight threads on one tape: `read_at` of random ranges returns exactly the bytes of a serial
//! stream, for a walked TAR tape, a ZIP tape whose CRCs are computed on first use (shared state),
//! and a tape opened from a catalog (chunks checked on first use, open-file cache), while other
//! threads stream it with the MD5 pool on. tests/tsan.sh runs this under ThreadSanitizer.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use tartape::{Event, Format, Tape, TapeBuilder};

fn tree(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tartape-conc-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("sub")).unwrap();
    for i in 0..40u32 {
        let len = (i as usize * 7919) % 20_000;
        fs::write(d.join(format!("sub/f{i:02}")), vec![(i * 13) as u8; len]).unwrap();
    }
    // Large enough for the MD5 pool (4 MiB and up).
    let big: Vec<u8> = (0..(5 << 20) as u32).map(|i| (i % 251) as u8).collect();
    fs::write(d.join("big"), big).unwrap();
    d
}

fn streamed(tape: &Arc<Tape>) -> Vec<u8> {
    let mut s = tape.stream(0, true).unwrap();
    let mut out = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    out
}

fn hammer(tape: Arc<Tape>, expected: Arc<Vec<u8>>) {
    let total = expected.len() as u64;
    let threads: Vec<_> = (0..8u64)
        .map(|k| {
            let (tape, expected) = (tape.clone(), expected.clone());
            std::thread::spawn(move || {
                if k == 7 {
                    // One thread streams the whole tape meanwhile (MD5 pool included).
                    assert!(streamed(&tape) == *expected, "a concurrent stream differs");
                    return;
                }
                let mut seed = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1;
                let mut buf = vec![0u8; 70_000];
                for _ in 0..150 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let at = seed % total;
                    let len = ((seed >> 20) % 70_000) as usize;
                    let n = tape.read_at(at, &mut buf[..len]).unwrap();
                    let end = (at as usize + len).min(expected.len());
                    assert_eq!(n, end - at as usize);
                    assert!(buf[..n] == expected[at as usize..end], "thread {k} at {at}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn eight_threads_read_what_a_serial_stream_reads() {
    for format in [Format::Tar, Format::Zip] {
        let dir = tree(&format!("{format:?}"));
        let build = || {
            let mut b = TapeBuilder::new();
            b.set_format(format);
            b.add_path(&dir, None).unwrap();
            b.add_bytes(b"mem", vec![7u8; 100_000], 0o644, 0).unwrap();
            b.seal().unwrap()
        };
        // The expected bytes come from another tape of the same inputs, so that the tape under
        // test starts with nothing computed or cached.
        let expected = Arc::new(streamed(&Arc::new(build())));
        hammer(Arc::new(build()), expected.clone());
        // The same from a catalog opened in this process (its memory entry bound again).
        let cat = dir.with_extension("catalog");
        build().save(&cat).unwrap();
        let opened = Tape::open(&cat).unwrap();
        let mem = opened.layout().locate(b"mem").unwrap().unwrap();
        opened
            .bind(mem, tartape::Source::Bytes(vec![7u8; 100_000].into()))
            .unwrap();
        hammer(Arc::new(opened), expected);
        fs::remove_file(&cat).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
