//! `TapeBuilder::stream_paths`: the TAR streamed while the tree is walked is byte for byte the
//! sealed tape's stream (across batches of entries and pieces of bytes, for every kind of entry,
//! for several roots); a file changed, or replaced under its name, after the walk saw it stops the
//! stream naming it, with what went out a prefix of the archive; a failing output stops it naming
//! the output; what cannot be streamed so (ZIP, compression, alignment, checksums, a builder with
//! entries, two roots of one name) is refused before any byte.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use common::*;
use tartape::{Compress, Compression, Error, Format, Streamed, TapeBuilder};

/// A tree of every kind of entry, with more entries than a batch (1,024) and files that span
/// pieces (512 KiB), a name too long for the ustar header, an excluded name and a FIFO.
fn tree(root: &Path) {
    let mut rng = Rng::new(41);
    for d in 0..3 {
        for f in 0..1200 {
            let len = rng.below(3000) as usize;
            write(&root.join(format!("d{d}/f{f:04}")), &rng.bytes(len));
        }
    }
    write(&root.join("big"), &rng.bytes(1_500_001));
    write(&root.join("empty"), b"");
    let long = format!("deep/{}/{}", "n".repeat(120), "file-with-a-long-name");
    write(&root.join(long), b"long");
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    std::os::unix::fs::symlink("big", root.join("link")).unwrap();
    fs::hard_link(root.join("big"), root.join("big-again")).unwrap();
    write(&root.join(".git/config"), b"left out");
    let fifo = std::ffi::CString::new(root.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
}

fn builder() -> TapeBuilder {
    let mut b = TapeBuilder::new();
    b.options_mut().exclude = vec![b".git".to_vec()];
    b
}

/// The sealed tape's bytes of `paths`.
fn sealed(paths: &[&Path]) -> Vec<u8> {
    let mut b = builder();
    for p in paths {
        b.add_path(p, None).unwrap();
    }
    archive_bytes(&Arc::new(b.seal().unwrap()))
}

fn streamed(b: &TapeBuilder, paths: &[&Path]) -> (tartape::Result<Streamed>, Vec<u8>) {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let r = b.stream_paths(paths, &mut out, &mut |n| seen.push(n));
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "progress goes forward"
    );
    if r.is_ok() {
        assert_eq!(seen.last().copied(), Some(out.len() as u64));
    }
    (r, out)
}

#[test]
fn the_stream_of_a_walk_is_the_sealed_tapes() {
    let dir = TempDir::new("walk-stream");
    let root = dir.join("tree");
    tree(&root);
    let want = sealed(&[&root]);
    let (r, got) = streamed(&builder(), &[&root]);
    let s = r.unwrap();
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the streamed archive differs from the sealed one"
    );
    assert_eq!(s.bytes, want.len() as u64);
    // Every entry of the sealed tape: its directories, files, link, but not .git or the FIFO.
    let mut b = builder();
    b.add_path(&root, None).unwrap();
    let tape = b.seal().unwrap();
    assert_eq!(s.entries, tape.len() as u64);
    assert_eq!(s.skipped.len(), 1, "{:?}", s.skipped);
    assert_eq!(s.skipped[0].kind, "fifo");
    // GNU tar reads it whole.
    let file = dir.join("out.tar");
    fs::write(&file, &got).unwrap();
    assert_eq!(gnu_tar_names(&file).len(), tape.len());
}

#[test]
fn several_roots_and_single_files_stream_as_sealed() {
    let dir = TempDir::new("walk-stream-roots");
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c.txt"));
    let mut rng = Rng::new(3);
    for i in 0..1500 {
        write(&a.join(format!("x{i}")), &rng.bytes(100));
    }
    write(&b.join("y"), &rng.bytes(700_000));
    write(&c, b"a file given alone");
    let want = sealed(&[&a, &b, &c]);
    let (r, got) = streamed(&builder(), &[&a, &b, &c]);
    assert_eq!(r.unwrap().entries, 1500 + 1 + 2 + 1);
    assert!(got == want);
    // An empty list of paths is an archive of nothing: the trailer.
    let (r, got) = streamed(&builder(), &[]);
    assert_eq!(r.unwrap().entries, 0);
    assert_eq!(got, vec![0u8; 1024]);
}

/// Writes into a buffer; on its first write, applies `change` to `victim` (the walk saw it as it
/// was: it is in the first batch, which is laid out before any byte is made).
struct ChangingAtFirstWrite<'a> {
    out: Vec<u8>,
    victim: &'a Path,
    change: Option<fn(&Path)>,
}

