//! Helpers shared by the ZIP tests: a tree with every kind of entry, tapes over it, full streams,
//! and what each member should read back as.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tartape::{EntryKind, Event, Format, MemoryEntry, Source, Tape, TapeBuilder};

pub fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tartape-zip-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn set_mtime(path: &Path, secs: u64) {
    let f = fs::File::open(path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// Files of several sizes and modes, a UTF-8 name, a long name, an empty file, an empty
/// directory and a symlink, with fixed (even) mtimes.
pub fn tree(root: &Path) -> PathBuf {
    let d = root.join("data");
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    fs::create_dir_all(d.join("empty-dir")).unwrap();
    for i in 0..12u64 {
        let p = d.join(format!("sub/f{i:02}.txt"));
        fs::write(&p, vec![b'a' + i as u8; (i * 397) as usize]).unwrap();
        set_mtime(&p, 1_600_000_000 + i * 7200);
    }
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    fs::write(d.join("big.bin"), big).unwrap();
    fs::write(d.join("sub/deeper").join("n".repeat(150)), b"long name").unwrap();
    fs::write(d.join("sub/héllo wörld.txt"), "grüße\n").unwrap();
    fs::write(d.join("empty"), b"").unwrap();
    fs::write(d.join("run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(d.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(d.join("empty"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("sub/f01.txt", d.join("link")).unwrap();
    for p in [
        "big.bin",
        "empty",
        "run.sh",
        "sub/deeper",
        "sub",
        "empty-dir",
        ".",
    ] {
        set_mtime(&d.join(p), 1_700_000_000);
    }
    for p in ["sub/deeper", "sub", "empty-dir", "."] {
        set_mtime(&d.join(p), 1_700_000_002);
    }
    d
}

/// Memory bytes of entry `index` at content offset `at` (the push-fed entries' content).
pub fn pushed(index: usize, at: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|j| ((index as u64 * 7 + at + j) % 251) as u8)
        .collect()
}

/// The tree plus memory entries: a small buffer, a buffer too large for the table, a directory
/// and a symlink of memory, and (when `push`) a push-fed file.
pub fn builder(dir: &Path, format: Format, push: bool) -> TapeBuilder {
    let mut b = TapeBuilder::new();
    b.set_format(format);
    b.add_path(dir, None).unwrap();
    b.add_bytes(b"mem/small.txt", b"small\n".to_vec(), 0o640, 1_500_000_000)
        .unwrap();
    let large: Vec<u8> = (0..100_000u32).map(|i| (i % 13) as u8).collect();
    b.add_bytes(b"mem/large.bin", large, 0o644, 1_500_000_000)
        .unwrap();
    let mut d = MemoryEntry::file("mem/dir", 0, 0o700, 1_500_000_000);
    d.kind = EntryKind::Dir;
    b.add(d, Source::Empty).unwrap();
    let mut l = MemoryEntry::file("mem/link", 0, 0o777, 1_500_000_000);
    l.kind = EntryKind::Symlink;
    l.link = b"small.txt".to_vec();
    b.add(l, Source::Empty).unwrap();
    if push {
        b.add_push(b"mem/pushed.bin", 200_000, 0o644, 1_500_000_000)
            .unwrap();
    }
    b
}

/// The archive bytes from `offset` to the end, feeding push-fed entries in `chunk`-byte pieces.
pub fn stream_from(tape: &Arc<Tape>, offset: u64, chunk: usize) -> Vec<u8> {
    let mut s = tape.stream(offset, true).unwrap();
    let mut out = Vec::new();
    loop {
        let need = match s.next_event().unwrap() {
            Some(Event::Data {
                offset: at, bytes, ..
            }) => {
                assert_eq!(at, offset + out.len() as u64, "Data offsets are contiguous");
                out.extend_from_slice(bytes);
                None
            }
            Some(Event::NeedData {
                index,
                content_offset,
                remaining,
            }) => Some((index, content_offset, remaining)),
            Some(_) => None,
            None => break,
        };
        if let Some((index, at, remaining)) = need {
            let n = (remaining as usize).min(chunk);
            s.feed(&pushed(index, at, n)).unwrap();
        }
    }
    out
}

/// What a member should read back as: name (with `/` for directories), Unix mode, mtime and
/// content (a symlink's content is its target).
pub struct Expected {
    pub name: String,
    pub mode: u32,
    pub mtime: i64,
    pub content: Vec<u8>,
}

pub fn expected(tape: &Tape) -> Vec<Expected> {
    (0..tape.len())
        .map(|i| {
            let e = tape.slot(i).unwrap().entry;
            let mut name = String::from_utf8(e.name.to_vec()).unwrap();
            let (kind, content) = match e.kind {
                EntryKind::Dir => {
                    name.push('/');
                    (0o040000, Vec::new())
                }
                EntryKind::Symlink => (0o120000, e.link.to_vec()),
                EntryKind::File => (
                    0o100000,
                    match &e.source {
                        Source::File(f) => fs::read(f.path(&e.name)).unwrap(),
                        Source::Bytes(b) => b.to_vec(),
                        Source::Inline { at } => tape
                            .layout()
                            .table_bytes(*at, e.size as usize)
                            .unwrap()
                            .to_vec(),
                        Source::Push => pushed(i, 0, e.size as usize),
                        Source::Empty => Vec::new(),
                        other => panic!("unexpected source {other:?}"),
                    },
                ),
            };
            Expected {
                name,
                mode: kind | e.mode,
                mtime: e.mtime,
                content,
            }
        })
        .collect()
}

pub fn md5_hex(b: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs a command and returns its standard output; fails the test with its output otherwise.
pub fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[path = "../support/bin.rs"]
mod bin;
#[allow(unused_imports)]
pub use bin::tartape_bin;
