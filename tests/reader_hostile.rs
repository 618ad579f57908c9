//! Hostile input: truncations and bit flips of every corpus archive, crafted huge sizes, counts
//! and pax lengths, a zip bomb, zip-slip names, encrypted members. Nothing may panic, hang or
//! allocate without bound; errors are `Corrupt`, `Limit` or `Unsupported`.

#[path = "support/reader_build.rs"]
mod build;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use build::*;
use tartape::reader::{Archive, Limits};
use tartape::Error;

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora");

/// Opens `bytes` and reads every member (up to 4 MiB each): must not panic; returns the open error.
fn exercise(bytes: Vec<u8>) -> Result<usize, Error> {
    let result = std::panic::catch_unwind(move || -> Result<usize, Error> {
        let archive = Archive::from_bytes(bytes)?;
        let mut buf = vec![0u8; 1 << 16];
        for i in 0..archive.entries().len() {
            if let Ok(mut m) = archive.open_member(i) {
                let mut total = 0usize;
                while total < 4 << 20 {
                    match m.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
            }
            let _ = archive.read_member_at(i, 0, &mut buf);
        }
        Ok(archive.entries().len())
    });
    result.expect("the reader panicked")
}

fn corpus_files() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(CORPORA).to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.metadata().map(|m| m.len() <= 256 << 10).unwrap_or(false)
                && !p
                    .extension()
                    .is_some_and(|x| x == "md" || x == "jsonl" || x == "tsv")
            {
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        println!("note: {CORPORA} is missing; corpus-based hostile tests skipped");
    }
    out.sort();
    out
}

#[test]
fn truncated_corpus_archives_never_panic_and_fail_cleanly() {
    let start = Instant::now();
    for path in corpus_files() {
        let data = std::fs::read(&path).unwrap();
        let len = data.len();
        let mut cuts: Vec<usize> = (1..24).map(|i| len * i / 24).collect();
        cuts.extend([
            1,
            21,
            22,
            511,
            512,
            513,
            len.saturating_sub(1),
            len.saturating_sub(22),
        ]);
        for cut in cuts {
            if cut < len {
                let _ = exercise(data[..cut].to_vec());
            }
        }
    }
    assert!(start.elapsed() < Duration::from_secs(240));
}

#[test]
fn bit_flipped_corpus_archives_never_panic() {
    for path in corpus_files() {
        let data = std::fs::read(&path).unwrap();
        let mut seed = data.len() as u64 | 1;
        for _ in 0..24 {
            let mut copy = data.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % copy.len() as u64) as usize;
                copy[at] ^= 1 << (seed >> 60 & 7);
            }
            let _ = exercise(copy);
        }
    }
}

