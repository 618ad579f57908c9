#![no_main]
//! The catalog loader on any bytes (checksums are skipped in fuzzing builds so that mutations reach
//! the header and record decoders), then everything a caller can ask of the opened tape: slots,
//! names, locate, verify, volumes and their manifests, read_at at the edges, a bounded stream.
//! Whatever the bytes, each call returns a result; nothing panics or allocates without bound.
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use tartape::{volume, Tape};

fuzz_target!(|data: &[u8]| {
    let Ok(tape) = Tape::open_bytes(data.to_vec()) else {
        return;
    };
    let tape = Arc::new(tape);
    let _ = tape.fingerprint();
    let _ = tape.check_catalog();
    let layout = tape.layout();
    let n = tape.len().min(256);
    for i in 0..n {
        let _ = tape.slot(i);
        if let Ok(name) = layout.name(i) {
            let name = name.to_vec();
            let _ = layout.locate(&name);
            let _ = volume::locate(&tape, &name, 4096);
        }
        let _ = tape.crc32(i);
    }
    let _ = tape.verify(false);
    let total = tape.total_size();
    let mut buf = [0u8; 2048];
    for at in [0, 512, total / 2, total.saturating_sub(1024), total, u64::MAX - 5] {
        let _ = tape.read_at(at, &mut buf);
    }
    if let Ok(count) = volume::count(&tape, 1 << 20) {
        for part in [0, count / 2, count.saturating_sub(1), count] {
            let _ = volume::manifest(&tape, 1 << 20, part);
        }
    }
    if let Ok(mut s) = tape.stream(0, false) {
        for _ in 0..64 {
            match s.next_event() {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
});
