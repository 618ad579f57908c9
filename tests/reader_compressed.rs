//! Compressed TAR archives (.tar.gz, .tar.zst, .tar.xz, .tar.bz2), compressed here with the
//! system's gzip, zstd, xz and bzip2, are detected by their magic bytes and list and read exactly
//! as the plain TAR does, from a file and from memory; a gzip archive is read from checkpoints
//! (one member far in does not decode everything before it); truncated or corrupted compressed
//! input is `Corrupt`, and the decompression limits stop bombs with `Limit`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use tartape::reader::{Archive, Compression, Limits, TarStream};
use tartape::Error;

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora");

/// The compressions and the commands that write them to standard output.
const TOOLS: &[(Compression, &[&str])] = &[
    (Compression::Gzip, &["gzip", "-c", "-n"]),
    (Compression::Zstd, &["zstd", "-q", "-c"]),
    (Compression::Xz, &["xz", "-c", "-T1"]),
    (Compression::Bzip2, &["bzip2", "-c"]),
];

fn compress(cmd: &[&str], plain: &[u8]) -> Vec<u8> {
    let out = run_with_input(Command::new(cmd[0]).args(&cmd[1..]), plain);
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every member's first 64 MiB (sparse corpus members expand to gigabytes) as an MD5, with the
/// member's length, or the error reading it gives.
fn contents(a: &Archive) -> Vec<Result<(u64, [u8; 16]), String>> {
    use md5::{Digest, Md5};
    (0..a.entries().len())
        .map(|i| {
            let mut m = a.open_member(i).map_err(|e| e.to_string())?;
            let (mut h, mut buf, mut done) = (Md5::new(), vec![0; 1 << 16], 0u64);
            while done < 64 << 20 {
                match m.read(&mut buf).map_err(|e| e.to_string())? {
                    0 => break,
                    n => {
                        h.update(&buf[..n]);
                        done += n as u64;
                    }
                }
            }
            Ok((m.len(), h.finalize().into()))
        })
        .collect()
}

/// Every member's whole content.
fn whole(a: &Archive) -> Vec<Vec<u8>> {
    (0..a.entries().len())
        .map(|i| {
            let mut v = Vec::new();
            a.open_member(i).unwrap().read_to_end(&mut v).unwrap();
            v
        })
        .collect()
}

fn corpus_tars() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(CORPORA)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tar") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_tar_compressed_lists_and_reads_as_the_plain_one() {
    let tars = corpus_tars();
    if tars.is_empty() {
        println!("note: {CORPORA} is missing; skipped");
        return;
    }
    let dir = TempDir::new("ccorp");
    let mut compared = 0;
    for tar in &tars {
        let plain = std::fs::read(tar).unwrap();
        let want = Archive::from_bytes(plain.clone());
        for (kind, cmd) in TOOLS {
            let packed = compress(cmd, &plain);
            let file = dir.join(format!("x.{}", kind.name()));
            std::fs::write(&file, &packed).unwrap();
            for got in [Archive::from_bytes(packed.clone()), Archive::open(&file)] {
                let what = format!("{} {}", tar.display(), kind.name());
                match (&want, got) {
                    (Ok(w), Ok(g)) => {
                        assert_eq!(g.compression(), *kind, "{what}");
                        assert_eq!(w.entries(), g.entries(), "{what}");
                        assert_eq!(contents(w), contents(&g), "{what}");
                        for i in 0..w.entries().len() {
                            let mut a = vec![0; 700];
                            let mut b = vec![0; 700];
                            let na = w.read_member_at(i, 100, &mut a).map_err(|e| e.to_string());
                            let nb = g.read_member_at(i, 100, &mut b).map_err(|e| e.to_string());
                            assert_eq!(na, nb, "{what} read_member_at {i}");
                            assert_eq!(a, b, "{what} read_member_at {i}");
                        }
                        compared += 1;
                    }
                    (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string(), "{what}"),
                    (w, g) => panic!(
                        "{what}: plain {:?}, compressed {:?}",
                        w.as_ref().err(),
                        g.err()
                    ),
                }
            }
        }
    }
    assert!(compared > 40, "only {compared} archives compared");
}

