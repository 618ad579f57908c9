//! MD5 of large files on the other cores: while a stream sends one file, two workers hash the next
//! ones (reading them themselves), so hashing costs wall time only where it outruns the stream.
//! Events stay in order: the stream waits for an entry's digest when it reaches its FILE_END.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

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

struct State {
    /// The next entry index a worker will look at.
    next: usize,
    /// Workers look no further than this index (exclusive).
    horizon: usize,
    results: HashMap<usize, Result<[u8; 16]>>,
    stop: bool,
}

struct Shared {
    tape: Arc<Tape>,
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Workers hashing the large files ahead of a stream.
pub struct HashPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl HashPool {
    /// Starts workers that hash the large files from entry `first` on.
    pub fn new(tape: Arc<Tape>, first: usize) -> HashPool {
        let shared = Arc::new(Shared {
            tape,
            state: Mutex::new(State {
                next: first,
                horizon: first + WINDOW,
                results: HashMap::new(),
                stop: false,
            }),
            changed: Condvar::new(),
        });
        let workers = (0..WORKERS)
            .filter_map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("tartape-md5-{i}"))
                    .spawn(move || work(&shared))
                    .ok()
            })
            .collect();
        HashPool { shared, workers }
    }

    /// Tells the workers that the stream has reached entry `index`.
    pub fn advance(&self, index: usize) {
        let mut s = self.shared.lock();
        s.horizon = s.horizon.max(index + WINDOW);
        self.shared.changed.notify_all();
    }

    /// The MD5 of entry `index` (which [`wants`] the pool), waiting for a worker if needed.
    pub fn wait(&self, index: usize) -> Result<[u8; 16]> {
        let mut s = self.shared.lock();
        s.horizon = s.horizon.max(index + 1);
        self.shared.changed.notify_all();
        loop {
            if let Some(r) = s.results.remove(&index) {
                return r;
            }
            if self.workers.is_empty() {
                return Err(Error::State("no MD5 worker thread could be started".into()));
            }
            s = self
                .shared
                .changed
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn work(shared: &Shared) {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let index = {
            let mut s = shared.lock();
            loop {
                if s.stop {
                    return;
                }
                if s.next < s.horizon.min(shared.tape.len()) {
                    break;
                }
                s = shared.changed.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            s.next += 1;
            s.next - 1
        };
        let digest = match shared.tape.slot(index) {
            Ok(slot) if wants(&slot) => {
                checksum::of_entry(&slot.entry, &mut buf).map(|(md5, _)| md5)
            }
            Ok(_) => continue,
            Err(e) => Err(e),
        };
        let mut s = shared.lock();
        s.results.insert(index, digest);
        shared.changed.notify_all();
    }
}
