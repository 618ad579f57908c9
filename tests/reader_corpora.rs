//! Reads every archive in ../shared/corpora and compares with what CPython 3.11 made of it
//! (oracle.jsonl). Every deliberate difference is in `DIFFERENCES` with its reason; a difference
//! not in the table, or a row of the table that no longer happens, fails the test.

#[path = "support/reader_json.rs"]
mod json;
#[path = "support/reader_sha256.rs"]
mod sha;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use json::Json;
use tartape::reader::{Archive, EntryKind, Format};

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora");

/// (file, entry name or "*", aspect, reason) — where tartape deliberately differs from CPython.
const DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    // Compression methods: CPython 3.11 reads bzip2 (12) and LZMA (14), as tartape does (the
    // contents match); it has no zstd (93) or xz (95), which tartape reads, the CRC-32 checked.
    (
        "libarchive/test_read_format_zip_xz_multi.zipx",
        "*",
        "content",
        "xz (95): read by tartape, not by CPython",
    ),
    (
        "libarchive/test_read_format_zip_zstd.zipx",
        "*",
        "content",
        "zstd (93): read by tartape, not by CPython",
    ),
    (
        "libarchive/test_read_format_zip_zstd_multi.zipx",
        "*",
        "content",
        "zstd (93): read by tartape, not by CPython",
    ),
    (
        "zip2/xz.zip",
        "*",
        "content",
        "xz (95): read by tartape, not by CPython",
    ),
    // The central directory is authoritative: tartape reads the local header only for the data
    // offset and does not require its name to match (CPython refuses; unzip, 7zz, bsdtar read).
    (
        "libarchive/test_read_format_zip_7075_utf8_paths.zip",
        "*",
        "content",
        "local header name differs; central name wins",
    ),
    // An invalid pax mtime ("...467a"): tartape keeps the header's mtime, CPython sets 0.
    (
        "libarchive/test_read_format_tar_pax_timestamps.tar",
        "empty",
        "mtime",
        "invalid pax mtime: header value kept",
    ),
    // A malformed extra field loses only its metadata: tartape stops parsing the extra field
    // and lists the archive, as unzip and 7zz do (CPython and bsdtar refuse the whole archive).
    (
        "zip2/extended_timestamp_bad.zip",
        "*",
        "open",
        "corrupt extra field tolerated, as unzip and 7zz",
    ),
    // Six entries listed as unzip and 7zz do; CPython fails with an IndexError (a bug).
    (
        "zip2/zip64_magic_in_filename_5.zip",
        "*",
        "open",
        "listed as unzip and 7zz; CPython crashes",
    ),
    // Names are raw bytes: a NUL stays in the name (which is then flagged unsafe); CPython
    // truncates the name at the NUL.
    (
        "zip2/zip64_magic_in_filename_1.zip",
        "*",
        "name",
        "NUL kept in the name, flagged unsafe",
    ),
    (
        "zip2/zip64_magic_in_filename_2.zip",
        "*",
        "name",
        "NUL kept in the name, flagged unsafe",
    ),
    (
        "zip2/zip64_magic_in_filename_4.zip",
        "*",
        "name",
        "NUL kept in the name, flagged unsafe",
    ),
];

fn corpora() -> Option<PathBuf> {
    let dir = Path::new(CORPORA);
    if dir.join("oracle.jsonl").is_file() {
        Some(dir.to_path_buf())
    } else {
        println!("note: {CORPORA} is missing; corpus tests skipped");
        None
    }
}

fn oracle(dir: &Path) -> Vec<Json> {
    std::fs::read_to_string(dir.join("oracle.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| json::parse(l).unwrap())
        .collect()
}

/// Every file of the corpora except the metadata.
fn archive_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let base = p.file_name().unwrap().to_string_lossy().into_owned();
                if ![
                    "README.md",
                    "oracle.jsonl",
                    "crosscheck.tsv",
                    "COMMIT",
                    "COPYING",
                ]
                .contains(&base.as_str())
                    && !base.starts_with("LICENSE")
                {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

fn kind_of_tar_type(t: &[u8]) -> EntryKind {
    match t.first().copied().unwrap_or(0) {
        b'0' | 0 | b'7' | b'S' => EntryKind::File,
        b'1' => EntryKind::Hardlink,
        b'2' => EntryKind::Symlink,
        b'3' => EntryKind::CharDevice,
        b'4' => EntryKind::BlockDevice,
        b'5' => EntryKind::Dir,
        b'6' => EntryKind::Fifo,
        _ => EntryKind::Other,
    }
}

/// Content longer than this is checked for its length only: a debug-build SHA-256 of the five
/// 99 MB sparse members takes minutes, and smaller members of the same formats check the hash.
const HASH_LIMIT: u64 = 32 << 20;

fn content(archive: &Archive, index: usize) -> Result<(Option<String>, u64), String> {
    let mut m = archive.open_member(index).map_err(|e| e.to_string())?;
    let hash = m.len() <= HASH_LIMIT;
    let mut h = sha::Sha256::default();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = m.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        if hash {
            h.update(&buf[..n]);
        }
        total += n as u64;
    }
    Ok((hash.then(|| h.hex()), total))
}

struct Check<'a> {
    file: &'a str,
    problems: Vec<(String, String, String, String)>,
}

impl Check<'_> {
    fn differ(&mut self, entry: &[u8], aspect: &str, detail: String) {
        self.problems.push((
            self.file.to_string(),
            String::from_utf8_lossy(entry).into_owned(),
            aspect.to_string(),
            detail,
        ));
    }
    fn eq<T: PartialEq + std::fmt::Debug>(
        &mut self,
        entry: &[u8],
        aspect: &str,
        ours: T,
        cpython: T,
    ) {
        if ours != cpython {
            self.differ(entry, aspect, format!("ours {ours:?}, CPython {cpython:?}"));
        }
    }
}

