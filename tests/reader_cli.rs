//! `tartape ls` and `tartape cat`, compiled from src/bin/tartape (main.rs wires them).

#[path = "support/reader_build.rs"]
mod build;
#[path = "../src/bin/tartape/cat.rs"]
mod cat;
#[path = "../src/bin/tartape/ls.rs"]
mod ls;

fn temp_archive(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tartape-reader-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn ls_prints_type_mode_size_time_and_name() {
    let t = build::tar(&[(build::tar_header(b"dir/file.txt", 5, b'0'), b"hello")]);
    let p = temp_archive("ls.tar", &t);
    let mut out = Vec::new();
    assert_eq!(ls::run_to(&args(&[p.to_str().unwrap()]), &mut out), Ok(0));
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "-0644            5 1970-01-01 00:00:00 dir/file.txt\n"
    );
}

#[test]
fn ls_json_escapes_non_utf8_names_and_adds_name_hex() {
    let z = build::zip(&[build::ZipMember {
        name: b"caf\xe9",
        data: b"x",
        method: 0,
        flags: 0x800,
        unix_mode: 0o100600,
    }]);
    let p = temp_archive("ls.zip", &z);
    let mut out = Vec::new();
    assert_eq!(
        ls::run_to(&args(&["--json", p.to_str().unwrap()]), &mut out),
        Ok(0)
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("{\"name\":\"caf\\\\xe9\",\"name_hex\":\"636166e9\",\"type\":\"file\""),
        "{text}"
    );
    assert!(text.contains("\"mode\":\"0600\""), "{text}");
    assert_eq!(text.lines().count(), 1);
}

#[test]
fn cat_writes_a_member_and_reports_missing_ones() {
    let z = build::zip(&[
        build::member(b"a.txt", b"alpha", 8),
        build::member(b"b.txt", b"beta", 0),
    ]);
    let p = temp_archive("cat.zip", &z);
    let p = p.to_str().unwrap();
    let mut out = Vec::new();
    assert_eq!(cat::run_to(&args(&[p, "a.txt"]), &mut out), Ok(0));
    assert_eq!(out, b"alpha");
    let mut out = Vec::new();
    assert_eq!(cat::run_to(&args(&[p, "b.txt"]), &mut out), Ok(0));
    assert_eq!(out, b"beta");
    assert!(cat::run_to(&args(&[p, "nope"]), &mut Vec::new())
        .unwrap_err()
        .contains("no member"));
    assert!(cat::run_to(&args(&[p]), &mut Vec::new()).is_err());
    assert!(ls::run_to(&args(&[]), &mut Vec::new()).is_err());
    let _ = (
        cat::run as fn(&[String]) -> Result<i32, String>,
        ls::run as fn(&[String]) -> Result<i32, String>,
    );
}
