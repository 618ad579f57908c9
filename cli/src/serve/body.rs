//! Response bodies: bytes from memory, byte ranges of a tape read with `Tape::read_at`, and the
//! stream of a deflated ZIP, each read in chunks on tokio's blocking pool (one chunk read ahead),
//! so a response costs a few chunks of memory whatever its length, and all of them together stay
//! within a budget (see [`CHUNK_MIN`]). Every body logs its request's
//! line when it is dropped, with the bytes that actually went out.
//!
//! A failed read ends the body with an error: hyper then closes the connection before the
//! declared length, so the client sees an incomplete transfer, never a complete-looking wrong file;
//! the archive is marked as failed (see `sources::Archive::fail`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::task::JoinHandle;

use super::sources::{Archive, Version};

/// The sizes of one read: large chunks cost less per byte (a single client is 2.5 times faster
/// with 1 MiB than with 128 KiB reads on this machine), small ones keep many connections in little
/// memory. Each read takes `BUDGET / (3 * bodies)` (three chunks per body: one being read, one
/// being written, one queued), rounded down to a power of two and kept between the two.
pub const CHUNK_MIN: usize = 128 << 10;
/// See [`CHUNK_MIN`].
pub const CHUNK_MAX: usize = 1 << 20;
const BUDGET: usize = 16 << 20;

/// Bodies reading from tapes now.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts a body in [`ACTIVE`] for as long as it lives.
struct Active;

impl Active {
    fn new() -> Active {
        ACTIVE.fetch_add(1, Ordering::Relaxed);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The size of the next read.
fn chunk_size() -> usize {
    let share = BUDGET / (3 * ACTIVE.load(Ordering::Relaxed).max(1));
    let pow = if share == 0 {
        0
    } else {
        1usize << (usize::BITS - 1 - share.leading_zeros())
    };
    pow.clamp(CHUNK_MIN, CHUNK_MAX)
}

/// Buffers kept for reuse, by size class (`CHUNK_MIN << i`), at most `POOL_BYTES` in all: reused
/// buffers are not zeroed or faulted in again.
const CLASSES: usize = 4;
const POOL_BYTES: usize = 8 << 20;

struct Pool {
    free: [Vec<Vec<u8>>; CLASSES],
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: [Vec::new(), Vec::new(), Vec::new(), Vec::new()],
    bytes: 0,
});

fn class_of(size: usize) -> usize {
    (size / CHUNK_MIN).trailing_zeros() as usize
}

/// A chunk buffer that goes back to the pool when hyper has written it.
struct Pooled(Vec<u8>, usize);

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0[..self.1]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.bytes + buf.len() <= POOL_BYTES {
            pool.bytes += buf.len();
            pool.free[class_of(buf.len())].push(buf);
        }
    }
}

/// A buffer of `size` bytes (a size from [`chunk_size`]).
fn take_buffer(size: usize) -> Vec<u8> {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    match pool.free[class_of(size)].pop() {
        Some(b) => {
            pool.bytes -= b.len();
            b
        }
        None => {
            drop(pool);
            vec![0u8; size]
        }
    }
}

/// Makes glibc give chunk buffers back to the system when they are freed (each is its own
/// mapping) instead of keeping them in its heap, where a burst of connections would stay resident.
pub fn release_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's threshold for using mmap.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, CHUNK_MIN as libc::c_int);
    }
}

/// A part of a body: bytes from memory, or a range of the archive.
#[derive(Debug, Clone)]
pub enum Segment {
    /// Bytes already made (multipart headers).
    Bytes(Bytes),
    /// `len` archive bytes from `offset`.
    Tape {
        /// Archive offset.
        offset: u64,
        /// Length.
        len: u64,
    },
}

type Read = JoinHandle<tartape::Result<Bytes>>;

