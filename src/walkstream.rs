//! Streaming a TAR while its tree is walked: the bytes that adding the paths, sealing and streaming
//! would give, byte for byte, with the walk running ahead on other threads instead of before the
//! first byte.
//!
//! A TAR entry's bytes depend on its own metadata and nothing after it, so the walk (in its final
//! order, [`crate::walkahead`]) hands its entries over in batches; each batch is laid out as a tape
//! of its own, whose bytes up to its trailer are exactly that stretch of the whole archive, and
//! streamed; the trailer comes at the end. The walk and the stream overlap: on a tree of small
//! files the walk's stat calls run on one core while the other opens, reads and checks files.
//! Memory is bounded by the batches in flight and the walk's window, whatever the tree's size.
//!
//! What is given up: the total size and the fingerprint are not known before the first byte (the
//! stream of a sealed tape is the way to have them), and an error of the walk, such as a directory
//! that cannot be listed, stops the stream where it has got to instead of before it starts. The
//! checks of every file are the stream's own: a file is opened checked against what the walk saw
//! and checked again after its read.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::checksum::Checksums;
use crate::entry::Entry;
use crate::error::{show_name, Error, Result};
use crate::layout::{Format, Layout};
use crate::tape::Tape;
use crate::walk::{self, Skipped, WalkOptions};
use crate::walkahead::{self, Step};

/// Entries laid out and streamed at a time. Small enough that the first bytes go out early and
/// the two threads overlap from the start; large enough that a batch's layout costs little.
const BATCH: usize = 1024;
/// Batches walked ahead of the stream.
const BATCHES_AHEAD: usize = 4;

/// What [`crate::TapeBuilder::stream_paths`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streamed {
    /// The archive's bytes (all of them: the stream ran to its end).
    pub bytes: u64,
    /// Entries in the archive.
    pub entries: u64,
    /// Special files the walk left out.
    pub skipped: Vec<Skipped>,
}

/// A batch of the walk: entries in order, and the special files left out among them.
struct Batch {
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
}

/// Walks `paths` (each under its base name) with `options` and writes their TAR to `out`;
/// `progress` is called with the bytes written so far.
pub(crate) fn stream_paths(
    paths: &[&Path],
    options: &WalkOptions,
    out: &mut (dyn std::io::Write + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Streamed> {
    let mut names = Vec::with_capacity(paths.len());
    for p in paths {
        names.push(walk::default_name(p)?);
    }
    let mut sorted: Vec<&Vec<u8>> = names.iter().collect();
    sorted.sort();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        // The same refusal sealing gives, before any byte.
        return Err(Error::InvalidName {
            name: show_name(w[0]),
            reason: "added twice",
        });
    }
    let (send, receive) = mpsc::sync_channel::<Result<Batch>>(BATCHES_AHEAD);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let failed = send.clone();
            let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                walk_into(paths, &names, options, send)
            }));
            if walked.is_err() {
                let _ = failed.send(Err(Error::State("the walking thread panicked".into())));
            }
        });
        // Dropping the receiver (on any return) stops the walk at its next batch.
        write_batches(receive, &options.exclude, out, progress)
    })
}

/// The walking thread: sends the walk's entries in batches, then its error if it fails.
fn walk_into(
    paths: &[&Path],
    names: &[Vec<u8>],
    options: &WalkOptions,
    send: mpsc::SyncSender<Result<Batch>>,
) {
    let mut batch = Batch {
        entries: Vec::with_capacity(BATCH),
        skipped: Vec::new(),
    };
    let mut each = |step: Step| -> Result<()> {
        match step {
            Step::Entry { entry, .. } => batch.entries.push(entry),
            Step::Skipped(s) => batch.skipped.push(s),
        }
        if batch.entries.len() >= BATCH {
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    entries: Vec::with_capacity(BATCH),
                    skipped: Vec::new(),
                },
            );
            send.send(Ok(full)).map_err(|_| stopped())?;
        }
        Ok(())
    };
    let mut result = Ok(());
    for (path, name) in paths.iter().zip(names) {
        result = walkahead::walk_each(path, name, options, Checksums::NONE, &mut each);
        if result.is_err() {
            break;
        }
    }
    let _ = match result {
        Ok(()) => send.send(Ok(batch)),
        // The entries before the error are streamed first: the error is where the walk stopped.
        Err(e) => send.send(Ok(batch)).and_then(|_| send.send(Err(e))),
    };
}

