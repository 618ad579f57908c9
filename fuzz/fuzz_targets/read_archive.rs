// Shared by the TAR and ZIP targets: open, list, and read every member (bounded), seeking too.
use std::io::{Read, Seek, SeekFrom};

pub fn exercise(data: &[u8]) {
    let Ok(archive) = tartape::reader::Archive::from_bytes(data.to_vec()) else {
        return;
    };
    // A compressed archive: its saved index reopens it as it was; a damaged index is refused
    // or, its CRC recomputed, read without a panic.
    if let Ok(index) = archive.index_bytes() {
        let limits = tartape::reader::Limits::default();
        let again = tartape::reader::Archive::from_bytes_with_index(data.to_vec(), &index, limits.clone())
            .expect("an archive's own index reopens it");
        assert_eq!(again.entries(), archive.entries());
        let mut bad = index.clone();
        let at = data.len() % bad.len();
        bad[at] ^= 1 << (data.len() % 8);
        let _ = tartape::reader::Archive::from_bytes_with_index(data.to_vec(), &bad, limits.clone());
        let n = bad.len() - 4;
        let crc = crc32(&bad[..n]);
        bad[n..].copy_from_slice(&crc.to_le_bytes());
        if let Ok(forged) = tartape::reader::Archive::from_bytes_with_index(data.to_vec(), &bad, limits) {
            exercise_members(&forged);
        }
    }
    exercise_members(&archive);
}

/// The CRC-32 of `b` (bitwise: the fuzz crate keeps no dependency of its own).
fn crc32(b: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in b {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

fn exercise_members(archive: &tartape::reader::Archive) {
    let mut buf = [0u8; 4096];
    for i in 0..archive.entries().len().min(64) {
        let _ = archive.read_member_at(i, 0, &mut buf);
        let Ok(mut member) = archive.open_member(i) else {
            continue;
        };
        let mut total = 0usize;
        while total < 1 << 20 {
            match member.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        let _ = member.seek(SeekFrom::Start(1));
        let _ = member.read(&mut buf);
    }
}
