//! `tartape upload` against a real S3 server (SeaweedFS on loopback, which checks Content-MD5 and
//! additional checksums, refuses small parts, and computes multipart ETags itself): the object
//! always equals `tartape create` of the same tree, its ETag the one predicted before the upload,
//! whatever the jobs and part sizes, and after every fault (the uploader killed, the server
//! restarted, a part damaged on the way, a wrong part in the bucket, a source that changed).
//!
//! One server serves the whole file (its tests run one after the other in one test function);
//! without a built `weed` (tests/services/seaweedfs.sh) the test says so loudly and does nothing.

#[path = "support/proxy.rs"]
mod proxy;
#[path = "support/seaweed.rs"]
mod seaweed;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use seaweed::Seaweed;

fn tartape(s: &Seaweed, args: &[&OsStr]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tartape"));
    cmd.args(args).stdin(Stdio::null());
    s.env(&mut cmd);
    cmd.output().unwrap()
}

fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// A tree with a large random file, small files, a long name and a non-UTF-8 name.
fn tree(root: &Path) -> PathBuf {
    let t = root.join("tree");
    fs::create_dir_all(t.join("sub")).unwrap();
    let mut x = 0x9e3779b97f4a7c15u64;
    let big: Vec<u8> = (0..(18 << 20) + 777)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(t.join("big.bin"), big).unwrap();
    for i in 0..40 {
        fs::write(
            t.join(format!("sub/f{i:02}.txt")),
            format!("small file {i}\n").repeat(i + 1),
        )
        .unwrap();
    }
    fs::write(t.join(format!("{}.txt", "long".repeat(40))), b"long name\n").unwrap();
    fs::write(t.join(OsStr::from_bytes(b"caf\xe9.txt")), b"latin-1 name\n").unwrap();
    t
}

