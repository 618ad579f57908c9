//! A real S3 server for the tests: SeaweedFS's `weed mini`, built once per machine by
//! tests/services/seaweedfs.sh, started on free loopback ports with a fresh data directory,
//! ready when a signed HEAD of its bucket answers 200, stopped by its PID. And signed requests
//! to it with curl (`--aws-sigv4`), so that what the tests read back does not go through the code
//! under test.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const KEY: &str = "tartape-test-key";
pub const SECRET: &str = "tartape-test-secret";
pub const BUCKET: &str = "tapes";

/// The `weed` binary, if tests/services/seaweedfs.sh has built it (CI builds it before the tests;
/// `--cached` only reports).
pub fn weed_binary() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/services/seaweedfs.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("--cached")
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

/// A port `p` with `p` and `p + 10000` (SeaweedFS's gRPC port) both free on 127.0.0.1.
fn free_port(taken: &mut Vec<u16>) -> u16 {
    let mut seed = std::process::id() as u64 * 7919 + taken.len() as u64 * 104_729;
    loop {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let p = 20000 + (seed >> 33) as u16 % 10000;
        if taken.contains(&p) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p)).is_ok()
            && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok()
        {
            taken.push(p);
            return p;
        }
    }
}

/// One running server.
pub struct Seaweed {
    bin: PathBuf,
    pub dir: PathBuf,
    ports: Vec<u16>,
    pub s3_port: u16,
    child: Option<Child>,
}

impl Seaweed {
    /// Starts a server on a fresh directory `dir` (removed first).
    pub fn start(bin: &Path, dir: &Path) -> Seaweed {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let mut ports = Vec::new();
        for _ in 0..5 {
            free_port(&mut ports);
        }
        let mut s = Seaweed {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            s3_port: ports[0],
            ports,
            child: None,
        };
        s.launch(Duration::from_secs(60));
        s
    }

    fn launch(&mut self, ready_within: Duration) {
        let p = &self.ports;
        let log = std::fs::File::create(self.dir.join("weed.log")).unwrap();
        let child = Command::new(&self.bin)
            .arg("mini")
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
            ])
            .arg(format!("-bucket={BUCKET}"))
            .args([
                "-webdav=false",
                "-s3.port.iceberg=0",
                "-admin.port.legacy=0",
            ])
            .arg(format!("-s3.port={}", p[0]))
            .arg(format!("-master.port={}", p[1]))
            .arg(format!("-volume.port={}", p[2]))
            .arg(format!("-filer.port={}", p[3]))
            .arg(format!("-admin.port={}", p[4]))
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("weed starts");
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < ready_within {
            if self
                .curl(&["-I", &self.bucket_url()])
                .stdout
                .starts_with(b"200")
            {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "weed exited with {status}: see {}/weed.log",
                    self.dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "weed not ready within {ready_within:?}: see {}/weed.log",
            self.dir.display()
        );
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc_kill(c.id() as i32, 15) };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same data and ports (its first write may be slow then).
    pub fn restart(&mut self) {
        self.stop();
        self.launch(Duration::from_secs(90));
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    pub fn bucket_url(&self) -> String {
        format!("{}/{BUCKET}", self.endpoint())
    }

    /// A signed request with curl; `-w` adds the status code on the first line of stdout.
    pub fn curl(&self, args: &[&str]) -> Output {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}\n"])
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{KEY}:{SECRET}"))
            .args(args)
            .output()
            .expect("curl runs")
    }

    /// The object's bytes and its ETag header, or None when it does not exist.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, String)> {
        let body = self.dir.join("get.body");
        let headers = self.dir.join("get.headers");
        let out = Command::new("curl")
            .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{KEY}:{SECRET}"))
            .arg("-o")
            .arg(&body)
            .arg("-D")
            .arg(&headers)
            .arg("-w")
            .arg("%{http_code}")
            .arg(format!("{}/{key}", self.bucket_url()))
            .output()
            .unwrap();
        if out.stdout != b"200" {
            return None;
        }
        let h = std::fs::read_to_string(&headers).unwrap();
        let etag = h
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("etag").then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        Some((std::fs::read(&body).unwrap(), etag))
    }

    /// Puts `data` as part `n` of upload `id` (behind the uploader's back).
    pub fn put_part(&self, key: &str, id: &str, n: u32, data: &Path) -> String {
        // curl signs the payload as unsigned only when told (it is sent over loopback).
        let out = self.curl(&[
            "-H",
            "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "-H",
            "Content-Type: application/octet-stream",
            "-X",
            "PUT",
            "--data-binary",
            &format!("@{}", data.display()),
            &format!("{}/{key}?partNumber={n}&uploadId={id}", self.bucket_url()),
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The environment the uploader needs: credentials, region, no instance metadata.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.stop();
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
