//! Helpers shared by the integration tests: temporary trees, streaming a tape to bytes, and the real
//! readers (GNU tar, bsdtar, Python's tarfile, Go's archive/tar) with their listings parsed.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use tartape::{Event, Tape, TapeBuilder};

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory whose name contains `tag`, the process id and a counter.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "tartape-test-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, rest: impl AsRef<Path>) -> PathBuf {
        self.0.join(rest)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A path from raw bytes (names need not be UTF-8).
pub fn bpath(base: &Path, rel: &[u8]) -> PathBuf {
    base.join(OsStr::from_bytes(rel))
}

/// Writes `data` to `path`, creating parent directories.
pub fn write(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Sets permission bits.
pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets the access and modification times of `path` (not following symlinks).
pub fn set_mtime(path: &Path, secs: i64, nsec: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let ts = [
        libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: nsec as _,
        },
        libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: nsec as _,
        },
    ];
    // SAFETY: c is a valid NUL-terminated path and ts holds two timespecs.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(
        rc,
        0,
        "utimensat {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// A tape of the given paths (each under its last component), sealed.
pub fn tape_of(paths: &[&Path]) -> Arc<Tape> {
    let mut b = TapeBuilder::new();
    for p in paths {
        b.add_path(p, None).unwrap();
    }
    Arc::new(b.seal().unwrap())
}

/// Streams `tape` from `offset` to the end and returns the bytes (no push-fed entries).
pub fn stream_bytes(tape: &Arc<Tape>, offset: u64) -> tartape::Result<Vec<u8>> {
    let mut s = tape.stream(offset, false)?;
    let mut out = Vec::new();
    while let Some(ev) = s.next_event()? {
        if let Event::Data { bytes, .. } = ev {
            out.extend_from_slice(bytes);
        }
    }
    Ok(out)
}

/// The whole archive of `tape` as bytes, checked against its declared total size.
pub fn archive_bytes(tape: &Arc<Tape>) -> Vec<u8> {
    let bytes = stream_bytes(tape, 0).unwrap();
    assert_eq!(bytes.len() as u64, tape.total_size());
    bytes
}

/// Runs `cmd`, panicking with its stderr unless it succeeds; returns its output.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` and also demands that it wrote nothing on stderr (no warnings).
pub fn run_clean(cmd: &mut Command) -> Output {
    let out = run_ok(cmd);
    assert!(
        out.stderr.is_empty(),
        "{cmd:?} warned:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` with `input` on its stdin; returns its output (status unchecked).
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // A reader may stop early: a broken pipe is not an error here.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[path = "../support/bin.rs"]
mod bin;
pub use bin::tartape_bin;

/// One entry as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// The name as bytes (directories without their trailing `/`).
    pub name: Vec<u8>,
    /// '0' file, '5' directory, '2' symlink.
    pub kind: char,
    /// Content size.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time in seconds.
    pub mtime: i64,
    /// Symlink target.
    pub link: Vec<u8>,
    /// sha256 of the content (files only), lowercase hex.
    pub sha256: Option<String>,
}

/// Parses one flat JSON object of string and integer values (what our listers print).
pub fn parse_json_line(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = line.trim().chars().peekable();
    assert_eq!(chars.next(), Some('{'), "not an object: {line}");
    let read_string = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        let mut s = String::new();
        assert_eq!(chars.next(), Some('"'));
        loop {
            match chars.next().expect("unterminated string") {
                '"' => return s,
                '\\' => match chars.next().unwrap() {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        let c = u32::from_str_radix(&hex, 16).unwrap();
                        s.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                    }
                    c => s.push(c),
                },
                c => s.push(c),
            }
        }
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek() == Some(&'}') {
            break;
        }
        let key = read_string(&mut chars);
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ':') {
            chars.next();
        }
        let value = if chars.peek() == Some(&'"') {
            read_string(&mut chars)
        } else {
            let mut v = String::new();
            while chars
                .peek()
                .is_some_and(|c| *c == '-' || c.is_ascii_digit())
            {
                v.push(chars.next().unwrap());
            }
            v
        };
        out.push((key, value));
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses the JSON lines of `tests/interop/pylist.py` or the Go lister.
pub fn parse_listing(stdout: &[u8]) -> Vec<Listed> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields = parse_json_line(line);
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("{k} missing in {line}"))
            };
            let mut name = unhex(&get("name_hex"));
            if name.len() > 1 && name.ends_with(b"/") {
                name.pop();
            }
            Listed {
                name,
                kind: get("type").chars().next().unwrap(),
                size: get("size").parse().unwrap(),
                mode: get("mode").parse::<u32>().unwrap() & 0o7777,
                mtime: get("mtime").parse().unwrap(),
                link: unhex(&get("linkname_hex")),
                sha256: fields
                    .iter()
                    .find(|(k, _)| k == "sha256")
                    .map(|(_, v)| v.clone()),
            }
        })
        .collect()
}

/// Python's tarfile listing of `archive` (reading it all, content hashed); stderr must be empty.
pub fn python_list(archive: &Path) -> Vec<Listed> {
    let out = run_clean(
        Command::new("python3")
            .arg(root().join("tests/interop/pylist.py"))
            .arg(archive),
    );
    parse_listing(&out.stdout)
}

/// Python's view of the first header of `bytes` (which may be cut right after it).
pub fn python_first_header(bytes: &[u8]) -> Listed {
    let out = run_with_input(
        Command::new("python3")
            .arg(root().join("tests/interop/pylist.py"))
            .args(["--headers-only", "-"]),
        bytes,
    );
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "pylist: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_listing(&out.stdout).remove(0)
}

