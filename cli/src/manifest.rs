//! `--manifest FILE`: one JSON object per entry, written beside the archive as the stream goes
//! (the events of TarTape as a file). Like the archive, it appears under its name only when
//! complete.

use std::path::Path;
use std::sync::Arc;

use tartape::{Entry, EntryKind, Tape};

use crate::json;
use crate::output::Output;
use crate::Failure;

/// An entry that has started but not ended.
struct Open {
    index: usize,
    line: String,
}

/// The manifest being written.
pub struct Manifest {
    out: Output,
    tape: Arc<Tape>,
    md5: bool,
    open: Option<Open>,
}

impl Manifest {
    /// Opens `path` (a temporary file until `commit`); `md5` adds each entry's MD5.
    pub fn open(path: &Path, tape: Arc<Tape>, md5: bool) -> Result<Manifest, Failure> {
        Ok(Manifest {
            out: Output::open(Some(path))?,
            tape,
            md5,
            open: None,
        })
    }

    /// Entry `index` starts at `header_offset` (`resumed`: the stream began inside it).
    pub fn start(&mut self, index: usize, entry: &Entry, header_offset: u64, resumed: bool) {
        let kind = match entry.kind {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
        };
        // A deflated ZIP's data offsets are known only as it is written.
        let data_offset = match self.tape.check_random_access() {
            Ok(()) => self
                .tape
                .slot(index)
                .map(|s| s.data_offset().to_string())
                .unwrap_or_else(|_| "null".into()),
            Err(_) => "null".into(),
        };
        let mut line = format!(
            "{{\"index\": {index}, {}, \"type\": \"{kind}\", \"size\": {}, \"mode\": \"{:04o}\", \"mtime\": {}",
            json::name_fields("name", &entry.name),
            entry.size,
            entry.mode,
            entry.mtime
        );
        if entry.kind == EntryKind::Symlink {
            line.push_str(&format!(", {}", json::name_fields("link", &entry.link)));
        }
        line.push_str(&format!(
            ", \"header_offset\": {header_offset}, \"data_offset\": {data_offset}, \"resumed\": {resumed}"
        ));
        self.open = Some(Open { index, line });
    }

    /// Entry `index` ends at `end_offset`, with its content's MD5 when hashing was on and all of
    /// it passed.
    pub fn end(
        &mut self,
        index: usize,
        end_offset: u64,
        md5: Option<[u8; 16]>,
    ) -> Result<(), Failure> {
        let Some(open) = self.open.take().filter(|o| o.index == index) else {
            return Err(format!("manifest: entry {index} ended without starting"));
        };
        let mut line = open.line;
        line.push_str(&format!(", \"end_offset\": {end_offset}"));
        if self.md5 {
            match md5 {
                Some(d) => line.push_str(&format!(", \"md5\": \"{}\"", json::hex(&d))),
                None => line.push_str(", \"md5\": null"),
            }
        }
        line.push_str("}\n");
        self.out.write_all(line.as_bytes())
    }

    /// An entry cut by `--length`: listed with the end it has in the archive, without MD5.
    pub fn finish_open(&mut self) -> Result<(), Failure> {
        if let Some(open) = self.open.take() {
            let end = match self.tape.check_random_access() {
                Ok(()) => self
                    .tape
                    .layout()
                    .end_offset(open.index)
                    .map_err(|e| e.to_string())?
                    .to_string(),
                Err(_) => "null".into(),
            };
            let mut line = open.line;
            line.push_str(&format!(", \"end_offset\": {end}, \"truncated\": true"));
            if self.md5 {
                line.push_str(", \"md5\": null");
            }
            line.push_str("}\n");
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Syncs the manifest and gives it its final name.
    pub fn commit(self) -> Result<(), Failure> {
        self.out.commit()
    }
}
