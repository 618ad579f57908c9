//! The state of an upload in progress, in a small JSON file beside its source
//! (`SOURCE.upload.json`): what `--resume`, `--abort` and a later run need to find the upload again
//! and to know it is of the same archive. Written atomically; removed once the upload is complete
//! or aborted.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::output::Output;
use crate::Failure;

/// One upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// `s3://BUCKET/KEY`.
    pub url: String,
    /// The store's id of the multipart upload.
    pub upload_id: String,
    /// Bytes per part (the last may be shorter).
    pub part_size: u64,
    /// The archive's size.
    pub total_size: u64,
    /// The archive's fingerprint: a different archive must not be completed with these parts.
    pub fingerprint: String,
    /// The additional checksum of each part.
    pub checksum: String,
}

/// Where the state of an upload of `source` is kept.
pub fn path_for(source: &Path) -> PathBuf {
    let mut s: OsString = source.as_os_str().to_owned();
    while s.len() > 1 && s.as_encoded_bytes().ends_with(b"/") {
        let bytes = s.as_encoded_bytes();
        // SAFETY: cutting a trailing ASCII '/' keeps the OsString's encoding valid.
        s = unsafe { OsString::from_encoded_bytes_unchecked(bytes[..bytes.len() - 1].to_vec()) };
    }
    s.push(".upload.json");
    PathBuf::from(s)
}

/// Reads the state at `path`, if there is one.
pub fn load(path: &Path) -> Result<Option<State>, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: not an upload state file: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes `state` to `path` (a temporary file renamed into place).
pub fn save(path: &Path, state: &State) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(state).map_err(|e| e.to_string())? + "\n";
    let mut out = Output::open(Some(path))?;
    out.write_all(text.as_bytes())?;
    out.commit()
}

/// Removes the state at `path` (nothing there is fine).
pub fn remove(path: &Path) -> Result<(), Failure> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_sits_beside_its_source() {
        assert_eq!(
            path_for(Path::new("a/b.tartape")),
            Path::new("a/b.tartape.upload.json")
        );
        assert_eq!(path_for(Path::new("dir/")), Path::new("dir.upload.json"));
    }

    #[test]
    fn states_round_trip() {
        let dir = std::env::temp_dir().join(format!("tartape-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.upload.json");
        let s = State {
            url: "s3://b/k".into(),
            upload_id: "id".into(),
            part_size: 8 << 20,
            total_size: 100,
            fingerprint: "f".into(),
            checksum: "md5".into(),
        };
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap(), Some(s));
        std::fs::write(&p, b"{").unwrap();
        assert!(load(&p).unwrap_err().contains("not an upload state file"));
        remove(&p).unwrap();
        assert_eq!(load(&p).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
