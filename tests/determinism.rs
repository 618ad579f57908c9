//! The same tree gives the same bytes, whatever the archiver's umask, time zone and locale, and
//! whatever order the tree's entries were created in.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use common::*;

/// What the tree holds: (relative path, content or symlink target, mode, mtime).
enum Node {
    Dir(&'static str, u32, i64),
    File(&'static str, &'static [u8], u32, i64),
    Link(&'static str, &'static str, i64),
}

const TREE: &[Node] = &[
    Node::Dir("a", 0o755, 1_500_000_000),
    Node::Dir("a/sub", 0o700, 1_500_000_100),
    Node::File("a/sub/one.txt", b"one\n", 0o644, 1_500_000_001),
    Node::File("a/sub/two.txt", b"two two\n", 0o600, 1_500_000_002),
    Node::File("a/zeta", b"", 0o640, 1_500_000_003),
    Node::File("b.bin", &[0u8; 1500], 0o755, -86_400),
    Node::Link("c-link", "a/sub/one.txt", 1_500_000_004),
    Node::File("Z-upper", b"upper case sorts first\n", 0o444, 1_500_000_005),
    Node::File("é-accent", "non-ascii\n".as_bytes(), 0o644, 1_500_000_006),
    Node::Dir("empty", 0o751, 1_500_000_007),
];

/// Builds the tree under `base/tree`, creating entries forwards or backwards.
fn make_tree(base: &Path, reverse: bool) -> std::path::PathBuf {
    let root = base.join("tree");
    fs::create_dir_all(&root).unwrap();
    let order: Vec<&Node> = if reverse {
        TREE.iter().rev().collect()
    } else {
        TREE.iter().collect()
    };
    for node in &order {
        match node {
            Node::Dir(p, ..) => fs::create_dir_all(root.join(p)).unwrap(),
            Node::File(p, data, ..) => write(&root.join(p), data),
            Node::Link(p, target, _) => {
                fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
                symlink(target, root.join(p)).unwrap();
            }
        }
    }
    // Modes and times last, deepest first, so creating children does not touch a parent's mtime.
    let mut nodes: Vec<&Node> = TREE.iter().collect();
    nodes.sort_by_key(|n| match n {
        Node::Dir(p, ..) | Node::File(p, ..) | Node::Link(p, ..) => std::cmp::Reverse(p.len()),
    });
    for node in nodes {
        match node {
            Node::Dir(p, mode, t) | Node::File(p, _, mode, t) => {
                chmod(&root.join(p), *mode);
                set_mtime(&root.join(p), *t, 0);
            }
            Node::Link(p, _, t) => set_mtime(&root.join(p), *t, 0),
        }
    }
    chmod(&root, 0o755);
    set_mtime(&root, 1_500_000_999, 0);
    root
}

/// Runs `tartape create -o out.tar tree` in `base` under `umask` with extra environment.
fn create_with(base: &Path, umask: &str, env: &[(&str, &str)]) -> Vec<u8> {
    create_args(base, umask, env, &[])
}

/// `tartape create` with `extra` options, as [`create_with`].
fn create_args(base: &Path, umask: &str, env: &[(&str, &str)], extra: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(tartape_bin())
        .args(["create", "--quiet", "-o", "out.tar"])
        .args(extra)
        .arg("tree")
        .current_dir(base);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_ok(&mut cmd);
    fs::read(base.join("out.tar")).unwrap()
}

#[test]
fn same_tree_gives_same_bytes_across_umask_creation_order_tz_and_locale() {
    let one = TempDir::new("det-one");
    let two = TempDir::new("det-two");
    make_tree(one.path(), false);
    make_tree(two.path(), true);
    let a = create_with(
        one.path(),
        "022",
        &[("TZ", "UTC"), ("LC_ALL", "C"), ("LANG", "C")],
    );
    let b = create_with(
        two.path(),
        "077",
        &[
            ("TZ", "Pacific/Kiritimati"),
            ("LC_ALL", "C.UTF-8"),
            ("LANG", "tr_TR.UTF-8"),
        ],
    );
    assert!(!a.is_empty());
    assert!(
        a == b,
        "archives differ (sizes {} and {})",
        a.len(),
        b.len()
    );
    // The command line and the library agree.
    let lib = archive_bytes(&tape_of(&[&two.join("tree")]));
    assert!(a == lib, "command line and library differ");
    // Seekable compressed archives too, whatever the threads.
    let frames = ["--seekable", "--frame-size", "64K", "--compress-threads"];
    let a = create_args(
        one.path(),
        "022",
        &[("TZ", "UTC")],
        &[&frames[..], &["1"]].concat(),
    );
    let b = create_args(
        two.path(),
        "077",
        &[("TZ", "Pacific/Kiritimati"), ("LANG", "tr_TR.UTF-8")],
        &[&frames[..], &["3"]].concat(),
    );
    assert!(
        a == b,
        "seekable archives differ (sizes {} and {})",
        a.len(),
        b.len()
    );
}

#[test]
fn entries_come_in_byte_order_with_each_directory_before_its_contents() {
    let dir = TempDir::new("det-order");
    let root = make_tree(dir.path(), true);
    let tape = tape_of(&[&root]);
    let names: Vec<String> = tape
        .layout()
        .slots()
        .unwrap()
        .iter()
        .map(|s| String::from_utf8(s.entry.name.to_vec()).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "tree",
            "tree/Z-upper",
            "tree/a",
            "tree/a/sub",
            "tree/a/sub/one.txt",
            "tree/a/sub/two.txt",
            "tree/a/zeta",
            "tree/b.bin",
            "tree/c-link",
            "tree/empty",
            "tree/é-accent",
        ]
    );
}