/// The error the walking thread stops with when the stream has ended (never shown: the stream's
/// own outcome is).
fn stopped() -> Error {
    Error::State("the stream ended before the walk".into())
}

/// A stretch of the archive for a filling thread: bytes `[start, end)` of a batch's tape, the
/// `seq`-th piece of the whole stream.
struct Piece {
    seq: u64,
    part: Arc<Tape>,
    start: u64,
    end: u64,
}

/// A filled piece for the writing thread: its bytes in a buffer, or why it could not be made.
type Filled = (u64, Result<(Vec<u8>, usize)>);

/// Lays out each batch, has its bytes made by the filling threads in pieces, and the writing
/// thread write them in order; then the trailer.
fn write_batches(
    receive: mpsc::Receiver<Result<Batch>>,
    exclude: &[Vec<u8>],
    out: &mut (dyn std::io::Write + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Streamed> {
    // The filling threads alone hold the receiving ends: once they have all stopped, the
    // dispatcher's next send fails instead of waiting for ever.
    let (job_send, job_receive) = mpsc::sync_channel::<Piece>(FILLERS);
    let job_receive = Arc::new(Mutex::new(job_receive));
    let (filled_send, filled_receive) = mpsc::sync_channel::<Filled>(OUT_BUFFERS);
    let (free_send, free_receive) = mpsc::sync_channel::<Vec<u8>>(OUT_BUFFERS);
    for _ in 0..OUT_BUFFERS {
        free_send
            .send(vec![0u8; PIECE])
            .expect("room for every buffer");
    }
    let free_receive = Arc::new(Mutex::new(free_receive));
    std::thread::scope(|scope| {
        let spawn = |name: String| std::thread::Builder::new().name(name);
        let writer = spawn("tartape-write".into())
            .spawn_scoped(scope, move || {
                write_in_order(filled_receive, free_send, out, progress)
            })
            .map_err(|e| Error::io("a thread for the archive's output", e))?;
        for i in 0..FILLERS {
            let (jobs, free, filled) = (
                job_receive.clone(),
                free_receive.clone(),
                filled_send.clone(),
            );
            spawn(format!("tartape-read-{i}"))
                .spawn_scoped(scope, move || fill_pieces(&jobs, &free, filled))
                .map_err(|e| Error::io("a thread reading the archive's files", e))?;
        }
        drop((job_receive, free_receive));
        let made = dispatch(receive, exclude, job_send, &filled_send);
        // Ends the writer once the pieces sent are written.
        drop(filled_send);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(Error::State("the archive's writing thread panicked".into())));
        // The writer's error (the output, or a piece that could not be made) is the first one.
        let bytes = written?;
        let mut streamed = made?;
        streamed.bytes = bytes;
        Ok(streamed)
    })
}

/// Threads that make pieces; the writing thread is a third, the walk's a fourth.
const FILLERS: usize = 2;
/// Buffers of pieces filled or being written: a filling thread takes one before its piece, so the
/// piece the writer waits for always has one.
const OUT_BUFFERS: usize = 3;
/// The most bytes of a piece.
const PIECE: usize = 384 << 10;

/// Seals each batch and cuts its bytes into pieces for the filling threads; a walk error goes to
/// the writer in the place of the next piece.
fn dispatch(
    receive: mpsc::Receiver<Result<Batch>>,
    exclude: &[Vec<u8>],
    jobs: mpsc::SyncSender<Piece>,
    filled: &mpsc::SyncSender<Filled>,
) -> Result<Streamed> {
    let mut streamed = Streamed::default();
    let mut seq = 0u64;
    let mut room = PIECE as u64;
    for batch in receive {
        let Batch { entries, skipped } = match batch {
            Ok(b) => b,
            Err(e) => {
                let _ = filled.send((seq, Err(e)));
                return Err(writer_stopped());
            }
        };
        streamed.skipped.extend(skipped);
        if entries.is_empty() {
            continue;
        }
        streamed.entries += entries.len() as u64;
        let (layout, bound) = Layout::build(entries, exclude.to_vec(), Format::Tar, 0);
        let part = Arc::new(Tape::from_layout(layout, bound, Vec::new()));
        // Its bytes before its trailer are this stretch of the whole archive. Pieces are cut at
        // whole multiples of PIECE of the archive where they can be, so that each buffer is full.
        let end = part.layout().trailer_offset();
        let mut start = 0;
        while start < end {
            let len = room.min(end - start);
            let piece = Piece {
                seq,
                part: part.clone(),
                start,
                end: start + len,
            };
            jobs.send(piece).map_err(|_| writer_stopped())?;
            seq += 1;
            start += len;
            room = if room == len {
                PIECE as u64
            } else {
                room - len
            };
        }
    }
    let (layout, bound) = Layout::build(Vec::new(), Vec::new(), Format::Tar, 0);
    let part = Arc::new(Tape::from_layout(layout, bound, Vec::new()));
    // The trailer: the bytes of an empty tape.
    let end = part.layout().total_size();
    jobs.send(Piece {
        seq,
        part,
        start: 0,
        end,
    })
    .map_err(|_| writer_stopped())?;
    Ok(streamed)
}

/// A filling thread: takes a buffer, then the next piece, and streams the piece's bytes into it.
fn fill_pieces(
    jobs: &Mutex<mpsc::Receiver<Piece>>,
    free: &Mutex<mpsc::Receiver<Vec<u8>>>,
    filled: mpsc::SyncSender<Filled>,
) {
    loop {
        let Ok(mut buf) = free.lock().unwrap_or_else(|e| e.into_inner()).recv() else {
            return;
        };
        let Ok(piece) = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv() else {
            return;
        };
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fill_piece(&piece, &mut buf)
        }))
        .unwrap_or_else(|_| {
            Err(Error::State(
                "a thread reading the archive's files panicked".into(),
            ))
        })
        .map(|n| (buf, n));
        let failed = made.is_err();
        if filled.send((piece.seq, made)).is_err() || failed {
            return;
        }
    }
}

