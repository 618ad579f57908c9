//! gzip written as members of [`MEMBER`] uncompressed bytes each, compressed by worker threads.
//!
//! Each member is an independent gzip member (header, raw deflate, CRC-32 and size trailer) of a
//! fixed slice of the uncompressed stream, so its bytes depend on that slice and the level only:
//! the concatenation is the same for any number of threads. Every gzip reader reads concatenated
//! members as one stream (RFC 1952 section 2.2), tartape's reader included, which also restarts at
//! each of them. A member loses the previous member's 32 KiB window and Huffman statistics: 0.03%
//! in size on text, 1.9% on small files cut from one 16 KiB pool (docs/COMPRESSION.md).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::{Error, Result};

/// Uncompressed bytes per gzip member.
pub const MEMBER: usize = 4 << 20;

type Done = (u64, std::thread::Result<Vec<u8>>);

/// The gzip member of `data` at `level`.
pub(crate) fn member(data: &[u8], level: u32) -> Vec<u8> {
    let mut g = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(
            Vec::with_capacity(data.len() / 2 + 64),
            flate2::Compression::new(level),
        );
    // Writing into a Vec cannot fail.
    let _ = g.write_all(data);
    g.finish().unwrap_or_default()
}

/// Worker threads compressing members, and the members waiting to go out in order.
pub(crate) struct GzipMembers {
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Members handed to the workers, and the next one to go out.
    sent: u64,
    next: u64,
    ready: BTreeMap<u64, Vec<u8>>,
    in_flight: u64,
}

fn worker_failed() -> Error {
    Error::Io {
        path: "gzip compressor".into(),
        source: std::io::Error::other("a compression thread failed"),
    }
}

impl GzipMembers {
    pub(crate) fn new(level: u32, threads: u32) -> Result<GzipMembers> {
        let (jobs, queue) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads as usize);
        let queue = Arc::new(Mutex::new(queue));
        let (results, done) = mpsc::channel::<Done>();
        let mut workers = Vec::new();
        for i in 0..threads {
            let (queue, results) = (queue.clone(), results.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("tartape-gzip-{i}"))
                .spawn(move || loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, data)) = job else { return };
                    let out = std::panic::catch_unwind(|| member(&data, level));
                    if results.send((seq, out)).is_err() {
                        return;
                    }
                })
                .map_err(|e| Error::Io {
                    path: "gzip compressor".into(),
                    source: e,
                })?;
            workers.push(spawned);
        }
        Ok(GzipMembers {
            jobs: Some(jobs),
            done,
            workers,
            sent: 0,
            next: 0,
            ready: BTreeMap::new(),
            in_flight: 2 * u64::from(threads),
        })
    }

    /// True before any member was handed out.
    pub(crate) fn is_empty(&self) -> bool {
        self.sent == 0
    }

    /// Hands the next member's uncompressed bytes to a worker (waiting while too many are in
    /// flight); members done in order are appended to `out`.
    pub(crate) fn submit(&mut self, data: Vec<u8>, out: &mut Vec<u8>) -> Result<()> {
        while self.sent - self.next >= self.in_flight {
            self.collect(out, true)?;
        }
        let jobs = self.jobs.as_ref().ok_or_else(worker_failed)?;
        jobs.send((self.sent, data)).map_err(|_| worker_failed())?;
        self.sent += 1;
        while self.collect(out, false)? {}
        Ok(())
    }

    /// Waits for every member handed out and appends them to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.jobs = None;
        while self.next < self.sent {
            self.collect(out, true)?;
        }
        Ok(())
    }

    /// Takes one finished member (waiting for it when `block`), then appends the members now in
    /// order; false when none was finished.
    fn collect(&mut self, out: &mut Vec<u8>, block: bool) -> Result<bool> {
        let got = if block {
            Some(self.done.recv().map_err(|_| worker_failed())?)
        } else {
            self.done.try_recv().ok()
        };
        let Some((seq, bytes)) = got else {
            return Ok(false);
        };
        self.ready.insert(seq, bytes.map_err(|_| worker_failed())?);
        while let Some(b) = self.ready.remove(&self.next) {
            out.extend_from_slice(&b);
            self.next += 1;
        }
        Ok(true)
    }
}

impl Drop for GzipMembers {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
