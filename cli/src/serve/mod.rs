//! `tartape serve`: archives over HTTP/1.1 (hyper on tokio), each served like a static file —
//! Content-Length, ranges, a strong ETag from the fingerprint, conditional requests — without
//! ever being written anywhere. docs/SERVE.md has the behaviour, the limits and the integrity
//! rules.
//!
//! - `sources`: what is served (catalogs, walked directories), failures and rescans;
//! - `respond`: one request, from its route to its response;
//! - `range`, `conditional`: the RFC 9110 rules, as plain functions with their tests;
//! - `names`: routes, Content-Disposition, escaping;
//! - `body`: bodies read in chunks on the blocking pool, and the request log;
//! - `idle`: the idle timeout of a connection.

mod body;
mod conditional;
mod idle;
mod names;
mod range;
mod respond;
mod sources;

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use crate::cli::ServeArgs;
use crate::Failure;

/// The largest request head (request line and headers) accepted; larger ones get 431.
const MAX_HEAD: usize = 64 << 10;

/// The longest idle timeout accepted: a day.
const MAX_IDLE_SECONDS: u64 = 86_400;

/// Runs `tartape serve` until the process is stopped.
pub fn run(args: ServeArgs) -> Result<u8, Failure> {
    if !(1..=100_000).contains(&args.max_ranges)
        || !(1..=1_000_000).contains(&args.max_connections)
        || !(1..=MAX_IDLE_SECONDS).contains(&args.idle_timeout)
    {
        return Err(format!(
            "--max-ranges takes 1 to 100000, --max-connections 1 to 1000000, --idle-timeout 1 to {MAX_IDLE_SECONDS}"
        ));
    }
    body::release_freed_buffers();
    let builder = Arc::new(sources::Builder::new(args.build)?);
    let archives = sources::load_all(&args.sources, &builder, args.rescan)?;
    let state = Arc::new(respond::State {
        archives,
        max_ranges: args.max_ranges,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .thread_name("tartape-serve")
        .build()
        .map_err(|e| format!("cannot start the server's threads: {e}"))?;
    let config = Config {
        idle: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections,
    };
    runtime.block_on(serve(args.listen, state, config))
}

struct Config {
    idle: Duration,
    max_connections: usize,
}

async fn serve(
    listen: std::net::SocketAddr,
    state: Arc<respond::State>,
    config: Config,
) -> Result<u8, Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    for a in &state.archives {
        let v = a.current();
        eprintln!(
            "tartape: serve: /{} ({} entries, {}, fingerprint {})",
            String::from_utf8_lossy(&a.file_name()),
            v.tape.len(),
            v.size
                .map_or("stream-only".into(), |s| format!("{s} bytes")),
            v.fingerprint
        );
    }
    eprintln!("tartape: serve: listening on http://{local}/");
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        // From the moment hyper waits for a request head (also between keep-alive requests) to
        // its last byte: a client dribbling its headers (slowloris) is cut off as an idle one is.
        .header_read_timeout(config.idle)
        .max_header_size(MAX_HEAD)
        .max_buf_size(MAX_HEAD * 4)
        .keep_alive(true);
    loop {
        // At the limit, new connections wait in the listen backlog until one closes.
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| format!("connection limit: {e}"))?;
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors or a connection reset before it was accepted: wait a little
                // rather than spin.
                eprintln!("tartape: serve: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let io = TokioIo::new(idle::IdleIo::new(tcp, config.idle));
        let state = state.clone();
        let conn = http.serve_connection(
            io,
            service_fn(move |req| respond::handle(req, state.clone(), peer)),
        );
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if !quiet(&e) {
                    eprintln!("tartape: serve: {peer}: connection: {e}");
                }
            }
            drop(permit);
        });
    }
}

/// Connection errors that are the client's doing or the idle timeout, not worth a log line each
/// (the request line already says a response was cut short).
fn quiet(e: &hyper::Error) -> bool {
    use std::error::Error as _;
    // A body that failed (a source changed) is logged by the archive and the request's line.
    if e.is_incomplete_message() || e.is_canceled() || e.is_user() {
        return true;
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::TimedOut
            );
        }
        source = s.source();
    }
    false
}