#[test]
fn owners_are_anonymous_by_default() {
    let dir = TempDir::new("det-owner");
    let root = make_tree(dir.path(), false);
    let bytes = archive_bytes(&tape_of(&[&root]));
    // Every ustar block: uid, gid 0 and empty user and group names.
    let mut off = 0;
    for slot in tape_of(&[&root]).layout().slots().unwrap() {
        let block = &bytes[off + slot.header_len as usize - 512..][..512];
        assert_eq!(&block[108..124], b"0000000\x000000000\x00");
        assert!(block[265..329].iter().all(|&b| b == 0));
        off = slot.end_offset() as usize;
    }
}

/// The walk's order computed the plain way: each path, then its children sorted byte-wise.
fn serial_walk(path: &Path, name: &str, out: &mut Vec<String>) {
    out.push(name.to_string());
    if fs::symlink_metadata(path).unwrap().is_dir() {
        let mut children: Vec<String> = fs::read_dir(path)
            .unwrap()
            .map(|c| c.unwrap().file_name().into_string().unwrap())
            .collect();
        children.sort();
        for c in children {
            serial_walk(&path.join(&c), &format!("{name}/{c}"), out);
        }
    }
}

#[test]
fn a_wide_and_deep_tree_walked_by_several_threads_comes_in_the_serial_order() {
    // Directories are listed by several threads at once; the result must not depend on which
    // thread listed what, nor on timing. 3 levels of 7 directories (400 directories), files and
    // symlinks at every level, names that sort differently as bytes and as text.
    let dir = TempDir::new("det-wide");
    let root = dir.path().join("w");
    let mut dirs = vec![root.clone()];
    for level in 0..3 {
        let mut next = Vec::new();
        for d in &dirs {
            fs::create_dir_all(d).unwrap();
            for f in ["B", "a", "é", "a.b", "a-b"] {
                fs::write(d.join(format!("{f}{level}")), f.as_bytes()).unwrap();
            }
            symlink("a0", d.join("link")).unwrap();
            for i in 0..7 {
                next.push(d.join(format!("d{}", 7 - i)));
            }
        }
        dirs = next;
    }
    for d in &dirs {
        fs::create_dir_all(d).unwrap();
    }
    let mut expected = Vec::new();
    serial_walk(&root, "w", &mut expected);
    assert_eq!(expected.len(), 742);
    for _ in 0..5 {
        let tape = tape_of(&[&root]);
        let names: Vec<String> = (0..tape.len())
            .map(|i| String::from_utf8(tape.layout().name(i).unwrap().to_vec()).unwrap())
            .collect();
        assert!(names == expected, "the walk's order changed");
    }
    // The first special file in walk order is the one strict mode names, every time.
    let fifo = |p: &Path| {
        let st = Command::new("mkfifo").arg(p).status().unwrap();
        assert!(st.success());
    };
    fifo(&root.join("d7/d1/zz-fifo"));
    fifo(&root.join("d1/d7/zz-fifo"));
    fifo(&root.join("d1/d1/d7/zz-fifo"));
    for _ in 0..5 {
        let mut b = tartape::TapeBuilder::new();
        b.options_mut().strict = true;
        let err = b.add_path(&root, None).unwrap_err().to_string();
        assert!(err.contains("w/d1/d1/d7/zz-fifo"), "{err}");
        assert!(b.entries().is_empty());
    }
}
