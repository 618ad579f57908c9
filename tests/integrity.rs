//! A source that is no longer what was recorded stops the stream with `Error::Changed` naming the
//! file and what changed; no event after it claims the entry or the tape complete.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use tartape::{Error, Event, Stream, Tape};

const BIG: usize = 3 << 20; // three stream buffers

/// A tree `tree/` with `a.txt`, the victim `b.bin` (`size` bytes, mtime with nanoseconds) and
/// `c.txt`, and its tape.
fn setup(dir: &Path, size: usize) -> (PathBuf, Arc<Tape>) {
    let root = dir.join("tree");
    write(&root.join("a.txt"), b"first\n");
    let victim = root.join("b.bin");
    write(&victim, &Rng::new(3).bytes(size));
    set_mtime(&victim, 1_600_000_000, 100);
    write(&root.join("c.txt"), b"last\n");
    let tape = tape_of(&[&root]);
    (victim, tape)
}

/// What a stream did: the events it gave (as short strings) and the error that stopped it.
struct Outcome {
    events: Vec<String>,
    error: Error,
    stream: Stream,
}

/// Streams until an error; `on_first_data_of_victim` runs once, after the first DATA event of
/// `tree/b.bin`.
fn stream_until_error(tape: &Arc<Tape>, mut on_first_data_of_victim: impl FnMut()) -> Outcome {
    let victim = tape.layout().locate(b"tree/b.bin").unwrap().unwrap();
    let mut s = tape.stream(0, true).unwrap();
    let mut events = Vec::new();
    let mut fired = false;
    loop {
        match s.next_event() {
            Ok(Some(ev)) => {
                let text = match &ev {
                    Event::FileStart { index, .. } => format!("start {index}"),
                    Event::Data { index, .. } => format!("data {index:?}"),
                    Event::NeedData { .. } => "need".into(),
                    Event::FileEnd { index, md5, .. } => format!("end {index} {}", md5.is_some()),
                    Event::Completed => "completed".into(),
                };
                let victim_data = matches!(ev, Event::Data { index: Some(i), .. } if i == victim);
                events.push(text);
                if victim_data && !fired {
                    fired = true;
                    on_first_data_of_victim();
                }
            }
            Ok(None) => panic!("the stream completed: {events:?}"),
            Err(error) => {
                return Outcome {
                    events,
                    error,
                    stream: s,
                }
            }
        }
    }
}

/// The error is `Changed`, names `tree/b.bin` and contains `what`; the stream is stopped and
/// nothing claimed the victim or the tape complete.
fn assert_changed(mut o: Outcome, what: &str, tape: &Tape) {
    let victim = tape.layout().locate(b"tree/b.bin").unwrap().unwrap();
    match &o.error {
        Error::Changed { name, what: w } => {
            assert_eq!(name, "tree/b.bin");
            assert!(w.contains(what), "{w:?} should say {what:?}");
        }
        other => panic!("expected Changed, got {other:?}"),
    }
    let message = o.error.to_string();
    assert!(
        message.contains("tree/b.bin") && message.contains(what),
        "{message}"
    );
    assert!(o.error.is_fatal());
    assert!(!o.events.iter().any(|e| e == "completed"), "{:?}", o.events);
    assert!(
        !o.events
            .iter()
            .any(|e| e.starts_with(&format!("end {victim} "))),
        "{:?}",
        o.events
    );
    for _ in 0..2 {
        match o.stream.next_event() {
            Err(Error::State(_)) => {}
            other => panic!(
                "a stopped stream must keep failing, got {:?}",
                other.map(|e| e.is_some())
            ),
        }
    }
}

fn append(path: &Path, data: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(data)
        .unwrap();
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Rewrites bytes in place and puts the mtime back to the same second, other nanoseconds.
fn edit_same_size(path: &Path) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(b"EDITED", 10).unwrap();
    drop(f);
    set_mtime(path, 1_600_000_000, 200);
}

/// Replaces the file by a new inode with the same content, size and mtime.
fn replace(path: &Path) {
    let tmp = path.with_extension("new");
    fs::copy(path, &tmp).unwrap();
    set_mtime(&tmp, 1_600_000_000, 100);
    fs::rename(&tmp, path).unwrap();
}

