//! Seekable compressed tapes (frames recorded once): the compressed archive's size and every
//! offset are known before streaming; its stream, `read_at` at any offset, streams resumed at any
//! compressed byte and volumes all give the same bytes; `zstd -d` / `gzip -d` of them give the
//! plain TAR; the bytes do not depend on the number of threads; catalogs keep the frames; and a
//! frame that no longer compresses to its recorded size is an error naming the entry.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use tartape::reader::Archive;
use tartape::{volume, Compress, Compression, Error, Event, Tape, TapeBuilder};

/// Small text and random files that share frames, large ones cut into frames, a symlink, an
/// empty directory.
fn tree(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("t");
    let mut rng = Rng::new(7);
    for i in 0..300u32 {
        let len = (i as usize * 37) % 9000;
        let data = if i % 3 == 0 {
            rng.bytes(len)
        } else {
            (0..len)
                .map(|j| b"abcdefgh\n"[(j + i as usize) % 9])
                .collect()
        };
        write(&root.join(format!("small/{:03}.txt", i)), &data);
    }
    write(&root.join("big/random.bin"), &rng.bytes(700_000));
    let text: Vec<u8> = (0..60_000u32)
        .flat_map(|i| format!("row {} of {}\n", i, i % 91).into_bytes())
        .collect();
    write(&root.join("big/text.txt"), &text);
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::os::unix::fs::symlink("big/text.txt", root.join("link")).unwrap();
    root
}

fn plain_tape(root: &Path) -> Tape {
    let mut b = TapeBuilder::new();
    b.add_path(root, None).unwrap();
    b.seal().unwrap()
}

fn framed(root: &Path, compression: Compression, threads: u32) -> Arc<Tape> {
    let mut t = plain_tape(root);
    let c = Compress::new(compression, 0)
        .unwrap()
        .with_threads(threads)
        .unwrap();
    t.record_frames(c, 64 << 10, &|_| {}).unwrap();
    Arc::new(t)
}

fn decompress(tool: &str, bytes: &[u8]) -> Vec<u8> {
    run_with_input(Command::new(tool).args(["-d", "-c"]), bytes).stdout
}

/// The stream's `Data` bytes from `offset`, checking that offsets run on.
fn events_from(tape: &Arc<Tape>, offset: u64) -> tartape::Result<Vec<u8>> {
    let mut s = tape.stream(offset, false)?;
    let mut out = Vec::new();
    while let Some(ev) = s.next_event()? {
        if let Event::Data {
            bytes, offset: at, ..
        } = ev
        {
            assert_eq!(at, offset + out.len() as u64);
            out.extend_from_slice(bytes);
        }
    }
    assert_eq!(s.position(), offset + out.len() as u64);
    Ok(out)
}

fn read_all_at(tape: &Tape, chunk: usize) -> Vec<u8> {
    let size = tape.size().unwrap();
    let mut out = vec![0; size as usize];
    let mut at = 0;
    while at < out.len() {
        let end = (at + chunk).min(out.len());
        assert_eq!(
            tape.read_at(at as u64, &mut out[at..end]).unwrap(),
            end - at
        );
        at = end;
    }
    out
}

#[test]
fn every_view_of_a_seekable_tape_gives_the_same_bytes() {
    let dir = TempDir::new("seekable-views");
    let root = tree(dir.path());
    let plain = archive_bytes(&Arc::new(plain_tape(&root)));
    for (compression, tool) in [(Compression::Zstd, "zstd"), (Compression::Gzip, "gzip")] {
        let tape = framed(&root, compression, 1);
        let frames = tape.frames().unwrap().clone();
        assert!(frames.len() > 10, "{} frames", frames.len());
        let whole = events_from(&tape, 0).unwrap();
        assert_eq!(whole.len() as u64, tape.size().unwrap(), "{compression:?}");
        assert_eq!(decompress(tool, &whole), plain, "{tool} -d");
        assert_eq!(read_all_at(&tape, 65_536), whole);
        assert_eq!(read_all_at(&tape, 4093), whole);
        assert_eq!(stream_bytes(&tape, 0).unwrap(), whole);
        // Resumed at frame starts, inside frames, in the seek table, at the end.
        let mut rng = Rng::new(compression as u64);
        let mut offsets = vec![0, 1, frames.frames_end(), whole.len() as u64];
        offsets.push(frames.compressed(frames.len() / 2).0);
        offsets.extend((0..12).map(|_| rng.below(whole.len() as u64)));
        if frames.seek_table_len() > 0 {
            offsets.push(frames.frames_end() + 5);
        }
        for &o in &offsets {
            let got = events_from(&tape, o).unwrap();
            assert_eq!(got, whole[o as usize..], "{compression:?} from {o}");
        }
        for _ in 0..40 {
            let a = rng.below(whole.len() as u64) as usize;
            let n = 1 + rng.below(300_000) as usize;
            let mut buf = vec![0; n];
            let got = tape.read_at(a as u64, &mut buf).unwrap();
            assert_eq!(got, n.min(whole.len() - a));
            assert_eq!(buf[..got], whole[a..a + got]);
        }
        // Volumes concatenate to the archive.
        let part = 100 * 512;
        let mut joined = Vec::new();
        for p in 0..volume::count(&tape, part).unwrap() {
            let mut v = volume::Volume::new(tape.clone(), part, p).unwrap();
            std::io::Read::read_to_end(&mut v, &mut joined).unwrap();
        }
        assert_eq!(joined, whole);
        // Each entry is in the manifests of the parts its frames lie in.
        let mut seen = vec![0usize; tape.len()];
        for p in 0..volume::count(&tape, part).unwrap() {
            for item in volume::manifest(&tape, part, p).unwrap() {
                assert!(item.range.0 < item.range.1 && item.range.1 <= part);
                seen[item.index] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n >= 1), "every entry is in some part");
        let loc = volume::locate(&tape, b"t/big/random.bin", part).unwrap();
        let (c0, c1) = loc.compressed.unwrap();
        assert!(c0 < c1 && c1 <= frames.frames_end());
        assert_eq!(loc.first_part, c0 / part);
    }
}

