#![no_main]
//! The reader on compressed archives (gzip, zstd, xz, bzip2: seeded with compressed TARs, whose
//! magic bytes the mutations mostly keep): the decoders and the restart-point index never panic,
//! hang or allocate without bound.
use libfuzzer_sys::fuzz_target;

#[path = "read_archive.rs"]
mod read_archive;

fuzz_target!(|data: &[u8]| read_archive::exercise(data));
