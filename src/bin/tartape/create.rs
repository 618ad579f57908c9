//! `tartape create`: the archive of the given paths, or a byte range of it.

use std::path::PathBuf;
use std::sync::Arc;

use tartape::{Stream, TapeBuilder};

use crate::args::{format_option, parse_size, Args};
use crate::output::Output;
use crate::progress::Progress;

const USAGE: &str = "usage: tartape create [-o FILE] [--format tar|zip] [--deflate[=LEVEL]] [--no-md5] [--offset N] [--length N] [--keep-owners] [--strict] [--exclude NAME] [--quiet] PATH...";

/// Runs `tartape create`.
pub fn run(argv: &[String]) -> Result<(), String> {
    let mut args = Args::new(argv);
    let mut out_path: Option<PathBuf> = None;
    let mut md5 = true;
    let mut offset = 0u64;
    let mut length: Option<u64> = None;
    let mut quiet = false;
    let mut builder = TapeBuilder::new();
    let mut paths = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-o" | "--output" => out_path = Some(args.value(&a)?.into()),
            "--no-md5" => md5 = false,
            "--offset" => offset = parse_size(&args.value(&a)?)?,
            "--length" => length = Some(parse_size(&args.value(&a)?)?),
            "--quiet" | "-q" => quiet = true,
            "--keep-owners" => builder.options_mut().keep_owners = true,
            "--strict" => builder.options_mut().strict = true,
            "--exclude" => builder
                .options_mut()
                .exclude
                .push(args.value(&a)?.into_bytes()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            s if format_option(s, &mut args, &mut builder)? => {}
            s if s.starts_with('-') && s != "-" => {
                return Err(format!("unknown option {s}\n{USAGE}"))
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        return Err(format!("no PATH given\n{USAGE}"));
    }
    for p in &paths {
        builder.add_path(p, None).map_err(|e| e.to_string())?;
    }
    for s in builder.skipped() {
        eprintln!("tartape: skipped {} {}", s.kind, s.path.display());
    }
    let tape = Arc::new(builder.seal().map_err(|e| e.to_string())?);
    let stream = tape.stream(offset, md5).map_err(|e| e.to_string())?;
    let end = end_of(&tape, offset, length);
    let mut output = Output::open(out_path.as_deref())?;
    let mut progress = Progress::new(end - offset, quiet || end == u64::MAX);
    let written = pump(stream, end, &mut output, &mut progress)?;
    output.commit()?;
    progress.finish(written);
    Ok(())
}

/// Where a range from `offset` of `length` bytes (or to the end) stops. A deflated ZIP's size is
/// known only once streamed: its stream runs to the end.
pub fn end_of(tape: &tartape::Tape, offset: u64, length: Option<u64>) -> u64 {
    let total = tape.size().unwrap_or(u64::MAX);
    length.map_or(total, |n| offset.saturating_add(n).min(total))
}

/// Writes the stream's bytes up to archive offset `end`; returns how many were written. The
/// stream fills one 1 MiB buffer across entries (`Stream::read`), written as it is.
pub fn pump(
    mut stream: Stream,
    end: u64,
    output: &mut Output,
    progress: &mut Progress,
) -> Result<u64, String> {
    let start = stream.position();
    let mut pos = start;
    let mut buf = vec![0u8; 1 << 20];
    while pos < end {
        let want = (end - pos).min(buf.len() as u64) as usize;
        let n = stream.read(&mut buf[..want]).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n])?;
        pos += n as u64;
        progress.update(pos - start);
    }
    Ok(pos - start)
}
