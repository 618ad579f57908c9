#![no_main]
//! The TAR reader on arbitrary bytes: never a panic, a hang or an unbounded allocation.
use libfuzzer_sys::fuzz_target;

#[path = "read_archive.rs"]
mod read_archive;

fuzz_target!(|data: &[u8]| read_archive::exercise(data));
