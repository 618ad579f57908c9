//! `tartape upload`: the archive of a catalog or a directory into S3 as a multipart upload, with
//! no temporary file: each part is read with `read_at` straight from the sources, several parts
//! in flight at once (memory: jobs x part size), each sent with its Content-MD5 (and the
//! additional checksum asked for) and its ETag checked against it; the object's ETag is checked
//! against the one the archive predicts.
//!
//! The SDK retries what its rules call transient; a part the store refuses as damaged on the way
//! (its bytes do not match their digest) is sent again; an upload that stops for any other reason
//! stays in the store, resumable with `--resume` (the upload id is kept in `SOURCE.upload.json`,
//! and found with ListMultipartUploads when that file is gone).

pub mod plan;
mod s3;
mod state;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use tartape::{Format, Tape};

pub use plan::{multipart_etag, Checksum, PartDigest};
use s3::{Listed, Store, Target};
use state::State;

use crate::cli::{ChecksumArg, FormatArg, UploadArgs};
use crate::progress::Progress;
use crate::Failure;

/// The checksum option as the plan's.
pub fn checksum_of(arg: ChecksumArg) -> Checksum {
    match arg {
        ChecksumArg::Md5 => Checksum::Md5,
        ChecksumArg::Crc32 => Checksum::Crc32,
        ChecksumArg::Crc32c => Checksum::Crc32c,
        ChecksumArg::Sha256 => Checksum::Sha256,
    }
}

/// Runs `tartape upload`.
pub fn run(args: UploadArgs) -> Result<u8, Failure> {
    let target = Target::parse(&args.url)?;
    let tape = Arc::new(open_source(
        &args.source,
        args.format,
        &args.compress,
        args.quiet,
    )?);
    tape.check_random_access().map_err(|e| {
        format!("{e}: a stream-only tape (deflated ZIP) cannot be uploaded in parts")
    })?;
    let total = tape.total_size();
    let part_size = plan::part_size(total, args.part_size)?;
    release_freed_parts();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the I/O threads: {e}"))?;
    runtime.block_on(Upload::new(args, target, tape, part_size).run())
}

/// Makes glibc give each part buffer back to the system when it is freed (every part, 5 MiB at
/// least, is then its own mapping). Without it glibc's threshold for mapping rises to the part size
/// after the first part is freed, later parts come from its heaps (one per thread), and what they
/// keep after use stays resident: 140 MiB for 4 jobs of 16 MiB parts where jobs x part is 64 MiB
/// (the benchmark's upload group, 1 GiB, before this call; 78 MiB with it). `tartape serve` does the
/// same for its chunk buffers.
fn release_freed_parts() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's threshold for using mmap.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// A catalog, or a directory walked now.
fn open_source(
    source: &Path,
    format: FormatArg,
    compress: &crate::cli::CompressOptions,
    quiet: bool,
) -> Result<Tape, Failure> {
    let meta = std::fs::metadata(source).map_err(|e| format!("{}: {e}", source.display()))?;
    let progress = crate::progress::Progress::scan(quiet);
    if !meta.is_dir() {
        let mut tape = Tape::open(source).map_err(|e| e.to_string())?;
        crate::create::compress(&mut tape, compress, true, &progress)?;
        return Ok(tape);
    }
    let mut builder = tartape::TapeBuilder::new();
    builder.set_format(match format {
        FormatArg::Tar => Format::Tar,
        FormatArg::Zip => Format::Zip,
    });
    builder.add_path(source, None).map_err(|e| e.to_string())?;
    for s in builder.skipped() {
        eprintln!("tartape: skipped {} {}", s.kind, s.path.display());
    }
    let mut tape = builder.seal().map_err(|e| e.to_string())?;
    // Compressed in frames: a multipart upload needs the size and every part's bytes up front.
    crate::create::compress(&mut tape, compress, true, &progress)?;
    Ok(tape)
}

struct Upload {
    args: UploadArgs,
    target: Target,
    tape: Arc<Tape>,
    part_size: u64,
    count: u64,
    checksum: Checksum,
    state_path: std::path::PathBuf,
}

/// A part once it is in the store: its number, ETag and additional checksum (raw).
type Done = (u64, String, Option<Vec<u8>>);