fn compare_content(c: &mut Check, archive: &Archive, i: usize, name: &[u8], e: &Json) {
    if e.get("sha256").is_none() && e.get("content_error").is_none() {
        return; // CPython did not read it (directories, links, very large sparse files)
    }
    let ours = content(archive, i);
    match (e.get("sha256").and_then(Json::bytes), ours) {
        (Some(sha), Ok((got, len))) => {
            if got.as_ref().is_some_and(|g| g.as_bytes() != sha) {
                c.differ(
                    name,
                    "content",
                    format!("sha256 {got:?}, CPython {}", String::from_utf8_lossy(sha)),
                );
            }
            if let Some(n) = e.get("read_len").and_then(Json::num) {
                c.eq(name, "read_len", len, n as u64);
            }
        }
        (Some(_), Err(err)) => c.differ(
            name,
            "content",
            format!("we refuse: {err}; CPython reads it"),
        ),
        (None, Ok(_)) if e.get("content_error").is_some() => c.differ(
            name,
            "content",
            format!(
                "we read it; CPython: {}",
                e.get("content_error").unwrap().text()
            ),
        ),
        _ => {}
    }
}

fn compare_tar(c: &mut Check, archive: &Archive, want: &[Json]) {
    c.eq(b"*", "count", archive.entries().len(), want.len());
    for (i, (ours, e)) in archive.entries().iter().zip(want).enumerate() {
        let kind = kind_of_tar_type(e.get("type").and_then(Json::bytes).unwrap_or(b""));
        let mut name = ours.name.clone();
        if ours.kind == EntryKind::Dir {
            while name.len() > 1 && name.ends_with(b"/") {
                name.pop();
            }
        }
        let n = ours.name.clone();
        c.eq(
            &n,
            "name",
            String::from_utf8_lossy(&name).into_owned(),
            e.get("name").unwrap().text(),
        );
        c.eq(
            &n,
            "name bytes",
            name.as_slice(),
            e.get("name").unwrap().bytes().unwrap(),
        );
        let want_kind = if kind == EntryKind::File
            && e.get("name").unwrap().bytes().unwrap().ends_with(b"/")
            && ours.kind == EntryKind::Dir
        {
            EntryKind::Dir
        } else {
            kind
        };
        c.eq(&n, "kind", ours.kind, want_kind);
        c.eq(
            &n,
            "size",
            ours.size,
            e.get("size").unwrap().num().unwrap() as u64,
        );
        c.eq(
            &n,
            "mode",
            ours.mode,
            e.get("mode").unwrap().num().unwrap() as u32 & 0o7777,
        );
        c.eq(
            &n,
            "mtime",
            ours.mtime,
            e.get("mtime").unwrap().num().unwrap().floor() as i64,
        );
        c.eq(
            &n,
            "link",
            ours.link.as_slice(),
            e.get("linkname").unwrap().bytes().unwrap(),
        );
        c.eq(
            &n,
            "header_offset",
            ours.header_offset,
            e.get("header_offset").unwrap().num().unwrap() as u64,
        );
        c.eq(
            &n,
            "data_offset",
            ours.data_offset,
            e.get("data_offset").unwrap().num().unwrap() as u64,
        );
        c.eq(
            &n,
            "uid",
            ours.uid,
            e.get("uid").unwrap().num().unwrap() as u64,
        );
        c.eq(
            &n,
            "gid",
            ours.gid,
            e.get("gid").unwrap().num().unwrap() as u64,
        );
        c.eq(
            &n,
            "uname",
            ours.uname.as_slice(),
            e.get("uname").unwrap().bytes().unwrap(),
        );
        c.eq(
            &n,
            "gname",
            ours.gname.as_slice(),
            e.get("gname").unwrap().bytes().unwrap(),
        );
        c.eq(
            &n,
            "sparse",
            ours.sparse,
            !matches!(e.get("sparse"), Some(Json::Null) | None),
        );
        compare_content(c, archive, i, &n, e);
    }
}