/// A TAR (built by GNU tar) of `n` files of `size` compressible bytes each, and its bytes.
fn text_tar(dir: &Path, n: usize, size: usize) -> Vec<u8> {
    let tree = dir.join("tree");
    let mut rng = Rng::new(11);
    let words = [
        "alpha ",
        "beta ",
        "gamma ",
        "delta ",
        "epsilon\n",
        "zeta ",
        "eta ",
    ];
    for i in 0..n {
        let mut data = Vec::with_capacity(size);
        while data.len() < size {
            data.extend_from_slice(words[rng.below(words.len() as u64) as usize].as_bytes());
            if rng.below(9) == 0 {
                data.extend_from_slice(format!("{} ", rng.next_u64()).as_bytes());
            }
        }
        data.truncate(size);
        write(&tree.join(format!("f{i:03}.txt")), &data);
    }
    let tar = dir.join("plain.tar");
    run_ok(
        Command::new("tar")
            .arg("cf")
            .arg(&tar)
            .arg("--sort=name")
            .arg("-C")
            .arg(dir)
            .arg("tree"),
    );
    std::fs::read(tar).unwrap()
}

#[test]
fn gzip_checkpoints_read_a_far_member_without_decoding_from_the_start() {
    let dir = TempDir::new("cgzidx");
    let plain = text_tar(dir.path(), 24, 1 << 20);
    let packed = compress(&["gzip", "-c", "-1", "-n"], &plain);
    let reference = Archive::from_bytes(plain).unwrap();
    let a = Archive::from_bytes(packed).unwrap();
    assert_eq!(a.compression(), Compression::Gzip);
    // 24 MiB in one gzip member: a deflate checkpoint every 4 MiB.
    assert!(a.restart_points() >= 5, "{} points", a.restart_points());
    assert_eq!(a.entries(), reference.entries());
    let want = whole(&reference);
    // Backwards, then from several threads at once: every read starts at a checkpoint or a kept
    // cursor, and gives the same bytes.
    for i in (0..a.entries().len()).rev() {
        let mut m = a.open_member(i).unwrap();
        let mut v = Vec::new();
        m.read_to_end(&mut v).unwrap();
        assert_eq!(v, want[i], "member {i}");
    }
    let a = Arc::new(a);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let a = a.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(t);
                let mut out = Vec::new();
                for _ in 0..20 {
                    let i = rng.below(a.entries().len() as u64) as usize;
                    let off = rng.below(1 << 20);
                    let mut buf = vec![0; 5000];
                    let n = a.read_member_at(i, off, &mut buf).unwrap();
                    buf.truncate(n);
                    out.push((i, off, buf));
                }
                out
            })
        })
        .collect();
    for t in threads {
        for (i, off, buf) in t.join().unwrap() {
            let w = &want[i];
            let end = (off as usize + 5000).min(w.len());
            assert_eq!(buf, &w[(off as usize).min(end)..end], "member {i} at {off}");
        }
    }
}

#[test]
fn gzip_members_and_zstd_frames_are_restart_points() {
    let dir = TempDir::new("cframes");
    let plain = text_tar(dir.path(), 8, 700 << 10);
    let reference = Archive::from_bytes(plain.clone()).unwrap();
    for (kind, cmd) in [
        (Compression::Gzip, &["gzip", "-c", "-n"][..]),
        (Compression::Zstd, &["zstd", "-q", "-c"][..]),
    ] {
        // 1 MiB pieces compressed on their own and concatenated (as BGZF, pigz -i or zstd's
        // seekable format do): each piece starts a member or frame.
        let mut packed = Vec::new();
        for piece in plain.chunks(1 << 20) {
            packed.extend(compress(cmd, piece));
        }
        let a = Archive::from_bytes(packed).unwrap();
        assert_eq!(a.compression(), kind);
        assert!(
            a.restart_points() > plain.len() >> 20,
            "{kind:?}: {} points",
            a.restart_points()
        );
        assert_eq!(a.entries(), reference.entries());
        assert_eq!(contents(&a), contents(&reference), "{kind:?}");
        // Backwards: each read starts at the member or frame before it.
        let want = whole(&reference);
        for i in (0..want.len()).rev() {
            let mut v = Vec::new();
            a.open_member(i).unwrap().read_to_end(&mut v).unwrap();
            assert_eq!(v, want[i], "{kind:?} member {i}");
        }
    }
}

