//! Whatever the command line is given, it answers: every subcommand with non-UTF-8 arguments, with
//! missing, unreadable and malformed inputs, and with bad options ends with its documented exit
//! status (0, 1 or 2) and at most a one-line error, never a panic (101) or a signal. Also the
//! options that mean the same everywhere (--quiet), the manifest, help, completions and man pages.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tartape<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_tartape"))
        .args(args)
        .output()
        .unwrap()
}

fn scratch(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tartape-robust-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    p
}

/// Exit 0, 1 or 2, never a panic or a signal; on failure exactly one line on standard error.
fn assert_answers(out: &Output, what: &str) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{what}: ended with {:?} (a panic is 101, a signal has no code): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: {err}"
    );
    if code == Some(2) {
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(err.starts_with("tartape: "), "{what}: {err}");
    }
}

fn nonutf8(base: &Path, tail: &[u8]) -> PathBuf {
    let mut bytes = base.as_os_str().as_bytes().to_vec();
    bytes.extend_from_slice(tail);
    PathBuf::from(OsString::from_vec(bytes))
}

#[test]
fn every_subcommand_works_with_non_utf8_paths_names_and_outputs() {
    let root = scratch("nonutf8");
    let dir = nonutf8(&root, b"/d\xff");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(OsStr::from_bytes(b"f\xfe")), b"content\n").unwrap();
    let archive = nonutf8(&root, b"/a\xfd.tar");
    let catalog = nonutf8(&root, b"/c\xfc.tartape");
    let manifest = nonutf8(&root, b"/m\xfb.jsonl");

    let out = tartape(
        [OsStr::new("create"), OsStr::new("-o")]
            .iter()
            .copied()
            .chain([
                archive.as_os_str(),
                OsStr::new("--manifest"),
                manifest.as_os_str(),
                dir.as_os_str(),
            ]),
    );
    assert!(out.status.success(), "create: {out:?}");
    assert!(fs::read_to_string(&manifest)
        .unwrap()
        .contains("\"name_hex\""));
    let out = tartape([
        OsStr::new("record"),
        dir.as_os_str(),
        OsStr::new("--catalog"),
        catalog.as_os_str(),
        OsStr::new("--md5"),
        OsStr::new("--quiet"),
    ]);
    assert!(out.status.success(), "record: {out:?}");
    let out = tartape([OsStr::new("play"), catalog.as_os_str()]);
    assert_eq!(
        out.stdout,
        fs::read(&archive).unwrap(),
        "play gives create's bytes"
    );
    let out = tartape([
        OsStr::new("verify"),
        catalog.as_os_str(),
        OsStr::new("--deep"),
    ]);
    assert!(out.status.success(), "verify: {out:?}");
    let vols = nonutf8(&root, b"/v\xfa");
    let out = tartape([
        OsStr::new("volumes"),
        catalog.as_os_str(),
        OsStr::new("--size"),
        OsStr::new("1K"),
        OsStr::new("--out-dir"),
        vols.as_os_str(),
    ]);
    assert!(out.status.success(), "volumes: {out:?}");
    let member = OsStr::from_bytes(b"d\xff/f\xfe");
    let out = tartape([OsStr::new("locate"), catalog.as_os_str(), member]);
    assert!(out.status.success(), "locate: {out:?}");
    let out = tartape([OsStr::new("ls"), archive.as_os_str()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("d\\xff/f\\xfe"),
        "ls: {out:?}"
    );
    let out = tartape([OsStr::new("cat"), archive.as_os_str(), member]);
    assert_eq!(out.stdout, b"content\n", "cat: {out:?}");
    let into = nonutf8(&root, b"/x\xf9");
    let out = tartape([
        OsStr::new("extract"),
        archive.as_os_str(),
        OsStr::new("-C"),
        into.as_os_str(),
        member,
    ]);
    assert!(out.status.success(), "extract: {out:?}");
    assert_eq!(
        fs::read(into.join(OsStr::from_bytes(b"d\xff/f\xfe"))).unwrap(),
        b"content\n"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn missing_unreadable_and_malformed_inputs_get_one_line_and_status_2() {
    let root = scratch("inputs");
    let missing = root.join("missing");
    let garbage = root.join("garbage");
    fs::write(&garbage, vec![0x5au8; 3000]).unwrap();
    let unreadable = root.join("unreadable");
    fs::write(&unreadable, b"x").unwrap();
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();
    let a_dir = root.join("dir");
    fs::create_dir_all(&a_dir).unwrap();
    let bad_utf8 = nonutf8(&root, b"/\xff\xfe");
    let catalog = root.join("out.tartape");
    let cases: Vec<Vec<&OsStr>> = [&missing, &garbage, &unreadable, &a_dir, &bad_utf8]
        .iter()
        .flat_map(|p| {
            let p = p.as_os_str();
            vec![
                vec![OsStr::new("play"), p],
                vec![OsStr::new("verify"), p],
                vec![
                    OsStr::new("volumes"),
                    p,
                    OsStr::new("--size"),
                    OsStr::new("1M"),
                ],
                vec![OsStr::new("locate"), p, OsStr::new("x")],
                vec![OsStr::new("ls"), p],
                vec![OsStr::new("cat"), p, OsStr::new("x")],
                vec![
                    OsStr::new("extract"),
                    p,
                    OsStr::new("-C"),
                    a_dir.as_os_str(),
                ],
                vec![
                    OsStr::new("record"),
                    p,
                    OsStr::new("--catalog"),
                    catalog.as_os_str(),
                ],
                vec![OsStr::new("create"), OsStr::new("--quiet"), p],
            ]
        })
        .collect();
    for args in &cases {
        let out = tartape(args);
        let what = format!("{args:?}");
        assert_answers(&out, &what);
        // Nothing there always fails; garbage fails where an archive or catalog is wanted (a
        // file is a fine source for create and record). Root reads mode-0 files, so those
        // and directories are only required to answer.
        let input = if args[1] == "--quiet" {
            args[2]
        } else {
            args[1]
        };
        let source = args[0] == "create" || args[0] == "record";
        let must_fail = input == missing.as_os_str()
            || input == bad_utf8.as_os_str()
            || (input == garbage.as_os_str() && !source);
        if must_fail {
            assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
        }
    }
    // Output paths that cannot be written.
    for out_path in [root.join("no/such/dir/x.tar"), a_dir.clone()] {
        let out = tartape([
            OsStr::new("create"),
            OsStr::new("-o"),
            out_path.as_os_str(),
            a_dir.as_os_str(),
        ]);
        assert_answers(&out, &format!("create -o {}", out_path.display()));
        assert_eq!(out.status.code(), Some(2));
    }
    let _ = fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o600));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn bad_options_name_the_option_and_suggest_the_close_one() {
    for (args, words) in [
        (
            &["create", "--formt", "zip", "x"][..],
            &["--formt", "--format", "create --help"][..],
        ),
        (&["extrct", "a"], &["extrct", "extract"]),
        (&["volumes", "c"], &["--size"]),
        (&["volumes", "c", "--size", "12Q"], &["12Q", "suffix"]),
        (&["create", "--deflate=12", "x"], &["12"]),
        (
            &["extract", "a", "--overwrite", "--keep-existing"],
            &["--keep-existing"],
        ),
        (&["create", "--md5", "x"], &["--manifest"]),
        (&["completions", "tcsh"], &["tcsh"]),
        (&["ls", "a", "b"], &["unexpected argument"]),
    ] {
        let out = tartape(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert_answers(&out, &format!("{args:?}"));
        let err = String::from_utf8_lossy(&out.stderr);
        for w in words {
            assert!(err.contains(w), "{args:?}: {err:?} should name {w}");
        }
    }
}

#[test]
fn help_version_completions_and_man_pages_come_from_one_definition() {
    let out = tartape(["help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "create", "record", "play", "verify", "volumes", "locate", "ls", "cat", "extract",
    ] {
        assert!(help.contains(cmd), "{cmd} in tartape help");
        let out = tartape([cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        assert!(!out.stdout.is_empty());
    }
    let out = tartape(["create", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[default: tar]") && text.contains("--manifest"),
        "{text}"
    );
    let out = tartape(["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tartape {}", env!("CARGO_PKG_VERSION"))
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = tartape(["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("extract"),
            "{shell}"
        );
    }
    let dir = scratch("man");
    let out = tartape([OsStr::new("man"), dir.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    let page = fs::read_to_string(dir.join("tartape-extract.1")).unwrap();
    assert!(
        page.contains(".TH") && page.contains("strip\\-components"),
        "{page}"
    );
    if Command::new("man").arg("--version").output().is_ok() {
        let out = Command::new("man")
            .arg("-l")
            .arg(dir.join("tartape.1"))
            .env("MANPAGER", "cat")
            .output()
            .unwrap();
        assert!(out.status.success(), "man -l renders the page: {out:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_manifest_lists_every_entry_with_its_offsets_and_md5_only_when_asked() {
    let root = scratch("manifest");
    let dir = root.join("tree");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/a.txt"), b"alpha\n").unwrap();
    fs::write(dir.join("b.bin"), vec![9u8; 100_000]).unwrap();
    let archive = root.join("t.tar");
    let manifest = root.join("m.jsonl");
    let run = |extra: &[&str]| {
        let mut args: Vec<OsString> = vec!["create".into(), "-o".into(), archive.clone().into()];
        args.push("--manifest".into());
        args.push(manifest.clone().into());
        args.extend(extra.iter().map(OsString::from));
        args.push(dir.clone().into());
        let out = tartape(&args);
        assert!(out.status.success(), "{out:?}");
        fs::read_to_string(&manifest).unwrap()
    };
    let plain = run(&[]);
    assert!(!plain.contains("md5"), "{plain}");
    let hashed = run(&["--md5"]);
    let bytes = fs::read(&archive).unwrap();
    let listing = String::from_utf8(
        tartape([OsStr::new("ls"), OsStr::new("--json"), archive.as_os_str()]).stdout,
    )
    .unwrap();
    assert_eq!(hashed.lines().count(), listing.lines().count());
    for line in hashed.lines() {
        let field = |k: &str| -> String {
            let at = line
                .find(&format!("\"{k}\": "))
                .unwrap_or_else(|| panic!("{k} in {line}"));
            line[at + k.len() + 4..]
                .split([',', '}'])
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string()
        };
        let (data, size) = (
            field("data_offset").parse::<usize>().unwrap(),
            field("size").parse::<usize>().unwrap(),
        );
        // The offsets are the archive's: the ls listing agrees, and for files the MD5 is the
        // content's at that offset.
        assert!(
            listing.contains(&format!("\"data_offset\":{data}")),
            "{line}"
        );
        if field("type") == "file" {
            use md5::Digest;
            let digest: String = md5::Md5::digest(&bytes[data..data + size])
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(field("md5"), digest, "{line}");
        }
        assert!(field("end_offset").parse::<usize>().unwrap() <= bytes.len());
    }
    // The archive is the same with and without the manifest.
    let out = tartape([OsStr::new("create"), dir.as_os_str()]);
    assert_eq!(out.stdout, bytes);
    let _ = fs::remove_dir_all(&root);
}

/// Runs `tartape ARGS` under a pseudo-terminal (util-linux `script`) and returns what the terminal
/// showed.
fn on_a_terminal(args: &str) -> String {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_tartape"));
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    assert!(out.status.success(), "{cmd}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_is_shown_on_a_terminal_only_and_never_with_quiet() {
    let root = scratch("progress");
    let dir = root.join("tree");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("big"), vec![1u8; 3 << 20]).unwrap();
    let d = dir.display();
    let r = root.display();
    let commands = [
        format!("create -o {r}/a.tar {d}"),
        format!("record {d} --catalog {r}/c.tartape --md5"),
        format!("play {r}/c.tartape -o {r}/b.tar"),
        format!("verify {r}/c.tartape --deep"),
        format!("volumes {r}/c.tartape --size 1M --out-dir {r}/v"),
        format!("extract {r}/a.tar -C {r}/x --overwrite"),
    ];
    for c in &commands {
        let shown = on_a_terminal(c);
        let drew = if c.starts_with("record") {
            shown.contains("scanning: 2 entries, 3.00 MiB")
        } else {
            shown.contains("3.00 MiB /") || shown.contains(" / 3.00 MiB")
        };
        assert!(drew, "{c}: progress on a terminal: {shown:?}");
        let quiet = on_a_terminal(&format!("{c} --quiet"));
        assert!(
            !quiet.contains("MiB /") && !quiet.contains("scanning"),
            "{c} --quiet: {quiet:?}"
        );
        // On a pipe nothing is drawn.
        let args: Vec<&str> = c.split(' ').collect();
        let out = tartape(&args);
        assert!(out.status.success() || args[0] == "verify", "{c}: {out:?}");
        assert!(
            out.stderr.is_empty(),
            "{c}: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn random_argument_vectors_never_end_in_a_panic_or_a_signal() {
    let root = scratch("random-args");
    let dir = root.join("d");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("f"), b"x").unwrap();
    let archive = root.join("a.tar");
    assert!(tartape([
        OsStr::new("create"),
        OsStr::new("-o"),
        archive.as_os_str(),
        dir.as_os_str()
    ])
    .status
    .success());
    let catalog = root.join("c.tartape");
    assert!(tartape([
        OsStr::new("record"),
        dir.as_os_str(),
        OsStr::new("--catalog"),
        catalog.as_os_str()
    ])
    .status
    .success());
    let words: Vec<OsString> = [
        "create",
        "record",
        "play",
        "verify",
        "volumes",
        "locate",
        "ls",
        "cat",
        "extract",
        "-o",
        "--offset",
        "--length",
        "--size",
        "--format",
        "zip",
        "tar",
        "--deflate",
        "--deflate=3",
        "--md5",
        "--no-md5",
        "--manifest",
        "--json",
        "--deep",
        "-C",
        "--strip-components",
        "-1",
        "0",
        "99999999999999999999",
        "1K",
        "-",
        "--",
        "--quiet",
        "--overwrite",
        "--force",
        "",
    ]
    .iter()
    .map(OsString::from)
    .chain([
        archive.clone().into_os_string(),
        catalog.clone().into_os_string(),
        dir.clone().into_os_string(),
        root.join("out").into_os_string(),
        OsString::from_vec(b"\xff\xfe".to_vec()),
    ])
    .collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let started = std::time::Instant::now();
    for round in 0..300 {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
        let mut args = Vec::new();
        for _ in 0..(1 + round % 6) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            args.push(words[(seed % words.len() as u64) as usize].clone());
        }
        // Keep the outputs inside the scratch directory whatever the words say.
        let out = Command::new(env!("CARGO_BIN_EXE_tartape"))
            .args(&args)
            .current_dir(&root)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{args:?} ended with {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}"
        );
    }
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn compressed_output_reads_back_with_gzip_zstd_and_gnu_tar() {
    let root = scratch("compress");
    let dir = root.join("tree");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/a.txt"), "compressible text\n".repeat(5000)).unwrap();
    fs::write(dir.join("b.bin"), vec![7u8; 300_000]).unwrap();
    let plain = tartape([OsStr::new("create"), dir.as_os_str()]).stdout;
    let catalog = root.join("c.tartape");
    assert!(tartape([
        OsStr::new("record"),
        dir.as_os_str(),
        OsStr::new("--catalog"),
        catalog.as_os_str()
    ])
    .status
    .success());
    let unpack = |tool: &str, bytes: &[u8]| {
        let path = root.join("packed");
        fs::write(&path, bytes).unwrap();
        let out = Command::new(tool).arg("-dc").arg(&path).output().unwrap();
        assert!(out.status.success(), "{tool} -d: {out:?}");
        out.stdout
    };
    for (args, tool) in [
        (vec!["create", "-z"], "gzip"),
        (vec!["create", "--compress", "gzip=9"], "gzip"),
        (vec!["create", "--zstd"], "zstd"),
        (
            vec!["create", "--compress", "zstd=19", "--compress-threads", "1"],
            "zstd",
        ),
    ] {
        let mut a: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        a.push(dir.as_os_str());
        let out = tartape(&a);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(unpack(tool, &out.stdout), plain, "{args:?}");
        // The same bytes again, and GNU tar reads them.
        assert_eq!(tartape(&a).stdout, out.stdout, "{args:?} is deterministic");
        let packed = root.join("t.tar.x");
        fs::write(&packed, &out.stdout).unwrap();
        let flag = if tool == "gzip" { "-z" } else { "--zstd" };
        let listed = Command::new("tar")
            .arg(flag)
            .arg("-tf")
            .arg(&packed)
            .output()
            .unwrap();
        assert!(
            listed.status.success()
                && String::from_utf8_lossy(&listed.stdout).contains("tree/sub/a.txt")
        );
    }
    // A recorded tape plays compressed; its bytes are create's.
    let played = tartape([OsStr::new("play"), catalog.as_os_str(), OsStr::new("-z")]);
    assert_eq!(
        played.stdout,
        tartape([OsStr::new("create"), OsStr::new("-z"), dir.as_os_str()]).stdout
    );
    // Stream-only: offsets are refused; ZIP does not take it (catalogs record it in frames:
    // cli/tests/seekable.rs).
    for bad in [
        vec![
            OsStr::new("create"),
            OsStr::new("-z"),
            OsStr::new("--offset"),
            OsStr::new("512"),
            dir.as_os_str(),
        ],
        vec![
            OsStr::new("create"),
            OsStr::new("--zstd"),
            OsStr::new("--format"),
            OsStr::new("zip"),
            dir.as_os_str(),
        ],
        vec![
            OsStr::new("create"),
            OsStr::new("--compress"),
            OsStr::new("lz4"),
            dir.as_os_str(),
        ],
        vec![
            OsStr::new("record"),
            dir.as_os_str(),
            OsStr::new("--zstd"),
            OsStr::new("--format"),
            OsStr::new("zip"),
        ],
    ] {
        let out = tartape(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert_answers(&out, &format!("{bad:?}"));
    }
    let _ = fs::remove_dir_all(&root);
}
