//! The command line's definition: every subcommand and option, with the help text users read
//! (`tartape help`, `tartape COMMAND --help`, the man pages and the shell completions are all made
//! from these definitions).
//!
//! Paths, member names and excluded names are `OsString`/`PathBuf`: any byte string a Unix file
//! name can hold works, UTF-8 or not.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deterministic streaming TAR and ZIP archives with random access.
///
/// The same inputs give the same bytes anywhere, so an archive's size, every entry's offset and a
/// fingerprint are known before any content is read. Exit status: 0 success, 1 differences found
/// (verify), 2 trouble (bad arguments, unreadable or changed sources, corrupt archives).
#[derive(Debug, Parser)]
#[command(
    name = "tartape",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Sizes take binary suffixes: K, M, G, T (512K, 64M, 1G).\n\
Run 'tartape COMMAND --help' for a command's options."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the archive of PATHs (or a byte range of it) to standard output or a file.
    Create(CreateArgs),
    /// Walk DIR once and save its tape to a catalog: fingerprint, entries, total size.
    Record(RecordArgs),
    /// Stream a recorded tape (or a byte range of it) without walking the tree again.
    Play(PlayArgs),
    /// Compare a catalog with the disk; exit 0 when clean, 1 when something differs.
    Verify(VerifyArgs),
    /// Cut a recorded tape into part files of a fixed size, with a manifest.json.
    Volumes(VolumesArgs),
    /// Print where one entry of a recorded tape lies: offsets and, with --size, its parts.
    Locate(LocateArgs),
    /// List a TAR or ZIP archive in place.
    Ls(LsArgs),
    /// Write one member's content to standard output.
    Cat(CatArgs),
    /// Extract a TAR or ZIP archive; nothing is ever written outside the target directory.
    Extract(ExtractArgs),
    /// Upload the archive of a catalog or directory to S3 as a multipart upload, parts in
    /// parallel, without a temporary file; resumable.
    Upload(UploadArgs),
    /// Write the archive of a catalog into one file in place, part by part, from any number of
    /// processes or hosts sharing the file system.
    Write(WriteArgs),
    /// Serve archives over HTTP like static files: ranges, resume, ETags, without writing them.
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    Completions(CompletionsArgs),
    /// Write the man pages (tartape.1 and one per command) into DIR.
    #[command(hide = true)]
    Man(ManArgs),
}

/// The archive format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// POSIX pax interchange (ustar headers, pax records only where a value does not fit).
    Tar,
    /// ZIP: stored entries with data descriptors, zip64 only where needed.
    Zip,
}

/// How the tree is walked and written (shared by create and record).
#[derive(Debug, Args)]
pub struct BuildOptions {
    /// Archive format.
    #[arg(long, value_enum, default_value_t = FormatArg::Tar)]
    pub format: FormatArg,
    /// Deflate ZIP entries at LEVEL (1-9; 6 when no level is given). The archive is then
    /// stream-only: its size is known only once written, and offsets and ranges are refused.
    #[arg(long, value_name = "LEVEL", num_args = 0..=1, require_equals = true,
          default_missing_value = "6", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub deflate: Option<u32>,
    /// Leave out every file or directory with this name (one path component, e.g. .git);
    /// may be given several times.
    #[arg(long, value_name = "NAME")]
    pub exclude: Vec<OsString>,
    /// Keep real uid, gid, user and group names (default: 0, 0 and empty, for determinism).
    #[arg(long)]
    pub keep_owners: bool,
    /// Refuse FIFOs, sockets and devices with an error instead of skipping them with a note
    /// (`create` then walks the whole tree before writing its first byte).
    #[arg(long)]
    pub strict: bool,
    /// Put each file's content at a multiple of SIZE bytes (a power of two, 512 to 64K; e.g. 4K):
    /// the header before it is padded with a pax comment every reader skips. Written with -o
    /// beside its sources on XFS or Btrfs, the archive then shares their blocks (reflinks).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub align: Option<u64>,
    /// Compression of the whole stream.
    #[command(flatten)]
    pub compress: CompressOptions,
}

