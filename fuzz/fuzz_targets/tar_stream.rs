#![no_main]
//! The sequential TAR reader (a stream read front to back, in short reads) on arbitrary bytes:
//! never a panic or a hang, and whatever it lists and reads is what the random-access reader lists
//! and reads from the same bytes.
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use tartape::reader::{Archive, TarStream};

/// Gives at most `step` bytes per read, as a pipe may.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let step = usize::from(data.first().copied().unwrap_or(1)).max(1) * 7;
    // Compressed input (gzip, zstd, xz, bzip2 magic) is decoded on the way, as from a pipe.
    let Ok(mut stream) = TarStream::new(Trickle {
        data: data.to_vec(),
        at: 0,
        step,
    }) else {
        return;
    };
    let archive = Archive::from_bytes(data.to_vec()).ok();
    let mut buf = [0u8; 4096];
    for i in 0..64 {
        let entry = match stream.next_entry() {
            Ok(Some(e)) => e.clone(),
            Ok(None) | Err(_) => return,
        };
        let mut content = Vec::new();
        loop {
            match stream.read_data(&mut buf) {
                Ok(0) => break,
                Ok(n) => content.extend_from_slice(&buf[..n]),
                Err(_) => return,
            }
            if content.len() > 1 << 20 {
                return;
            }
        }
        // Where the whole archive also lists, the two readers agree on every entry they both
        // reach, and on its content.
        if let Some(a) = &archive {
            if let Some(other) = a.entries().get(i) {
                if a.format() == tartape::reader::Format::Tar {
                    assert_eq!(other.name, entry.name);
                    assert_eq!(other.size, entry.size);
                    if let Ok(mut m) = a.open_member(i) {
                        let mut theirs = Vec::new();
                        if m.read_to_end(&mut theirs).is_ok() {
                            assert_eq!(theirs, content);
                        }
                    }
                }
            }
        }
    }
});