/// True when the hex extra field has an extended timestamp with a modification time.
fn has_ut_mtime(extra_hex: &str) -> bool {
    let b: Vec<u8> = (0..extra_hex.len() / 2)
        .map(|i| u8::from_str_radix(&extra_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut p = 0;
    while p + 4 <= b.len() {
        let (id, sz) = (
            u16::from_le_bytes([b[p], b[p + 1]]),
            usize::from(u16::from_le_bytes([b[p + 2], b[p + 3]])),
        );
        if id == 0x5455 && sz >= 5 && p + 9 <= b.len() && b[p + 4] & 1 != 0 {
            return true;
        }
        p += 4 + sz;
    }
    false
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

fn compare_zip(c: &mut Check, archive: &Archive, want: &[Json]) {
    c.eq(b"*", "count", archive.entries().len(), want.len());
    for (i, (ours, e)) in archive.entries().iter().zip(want).enumerate() {
        let n = ours.name.clone();
        let num = |k: &str| e.get(k).and_then(Json::num).unwrap() as u64;
        c.eq(
            &n,
            "name",
            String::from_utf8_lossy(&ours.name).into_owned(),
            e.get("name").unwrap().text(),
        );
        c.eq(&n, "method", u64::from(ours.method), num("method"));
        c.eq(&n, "crc", u64::from(ours.crc32), num("crc"));
        c.eq(
            &n,
            "compressed_size",
            ours.compressed_size,
            num("compressed_size"),
        );
        c.eq(&n, "size", ours.size, num("file_size"));
        c.eq(
            &n,
            "header_offset",
            ours.header_offset,
            num("header_offset"),
        );
        c.eq(&n, "encrypted", ours.encrypted, num("flag_bits") & 1 == 1);
        let is_dir = matches!(e.get("is_dir"), Some(Json::Bool(true)));
        c.eq(&n, "is_dir", ours.name.ends_with(b"/"), is_dir);
        if is_dir {
            c.eq(&n, "kind", ours.kind, EntryKind::Dir);
        }
        let ext = num("external_attr");
        if num("create_system") == 3 && ext >> 16 != 0 {
            c.eq(&n, "mode", u64::from(ours.mode), (ext >> 16) & 0o7777);
        }
        if !has_ut_mtime(&e.get("extra").unwrap().text()) {
            let dt: Vec<i64> = e
                .get("date_time")
                .unwrap()
                .arr()
                .iter()
                .map(|v| v.num().unwrap() as i64)
                .collect();
            let t = days_from_civil(dt[0], dt[1].clamp(1, 12), dt[2].max(1)) * 86400
                + dt[3] * 3600
                + dt[4] * 60
                + dt[5];
            c.eq(&n, "mtime", ours.mtime, t);
        }
        compare_content(c, archive, i, &n, e);
    }
}

#[test]
fn every_corpus_archive_matches_cpython_or_a_listed_difference() {
    let Some(dir) = corpora() else { return };
    let oracle = oracle(&dir);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for o in &oracle {
        let file = o.get("file").unwrap().text();
        seen.insert(file.clone());
        let mut c = Check {
            file: &file,
            problems: Vec::new(),
        };
        let opened = std::panic::catch_unwind(|| Archive::open(dir.join(&file)));
        let opened = opened.unwrap_or_else(|_| panic!("{file}: open panicked"));
        let tar = o.get("tar_entries").map(Json::arr);
        let zip = o.get("zip_entries").map(Json::arr);
        match (&opened, tar, zip) {
            (Ok(a), Some(want), _) if a.format() == Format::Tar => compare_tar(&mut c, a, want),
            (Ok(a), _, Some(want)) if a.format() == Format::Zip => compare_zip(&mut c, a, want),
            (Ok(a), None, None) => c.differ(
                b"*",
                "open",
                format!(
                    "we list {} entries ({:?}); CPython reads neither TAR nor ZIP",
                    a.entries().len(),
                    a.format()
                ),
            ),
            (Ok(a), _, _) => c.differ(b"*", "format", format!("we read {:?}", a.format())),
            (Err(e), Some(_), _) | (Err(e), _, Some(_)) => {
                c.differ(b"*", "open", format!("we refuse: {e}"))
            }
            (Err(_), None, None) => {}
        }
        problems.extend(c.problems);
    }
    // Files not in the oracle are still read without panic.
    for file in archive_files(&dir) {
        if !seen.contains(&file) {
            let r = std::panic::catch_unwind(|| {
                Archive::open(dir.join(&file)).map(|a| a.entries().len())
            });
            assert!(r.is_ok(), "{file}: panicked");
        }
    }
    let mut used = vec![false; DIFFERENCES.len()];
    let mut unexplained = Vec::new();
    for (file, entry, aspect, detail) in &problems {
        match DIFFERENCES
            .iter()
            .position(|(f, e, a, _)| f == file && (*e == "*" || e == entry) && a == aspect)
        {
            Some(i) => used[i] = true,
            None => unexplained.push(format!("{file} | {entry} | {aspect} | {detail}")),
        }
    }
    let stale: Vec<_> = DIFFERENCES
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(d, _)| d)
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "differences listed but not seen: {stale:?}"
    );
}