/// Compressing the TAR (gzip or zstd): deterministic, the same bytes for any number of threads.
/// As one stream the archive is stream-only (no size, offsets, ranges or volumes); in frames
/// (--seekable; always for record and serve) it keeps all of them.
#[derive(Debug, Args)]
pub struct CompressOptions {
    /// Compress the TAR stream: gzip or zstd, with a level after = (gzip 1-9, default 6; zstd
    /// 1-22, default 3).
    #[arg(long, value_name = "gzip|zstd[=LEVEL]", value_parser = parse_compress,
          conflicts_with_all = ["gzip", "zstd"])]
    pub compress: Option<(tartape::Compression, i32)>,
    /// The same as --compress gzip (as GNU tar's -z).
    #[arg(short = 'z', long, conflicts_with = "zstd")]
    pub gzip: bool,
    /// The same as --compress zstd (as GNU tar's --zstd).
    #[arg(long)]
    pub zstd: bool,
    /// Compression threads (the bytes do not depend on it).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub compress_threads: u32,
    /// Compress in frames whose compressed sizes are recorded first (small files packed, large
    /// ones cut every --frame-size bytes), so that the compressed archive has a known size and
    /// offsets: ranges, resume, volumes and uploads work on it. zstd frames end with the zstd
    /// seekable format's seek table; plain `zstd -d` and `gzip -d` read it. Compresses twice
    /// (once to learn the sizes). zstd unless --compress says otherwise.
    #[arg(long)]
    pub seekable: bool,
    /// Uncompressed bytes per frame, 64K to 64M (default 1M); implies --seekable.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub frame_size: Option<u64>,
}

impl CompressOptions {
    /// The compression asked for, if any.
    pub fn get(&self) -> Result<Option<tartape::Compress>, String> {
        let (c, level) = match (self.compress, self.gzip, self.zstd) {
            (Some(c), _, _) => c,
            (None, true, _) => (tartape::Compression::Gzip, 0),
            (None, _, true) => (tartape::Compression::Zstd, 0),
            _ if self.seekable() => (tartape::Compression::Zstd, 0),
            _ => return Ok(None),
        };
        tartape::Compress::new(c, level)
            .and_then(|c| c.with_threads(self.compress_threads))
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

impl CompressOptions {
    /// In frames (--seekable or --frame-size).
    pub fn seekable(&self) -> bool {
        self.seekable || self.frame_size.is_some()
    }

    /// The frame size asked for, or the default.
    pub fn frame_size(&self) -> u64 {
        self.frame_size.unwrap_or(tartape::DEFAULT_FRAME_SIZE)
    }
}

/// Parses `gzip`, `zstd`, `gzip=9`, `zstd=19`.
fn parse_compress(text: &str) -> Result<(tartape::Compression, i32), String> {
    let (name, level) = match text.split_once('=') {
        Some((n, l)) => (
            n,
            l.parse::<i32>()
                .map_err(|_| format!("{l:?} is not a level"))?,
        ),
        None => (text, 0),
    };
    let c = match name {
        "gzip" | "gz" => tartape::Compression::Gzip,
        "zstd" | "zst" => tartape::Compression::Zstd,
        other => return Err(format!("{other:?}: use gzip or zstd")),
    };
    Ok((c, level))
}

/// Where and what to write (shared by create and play).
#[derive(Debug, Args)]
pub struct OutputOptions {
    /// Write to FILE instead of standard output. The file appears under its name only when it
    /// is complete (written beside it under a temporary name, synced, then renamed).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Start at archive byte N (resume an interrupted transfer).
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_size)]
    pub offset: u64,
    /// Write at most N bytes (default: to the end of the archive).
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub length: Option<u64>,
    /// Also write FILE: one JSON object per entry (name, type, size, header, data and end
    /// offsets), the events of the stream as a file beside the archive.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Add each entry's MD5 to the manifest (content is then hashed while it is written; nothing
    /// is hashed otherwise).
    #[arg(long, requires = "manifest")]
    pub md5: bool,
    /// Accepted for compatibility: nothing is hashed unless --md5 asks for it.
    #[arg(long, conflicts_with = "md5")]
    pub no_md5: bool,
    /// No progress line (it is shown only when standard error is a terminal).
    #[arg(short, long)]
    pub quiet: bool,
}

/// `tartape create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Files and directories to archive, each under its base name.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How the tree is walked.
    #[command(flatten)]
    pub build: BuildOptions,
    /// Where the archive goes.
    #[command(flatten)]
    pub output: OutputOptions,
}

