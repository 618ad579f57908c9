//! Answering one request: the route (index, archive, member), the preconditions, the ranges, and
//! the response's headers and body.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::body::{Body, Content, LogLine, Segment, StreamBody, TapeBody};
use super::conditional::{self, Conditions, Outcome, Validators};
use super::names::{self, Route};
use super::range::{self, Ranges};
use super::sources::{Archive, Version};

/// What every request handler shares.
pub struct State {
    /// The archives, in the order given.
    pub archives: Vec<Arc<Archive>>,
    /// At most this many ranges per request after coalescing.
    pub max_ranges: usize,
}

/// What is served at a URL.
struct Resource {
    archive: Arc<Archive>,
    version: Arc<Version>,
    validators: Validators,
    /// Where its bytes lie in the archive (`None`: a deflated ZIP, stream-only).
    span: Option<(u64, u64)>,
    /// The span is in the uncompressed TAR (a member of a compressed tape), not the archive.
    in_tar: bool,
    content_type: &'static str,
    disposition: String,
}

/// Answers `req` (never an error: failures are responses).
pub async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: std::net::SocketAddr,
) -> Result<Response<Body>, std::convert::Infallible> {
    let log = LogLine {
        peer: peer.to_string(),
        request: format!("{} {}", req.method(), req.uri()),
        range: req.headers().get(header::RANGE).map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .escape_debug()
                .to_string()
        }),
        start: Instant::now(),
    };
    Ok(answer(&req, &state, log).await)
}

async fn answer(req: &Request<Incoming>, state: &State, log: LogLine) -> Response<Body> {
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n", log);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
    };
    let route = match names::route(req.uri().path().as_bytes()) {
        Ok(r) => r,
        Err(why) => return text(StatusCode::BAD_REQUEST, &format!("{why}\n"), log),
    };
    let (archive_name, member) = match route {
        Route::Index => return index(state, head, log),
        Route::Archive(name) => (name, None),
        Route::Member(name, member) => (name, Some(member)),
    };
    let Some(archive) = state
        .archives
        .iter()
        .find(|a| a.file_name() == archive_name)
    else {
        return text(StatusCode::NOT_FOUND, "no such archive\n", log);
    };
    let version = archive.current();
    if let Some(why) = version.failure() {
        let state = if archive.is_rescanning() {
            "; rescanning"
        } else {
            ""
        };
        let msg = format!("this archive is no longer served: its source changed{state}: {why}\n");
        let mut r = text(StatusCode::SERVICE_UNAVAILABLE, &msg, log);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return r;
    }
    let resource = match member {
        None => archive_resource(archive, version),
        Some(m) => match member_resource(archive, version, &m) {
            Ok(r) => r,
            Err((status, why)) => return text(status, why, log),
        },
    };
    respond(req, state, resource, head, log).await
}

fn archive_resource(archive: &Arc<Archive>, version: Arc<Version>) -> Resource {
    let content_type = match version.extension() {
        "zip" => "application/zip",
        "tar.zst" => "application/zstd",
        "tar.gz" => "application/gzip",
        _ => "application/x-tar",
    };
    let span = version.size.map(|s| (0, s));
    Resource {
        validators: Validators {
            etag: version.etag.clone(),
            last_modified: version.last_modified,
        },
        disposition: names::disposition("attachment", &archive.file_name()),
        archive: archive.clone(),
        version,
        span,
        in_tar: false,
        content_type,
    }
}

fn member_resource(
    archive: &Arc<Archive>,
    version: Arc<Version>,
    name: &[u8],
) -> Result<Resource, (StatusCode, &'static str)> {
    if version.size.is_none() {
        return Err((
            StatusCode::NOT_IMPLEMENTED,
            "members of a ZIP with deflated entries cannot be read on their own\n",
        ));
    }
    let name = name.strip_suffix(b"/").unwrap_or(name);
    let not_found = (StatusCode::NOT_FOUND, "no such member\n");
    let layout = version.tape.layout();
    let index = layout.locate(name).ok().flatten().ok_or(not_found)?;
    let slot = version.tape.slot(index).map_err(|_| not_found)?;
    if slot.entry.kind != tartape::EntryKind::File {
        return Err((StatusCode::NOT_FOUND, "not a file: only files are served\n"));
    }
    let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    let mtime =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(slot.entry.mtime.max(0) as u64);
    Ok(Resource {
        validators: Validators {
            etag: format!("\"{}-{index}\"", version.fingerprint),
            last_modified: mtime.min(SystemTime::now()),
        },
        content_type: names::content_type(base),
        disposition: names::disposition("inline", base),
        span: Some((slot.data_offset(), slot.entry.size)),
        in_tar: true,
        archive: archive.clone(),
        version,
    })
}

