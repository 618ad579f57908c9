//! A small HTTP/1.1 proxy on loopback between the uploader and the S3 server, for faults the
//! server must see: it can slow uploads down (so that a test can kill the uploader or stop the
//! server in the middle) and flip one byte in the body of the first request whose request line
//! contains a given text (a part damaged on the way, which the server must refuse).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to the traffic.
#[derive(Default)]
pub struct Faults {
    /// Bytes per second from client to server (0: as fast as it goes).
    pub rate: AtomicU64,
    /// Flip a byte in the body of the first request whose request line contains this.
    pub flip_once: Mutex<Option<String>>,
    /// Set once a byte was flipped.
    pub flipped: AtomicBool,
}

/// A running proxy; it stops with the test process.
pub struct Proxy {
    pub port: u16,
    pub faults: Arc<Faults>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults = Arc::new(Faults::default());
        let f = faults.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let f = f.clone();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || requests(client, server, &f));
                std::thread::spawn(move || copy(s2, c2));
            }
        });
        Proxy { port, faults }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Server to client, as it comes.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Client to server, request by request (headers, then a Content-Length body), slowed down and
/// damaged as the faults say.
fn requests(mut from: TcpStream, mut to: TcpStream, faults: &Faults) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        // Read up to the end of the headers.
        let head_end = loop {
            if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&pending[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while pending.len() < head_end + length {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        let mut request: Vec<u8> = pending.drain(..head_end + length).collect();
        let first_line = head.lines().next().unwrap_or("").to_string();
        {
            let mut flip = faults.flip_once.lock().unwrap();
            if length > 0 && flip.as_deref().is_some_and(|t| first_line.contains(t)) {
                request[head_end + length / 2] ^= 0x01;
                *flip = None;
                faults.flipped.store(true, Ordering::SeqCst);
            }
        }
        for chunk in request.chunks(16 << 10) {
            if to.write_all(chunk).is_err() {
                return;
            }
            let rate = faults.rate.load(Ordering::Relaxed);
            if rate > 0 {
                std::thread::sleep(Duration::from_secs_f64(chunk.len() as f64 / rate as f64));
            }
        }
    }
}