/// `tartape record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The directory (or file) to record.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to save the catalog (default: DIR.tartape beside DIR).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Record each file's MD5 and CRC-32 (reads every file once), for verify --deep and
    /// manifests.
    #[arg(long)]
    pub md5: bool,
    /// Record each file's SHA-256 (with --md5 and --crc32c, every file is still read once).
    #[arg(long)]
    pub sha256: bool,
    /// Record each file's CRC-32C (Castagnoli, S3's CRC32C).
    #[arg(long)]
    pub crc32c: bool,
    /// Also print the ETag (and with --checksum, the composite checksum) that an S3 multipart
    /// upload in parts of SIZE will give the object (reads the archive once).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub part_size: Option<u64>,
    /// With --part-size: the checksum whose composite to print.
    #[arg(long, value_enum, requires = "part_size")]
    pub checksum: Option<ChecksumArg>,
    /// How the tree is walked.
    #[command(flatten)]
    pub build: BuildOptions,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `tartape play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// A catalog saved by `tartape record`.
    #[arg(value_name = "CATALOG")]
    pub catalog: PathBuf,
    /// Where the archive goes.
    #[command(flatten)]
    pub output: OutputOptions,
    /// Compression of the whole stream (catalogs do not record it).
    #[command(flatten)]
    pub compress: CompressOptions,
}

/// `tartape verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A catalog saved by `tartape record`.
    #[arg(value_name = "CATALOG")]
    pub catalog: PathBuf,
    /// Also read every file and compare it with each checksum recorded (record --md5, --sha256,
    /// --crc32c), naming the algorithms that differ.
    #[arg(long)]
    pub deep: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `tartape volumes`.
#[derive(Debug, Args)]
pub struct VolumesArgs {
    /// A catalog saved by `tartape record`.
    #[arg(value_name = "CATALOG")]
    pub catalog: PathBuf,
    /// The size of each part (the last may be shorter); a multiple of 512 for TAR.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub size: u64,
    /// The directory for the parts and manifest.json (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
    /// Add each part's MD5 to the manifest.
    #[arg(long)]
    pub md5: bool,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `tartape locate`.
#[derive(Debug, Args)]
pub struct LocateArgs {
    /// A catalog saved by `tartape record`.
    #[arg(value_name = "CATALOG")]
    pub catalog: PathBuf,
    /// The entry's archive name.
    #[arg(value_name = "NAME")]
    pub name: OsString,
    /// Also print which parts of this size hold the entry.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub size: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `tartape ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// A TAR or ZIP archive; - reads a TAR from standard input, front to back.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// One JSON object per entry with every column (non-UTF-8 names also as name_hex).
    #[arg(long)]
    pub json: bool,
}

/// `tartape cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// A TAR or ZIP archive; - reads a TAR from standard input, front to back.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// The member's name as stored (a trailing / is ignored).
    #[arg(value_name = "MEMBER")]
    pub member: OsString,
}

/// `tartape extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A TAR or ZIP archive; - reads a TAR from standard input, front to back.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// Only these members (and, for a directory, everything under it).
    #[arg(value_name = "MEMBER")]
    pub members: Vec<OsString>,
    /// Extract into DIR (created if missing).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    pub directory: PathBuf,
    /// Drop the first N components of every name; entries with no more are skipped.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub strip_components: usize,
    /// Replace files, links and empty directories that already exist.
    #[arg(long, conflicts_with = "keep_existing")]
    pub overwrite: bool,
    /// Leave existing files as they are and go on (default: an existing file is an error).
    #[arg(long)]
    pub keep_existing: bool,
    /// Extract a ZIP member even when its local header names it differently from the central
    /// directory (under the central directory's name).
    #[arg(long)]
    pub force: bool,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The additional checksum of each uploaded part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecksumArg {
    /// Content-MD5 only (always sent).
    Md5,
    /// CRC-32 besides Content-MD5.
    Crc32,
    /// CRC-32C besides Content-MD5.
    Crc32c,
    /// SHA-256 besides Content-MD5.
    Sha256,
}