#[test]
fn a_saved_index_reopens_the_archive_without_decoding_and_refuses_another() {
    let dir = TempDir::new("csaved");
    let plain = text_tar(dir.path(), 12, 1 << 20);
    let reference = Archive::from_bytes(plain.clone()).unwrap();
    let want = whole(&reference);
    let single = compress(&["gzip", "-c", "-1", "-n"], &plain);
    let mut frames = Vec::new();
    for piece in plain.chunks(1 << 20) {
        frames.extend(compress(&["zstd", "-q", "-c"], piece));
    }
    for (kind, packed) in [(Compression::Gzip, single), (Compression::Zstd, frames)] {
        let file = dir.join(format!("a.tar.{}", kind.name()));
        std::fs::write(&file, &packed).unwrap();
        let first = Archive::open(&file).unwrap();
        let index = dir.join(format!("a.{}.idx", kind.name()));
        first.save_index(&index).unwrap();
        let bytes = std::fs::read(&index).unwrap();
        assert_eq!(bytes, first.index_bytes().unwrap());
        let again = Archive::open_with_index(&file, &bytes, Limits::default()).unwrap();
        assert_eq!(again.compression(), kind);
        assert_eq!(again.restart_points(), first.restart_points());
        assert_eq!(again.entries(), reference.entries(), "{kind:?}");
        for i in (0..want.len()).rev() {
            let mut v = Vec::new();
            again.open_member(i).unwrap().read_to_end(&mut v).unwrap();
            assert_eq!(v, want[i], "{kind:?} member {i}");
        }
        // Another archive of the same length, a damaged index, an archive without compression.
        let mut other = packed.clone();
        let at = other.len() / 2;
        other[at] ^= 0x40;
        let other_file = dir.join("other");
        std::fs::write(&other_file, &other).unwrap();
        match Archive::open_with_index(&other_file, &bytes, Limits::default()) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("not this archive's"), "{m}"),
            r => panic!(
                "{kind:?}: stale index gave {:?}",
                r.map(|a| a.entries().len())
            ),
        }
        let mut damaged = bytes.clone();
        damaged[50] ^= 1;
        assert!(matches!(
            Archive::open_with_index(&file, &damaged, Limits::default()),
            Err(Error::Corrupt { .. })
        ));
        let plain_file = dir.join("plain.tar");
        assert!(matches!(
            Archive::open_with_index(&plain_file, &bytes, Limits::default()),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            Archive::open(&plain_file).unwrap().index_bytes(),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn truncated_and_corrupted_compressed_input_is_corrupt() {
    let dir = TempDir::new("ctrunc");
    let plain = text_tar(dir.path(), 3, 20_000);
    let reference = Archive::from_bytes(plain.clone()).unwrap();
    let want = contents(&reference);
    for (kind, cmd) in TOOLS {
        let packed = compress(cmd, &plain);
        let step = (packed.len() / 150).max(1);
        for len in (1..packed.len())
            .step_by(step)
            .chain(packed.len() - 8..packed.len())
        {
            match Archive::from_bytes(packed[..len].to_vec()) {
                Err(Error::Corrupt { .. }) => {}
                other => panic!(
                    "{kind:?} cut at {len}: {:?}",
                    other.map(|a| a.entries().len())
                ),
            }
        }
        let mut rng = Rng::new(5);
        for _ in 0..150 {
            let mut bad = packed.clone();
            let at = rng.below(bad.len() as u64) as usize;
            bad[at] ^= 1 << rng.below(8);
            match Archive::from_bytes(bad) {
                // A flip in a field that does not reach the content (a gzip header's time...).
                Ok(a) => {
                    assert_eq!(a.entries(), reference.entries(), "{kind:?} flip at {at}");
                    assert_eq!(contents(&a), want, "{kind:?} flip at {at}");
                }
                Err(Error::Corrupt { .. } | Error::Limit(_)) => {}
                Err(e) => panic!("{kind:?} flip at {at}: {e}"),
            }
        }
    }
}

#[test]
fn decompression_limits_stop_bombs_with_a_clear_error() {
    let dir = TempDir::new("cbomb");
    write(&dir.join("tree/zeros"), &vec![0u8; 8 << 20]);
    run_ok(
        Command::new("tar")
            .arg("cf")
            .arg(dir.join("z.tar"))
            .arg("-C")
            .arg(dir.path())
            .arg("tree"),
    );
    let plain = std::fs::read(dir.join("z.tar")).unwrap();
    let limit_msg = |r: tartape::Result<Archive>| match r {
        Err(Error::Limit(m)) => m,
        other => panic!("expected Limit, got {:?}", other.map(|a| a.entries().len())),
    };
    for (kind, cmd) in TOOLS {
        let packed = compress(cmd, &plain);
        let ratio = Limits {
            max_inflation_ratio: 50,
            ..Limits::default()
        };
        let m = limit_msg(Archive::from_bytes_with_limits(packed.clone(), ratio));
        assert!(m.contains("max_inflation_ratio"), "{kind:?}: {m}");
        let size = Limits {
            max_inflated_size: 4 << 20,
            max_inflation_ratio: u64::MAX,
            ..Limits::default()
        };
        let m = limit_msg(Archive::from_bytes_with_limits(packed.clone(), size));
        assert!(m.contains("max_inflated_size"), "{kind:?}: {m}");
        let loose = Limits {
            max_inflation_ratio: u64::MAX,
            ..Limits::default()
        };
        let a = Archive::from_bytes_with_limits(packed, loose).unwrap();
        assert_eq!(a.entries()[1].size, 8 << 20, "{kind:?}");
    }
    // Decoder memory: a zstd frame with a 128 MiB window, an xz stream with a 64 MiB dictionary.
    let small_dir = TempDir::new("cbomb-small");
    let small_tar = text_tar(small_dir.path(), 2, 10_000);
    let small = Limits {
        max_decoder_memory: 1 << 20,
        ..Limits::default()
    };
    for cmd in [
        &["zstd", "-q", "-c", "--long=27"][..],
        &["xz", "-c", "-9", "-T1"][..],
    ] {
        let packed = compress(cmd, &small_tar);
        let m = limit_msg(Archive::from_bytes_with_limits(
            packed.clone(),
            small.clone(),
        ));
        assert!(m.contains("max_decoder_memory"), "{cmd:?}: {m}");
        Archive::from_bytes(packed).unwrap();
    }
}

/// A reader that gives at most `step` bytes per call, as a pipe may.
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

/// Every member of a `TarStream` (name, content) to its end, or the first error.
fn streamed(
    data: Vec<u8>,
    step: usize,
    limits: Limits,
) -> tartape::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut s = TarStream::with_limits(Trickle { data, at: 0, step }, limits)?;
    let mut out = Vec::new();
    while let Some(e) = s.next_entry()? {
        let name = e.name.clone();
        let mut content = Vec::new();
        let mut buf = [0u8; 5000];
        loop {
            match s.read_data(&mut buf)? {
                0 => break,
                n => content.extend_from_slice(&buf[..n]),
            }
        }
        out.push((name, content));
    }
    Ok(out)
}

#[test]
fn a_compressed_tar_on_a_pipe_is_decoded_as_it_is_read() {
    let dir = TempDir::new("cpipe");
    let plain = text_tar(dir.path(), 6, 300_000);
    let reference = Archive::from_bytes(plain.clone()).unwrap();
    let want: Vec<(Vec<u8>, Vec<u8>)> = reference
        .entries()
        .iter()
        .zip(whole(&reference))
        .map(|(e, c)| (e.name.clone(), c))
        .collect();
    assert_eq!(
        streamed(plain.clone(), 4096, Limits::default()).unwrap(),
        want
    );
    for (kind, cmd) in TOOLS {
        let packed = compress(cmd, &plain);
        for step in [1 << 20, 4093, 1] {
            let got = streamed(packed.clone(), step, Limits::default());
            assert_eq!(got.unwrap(), want, "{kind:?} in reads of {step}");
        }
        let s = TarStream::new(std::io::Cursor::new(packed.clone())).unwrap();
        assert_eq!(s.compression(), *kind);
        // Cut anywhere: Corrupt, never a shorter archive taken for whole.
        for len in [1, 10, packed.len() / 3, packed.len() / 2, packed.len() - 5] {
            match streamed(packed[..len].to_vec(), 4096, Limits::default()) {
                Err(Error::Corrupt { .. }) => {}
                other => panic!("{kind:?} cut at {len}: {:?}", other.map(|v| v.len())),
            }
        }
        // The inflation limits hold on a stream too.
        let ratio = Limits {
            max_inflated_size: 1 << 20,
            ..Limits::default()
        };
        match streamed(packed, 4096, ratio) {
            Err(Error::Limit(m)) => assert!(m.contains("max_inflated_size"), "{kind:?}: {m}"),
            other => panic!("{kind:?}: expected Limit, got {:?}", other.map(|v| v.len())),
        }
    }
    // Concatenated gzip members (as tartape's own -z writes) read as one stream.
    let mut two = compress(&["gzip", "-c", "-n"], &plain[..512 * 300]);
    two.extend(compress(&["gzip", "-c", "-n"], &plain[512 * 300..]));
    assert_eq!(streamed(two, 777, Limits::default()).unwrap(), want);
}

/// Measures what the checkpoints save (not a check: run with `--ignored --nocapture`):
/// a 1 GiB TAR of text in one gzip member, opened, then its last member read.
#[test]
#[ignore]
fn measure_reading_the_last_member_of_a_large_tar_gz() {
    use std::time::Instant;
    let dir = TempDir::new("cmeasure");
    let (files, size) = (256usize, 4usize << 20);
    let mut rng = Rng::new(3);
    let words = [
        "alpha ",
        "beta ",
        "gamma ",
        "delta ",
        "epsilon\n",
        "zeta ",
        "eta ",
    ];
    let mut data = Vec::with_capacity(size + 64);
    while data.len() < size {
        data.extend_from_slice(words[rng.below(words.len() as u64) as usize].as_bytes());
        if rng.below(5) == 0 {
            data.extend_from_slice(format!("{} ", rng.next_u64()).as_bytes());
        }
    }
    data.truncate(size);
    let mut plain = Vec::with_capacity(files * (size + 512) + 1024);
    for i in 0..files {
        let mut h = [0u8; 512];
        let name = format!("big/f{i:04}.txt");
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = b'0';
        h[257..265].copy_from_slice(b"ustar\x0000");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        plain.extend_from_slice(&h);
        data[0] = b'a' + (i % 26) as u8;
        plain.extend_from_slice(&data);
    }
    plain.extend_from_slice(&[0; 1024]);
    let t = Instant::now();
    let packed = compress(&["gzip", "-c", "-6", "-n"], &plain);
    println!(
        "tar {} MiB, gzip -6 {} MiB in {:.1} s",
        plain.len() >> 20,
        packed.len() >> 20,
        t.elapsed().as_secs_f64()
    );
    let file = dir.join("big.tar.gz");
    std::fs::write(&file, &packed).unwrap();
    let t = Instant::now();
    run_ok(
        Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -dc {} > /dev/null", file.display())),
    );
    println!("gzip -dc: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let a = Archive::open(&file).unwrap();
    println!(
        "open (decode once, index, list): {:.2} s, {} restart points",
        t.elapsed().as_secs_f64(),
        a.restart_points()
    );
    let index = dir.join("big.tar.gz.idx");
    a.save_index(&index).unwrap();
    let saved = std::fs::read(&index).unwrap();
    let t = Instant::now();
    let b = Archive::open_with_index(&file, &saved, Limits::default()).unwrap();
    println!(
        "open with the saved index ({} KiB): {:.2} s",
        saved.len() >> 10,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(b.entries(), a.entries());
    let last = a.entries().len() - 1;
    let t = Instant::now();
    let mut m = a.open_member(last).unwrap();
    let mut v = Vec::new();
    m.read_to_end(&mut v).unwrap();
    println!(
        "read the last member ({} MiB) after opening: {:.3} s",
        v.len() >> 20,
        t.elapsed().as_secs_f64()
    );
    let mut buf = vec![0u8; 64 << 10];
    let t = Instant::now();
    for k in 0..20u64 {
        let i = (k * 37 % files as u64) as usize;
        a.read_member_at(i, (k * 1_000_003) % size as u64, &mut buf)
            .unwrap();
    }
    println!(
        "read_member_at of 64 KiB at 20 scattered places: {:.1} ms each",
        t.elapsed().as_secs_f64() * 1000.0 / 20.0
    );
}
