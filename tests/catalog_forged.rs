//! Forged catalogs: damage whose checksums were recomputed, as a hostile writer would do. Every
//! use of such a tape returns a result: an error naming the inconsistency, or bytes that are the
//! same whether streamed or read at random (never a panic, never two different archives).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tartape::{volume, Error, Event, Format, Tape, TapeBuilder};

fn tree(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tartape-forged-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("sub")).unwrap();
    for i in 0..6 {
        fs::write(d.join(format!("sub/f{i}")), vec![b'a' + i as u8; i * 700]).unwrap();
    }
    fs::write(d.join("n".repeat(120)), b"long name").unwrap();
    std::os::unix::fs::symlink("sub/f1", d.join("link")).unwrap();
    d
}

/// Recomputes the catalog's chunk and header checksums after an edit (docs/CATALOG.md), for a
/// catalog whose table is one chunk; leaves bytes that are not such a catalog as they are.
fn reseal(bytes: &mut [u8]) {
    if bytes.len() < 24 {
        return;
    }
    let header_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    if header_len < 32 || header_len > bytes.len() {
        return;
    }
    let table = &bytes[header_len..];
    if table.len() > 1 << 20 {
        return;
    }
    let chunk = crc32fast::hash(table);
    bytes[header_len - 8..header_len - 4].copy_from_slice(&chunk.to_le_bytes());
    let head = crc32fast::hash(&bytes[..header_len - 4]);
    bytes[header_len - 4..header_len].copy_from_slice(&head.to_le_bytes());
}

fn streamed(tape: &Arc<Tape>) -> Result<Vec<u8>, Error> {
    let mut s = tape.stream(0, true)?;
    let mut out = Vec::new();
    while let Some(ev) = s.next_event()? {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    Ok(out)
}

fn read_whole(tape: &Tape) -> Result<Vec<u8>, Error> {
    let total = usize::try_from(tape.total_size()).map_err(|_| Error::State("huge".into()))?;
    if total > 64 << 20 {
        return Err(Error::State("claims to be huge".into()));
    }
    let mut out = vec![0u8; total];
    let mut at = 0;
    while at < total {
        let n = tape.read_at(at as u64, &mut out[at..(at + 3000).min(total)])?;
        if n == 0 {
            return Err(Error::State("read_at ended early".into()));
        }
        at += n;
    }
    Ok(out)
}

/// Everything a caller can ask of a tape; returns whether the tape was refused (an error from the
/// stream or from reading it whole).
fn exercise(t: Tape, what: &str) -> bool {
    let t = Arc::new(t);
    let _ = t.verify(false);
    let _ = t.fingerprint();
    for i in 0..t.len().min(100) {
        if let Ok(name) = t.layout().name(i) {
            let _ = volume::locate(&t, name, 1024);
        }
    }
    if let Ok(n) = volume::count(&t, 1024) {
        for part in 0..n.min(64) {
            let _ = volume::manifest(&t, 1024, part);
        }
    }
    match (streamed(&t), read_whole(&t)) {
        (Ok(s), Ok(r)) => {
            assert_eq!(s.len() as u64, t.total_size(), "{what}");
            assert!(s == r, "{what}: stream and read_at differ");
            false
        }
        _ => true,
    }
}

#[test]
fn fuzzing_regressions_are_refused_cleanly() {
    // Inputs that once crashed fuzz/fuzz_targets/catalog_loader (fuzzing builds skip checksums;
    // here they are recomputed instead).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/catalog_loader");
    let mut n = 0;
    for f in fs::read_dir(&dir).unwrap() {
        let path = f.unwrap().path();
        let mut bytes = fs::read(&path).unwrap();
        reseal(&mut bytes);
        if let Ok(t) = Tape::open_bytes(bytes) {
            exercise(t, &path.display().to_string());
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}

fn forge_every_byte(format: Format, dir: &Path) {
    let mut b = TapeBuilder::new();
    b.set_format(format);
    b.add_path(dir, None).unwrap();
    let tape = b.seal().unwrap();
    let path = dir.with_extension(format!("{format:?}.catalog"));
    tape.save(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let header_len = u32::from_le_bytes(good[20..24].try_into().unwrap()) as usize;
    let (mut refused, mut consistent) = (0, 0);
    // Every byte of the table, and the header's numbers (format, count, sizes, offsets, flags).
    let positions = (24..64).chain(header_len..good.len());
    for pos in positions {
        for flip in [0x01u8, 0x80] {
            let mut forged = good.clone();
            forged[pos] ^= flip;
            reseal(&mut forged);
            let Ok(t) = Tape::open_bytes(forged) else {
                refused += 1;
                continue;
            };
            if exercise(t, &format!("byte {pos} ^ {flip:#x}")) {
                refused += 1;
            } else {
                consistent += 1;
            }
        }
    }
    // Most forgeries are caught; those that are not describe another archive consistently (an
    // mtime or a mode changed, say).
    assert!(
        refused > consistent,
        "{refused} refused, {consistent} consistent"
    );
    let _ = fs::remove_file(&path);
}

#[test]
fn forged_tar_catalogs_never_panic_nor_disagree_with_themselves() {
    let dir = tree("tar");
    forge_every_byte(Format::Tar, &dir);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn forged_zip_catalogs_never_panic_nor_disagree_with_themselves() {
    let dir = tree("zip");
    forge_every_byte(Format::Zip, &dir);
    fs::remove_dir_all(&dir).unwrap();
}
