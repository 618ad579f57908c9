//! MD5 of large files on the other cores: while a stream sends one file, two workers hash the next
//! ones (reading them themselves), so hashing costs wall time only where it outruns the stream.
//! Events stay in order: the stream waits for an entry's digest when it reaches its FILE_END.

use std::sync::Arc;

use crate::aheadpool::AheadPool;
use crate::checksum;
use crate::entry::EntryKind;
use crate::error::{Error, Result};
use crate::layout::Slot;
use crate::source::Source;
use crate::tape::Tape;

/// Files at least this large are hashed by the pool; smaller ones inline, where a hand-off would
/// cost more than it saves.
pub const POOL_MIN_SIZE: u64 = 4 << 20;
/// How many entries past the stream's current one the workers may hash.
const WINDOW: usize = 16;
/// Worker threads.
const WORKERS: usize = 2;

/// True when the pool hashes this entry (the stream and the workers must agree).
pub fn wants(slot: &Slot) -> bool {
    slot.entry.kind == EntryKind::File
        && slot.entry.size >= POOL_MIN_SIZE
        && matches!(slot.entry.source, Source::File(_))
}

/// Workers hashing the large files ahead of a stream.
pub struct HashPool {
    pool: AheadPool<Result<[u8; 16]>>,
}

impl HashPool {
    /// Starts workers that hash the large files from entry `first` on.
    pub fn new(tape: Arc<Tape>, first: usize) -> HashPool {
        let len = tape.len();
        let job = move |index: usize, buf: &mut Vec<u8>| match tape.slot(index) {
            Ok(slot) if wants(&slot) => {
                if buf.is_empty() {
                    buf.resize(1 << 20, 0);
                }
                Some(
                    checksum::of_entry(&slot.entry, checksum::Checksums::MD5, buf)
                        .map(|s| s.md5.expect("MD5 was asked for")),
                )
            }
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        };
        let pool = AheadPool::new("tartape-md5", WORKERS, WINDOW, first, len, Box::new(job));
        HashPool { pool }
    }

    /// Tells the workers that the stream has reached entry `index`.
    pub fn advance(&self, index: usize) {
        self.pool.advance(index);
    }

    /// The MD5 of entry `index` (which [`wants`] the pool), waiting for a worker if needed.
    pub fn wait(&self, index: usize) -> Result<[u8; 16]> {
        self.pool.wait(index).unwrap_or_else(|| {
            Err(Error::State(
                "no MD5 worker thread could be started, or one failed".into(),
            ))
        })
    }
}