/// The segments of a response read from a tape.
pub struct TapeBody {
    archive: Arc<Archive>,
    version: Arc<Version>,
    segments: VecDeque<Segment>,
    /// The next chunk, being read; it comes before any segment still queued.
    pending: Option<Read>,
    /// The first chunk, read before the response was started.
    primed: Option<Bytes>,
    /// Offsets are in the uncompressed TAR (a member of a compressed tape), not the archive.
    in_tar: bool,
    _active: Active,
}

impl TapeBody {
    /// A body of `segments`; the first chunk is read before this returns, so that a source
    /// already changed gives an error response instead of a cut one.
    pub async fn start(
        archive: Arc<Archive>,
        version: Arc<Version>,
        segments: Vec<Segment>,
        in_tar: bool,
    ) -> Result<TapeBody, tartape::Error> {
        let mut body = TapeBody {
            archive,
            version,
            segments: segments.into(),
            pending: None,
            primed: None,
            in_tar,
            _active: Active::new(),
        };
        body.advance();
        if let Some(read) = body.pending.take() {
            let chunk = join(read).await?;
            body.advance();
            body.primed = Some(chunk);
        }
        Ok(body)
    }

    /// Starts reading the next chunk if the next segment is a tape range (memory segments are
    /// sent as they are, in order, so nothing is read ahead across them).
    fn advance(&mut self) {
        if self.pending.is_some() {
            return;
        }
        let Some(Segment::Tape { offset, len }) = self.segments.front_mut() else {
            return;
        };
        let size = chunk_size();
        let n = (*len).min(size as u64) as usize;
        let at = *offset;
        *offset += n as u64;
        *len -= n as u64;
        if *len == 0 {
            self.segments.pop_front();
        }
        let tape = self.version.tape.clone();
        let in_tar = self.in_tar;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            let mut buf = take_buffer(size);
            let got = match in_tar {
                true => tape.read_tar_at(at, &mut buf[..n])?,
                false => tape.read_at(at, &mut buf[..n])?,
            };
            if got < n {
                return Err(tartape::Error::corrupt(
                    "archive",
                    format!("read {got} of {n} bytes at {at}: the archive ended early"),
                ));
            }
            Ok(Bytes::from_owner(Pooled(buf, n)))
        }));
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        if let Some(chunk) = self.primed.take() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        loop {
            if let Some(read) = self.pending.as_mut() {
                let result = ready!(poll_join(read, cx));
                self.pending = None;
                return Poll::Ready(Some(match result {
                    Ok(chunk) => {
                        self.advance();
                        Ok(chunk)
                    }
                    Err(e) => {
                        self.archive.fail(&self.version, &e);
                        self.segments.clear();
                        Err(std::io::Error::other(e.to_string()))
                    }
                }));
            }
            match self.segments.front() {
                None => return Poll::Ready(None),
                Some(Segment::Bytes(_)) => {
                    let Some(Segment::Bytes(b)) = self.segments.pop_front() else {
                        unreachable!("front was bytes")
                    };
                    return Poll::Ready(Some(Ok(b)));
                }
                Some(Segment::Tape { .. }) => self.advance(),
            }
        }
    }
}

async fn join<T>(h: JoinHandle<tartape::Result<T>>) -> tartape::Result<T> {
    h.await.unwrap_or_else(|e| Err(joined(e)))
}

fn poll_join<T>(
    h: &mut JoinHandle<tartape::Result<T>>,
    cx: &mut Context<'_>,
) -> Poll<tartape::Result<T>> {
    Pin::new(h)
        .poll(cx)
        .map(|r| r.unwrap_or_else(|e| Err(joined(e))))
}

fn joined(e: tokio::task::JoinError) -> tartape::Error {
    tartape::Error::Callback(format!("a read did not finish: {e}"))
}

type StreamRead = JoinHandle<tartape::Result<(tartape::Stream, Bytes)>>;

/// A deflated ZIP, streamed from the start (its size is known only once written).
pub struct StreamBody {
    archive: Arc<Archive>,
    version: Arc<Version>,
    stream: Option<tartape::Stream>,
    pending: Option<StreamRead>,
    _active: Active,
}

