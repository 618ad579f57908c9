//! Inputs that once crashed the reader fuzz targets (fuzz/regressions/tar_reader, zip_reader),
//! replayed as the targets run them: open, then read and seek every member. The test suite runs
//! this file again in a debug build, where an arithmetic overflow is a panic as it is when fuzzing.
//! (The catalog_loader regressions are replayed by tests/catalog_forged.rs.)

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use tartape::reader::Archive;
use tartape::Error;

fn replay(target: &str) -> Vec<(String, Result<usize, Error>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut results = Vec::new();
    for f in read {
        let path = f.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = std::panic::catch_unwind(|| -> Result<usize, Error> {
            let archive = Archive::from_bytes(bytes)?;
            let mut buf = [0u8; 4096];
            for i in 0..archive.entries().len() {
                let _ = archive.read_member_at(i, 0, &mut buf);
                if let Ok(mut m) = archive.open_member(i) {
                    while let Ok(1..) = m.read(&mut buf) {}
                    let _ = m.seek(SeekFrom::Start(1));
                    let _ = m.read(&mut buf);
                }
            }
            Ok(archive.entries().len())
        });
        let outcome = outcome.unwrap_or_else(|_| panic!("{target}/{name} panicked"));
        results.push((name, outcome));
    }
    results
}

#[test]
fn tar_reader_regressions_fail_cleanly() {
    let results = replay("tar_reader");
    assert!(
        !results.is_empty(),
        "no inputs in fuzz/regressions/tar_reader"
    );
    for (name, outcome) in results {
        if name == "sparse-10-map-past-data" {
            // A GNU sparse 1.0 member whose map is longer than the member's data.
            let err = outcome.expect_err(&name).to_string();
            assert!(err.contains("runs past the member's data"), "{name}: {err}");
        }
    }
}

#[test]
fn zip_reader_regressions_fail_cleanly() {
    for (name, outcome) in replay("zip_reader") {
        if let Err(e) = outcome {
            assert!(!e.to_string().is_empty(), "{name}");
        }
    }
}
