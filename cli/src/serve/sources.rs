//! The archives a server offers: one per SOURCE (a catalog opened without rescanning, or a
//! directory walked once), each with the version currently served and, after an integrity
//! failure, the reason it is refused (and, with `--rescan`, a new walk that replaces it).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tartape::{Format, Source, Tape};

use crate::cli::BuildOptions;
use crate::Failure;

/// Where an archive's tape comes from.
#[derive(Debug)]
enum Origin {
    /// A catalog saved by `tartape record`.
    Catalog(PathBuf),
    /// A directory (or file) walked with the server's build options.
    Walk(PathBuf),
}

/// One served archive.
pub struct Archive {
    /// The name in URLs, without the extension.
    pub name: Vec<u8>,
    origin: Origin,
    current: RwLock<Arc<Version>>,
    builder: Arc<Builder>,
    rescan: bool,
    rescanning: AtomicBool,
}

/// One fixed layout of an archive, as served under one ETag.
pub struct Version {
    /// The tape.
    pub tape: Arc<Tape>,
    /// The strong ETag, quotes included: the fingerprint.
    pub etag: String,
    /// The fingerprint.
    pub fingerprint: String,
    /// The size; `None` for a ZIP with deflated entries (stream-only).
    pub size: Option<u64>,
    /// The latest entry mtime (not later than when the version was made).
    pub last_modified: SystemTime,
    /// Set once when a read of this version failed: why it is no longer served.
    failure: OnceLock<String>,
}

impl Version {
    fn of(tape: Tape) -> Result<Version, Failure> {
        let tape = Arc::new(tape);
        let fingerprint = tape.fingerprint().map_err(|e| e.to_string())?;
        let mut latest = 0i64;
        for i in 0..tape.len() {
            latest = latest.max(tape.slot(i).map_err(|e| e.to_string())?.entry.mtime);
        }
        let latest = UNIX_EPOCH + Duration::from_secs(latest.max(0) as u64);
        Ok(Version {
            etag: format!("\"{fingerprint}\""),
            fingerprint,
            size: tape.size().ok(),
            last_modified: latest.min(SystemTime::now()),
            tape,
            failure: OnceLock::new(),
        })
    }

    /// Why this version is refused, after a failed read.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// The archive's file extension.
    pub fn extension(&self) -> &'static str {
        let compression = self.tape.frames().map(|f| f.compress().compression());
        match (self.tape.format(), compression) {
            (Format::Zip, _) => "zip",
            (Format::Tar, Some(tartape::Compression::Zstd)) => "tar.zst",
            (Format::Tar, Some(tartape::Compression::Gzip)) => "tar.gz",
            (Format::Tar, _) => "tar",
        }
    }
}

/// How the server builds the tapes of directories.
pub struct Builder {
    options: BuildOptions,
}

impl Builder {
    /// Build options as given on the command line (checked once here).
    pub fn new(options: BuildOptions) -> Result<Builder, Failure> {
        crate::create::builder(&options)?;
        Ok(Builder { options })
    }

    fn build(&self, origin: &Origin) -> Result<Tape, Failure> {
        match origin {
            Origin::Catalog(path) => {
                Tape::open(path).map_err(|e| format!("{}: {e}", path.display()))
            }
            Origin::Walk(path) => {
                let mut builder = crate::create::builder(&self.options)?;
                builder
                    .add_path(path, None)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                for s in builder.skipped() {
                    eprintln!("tartape: serve: skipped {} {}", s.kind, s.path.display());
                }
                let mut tape = builder
                    .seal()
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                // Served with ranges, so compressed in frames.
                let quiet = crate::progress::Progress::scan(true);
                crate::create::compress(&mut tape, &self.options.compress, true, &quiet)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(tape)
            }
        }
    }
}

