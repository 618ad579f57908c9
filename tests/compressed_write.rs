//! Compressed TAR tapes (gzip, zstd around the whole stream): they decompress to exactly the
//! uncompressed tape's bytes at every level, through events and through `Stream::read`; the bytes
//! are the same run after run, in any time zone and for any number of zstd threads; and the tape
//! is stream-only (NOT_RANDOM_ACCESS for read_at, sizes and offsets past 0).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use tartape::reader::Archive;
use tartape::{Compress, Compression, Error, Event, MemoryEntry, Source, Tape, TapeBuilder};

/// A small tree with text, random bytes, an empty file, a symlink and a long name.
fn tree(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("t");
    let mut rng = Rng::new(21);
    let text: Vec<u8> = (0..400_000u32)
        .flat_map(|i| format!("line {} {}\n", i % 977, i % 13).into_bytes())
        .collect();
    write(&root.join("text.txt"), &text);
    write(&root.join("random.bin"), &rng.bytes(300_000));
    write(&root.join("empty"), b"");
    write(
        &root.join(format!("{}/deep.txt", "d".repeat(120))),
        b"deep\n",
    );
    std::os::unix::fs::symlink("text.txt", root.join("link")).unwrap();
    for p in [
        root.join("text.txt"),
        root.join("random.bin"),
        root.join("empty"),
        root.join(format!("{}/deep.txt", "d".repeat(120))),
        root.join("d".repeat(120)),
        root.clone(),
    ] {
        set_mtime(&p, 1_700_000_000, 0);
    }
    root
}

fn tape(root: &Path, compress: Option<Compress>) -> Arc<Tape> {
    let mut b = TapeBuilder::new();
    b.add_path(root, None).unwrap();
    b.set_compression(compress);
    Arc::new(b.seal().unwrap())
}

/// The stream's `Data` bytes from offset 0, checking their offsets run on.
fn events_bytes(tape: &Arc<Tape>) -> Vec<u8> {
    let mut s = tape.stream(0, true).unwrap();
    let mut out = Vec::new();
    let mut completed = false;
    while let Some(ev) = s.next_event().unwrap() {
        match ev {
            Event::Data {
                bytes,
                offset,
                index,
            } => {
                assert_eq!(offset, out.len() as u64);
                if tape.compression().is_some() {
                    assert_eq!(index, None);
                }
                out.extend_from_slice(bytes);
            }
            Event::Completed => completed = true,
            _ => {}
        }
    }
    assert!(completed);
    assert_eq!(s.position(), out.len() as u64);
    out
}

fn read_bytes(tape: &Arc<Tape>, chunk: usize) -> Vec<u8> {
    let mut s = tape.stream(0, false).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0; chunk];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unzstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::decode_all(data).unwrap()
}

#[test]
fn every_compression_and_level_decompresses_to_the_plain_tape() {
    let dir = TempDir::new("cw-round");
    let root = tree(dir.path());
    let plain = archive_bytes(&tape(&root, None));
    let mut sizes = Vec::new();
    for (kind, levels) in [
        (Compression::Gzip, &[1, 6, 9][..]),
        (Compression::Zstd, &[1, 3, 19][..]),
    ] {
        for &level in levels {
            let t = tape(&root, Some(Compress::new(kind, level).unwrap()));
            let packed = events_bytes(&t);
            let back = match kind {
                Compression::Gzip => gunzip(&packed),
                _ => unzstd(&packed),
            };
            assert!(back == plain, "{kind:?} {level}: not the plain tape");
            assert_eq!(read_bytes(&t, 70_000), packed, "{kind:?} {level}: read");
            assert_eq!(read_bytes(&t, 4096 + 17), packed, "{kind:?} {level}: read");
            // Our reader detects and lists it as the plain tape.
            let a = Archive::from_bytes(packed.clone()).unwrap();
            assert_eq!(a.compression(), kind);
            if kind == Compression::Gzip {
                // A member per 4 MiB: each is a place the reader restarts from.
                assert!(
                    a.restart_points() > plain.len() >> 22,
                    "{level}: {} points",
                    a.restart_points()
                );
            }
            let p = Archive::from_bytes(plain.clone()).unwrap();
            assert_eq!(a.entries(), p.entries());
            sizes.push((kind, level, packed.len()));
        }
    }
    // Higher levels are not larger on this text.
    assert!(
        sizes[0].2 >= sizes[2].2 && sizes[3].2 >= sizes[5].2,
        "{sizes:?}"
    );
}

