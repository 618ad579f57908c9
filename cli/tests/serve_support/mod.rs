//! What the serve tests share: the server started on a free loopback port and stopped by PID,
//! a raw HTTP/1.1 client (so that hostile requests reach the server unchanged), multipart and
//! chunked decoding, the trees served and `tartape create` of them.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tartape");

pub fn scratch(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tartape-serve-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    p
}

/// Fails the test when `tool` is not installed.
pub fn need(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "{tool} is required by this test: run tests/deps.sh");
}

/// Pseudo-random bytes (xorshift), so that no two windows of an archive look alike.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A tree with a large file, small ones, a long non-ASCII name (pax header) and a subdirectory.
pub fn tree(root: &Path, name: &str, big: usize) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    fs::write(dir.join("big.bin"), noise(1, big)).unwrap();
    fs::write(dir.join("sub/hello.txt"), b"hello, world\n").unwrap();
    fs::write(dir.join("sub/empty"), b"").unwrap();
    let long = format!("sub/deeper/{}é.txt", "long-name-".repeat(12));
    fs::write(dir.join(long), noise(2, 5000)).unwrap();
    for i in 0..20 {
        fs::write(
            dir.join(format!("sub/f{i:02}")),
            noise(10 + i, 100 * i as usize),
        )
        .unwrap();
    }
    dir
}

/// `tartape create` of `dir` with `extra` options: what the server must serve.
pub fn create(dir: &Path, extra: &[&str]) -> Vec<u8> {
    let out = Command::new(BIN)
        .arg("create")
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "create: {out:?}");
    out.stdout
}

/// A server started on a free port, stopped by PID when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub fn start(root: &Path, args: &[&OsStr]) -> Server {
        let log = root.join(format!("server-{}.log", rand_tag()));
        let child = Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.port == 0 {
            assert!(
                Instant::now() < deadline,
                "no listening line: {}",
                server.log_text()
            );
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("server ended with {status}: {}", server.log_text());
            }
            let text = server.log_text();
            if let Some(rest) = text.split("listening on http://127.0.0.1:").nth(1) {
                server.port = rest.split('/').next().unwrap().parse().unwrap();
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Ready when a real request is answered.
        loop {
            assert!(
                Instant::now() < deadline,
                "not answering: {}",
                server.log_text()
            );
            if let Ok(r) = try_raw(
                server.port,
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ) {
                assert_eq!(r.status, 200);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rand_tag() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(1);
    h.finish()
}

/// A response read by the raw client below.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as it is (so that hostile requests reach the server unchanged) and reads the
/// response to the end of the connection.
pub fn try_raw(port: u16, request: &[u8]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    parse_response(&all).ok_or_else(|| {
        std::io::Error::other(format!(
            "unparsable: {:?}",
            String::from_utf8_lossy(&all[..all.len().min(300)])
        ))
    })
}

pub fn raw(port: u16, request: &[u8]) -> Resp {
    try_raw(port, request).unwrap()
}

/// `GET path` with extra header lines, connection closed after the response.
pub fn get(port: u16, path: &str, headers: &[&str]) -> Resp {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    raw(port, req.as_bytes())
}

pub fn parse_response(all: &[u8]) -> Option<Resp> {
    let end = all.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&all[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = all[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

pub fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).ok()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// The parts of a multipart/byteranges body: (first, last, total, bytes) each.
pub fn multipart(resp: &Resp) -> Vec<(u64, u64, u64, Vec<u8>)> {
    let ct = resp.header("content-type").unwrap();
    let boundary = ct.split("boundary=").nth(1).unwrap().trim_matches('"');
    let delim = format!("\r\n--{boundary}");
    let body = &resp.body;
    let mut parts = Vec::new();
    let mut pos = 0;
    loop {
        let at = find(&body[pos..], delim.as_bytes()).unwrap() + pos + delim.len();
        if body[at..].starts_with(b"--") {
            return parts;
        }
        let head_end = find(&body[at..], b"\r\n\r\n").unwrap() + at;
        let head = std::str::from_utf8(&body[at..head_end]).unwrap();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: bytes "))
            .unwrap();
        let (span, total) = range.split_once('/').unwrap();
        let (a, b) = span.split_once('-').unwrap();
        let (a, b, total): (u64, u64, u64) = (
            a.parse().unwrap(),
            b.parse().unwrap(),
            total.parse().unwrap(),
        );
        let data = body[head_end + 4..head_end + 4 + (b - a + 1) as usize].to_vec();
        pos = head_end + 4 + data.len();
        parts.push((a, b, total, data));
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn curl(args: &[&str]) -> std::process::Output {
    need("curl");
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "120"])
        .args(args)
        .output()
        .unwrap()
}

pub fn os(s: &Path) -> &OsStr {
    s.as_os_str()
}