fn create(s: &Seaweed, source: &Path) -> Vec<u8> {
    let out = tartape(s, &[os("create"), source.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// Records `dir` into `catalog` and returns the ETag predicted for parts of `part_size`.
fn record(s: &Seaweed, dir: &Path, catalog: &Path, part_size: &str) -> String {
    let out = tartape(
        s,
        &[
            os("record"),
            dir.as_os_str(),
            os("--catalog"),
            catalog.as_os_str(),
            os("--part-size"),
            os(part_size),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("multipart etag ")
                .and_then(|r| r.split(": ").nth(1))
        })
        .unwrap_or_else(|| panic!("no predicted etag in {text}"))
        .to_string()
}

fn upload(s: &Seaweed, endpoint: &str, source: &Path, key: &str, extra: &[&str]) -> Output {
    let url = format!("s3://{}/{key}", seaweed::BUCKET);
    let mut args: Vec<&OsStr> = vec![
        os("upload"),
        source.as_os_str(),
        os(&url),
        os("--endpoint"),
        os(endpoint),
        os("-q"),
    ];
    args.extend(extra.iter().map(os));
    tartape(s, &args)
}

fn assert_object(s: &Seaweed, key: &str, want: &[u8], etag: Option<&str>) {
    let (got, got_etag) = s
        .get(key)
        .unwrap_or_else(|| panic!("{key} is not in the bucket"));
    assert!(
        got == want,
        "{key}: {} bytes in the bucket, the archive is {}",
        got.len(),
        want.len()
    );
    if let Some(e) = etag {
        assert_eq!(got_etag, e, "{key}: the ETag predicted before the upload");
    }
}

fn assert_one_line_failure(out: &Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for w in words {
        assert!(err.contains(w), "{err:?} should say {w:?}");
    }
}

fn state_of(catalog: &Path) -> PathBuf {
    let mut p = catalog.as_os_str().to_owned();
    p.push(".upload.json");
    PathBuf::from(p)
}

fn upload_id(catalog: &Path) -> String {
    let text = fs::read_to_string(state_of(catalog)).expect("an upload state file");
    let at = text.find("\"upload_id\": \"").unwrap() + 14;
    text[at..].split('"').next().unwrap().to_string()
}

#[test]
fn uploads_against_a_real_s3_server() {
    let Some(bin) = seaweed::weed_binary() else {
        eprintln!(
            "\n\n*** SKIPPED: SeaweedFS's weed is not built (run tests/services/seaweedfs.sh; \
             tests/run-all.sh does) ***\n"
        );
        return;
    };
    let root = std::env::temp_dir().join(format!("tartape-upload-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let mut s = Seaweed::start(&bin, &root.join("weed"));
    let dir = tree(&root);
    let archive = create(&s, &dir);
    let catalog = root.join("tree.tartape");

    jobs_and_part_sizes_give_the_archive_and_the_predicted_etag(&s, &dir, &catalog, &archive);
    additional_checksums_are_checked_and_predicted(&s, &dir, &catalog, &archive);
    a_killed_upload_resumes_to_the_same_object(&s, &catalog, &archive);
    a_part_damaged_on_the_way_is_refused_and_sent_again(&s, &catalog, &archive);
    a_wrong_part_in_the_bucket_is_replaced_on_resume(&s, &catalog, &archive);
    batch_slices_and_complete(&s, &catalog, &archive);
    a_changed_source_stops_the_upload_and_leaves_it_resumable(&s, &root);
    bad_input_is_one_line_and_nothing_is_completed(&s, &catalog);
    a_server_restart_mid_upload_is_resumed(&mut s, &catalog, &archive);
    a_seekable_compressed_catalog_uploads_with_its_predicted_etag(&s, &dir, &root);
    let _ = fs::remove_dir_all(&root);
}

fn jobs_and_part_sizes_give_the_archive_and_the_predicted_etag(
    s: &Seaweed,
    dir: &Path,
    catalog: &Path,
    archive: &[u8],
) {
    // 5 MiB + 1,536 bytes: parts that start and end inside headers and content.
    for part_size in ["5M", "5244416"] {
        let etag = record(s, dir, catalog, part_size);
        for jobs in ["1", "4", "8"] {
            let key = format!("catalog-{part_size}-{jobs}.tar");
            let out = upload(
                s,
                &s.endpoint(),
                catalog,
                &key,
                &["--part-size", part_size, "--jobs", jobs],
            );
            assert!(out.status.success(), "{out:?}");
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(&etag),
                "{out:?}"
            );
            assert_object(s, &key, archive, Some(&etag));
            assert!(
                !state_of(catalog).exists(),
                "the state file goes once the upload is complete"
            );
        }
    }
    // From the directory itself, with the part size chosen automatically.
    let out = upload(s, &s.endpoint(), dir, "from-dir.tar", &[]);
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "from-dir.tar", archive, None);
    // GNU tar lists what is in the bucket.
    let (bytes, _) = s.get("from-dir.tar").unwrap();
    let listed = root_tmp(s, "listed.tar", &bytes);
    let out = Command::new("tar")
        .arg("-tf")
        .arg(&listed)
        .output()
        .unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("tree/big.bin"));
}

fn root_tmp(s: &Seaweed, name: &str, bytes: &[u8]) -> PathBuf {
    let p = s.dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

fn additional_checksums_are_checked_and_predicted(
    s: &Seaweed,
    dir: &Path,
    catalog: &Path,
    archive: &[u8],
) {
    for c in ["crc32", "crc32c", "sha256"] {
        let out = tartape(
            s,
            &[
                os("record"),
                dir.as_os_str(),
                os("--catalog"),
                catalog.as_os_str(),
                os("--part-size"),
                os("5M"),
                os("--checksum"),
                os(c),
            ],
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let predicted = text
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("multipart {c} "))
                    .and_then(|r| r.split(": ").nth(1))
            })
            .unwrap_or_else(|| panic!("no {c} prediction: {text}"))
            .to_string();
        let key = format!("checksum-{c}.tar");
        let out = upload(
            s,
            &s.endpoint(),
            catalog,
            &key,
            &["--part-size", "5M", "--checksum", c],
        );
        assert!(out.status.success(), "{c}: {out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains(&format!("{c}: {predicted}")),
            "{c}: {said} vs {predicted}"
        );
        assert_object(s, &key, archive, None);
    }
}

/// Starts an upload of `catalog` to `key` through a proxy slowed to 6 MB/s, one part at a time,
/// and waits (at most a minute) until `parts` parts are in the bucket; returns the running
/// uploader, its upload id, and the proxy (which must live as long as the upload).
fn slow_upload_with_parts(
    s: &Seaweed,
    catalog: &Path,
    key: &str,
    parts: usize,
) -> (std::process::Child, String, proxy::Proxy) {
    let proxy = proxy::Proxy::start(s.s3_port);
    proxy.faults.rate.store(6 << 20, Ordering::Relaxed);
    let url = format!("s3://{}/{key}", seaweed::BUCKET);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tartape"));
    cmd.args([
        os("upload"),
        catalog.as_os_str(),
        os(&url),
        os("--endpoint"),
        os(&proxy.endpoint()),
    ])
    .args(["--part-size", "5M", "--jobs", "1", "-q"])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    s.env(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let id = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the upload never got going"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the upload ended before {parts} parts could be seen"
        );
        if state_of(catalog).exists() {
            let id = upload_id(catalog);
            if list_parts(s, key, &id).matches("<PartNumber>").count() >= parts {
                break id;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (child, id, proxy)
}

/// Runs an upload through a slow proxy and kills it once `parts` parts are in the bucket.
fn kill_after_parts(s: &Seaweed, catalog: &Path, key: &str, parts: usize) -> String {
    let (mut child, id, _proxy) = slow_upload_with_parts(s, catalog, key, parts);
    child.kill().unwrap();
    child.wait().unwrap();
    id
}

fn list_parts(s: &Seaweed, key: &str, id: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{}:{}", seaweed::KEY, seaweed::SECRET))
        .arg(format!("{}/{key}?uploadId={id}", s.bucket_url()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn a_killed_upload_resumes_to_the_same_object(s: &Seaweed, catalog: &Path, archive: &[u8]) {
    let etag = record(
        s,
        catalog.parent().unwrap().join("tree").as_path(),
        catalog,
        "5M",
    );
    let id = kill_after_parts(s, catalog, "killed.tar", 1);
    assert!(
        s.get("killed.tar").is_none(),
        "nothing is completed by a killed upload"
    );
    // A plain rerun refuses to start a second upload of the same archive.
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "killed.tar",
        &["--part-size", "5M"],
    );
    assert_one_line_failure(&out, &["in progress", &id, "--resume"]);
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "killed.tar",
        &["--part-size", "5M", "--resume"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "killed.tar", archive, Some(&etag));
    // Without the state file the upload is found with ListMultipartUploads.
    let id = kill_after_parts(s, catalog, "killed-2.tar", 1);
    fs::remove_file(state_of(catalog)).unwrap();
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "killed-2.tar",
        &["--part-size", "5M", "--resume"],
    );
    assert!(out.status.success(), "{id}: {out:?}");
    assert_object(s, "killed-2.tar", archive, Some(&etag));
}

fn a_part_damaged_on_the_way_is_refused_and_sent_again(
    s: &Seaweed,
    catalog: &Path,
    archive: &[u8],
) {
    let proxy = proxy::Proxy::start(s.s3_port);
    *proxy.faults.flip_once.lock().unwrap() = Some("partNumber=2&".into());
    let out = upload(
        s,
        &proxy.endpoint(),
        catalog,
        "damaged.tar",
        &["--part-size", "5M", "--jobs", "2"],
    );
    assert!(
        proxy.faults.flipped.load(Ordering::SeqCst),
        "the proxy flipped a byte"
    );
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("part 2 was damaged on the way"), "{err}");
    assert_object(s, "damaged.tar", archive, None);
}

fn a_wrong_part_in_the_bucket_is_replaced_on_resume(s: &Seaweed, catalog: &Path, archive: &[u8]) {
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "wrong.tar",
        &["--part-size", "5M", "--create"],
    );
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id, upload_id(catalog));
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "wrong.tar",
        &["--part-size", "5M", "--parts", "1-3", "--upload-id", &id],
    );
    assert!(out.status.success(), "{out:?}");
    // Part 2 replaced behind our back by other bytes of the same size.
    let garbage = s.dir.join("garbage");
    fs::write(&garbage, vec![0x5au8; 5 << 20]).unwrap();
    assert_eq!(s.put_part("wrong.tar", &id, 2, &garbage), "200");
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "wrong.tar",
        &["--part-size", "5M", "--resume"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "wrong.tar", archive, None);
}

