//! `tartape record` and `tartape play`: save a tape to a catalog, stream it later from any byte.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tartape::{Tape, TapeBuilder};

use crate::args::{format_option, parse_size, Args};
use crate::create::{end_of, pump};
use crate::output::Output;
use crate::progress::{human, Progress};

const RECORD_USAGE: &str =
    "usage: tartape record DIR [--catalog FILE] [--format tar|zip] [--deflate[=LEVEL]] [--md5] [--exclude NAME] [--keep-owners] [--strict]";
const PLAY_USAGE: &str =
    "usage: tartape play CATALOG [--offset N] [--length N] [-o FILE] [--no-md5] [--quiet]";

/// The catalog path used when none is given: `DIR.tartape` beside the directory.
pub fn default_catalog(dir: &Path) -> PathBuf {
    let trimmed = dir.to_string_lossy().trim_end_matches('/').to_string();
    let trimmed = if trimmed.is_empty() || trimmed == "." {
        std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "tape".into())
    } else {
        trimmed
    };
    PathBuf::from(format!("{trimmed}.tartape"))
}

/// Runs `tartape record`.
pub fn record(argv: &[String]) -> Result<i32, String> {
    let mut args = Args::new(argv);
    let mut builder = TapeBuilder::new();
    let mut catalog = None;
    let mut dir = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--catalog" => catalog = Some(PathBuf::from(args.value(&a)?)),
            "--md5" => builder.set_checksums(true),
            "--exclude" => builder
                .options_mut()
                .exclude
                .push(args.value(&a)?.into_bytes()),
            "--keep-owners" => builder.options_mut().keep_owners = true,
            "--strict" => builder.options_mut().strict = true,
            "-h" | "--help" => {
                println!("{RECORD_USAGE}");
                return Ok(0);
            }
            s if format_option(s, &mut args, &mut builder)? => {}
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{RECORD_USAGE}")),
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => return Err(format!("one DIR only\n{RECORD_USAGE}")),
        }
    }
    let dir = dir.ok_or_else(|| format!("no DIR given\n{RECORD_USAGE}"))?;
    let catalog = catalog.unwrap_or_else(|| default_catalog(&dir));
    builder.add_path(&dir, None).map_err(|e| e.to_string())?;
    for s in builder.skipped() {
        eprintln!("tartape: skipped {} {}", s.kind, s.path.display());
    }
    let tape = builder.seal().map_err(|e| e.to_string())?;
    tape.save(&catalog).map_err(|e| e.to_string())?;
    println!("catalog: {}", catalog.display());
    println!(
        "fingerprint: {}",
        tape.fingerprint().map_err(|e| e.to_string())?
    );
    println!("entries: {}", tape.len());
    match tape.size() {
        Ok(size) => println!("total size: {size} bytes ({})", human(size)),
        Err(_) => println!("total size: unknown until streamed (deflated entries)"),
    }
    Ok(0)
}

/// Runs `tartape play`.
pub fn play(argv: &[String]) -> Result<i32, String> {
    let mut args = Args::new(argv);
    let mut catalog = None;
    let mut out_path: Option<PathBuf> = None;
    let (mut offset, mut length, mut md5, mut quiet) = (0u64, None, true, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-o" | "--output" => out_path = Some(args.value(&a)?.into()),
            "--offset" => offset = parse_size(&args.value(&a)?)?,
            "--length" => length = Some(parse_size(&args.value(&a)?)?),
            "--no-md5" => md5 = false,
            "--quiet" | "-q" => quiet = true,
            "-h" | "--help" => {
                println!("{PLAY_USAGE}");
                return Ok(0);
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{PLAY_USAGE}")),
            _ => catalog = Some(PathBuf::from(a)),
        }
    }
    let catalog = catalog.ok_or_else(|| format!("no CATALOG given\n{PLAY_USAGE}"))?;
    let tape = Arc::new(Tape::open(&catalog).map_err(|e| e.to_string())?);
    let stream = tape.stream(offset, md5).map_err(|e| e.to_string())?;
    let end = end_of(&tape, offset, length);
    let mut output = Output::open(out_path.as_deref())?;
    let mut progress = Progress::new(end - offset, quiet || end == u64::MAX);
    let written = pump(stream, end, &mut output, &mut progress)?;
    output.commit()?;
    progress.finish(written);
    Ok(0)
}
