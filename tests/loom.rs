//! The engine's thread coordination under loom, which runs a test once for every interleaving of
//! its threads that matters (bounded by preemptions) and fails on a deadlock or a thread left
//! waiting: the walk's work queue (no job lost or run twice) and the pool computing MD5s ahead of a
//! stream (every result delivered, in a window, and the workers stopped). Built only with
//! `--cfg loom`:
//!
//!     RUSTFLAGS="--cfg loom" cargo test --test loom --target-dir target/loom
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use tartape::aheadpool::AheadPool;
use tartape::workqueue::WorkQueue;

/// Job 0 queues 1 and 2, job 1 queues 3: jobs are queued while others run and threads wait.
fn job(q: &WorkQueue<u32>, n: u32) -> u32 {
    match n {
        0 => {
            q.push(1);
            q.push(2);
        }
        1 => {
            q.push(3);
        }
        _ => {}
    }
    n
}

fn check(threads: usize, preemptions: usize) {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(preemptions);
    model.check(move || {
        let q = Arc::new(WorkQueue::new());
        assert_eq!(q.push(0u32), 0);
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || q.run(|_, n| job(&q, n)))
            })
            .collect();
        let mut done = q.run(|_, n| job(&q, n));
        for h in helpers {
            done.extend(h.join().unwrap());
        }
        done.sort_unstable();
        let jobs: Vec<u32> = done.iter().map(|&(_, n)| n).collect();
        let mut sorted = jobs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3], "every job exactly once");
        let ids: Vec<usize> = done.iter().map(|&(id, _)| id).collect();
        assert_eq!(ids, [0, 1, 2, 3], "numbers without gaps");
        // Numbers follow the order of queueing: 0 first, 1 before 2 (queued in that order) and
        // before 3 (which it queued); 3 may come before 2 when job 1 ran in between.
        let id_of = |n: u32| done.iter().find(|&&(_, m)| m == n).unwrap().0;
        assert_eq!(id_of(0), 0);
        assert!(id_of(1) < id_of(2) && id_of(1) < id_of(3), "{done:?}");
    });
}

#[test]
fn two_threads_every_interleaving() {
    check(2, 3);
}

#[test]
fn three_threads_every_interleaving_up_to_two_preemptions() {
    check(3, 2);
}

/// Items 0..5; the odd ones have no result. The consumer goes through them in order with a window
/// of 2 and waits for the even ones; `stop_after` drops the pool early (workers still busy).
fn ahead(workers: usize, stop_after: usize) {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(move || {
        use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        let computed: Arc<Vec<AtomicUsize>> =
            Arc::new((0..5).map(|_| AtomicUsize::new(0)).collect());
        let counts = computed.clone();
        let job = move |i: usize, _: &mut Vec<u8>| {
            counts[i].fetch_add(1, Relaxed);
            (i % 2 == 0).then_some(i * 10)
        };
        let pool = AheadPool::new("t", workers, 2, 0, 5, Box::new(job));
        for i in 0..stop_after {
            pool.advance(i);
            if i % 2 == 0 {
                assert_eq!(pool.wait(i), Some(i * 10), "item {i}");
            }
        }
        drop(pool); // joins the workers: a worker left waiting is a deadlock
        let counts: Vec<usize> = computed.iter().map(|c| c.load(Relaxed)).collect();
        // Each item computed at most once, none past the window (advance(i) allows up to i + 1).
        assert!(counts.iter().all(|&c| c <= 1), "{counts:?}");
        assert!(
            counts.iter().skip(stop_after + 1).all(|&c| c == 0),
            "{counts:?}"
        );
    });
}

#[test]
fn ahead_pool_delivers_every_result_with_one_worker() {
    ahead(1, 5);
}

#[test]
fn ahead_pool_delivers_every_result_with_two_workers() {
    ahead(2, 5);
}

#[test]
fn ahead_pool_stops_its_workers_when_dropped_early() {
    ahead(2, 1);
}