#[test]
fn a_truncated_tar_member_is_corrupt_with_its_offset() {
    let t = tar(&[(tar_header(b"a", 1000, b'0'), &[7u8; 1000])]);
    match Archive::from_bytes(t[..700].to_vec()) {
        Err(Error::Corrupt { detail, .. }) => assert!(detail.contains("offset 0"), "{detail}"),
        other => panic!("{other:?}"),
    }
    match Archive::from_bytes(t[..300].to_vec()) {
        Err(Error::Corrupt { detail, .. }) => assert!(detail.contains("offset 0"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn huge_tar_sizes_are_corrupt_without_allocating() {
    let mut h = tar_header(b"big", 0, b'0');
    h[124..136].copy_from_slice(&[
        0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    fix_checksum(&mut h);
    assert!(matches!(
        exercise(tar(&[(h, b"")])),
        Err(Error::Corrupt { .. })
    ));
    let mut neg = tar_header(b"neg", 0, b'0');
    neg[124..136].copy_from_slice(&[0xff; 12]);
    fix_checksum(&mut neg);
    assert!(matches!(
        exercise(tar(&[(neg, b"")])),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn huge_pax_and_long_names_hit_limits() {
    let mut h = tar_header(b"././@PaxHeader", 0, b'x');
    h[124..136].copy_from_slice(b"77777777777\0");
    fix_checksum(&mut h);
    assert!(matches!(exercise(tar(&[(h, b"")])), Err(Error::Limit(_))));
    let mut l = tar_header(b"././@LongLink", 0, b'L');
    l[124..136].copy_from_slice(b"00000400000\0");
    fix_checksum(&mut l);
    assert!(matches!(exercise(tar(&[(l, b"")])), Err(Error::Limit(_))));
    // A record whose length points past the header.
    let rec = b"99999999 path=x\n";
    let x = tar_header(b"pax", rec.len() as u64, b'x');
    let f = tar_header(b"f", 0, b'0');
    assert!(matches!(
        exercise(tar(&[(x, rec), (f, b"")])),
        Err(Error::Corrupt { .. })
    ));
    // A valid pax path, size and mtime are applied.
    let mut recs = pax_record("path", "long/name/from/pax");
    recs.extend(pax_record("mtime", "-1.5"));
    recs.extend(pax_record("size", "3"));
    let x = tar_header(b"pax", recs.len() as u64, b'x');
    let a = Archive::from_bytes(tar(&[(x, &recs), (tar_header(b"f", 0, b'0'), b"abc")])).unwrap();
    let e = &a.entries()[0];
    assert_eq!(
        (e.name.as_slice(), e.mtime, e.size),
        (&b"long/name/from/pax"[..], -2, 3)
    );
}

#[test]
fn entry_count_and_listing_limits_apply() {
    let members: Vec<_> = (0..5)
        .map(|i| (tar_header(format!("f{i}").as_bytes(), 0, b'0'), &b""[..]))
        .collect();
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    assert!(matches!(
        Archive::from_bytes_with_limits(tar(&members), limits),
        Err(Error::Limit(_))
    ));
}

#[test]
fn zip_with_a_huge_central_directory_is_corrupt_before_allocating() {
    let mut z = zip(&[member(b"a", b"hello", 0)]);
    let n = z.len();
    z[n - 10..n - 6].copy_from_slice(&0xfff0_0000u32.to_le_bytes()); // cd size
    assert!(matches!(exercise(z), Err(Error::Corrupt { .. })));
    let mut z = zip(&[member(b"a", b"hello", 0)]);
    let n = z.len();
    z[n - 12..n - 10].copy_from_slice(&0xffffu16.to_le_bytes()); // entry count
    assert_eq!(exercise(z).unwrap(), 1);
}

#[test]
fn zip_bomb_ratio_is_a_limit() {
    let zeros = vec![0u8; 8 << 20];
    let a = Archive::from_bytes(zip(&[member(b"bomb", &zeros, 8)])).unwrap();
    assert!(a.entries()[0].size / a.entries()[0].compressed_size >= 1000);
    assert!(matches!(a.open_member(0), Err(Error::Limit(_))));
    let small = vec![0u8; 1 << 16];
    let strict = Limits {
        max_inflation_ratio: 10,
        ..Limits::default()
    };
    let a = Archive::from_bytes_with_limits(zip(&[member(b"z", &small, 8)]), strict).unwrap();
    assert!(matches!(a.open_member(0), Err(Error::Limit(_))));
    let capped = Limits {
        max_inflated_size: 1000,
        ..Limits::default()
    };
    let a = Archive::from_bytes_with_limits(zip(&[member(b"z", &small, 8)]), capped).unwrap();
    assert!(matches!(a.open_member(0), Err(Error::Limit(_))));
}

#[test]
fn zip_slip_names_are_flagged_unsafe() {
    let names: [&[u8]; 6] = [
        b"../evil",
        b"/etc/passwd",
        b"a/../../b",
        b"ok/name",
        b"C:\\x",
        b"..\\x",
    ];
    let members: Vec<_> = names.iter().map(|n| member(n, b"x", 0)).collect();
    let a = Archive::from_bytes(zip(&members)).unwrap();
    let flags: Vec<bool> = a.entries().iter().map(|e| e.unsafe_name).collect();
    assert_eq!(flags, [true, true, true, false, true, true]);
    let t = tar(&[
        (tar_header(b"../up", 0, b'0'), b""),
        (tar_header(b"fine", 0, b'0'), b""),
    ]);
    let a = Archive::from_bytes(t).unwrap();
    assert!(a.entries()[0].unsafe_name && !a.entries()[1].unsafe_name);
}

#[test]
fn encrypted_members_are_listed_and_unsupported() {
    let mut m = member(b"secret", b"data", 0);
    m.flags = 1;
    let a = Archive::from_bytes(zip(&[m])).unwrap();
    assert!(a.entries()[0].encrypted);
    assert!(matches!(a.open_member(0), Err(Error::Unsupported(_))));
    assert!(matches!(
        a.read_member_at(0, 0, &mut [0; 4]),
        Err(Error::Unsupported(_))
    ));
    let path = Path::new(CORPORA).join("libarchive/test_encrypted.zip");
    if path.exists() {
        let a = Archive::open(&path).unwrap();
        let i = a.find(b"encrypted/file.txt").unwrap();
        assert!(matches!(a.open_member(i), Err(Error::Unsupported(_))));
    }
}

#[test]
fn bad_crc_is_corrupt_and_downcasts_from_io_error() {
    let mut z = zip(&[member(b"a", b"hello world", 8)]);
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    z[cd + 16] ^= 0xff;
    let a = Archive::from_bytes(z).unwrap();
    let mut m = a.open_member(0).unwrap();
    let mut out = Vec::new();
    let err = m.read_to_end(&mut out).unwrap_err();
    let inner = err.into_inner().unwrap().downcast::<Error>().unwrap();
    assert!(matches!(*inner, Error::Corrupt { .. }), "{inner}");
}

#[test]
fn deflated_members_seek_by_reinflating_and_refuse_random_access() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let a = Archive::from_bytes(zip(&[member(b"d", &data, 8), member(b"s", &data, 0)])).unwrap();
    assert!(matches!(
        a.read_member_at(0, 0, &mut [0; 8]),
        Err(Error::NotRandomAccess(_))
    ));
    let mut buf = [0u8; 100];
    assert_eq!(a.read_member_at(1, 150_000, &mut buf).unwrap(), 100);
    assert_eq!(&buf[..], &data[150_000..150_100]);
    use std::io::{Seek, SeekFrom};
    let mut m = a.open_member(0).unwrap();
    m.seek(SeekFrom::Start(150_000)).unwrap();
    m.read_exact(&mut buf).unwrap();
    assert_eq!(&buf[..], &data[150_000..150_100]);
    m.seek(SeekFrom::Start(10)).unwrap();
    m.read_exact(&mut buf).unwrap();
    assert_eq!(&buf[..], &data[10..110]);
    assert_eq!(m.stream_position().unwrap(), 110);
    m.seek(SeekFrom::End(-5)).unwrap();
    let mut tail = Vec::new();
    m.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, &data[data.len() - 5..]);
}

#[test]
fn members_read_concurrently_from_several_threads_agree() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    let a = Archive::from_bytes(zip(&[member(b"d", &data, 8), member(b"s", &data, 0)])).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (a, data) = (&a, &data);
            s.spawn(move || {
                let mut out = Vec::new();
                a.open_member(t % 2).unwrap().read_to_end(&mut out).unwrap();
                assert_eq!(&out, data);
                let mut buf = [0u8; 64];
                a.read_member_at(1, 1000 * t as u64, &mut buf).unwrap();
                assert_eq!(&buf[..], &data[1000 * t..1000 * t + 64]);
            });
        }
    });
}
