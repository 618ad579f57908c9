//! ZIP random access: read_at and resume at any offset (inside local headers, contents, data
//! descriptors and the central directory) equal the full stream, fresh and from a catalog; the
//! bytes never depend on the time zone; deflated tapes are deterministic and refuse random access.

mod zipkit;

use std::process::Command;
use std::sync::Arc;

use tartape::{Error, Format, Tape};
use zipkit::*;

/// Offsets worth checking: every entry's boundaries (±1), inside its descriptor, every central
/// record's start, the end records, and pseudo-random ones.
fn offsets(tape: &Tape) -> Vec<u64> {
    let total = tape.total_size();
    let mut v = vec![
        0,
        1,
        total - 1,
        total - 22,
        total - 21,
        tape.layout().trailer_offset(),
    ];
    for i in 0..tape.len() {
        let s = tape.slot(i).unwrap();
        let c = tape.layout().central_offset(i).unwrap();
        for o in [
            s.header_offset,
            s.data_offset(),
            s.content_end(),
            s.content_end() + 5,
            s.end_offset() - 1,
            c,
            c + 17,
        ] {
            v.extend([o.saturating_sub(1), o, o + 1]);
        }
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(x % total);
    }
    v.retain(|&o| o < total);
    v
}

fn check_random_access(tape: &Arc<Tape>, full: &[u8]) {
    for o in offsets(tape) {
        let mut buf = vec![0u8; 70_000];
        let n = tape.read_at(o, &mut buf).unwrap();
        let want = &full[o as usize..(o as usize + 70_000).min(full.len())];
        assert_eq!(&buf[..n], want, "read_at({o})");
    }
    for o in offsets(tape).into_iter().step_by(7) {
        assert_eq!(
            stream_from(tape, o, 4096),
            &full[o as usize..],
            "stream from {o}"
        );
    }
}

#[test]
fn resume_and_read_at_equal_the_stream_fresh_and_from_a_catalog() {
    let root = scratch("random");
    let dir = tree(&root);
    let tape = Arc::new(builder(&dir, Format::Zip, false).seal().unwrap());
    let full = stream_from(&tape, 0, 4096);
    assert_eq!(full.len() as u64, tape.total_size());
    // A second tape that never streamed: CRCs are computed on demand by read_at and resume.
    let fresh = Arc::new(builder(&dir, Format::Zip, false).seal().unwrap());
    check_random_access(&fresh, &full);
    check_random_access(&tape, &full);

    let catalog = root.join("zip.tartape");
    tape.save(&catalog).unwrap();
    let reopened = Tape::open(&catalog).unwrap();
    assert_eq!(reopened.format(), Format::Zip);
    // The large memory buffer is not in the table: bind it again.
    let i = reopened.layout().locate(b"mem/large.bin").unwrap().unwrap();
    let large: Vec<u8> = (0..100_000u32).map(|i| (i % 13) as u8).collect();
    reopened
        .bind(i, tartape::Source::Bytes(large.into()))
        .unwrap();
    let reopened = Arc::new(reopened);
    assert_eq!(reopened.fingerprint().unwrap(), tape.fingerprint().unwrap());
    check_random_access(&reopened, &full);
}

#[test]
fn recorded_checksums_give_the_same_bytes_without_reading_for_crcs() {
    let root = scratch("recorded");
    let dir = tree(&root);
    let plain = Arc::new(builder(&dir, Format::Zip, false).seal().unwrap());
    let mut b = builder(&dir, Format::Zip, false);
    b.set_checksums(true);
    let recorded = Arc::new(b.seal().unwrap());
    let full = stream_from(&plain, 0, 4096);
    let t = recorded.total_size();
    let mut tail = vec![0u8; (t - recorded.layout().trailer_offset()) as usize];
    recorded
        .read_at(recorded.layout().trailer_offset(), &mut tail)
        .unwrap();
    assert_eq!(&full[full.len() - tail.len()..], &tail[..]);
    assert_eq!(stream_from(&recorded, 0, 4096), full);
}

#[test]
fn push_fed_entries_stream_and_then_their_crc_is_kept() {
    let root = scratch("push");
    let dir = tree(&root);
    let tape = Arc::new(builder(&dir, Format::Zip, true).seal().unwrap());
    let mut buf = [0u8; 64];
    let err = tape.read_at(tape.total_size() - 64, &mut buf).unwrap_err();
    assert!(matches!(err, Error::NotRandomAccess(_)), "{err}");
    let full = stream_from(&tape, 0, 777);
    assert_eq!(full.len() as u64, tape.total_size());
    // Streamed once: the central directory is readable at random.
    let at = tape.layout().trailer_offset();
    let mut cd = vec![0u8; (tape.total_size() - at) as usize];
    tape.read_at(at, &mut cd).unwrap();
    assert_eq!(&full[at as usize..], &cd[..]);
    // Different feeding chunks, same bytes.
    let again = Arc::new(builder(&dir, Format::Zip, true).seal().unwrap());
    assert_eq!(stream_from(&again, 0, 65_536), full);
}

