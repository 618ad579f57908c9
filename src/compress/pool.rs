//! Worker threads that compress numbered pieces of a stream, and hand the results back in order:
//! gzip members of the stream-only writer, frames of a seekable tape.
//!
//! The bytes of each piece depend on the piece alone, so the concatenation is the same for any
//! number of threads; at most twice as many pieces as threads are in flight, so memory stays at a
//! few pieces whatever the stream's length.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::{Error, Result};

/// What a worker does with piece `seq`: its compressed bytes, or why it could not.
pub(crate) type Job = dyn Fn(u64, Vec<u8>) -> Result<Vec<u8>> + Send + Sync;

type Done = (u64, std::thread::Result<Result<Vec<u8>>>);

/// Worker threads, and the pieces waiting to go out in order.
pub(crate) struct Pool {
    what: &'static str,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Pieces handed to the workers, and the next one to go out.
    sent: u64,
    next: u64,
    ready: BTreeMap<u64, Vec<u8>>,
    in_flight: u64,
}

fn worker_failed(what: &'static str) -> Error {
    Error::Io {
        path: what.into(),
        source: std::io::Error::other("a compression thread failed"),
    }
}

impl Pool {
    /// `threads` workers running `job`; `what` names the compressor in errors ("gzip compressor").
    pub(crate) fn new(what: &'static str, threads: u32, job: Arc<Job>) -> Result<Pool> {
        let (jobs, queue) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads as usize);
        let queue = Arc::new(Mutex::new(queue));
        let (results, done) = mpsc::channel::<Done>();
        let mut workers = Vec::new();
        for i in 0..threads {
            let (queue, results, job) = (queue.clone(), results.clone(), job.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("tartape-z-{i}"))
                .spawn(move || loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, data)) = next else { return };
                    let out =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(seq, data)));
                    if results.send((seq, out)).is_err() {
                        return;
                    }
                })
                .map_err(|e| Error::Io {
                    path: what.into(),
                    source: e,
                })?;
            workers.push(spawned);
        }
        Ok(Pool {
            what,
            jobs: Some(jobs),
            done,
            workers,
            sent: 0,
            next: 0,
            ready: BTreeMap::new(),
            in_flight: 2 * u64::from(threads),
        })
    }

    /// True before any piece was handed out.
    pub(crate) fn is_empty(&self) -> bool {
        self.sent == 0
    }

    /// Hands the next piece to a worker (waiting while too many are in flight); pieces done in
    /// order are appended to `out`.
    pub(crate) fn submit(&mut self, data: Vec<u8>, out: &mut Vec<u8>) -> Result<()> {
        while self.sent - self.next >= self.in_flight {
            self.collect(out, true)?;
        }
        let jobs = self.jobs.as_ref().ok_or_else(|| worker_failed(self.what))?;
        jobs.send((self.sent, data))
            .map_err(|_| worker_failed(self.what))?;
        self.sent += 1;
        while self.collect(out, false)? {}
        Ok(())
    }

    /// Waits for every piece handed out and appends them to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.jobs = None;
        while self.next < self.sent {
            self.collect(out, true)?;
        }
        Ok(())
    }

    /// Takes one finished piece (waiting for it when `block`), then appends the pieces now in
    /// order; false when none was finished.
    fn collect(&mut self, out: &mut Vec<u8>, block: bool) -> Result<bool> {
        let got = if block {
            Some(self.done.recv().map_err(|_| worker_failed(self.what))?)
        } else {
            self.done.try_recv().ok()
        };
        let Some((seq, bytes)) = got else {
            return Ok(false);
        };
        let bytes = bytes.map_err(|_| worker_failed(self.what))??;
        self.ready.insert(seq, bytes);
        while let Some(b) = self.ready.remove(&self.next) {
            out.extend_from_slice(&b);
            self.next += 1;
        }
        Ok(true)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
