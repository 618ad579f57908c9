//! A queue of jobs that several threads drain together, where a job may queue more jobs (a walk:
//! listing a directory queues its subdirectories). Each job is numbered in the order it was
//! queued and runs exactly once; [`WorkQueue::run`] returns when no job is queued or running.
//!
//! Built with `--cfg loom`, it uses loom's mutex and condition variable, and tests/loom.rs checks
//! every interleaving of a few threads for a lost job, a job run twice or a thread left waiting.

#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};

/// Jobs of type `J`, shared by the threads that run them.
pub struct WorkQueue<J> {
    state: Mutex<State<J>>,
    wake: Condvar,
}

struct State<J> {
    /// Queued, not yet taken (taken last in, first out: a walk goes depth first, which keeps
    /// the queue short).
    jobs: Vec<(usize, J)>,
    /// Jobs numbered so far.
    numbered: usize,
    /// Jobs queued or running. When it reaches 0 no job can appear any more: the work is over.
    pending: usize,
}

impl<J> Default for WorkQueue<J> {
    fn default() -> Self {
        WorkQueue {
            state: Mutex::new(State {
                jobs: Vec::new(),
                numbered: 0,
                pending: 0,
            }),
            wake: Condvar::new(),
        }
    }
}

impl<J> WorkQueue<J> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State<J>> {
        // A thread that panicked while holding the lock left the counts consistent (they are only
        // changed together, without code that can panic in between).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `job`; returns its number (0, 1, 2... in the order jobs are queued).
    pub fn push(&self, job: J) -> usize {
        let mut s = self.lock();
        let id = s.numbered;
        s.numbered += 1;
        s.pending += 1;
        s.jobs.push((id, job));
        drop(s);
        self.wake.notify_one();
        id
    }

    /// Runs jobs with `f` until none is queued or running (jobs `f` queues included), then
    /// returns what this thread's calls returned, with the jobs' numbers. Call it from every
    /// thread that helps, after queueing the first job; a thread finding the queue empty while
    /// others still run waits for what they may queue.
    pub fn run<R>(&self, mut f: impl FnMut(usize, J) -> R) -> Vec<(usize, R)> {
        let mut done = Vec::new();
        loop {
            let (id, job) = {
                let mut s = self.lock();
                loop {
                    if let Some(job) = s.jobs.pop() {
                        break job;
                    }
                    if s.pending == 0 {
                        return done;
                    }
                    s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            // Counted as finished even if `f` panics, so that the other threads do not wait for
            // it forever (the caller then misses that job's result, and can tell).
            let _finished = Finished(self);
            done.push((id, f(id, job)));
        }
    }
}

/// Marks one job finished when dropped.
struct Finished<'a, J>(&'a WorkQueue<J>);

impl<J> Drop for Finished<'_, J> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.pending -= 1;
        if s.pending == 0 {
            // The last job is over: wake every waiting thread so that each returns.
            self.0.wake.notify_all();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::WorkQueue;

    /// A job `n` queues jobs `2n+1` and `2n+2` below a limit: a binary tree of 0..LIMIT.
    fn tree(q: &WorkQueue<u32>, n: u32) -> u32 {
        const LIMIT: u32 = 5000;
        for child in [2 * n + 1, 2 * n + 2] {
            if child < LIMIT {
                q.push(child);
            }
        }
        n
    }

    #[test]
    fn every_job_runs_once_across_threads_numbered_without_gaps() {
        let q = WorkQueue::new();
        assert_eq!(q.push(0u32), 0);
        let mut all: Vec<(usize, u32)> = std::thread::scope(|scope| {
            let helpers: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| q.run(|_, n| tree(&q, n))))
                .collect();
            let mut all = q.run(|_, n| tree(&q, n));
            for h in helpers {
                all.extend(h.join().unwrap());
            }
            all
        });
        all.sort_unstable();
        assert_eq!(all.len(), 5000);
        let mut jobs: Vec<u32> = all.iter().map(|&(_, n)| n).collect();
        jobs.sort_unstable();
        assert!(jobs.iter().copied().eq(0..5000), "each job exactly once");
        assert!(
            all.iter().map(|&(id, _)| id).eq(0..5000),
            "numbers 0.. without gaps"
        );
    }

    #[test]
    fn a_panicking_job_still_finishes_and_the_other_thread_returns() {
        let q = WorkQueue::new();
        q.push(0u32);
        q.push(1u32); // taken first (last in, first out), by a thread that panics
        let runs: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        q.run(|_, n| {
                            assert!(n != 1, "job 1 panics");
                            n
                        })
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join()).collect()
        });
        let panicked = runs.iter().filter(|r| r.is_err()).count();
        let done: Vec<(usize, u32)> = runs.into_iter().flatten().flatten().collect();
        assert_eq!((panicked, done), (1, vec![(0, 0)]));
    }
}