fn batch_slices_and_complete(s: &Seaweed, catalog: &Path, archive: &[u8]) {
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "sliced.tar",
        &["--part-size", "5M", "--create"],
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // Three slices at once, as three nodes of a batch job would run them.
    let url = format!("s3://{}/sliced.tar", seaweed::BUCKET);
    let children: Vec<_> = ["1", "2", "3"]
        .iter()
        .map(|range| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_tartape"));
            cmd.args([
                os("upload"),
                catalog.as_os_str(),
                os(&url),
                os("--endpoint"),
                os(&s.endpoint()),
            ])
            .args([
                "--part-size",
                "5M",
                "--parts",
                range,
                "--upload-id",
                &id,
                "-q",
            ]);
            s.env(&mut cmd);
            cmd.stdout(Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // One part still missing: --complete names it and completes nothing.
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "sliced.tar",
        &["--part-size", "5M", "--complete", "--upload-id", &id],
    );
    assert_one_line_failure(&out, &["part 4", "missing"]);
    assert!(s.get("sliced.tar").is_none());
    // A wrong part is named too.
    let garbage = s.dir.join("garbage-small");
    fs::write(&garbage, b"not the archive").unwrap();
    assert_eq!(s.put_part("sliced.tar", &id, 4, &garbage), "200");
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "sliced.tar",
        &["--part-size", "5M", "--complete", "--upload-id", &id],
    );
    assert_one_line_failure(&out, &["part 4", "not the archive's"]);
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "sliced.tar",
        &["--part-size", "5M", "--parts", "4", "--upload-id", &id],
    );
    assert!(out.status.success(), "{out:?}");
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "sliced.tar",
        &["--part-size", "5M", "--complete", "--upload-id", &id],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "sliced.tar", archive, None);
}

