#![no_main]
//! The ZIP reader on arbitrary bytes. Inputs are made ZIP-shaped by appending an end-of-central-
//! directory record pointing into them when they lack one, so the fuzzer reaches the parser.
use libfuzzer_sys::fuzz_target;

#[path = "read_archive.rs"]
mod read_archive;

fuzz_target!(|data: &[u8]| {
    if data.windows(4).any(|w| w == b"PK\x05\x06") {
        read_archive::exercise(data);
    } else {
        let mut v = data.to_vec();
        let cd_size = (data.len() as u32).min(u32::from(u16::MAX));
        v.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        v.extend_from_slice(&cd_size.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        read_archive::exercise(&v);
    }
});
