//! `tartape serve` with real clients: curl (full, ranges across header boundaries, `-C -`,
//! multi-range, If-Range), `wget -c`, aria2c with 8 connections, Python requests and Go's net/http
//! client, each started here against a server started here on a free loopback port. Every body is
//! compared with `tartape create` of the same source. Also hostile Range, conditional and path
//! input, a file appended to during a download, `--rescan`, a deflated ZIP, and a load of 64
//! clients asking random ranges with every byte checked.
//!
//! A tool these tests need must be installed (tests/deps.sh installs them): a missing one fails
//! the test, it never passes silently.

mod serve_support;

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_support::*;

#[test]
fn curl_full_ranges_across_headers_resume_multirange_and_if_range_equal_create() {
    let root = scratch("curl");
    let dir = tree(&root, "site", 3_000_000);
    let want = create(&dir, &[]);
    let server = Server::start(&root, &[os(&dir)]);
    let url = server.url("/site.tar");

    // Whole, and its headers.
    let out = root.join("full.tar");
    let r = curl(&["-o", out.to_str().unwrap(), "-D", "-", &url]);
    assert!(r.status.success(), "{r:?}");
    assert!(fs::read(&out).unwrap() == want, "full download differs");
    let head_raw = String::from_utf8_lossy(&r.stdout).into_owned();
    let head = head_raw.to_ascii_lowercase();
    assert!(
        head.contains(&format!("content-length: {}", want.len())),
        "{head}"
    );
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    assert!(head.contains("content-type: application/x-tar"), "{head}");
    assert!(
        head.contains("content-disposition: attachment; filename=\"site.tar\""),
        "{head}"
    );
    assert!(head.contains("last-modified: "), "{head}");
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap()
        .trim()
        .to_string();
    assert!(
        etag.starts_with('"') && etag.len() == 34,
        "a strong ETag from the fingerprint: {etag}"
    );

    // Ranges that cross every entry's header, content and padding boundaries (from the
    // manifest of `tartape create`), and the ends.
    let n = want.len() as u64;
    let manifest = root.join("manifest.jsonl");
    let out = Command::new(BIN)
        .args(["create", "-o"])
        .arg(root.join("again.tar"))
        .arg("--manifest")
        .arg(&manifest)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut boundaries = Vec::new();
    for line in fs::read_to_string(&manifest).unwrap().lines() {
        for key in [
            "\"header_offset\": ",
            "\"data_offset\": ",
            "\"end_offset\": ",
        ] {
            if let Some(rest) = line.split(key).nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                boundaries.push(digits.parse::<u64>().unwrap());
            }
        }
    }
    assert!(boundaries.len() >= 3 * 25, "{boundaries:?}");
    let mut ranges: Vec<(u64, u64)> = boundaries
        .iter()
        .filter(|&&b| b > 0 && b < n)
        .flat_map(|&b| [(b - 1, b), (b.saturating_sub(300), (b + 700).min(n - 1))])
        .collect();
    ranges.extend([
        (0, 0),
        (0, 511),
        (511, 512),
        (n - 1, n - 1),
        (n - 1100, n - 1),
        (1_000_000, 2_000_123),
    ]);
    for (a, b) in ranges {
        let r = curl(&[
            "-r",
            &format!("{a}-{b}"),
            "-w",
            "%{http_code}",
            "-o",
            "-",
            &url,
        ]);
        let (body, code) = r.stdout.split_at(r.stdout.len() - 3);
        assert_eq!(code, b"206", "{a}-{b}");
        assert!(
            body == &want[a as usize..=b as usize],
            "range {a}-{b} differs"
        );
    }
    let r = curl(&["-r", "-1000", "-o", "-", &url]);
    assert!(r.stdout == want[want.len() - 1000..], "suffix range");
    let r = curl(&["-r", "2999000-", "-o", "-", &url]);
    assert!(r.stdout == want[2_999_000..], "open-ended range");

    // Resume: a partial file is completed with -C -.
    let part = root.join("part.tar");
    fs::write(&part, &want[..1_234_567]).unwrap();
    let r = curl(&["-C", "-", "-o", part.to_str().unwrap(), &url]);
    assert!(r.status.success(), "{r:?}");
    assert!(fs::read(&part).unwrap() == want, "resumed download differs");

    // Several ranges: multipart/byteranges, overlapping ones coalesced.
    let r = curl(&[
        "-r",
        "0-99,5000-5099,50-150,2000000-2000999",
        "-D",
        root.join("mh").to_str().unwrap(),
        "-o",
        root.join("mb").to_str().unwrap(),
        &url,
    ]);
    assert!(r.status.success(), "{r:?}");
    let mut all = fs::read(root.join("mh")).unwrap();
    all.extend(fs::read(root.join("mb")).unwrap());
    let resp = parse_response(&all).unwrap();
    assert_eq!(resp.status, 206);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("multipart/byteranges; boundary="));
    let parts = multipart(&resp);
    let spans: Vec<(u64, u64)> = parts.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(spans, [(0, 150), (5000, 5099), (2_000_000, 2_000_999)]);
    for (a, b, total, data) in &parts {
        assert_eq!(*total, n);
        assert!(data[..] == want[*a as usize..=*b as usize], "part {a}-{b}");
    }
    assert_eq!(
        resp.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        resp.body.len()
    );

    // If-Range: our ETag gives the range, another one (or an old date) the whole archive.
    let code = |extra: &[&str]| {
        let mut args = vec![
            "-r",
            "100-199",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
        ];
        args.extend_from_slice(extra);
        args.push(&url);
        String::from_utf8(curl(&args).stdout).unwrap()
    };
    let if_range = format!("If-Range: {etag}");
    assert_eq!(code(&["-H", &if_range]), "206 100");
    assert_eq!(code(&["-H", "If-Range: \"0123\""]), format!("200 {n}"));
    assert_eq!(
        code(&["-H", "If-Range: Mon, 01 Jan 2001 00:00:00 GMT"]),
        format!("200 {n}")
    );
    // curl's own conditional option and a resume with the date curl saw.
    let lm = head_raw
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("last-modified: ")
                .then(|| l[15..].to_string())
        })
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(code(&["-H", &format!("If-Range: {lm}")]), "206 100");
    let inm = format!("If-None-Match: {etag}");
    let r = curl(&["-o", "/dev/null", "-w", "%{http_code}", "-H", &inm, &url]);
    assert_eq!(r.stdout, b"304");
    let r = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "If-Match: \"nope\"",
        &url,
    ]);
    assert_eq!(r.stdout, b"412");

    // Members: their content, by name, with ranges.
    let r = curl(&["-o", "-", &server.url("/site.tar/site/sub/hello.txt")]);
    assert_eq!(r.stdout, b"hello, world\n");
    let long = format!(
        "/site.tar/site/sub/deeper/{}%C3%A9.txt",
        "long-name-".repeat(12)
    );
    let r = curl(&["-r", "4990-", "-o", "-", &server.url(&long)]);
    assert!(r.stdout == noise(2, 5000)[4990..], "member range");
    let r = curl(&["-o", "-", &server.url("/site.tar/site/big.bin")]);
    assert!(r.stdout == noise(1, 3_000_000), "large member");

    // The log has one line per request with method, path, range, status and bytes.
    let log = server.log_text();
    assert!(
        log.contains("\"GET /site.tar\" range=bytes=100-199 206 100 bytes"),
        "{log}"
    );
}