/// `tartape upload`.
#[derive(Debug, Args)]
#[command(
    after_help = "Credentials and region come from the usual places: AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared config and credentials files, AWS_REGION; \
AWS_ENDPOINT_URL or --endpoint for S3-compatible stores.\n\n\
An interrupted upload (process killed, network or server gone) continues with --resume: the \
parts already in the bucket are checked against the archive's and only missing or different ones \
are sent. The upload id is kept in SOURCE.upload.json until the upload is complete or aborted.\n\n\
For batch schedulers: start with --create (prints the upload id), run --parts A-B --upload-id ID \
on each node, then --complete --upload-id ID."
)]
pub struct UploadArgs {
    /// A catalog saved by `tartape record`, or a directory (walked once).
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// Where the object goes: s3://BUCKET/KEY.
    #[arg(value_name = "URL")]
    pub url: OsString,
    /// The store's endpoint (default: AWS, or AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The region (default: AWS_REGION or the profile's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Bytes per part, 5M to 5G (default: the smallest whole MiB, at least 8 MiB, that fits the
    /// archive in 10,000 parts).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub part_size: Option<u64>,
    /// Parts in flight at once (memory: jobs x part size).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// The checksum each part carries besides Content-MD5 (the store checks it).
    #[arg(long, value_enum, default_value_t = ChecksumArg::Md5)]
    pub checksum: ChecksumArg,
    /// Continue the upload in progress: check the parts already there, send the rest, complete.
    #[arg(long, conflicts_with_all = ["abort", "create", "complete", "parts"])]
    pub resume: bool,
    /// Abort the upload in progress (its parts are deleted).
    #[arg(long, conflicts_with_all = ["create", "complete", "parts"])]
    pub abort: bool,
    /// Only start the upload and print its id (for --parts and --complete on other machines).
    #[arg(long, conflicts_with_all = ["complete", "parts"])]
    pub create: bool,
    /// Only send parts A to B (1-based, inclusive) of the upload --upload-id.
    #[arg(long, value_name = "A-B", requires = "upload_id")]
    pub parts: Option<String>,
    /// Check every part of the upload --upload-id against the archive, then complete it.
    #[arg(long, requires = "upload_id", conflicts_with = "parts")]
    pub complete: bool,
    /// The upload to work on (default: the one in SOURCE.upload.json).
    #[arg(long, value_name = "ID")]
    pub upload_id: Option<String>,
    /// The format when SOURCE is a directory.
    #[arg(long, value_enum, default_value_t = FormatArg::Tar)]
    pub format: FormatArg,
    /// Compression when SOURCE is a directory: always in frames (the object's size and part
    /// checksums are known before sending); a catalog keeps the compression it was recorded with.
    #[command(flatten)]
    pub compress: CompressOptions,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `tartape write`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Without --create, --parts or --complete, writes every part here (on --jobs threads) and completes.\n\n\
For batch schedulers (Slurm arrays, Kubernetes Jobs) on a shared file system: run --create once \
(it makes OUT.tartape-partial at the archive's size and its plan in OUT.tartape-partial.d), then \
--parts A-B on each node (pwrite at each part's offset, synced, their MD5s recorded), then \
--complete (every part must have been written and the file must hold what was written; then it is \
synced and renamed to OUT). --abort removes a write in progress.")]
pub struct WriteArgs {
    /// A catalog saved by `tartape record` (every host must see the sources at the same paths).
    #[arg(value_name = "CATALOG")]
    pub catalog: PathBuf,
    /// The archive file to write.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// Bytes per part, the unit of work of one slice (default 64M; later steps use the plan's).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub part_size: Option<u64>,
    /// Threads writing parts at once (and checking them on --complete).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// Only make the partial file and its plan (for --parts and --complete on other hosts).
    #[arg(long, conflicts_with_all = ["parts", "complete", "abort"])]
    pub create: bool,
    /// Only write parts A to B (1-based, inclusive) of the write started with --create.
    #[arg(long, value_name = "A-B", conflicts_with_all = ["complete", "abort"])]
    pub parts: Option<String>,
    /// Check every part of the write in progress, then rename the file to OUT.
    #[arg(long, conflicts_with = "abort")]
    pub complete: bool,
    /// Remove the write in progress (the partial file and its plan).
    #[arg(long)]
    pub abort: bool,
}

/// `tartape serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Catalogs saved by `tartape record`, or directories (walked once at start). Each is served
    /// at /NAME.tar (or .zip): a directory's base name, a catalog's name without its extension.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    /// The address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// After an integrity failure (a source changed under the layout), walk that source again
    /// (or reopen its catalog) and serve the new archive under its new ETag; without it, the
    /// archive gets 503 until the server is restarted.
    #[arg(long)]
    pub rescan: bool,
    /// At most N connections at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections: usize,
    /// At most N ranges per request once overlapping ones are merged; more serve the whole.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_ranges: usize,
    /// Close a connection that has not sent a complete request head within SECONDS of the server
    /// waiting for one (idle keep-alive, slow headers), or on which no byte has moved for SECONDS.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub idle_timeout: u64,
    /// How directories are walked.
    #[command(flatten)]
    pub build: BuildOptions,
}

/// `tartape completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `tartape man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages into.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Parses a size such as `4096`, `512K`, `1M` or `2G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("{text:?}: unknown size suffix (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            format!("{text:?} is not a size (a whole number, optionally with K, M, G or T)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1K").unwrap(), 1024);
        assert_eq!(parse_size("3m").unwrap(), 3 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert!(parse_size("x").is_err());
        assert!(parse_size("1Q").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