fn all<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Vec<&'a [u8]> {
    headers
        .get_all(name)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect()
}

async fn respond(
    req: &Request<Incoming>,
    state: &State,
    r: Resource,
    head: bool,
    log: LogLine,
) -> Response<Body> {
    let h = req.headers();
    let conditions = Conditions {
        if_match: all(h, &header::IF_MATCH),
        if_none_match: all(h, &header::IF_NONE_MATCH),
        if_modified_since: all(h, &header::IF_MODIFIED_SINCE),
        if_unmodified_since: all(h, &header::IF_UNMODIFIED_SINCE),
        if_range: all(h, &header::IF_RANGE),
    };
    let outcome = conditional::evaluate(&conditions, &r.validators);
    let mut builder = Response::builder()
        .header(header::ETAG, &r.validators.etag)
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(r.validators.last_modified),
        );
    let use_ranges = match outcome {
        Outcome::Failed => {
            return finish(
                builder,
                StatusCode::PRECONDITION_FAILED,
                Content::Empty,
                Some(0),
                log,
            )
        }
        Outcome::NotModified => {
            return finish(builder, StatusCode::NOT_MODIFIED, Content::Empty, None, log)
        }
        Outcome::Proceed { ranges } => ranges,
    };
    builder = builder.header(header::CONTENT_DISPOSITION, &r.disposition);
    let Some((base, len)) = r.span else {
        builder = builder.header(header::CONTENT_TYPE, r.content_type);
        // A deflated ZIP: the whole stream, chunked; ranges are not offered.
        builder = builder.header(header::ACCEPT_RANGES, "none");
        if head {
            return finish(builder, StatusCode::OK, Content::Empty, None, log);
        }
        return match StreamBody::new(r.archive.clone(), r.version.clone()) {
            Ok(b) => finish(
                builder,
                StatusCode::OK,
                Content::Stream(Box::new(b)),
                None,
                log,
            ),
            Err(e) => read_failed(&r, &e, log),
        };
    };
    builder = builder.header(header::ACCEPT_RANGES, "bytes");
    let ranges = match h
        .get_all(header::RANGE)
        .iter()
        .collect::<Vec<_>>()
        .as_slice()
    {
        [v] if use_ranges && !head => range::parse(v.as_bytes(), len, state.max_ranges),
        _ => Ranges::Whole,
    };
    let (status, segments, declared) = match ranges {
        Ranges::Whole => {
            builder = builder.header(header::CONTENT_TYPE, r.content_type);
            (StatusCode::OK, vec![(base, len)], len)
        }
        Ranges::Unsatisfiable => {
            let b = Response::builder()
                .header(header::ETAG, &r.validators.etag)
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::CONTENT_RANGE, format!("bytes */{len}"));
            let msg = Bytes::from_static(b"range not satisfiable\n");
            let n = msg.len() as u64;
            let b = b.header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
            return finish(
                b,
                StatusCode::RANGE_NOT_SATISFIABLE,
                Content::Full(msg),
                Some(n),
                log,
            );
        }
        Ranges::Parts(parts) if parts.len() == 1 => {
            let p = &parts[0];
            builder = builder.header(header::CONTENT_TYPE, r.content_type).header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", p.start, p.end - 1),
            );
            (
                StatusCode::PARTIAL_CONTENT,
                vec![(base + p.start, p.end - p.start)],
                p.end - p.start,
            )
        }
        Ranges::Parts(parts) => {
            let (segments, total, boundary) = multipart(&parts, base, len, r.content_type);
            builder = builder.header(
                header::CONTENT_TYPE,
                format!("multipart/byteranges; boundary={boundary}"),
            );
            return send(
                builder,
                StatusCode::PARTIAL_CONTENT,
                &r,
                segments,
                total,
                head,
                log,
            )
            .await;
        }
    };
    let segments = segments
        .into_iter()
        .map(|(offset, len)| Segment::Tape { offset, len })
        .collect();
    send(builder, status, &r, segments, declared, head, log).await
}

