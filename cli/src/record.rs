//! `tartape record` and `tartape play`: save a tape to a catalog, stream it later from any byte.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tartape::{Checksums, Tape};

use crate::cli::{ChecksumArg, PlayArgs, RecordArgs};
use crate::create::{builder, report_skipped, scanning, write_tape};
use crate::progress::{human, Progress};
use crate::Failure;

/// The catalog path used when none is given: `DIR.tartape` beside the directory.
pub fn default_catalog(dir: &Path) -> PathBuf {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut bytes = dir.as_os_str().as_bytes().to_vec();
    while bytes.len() > 1 && bytes.ends_with(b"/") {
        bytes.pop();
    }
    if bytes.is_empty() || bytes == b"." || bytes == b"/" {
        return std::env::current_dir()
            .map(|d| {
                let mut d = d.into_os_string();
                d.push(".tartape");
                PathBuf::from(d)
            })
            .unwrap_or_else(|_| PathBuf::from("tape.tartape"));
    }
    bytes.extend_from_slice(b".tartape");
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// Runs `tartape record`.
pub fn record(args: RecordArgs) -> Result<u8, Failure> {
    let mut builder = builder(&args.build)?;
    let mut checksums = Checksums::NONE;
    for (on, c) in [
        (args.md5, Checksums::DEFAULT),
        (args.sha256, Checksums::SHA256),
        (args.crc32c, Checksums::CRC32C),
    ] {
        if on {
            checksums |= c;
        }
    }
    builder.record_checksums(checksums);
    let catalog = args
        .catalog
        .clone()
        .unwrap_or_else(|| default_catalog(&args.dir));
    let scan = Progress::scan(args.quiet);
    // Straight to the catalog, in memory independent of the tree's size.
    let recorded = scanning(&mut builder, &scan, |b| {
        b.record_path(&args.dir, None, &catalog)
            .map_err(|e| e.to_string())
    })?;
    // A catalog's compression is always in frames (a stream-only tape would have no offsets):
    // the catalog just written is opened (mapped, not read into memory), its frames recorded,
    // and saved again in its place.
    let o = &args.build.compress;
    let framed = if o.get()?.is_some() {
        let mut tape = Tape::open(&catalog).map_err(|e| e.to_string())?;
        crate::create::compress(&mut tape, o, true, &scan)?;
        tape.save(&catalog).map_err(|e| e.to_string())?;
        Some(tape)
    } else {
        None
    };
    drop(scan);
    report_skipped(&recorded.skipped);
    println!("catalog: {}", catalog.display());
    let (fingerprint, size) = match &framed {
        Some(t) => (t.fingerprint().map_err(|e| e.to_string())?, t.total_size()),
        None => (recorded.fingerprint.clone(), recorded.total_size),
    };
    println!("fingerprint: {fingerprint}");
    println!("entries: {}", recorded.entries);
    if recorded.deflated {
        println!("total size: unknown until streamed (deflated entries)");
    } else {
        println!("total size: {size} bytes ({})", human(size));
    }
    if let Some(tape) = &framed {
        let f = tape.frames().expect("recorded above");
        let tar = tape.layout().total_size();
        println!(
            "frames: {} of at most {} bytes, {} level {} ({}), {:.2}% of the TAR's {tar} bytes",
            f.len(),
            f.frame_size(),
            f.compress().compression().name(),
            f.compress().level(),
            f.engine(),
            f.total() as f64 * 100.0 / tar.max(1) as f64
        );
    }
    if let Some(part_size) = args.part_size {
        let tape = Tape::open(&catalog).map_err(|e| e.to_string())?;
        let checksum = crate::upload::checksum_of(args.checksum.unwrap_or(ChecksumArg::Md5));
        let (count, etag, composite) = crate::upload::predict(&tape, part_size, checksum)?;
        println!("multipart etag ({count} parts of {part_size} bytes): {etag}");
        if let Some(c) = composite {
            println!("multipart {} ({count} parts): {c}", checksum.name());
        }
    }
    Ok(0)
}

/// Runs `tartape play`.
pub fn play(args: PlayArgs) -> Result<u8, Failure> {
    let mut tape = Tape::open(&args.catalog).map_err(|e| e.to_string())?;
    let progress = Progress::scan(args.output.quiet);
    crate::create::compress(&mut tape, &args.compress, false, &progress)?;
    drop(progress);
    let tape = Arc::new(tape);
    write_tape(&tape, &args.output)?;
    Ok(0)
}
