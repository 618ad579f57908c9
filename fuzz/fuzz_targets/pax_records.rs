#![no_main]
//! The pax record parser on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = tartape::reader::parse_pax_records(data) {
        let total: usize = records.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(total <= data.len());
    }
});
