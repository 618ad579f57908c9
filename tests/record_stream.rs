//! Recording a tree straight into a catalog (`TapeBuilder::record_path`, what `tartape record`
//! does) writes the very bytes that walking it into a tape, sealing and saving write, whatever
//! the tree and the options; and it leaves nothing behind but the catalog.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tartape::{Checksums, Format, TapeBuilder};

fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tartape-record-stream-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Nested directories, empty ones, files of several sizes, symlinks, names that need pax records
/// or GNU long names (long, non-UTF-8), a long symlink target, and (as root) several owners.
fn mixed(root: &Path) -> PathBuf {
    let d = root.join("data");
    fs::create_dir_all(d.join("a/b/c/d")).unwrap();
    fs::create_dir_all(d.join("empty/inner-empty")).unwrap();
    fs::create_dir_all(d.join(".git/objects")).unwrap();
    fs::write(d.join(".git/objects/x"), b"excluded").unwrap();
    for i in 0..40 {
        let content = vec![b'a' + (i % 26) as u8; i * 131];
        fs::write(d.join(format!("a/f{i:02}.txt")), content).unwrap();
    }
    let big: Vec<u8> = (0..1_300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    fs::write(d.join("a/b/big.bin"), big).unwrap();
    fs::write(d.join("a/b/c/d/deep"), b"deep").unwrap();
    fs::write(d.join("a/b/c").join("n".repeat(150)), b"long name").unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.bin");
    fs::write(d.join("a").join(odd), b"not utf-8").unwrap();
    fs::write(d.join("zero"), b"").unwrap();
    std::os::unix::fs::symlink("a/f01.txt", d.join("link")).unwrap();
    std::os::unix::fs::symlink("t".repeat(180), d.join("a/long-target")).unwrap();
    std::os::unix::fs::symlink("missing", d.join("dangling")).unwrap();
    if is_root() {
        for (i, name) in ["a/f03.txt", "a/f04.txt", "a/b", "zero"].iter().enumerate() {
            let c = std::ffi::CString::new(d.join(name).as_os_str().as_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            let rc = unsafe { libc::lchown(c.as_ptr(), 1000 + i as u32, 2000 + i as u32) };
            assert_eq!(rc, 0);
        }
    }
    d
}

/// Enough entries to pass the walk's window (16 Ki entries listed ahead), several 1 MiB chunks of
/// the table and many runs of records read back for the fingerprint.
fn wide(root: &Path) -> PathBuf {
    let d = root.join("wide");
    // A chain of directories deeper than any listing is wide, names long enough for pax records.
    let mut deep = d.join("deep");
    for i in 0..120 {
        deep = deep.join(format!("level{i:03}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("bottom"), b"at the bottom").unwrap();
    for i in 0..90 {
        let sub = d.join(format!("d{i:03}"));
        fs::create_dir_all(&sub).unwrap();
        if i % 10 == 0 {
            fs::create_dir_all(sub.join("nested/deeper")).unwrap();
            fs::write(sub.join("nested/deeper/x"), b"x").unwrap();
        }
        for j in 0..250 {
            fs::write(sub.join(format!("f{j:03}")), b"").unwrap();
        }
    }
    d
}

/// The builder the options describe.
#[derive(Clone, Default)]
struct Options {
    format: Format,
    deflate: u32,
    align: u64,
    checksums: Checksums,
    keep_owners: bool,
    strict: bool,
    exclude: Vec<&'static [u8]>,
}

fn builder(o: &Options) -> TapeBuilder {
    let mut b = TapeBuilder::new();
    b.set_format(o.format);
    b.set_deflate(o.deflate).unwrap();
    b.set_align(o.align).unwrap();
    b.record_checksums(o.checksums);
    let w = b.options_mut();
    w.keep_owners = o.keep_owners;
    w.strict = o.strict;
    w.exclude = o.exclude.iter().map(|x| x.to_vec()).collect();
    b
}

/// Records `tree` both ways into `out` and checks the catalogs are the same bytes; returns them.
fn same_both_ways(tree: &Path, o: &Options, out: &Path) -> Vec<u8> {
    let (old, new) = (out.join("old.tartape"), out.join("new.tartape"));
    let mut b = builder(o);
    b.add_path(tree, None).unwrap();
    let tape = b.seal().unwrap();
    tape.save(&old).unwrap();
    let recorded = builder(o).record_path(tree, None, &new).unwrap();
    let (old_bytes, new_bytes) = (fs::read(&old).unwrap(), fs::read(&new).unwrap());
    assert_eq!(old_bytes.len(), new_bytes.len(), "catalog lengths");
    if let Some(at) = old_bytes.iter().zip(&new_bytes).position(|(a, b)| a != b) {
        panic!(
            "the catalogs differ first at byte {at} of {}",
            old_bytes.len()
        );
    }
    assert_eq!(recorded.fingerprint, tape.fingerprint().unwrap());
    assert_eq!(recorded.entries, tape.len() as u64);
    assert_eq!(recorded.total_size, tape.total_size());
    assert_eq!(recorded.skipped, tape.skipped());
    // Nothing but the two catalogs is left beside them.
    let mut names: Vec<_> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["new.tartape", "old.tartape"]);
    fs::remove_file(&old).unwrap();
    fs::remove_file(&new).unwrap();
    new_bytes
}

#[test]
fn a_mixed_tree_records_the_same_catalog_with_every_option() {
    let root = scratch("mixed");
    let tree = mixed(&root);
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    let zip = Options {
        format: Format::Zip,
        ..Options::default()
    };
    let cases = [
        Options::default(),
        Options {
            checksums: Checksums::ALL,
            ..Options::default()
        },
        Options {
            checksums: Checksums::DEFAULT,
            ..Options::default()
        },
        Options {
            exclude: vec![b".git", b"c"],
            ..Options::default()
        },
        Options {
            keep_owners: true,
            ..Options::default()
        },
        Options {
            align: 4096,
            checksums: Checksums::SHA256,
            ..Options::default()
        },
        zip.clone(),
        Options {
            deflate: 6,
            checksums: Checksums::CRC32C,
            ..zip.clone()
        },
        Options {
            keep_owners: true,
            exclude: vec![b"b"],
            ..zip
        },
    ];
    for o in &cases {
        same_both_ways(&tree, o, &out);
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_tree_wider_than_the_window_records_the_same_catalog() {
    let root = scratch("wide");
    let tree = wide(&root);
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    let bytes = same_both_ways(&tree, &Options::default(), &out);
    assert!(bytes.len() > 2 << 20, "several chunks: {}", bytes.len());
    let zip = Options {
        format: Format::Zip,
        checksums: Checksums::MD5,
        ..Options::default()
    };
    same_both_ways(&tree, &zip, &out);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_single_file_a_symlink_and_an_empty_directory_record_as_roots() {
    let root = scratch("roots");
    fs::write(root.join("alone.txt"), b"just one file").unwrap();
    std::os::unix::fs::symlink("alone.txt", root.join("alias")).unwrap();
    fs::create_dir_all(root.join("nothing")).unwrap();
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    for name in ["alone.txt", "alias", "nothing"] {
        same_both_ways(&root.join(name), &Options::default(), &out);
        let sums = Options {
            checksums: Checksums::ALL,
            ..Options::default()
        };
        same_both_ways(&root.join(name), &sums, &out);
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn special_files_are_skipped_alike_and_refused_alike_in_strict_mode() {
    let root = scratch("special");
    let tree = mixed(&root);
    let fifo = std::ffi::CString::new(tree.join("a/b/pipe").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    same_both_ways(&tree, &Options::default(), &out);
    let strict = Options {
        strict: true,
        ..Options::default()
    };
    let mut b = builder(&strict);
    let old = b.add_path(&tree, None).unwrap_err().to_string();
    let new = builder(&strict)
        .record_path(&tree, None, &out.join("strict.tartape"))
        .unwrap_err()
        .to_string();
    assert_eq!(old, new);
    assert!(new.contains("pipe"), "{new}");
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        0,
        "nothing left behind"
    );
    // A special file as the root: a tape of no entry, the same catalog.
    let bytes = same_both_ways(&tree.join("a/b/pipe"), &Options::default(), &out);
    assert_eq!(tartape::Tape::open_bytes(bytes).unwrap().len(), 0);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn errors_name_the_path_and_leave_nothing_behind() {
    let root = scratch("errors");
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    let missing = root.join("no-such-dir");
    let old = TapeBuilder::new()
        .add_path(&missing, None)
        .unwrap_err()
        .to_string();
    let new = TapeBuilder::new()
        .record_path(&missing, None, &out.join("c.tartape"))
        .unwrap_err()
        .to_string();
    assert_eq!(old, new);
    assert!(new.contains("no-such-dir"), "{new}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    // A catalog in a directory that does not exist: the message names where.
    let tree = mixed(&root);
    let err = TapeBuilder::new()
        .record_path(&tree, None, &root.join("nowhere/c.tartape"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
    // A builder holding entries already is refused.
    let mut b = TapeBuilder::new();
    b.add_bytes(b"x", b"x".to_vec(), 0o644, 0).unwrap();
    assert!(b.record_path(&tree, None, &out.join("c.tartape")).is_err());
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_recorded_catalog_opens_and_replaces_an_older_one_in_place() {
    let root = scratch("replace");
    let tree = mixed(&root);
    let catalog = root.join("tree.tartape");
    fs::write(&catalog, b"an older catalog").unwrap();
    let recorded = TapeBuilder::new()
        .record_path(&tree, Some(b"named"), &catalog)
        .unwrap();
    let tape = tartape::Tape::open(&catalog).unwrap();
    tape.check_catalog().unwrap();
    assert_eq!(tape.fingerprint().unwrap(), recorded.fingerprint);
    assert_eq!(tape.slot(0).unwrap().entry.name.as_ref(), b"named");
    assert!(tape.verify(false).unwrap().is_clean());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_file_that_cannot_be_hashed_fails_alike_after_the_walk() {
    // sysfs files claim 4096 bytes and hold a few: hashing finds them shorter than stat'ed. (Skipped
    // where /sys is not mounted.)
    let dir = Path::new("/sys/kernel/mm/transparent_hugepage");
    if !dir.is_dir() {
        eprintln!("skipped: no {}", dir.display());
        return;
    }
    let out = scratch("unhashable");
    let sums = Options {
        checksums: Checksums::MD5,
        ..Options::default()
    };
    let mut b = builder(&sums);
    b.add_path(dir, None).unwrap();
    let old = b.seal().err().expect("sealing fails").to_string();
    let new = builder(&sums)
        .record_path(dir, None, &out.join("c.tartape"))
        .unwrap_err()
        .to_string();
    assert_eq!(old, new);
    assert!(new.contains("shrank while being hashed"), "{new}");
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        0,
        "nothing left behind"
    );
    fs::remove_dir_all(&out).unwrap();
}