/// Streams the piece's bytes into `buf`; returns how many.
fn fill_piece(piece: &Piece, buf: &mut [u8]) -> Result<usize> {
    let len = (piece.end - piece.start) as usize;
    let mut stream = piece.part.stream(piece.start, false)?;
    let mut filled = 0;
    while filled < len {
        let n = stream.read(&mut buf[filled..len])?;
        if n == 0 {
            return Err(Error::corrupt(
                "tape",
                format!(
                    "a batch's stream ended at {} before {}",
                    piece.start + filled as u64,
                    piece.end
                ),
            ));
        }
        filled += n;
    }
    Ok(filled)
}

/// The writing thread: writes the pieces in order, handing each buffer back; returns the bytes
/// written, or the first error in the order of the stream.
fn write_in_order(
    filled: mpsc::Receiver<Filled>,
    free: mpsc::SyncSender<Vec<u8>>,
    out: &mut (dyn std::io::Write + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64> {
    let mut waiting = BTreeMap::new();
    let mut next = 0u64;
    let mut bytes = 0u64;
    for (seq, made) in filled {
        waiting.insert(seq, made);
        while let Some(made) = waiting.remove(&next) {
            let (buf, n) = made?;
            out.write_all(&buf[..n])
                .map_err(|e| Error::io("the archive's output", e))?;
            bytes += n as u64;
            progress(bytes);
            next += 1;
            // The fillers may have stopped: then nobody wants the buffer back.
            let _ = free.send(buf);
        }
    }
    if !waiting.is_empty() {
        // Pieces came after one that never did: never an archive with a hole. The first error
        // among them says why the stream stopped.
        return Err(waiting
            .into_values()
            .find_map(|made| made.err())
            .unwrap_or_else(|| {
                Error::State(format!("piece {next} of the archive was never made"))
            }));
    }
    out.flush()
        .map_err(|e| Error::io("the archive's output", e))?;
    Ok(bytes)
}

/// The error the walk or the dispatch stops with when the writing thread has (its own error is
/// the one told).
fn writer_stopped() -> Error {
    Error::State("the archive's output stopped".into())
}