fn a_changed_source_stops_the_upload_and_leaves_it_resumable(s: &Seaweed, root: &Path) {
    let dir = root.join("changing");
    fs::create_dir_all(&dir).unwrap();
    let victim = dir.join("victim.bin");
    fs::write(&victim, vec![3u8; 12 << 20]).unwrap();
    let catalog = root.join("changing.tartape");
    record(s, &dir, &catalog, "5M");
    let archive = tartape(s, &[os("play"), catalog.as_os_str()]).stdout;
    let mtime = fs::metadata(&victim).unwrap().modified().unwrap();
    // The file grows after recording: the upload stops naming it, and is left resumable.
    fs::OpenOptions::new()
        .append(true)
        .open(&victim)
        .unwrap()
        .write_all_at_end(b"more");
    let out = upload(
        s,
        &s.endpoint(),
        &catalog,
        "changing.tar",
        &["--part-size", "5M"],
    );
    assert_one_line_failure(&out, &["victim.bin", "--resume"]);
    assert!(
        s.get("changing.tar").is_none(),
        "never completed with different bytes"
    );
    assert!(state_of(&catalog).exists());
    // Restored (same bytes, same time), the upload resumes to the recorded archive.
    let f = fs::OpenOptions::new().write(true).open(&victim).unwrap();
    f.set_len(12 << 20).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let out = upload(
        s,
        &s.endpoint(),
        &catalog,
        "changing.tar",
        &["--part-size", "5M", "--resume"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "changing.tar", &archive, None);
    // --abort drops an upload in progress.
    fs::OpenOptions::new()
        .append(true)
        .open(&victim)
        .unwrap()
        .write_all_at_end(b"more");
    let out = upload(
        s,
        &s.endpoint(),
        &catalog,
        "aborted.tar",
        &["--part-size", "5M"],
    );
    assert_eq!(out.status.code(), Some(2));
    let id = upload_id(&catalog);
    let out = upload(
        s,
        &s.endpoint(),
        &catalog,
        "aborted.tar",
        &["--part-size", "5M", "--abort"],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(!state_of(&catalog).exists());
    assert!(
        !list_parts(s, "aborted.tar", &id).contains("<PartNumber>"),
        "aborted: no parts"
    );
}

trait AppendAll {
    fn write_all_at_end(self, bytes: &[u8]);
}

impl AppendAll for fs::File {
    fn write_all_at_end(mut self, bytes: &[u8]) {
        std::io::Write::write_all(&mut self, bytes).unwrap();
    }
}

fn bad_input_is_one_line_and_nothing_is_completed(s: &Seaweed, catalog: &Path) {
    let url = |k: &str| format!("s3://{}/{k}", seaweed::BUCKET);
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tartape"));
        cmd.arg("upload")
            .arg(catalog)
            .args(args)
            .stdin(Stdio::null());
        s.env(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let e = s.endpoint();
    let out = run(&["s3://no-such-bucket/x.tar", "--endpoint", &e], &[]);
    assert_one_line_failure(&out, &["no-such-bucket", "does not exist"]);
    let out = run(
        &[&url("bad-creds.tar"), "--endpoint", &e],
        &[("AWS_SECRET_ACCESS_KEY", "wrong")],
    );
    assert_one_line_failure(&out, &["denied"]);
    let out = run(
        &[&url("small.tar"), "--endpoint", &e, "--part-size", "1M"],
        &[],
    );
    assert_one_line_failure(&out, &["at least 5 MiB"]);
    let out = run(
        &[&url("huge.tar"), "--endpoint", &e, "--part-size", "6G"],
        &[],
    );
    assert_one_line_failure(&out, &["at most 5 GiB"]);
    let out = run(
        &[&url("nowhere.tar"), "--endpoint", "http://127.0.0.1:9"],
        &[],
    );
    assert_one_line_failure(&out, &["127.0.0.1:9"]);
    let out = run(&["https://example.com/x", "--endpoint", &e], &[]);
    assert_one_line_failure(&out, &["not an S3 URL"]);
    // More than 10,000 parts: a sparse 60 GiB file in parts of 5 MiB (nothing is read).
    let big_dir = s.dir.join("sparse");
    fs::create_dir_all(&big_dir).unwrap();
    fs::File::create(big_dir.join("sparse.bin"))
        .unwrap()
        .set_len(60 << 30)
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tartape"));
    cmd.arg("upload").arg(&big_dir).arg(url("many.tar")).args([
        "--endpoint",
        &e,
        "--part-size",
        "5M",
    ]);
    s.env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_one_line_failure(&out, &["more than S3's 10,000"]);
    fs::remove_dir_all(&big_dir).unwrap();
    for k in [
        "bad-creds.tar",
        "small.tar",
        "huge.tar",
        "nowhere.tar",
        "many.tar",
    ] {
        assert!(s.get(k).is_none(), "{k} was completed");
    }
    assert!(!state_of(catalog).exists());
}

fn a_server_restart_mid_upload_is_resumed(s: &mut Seaweed, catalog: &Path, archive: &[u8]) {
    let (child, _id, _proxy) = slow_upload_with_parts(s, catalog, "restarted.tar", 1);
    s.stop();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the upload fails while the server is down: {out:?}"
    );
    s.restart();
    let out = upload(
        s,
        &s.endpoint(),
        catalog,
        "restarted.tar",
        &["--part-size", "5M", "--resume"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "restarted.tar", archive, None);
}

/// A catalog recorded with --zstd: its compressed size and part MD5s are known before one byte is
/// sent, so the object is exactly `play`'s bytes under the ETag `record` predicted.
fn a_seekable_compressed_catalog_uploads_with_its_predicted_etag(
    s: &Seaweed,
    dir: &Path,
    root: &Path,
) {
    let catalog = root.join("zstd.tartape");
    let out = tartape(
        s,
        &[
            os("record"),
            dir.as_os_str(),
            os("--catalog"),
            catalog.as_os_str(),
            os("--zstd"),
            os("--part-size"),
            os("5M"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let etag = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("multipart etag ")
                .and_then(|r| r.split(": ").nth(1))
        })
        .unwrap_or_else(|| panic!("no predicted etag in {text}"))
        .to_string();
    let played = tartape(s, &[os("play"), catalog.as_os_str()]);
    assert!(played.status.success(), "{played:?}");
    let out = upload(
        s,
        &s.endpoint(),
        &catalog,
        "tree.tar.zst",
        &["--part-size", "5M", "--jobs", "3"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "tree.tar.zst", &played.stdout, Some(&etag));
    // A directory with --zstd: the same seekable archive, frames recorded on the way.
    let out = upload(
        s,
        &s.endpoint(),
        dir,
        "dir.tar.zst",
        &["--zstd", "--part-size", "5M"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_object(s, "dir.tar.zst", &played.stdout, Some(&etag));
}
