//! `tartape create`: the archive of the given paths, or a byte range of it; shared with `play`,
//! the writing of a tape to standard output or a file, with an optional manifest.

use std::path::PathBuf;
use std::sync::Arc;

use tartape::{Event, Format, Stream, Tape, TapeBuilder};

use crate::cli::{BuildOptions, CreateArgs, FormatArg, OutputOptions};
use crate::manifest::Manifest;
use crate::output::Output;
use crate::progress::Progress;
use crate::Failure;

/// Runs `tartape create`.
pub fn run(args: CreateArgs) -> Result<u8, Failure> {
    let mut builder = builder(&args.build)?;
    if streams_as_walked(&args)? {
        return stream_as_walked(&builder, &args);
    }
    let scan = Progress::scan(args.output.quiet);
    add_paths(&mut builder, &args.paths, &scan)?;
    drop(scan);
    let mut tape = builder.seal().map_err(|e| e.to_string())?;
    compress(
        &mut tape,
        &args.build.compress,
        false,
        &Progress::scan(args.output.quiet),
    )?;
    write_tape(&Arc::new(tape), &args.output)?;
    Ok(0)
}

/// True when the archive can go out while the tree is walked (`TapeBuilder::stream_paths`): a
/// plain TAR written whole to standard output, with no manifest. Anything that needs the sealed
/// tape first (a file written at offsets, a byte range, a manifest, compression, ZIP, alignment)
/// seals it, and so does --strict, whose point is that a tree with a file it refuses gives no
/// byte at all; the bytes are the same either way.
fn streams_as_walked(args: &CreateArgs) -> Result<bool, Failure> {
    let (b, o) = (&args.build, &args.output);
    let to_stdout = match o.output.as_deref() {
        None => true,
        Some(p) => p.as_os_str() == "-",
    };
    Ok(to_stdout
        && o.offset == 0
        && o.length.is_none()
        && o.manifest.is_none()
        && !o.md5
        && b.format == FormatArg::Tar
        && b.align.is_none()
        && !b.strict
        && b.compress.get()?.is_none()
        && !b.compress.seekable())
}

/// Writes the archive to standard output as the walk goes.
fn stream_as_walked(builder: &TapeBuilder, args: &CreateArgs) -> Result<u8, Failure> {
    let mut output = Output::open(None)?;
    let progress = Progress::bytes(None, args.output.quiet);
    let paths: Vec<&std::path::Path> = args.paths.iter().map(|p| p.as_path()).collect();
    let mut failed = None;
    let result = builder.stream_paths(
        &paths,
        &mut OutputWriter {
            output: &mut output,
            failed: &mut failed,
        },
        &mut |n| progress.set(n),
    );
    match result {
        Ok(streamed) => {
            report_skipped(&streamed.skipped);
            output.commit()?;
            progress.finish();
            Ok(0)
        }
        // A failed write is told as the output says it.
        Err(e) => Err(failed.unwrap_or_else(|| e.to_string())),
    }
}

/// The output as an `io::Write`, keeping the output's own description of a failed write.
struct OutputWriter<'a> {
    output: &'a mut Output,
    failed: &'a mut Option<String>,
}