#[test]
fn same_bytes_under_utc_and_tokyo_time_zones() {
    let root = scratch("tz");
    let dir = tree(&root);
    let mut outs = Vec::new();
    for (tz, deflate) in [
        ("UTC", false),
        ("Asia/Tokyo", false),
        ("UTC", true),
        ("Asia/Tokyo", true),
    ] {
        let out = root.join(format!("{}-{deflate}.zip", tz.replace('/', "_")));
        let mut cmd = Command::new(tartape_bin());
        cmd.env("TZ", tz)
            .args(["create", "--format", "zip", "--quiet", "-o"])
            .arg(&out);
        if deflate {
            cmd.arg("--deflate=9");
        }
        run(cmd.arg(&dir));
        outs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[2], outs[3]);
    assert_ne!(outs[0], outs[2]);
    // The library's bytes are the command's.
    let mut b = tartape::TapeBuilder::new();
    b.set_format(Format::Zip);
    b.add_path(&dir, None).unwrap();
    assert_eq!(stream_from(&Arc::new(b.seal().unwrap()), 0, 1), outs[0]);
}

#[test]
fn deflate_is_deterministic_and_refuses_random_access() {
    let root = scratch("deflate");
    let dir = tree(&root);
    let make = |level: u32| {
        let mut b = builder(&dir, Format::Zip, true);
        b.set_deflate(level).unwrap();
        Arc::new(b.seal().unwrap())
    };
    let a = stream_from(&make(6), 0, 1000);
    let b = stream_from(&make(6), 0, 99_999);
    assert_eq!(a, b, "same input and level, whatever the feeding chunks");
    assert_ne!(stream_from(&make(1), 0, 1000), a);
    let tape = make(6);
    let mut buf = [0u8; 16];
    assert!(matches!(
        tape.read_at(0, &mut buf),
        Err(Error::NotRandomAccess(_))
    ));
    assert!(matches!(tape.size(), Err(Error::NotRandomAccess(_))));
    assert!(matches!(
        tape.stream(10, false),
        Err(Error::NotRandomAccess(_))
    ));
    assert!(tartape::volume::count(&tape, 1 << 20).is_err());
    // Smaller than stored, and a catalog of it streams the same bytes.
    assert!((a.len() as u64) < make(0).total_size());
    let catalog = root.join("deflate.tartape");
    let mut b = builder(&dir, Format::Zip, false);
    b.set_deflate(6).unwrap();
    let t = Arc::new(b.seal().unwrap());
    let bytes = stream_from(&t, 0, 1);
    t.save(&catalog).unwrap();
    let reopened = Tape::open(&catalog).unwrap();
    let i = reopened.layout().locate(b"mem/large.bin").unwrap().unwrap();
    let large: Vec<u8> = (0..100_000u32).map(|i| (i % 13) as u8).collect();
    reopened
        .bind(i, tartape::Source::Bytes(large.into()))
        .unwrap();
    assert_eq!(stream_from(&Arc::new(reopened), 0, 1), bytes);
}

#[test]
fn c_abi_sets_the_format_and_deflate_level() {
    use tartape::ffi::status::tt_status;
    use tartape::ffi::stream::*;
    use tartape::ffi::tape::*;
    let t = tt_tape_new();
    assert_eq!(tt_tape_set_format(t, 7), tt_status::InvalidArgument);
    assert_eq!(tt_tape_set_format(t, tt_format::Zip as u32), tt_status::Ok);
    assert_eq!(tt_tape_set_deflate(t, 10), tt_status::InvalidArgument);
    let data = b"hello zip";
    assert_eq!(
        tt_add_bytes(
            t,
            b"a.txt".as_ptr(),
            5,
            data.as_ptr(),
            data.len(),
            0o644,
            1_600_000_000
        ),
        tt_status::Ok
    );
    let mut size = 0u64;
    assert_eq!(tt_tape_total_size(t, &mut size), tt_status::Ok);
    // 30 + 5 + 9 local, 9 data, 16 descriptor, 46 + 5 + 9 central, 22 end.
    assert_eq!(size, 44 + 9 + 16 + 60 + 22);
    let mut buf = vec![0u8; size as usize];
    let mut n = 0usize;
    assert_eq!(
        tt_read_at(t, 0, buf.as_mut_ptr(), buf.len(), &mut n),
        tt_status::Ok
    );
    assert_eq!(&buf[..4], b"PK\x03\x04");
    assert_eq!(&buf[buf.len() - 22..buf.len() - 18], b"PK\x05\x06");
    assert_eq!(tt_tape_set_format(t, 0), tt_status::State);
    tt_tape_free(t);

    let t = tt_tape_new();
    assert_eq!(tt_tape_set_format(t, tt_format::Zip as u32), tt_status::Ok);
    assert_eq!(tt_tape_set_deflate(t, 9), tt_status::Ok);
    assert_eq!(
        tt_add_bytes(
            t,
            b"a.txt".as_ptr(),
            5,
            data.as_ptr(),
            data.len(),
            0o644,
            1_600_000_000
        ),
        tt_status::Ok
    );
    assert_eq!(tt_tape_total_size(t, &mut size), tt_status::NotRandomAccess);
    assert_eq!(tt_tape_start_at(t, 3), tt_status::NotRandomAccess);
    tt_tape_free(t);
}
