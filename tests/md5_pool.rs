//! Large files are hashed ahead on worker threads: their FILE_END MD5s equal md5sum's, in order,
//! and a file changed after hashing still stops the stream.

use std::fs;
use std::process::Command;
use std::sync::Arc;

use tartape::{Error, Event, TapeBuilder};

#[test]
fn md5s_of_large_files_hashed_ahead_equal_md5sum_and_come_in_order() {
    let dir = std::env::temp_dir().join(format!("tartape-md5pool-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("d")).unwrap();
    for i in 0..5u32 {
        let size = (5 << 20) + i as usize * 12345;
        let data: Vec<u8> = (0..size as u32)
            .map(|x| (x.wrapping_mul(2654435761) >> (i + 3)) as u8)
            .collect();
        fs::write(dir.join(format!("d/f{i}")), data).unwrap();
    }
    fs::write(dir.join("d/small"), b"small file hashed inline").unwrap();
    let mut b = TapeBuilder::new();
    b.add_path(&dir.join("d"), None).unwrap();
    let tape = Arc::new(b.seal().unwrap());
    let mut s = tape.stream(0, true).unwrap();
    let mut ends = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::FileEnd {
            index, entry, md5, ..
        } = ev
        {
            ends.push(index);
            if entry.kind == tartape::EntryKind::File {
                let name = String::from_utf8(entry.name.to_vec()).unwrap();
                let out = Command::new("md5sum")
                    .arg(dir.join(&name))
                    .output()
                    .unwrap();
                let expected = String::from_utf8_lossy(&out.stdout)[..32].to_string();
                assert_eq!(
                    md5.expect("hashing is on")
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>(),
                    expected,
                    "{name}"
                );
            }
        }
    }
    assert_eq!(
        ends,
        (0..tape.len()).collect::<Vec<_>>(),
        "FILE_END events in order"
    );

    // A file edited (same size, new mtime) after the workers hashed it still stops the stream.
    let mut s = tape.stream(0, true).unwrap();
    let mut edited = false;
    let err = loop {
        match s.next_event() {
            Ok(Some(Event::FileStart { index: 1, .. })) if !edited => {
                edited = true;
                std::thread::sleep(std::time::Duration::from_millis(200));
                let f = dir.join("d/f3");
                let mut data = fs::read(&f).unwrap();
                data[0] ^= 1;
                fs::write(&f, data).unwrap();
            }
            Ok(Some(Event::Completed)) | Ok(None) => panic!("completed despite the edit"),
            Ok(Some(_)) => {}
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, Error::Changed { ref name, .. } if name == "d/f3"),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}
