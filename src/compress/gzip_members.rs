//! gzip written as members of [`MEMBER`] uncompressed bytes each, compressed by worker threads.
//!
//! Each member is an independent gzip member (header, raw deflate, CRC-32 and size trailer) of a
//! fixed slice of the uncompressed stream, so its bytes depend on that slice and the level only:
//! the concatenation is the same for any number of threads. Every gzip reader reads concatenated
//! members as one stream (RFC 1952 section 2.2), tartape's reader included, which also restarts at
//! each of them. A member loses the previous member's 32 KiB window and Huffman statistics: 0.03%
//! in size on text, 1.9% on small files cut from one 16 KiB pool (docs/COMPRESSION.md).

use std::cell::RefCell;
use std::sync::Arc;

use libdeflater::{CompressionLvl, Compressor};

use super::pool::Pool;
use crate::Result;

/// Uncompressed bytes per gzip member.
pub const MEMBER: usize = 4 << 20;

/// The gzip member of `data` at `level`.
///
/// libdeflate compresses a whole buffer at a time, which is what a member is: 2.6 to 3 times as
/// fast as miniz_oxide at level 6 on text, with smaller output (docs/COMPRESSION.md). Its gzip
/// header is fixed: no name, mtime 0, XFL from the level, OS 255 (unknown).
pub(crate) fn member(data: &[u8], level: u32) -> Vec<u8> {
    thread_local! {
        /// One compressor per thread and level, reused member after member.
        static COMPRESSOR: RefCell<Option<(u32, Compressor)>> = const { RefCell::new(None) };
    }
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|(l, _)| *l) != Some(level) {
            // Levels are checked by Compress::new (1 to 9).
            let lvl = CompressionLvl::new(level as i32).unwrap_or_default();
            *slot = Some((level, Compressor::new(lvl)));
        }
        let (_, c) = slot.as_mut().expect("set above");
        let mut out = vec![0; c.gzip_compress_bound(data.len())];
        // The bound always holds the output.
        let n = c.gzip_compress(data, &mut out).unwrap_or(0);
        out.truncate(n);
        out
    })
}

/// Worker threads compressing members, handed back in order.
pub(crate) fn pool(level: u32, threads: u32) -> Result<Pool> {
    Pool::new(
        "gzip compressor",
        threads,
        Arc::new(move |_, data: Vec<u8>| Ok(member(&data, level))),
    )
}