#[test]
fn the_bytes_do_not_depend_on_threads_and_catalogs_keep_them() {
    let dir = TempDir::new("seekable-threads");
    let root = tree(dir.path());
    for compression in [Compression::Zstd, Compression::Gzip] {
        let one = framed(&root, compression, 1);
        let three = framed(&root, compression, 3);
        assert_eq!(one.frames(), three.frames());
        assert_eq!(one.fingerprint().unwrap(), three.fingerprint().unwrap());
        let whole = events_from(&one, 0).unwrap();
        assert_eq!(events_from(&three, 0).unwrap(), whole);
        let plain = plain_tape(&root);
        assert_ne!(one.fingerprint().unwrap(), plain.fingerprint().unwrap());

        // Streams compress on several threads with the same bytes.
        let mut t = plain_tape(&root);
        t.record_frames(Compress::new(compression, 0).unwrap(), 64 << 10, &|_| {})
            .unwrap();
        t.set_frame_threads(4).unwrap();
        let t = Arc::new(t);
        assert_eq!(events_from(&t, 0).unwrap(), whole);
        assert_eq!(events_from(&t, 77_777).unwrap(), whole[77_777..]);

        let cat = dir.join(format!("{compression:?}.tartape"));
        one.save(&cat).unwrap();
        let opened = Arc::new(Tape::open(&cat).unwrap());
        assert_eq!(opened.fingerprint().unwrap(), one.fingerprint().unwrap());
        assert_eq!(opened.size().unwrap(), whole.len() as u64);
        assert_eq!(opened.frames(), one.frames());
        assert_eq!(events_from(&opened, 0).unwrap(), whole);
        assert_eq!(read_all_at(&opened, 1 << 20), whole);
        // Saved again, byte for byte.
        let again = dir.join("again.tartape");
        opened.save(&again).unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&cat).unwrap());
    }
}

#[test]
fn readers_read_a_seekable_tape() {
    let dir = TempDir::new("seekable-readers");
    let root = tree(dir.path());
    let plain = Arc::new(plain_tape(&root));
    let names = gnu_tar_names(&{
        let p = dir.join("plain.tar");
        std::fs::write(&p, archive_bytes(&plain)).unwrap();
        p
    });
    for (compression, ext, flag) in [
        (Compression::Zstd, "tar.zst", "--zstd"),
        (Compression::Gzip, "tar.gz", "-z"),
    ] {
        let tape = framed(&root, compression, 2);
        let path = dir.join(format!("t.{ext}"));
        std::fs::write(&path, events_from(&tape, 0).unwrap()).unwrap();
        // GNU tar told the compression, and finding it alone.
        run_ok(Command::new("tar").arg(flag).arg("-tf").arg(&path));
        assert!(
            gnu_tar_names(&path) == names,
            "GNU tar lists {ext} as the plain TAR"
        );
        run_ok(Command::new("bsdtar").arg("-tf").arg(&path));
        let a = Archive::open(&path).unwrap();
        assert_eq!(a.entries().len(), plain.len(), "{ext}");
        if compression == Compression::Zstd {
            // Opened from the seek table: a restart point at every frame, nothing decoded first.
            assert_eq!(a.restart_points(), tape.frames().unwrap().len());
            // A table that lies about a frame's size is not used: the archive is decoded instead.
            let mut bytes = std::fs::read(&path).unwrap();
            let at = tape.frames().unwrap().frames_end() as usize + 8 + 4;
            bytes[at] ^= 1;
            let lied = Archive::from_bytes(bytes).unwrap();
            assert_eq!(lied.entries().len(), plain.len());
            assert!(lied.restart_points() < tape.frames().unwrap().len());
        }
        let member = a
            .entries()
            .iter()
            .position(|e| e.name == b"t/big/text.txt")
            .unwrap();
        let want = std::fs::read(root.join("big/text.txt")).unwrap();
        let mut got = vec![0; want.len() + 1];
        let n = a.read_member_at(member, 0, &mut got).unwrap();
        assert_eq!(got[..n], want[..]);
    }
}

