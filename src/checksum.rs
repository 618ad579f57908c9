//! Recording checksums (MD5 and CRC-32) of file contents, on both cores.

use std::thread;

use md5::{Digest, Md5};

use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::source::{pread_full, Source};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 and CRC-32 of a file entry's content, read through its checked source.
pub fn of_entry(entry: &Entry, buf: &mut [u8]) -> Result<([u8; 16], u32)> {
    let mut md5 = Md5::new();
    let mut crc = crc32fast::Hasher::new();
    if let Source::File(f) = &entry.source {
        if entry.size > 0 {
            let file = f.open_checked(&entry.name)?;
            let mut pos = 0u64;
            while pos < entry.size {
                let want = ((entry.size - pos) as usize).min(buf.len());
                let got = pread_full(&file, pos, &mut buf[..want])
                    .map_err(|e| Error::io(f.path(&entry.name), e))?;
                if got < want {
                    return Err(Error::Changed {
                        name: crate::error::show_name(&entry.name),
                        what: format!("shrank while being hashed: ended at {}", pos + got as u64),
                    });
                }
                md5.update(&buf[..want]);
                crc.update(&buf[..want]);
                pos += want as u64;
            }
            f.check(&entry.name, &file)?;
        }
    } else if let Source::Bytes(b) = &entry.source {
        md5.update(b);
        crc.update(b);
    }
    Ok((md5.finalize().into(), crc.finalize()))
}

/// Computes and records the checksums of every file entry, splitting the work over two threads.
pub fn record_all(entries: &mut [Entry]) -> Result<()> {
    let wanted = |e: &Entry| {
        matches!(e.source, Source::File(_) | Source::Bytes(_)) && e.kind == crate::EntryKind::File
    };
    let half = entries.len() / 2;
    let (a, b) = entries.split_at_mut(half);
    let work = |part: &mut [Entry]| -> Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        for e in part.iter_mut().filter(|e| wanted(e)) {
            let (m, c) = of_entry(e, &mut buf)?;
            e.md5 = Some(m);
            e.crc32 = Some(c);
        }
        Ok(())
    };
    thread::scope(|s| {
        let other = s.spawn(|| work(b));
        let mine = work(a);
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(Error::State("a checksum thread panicked".into())));
        mine.and(theirs)
    })
}