#[test]
fn wget_continue_and_aria2c_with_eight_connections_get_the_same_bytes() {
    need("wget");
    need("aria2c");
    let root = scratch("wget");
    let dir = tree(&root, "data", 12 << 20);
    let want = create(&dir, &[]);
    let server = Server::start(&root, &[os(&dir)]);
    let url = server.url("/data.tar");

    let out = root.join("w/data.tar");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    fs::write(&out, &want[..5_000_001]).unwrap();
    let r = Command::new("wget")
        .args(["-q", "-c", "--timeout=60", "-O"])
        .arg(&out)
        .arg(&url)
        .output()
        .unwrap();
    assert!(r.status.success(), "{r:?}");
    assert!(fs::read(&out).unwrap() == want, "wget -c result differs");
    assert!(
        server.log_text().contains("range=bytes=5000001- 206"),
        "wget asked for the rest"
    );

    let adir = root.join("a");
    let r = Command::new("aria2c")
        .args([
            "-q",
            "-x8",
            "-s8",
            "-k1M",
            "--min-split-size=1M",
            "--file-allocation=none",
            "--allow-overwrite=true",
            "--timeout=60",
            "-d",
        ])
        .arg(&adir)
        .args(["-o", "data.tar", &url])
        .output()
        .unwrap();
    assert!(r.status.success(), "{r:?}");
    assert!(
        fs::read(adir.join("data.tar")).unwrap() == want,
        "aria2c result differs"
    );
    let ranged = server.log_text().matches("range=bytes=").count();
    assert!(
        ranged >= 4,
        "aria2c used several ranged connections: {}",
        server.log_text()
    );
}

