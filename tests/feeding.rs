//! Push-fed entries: the caller feeds exactly the declared bytes when asked; every misuse is refused
//! with the right error, and the archive never carries a byte it should not.

mod common;

use std::sync::Arc;

use common::*;
use tartape::{Error, Event, Stream, Tape, TapeBuilder};

/// A tape: `head` (bytes), `fed` (push, 1000 bytes), `zero` (push, 0 bytes), `tail` (bytes).
fn tape() -> Arc<Tape> {
    let mut b = TapeBuilder::new();
    b.add_bytes(b"head", b"h".repeat(100), 0o644, 10).unwrap();
    b.add_push(b"fed", 1000, 0o600, 11).unwrap();
    b.add_push(b"zero", 0, 0o644, 12).unwrap();
    b.add_bytes(b"tail", b"t".repeat(50), 0o644, 13).unwrap();
    Arc::new(b.seal().unwrap())
}

fn content(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

/// Pulls events, collecting DATA bytes, until a NEED_DATA (returned) or the end (None).
fn until_need(s: &mut Stream, out: &mut Vec<u8>) -> Option<(usize, u64, u64)> {
    loop {
        match s.next_event().unwrap() {
            Some(Event::Data { bytes, .. }) => out.extend_from_slice(bytes),
            Some(Event::NeedData {
                index,
                content_offset,
                remaining,
            }) => return Some((index, content_offset, remaining)),
            Some(_) => {}
            None => return None,
        }
    }
}

#[test]
fn feeding_in_chunks_gives_a_complete_archive_python_reads() {
    let tape = tape();
    let mut s = tape.stream(0, true).unwrap();
    let mut out = Vec::new();
    let mut asked = Vec::new();
    while let Some((index, off, remaining)) = until_need(&mut s, &mut out) {
        asked.push((index, off, remaining));
        let n = remaining.min(300) as usize;
        s.feed(&content(off as usize, n)).unwrap();
    }
    assert_eq!(
        asked,
        [(1, 0, 1000), (1, 300, 700), (1, 600, 400), (1, 900, 100)]
    );
    assert_eq!(out.len() as u64, tape.total_size());
    let dir = TempDir::new("feed-ok");
    std::fs::write(dir.join("a.tar"), &out).unwrap();
    let listed = python_list(&dir.join("a.tar"));
    assert_eq!(listed[1].name, b"fed");
    assert_eq!(listed[1].size, 1000);
    let sum = sha256_files(&[{
        std::fs::write(dir.join("fed"), content(0, 1000)).unwrap();
        dir.join("fed")
    }]);
    assert_eq!(listed[1].sha256.as_ref(), Some(&sum[0]));
    assert_eq!(listed[2].name, b"zero");
    assert_eq!(listed[2].size, 0);
}

#[test]
fn a_chunk_past_the_declared_size_is_refused_before_any_of_it_goes_out() {
    let tape = tape();
    let mut s = tape.stream(0, false).unwrap();
    let mut out = Vec::new();
    until_need(&mut s, &mut out).unwrap();
    s.feed(&content(0, 600)).unwrap();
    let (_, off, remaining) = until_need(&mut s, &mut out).unwrap();
    assert_eq!((off, remaining), (600, 400));
    let emitted = out.len();
    match s.feed(&vec![0xEE; 401]) {
        Err(Error::SizeMismatch { name, what }) => {
            assert_eq!(name, "fed");
            assert!(what.contains("401") && what.contains("400"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    // The stream stopped; nothing of the refused chunk came out.
    assert!(matches!(s.next_event(), Err(Error::State(_))));
    assert!(matches!(s.next_event(), Err(Error::State(_))));
    let fed_data = tape.layout().slot(1).unwrap().data_offset() as usize;
    assert_eq!(emitted, fed_data + 600);
    assert!(
        out[fed_data..] == content(0, 600)[..],
        "only the accepted chunk is out"
    );
}

#[test]
fn feed_end_before_the_declared_size_is_a_size_mismatch_that_stops_the_stream() {
    let tape = tape();
    let mut s = tape.stream(0, false).unwrap();
    let mut out = Vec::new();
    until_need(&mut s, &mut out).unwrap();
    s.feed(&content(0, 600)).unwrap();
    until_need(&mut s, &mut out).unwrap();
    match s.feed_end() {
        Err(Error::SizeMismatch { name, what }) => {
            assert_eq!(name, "fed");
            assert!(what.contains("600 of 1000"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.next_event(), Err(Error::State(_))));
    assert!(matches!(s.feed(b"x"), Err(Error::State(_))));
}

#[test]
fn feeding_when_no_entry_waits_is_a_state_error_that_changes_nothing() {
    let tape = tape();
    let mut s = tape.stream(0, false).unwrap();
    // Before any event, and at FILE_START.
    assert!(matches!(s.feed(b"early"), Err(Error::State(_))));
    assert!(matches!(s.feed_end(), Err(Error::State(_))));
    assert!(matches!(
        s.next_event().unwrap(),
        Some(Event::FileStart { index: 0, .. })
    ));
    let e = s.feed(b"x").unwrap_err();
    assert!(matches!(e, Error::State(_)) && !e.is_fatal());
    // The stream goes on as if nothing happened.
    let mut out = Vec::new();
    let (_, off, _) = until_need(&mut s, &mut out).unwrap();
    s.feed(&content(0, 1000)).unwrap();
    // After the chunk is consumed, nothing waits again.
    assert!(until_need(&mut s, &mut out).is_none());
    assert_eq!(off, 0);
    assert_eq!(out.len() as u64, tape.total_size());
    assert!(matches!(s.feed(b"late"), Err(Error::State(_))));
}

#[test]
fn next_event_while_data_is_awaited_is_a_state_error_that_changes_nothing() {
    let tape = tape();
    let mut s = tape.stream(0, false).unwrap();
    let mut out = Vec::new();
    until_need(&mut s, &mut out).unwrap();
    for _ in 0..3 {
        let e = s.next_event().unwrap_err();
        assert!(matches!(e, Error::State(_)) && !e.is_fatal(), "{e:?}");
        assert!(e.to_string().contains("fed"), "{e}");
    }
    s.feed(&content(0, 1000)).unwrap();
    assert!(until_need(&mut s, &mut out).is_none());
    assert_eq!(out.len() as u64, tape.total_size());
}

#[test]
fn a_zero_size_push_entry_asks_for_nothing_and_has_the_empty_md5() {
    let mut b = TapeBuilder::new();
    b.add_push(b"zero", 0, 0o644, 12).unwrap();
    let tape = Arc::new(b.seal().unwrap());
    let mut s = tape.stream(0, true).unwrap();
    let mut kinds = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        kinds.push(match ev {
            Event::FileStart { .. } => "start".to_string(),
            Event::Data { bytes, .. } => format!("data {}", bytes.len()),
            Event::NeedData { .. } => "need".into(),
            Event::FileEnd { md5, .. } => {
                assert_eq!(
                    md5,
                    Some([
                        0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98,
                        0xec, 0xf8, 0x42, 0x7e
                    ])
                );
                "end".into()
            }
            Event::Completed => "completed".into(),
        });
    }
    assert_eq!(
        kinds,
        ["start", "data 512", "end", "data 1024", "completed"]
    );
    assert!(tape
        .layout()
        .slot(0)
        .unwrap()
        .entry
        .source
        .is_random_access());
}

#[test]
fn resuming_inside_a_push_entry_asks_from_the_right_content_offset() {
    let tape = tape();
    let slot = tape.layout().slot(1).unwrap().clone();
    let full = {
        let mut s = tape.stream(0, false).unwrap();
        let mut out = Vec::new();
        while let Some((_, off, rem)) = until_need(&mut s, &mut out) {
            s.feed(&content(off as usize, rem as usize)).unwrap();
        }
        out
    };
    for start in [
        slot.data_offset() + 300,
        slot.data_offset() + 999,
        slot.header_offset + 100,
        slot.data_offset(),
    ] {
        let mut s = tape.stream(start, true).unwrap();
        match s.next_event().unwrap() {
            Some(Event::FileStart { index, resumed, .. }) => {
                assert_eq!(index, 1);
                assert_eq!(resumed, start > slot.header_offset);
            }
            other => panic!("{other:?}"),
        }
        let mut out = Vec::new();
        let want_from = start.max(slot.data_offset()) - slot.data_offset();
        let (index, off, remaining) = until_need(&mut s, &mut out).unwrap();
        assert_eq!((index, off, remaining), (1, want_from, 1000 - want_from));
        s.feed(&content(off as usize, remaining as usize)).unwrap();
        let mut md5s = Vec::new();
        while let Some(ev) = s.next_event().unwrap() {
            match ev {
                Event::Data { bytes, .. } => out.extend_from_slice(bytes),
                Event::FileEnd { index, md5, .. } => md5s.push((index, md5.is_some())),
                _ => {}
            }
        }
        assert!(out == full[start as usize..], "resumed at {start}");
        // A resumed entry has an MD5 only when its whole content passed through this stream.
        assert_eq!(md5s[0], (1, start <= slot.data_offset()), "at {start}");
        assert!(md5s[1..].iter().all(|&(_, has)| has), "{md5s:?}");
    }
}