impl Upload {
    fn new(args: UploadArgs, target: Target, tape: Arc<Tape>, part_size: u64) -> Upload {
        let count = plan::parts(tape.total_size(), part_size);
        let checksum = checksum_of(args.checksum);
        let state_path = state::path_for(&args.source);
        Upload {
            args,
            target,
            tape,
            part_size,
            count,
            checksum,
            state_path,
        }
    }

    async fn run(self) -> Result<u8, Failure> {
        let store = Store::connect(
            self.target.clone(),
            self.args.endpoint.as_deref(),
            self.args.region.as_deref(),
        )
        .await?;
        store.check_bucket().await?;
        if self.args.abort {
            let id = self.find_upload(&store).await?;
            store.abort(&id).await?;
            state::remove(&self.state_path)?;
            println!("aborted upload {id} of {}", self.target.url());
            return Ok(0);
        }
        if let Some(range) = &self.args.parts {
            let (a, b) = plan::parse_part_range(range, self.count)?;
            let id = self.args.upload_id.clone().unwrap_or_default();
            let listed = store.list_parts(&id).await?;
            self.send(&store, &id, (a..=b).collect(), &listed).await?;
            println!(
                "parts {a} to {b} of upload {id} are in {}",
                self.target.url()
            );
            return Ok(0);
        }
        if self.args.complete {
            let id = self.args.upload_id.clone().unwrap_or_default();
            return self.check_and_complete(&store, &id).await;
        }
        if self.args.resume {
            let id = self.find_upload(&store).await?;
            let listed = store.list_parts(&id).await?;
            let done = self
                .send(&store, &id, (1..=self.count).collect(), &listed)
                .await?;
            return self.complete(&store, &id, done).await;
        }
        if let Some(s) = state::load(&self.state_path)? {
            return Err(format!(
                "an upload of {} to {} is in progress (upload id {}): --resume continues it, \
                 --abort drops it",
                self.args.source.display(),
                s.url,
                s.upload_id
            ));
        }
        let id = store.create(self.checksum).await?;
        self.save_state(&id)?;
        if self.args.create {
            println!("{id}");
            return Ok(0);
        }
        let done = self
            .send(&store, &id, (1..=self.count).collect(), &[])
            .await?;
        self.complete(&store, &id, done).await
    }

    fn save_state(&self, upload_id: &str) -> Result<(), Failure> {
        state::save(
            &self.state_path,
            &State {
                url: self.target.url(),
                upload_id: upload_id.into(),
                part_size: self.part_size,
                total_size: self.tape.total_size(),
                fingerprint: self.tape.fingerprint().map_err(|e| e.to_string())?,
                checksum: self.checksum.name().into(),
            },
        )
    }

    /// The upload to resume or abort: `--upload-id`, the state file, or the only upload in
    /// progress for the key.
    async fn find_upload(&self, store: &Store) -> Result<String, Failure> {
        if let Some(id) = &self.args.upload_id {
            return Ok(id.clone());
        }
        if let Some(s) = state::load(&self.state_path)? {
            if s.url != self.target.url() {
                return Err(format!(
                    "{}: the upload in progress goes to {}, not {}",
                    self.state_path.display(),
                    s.url,
                    self.target.url()
                ));
            }
            let fingerprint = self.tape.fingerprint().map_err(|e| e.to_string())?;
            if s.fingerprint != fingerprint || s.part_size != self.part_size {
                return Err(format!(
                    "the upload in progress ({}) is of another archive or part size \
                     (fingerprint {}, parts of {}; now {fingerprint}, parts of {}): --abort it",
                    s.upload_id, s.fingerprint, s.part_size, self.part_size
                ));
            }
            match Checksum::from_name(&s.checksum) {
                Some(c) if c == self.checksum => {}
                Some(c) => {
                    return Err(format!(
                        "the upload in progress ({}) carries {} checksums: give --checksum {}",
                        s.upload_id,
                        c.name(),
                        c.name()
                    ))
                }
                None => {
                    return Err(format!(
                        "{}: unknown checksum {:?}",
                        self.state_path.display(),
                        s.checksum
                    ))
                }
            }
            return Ok(s.upload_id);
        }
        let ids = store.uploads_in_progress().await?;
        match ids.as_slice() {
            [] => Err(format!("no upload of {} is in progress", self.target.url())),
            [id] => Ok(id.clone()),
            _ => Err(format!(
                "{} uploads of {} are in progress ({}): name one with --upload-id",
                ids.len(),
                self.target.url(),
                ids.join(", ")
            )),
        }
    }