impl Write for ChangingAtFirstWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(change) = self.change.take() {
            change(self.victim);
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Streams a tree whose file "z" comes past 6 MiB (the filling threads, at most three pieces
/// ahead of the writer, have not read it when the first piece is written) and `change`s it at
/// the first write: the stream must stop with `Changed` naming it, what went out being the
/// archive's beginning and not all of it. Returns what the error says changed.
fn changed_at_first_write(label: &str, change: fn(&Path)) -> String {
    let dir = TempDir::new(label);
    let root = dir.join("tree");
    let mut rng = Rng::new(9);
    for i in 0..6 {
        write(&root.join(format!("a{i}")), &rng.bytes(1 << 20));
    }
    write(&root.join("z"), &rng.bytes(100_000));
    let want = sealed(&[&root]);
    let victim = root.join("z");
    let mut out = ChangingAtFirstWrite {
        out: Vec::new(),
        victim: &victim,
        change: Some(change),
    };
    let r = builder().stream_paths(&[&root], &mut out, &mut |_| {});
    let what = match r {
        Err(Error::Changed { name, what }) if name == "tree/z" => what,
        other => panic!("expected Changed naming tree/z, got {other:?}"),
    };
    assert!(out.out.len() < want.len());
    assert!(out.out[..] == want[..out.out.len()]);
    what
}

#[test]
fn a_file_changed_after_the_walk_stops_the_stream_naming_it() {
    let what = changed_at_first_write("walk-stream-changed", |victim| {
        fs::OpenOptions::new()
            .write(true)
            .open(victim)
            .unwrap()
            .set_len(10)
            .unwrap();
    });
    assert!(what.contains("shrank"), "{what}");
}

#[test]
fn a_file_replaced_under_its_name_after_the_walk_stops_the_stream_naming_it() {
    // A new file of the same size renamed over it, as editors and package managers save (and
    // `cp -p` or rsync keep the mtime too): the identity's inode tells them apart.
    let what = changed_at_first_write("walk-stream-replaced", |victim| {
        let len = fs::metadata(victim).unwrap().len() as usize;
        let new = victim.with_extension("new");
        fs::write(&new, vec![b'x'; len]).unwrap();
        fs::rename(&new, victim).unwrap();
    });
    assert!(what.contains("replaced"), "{what}");
}

/// An output that fails once `limit` bytes are written.
struct Failing {
    written: usize,
    limit: usize,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        self.written += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_output_stops_the_stream_and_the_walk() {
    let dir = TempDir::new("walk-stream-output");
    let root = dir.join("tree");
    tree(&root);
    let mut out = Failing {
        written: 0,
        limit: 1 << 20,
    };
    let r = builder().stream_paths(&[&root], &mut out, &mut |_| {});
    match r {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, Path::new("the archive's output"));
            assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
        }
        other => panic!("expected the output's error, got {other:?}"),
    }
}

#[test]
fn what_needs_a_sealed_tape_is_refused_before_any_byte() {
    let dir = TempDir::new("walk-stream-refused");
    let root = dir.join("tree");
    write(&root.join("f"), b"x");
    let refused = |b: &TapeBuilder, paths: &[&Path], want: &str| {
        let (r, out) = streamed(b, paths);
        let e = r.expect_err(want);
        assert!(e.to_string().contains(want), "{e} lacks {want:?}");
        assert!(out.is_empty(), "bytes went out before the refusal");
    };
    let mut zip = builder();
    zip.set_format(Format::Zip);
    refused(&zip, &[&root], "ZIP");
    let mut z = builder();
    z.set_compression(Some(Compress::new(Compression::Zstd, 3).unwrap()));
    refused(&z, &[&root], "compression");
    let mut aligned = builder();
    aligned.set_align(4096).unwrap();
    refused(&aligned, &[&root], "alignment");
    let mut sums = builder();
    sums.set_checksums(true);
    refused(&sums, &[&root], "checksums");
    let mut held = builder();
    held.add_bytes(b"m", b"x".to_vec(), 0o644, 0).unwrap();
    refused(&held, &[&root], "already holds entries");
    // Two roots of one base name would put one name in the archive twice.
    let other = dir.join("other/tree");
    write(&other.join("g"), b"y");
    refused(&builder(), &[&root, &other], "added twice");
    // A root that does not exist: the walk's error, before any byte.
    let (r, out) = streamed(&builder(), &[&dir.join("missing")]);
    assert!(r.unwrap_err().to_string().contains("missing"));
    assert!(out.is_empty());
}