#[test]
fn file_that_grew_before_streaming_is_changed() {
    let dir = TempDir::new("int-grew");
    let (victim, tape) = setup(dir.path(), 1000);
    append(&victim, b"more");
    assert_changed(stream_until_error(&tape, || {}), "grew", &tape);
}

#[test]
fn file_that_shrank_before_streaming_is_changed() {
    let dir = TempDir::new("int-shrank");
    let (victim, tape) = setup(dir.path(), 1000);
    truncate(&victim, 10);
    assert_changed(stream_until_error(&tape, || {}), "shrank", &tape);
}

#[test]
fn file_edited_at_the_same_size_before_streaming_is_changed() {
    let dir = TempDir::new("int-edit");
    let (victim, tape) = setup(dir.path(), 1000);
    edit_same_size(&victim);
    assert_changed(stream_until_error(&tape, || {}), "modified", &tape);
}

#[test]
fn file_replaced_by_rename_before_streaming_is_changed() {
    let dir = TempDir::new("int-replace");
    let (victim, tape) = setup(dir.path(), 1000);
    replace(&victim);
    assert_changed(stream_until_error(&tape, || {}), "replaced", &tape);
}

#[test]
fn file_deleted_before_streaming_is_changed() {
    let dir = TempDir::new("int-deleted");
    let (victim, tape) = setup(dir.path(), 1000);
    fs::remove_file(&victim).unwrap();
    assert_changed(stream_until_error(&tape, || {}), "deleted", &tape);
}

#[test]
fn file_that_grew_while_streaming_is_changed() {
    let dir = TempDir::new("int-grew-live");
    let (victim, tape) = setup(dir.path(), BIG);
    let o = stream_until_error(&tape, || append(&victim, b"more"));
    assert_changed(o, "grew", &tape);
}

#[test]
fn file_that_shrank_while_streaming_is_changed() {
    let dir = TempDir::new("int-shrank-live");
    let (victim, tape) = setup(dir.path(), BIG);
    let o = stream_until_error(&tape, || truncate(&victim, (BIG / 2) as u64));
    assert_changed(o, "shrank", &tape);
}

#[test]
fn file_edited_at_the_same_size_while_streaming_is_changed() {
    let dir = TempDir::new("int-edit-live");
    let (victim, tape) = setup(dir.path(), BIG);
    let o = stream_until_error(&tape, || {
        let f = OpenOptions::new().write(true).open(&victim).unwrap();
        f.write_all_at(b"EDITED", (BIG - 100) as u64).unwrap();
        drop(f);
        set_mtime(&victim, 1_600_000_000, 200);
    });
    assert_changed(o, "modified", &tape);
}

/// A file replaced or deleted while it is being read: the open file has lost its name (its link
/// count is 0), which the check after its last byte sees, so the stream stops; any later reader of
/// the entry (a resumed stream, `read_at`) meets the new state and fails too.
#[test]
fn file_replaced_or_deleted_while_streaming_stops_the_stream_and_later_reads_fail() {
    for (tag, change) in [
        ("replaced", replace as fn(&Path)),
        ("deleted", |p: &Path| fs::remove_file(p).unwrap()),
    ] {
        let dir = TempDir::new("int-swap-live");
        let (victim, tape) = setup(dir.path(), BIG);
        let index = tape.layout().locate(b"tree/b.bin").unwrap().unwrap();
        let slot = tape.layout().slot(index).unwrap().clone();
        let mut s = tape.stream(0, false).unwrap();
        let mut fired = false;
        let err = loop {
            match s.next_event() {
                Ok(Some(Event::Data { index: i, .. })) => {
                    if i == Some(index) && !fired {
                        fired = true;
                        change(&victim);
                    }
                }
                Ok(Some(Event::Completed)) | Ok(None) => panic!("{tag}: the stream completed"),
                Ok(Some(_)) => {}
                Err(e) => break e,
            }
        };
        match err {
            Error::Changed { name, what } => {
                assert_eq!(name, "tree/b.bin");
                assert!(what.contains(tag), "{what}");
            }
            other => panic!("{tag}: expected Changed, got {other}"),
        }
        let mut buf = [0u8; 10];
        match tape.read_at(slot.data_offset(), &mut buf) {
            Err(Error::Changed { name, what }) => {
                assert_eq!(name, "tree/b.bin");
                assert!(what.contains(tag), "{what}");
            }
            other => panic!("{tag}: read_at after the change: {other:?}"),
        }
        match stream_bytes(&tape, slot.data_offset() + 5) {
            Err(Error::Changed { what, .. }) => assert!(what.contains(tag), "{what}"),
            other => panic!("{tag}: resumed stream: {:?}", other.map(|b| b.len())),
        }
    }
}