    /// Sends the parts numbered `numbers` that the store does not already hold with the same
    /// bytes (`listed`), at most `--jobs` at once; returns every one of them as done, in order.
    async fn send(
        &self,
        store: &Store,
        upload_id: &str,
        numbers: Vec<u64>,
        listed: &[Listed],
    ) -> Result<Vec<Done>, Failure> {
        let total: u64 = numbers
            .iter()
            .map(|n| {
                let (a, b) = plan::range(self.tape.total_size(), self.part_size, *n);
                b - a
            })
            .sum();
        let progress = Progress::bytes(Some(total), self.args.quiet);
        let bar = progress.handle();
        let sent = Arc::new(AtomicU64::new(0));
        let jobs = Arc::new(Semaphore::new(self.args.jobs as usize));
        let store = Arc::new(store.clone_handle());
        let mut set: JoinSet<Result<Done, Failure>> = JoinSet::new();
        let mut done = Vec::with_capacity(numbers.len());
        for n in numbers {
            // A permit is taken before the part is read: at most `jobs` parts in memory.
            let permit = jobs
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| e.to_string())?;
            while let Some(r) = set.try_join_next() {
                done.push(joined(r)?);
            }
            let (tape, store, id) = (self.tape.clone(), store.clone(), upload_id.to_string());
            let (part_size, checksum) = (self.part_size, self.checksum);
            // A store may list several uploads of one part number (SeaweedFS keeps each): the
            // part is there if one of them has the archive's bytes, and completing names it by
            // its ETag.
            let there: Vec<Listed> = listed.iter().filter(|p| p.number == n).cloned().collect();
            let (sent, bar) = (sent.clone(), bar.clone());
            set.spawn(async move {
                let (bytes, digest) =
                    tokio::task::spawn_blocking(move || read_part(&tape, part_size, n, checksum))
                        .await
                        .map_err(|e| e.to_string())??;
                let len = bytes.len() as u64;
                let same = there
                    .iter()
                    .find(|p| p.etag == digest.etag() && p.size == len);
                let etag = match same {
                    Some(p) => p.etag.clone(),
                    None => {
                        store
                            .upload_part(&id, n, bytes::Bytes::from(bytes), &digest, checksum)
                            .await?
                    }
                };
                drop(permit);
                let now = sent.fetch_add(len, Ordering::Relaxed) + len;
                if let Some(b) = &bar {
                    b.set_position(now);
                }
                Ok((n, etag, digest.checksum))
            });
        }
        while let Some(r) = set.join_next().await {
            done.push(joined(r)?);
        }
        progress.finish();
        done.sort_by_key(|d| d.0);
        Ok(done)
    }

    /// Completes the upload with `done` (every part) and checks the object's ETag and checksum.
    async fn complete(&self, store: &Store, id: &str, done: Vec<Done>) -> Result<u8, Failure> {
        let digests = self.digests(&done)?;
        let (etag, composite) = store.complete(id, &done, self.checksum).await?;
        state::remove(&self.state_path)?;
        let expected = plan::multipart_etag(&digests);
        if etag != expected {
            return Err(format!(
                "{}: the store's ETag {etag} is not the archive's {expected}",
                self.target.url()
            ));
        }
        let parts: Vec<Vec<u8>> = done.iter().filter_map(|d| d.2.clone()).collect();
        let expected_sum = self.checksum.composite(&parts);
        if let (Some(got), Some(want)) = (&composite, &expected_sum) {
            if got != want {
                return Err(format!(
                    "{}: the store's {} checksum {got} is not the archive's {want}",
                    self.target.url(),
                    self.checksum.name()
                ));
            }
        }
        println!(
            "uploaded {}: {} bytes in {} parts of {}",
            self.target.url(),
            self.tape.total_size(),
            done.len(),
            self.part_size
        );
        println!("etag: {etag}");
        if let Some(c) = composite.or(expected_sum) {
            println!("{}: {c}", self.checksum.name());
        }
        Ok(0)
    }

    /// The digests the ETag is made of: the MD5 behind each part's ETag.
    fn digests(&self, done: &[Done]) -> Result<Vec<PartDigest>, Failure> {
        done.iter()
            .map(|(n, etag, checksum)| {
                let hex = etag.trim_matches('"');
                let md5 = (0..16)
                    .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()
                    .filter(|_| hex.len() == 32)
                    .ok_or_else(|| format!("part {n}: ETag {etag} is not an MD5"))?;
                Ok(PartDigest {
                    md5: md5.try_into().expect("16 bytes"),
                    checksum: checksum.clone(),
                })
            })
            .collect()
    }

    /// `--complete`: every part must be in the store with the archive's bytes (checked by MD5
    /// and size); then the upload is completed.
    async fn check_and_complete(&self, store: &Store, id: &str) -> Result<u8, Failure> {
        let listed = store.list_parts(id).await?;
        let mut done = Vec::with_capacity(self.count as usize);
        for n in 1..=self.count {
            let there: Vec<&Listed> = listed.iter().filter(|p| p.number == n).collect();
            let Some(p) = there.first() else {
                return Err(format!(
                    "part {n} of {} is missing from upload {id}",
                    self.count
                ));
            };
            let (tape, part_size, checksum) = (self.tape.clone(), self.part_size, self.checksum);
            let (bytes, digest) =
                tokio::task::spawn_blocking(move || read_part(&tape, part_size, n, checksum))
                    .await
                    .map_err(|e| e.to_string())??;
            let len = bytes.len() as u64;
            if !there
                .iter()
                .any(|q| q.etag == digest.etag() && q.size == len)
            {
                return Err(format!(
                    "part {n} of upload {id} is not the archive's: the store holds {} bytes with \
                     ETag {}, the archive's part is {} bytes with ETag {}",
                    p.size,
                    p.etag,
                    bytes.len(),
                    digest.etag()
                ));
            }
            done.push((n, digest.etag(), digest.checksum));
        }
        if let Some(extra) = listed.iter().find(|p| p.number > self.count) {
            return Err(format!(
                "upload {id} holds part {}, past the archive's {} parts",
                extra.number, self.count
            ));
        }
        self.complete(store, id, done).await
    }
}