impl Archive {
    /// Opens or walks `path`: a directory is walked, a file is opened as a catalog. With
    /// `rescan`, an integrity failure makes the source be walked (or opened) again.
    pub fn load(path: &Path, builder: &Arc<Builder>, rescan: bool) -> Result<Archive, Failure> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let origin = if meta.is_dir() {
            Origin::Walk(path.to_path_buf())
        } else {
            Origin::Catalog(path.to_path_buf())
        };
        let name = url_name(path, &origin)?;
        let version = Version::of(builder.build(&origin)?)?;
        Ok(Archive {
            name,
            origin,
            current: RwLock::new(Arc::new(version)),
            builder: builder.clone(),
            rescan,
            rescanning: AtomicBool::new(false),
        })
    }

    /// The version served now.
    pub fn current(&self) -> Arc<Version> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The file name in URLs: `NAME.tar` or `NAME.zip`.
    pub fn file_name(&self) -> Vec<u8> {
        let mut n = self.name.clone();
        n.push(b'.');
        n.extend_from_slice(self.current().extension().as_bytes());
        n
    }

    /// Whether a rescan is under way.
    pub fn is_rescanning(&self) -> bool {
        self.rescanning.load(Ordering::Acquire)
    }

    /// Refuses `version` from now on because reading it failed; logs the error with the file on
    /// disk that caused it and, with `--rescan`, walks the source again on another thread (a catalog
    /// is opened again: it is served anew only if it was re-recorded meanwhile).
    pub fn fail(self: &Arc<Self>, version: &Arc<Version>, error: &tartape::Error) {
        let file = culprit(&version.tape, error);
        let reason = match &file {
            Some(f) => format!("{}: {error}", f.display()),
            None => error.to_string(),
        };
        if version.failure.set(reason.clone()).is_err() {
            return;
        }
        eprintln!(
            "tartape: serve: {}: integrity failure, no longer served: {reason}",
            String::from_utf8_lossy(&self.file_name())
        );
        if self.rescan && !self.rescanning.swap(true, Ordering::AcqRel) {
            let archive = self.clone();
            std::thread::spawn(move || {
                archive.rescan();
                archive.rescanning.store(false, Ordering::Release);
            });
        }
    }

    fn rescan(&self) {
        let shown = String::from_utf8_lossy(&self.name).into_owned();
        let failed = self.current().fingerprint.clone();
        match self.builder.build(&self.origin).and_then(Version::of) {
            Ok(v) if v.fingerprint == failed => eprintln!(
                "tartape: serve: {shown}: rescanned, but the source still records the layout that failed; still refused"
            ),
            Ok(v) => {
                eprintln!(
                    "tartape: serve: {shown}: rescanned, now served as {} ({} entries, fingerprint {})",
                    String::from_utf8_lossy(&self.file_name()),
                    v.tape.len(),
                    v.fingerprint
                );
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(v);
            }
            Err(e) => eprintln!("tartape: serve: {shown}: rescan failed: {e}"),
        }
    }
}

/// The file on disk behind a failed read, when the error names an entry that has one.
fn culprit(tape: &Tape, error: &tartape::Error) -> Option<PathBuf> {
    match error {
        tartape::Error::Io { path, .. } => Some(path.clone()),
        tartape::Error::Changed { name, .. } | tartape::Error::SizeMismatch { name, .. } => {
            let index = tape.layout().locate(name.as_bytes()).ok()??;
            match tape.slot(index).ok()?.entry.source {
                Source::File(f) => Some(f.path(name.as_bytes())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The URL name of a source: a directory's base name, a catalog's file name without its extension.
fn url_name(path: &Path, origin: &Origin) -> Result<Vec<u8>, Failure> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let base = canonical
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_else(|| b"root".to_vec());
    let name = match origin {
        Origin::Walk(_) => base,
        Origin::Catalog(_) => match base.iter().rposition(|&b| b == b'.') {
            Some(dot) if dot > 0 => base[..dot].to_vec(),
            _ => base,
        },
    };
    if name.contains(&b'/') || name.contains(&0) || name.is_empty() {
        return Err(format!("{}: cannot be named in a URL", path.display()));
    }
    Ok(name)
}

/// Loads every source; two sources with the same name are refused.
pub fn load_all(
    paths: &[PathBuf],
    builder: &Arc<Builder>,
    rescan: bool,
) -> Result<Vec<Arc<Archive>>, Failure> {
    let mut out: Vec<Arc<Archive>> = Vec::new();
    for path in paths {
        let archive = Archive::load(path, builder, rescan)?;
        if out.iter().any(|a| a.name == archive.name) {
            return Err(format!(
                "{}: another source is already served as {}",
                path.display(),
                String::from_utf8_lossy(&archive.file_name())
            ));
        }
        out.push(Arc::new(archive));
    }
    Ok(out)
}