impl std::io::Write for OutputWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|_| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.output.write_all(buf).map_err(|e| {
            *self.failed = Some(e.clone());
            std::io::Error::other(e)
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Applies the compression options to a sealed (or opened) tape: frames recorded when `frames`
/// or --seekable asks for them, one compressed stream otherwise. A tape that has frames (from a
/// catalog) keeps them and takes the thread count only.
pub fn compress(
    tape: &mut Tape,
    o: &crate::cli::CompressOptions,
    frames: bool,
    progress: &Progress,
) -> Result<(), Failure> {
    if tape.frames().is_some() {
        if o.compress.is_some() || o.gzip || o.zstd || o.seekable() {
            let f = tape.frames().expect("checked");
            return Err(format!(
                "the catalog is already compressed, in {} frames of {} level {}: give no \
                 compression options",
                f.len(),
                f.compress().compression().name(),
                f.compress().level()
            ));
        }
        return tape
            .set_frame_threads(o.compress_threads)
            .map_err(|e| e.to_string());
    }
    let Some(c) = o.get()? else {
        return Ok(());
    };
    if tape.format() != Format::Tar {
        return Err(
            "--compress applies to --format tar (ZIP compresses entries: --deflate)".into(),
        );
    }
    if !(frames || o.seekable()) {
        return tape.set_compression(Some(c)).map_err(|e| e.to_string());
    }
    let tar = tape.layout().total_size();
    progress.message(format!(
        "compressing every frame ({}) to learn its size",
        c.compression().name()
    ));
    tape.record_frames(c, o.frame_size(), &|n| {
        progress.message(format!(
            "compressing every frame: {}%",
            n.saturating_mul(100) / tar.max(1)
        ))
    })
    .map_err(|e| format!("compressing in frames: {e}"))
}

/// A builder with the walk and format options applied.
pub fn builder(o: &BuildOptions) -> Result<TapeBuilder, Failure> {
    let mut builder = TapeBuilder::new();
    builder.set_format(match o.format {
        FormatArg::Tar => Format::Tar,
        FormatArg::Zip => Format::Zip,
    });
    if let Some(level) = o.deflate {
        if o.format != FormatArg::Zip {
            return Err("--deflate applies to --format zip".into());
        }
        builder.set_deflate(level).map_err(|e| e.to_string())?;
    }
    if o.compress.get()?.is_some() && o.format != FormatArg::Tar {
        return Err(
            "--compress applies to --format tar (ZIP compresses entries: --deflate)".into(),
        );
    }
    if let Some(align) = o.align {
        if o.format != FormatArg::Tar {
            return Err("--align applies to --format tar".into());
        }
        builder
            .set_align(align)
            .map_err(|e| format!("--align: {e}"))?;
    }
    let walk = builder.options_mut();
    walk.keep_owners = o.keep_owners;
    walk.strict = o.strict;
    walk.exclude = o.exclude.iter().map(|n| bytes_of(n).to_vec()).collect();
    Ok(builder)
}

/// Adds each path under its base name, showing what the scan finds; reports skipped special files.
pub fn add_paths(
    builder: &mut TapeBuilder,
    paths: &[PathBuf],
    scan: &Progress,
) -> Result<(), Failure> {
    scanning(builder, scan, |b| {
        paths
            .iter()
            .try_for_each(|p| b.add_path(p, None).map_err(|e| e.to_string()))
    })?;
    report_skipped(builder.skipped());
    Ok(())
}

/// Runs `walk` with the scan's counters shown on the progress line while it goes.
pub fn scanning<T>(
    builder: &mut TapeBuilder,
    scan: &Progress,
    walk: impl FnOnce(&mut TapeBuilder) -> Result<T, String>,
) -> Result<T, Failure> {
    let counters = Arc::new(tartape::ScanProgress::default());
    if scan.is_shown() {
        builder.options_mut().progress = Some(counters.clone());
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = scan.handle().map(|bar| {
        let (counters, done) = (counters.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                bar.set_message(format!(
                    "{} entries, {}",
                    counters.entries(),
                    crate::progress::human(counters.bytes())
                ));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    });
    let result = walk(builder);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    let result = result?;
    scan.message(format!(
        "{} entries, {}",
        counters.entries(),
        crate::progress::human(counters.bytes())
    ));
    scan.finish();
    Ok(result)
}

/// Reports the special files a walk left out, one line each.
pub fn report_skipped(skipped: &[tartape::Skipped]) {
    for s in skipped {
        eprintln!("tartape: skipped {} {}", s.kind, s.path.display());
    }
}

/// The bytes of an argument (any Unix file name).
pub fn bytes_of(s: &std::ffi::OsStr) -> &[u8] {
    std::os::unix::ffi::OsStrExt::as_bytes(s)
}

/// Where a range from `offset` of `length` bytes (or to the end) stops. A deflated ZIP's size is
/// known only once streamed: its stream runs to the end.
pub fn end_of(tape: &Tape, offset: u64, length: Option<u64>) -> u64 {
    let total = tape.size().unwrap_or(u64::MAX);
    length.map_or(total, |n| offset.saturating_add(n).min(total))
}

/// Writes the tape (from `--offset`, `--length` bytes) to the output, and the manifest if asked.
pub fn write_tape(tape: &Arc<Tape>, o: &OutputOptions) -> Result<(), Failure> {
    let end = end_of(tape, o.offset, o.length);
    if end != u64::MAX && o.offset > end {
        return Err(format!(
            "--offset {} is past the end of the archive ({end} bytes)",
            o.offset
        ));
    }
    let mut output = Output::open(o.output.as_deref())?;
    let progress = Progress::bytes((end != u64::MAX).then(|| end - o.offset), o.quiet);
    let whole = o.offset == 0 && tape.size().ok() == Some(end);
    if let (Some(file), None, true) = (output.file(), &o.manifest, whole) {
        // Into a file: file content is copied in the kernel (copy_file_range), not through here.
        let plain = tape.check_random_access().is_ok() && tape.frames().is_none();
        if tape.format() == tartape::Format::Tar && plain {
            tape.copy_into(file, &mut |n| progress.set(n))
                .map_err(|e| e.to_string())?;
            output.commit()?;
            progress.finish();
            return Ok(());
        }
    }
    let stream = tape.stream(o.offset, o.md5).map_err(|e| e.to_string())?;
    match &o.manifest {
        None => pump(stream, end, &mut output, &progress)?,
        Some(path) => {
            let mut manifest = Manifest::open(path, tape.clone(), o.md5)?;
            pump_events(stream, end, &mut output, &mut manifest, &progress)?;
            output.commit()?;
            manifest.commit()?;
            progress.finish();
            return Ok(());
        }
    };
    output.commit()?;
    progress.finish();
    Ok(())
}

/// Writes the stream's bytes up to archive offset `end`; returns how many were written. The
/// stream fills one 1 MiB buffer across entries (`Stream::read`), written as it is; nothing is
/// hashed.
fn pump(
    mut stream: Stream,
    end: u64,
    output: &mut Output,
    progress: &Progress,
) -> Result<u64, Failure> {
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
        progress.set(pos - start);
    }
    Ok(pos - start)
}

/// Writes the stream through its events, so that each entry's offsets (and MD5) reach the
/// manifest; content is read straight into `buf`.
fn pump_events(
    mut stream: Stream,
    end: u64,
    output: &mut Output,
    manifest: &mut Manifest,
    progress: &Progress,
) -> Result<u64, Failure> {
    let start = stream.position();
    let mut pos = start;
    let mut buf = vec![0u8; 1 << 20];
    while pos < end {
        let event = stream
            .next_event_into(&mut buf)
            .map_err(|e| e.to_string())?;
        match event {
            None | Some(Event::Completed) => break,
            Some(Event::FileStart {
                index,
                entry,
                header_offset,
                resumed,
            }) => manifest.start(index, entry, header_offset, resumed),
            Some(Event::Data { offset, bytes, .. }) => {
                let n = (bytes.len() as u64).min(end - offset) as usize;
                output.write_all(&bytes[..n])?;
                pos = offset + n as u64;
                progress.set(pos - start);
            }
            Some(Event::FileEnd {
                index,
                end_offset,
                md5,
                ..
            }) => manifest.end(index, end_offset, md5)?,
            Some(Event::NeedData { index, .. }) => {
                return Err(format!("entry {index} wants data fed by a program"))
            }
        }
    }
    manifest.finish_open()?;
    Ok(pos - start)
}
