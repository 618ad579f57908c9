//! zip64 records appear exactly when needed: a member over 4 GiB (a sparse file, never streamed
//! through the readers: the archive is rebuilt with read_at around its content) and more than
//! 65,535 entries.

mod zipkit;

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use tartape::{Format, TapeBuilder};
use zipkit::*;

const BIG: u64 = 4 * (1 << 30) + (1 << 29); // 4.5 GiB

#[test]
fn a_sparse_member_over_4_gib_gets_zip64_sizes_and_offsets() {
    let root = scratch("zip64-big");
    let dir = root.join("data");
    fs::create_dir_all(&dir).unwrap();
    fs::File::create(dir.join("a-big.sparse"))
        .unwrap()
        .set_len(BIG)
        .unwrap();
    fs::write(dir.join("b.txt"), b"after the big one\n").unwrap();
    let mut b = TapeBuilder::new();
    b.set_format(Format::Zip);
    b.add_path(&dir, None).unwrap();
    let tape = Arc::new(b.seal().unwrap());
    let big = tape.slot(1).unwrap();
    let small = tape.slot(2).unwrap();
    assert_eq!(big.entry.size, BIG);
    assert_eq!(
        big.end_offset() - big.content_end(),
        24,
        "a zip64 descriptor"
    );
    assert!(small.header_offset > u32::MAX as u64);

    // The archive as a sparse file: every byte but the big member's content (zeros = a hole).
    let image = root.join("big.zip");
    let mut f = fs::File::create(&image).unwrap();
    f.set_len(tape.total_size()).unwrap();
    let started = Instant::now();
    for (from, to) in [
        (0, big.data_offset()),
        (big.content_end(), tape.total_size()),
    ] {
        let mut buf = vec![0u8; (to - from) as usize];
        assert_eq!(tape.read_at(from, &mut buf).unwrap(), buf.len());
        f.seek(SeekFrom::Start(from)).unwrap();
        f.write_all(&buf).unwrap();
    }
    eprintln!(
        "CRC-32 of a 4.5 GiB member computed on demand (with the rest): {:?}",
        started.elapsed()
    );
    drop(f);
    let mut local = [0u8; 8];
    tape.read_at(big.header_offset, &mut local).unwrap();
    assert_eq!(&local[..4], b"PK\x03\x04");
    assert_eq!(
        u16::from_le_bytes([local[4], local[5]]),
        45,
        "version needed"
    );
    let mut desc = [0u8; 24];
    tape.read_at(big.content_end(), &mut desc).unwrap();
    assert_eq!(&desc[..4], b"PK\x07\x08");
    assert_eq!(u64::from_le_bytes(desc[16..24].try_into().unwrap()), BIG);

    let py = r#"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
i = {x.filename: x for x in z.infolist()}
big, small = i["data/a-big.sparse"], i["data/b.txt"]
assert big.file_size == big.compress_size == 4 * 2**30 + 2**29, big
assert small.header_offset > 2**32, small.header_offset
assert z.read("data/b.txt") == b"after the big one\n"
print(len(z.infolist()), big.CRC, small.header_offset)
"#;
    let out = run(Command::new("python3").args(["-c", py]).arg(&image));
    assert!(out.starts_with("3 "), "{out}");
    let out = run(Command::new("unzip").arg("-l").arg(&image));
    assert!(out.contains(&BIG.to_string()), "{out}");
    let prog = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/zipgo");
    let out = run(Command::new("go")
        .args(["run", ".", "-only", "data/b.txt"])
        .arg(&image)
        .current_dir(&prog));
    assert!(out.contains("data/a-big.sparse|33188|"), "{out}");
    assert!(out.contains(&md5_hex(b"after the big one\n")), "{out}");
}

fn many(n: usize) -> Arc<tartape::Tape> {
    let mut b = TapeBuilder::new();
    b.set_format(Format::Zip);
    for i in 0..n {
        b.add_bytes(
            format!("f/{i:05}").as_bytes(),
            format!("{i}\n").into_bytes(),
            0o644,
            1_600_000_000,
        )
        .unwrap();
    }
    Arc::new(b.seal().unwrap())
}

fn end_records(tape: &tartape::Tape) -> Vec<u8> {
    let mut buf = vec![0u8; 98];
    tape.read_at(tape.total_size() - 98, &mut buf).unwrap();
    buf
}

#[test]
fn more_than_65535_entries_get_the_zip64_end_record_and_only_then() {
    let exact = many(65_535);
    let tail = end_records(&exact);
    assert_eq!(&tail[76..80], b"PK\x05\x06");
    assert!(!tail.windows(4).any(|w| w == b"PK\x06\x06"));

    let tape = many(70_000);
    let tail = end_records(&tape);
    assert_eq!(&tail[..4], b"PK\x06\x06");
    assert_eq!(&tail[56..60], b"PK\x06\x07");
    assert_eq!(
        &tail[86..88],
        &[0xFF, 0xFF],
        "entries on this disk: see zip64"
    );
    let root = scratch("zip64-many");
    let zip = root.join("many.zip");
    fs::write(&zip, stream_from(&tape, 0, 1)).unwrap();
    let out = run(Command::new("unzip").arg("-tq").arg(&zip));
    assert!(out.contains("No errors detected"), "{out}");
    let py = r#"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
assert len(names) == 70000 and names[69999] == "f/69999"
assert z.read("f/12345") == b"12345\n"
print("ok")
"#;
    assert_eq!(
        run(Command::new("python3").args(["-c", py]).arg(&zip)),
        "ok\n"
    );
    let out = run(Command::new("7zz").arg("t").arg(&zip));
    assert!(out.contains("Everything is Ok"), "{out}");
}
