//! `TapeBuilder::stream_paths` under a low limit on open descriptors: the walk opens files ahead
//! of the stream only within half the process's soft limit, stats the rest by name, and gives
//! every descriptor back; the bytes are the sealed tape's either way. (Its own test binary: the
//! limit is the whole process's.)

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use tartape::TapeBuilder;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn sealed(root: &Path) -> Vec<u8> {
    let mut b = TapeBuilder::new();
    b.add_path(root, None).unwrap();
    archive_bytes(&Arc::new(b.seal().unwrap()))
}

#[test]
fn a_walk_far_ahead_stays_within_the_descriptor_limit_and_gives_every_one_back() {
    let dir = TempDir::new("walk-stream-fds");
    let root = dir.join("tree");
    let mut rng = Rng::new(77);
    // Four batches of 1,024 entries and more: far more files ahead than 128 descriptors.
    for d in 0..5 {
        for f in 0..900 {
            let len = rng.below(2000) as usize;
            write(&root.join(format!("d{d}/f{f:04}")), &rng.bytes(len));
        }
    }
    let want = sealed(&root);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with a valid struct.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let before = open_descriptors();
    let low = libc::rlimit {
        rlim_cur: 256.min(limit.rlim_max),
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
    let mut most = 0;
    let mut out = Vec::new();
    let r = TapeBuilder::new().stream_paths(&[&root], &mut out, &mut |_| {
        most = most.max(open_descriptors());
    });
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let s = r.unwrap();
    assert_eq!(s.entries, 1 + 5 * 901);
    assert!(out == want, "the bytes are the sealed tape's");
    // At most half the limit held ahead (less 64), plus the walk's and the stream's own.
    assert!(
        most <= before + 64 + 16,
        "{most} descriptors open at once (before: {before})"
    );
    assert_eq!(open_descriptors(), before, "every descriptor is given back");
}