#[test]
fn python_requests_reads_whole_ranges_and_conditionals() {
    let root = scratch("python");
    let dir = tree(&root, "py", 1_000_000);
    let want = create(&dir, &[]);
    let expected = root.join("expected.tar");
    fs::write(&expected, &want).unwrap();
    let server = Server::start(&root, &[os(&dir)]);
    let script = r#"
import sys, requests
url, expected = sys.argv[1], open(sys.argv[2], 'rb').read()
s = requests.Session()
r = s.get(url)
assert r.status_code == 200 and r.content == expected, (r.status_code, len(r.content))
etag = r.headers['ETag']
assert r.headers['Accept-Ranges'] == 'bytes'
assert int(r.headers['Content-Length']) == len(expected)
r = s.get(url, headers={'Range': 'bytes=1000-1999'})
assert r.status_code == 206 and r.content == expected[1000:2000]
assert r.headers['Content-Range'] == 'bytes 1000-1999/%d' % len(expected)
r = s.get(url, headers={'If-None-Match': etag})
assert r.status_code == 304 and r.content == b''
r = s.get(url, headers={'Range': 'bytes=0-9', 'If-Range': etag})
assert r.status_code == 206 and r.content == expected[:10]
r = s.get(url, headers={'Range': 'bytes=%d-' % (len(expected) + 5)})
assert r.status_code == 416 and r.headers['Content-Range'] == 'bytes */%d' % len(expected)
r = s.head(url)
assert r.status_code == 200 and int(r.headers['Content-Length']) == len(expected) and r.content == b''
with s.get(url, stream=True) as r:
    got = b''.join(r.iter_content(65536))
assert got == expected
print('ok')
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.url("/py.tar")])
        .arg(&expected)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python requests: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"ok\n");
}

#[test]
fn go_net_http_client_reads_whole_and_ranges() {
    need("go");
    let root = scratch("go");
    let dir = tree(&root, "gosrc", 2_000_000);
    let want = create(&dir, &[]);
    let expected = root.join("expected.tar");
    fs::write(&expected, &want).unwrap();
    let server = Server::start(&root, &[os(&dir)]);
    let program = r#"package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
)

func fail(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }

func main() {
	url := os.Args[1]
	want, err := os.ReadFile(os.Args[2])
	if err != nil { fail("%v", err) }
	resp, err := http.Get(url)
	if err != nil { fail("get: %v", err) }
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, want) { fail("whole: %v %d %d", err, resp.StatusCode, len(got)) }
	etag := resp.Header.Get("ETag")
	for _, r := range [][2]int{{0, 511}, {500, 1500}, {len(want) - 1024, len(want) - 1}} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		req.Header.Set("If-Range", etag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil { fail("range: %v", err) }
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 206 || !bytes.Equal(got, want[r[0]:r[1]+1]) { fail("range %v: %v %d", r, err, resp.StatusCode) }
	}
	fmt.Println("ok")
}
"#;
    let src = root.join("client.go");
    fs::write(&src, program).unwrap();
    let out = Command::new("go")
        .arg("run")
        .arg(&src)
        .arg(server.url("/gosrc.tar"))
        .arg(&expected)
        .env("GO111MODULE", "off")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"ok\n");
}

