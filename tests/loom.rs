//! The walk's work queue under loom, which runs a test once for every interleaving of its threads
//! that matters (bounded by preemptions) and fails on a lost job, a job run twice, a deadlock or a
//! thread left waiting. Built only with `--cfg loom`:
//!
//!     RUSTFLAGS="--cfg loom" cargo test --test loom --target-dir target/loom
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
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