#[test]
fn gzip_and_zstd_bytes_are_the_same_for_any_number_of_threads() {
    let dir = TempDir::new("cw-threads");
    let root = dir.join("big");
    // Several MiB so that zstd cuts the frame into jobs for its workers, gzip into members.
    let mut rng = Rng::new(4);
    for i in 0..6 {
        let mut data = Vec::new();
        while data.len() < 3 << 20 {
            data.extend_from_slice(format!("{} {}\n", rng.below(5000), i).as_bytes());
        }
        write(&root.join(format!("f{i}")), &data);
    }
    for kind in [Compression::Zstd, Compression::Gzip] {
        let bytes = |threads: u32, level: i32| {
            let c = Compress::new(kind, level)
                .unwrap()
                .with_threads(threads)
                .unwrap();
            events_bytes(&tape(&root, Some(c)))
        };
        for level in [1, 3] {
            let one = bytes(1, level);
            for threads in [2, 3, 8] {
                assert!(
                    bytes(threads, level) == one,
                    "{kind:?} level {level}, {threads} threads"
                );
            }
            assert!(
                one == bytes(1, level),
                "{kind:?} level {level}: a second run"
            );
        }
    }
}

#[test]
fn compressed_bytes_are_the_same_across_runs_and_time_zones() {
    let dir = TempDir::new("cw-tz");
    let root = tree(dir.path());
    let exe = std::env::current_exe().unwrap();
    let mut outs = Vec::new();
    for tz in ["UTC", "Pacific/Kiritimati", "America/St_Johns"] {
        let out = dir.join(format!("out-{}", outs.len()));
        run_ok(
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "emit_compressed_tapes_for_the_time_zone_test",
                ])
                .env("TZ", tz)
                .env("TARTAPE_TEST_TREE", &root)
                .env("TARTAPE_TEST_OUT", &out),
        );
        outs.push(std::fs::read(&out).unwrap());
    }
    assert!(!outs[0].is_empty());
    assert!(outs.iter().all(|o| *o == outs[0]));
}

/// Run by the test above in a child process with TZ set: writes the gzip and zstd tapes of the
/// tree named by TARTAPE_TEST_TREE, one after the other, to TARTAPE_TEST_OUT.
#[test]
#[ignore]
fn emit_compressed_tapes_for_the_time_zone_test() {
    let (Some(root), Some(out)) = (
        std::env::var_os("TARTAPE_TEST_TREE"),
        std::env::var_os("TARTAPE_TEST_OUT"),
    ) else {
        println!("a helper of compressed_bytes_are_the_same_across_runs_and_time_zones: nothing to do alone");
        return;
    };
    let mut all = Vec::new();
    for kind in [Compression::Gzip, Compression::Zstd] {
        let c = Compress::new(kind, 0).unwrap();
        all.extend(events_bytes(&tape(Path::new(&root), Some(c))));
    }
    std::fs::write(out, all).unwrap();
}

#[test]
fn a_compressed_tape_is_stream_only() {
    let dir = TempDir::new("cw-random");
    let root = tree(dir.path());
    let t = tape(&root, Some(Compress::new(Compression::Gzip, 1).unwrap()));
    let mut buf = [0u8; 100];
    for r in [
        t.read_at(0, &mut buf).map(|_| ()),
        t.size().map(|_| ()),
        t.stream(512, false).map(|_| ()),
    ] {
        match r {
            Err(Error::NotRandomAccess(m)) => assert!(m.contains("gzip"), "{m}"),
            other => panic!("expected NotRandomAccess, got {other:?}"),
        }
    }
    // The fingerprint names the compressed bytes: compression and level, not the threads.
    let fp = |c: Option<Compress>| tape(&root, c).fingerprint().unwrap();
    let gz6 = fp(Some(Compress::new(Compression::Gzip, 6).unwrap()));
    assert_ne!(fp(None), gz6);
    assert_ne!(gz6, fp(Some(Compress::new(Compression::Gzip, 9).unwrap())));
    let zstd = Compress::new(Compression::Zstd, 3).unwrap();
    assert_eq!(fp(Some(zstd)), fp(Some(zstd.with_threads(4).unwrap())));
    // A ZIP tape compresses its entries, not the whole archive.
    let mut b = TapeBuilder::new();
    b.add_path(&root, None).unwrap();
    b.set_format(tartape::Format::Zip);
    b.set_compression(Some(Compress::new(Compression::Zstd, 3).unwrap()));
    assert!(matches!(b.seal(), Err(Error::InvalidArgument(_))));
    // A tape opened from a catalog can be compressed when played.
    let cat = dir.join("t.catalog");
    tape(&root, None).save(&cat).unwrap();
    let mut opened = Tape::open(&cat).unwrap();
    opened
        .set_compression(Some(Compress::new(Compression::Zstd, 3).unwrap()))
        .unwrap();
    let opened = Arc::new(opened);
    assert_eq!(
        unzstd(&events_bytes(&opened)),
        archive_bytes(&tape(&root, None))
    );
}

