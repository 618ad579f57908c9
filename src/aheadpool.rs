//! Worker threads that compute results for the items ahead of a consumer that goes through items
//! in order (the MD5 pool: the next large files hashed while the current one streams). Workers
//! take items in order, no further than a window past the consumer; the consumer waits for an
//! item's result when it needs it. The coordination lives here, apart from what is computed, so
//! that tests/loom.rs can check it over every interleaving (built with `--cfg loom`, it uses
//! loom's threads, mutex and condition variable).

use std::collections::HashMap;

#[cfg(loom)]
use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
use loom::thread::{Builder, JoinHandle};
#[cfg(not(loom))]
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::thread::{Builder, JoinHandle};

/// What a worker computes for item `index`, with a scratch buffer it keeps between items: None for
/// an item that has no result (the consumer must not wait for it).
pub type Job<T> = dyn Fn(usize, &mut Vec<u8>) -> Option<T> + Send + Sync;

struct State<T> {
    /// The next item a worker will look at.
    next: usize,
    /// Workers look no further than this item (exclusive).
    horizon: usize,
    results: HashMap<usize, T>,
    stop: bool,
    /// A worker panicked: the result it owed will never come.
    broken: bool,
}

struct Shared<T> {
    job: Box<Job<T>>,
    /// Items 0..len exist.
    len: usize,
    window: usize,
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state is changed only by code that cannot panic midway: a poisoned lock is whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Workers computing the results of the items ahead of a consumer.
pub struct AheadPool<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    workers: Vec<JoinHandle<()>>,
}

impl<T: Send + 'static> AheadPool<T> {
    /// Starts `workers` threads (named `name-0`, `name-1`...) computing `job` for items `first` to
    /// `len - 1`, at most `window` items past the consumer's current one.
    pub fn new(
        name: &str,
        workers: usize,
        window: usize,
        first: usize,
        len: usize,
        job: Box<Job<T>>,
    ) -> AheadPool<T> {
        let shared = Arc::new(Shared {
            job,
            len,
            window,
            state: Mutex::new(State {
                next: first,
                horizon: first.saturating_add(window),
                results: HashMap::new(),
                stop: false,
                broken: false,
            }),
            changed: Condvar::new(),
        });
        let workers = (0..workers)
            .filter_map(|i| {
                let shared = shared.clone();
                Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || work(&shared))
                    .ok()
            })
            .collect();
        AheadPool { shared, workers }
    }

    /// Tells the workers that the consumer has reached item `index`.
    pub fn advance(&self, index: usize) {
        let mut s = self.shared.lock();
        s.horizon = s.horizon.max(index.saturating_add(self.shared.window));
        self.shared.changed.notify_all();
    }

    /// The result of item `index` (one that has a result), waiting for a worker if needed; None
    /// when no worker thread could be started or one panicked.
    pub fn wait(&self, index: usize) -> Option<T> {
        let mut s = self.shared.lock();
        s.horizon = s.horizon.max(index + 1);
        self.shared.changed.notify_all();
        loop {
            if let Some(r) = s.results.remove(&index) {
                return Some(r);
            }
            if self.workers.is_empty() || s.broken {
                return None;
            }
            s = self
                .shared
                .changed
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<T: Send + 'static> Drop for AheadPool<T> {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Marks the pool broken if its worker unwinds, so that the consumer does not wait forever.
struct Unwinding<'a, T>(&'a Shared<T>);

impl<T> Drop for Unwinding<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().broken = true;
            self.0.changed.notify_all();
        }
    }
}

fn work<T>(shared: &Shared<T>) {
    let _unwinding = Unwinding(shared);
    let mut scratch = Vec::new();
    loop {
        let index = {
            let mut s = shared.lock();
            loop {
                if s.stop {
                    return;
                }
                if s.next < s.horizon.min(shared.len) {
                    break;
                }
                s = shared.changed.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            s.next += 1;
            s.next - 1
        };
        let Some(result) = (shared.job)(index, &mut scratch) else {
            continue;
        };
        let mut s = shared.lock();
        s.results.insert(index, result);
        shared.changed.notify_all();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::AheadPool;

    #[test]
    fn results_come_for_the_items_that_have_one_in_any_order_asked() {
        let pool = AheadPool::new(
            "t",
            2,
            4,
            3,
            40,
            Box::new(|i, _: &mut Vec<u8>| (i % 3 != 0).then_some(i * 2)),
        );
        for i in 3..40 {
            pool.advance(i);
            if i % 3 != 0 {
                assert_eq!(pool.wait(i), Some(i * 2));
            }
        }
    }

    #[test]
    fn a_worker_that_panics_makes_the_wait_fail_instead_of_hang() {
        let pool = AheadPool::new(
            "t",
            1,
            4,
            0,
            10,
            Box::new(|i, _: &mut Vec<u8>| {
                assert!(i != 2, "the job for item 2 panics");
                Some(i)
            }),
        );
        assert_eq!(pool.wait(0), Some(0));
        assert_eq!(pool.wait(2), None);
    }
}