/// The segments of a multipart/byteranges body (RFC 9110 14.6), its length and its boundary.
fn multipart(
    parts: &[std::ops::Range<u64>],
    base: u64,
    len: u64,
    content_type: &str,
) -> (Vec<Segment>, u64, String) {
    let boundary = boundary();
    let mut segments = Vec::with_capacity(parts.len() * 2 + 1);
    let mut total = 0u64;
    for p in parts {
        let head = format!(
            "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
            p.start,
            p.end - 1
        );
        total += head.len() as u64 + (p.end - p.start);
        segments.push(Segment::Bytes(Bytes::from(head)));
        segments.push(Segment::Tape {
            offset: base + p.start,
            len: p.end - p.start,
        });
    }
    let tail = format!("\r\n--{boundary}--\r\n");
    total += tail.len() as u64;
    segments.push(Segment::Bytes(Bytes::from(tail)));
    (segments, total, boundary)
}

/// A boundary that no content is likely to hold: 32 random hex digits.
fn boundary() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let a = h.finish();
    let b = std::collections::hash_map::RandomState::new().hash_one(a);
    format!("tartape{a:016x}{b:016x}")
}

/// Sends `segments` of the tape (read first, so an archive that changed already is refused before
/// a byte goes out).
async fn send(
    builder: hyper::http::response::Builder,
    status: StatusCode,
    r: &Resource,
    segments: Vec<Segment>,
    declared: u64,
    head: bool,
    log: LogLine,
) -> Response<Body> {
    let builder = builder.header(header::CONTENT_LENGTH, declared);
    if head {
        return finish(builder, status, Content::Empty, Some(declared), log);
    }
    match TapeBody::start(r.archive.clone(), r.version.clone(), segments, r.in_tar).await {
        Ok(body) => finish(
            builder,
            status,
            Content::Tape(Box::new(body)),
            Some(declared),
            log,
        ),
        Err(e) => read_failed(r, &e, log),
    }
}

fn read_failed(r: &Resource, e: &tartape::Error, log: LogLine) -> Response<Body> {
    r.archive.fail(&r.version, e);
    let msg = match r.version.failure() {
        Some(why) => format!("this archive is no longer served: its source changed: {why}\n"),
        None => format!("{e}\n"),
    };
    text(StatusCode::SERVICE_UNAVAILABLE, &msg, log)
}

fn finish(
    builder: hyper::http::response::Builder,
    status: StatusCode,
    content: Content,
    declared: Option<u64>,
    log: LogLine,
) -> Response<Body> {
    let body = Body::new(content, log, status.as_u16(), declared);
    match builder.status(status).body(body) {
        Ok(r) => r,
        Err(e) => {
            // Only an invalid header value can get here; the body (and its log line) is gone
            // with the builder, so log the failure itself.
            eprintln!("tartape: serve: internal error building a response: {e}");
            let mut r = Response::new(Body::new(
                Content::Empty,
                LogLine {
                    peer: String::new(),
                    request: "(response failed)".into(),
                    range: None,
                    start: Instant::now(),
                },
                500,
                Some(0),
            ));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

/// A short plain-text response.
fn text(status: StatusCode, msg: &str, log: LogLine) -> Response<Body> {
    let bytes = Bytes::from(msg.to_owned());
    let n = bytes.len() as u64;
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_LENGTH, n);
    finish(builder, status, Content::Full(bytes), Some(n), log)
}

/// `/`: every archive with its size, entry count and fingerprint.
fn index(state: &State, head: bool, log: LogLine) -> Response<Body> {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tartape</title></head><body>\n\
         <h1>Archives</h1>\n<table>\n<tr><th>archive</th><th>size (bytes)</th><th>entries</th>\
         <th>fingerprint</th><th>state</th></tr>\n",
    );
    for a in &state.archives {
        let v = a.current();
        let file = a.file_name();
        let size = v
            .size
            .map_or("streamed (deflated)".into(), |s| s.to_string());
        let st = match v.failure() {
            Some(why) => format!("refused: {}", names::html(why.as_bytes())),
            None => "served".into(),
        };
        html.push_str(&format!(
            "<tr><td><a href=\"/{}\">{}</a></td><td>{size}</td><td>{}</td><td><code>{}</code></td><td>{st}</td></tr>\n",
            names::href(&file),
            names::html(&file),
            v.tape.len(),
            v.fingerprint
        ));
    }
    html.push_str("</table>\n</body></html>\n");
    let n = html.len() as u64;
    let content = if head {
        Content::Empty
    } else {
        Content::Full(Bytes::from(html))
    };
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, n)
        .header(header::CACHE_CONTROL, "no-cache");
    finish(builder, StatusCode::OK, content, Some(n), log)
}