#[test]
fn a_frame_that_compresses_differently_is_an_error_naming_its_entry() {
    let dir = TempDir::new("seekable-changed");
    let root = tree(dir.path());
    let big = root.join("big/text.txt");
    set_mtime(&big, 1_700_000_000, 5);
    let tape = framed(&root, Compression::Zstd, 1);
    let whole = events_from(&tape, 0).unwrap();
    // The same size and mtime, other bytes: only the frame's compressed size can tell.
    let len = std::fs::metadata(&big).unwrap().len() as usize;
    write(&big, &Rng::new(3).bytes(len));
    set_mtime(&big, 1_700_000_000, 5);
    let loc = volume::locate(&tape, b"t/big/text.txt", 512).unwrap();
    let (c0, _) = loc.compressed.unwrap();
    let mut buf = vec![0; 4096];
    match tape.read_at(c0 + 100, &mut buf) {
        Err(Error::Changed { name, what }) => {
            assert_eq!(name, "t/big/text.txt");
            assert!(
                what.contains("compresses to") && what.contains("the catalog says"),
                "{what}"
            );
        }
        other => panic!("{other:?}"),
    }
    let err = events_from(&tape, 0).unwrap_err();
    assert!(matches!(err, Error::Changed { .. }), "{err:?}");
    // The frames before it are still served as recorded.
    let mut head = vec![0; c0 as usize];
    assert_eq!(tape.read_at(0, &mut head).unwrap(), head.len());
    assert_eq!(head, whole[..c0 as usize]);
}

#[test]
fn what_cannot_have_frames_is_refused() {
    let dir = TempDir::new("seekable-refused");
    let root = tree(dir.path());
    let c = Compress::new(Compression::Zstd, 3).unwrap();
    let mut t = plain_tape(&root);
    assert!(matches!(
        t.record_frames(c, 1000, &|_| {}),
        Err(Error::InvalidArgument(_))
    ));
    t.record_frames(c, 1 << 20, &|_| {}).unwrap();
    assert!(matches!(
        t.record_frames(c, 1 << 20, &|_| {}),
        Err(Error::State(_))
    ));
    assert!(matches!(t.set_compression(Some(c)), Err(Error::State(_))));

    let mut b = TapeBuilder::new();
    b.set_format(tartape::Format::Zip);
    b.add_path(&root, None).unwrap();
    let mut zip = b.seal().unwrap();
    assert!(matches!(
        zip.record_frames(c, 1 << 20, &|_| {}),
        Err(Error::InvalidArgument(_))
    ));

    let mut b = TapeBuilder::new();
    b.add_push(b"pushed", 10, 0o644, 0).unwrap();
    let mut pushed = b.seal().unwrap();
    assert!(matches!(
        pushed.record_frames(c, 1 << 20, &|_| {}),
        Err(Error::NotRandomAccess(_))
    ));
    assert!(pushed.frames().is_none());
}

#[test]
fn a_damaged_or_cut_seekable_archive_reads_as_corrupt_never_as_other_bytes() {
    let dir = TempDir::new("seekable-damaged");
    let root = tree(dir.path());
    let tape = framed(&root, Compression::Zstd, 1);
    let whole = events_from(&tape, 0).unwrap();
    let frames = tape.frames().unwrap().clone();
    let want_text = std::fs::read(root.join("big/text.txt")).unwrap();
    // A byte flipped inside a frame of the text file: its seek table is intact, so the archive
    // opens from it; the frame fails its checks when read.
    let loc = volume::locate(&tape, b"t/big/text.txt", 512).unwrap();
    let (c0, c1) = loc.compressed.unwrap();
    let mut damaged = whole.clone();
    damaged[(c0 + (c1 - c0) / 2) as usize] ^= 0x40;
    // Cut inside a frame, and cut inside the seek table.
    let cut = whole[..(c0 + 1000) as usize].to_vec();
    let cut_table = whole[..(frames.frames_end() + 10) as usize].to_vec();
    for (what, bytes) in [("damaged", damaged), ("cut", cut), ("cut table", cut_table)] {
        let opened = match Archive::from_bytes(bytes) {
            Err(e) => {
                assert!(matches!(e, Error::Corrupt { .. }), "{what}: {e:?}");
                continue;
            }
            Ok(a) => a,
        };
        let Some(i) = opened
            .entries()
            .iter()
            .position(|e| e.name == b"t/big/text.txt")
        else {
            continue;
        };
        let mut got = vec![0; want_text.len()];
        match opened.read_member_at(i, 0, &mut got) {
            Err(e) => assert!(matches!(e, Error::Corrupt { .. }), "{what}: {e:?}"),
            Ok(n) => {
                assert!(what != "damaged", "the damaged frame was read");
                assert!(
                    got[..n] == want_text[..n],
                    "{what}: other bytes than the file's"
                );
            }
        }
    }
}