#[test]
fn read_at_after_an_in_place_edit_is_changed_even_when_the_file_was_read_before() {
    let dir = TempDir::new("int-readat");
    let (victim, tape) = setup(dir.path(), 4000);
    let data_offset = tape
        .layout()
        .slot(tape.layout().locate(b"tree/b.bin").unwrap().unwrap())
        .unwrap()
        .data_offset();
    let mut buf = [0u8; 100];
    tape.read_at(data_offset, &mut buf).unwrap();
    edit_same_size(&victim);
    match tape.read_at(data_offset, &mut buf) {
        Err(Error::Changed { name, what }) => {
            assert_eq!(name, "tree/b.bin");
            assert!(what.contains("modified"), "{what}");
        }
        Ok(_) => panic!("read_at returned edited bytes as if they were the recorded content"),
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn read_at_of_a_grown_or_shrunk_file_is_changed() {
    let dir = TempDir::new("int-readat-size");
    let (victim, tape) = setup(dir.path(), 4000);
    let data_offset = tape
        .layout()
        .slot(tape.layout().locate(b"tree/b.bin").unwrap().unwrap())
        .unwrap()
        .data_offset();
    let mut buf = [0u8; 100];
    append(&victim, b"x");
    assert!(matches!(
        tape.read_at(data_offset, &mut buf),
        Err(Error::Changed { .. })
    ));
    truncate(&victim, 3999);
    assert!(matches!(
        tape.read_at(data_offset, &mut buf),
        Err(Error::Changed { .. })
    ));
}

/// The files `read_at` keeps open are checked on every read, from every thread: a file read
/// before (so held open by each reading thread), then replaced by a rename or deleted, or edited
/// in place, is refused by the next read on each of those threads, never read from the old
/// descriptor.
#[test]
fn read_at_of_a_file_held_open_then_replaced_deleted_or_edited_is_changed_on_every_thread() {
    for (tag, change) in [
        ("replaced or deleted while being read", replace as fn(&Path)),
        ("replaced or deleted while being read", |p: &Path| {
            fs::remove_file(p).unwrap()
        }),
        ("modified", edit_same_size),
    ] {
        let dir = TempDir::new("int-readat-held");
        let (victim, tape) = setup(dir.path(), 40_000);
        let slot = tape
            .layout()
            .slot(tape.layout().locate(b"tree/b.bin").unwrap().unwrap())
            .unwrap();
        let (data_offset, size) = (slot.data_offset(), slot.entry.size);
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for k in 0..3u64 {
                let (tape, barrier) = (&tape, &barrier);
                s.spawn(move || {
                    let mut buf = [0u8; 4096];
                    let at = data_offset + (k * 9000) % (size - 4096);
                    assert_eq!(tape.read_at(at, &mut buf).unwrap(), 4096);
                    barrier.wait(); // read once
                    barrier.wait(); // changed
                    match tape.read_at(at, &mut buf) {
                        Err(Error::Changed { name, what }) => {
                            assert_eq!(name, "tree/b.bin");
                            assert!(what.contains(tag), "{tag}: {what}");
                        }
                        other => panic!("{tag}: read_at after the change: {other:?}"),
                    }
                });
            }
            barrier.wait();
            change(&victim);
            barrier.wait();
        });
    }
}
