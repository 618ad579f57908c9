// Shared by the TAR and ZIP targets: open, list, and read every member (bounded), seeking too.
use std::io::{Read, Seek, SeekFrom};

pub fn exercise(data: &[u8]) {
    let Ok(archive) = tartape::reader::Archive::from_bytes(data.to_vec()) else {
        return;
    };
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