fn joined(r: Result<Result<Done, Failure>, tokio::task::JoinError>) -> Result<Done, Failure> {
    r.map_err(|e| format!("a part's task failed: {e}"))?
}

/// Reads part `n` of the archive and digests it. A source that changed stops the upload: the
/// message names the file, and the upload stays in the store, resumable once it is restored.
fn read_part(
    tape: &Tape,
    part_size: u64,
    n: u64,
    checksum: Checksum,
) -> Result<(Vec<u8>, PartDigest), Failure> {
    let (a, b) = plan::range(tape.total_size(), part_size, n);
    let mut bytes = vec![0u8; (b - a) as usize];
    let mut at = 0;
    while at < bytes.len() {
        let got = tape.read_at(a + at as u64, &mut bytes[at..]).map_err(|e| {
            format!("part {n}: {e} (the upload is left as it is: --resume once the source is back, or --abort)")
        })?;
        if got == 0 {
            return Err(format!(
                "part {n}: the archive ends before its {} bytes",
                b - a
            ));
        }
        at += got;
    }
    let digest = PartDigest::of(&bytes, checksum);
    Ok((bytes, digest))
}

/// The ETag (and composite checksum) an upload of `tape` in parts of `part_size` will give the
/// object: reads the archive once.
pub fn predict(
    tape: &Tape,
    part_size: u64,
    checksum: Checksum,
) -> Result<(u64, String, Option<String>), Failure> {
    let size = plan::part_size(tape.total_size(), Some(part_size))?;
    let count = plan::parts(tape.total_size(), size);
    let mut digests = Vec::with_capacity(count as usize);
    for n in 1..=count {
        digests.push(read_part(tape, size, n, checksum)?.1);
    }
    let sums: Vec<Vec<u8>> = digests.iter().filter_map(|d| d.checksum.clone()).collect();
    Ok((count, multipart_etag(&digests), checksum.composite(&sums)))
}