impl StreamBody {
    /// The whole stream of `version`.
    pub fn new(archive: Arc<Archive>, version: Arc<Version>) -> tartape::Result<StreamBody> {
        let stream = version.tape.stream(0, false)?;
        Ok(StreamBody {
            archive,
            version,
            stream: Some(stream),
            pending: None,
            _active: Active::new(),
        })
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        if self.pending.is_none() {
            let Some(mut stream) = self.stream.take() else {
                return Poll::Ready(None);
            };
            let size = chunk_size();
            self.pending = Some(tokio::task::spawn_blocking(move || {
                let mut buf = take_buffer(size);
                let n = stream.read(&mut buf)?;
                Ok((stream, Bytes::from_owner(Pooled(buf, n))))
            }));
        }
        let read = self.pending.as_mut().expect("set above");
        let result = ready!(poll_join(read, cx));
        self.pending = None;
        Poll::Ready(match result {
            Ok((_, chunk)) if chunk.is_empty() => None,
            Ok((stream, chunk)) => {
                self.stream = Some(stream);
                Some(Ok(chunk))
            }
            Err(e) => {
                self.archive.fail(&self.version, &e);
                Some(Err(std::io::Error::other(e.to_string())))
            }
        })
    }
}

/// What a response carries.
pub enum Content {
    /// Nothing (HEAD, 304).
    Empty,
    /// Bytes made in memory (the index, error messages).
    Full(Bytes),
    /// Ranges of a tape.
    Tape(Box<TapeBody>),
    /// A deflated ZIP's stream.
    Stream(Box<StreamBody>),
}

/// What the request line says, for the log.
pub struct LogLine {
    /// Peer address.
    pub peer: String,
    /// Method and path (as received, escaped for the log).
    pub request: String,
    /// The Range field, if any.
    pub range: Option<String>,
    /// When the request arrived.
    pub start: Instant,
}

/// A response body that logs its request when dropped.
pub struct Body {
    content: Content,
    log: LogLine,
    status: u16,
    /// The length declared in Content-Length, if any.
    declared: Option<u64>,
    sent: u64,
    failed: bool,
}

impl Body {
    /// `content` for a response with `status`, declaring `declared` bytes.
    pub fn new(content: Content, log: LogLine, status: u16, declared: Option<u64>) -> Body {
        Body {
            content,
            log,
            status,
            declared,
            sent: 0,
            failed: false,
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        let next = match &mut this.content {
            Content::Empty => Poll::Ready(None),
            Content::Full(b) => {
                let b = std::mem::take(b);
                this.content = Content::Empty;
                Poll::Ready((!b.is_empty()).then_some(Ok(b)))
            }
            Content::Tape(t) => t.poll_next(cx),
            Content::Stream(s) => s.poll_next(cx),
        };
        match ready!(next) {
            Some(Ok(b)) => {
                this.sent += b.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Some(Err(e)) => {
                this.failed = true;
                this.content = Content::Empty;
                Poll::Ready(Some(Err(e)))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.content, Content::Empty)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.content, self.declared) {
            (Content::Empty, _) => SizeHint::with_exact(0),
            (_, Some(n)) => SizeHint::with_exact(n.saturating_sub(self.sent)),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        let l = &self.log;
        let range = l.range.as_deref().unwrap_or("-");
        let ms = l.start.elapsed().as_secs_f64() * 1000.0;
        let cut = match self.declared {
            _ if self.failed => " (cut short: read error)",
            Some(n) if self.sent < n && !matches!(self.content, Content::Empty) => {
                " (cut short: client gone)"
            }
            _ => "",
        };
        eprintln!(
            "tartape: serve: {} \"{}\" range={range} {} {} bytes {ms:.1} ms{cut}",
            l.peer, l.request, self.status, self.sent
        );
    }
}