/// The Go lister (tests/interop/go), built once per test binary into the target directory.
pub fn go_lister() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tartape_bin().parent().unwrap().join("interop-go");
        fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("tartape-interop");
        // Build to a private name, then rename: test binaries run at the same time.
        let tmp = dir.join(format!("tartape-interop.{}", std::process::id()));
        run_ok(
            Command::new("go")
                .args(["build", "-o"])
                .arg(&tmp)
                .arg(".")
                .current_dir(root().join("tests/interop/go"))
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-mod=mod")
                .env("CGO_ENABLED", "0"),
        );
        fs::rename(&tmp, &bin).unwrap();
        bin
    })
}

/// Go's archive/tar listing of `archive` (reading it all, content hashed); stderr must be empty.
pub fn go_list(archive: &Path) -> Vec<Listed> {
    let out = run_clean(Command::new(go_lister()).arg(archive));
    parse_listing(&out.stdout)
}

/// Go's view of the first header of `bytes` (which may be cut right after it).
pub fn go_first_header(bytes: &[u8]) -> Listed {
    let out = run_with_input(
        Command::new(go_lister()).args(["-headers-only", "-"]),
        bytes,
    );
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "go lister: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_listing(&out.stdout).remove(0)
}

/// Undoes GNU tar's `--quoting-style=escape` (backslash escapes, octal bytes).
pub fn gnu_unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 == s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        if (b'0'..=b'7').contains(&c) {
            let digits = &s[i + 1..(i + 4).min(s.len())];
            out.push(u8::from_str_radix(std::str::from_utf8(digits).unwrap(), 8).unwrap());
            i += 1 + digits.len();
            continue;
        }
        out.push(match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            other => other,
        });
        i += 2;
    }
    out
}

/// The names GNU tar lists (directories without their trailing `/`); stderr must be empty.
pub fn gnu_tar_names(archive: &Path) -> Vec<Vec<u8>> {
    let out = run_clean(
        Command::new("tar")
            .args(["--quoting-style=escape", "-tf"])
            .arg(archive)
            .env("LC_ALL", "C"),
    );
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut n = gnu_unescape(l);
            if n.len() > 1 && n.ends_with(b"/") {
                n.pop();
            }
            n
        })
        .collect()
}

/// Extracts `archive` into `dest` with GNU tar (`tar`) or bsdtar, keeping modes and mtimes;
/// stderr must be empty.
pub fn extract(tool: &str, archive: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    let mut cmd = Command::new(tool);
    match tool {
        // GNU tar remarks on the test tree's deliberately ancient and far-future mtimes when it
        // sets them; that note is about the data, not the archive (listing and --compare stay
        // unfiltered).
        "tar" => cmd.args(["--warning=no-timestamp", "-xpf"]),
        "bsdtar" => cmd.args(["-xpf"]),
        other => panic!("unknown extractor {other}"),
    };
    // GNU tar in the C locale keeps names as bytes; bsdtar needs a UTF-8 locale for UTF-8 pax
    // paths (in the C locale it refuses them in anyone's archive).
    let locale = if tool == "tar" { "C" } else { "C.UTF-8" };
    cmd.arg(archive).arg("-C").arg(dest).env("LC_ALL", locale);
    run_clean(&mut cmd);
}

/// sha256 of each file, computed by `sha256sum`.
pub fn sha256_files(paths: &[PathBuf]) -> Vec<String> {
    if paths.is_empty() {
        return Vec::new();
    }
    let out = run_ok(Command::new("sha256sum").arg("-z").args(paths));
    out.stdout
        .split(|&b| b == 0)
        .filter(|l| !l.is_empty())
        .map(|l| String::from_utf8_lossy(&l[..64]).into_owned())
        .collect()
}

/// Describes the tree at `path` (named `name`) the way a reader would list it, sorted by name:
/// kind, size, mode, mtime, link target, and sha256 of file contents (by `sha256sum`).
pub fn describe_tree(path: &Path, name: &[u8]) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![(path.to_path_buf(), name.to_vec())];
    while let Some((p, n)) = stack.pop() {
        let meta = fs::symlink_metadata(&p).unwrap();
        let ft = meta.file_type();
        let mut l = Listed {
            name: n.clone(),
            kind: '0',
            size: 0,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            link: Vec::new(),
            sha256: None,
        };
        if ft.is_symlink() {
            l.kind = '2';
            l.mode = 0o777;
            l.link = fs::read_link(&p).unwrap().into_os_string().into_vec();
        } else if ft.is_dir() {
            l.kind = '5';
            for child in fs::read_dir(&p).unwrap() {
                let child = child.unwrap();
                let mut cn = n.clone();
                cn.push(b'/');
                cn.extend_from_slice(child.file_name().as_bytes());
                stack.push((child.path(), cn));
            }
        } else {
            l.size = meta.len();
            files.push((out.len(), p.clone()));
        }
        out.push(l);
    }
    let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
    for ((i, _), sum) in files.iter().zip(sha256_files(&paths)) {
        out[*i].sha256 = Some(sum);
    }
    out.sort();
    out
}

/// Sorts a listing by name for comparison.
pub fn sorted(mut v: Vec<Listed>) -> Vec<Listed> {
    v.sort();
    v
}

/// A small deterministic pseudo-random generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` pseudo-random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