#[test]
fn push_fed_entries_are_fed_and_compressed() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8 + b'a').collect();
    let mut b = TapeBuilder::new();
    b.add_push(b"fed.txt", content.len() as u64, 0o644, 1_700_000_000)
        .unwrap();
    b.add(
        MemoryEntry::file("bytes.txt", 5, 0o644, 1_700_000_000),
        Source::Bytes(Arc::from(&b"hello"[..])),
    )
    .unwrap();
    let plain_tape = |compress| {
        let mut b = TapeBuilder::new();
        b.add(
            MemoryEntry::file("fed.txt", content.len() as u64, 0o644, 1_700_000_000),
            Source::Bytes(Arc::from(content.as_slice())),
        )
        .unwrap();
        b.add(
            MemoryEntry::file("bytes.txt", 5, 0o644, 1_700_000_000),
            Source::Bytes(Arc::from(&b"hello"[..])),
        )
        .unwrap();
        b.set_compression(compress);
        Arc::new(b.seal().unwrap())
    };
    b.set_compression(Some(Compress::new(Compression::Gzip, 6).unwrap()));
    let t = Arc::new(b.seal().unwrap());
    let mut s = t.stream(0, false).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 8192];
    // read() stops at the push-fed entry with State; its NEED_DATA is the next event.
    loop {
        match s.read(&mut buf) {
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Error::State(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let mut fed = 0;
    loop {
        let need = match s.next_event().unwrap() {
            Some(Event::NeedData { remaining, .. }) => Some(remaining),
            Some(Event::Data { bytes, .. }) => {
                out.extend_from_slice(bytes);
                None
            }
            Some(_) => None,
            None => break,
        };
        if let Some(remaining) = need {
            let n = (remaining as usize).min(30_000);
            s.feed(&content[fed..fed + n]).unwrap();
            fed += n;
        }
    }
    assert_eq!(fed, content.len());
    assert_eq!(
        out,
        events_bytes(&plain_tape(Some(
            Compress::new(Compression::Gzip, 6).unwrap()
        )))
    );
    assert_eq!(gunzip(&out), archive_bytes(&plain_tape(None)));
}

/// Measures compressed writing against the usual pipelines (not a check: run with `--ignored
/// --nocapture`): 64 files of 4 MiB, half text, half random bytes, in the page cache.
#[test]
#[ignore]
fn measure_compressed_writing_against_tar_and_the_compressors() {
    use std::time::Instant;
    let dir = TempDir::new("cw-measure");
    let root = dir.join("set");
    let mut rng = Rng::new(8);
    for i in 0..64 {
        let data = if i % 2 == 0 {
            let mut d = Vec::with_capacity(4 << 20);
            while d.len() < 4 << 20 {
                d.extend_from_slice(
                    format!("{} {} entry {}\n", rng.below(100_000), i, rng.below(50)).as_bytes(),
                );
            }
            d.truncate(4 << 20);
            d
        } else {
            rng.bytes(4 << 20)
        };
        write(&root.join(format!("f{i:02}")), &data);
    }
    let sh = |cmd: &str| {
        let t = Instant::now();
        let out = run_ok(
            Command::new("sh")
                .arg("-c")
                .arg(format!("cd {} && {cmd}", dir.path().display())),
        );
        (
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .unwrap(),
        )
    };
    sh("tar cf - set | wc -c"); // page cache
    let ours = |c: Compress| {
        let t = Instant::now();
        let tape = tape(&root, Some(c));
        let mut s = tape.stream(0, false).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = s.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        (t.elapsed().as_secs_f64(), n)
    };
    for (label, theirs, c) in [
        (
            "gzip -6",
            "tar czf - set | wc -c",
            Compress::new(Compression::Gzip, 6).unwrap(),
        ),
        (
            "zstd -3",
            "tar cf - set | zstd -3 -T2 -c | wc -c",
            Compress::new(Compression::Zstd, 3).unwrap(),
        ),
        (
            "zstd -3, 2 threads",
            "tar cf - set | zstd -3 -T2 -c | wc -c",
            Compress::new(Compression::Zstd, 3)
                .unwrap()
                .with_threads(2)
                .unwrap(),
        ),
    ] {
        let (tt, tn) = sh(theirs);
        let (ot, on) = ours(c);
        println!(
            "{label}: tartape {ot:.2} s {on} B; `{theirs}` {tt:.2} s {tn} B; ratio of times {:.2}",
            ot / tt
        );
    }
}

/// Measures what a seekable layout would cost (not a check: run with `--ignored --nocapture`;
/// TARTAPE_MEASURE_DIRS, colon-separated, chooses the trees, /usr/include by default;
/// TARTAPE_MEASURE_FRAME the frame size, 1 MiB by default): the TAR
/// compressed by zstd -3 as one stream, against one frame per entry (entries over 1 MiB cut into
/// frames of the frame size), and against frames that also pack consecutive small entries up to
/// the frame size.
#[test]
#[ignore]
fn measure_frame_per_entry_cost_against_one_stream() {
    let frame_size: u64 =
        std::env::var("TARTAPE_MEASURE_FRAME").map_or(1 << 20, |v| v.parse().unwrap());
    #[allow(non_snake_case)]
    let FRAME = frame_size;
    let dirs = std::env::var("TARTAPE_MEASURE_DIRS").unwrap_or_else(|_| "/usr/include".into());
    for d in dirs.split(':') {
        let t = tape(Path::new(d), None);
        let tar = archive_bytes(&t);
        let whole = zstd::bulk::compress(&tar, 3).unwrap().len();
        let frame = |a: u64, b: u64| {
            zstd::bulk::compress(&tar[a as usize..b as usize], 3)
                .unwrap()
                .len()
        };
        let (mut per_entry, mut packed, mut frames) = (0usize, 0usize, 0usize);
        let (mut pack_start, mut pack_end) = (0u64, 0u64);
        for i in 0..t.len() {
            let (start, end) = (
                t.layout().header_offset(i).unwrap(),
                t.layout().end_offset(i).unwrap(),
            );
            let mut a = start;
            while a < end {
                let b = (a + FRAME).min(end);
                per_entry += frame(a, b);
                frames += 1;
                a = b;
            }
            // Packed: small entries share a frame while it stays under 1 MiB.
            if end - pack_start > FRAME && pack_end > pack_start {
                packed += frame(pack_start, pack_end);
                pack_start = pack_end;
            }
            if end - pack_start > FRAME {
                let mut a = pack_start;
                while end - a > FRAME {
                    packed += frame(a, a + FRAME);
                    a += FRAME;
                }
                pack_start = a;
            }
            pack_end = end;
        }
        if pack_end > pack_start {
            packed += frame(pack_start, pack_end);
        }
        let trailer = frame(tar.len() as u64 - 1024, tar.len() as u64);
        let seek_table = 8 + 8 * (frames + 1) + 9;
        let per_entry = per_entry + trailer + seek_table;
        let packed = packed + trailer;
        println!(
            "{d}: {} entries, tar {} B; zstd -3 whole {whole} B; frame per entry {per_entry} B \
             ({frames} frames, {:+.1}%); packed frames {packed} B ({:+.1}%)",
            t.len(),
            tar.len(),
            100.0 * (per_entry as f64 / whole as f64 - 1.0),
            100.0 * (packed as f64 / whole as f64 - 1.0),
        );
    }
}

/// Compares libzstd settings on one TAR (not a check: `TARTAPE_MEASURE_TAR=FILE cargo test
/// --release --test compressed_write zstd_settings -- --ignored --nocapture`).
#[test]
#[ignore]
fn measure_zstd_settings_on_a_tar() {
    use zstd::zstd_safe::{CCtx, CParameter, InBuffer, OutBuffer};
    let Ok(path) = std::env::var("TARTAPE_MEASURE_TAR") else {
        return;
    };
    let tar = std::fs::read(path).unwrap();
    let stream = |workers: u32, checksum: bool, piece: usize| {
        let mut c = CCtx::create();
        c.set_parameter(CParameter::CompressionLevel(3)).unwrap();
        c.set_parameter(CParameter::ChecksumFlag(checksum)).unwrap();
        c.set_parameter(CParameter::NbWorkers(workers)).unwrap();
        let mut out: Vec<u8> = Vec::new();
        let op = zstd::zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_continue;
        for p in tar.chunks(piece) {
            let mut input = InBuffer::around(p);
            while input.pos() < p.len() {
                out.reserve(1 << 20);
                let at = out.len();
                let mut o = OutBuffer::around_pos(&mut out, at);
                c.compress_stream2(&mut o, &mut input, op).unwrap();
            }
        }
        let end = zstd::zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_end;
        let mut input = InBuffer::around(&[]);
        loop {
            out.reserve(1 << 20);
            let at = out.len();
            let mut o = OutBuffer::around_pos(&mut out, at);
            if c.compress_stream2(&mut o, &mut input, end).unwrap() == 0 {
                break;
            }
        }
        out.len()
    };
    println!(
        "bulk, single thread: {}",
        zstd::bulk::compress(&tar, 3).unwrap().len()
    );
    for (w, ck, piece) in [
        (0, true, 128 << 10),
        (1, true, 128 << 10),
        (1, false, 128 << 10),
        (1, true, 16 << 20),
        (2, true, 1 << 30),
    ] {
        println!(
            "workers {w}, checksum {ck}, pieces of {piece}: {}",
            stream(w, ck, piece)
        );
    }
}