#[test]
fn hostile_ranges_and_conditionals_get_the_rfc_answer() {
    let root = scratch("hostile");
    let dir = tree(&root, "h", 100_000);
    let want = create(&dir, &[]);
    let n = want.len();
    let server = Server::start(&root, &[os(&dir)]);
    let p = server.port;
    let many_same = format!("Range: bytes={}", vec!["0-99"; 10_000].join(","));
    let many_distinct = format!(
        "Range: bytes={}",
        (0..2_000)
            .map(|i| format!("{}-{}", 3 * i, 3 * i))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases: Vec<(String, u16)> = vec![
        ("Range: garbage".into(), 200),
        ("Range: bytes=".into(), 200),
        ("Range: bytes=-".into(), 200),
        ("Range: bytes=--1".into(), 200),
        ("Range: bytes=-5-10".into(), 200),
        ("Range: bytes=10-5".into(), 200),
        ("Range: bytes=1-2,x".into(), 200),
        ("Range: pages=1-2".into(), 200),
        ("Range: bytes=99999999999999999999999999999-".into(), 416),
        (format!("Range: bytes={n}-"), 416),
        ("Range: bytes=-0".into(), 416),
        ("Range: bytes=0-99999999999999999999999999999".into(), 206),
        ("Range: bytes=-99999999999999999999999999999".into(), 206),
        (many_same, 206),
        (many_distinct, 200),
        ("Range: bytes=0-10,5-20,15-30".into(), 206),
        ("If-Match: garbage".into(), 412),
        ("If-Match: *".into(), 200),
        // Control characters in a field value: refused by the HTTP parser.
        ("If-None-Match: \u{7f}\u{1}".into(), 400),
        ("If-None-Match: \"\u{80}\"".into(), 200),
        ("If-None-Match: *".into(), 304),
        ("If-Modified-Since: not a date".into(), 200),
        (
            "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT".into(),
            304,
        ),
        (
            "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT".into(),
            412,
        ),
        ("If-Range: \"abc\"\r\nRange: bytes=0-1".into(), 200),
        ("If-Range: W/\"x\"\r\nRange: bytes=0-1".into(), 200),
        ("If-Range: garbage\r\nRange: bytes=0-1".into(), 200),
        ("Range: bytes=0-1\r\nRange: bytes=2-3".into(), 200),
    ];
    for (h, status) in cases {
        let r = get(p, "/h.tar", &[&h]);
        let shown = &h[..h.len().min(60)];
        assert_eq!(r.status, status, "{shown}: {:?}", r.headers);
        match r.status {
            200 => assert!(r.body == want, "{shown}: a 200 is the whole archive"),
            206 if r.header("content-type").unwrap().starts_with("multipart/") => {
                for (a, b, _, data) in multipart(&r) {
                    assert!(data[..] == want[a as usize..=b as usize], "{shown}");
                }
            }
            206 => {
                let cr = r.header("content-range").unwrap();
                let a: usize = cr["bytes ".len()..]
                    .split('-')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(r.body == want[a..a + r.body.len()], "{shown}");
            }
            416 => assert_eq!(
                r.header("content-range"),
                Some(format!("bytes */{n}").as_str())
            ),
            _ => {}
        }
    }
    // The 10,000 copies of one range were one range.
    let r = get(
        p,
        "/h.tar",
        &[&format!("Range: bytes={}", vec!["0-99"; 10_000].join(","))],
    );
    assert_eq!((r.status, r.body.len()), (206, 100));
    // A head larger than the limit gets 431 (or, when the server closes before reading all of
    // it, a reset); the server is still there.
    let big = format!(
        "GET /h.tar HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    if let Ok(r) = try_raw(p, big.as_bytes()) {
        assert_eq!(r.status, 431);
    }
    assert_eq!(get(p, "/h.tar", &[]).status, 200);
}

#[test]
fn hostile_paths_never_reach_outside_the_sources() {
    let root = scratch("paths");
    let dir = tree(&root, "p", 10_000);
    fs::write(root.join("secret.txt"), b"SECRET outside the source\n").unwrap();
    let server = Server::start(&root, &[os(&dir)]);
    let targets: &[&[u8]] = &[
        b"/../secret.txt",
        b"/p.tar/../../secret.txt",
        b"/p.tar/p/../../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/p.tar/%2e%2e%2f%2e%2e%2fsecret.txt",
        b"/p.tar%2F..%2F..%2Fsecret.txt",
        b"/p.tar/%00",
        b"/p%00.tar",
        b"/p.tar/p/sub/hello.txt%00.png",
        b"/%zz",
        b"/p.tar/%",
        b"//etc/passwd",
        b"/etc/passwd",
        b"/p.tar/p/sub",
        b"/p.tar/",
        b"/p.tar/p/sub/../sub/hello.txt",
        b"http://127.0.0.1/../secret.txt",
        b"*",
        b"/p.tar/\xff",
    ];
    for t in targets {
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(t);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let r = raw(server.port, &req);
        let shown = String::from_utf8_lossy(t);
        assert!(matches!(r.status, 400 | 404), "{shown}: {}", r.status);
        assert!(
            find(&r.body, b"SECRET").is_none() && find(&r.body, b"root:").is_none(),
            "{shown}"
        );
    }
    // A request line with NUL or a space in the target is refused by the HTTP parser.
    let r = raw(server.port, b"GET /p.tar\x00 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        get(server.port, "/p.tar/p/sub/hello.txt", &[]).body,
        b"hello, world\n"
    );
    assert!(matches!(get(server.port, "/p.tar", &["X: y"]).status, 200));
    let r = raw(
        server.port,
        b"POST /p.tar HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
}

#[test]
fn head_keep_alive_index_catalogs_and_zip_archives() {
    let root = scratch("misc");
    let dir = tree(&root, "m", 200_000);
    let catalog = root.join("rec.tartape");
    let out = Command::new(BIN)
        .args(["record", "--quiet", "--catalog"])
        .arg(&catalog)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let want_tar = create(&dir, &[]);
    let server = Server::start(&root, &[os(&dir), os(&catalog)]);
    let p = server.port;
    // The catalog is served under its name, with the bytes of the walk.
    assert!(get(p, "/rec.tar", &[]).body == want_tar);
    // HEAD: the headers of a GET, no body.
    let r = raw(
        p,
        b"HEAD /m.tar HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length").unwrap(),
        want_tar.len().to_string()
    );
    assert!(r.body.is_empty());
    // Two requests on one connection.
    let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /m.tar HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\nGET /m.tar HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    assert_eq!(all.windows(12).filter(|w| w == b"HTTP/1.1 206").count(), 2);
    assert!(all.ends_with(&want_tar[10..20]));
    // The index lists both with size, entries and fingerprint.
    let r = get(p, "/", &[]);
    let html = String::from_utf8(r.body).unwrap();
    assert!(
        html.contains("href=\"/m.tar\"") && html.contains("href=\"/rec.tar\""),
        "{html}"
    );
    assert!(html.contains(&want_tar.len().to_string()), "{html}");
    drop(server);

    // ZIP: stored ones are served with ranges; members too.
    let want_zip = create(&dir, &["--format", "zip"]);
    let server = Server::start(
        &root,
        &[OsStr::new("--format"), OsStr::new("zip"), os(&dir)],
    );
    let r = get(server.port, "/m.zip", &[]);
    assert_eq!(r.header("content-type"), Some("application/zip"));
    assert!(r.body == want_zip);
    let r = get(server.port, "/m.zip", &["Range: bytes=100-"]);
    assert!(r.status == 206 && r.body == want_zip[100..]);
    assert_eq!(
        get(server.port, "/m.zip/m/sub/hello.txt", &[]).body,
        b"hello, world\n"
    );
    drop(server);

    // A deflated ZIP is stream-only: whole, chunked, no ranges.
    let want_deflated = create(&dir, &["--format", "zip", "--deflate"]);
    let server = Server::start(
        &root,
        &[
            OsStr::new("--format"),
            OsStr::new("zip"),
            OsStr::new("--deflate"),
            os(&dir),
        ],
    );
    let r = get(server.port, "/m.zip", &["Range: bytes=0-9"]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("accept-ranges"), Some("none"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(r.header("content-length").is_none());
    assert!(r.body == want_deflated, "deflated stream differs");
}

#[test]
fn a_file_appended_to_during_a_download_cuts_it_and_later_requests_get_503() {
    let root = scratch("integrity");
    let dir = tree(&root, "grow", 24 << 20);
    let other = tree(&root, "other", 1000);
    let want_other = create(&other, &[]);
    let server = Server::start(&root, &[os(&dir), os(&other)]);
    let out = root.join("cut.tar");
    let mut client = Command::new("curl")
        .args(["--silent", "--max-time", "120", "--limit-rate", "2M", "-o"])
        .arg(&out)
        .arg(server.url("/grow.tar"))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    fs::OpenOptions::new()
        .append(true)
        .open(dir.join("big.bin"))
        .unwrap()
        .write_all(b"appended")
        .unwrap();
    let status = client.wait().unwrap();
    // curl: 18 is "transfer closed with outstanding read data remaining".
    assert_eq!(
        status.code(),
        Some(18),
        "the client sees an incomplete transfer"
    );
    assert!(fs::metadata(&out).unwrap().len() < 24 << 20);
    let log = server.log_text();
    let file = dir.join("big.bin");
    assert!(
        log.contains(&format!("{}: source changed", file.display())),
        "the error names the file: {log}"
    );
    assert!(log.contains("cut short: read error"), "{log}");
    let r = get(server.port, "/grow.tar", &[]);
    assert_eq!(r.status, 503);
    assert!(
        String::from_utf8_lossy(&r.body).contains("grew"),
        "{:?}",
        r.body
    );
    let r = get(server.port, "/grow.tar/grow/sub/hello.txt", &[]);
    assert_eq!(
        r.status, 503,
        "members of a refused archive are refused too"
    );
    // Nothing else is affected.
    assert!(get(server.port, "/other.tar", &[]).body == want_other);
}

#[test]
fn rescan_serves_the_changed_source_under_a_new_etag() {
    let root = scratch("rescan");
    let dir = tree(&root, "re", 300_000);
    let server = Server::start(&root, &[OsStr::new("--rescan"), os(&dir)]);
    let first = get(server.port, "/re.tar", &[]);
    let old_etag = first.header("etag").unwrap().to_string();
    std::thread::sleep(Duration::from_millis(20));
    fs::write(dir.join("sub/hello.txt"), b"hello again, a longer world\n").unwrap();
    // The first read of the changed file fails before any byte goes out: 503.
    let r = get(server.port, "/re.tar/re/sub/hello.txt", &[]);
    assert_eq!(r.status, 503, "{:?}", r.headers);
    let want = create(&dir, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let fresh = loop {
        let r = get(server.port, "/re.tar", &[]);
        if r.status == 200 {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "not rescanned: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_ne!(fresh.header("etag").unwrap(), old_etag);
    assert!(fresh.body == want, "the new archive is the new walk");
    // A client resuming an old download with If-Range starts over.
    let r = get(
        server.port,
        "/re.tar",
        &["Range: bytes=1000-", &format!("If-Range: {old_etag}")],
    );
    assert_eq!(r.status, 200);
    assert!(r.body == want);
}

#[test]
fn sixty_four_clients_random_ranges_every_byte_checked_memory_bounded() {
    let root = scratch("load");
    let dir = tree(&root, "load", 16 << 20);
    let want = std::sync::Arc::new(create(&dir, &[]));
    let server = Server::start(&root, &[os(&dir)]);
    let port = server.port;
    // 30 seconds (TARTAPE_SERVE_LOAD_SECONDS=N for another bound, e.g. a shorter inner loop).
    let seconds = std::env::var("TARTAPE_SERVE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64)
        .min(600);
    let stop = Instant::now() + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..64u64)
        .map(|t| {
            let want = want.clone();
            std::thread::spawn(move || {
                let mut x = t * 7919 + 1;
                let mut done = 0u64;
                let mut requests = 0;
                while Instant::now() < stop && requests < 100_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let a = x % want.len() as u64;
                    let len = 1 + (x >> 20) % (512 << 10);
                    let b = (a + len - 1).min(want.len() as u64 - 1);
                    let r = get(port, "/load.tar", &[&format!("Range: bytes={a}-{b}")]);
                    assert_eq!(r.status, 206);
                    assert!(r.body == want[a as usize..=b as usize], "{a}-{b}");
                    done += b - a + 1;
                    requests += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(total > 0);
    let status = fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let hwm: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    eprintln!("load: {total} bytes checked, peak RSS {hwm} kB");
    assert!(hwm < 64 << 10, "peak RSS {hwm} kB");
}

#[test]
fn a_slow_client_does_not_stall_others_and_idle_connections_time_out() {
    let root = scratch("slow");
    let dir = tree(&root, "slow", 8 << 20);
    let server = Server::start(
        &root,
        &[OsStr::new("--idle-timeout"), OsStr::new("2"), os(&dir)],
    );
    let port = server.port;
    // A reader at 10 KiB/s.
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /slow.tar HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let mut got = 0;
        for _ in 0..30 {
            got += s.read(&mut buf).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        got
    });
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..20 {
        let t = Instant::now();
        let r = get(
            port,
            "/slow.tar",
            &[&format!(
                "Range: bytes={}-{}",
                i * 100_000,
                i * 100_000 + 99_999
            )],
        );
        assert_eq!((r.status, r.body.len()), (206, 100_000));
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "request {i} took {:?}",
            t.elapsed()
        );
    }
    assert!(slow.join().unwrap() >= 10 * 1024);
    assert!(
        server.log_text().contains("\"GET /slow.tar\" range=- 200"),
        "the slow response ended"
    );
    // An idle connection is closed after about two seconds.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without a response");
    assert!(
        t.elapsed() >= Duration::from_millis(1500) && t.elapsed() < Duration::from_secs(15),
        "{:?}",
        t.elapsed()
    );
    // So is a kept-alive connection after its response.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let t = Instant::now();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    assert!(all.starts_with(b"HTTP/1.1 200 OK"));
    assert!(
        t.elapsed() >= Duration::from_millis(1500) && t.elapsed() < Duration::from_secs(15),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn bad_arguments_and_sources_answer_in_one_line_with_status_2() {
    let root = scratch("args");
    let dir = tree(&root, "d", 10);
    let junk = root.join("not-a-catalog");
    fs::write(&junk, b"hello").unwrap();
    let missing = root.join("missing");
    let other = root.join("other/d");
    fs::create_dir_all(&other).unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let cases: Vec<Vec<&OsStr>> = vec![
        vec![],
        vec![os(&missing)],
        vec![os(&junk)],
        vec![os(&dir), os(&other)],
        vec![OsStr::new("--listen"), OsStr::new("localhost"), os(&dir)],
        vec![OsStr::new("--listen"), OsStr::new(&busy), os(&dir)],
        vec![OsStr::new("--max-connections"), OsStr::new("0"), os(&dir)],
        vec![
            OsStr::new("--max-connections"),
            OsStr::new("18446744073709551615"),
            os(&dir),
        ],
        vec![
            OsStr::new("--idle-timeout"),
            OsStr::new("18446744073709551615"),
            os(&dir),
        ],
        vec![OsStr::new("--max-ranges"), OsStr::new("0"), os(&dir)],
        vec![OsStr::new("--deflate"), os(&dir)],
    ];
    for args in cases {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // None of these may start serving: each must end on its own within seconds.
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve {args:?} did not end");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("tartape: ") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_seekable_compressed_archive_is_served_like_a_static_file() {
    need("aria2c");
    need("zstd");
    let root = scratch("seekable");
    let dir = tree(&root, "packed", 6 << 20);
    let want = create(&dir, &["--zstd", "--frame-size", "256K"]);
    let plain = create(&dir, &[]);
    let args = [
        OsStr::new("--zstd"),
        OsStr::new("--frame-size"),
        OsStr::new("256K"),
        os(&dir),
    ];
    let server = Server::start(&root, &args);
    let url = server.url("/packed.tar.zst");

    // Whole, with the size and type a static .tar.zst would have.
    let out = root.join("full.tar.zst");
    let r = curl(&["-o", out.to_str().unwrap(), "-D", "-", &url]);
    assert!(r.status.success(), "{r:?}");
    assert!(
        fs::read(&out).unwrap() == want,
        "full download differs from create --seekable"
    );
    let head = String::from_utf8_lossy(&r.stdout).to_ascii_lowercase();
    assert!(
        head.contains(&format!("content-length: {}", want.len())),
        "{head}"
    );
    assert!(head.contains("content-type: application/zstd"), "{head}");
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    let unpacked = Command::new("zstd")
        .args(["-d", "-c"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(unpacked.stdout == plain, "zstd -d gives the plain TAR");

    // Ranges inside frames, across frame edges and in the seek table at the end.
    let n = want.len();
    for (a, b) in [
        (0, 99),
        (1000, 300_000),
        (n / 2, n / 2 + 777_777),
        (n - 40, n - 1),
    ] {
        let r = curl(&["-s", "-r", &format!("{a}-{b}"), &url]);
        assert!(r.stdout == want[a..=b], "range {a}-{b}");
    }
    // Resumed, and fetched on 8 connections.
    let part = root.join("part.tar.zst");
    fs::write(&part, &want[..n / 3]).unwrap();
    let r = curl(&["-s", "-C", "-", "-o", part.to_str().unwrap(), &url]);
    assert!(r.status.success(), "{r:?}");
    assert!(fs::read(&part).unwrap() == want, "curl -C - resumed");
    let adir = root.join("a");
    let r = Command::new("aria2c")
        .args([
            "-q",
            "-x8",
            "-s8",
            "-k1M",
            "--min-split-size=1M",
            "--file-allocation=none",
        ])
        .arg("-d")
        .arg(&adir)
        .arg(&url)
        .output()
        .unwrap();
    assert!(r.status.success(), "{r:?}");
    assert!(
        fs::read(adir.join("packed.tar.zst")).unwrap() == want,
        "aria2c -x8"
    );

    // A member is its uncompressed content, with ranges too.
    let r = curl(&["-s", &server.url("/packed.tar.zst/packed/sub/hello.txt")]);
    assert_eq!(r.stdout, b"hello, world\n");
    let r = curl(&[
        "-s",
        "-r",
        "7-11",
        &server.url("/packed.tar.zst/packed/sub/hello.txt"),
    ]);
    assert_eq!(r.stdout, b"world");
    let big = fs::read(dir.join("big.bin")).unwrap();
    let r = curl(&[
        "-s",
        "-r",
        "5000000-5100000",
        &server.url("/packed.tar.zst/packed/big.bin"),
    ]);
    assert!(
        r.stdout == big[5_000_000..=5_100_000],
        "a range of a member"
    );
}
