//! SAVE (in process) and BGSAVE (by `fork()`): writing a snapshot file durably.
//!
//! Both write `temp-<pid>.evs` next to the target, `fsync` it, `rename` it over the target and
//! `fsync` the directory, so a crash at any point leaves either the old file or the new one
//! (redis `rdbSave`: `temp-%d.rdb`, `fflush`/`fsync`/`fclose`, `rename`, `fsyncFileDir`).
//! With `autosync_bytes` the writer also `fdatasync`s every 4 MB on the way
//! (`rdb-save-incremental-fsync yes`, `REDIS_AUTOSYNC_BYTES`), which spreads the disk work.
//!
//! BGSAVE forks ([`super::fork`]): the child serializes the keyspace it inherited — the
//! parent's data at the instant of the fork — reports copy-on-write as Redis does, renames
//! its temp file and exits with a status. The parent keeps serving and reaps it without
//! blocking. If the child dies by a signal the parent removes `temp-<childpid>.evs`
//! (redis `rdbRemoveTempFile`), so the previous snapshot stays the one on disk.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::fork::{
    ChildKind, ChildReporter, ForkError, ForkOptions, ForkedChild, errno_of, fork_child,
};
use super::snapshot::{SnapshotOptions, SnapshotWriter, WriteError};
use crate::engine::Engine;

/// `REDIS_AUTOSYNC_BYTES` (redis `src/server.h`): fsync every 4 MB while saving.
pub const REDIS_AUTOSYNC_BYTES: u64 = 4 << 20;
/// Size of the file writer's buffer.
const WRITE_BUFFER: usize = 64 << 10;

/// How a snapshot file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveOptions {
    /// Compression and checksum.
    pub snapshot: SnapshotOptions,
    /// `fdatasync` every this many bytes (0 = only at the end).
    pub autosync_bytes: u64,
    /// Sleep this many µs after each key (Redis's hidden `rdb-key-save-delay`, for tests that
    /// need a slow save).
    pub key_save_delay_us: u64,
    /// Write at most this many bytes per second (0 = as fast as possible): emulates a slower
    /// disk so that saves last long enough to watch COW grow.
    pub bandwidth_bytes_per_sec: u64,
    /// `fsync` the file and its directory (turn off only for throwaway benchmarks).
    pub fsync: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            snapshot: SnapshotOptions::default(),
            autosync_bytes: REDIS_AUTOSYNC_BYTES,
            key_save_delay_us: 0,
            bandwidth_bytes_per_sec: 0,
            fsync: true,
        }
    }
}

/// A step of writing a snapshot file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Creating the temp file.
    Create,
    /// Writing records.
    Write,
    /// `fsync` of the file.
    Fsync,
    /// Renaming the temp file over the target.
    Rename,
    /// `fsync` of the directory.
    FsyncDir,
}

impl Stage {
    /// Words for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Create => "creating",
            Stage::Write => "writing",
            Stage::Fsync => "fsyncing",
            Stage::Rename => "renaming to the target",
            Stage::FsyncDir => "fsyncing the directory of",
        }
    }
}

/// Saving failed; the target file is untouched and the temp file removed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// An I/O step failed.
    #[error("Write error saving DB on disk: {} {}: {source}", .stage.name(), .path.display())]
    Io {
        /// The file the step was about.
        path: PathBuf,
        /// The step.
        stage: Stage,
        /// The OS error.
        source: io::Error,
    },
    /// The writer's record count check failed (a bug, reported rather than hidden).
    #[error("snapshot of {path} is inconsistent: {source}")]
    Inconsistent {
        /// The temp file.
        path: PathBuf,
        /// The check that failed.
        source: WriteError,
    },
}

impl SaveError {
    /// The errno behind the error (EIO when there is none).
    pub fn errno(&self) -> Errno {
        match self {
            SaveError::Io { source, .. } => errno_of(source),
            SaveError::Inconsistent { .. } => Errno::EIO,
        }
    }
}

/// A completed save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveReport {
    /// Keys written.
    pub keys: u64,
    /// File size.
    pub bytes: u64,
    /// Wall time.
    pub duration: Duration,
}

/// `dir/temp-<pid>.evs`: the file a save by process `pid` writes before renaming.
pub fn temp_path(target: &Path, pid: i32) -> PathBuf {
    target.with_file_name(format!("temp-{pid}.evs"))
}

fn io_err(path: &Path, stage: Stage) -> impl FnOnce(io::Error) -> SaveError + '_ {
    move |source| SaveError::Io {
        path: path.to_path_buf(),
        stage,
        source,
    }
}

/// `fsync`s the directory holding `path` so a rename in it is durable.
pub fn fsync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Paces writing: key delay and bandwidth limit.
struct Pacer {
    start: Instant,
    delay: Duration,
    bandwidth: u64,
}

impl Pacer {
    #[inline]
    fn after_key(&self, bytes: u64) {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        if self.bandwidth > 0 {
            let due = Duration::from_secs_f64(bytes as f64 / self.bandwidth as f64);
            let now = self.start.elapsed();
            if due > now + Duration::from_millis(1) {
                std::thread::sleep(due - now);
            }
        }
    }
}

/// A buffered file sink whose buffer can be touched in advance (a fork child takes its COW
/// baseline after its buffers exist, so they do not count as copy-on-write).
pub(crate) struct FileSink {
    file: File,
    buf: Vec<u8>,
}

impl FileSink {
    pub(crate) fn new(file: File, capacity: usize) -> FileSink {
        FileSink {
            file,
            buf: Vec::with_capacity(capacity),
        }
    }
    /// Touches every page of the buffer.
    pub(crate) fn prefault(&mut self) {
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        self.buf.resize(cap, 0);
        self.buf.truncate(len);
    }
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
    /// Bytes held in the buffer.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }
}

impl Write for FileSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.buf.capacity() {
            self.flush()?;
            if data.len() >= self.buf.capacity() {
                self.file.write_all(data)?;
                return Ok(data.len());
            }
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// What a save tells its caller while it runs.
pub(crate) trait SaveHooks {
    /// The writer and its buffers exist; no key written yet.
    fn ready(&mut self) {}
    /// `keys` keys written.
    fn progress(&mut self, _keys: u64) {}
}

impl SaveHooks for () {}

/// Writes `engine`'s keyspace to `tmp` (created or truncated), syncing as configured.
fn write_temp(
    engine: &Engine,
    tmp: &Path,
    opts: &SaveOptions,
    hooks: &mut impl SaveHooks,
) -> Result<u64, SaveError> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(io_err(tmp, Stage::Create))?;
    let ks = engine.keyspace();
    let mut w = SnapshotWriter::new(
        FileSink::new(file, WRITE_BUFFER),
        opts.snapshot,
        engine.now_ms(),
        ks.len() as u64,
    )
    .map_err(io_err(tmp, Stage::Write))?;
    w.get_mut().prefault();
    w.prefault_buffers(16 << 10);
    hooks.ready();
    let pacer = Pacer {
        start: Instant::now(),
        delay: Duration::from_micros(opts.key_save_delay_us),
        bandwidth: opts.bandwidth_bytes_per_sec,
    };
    let mut synced = 0u64;
    for (_, e) in ks.iter() {
        w.write_entry(e).map_err(io_err(tmp, Stage::Write))?;
        let bytes = w.bytes_written();
        if opts.fsync && opts.autosync_bytes > 0 && bytes - synced >= opts.autosync_bytes {
            let out = w.get_mut();
            out.flush().map_err(io_err(tmp, Stage::Write))?;
            out.file().sync_data().map_err(io_err(tmp, Stage::Fsync))?;
            synced = bytes;
        }
        hooks.progress(w.records_written());
        pacer.after_key(bytes);
    }
    let (mut out, bytes) = w.finish().map_err(|e| match e {
        WriteError::Io(source) => SaveError::Io {
            path: tmp.to_path_buf(),
            stage: Stage::Write,
            source,
        },
        other => SaveError::Inconsistent {
            path: tmp.to_path_buf(),
            source: other,
        },
    })?;
    out.flush().map_err(io_err(tmp, Stage::Write))?;
    if opts.fsync {
        out.file().sync_all().map_err(io_err(tmp, Stage::Fsync))?;
    }
    Ok(bytes)
}

/// Writes to `tmp`, then renames it over `target` and syncs the directory; on failure the
/// temp file is removed and `target` is untouched.
pub(crate) fn save_via_temp(
    engine: &Engine,
    target: &Path,
    tmp: &Path,
    opts: &SaveOptions,
    hooks: &mut impl SaveHooks,
) -> Result<u64, SaveError> {
    let r = write_temp(engine, tmp, opts, hooks).and_then(|bytes| {
        std::fs::rename(tmp, target).map_err(io_err(target, Stage::Rename))?;
        if opts.fsync {
            fsync_dir(target).map_err(io_err(target, Stage::FsyncDir))?;
        }
        Ok(bytes)
    });
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    r
}

/// SAVE: writes the snapshot in this process (blocking every command meanwhile, as Redis's
/// SAVE does).
pub fn save(engine: &Engine, target: &Path, opts: &SaveOptions) -> Result<SaveReport, SaveError> {
    let start = Instant::now();
    let tmp = temp_path(target, std::process::id() as i32);
    let bytes = save_via_temp(engine, target, &tmp, opts, &mut ())?;
    Ok(SaveReport {
        keys: engine.len() as u64,
        bytes,
        duration: start.elapsed(),
    })
}

/// A BGSAVE in progress: the child and where it writes.
#[derive(Debug)]
pub struct BackgroundSave {
    /// The child.
    pub child: ForkedChild,
    /// The snapshot file it will replace.
    pub target: PathBuf,
    /// Keys in the keyspace at the fork (Redis's `current_save_keys_total`).
    pub keys_total: u64,
}

impl BackgroundSave {
    /// The temp file the child writes.
    pub fn temp_path(&self) -> PathBuf {
        temp_path(&self.target, self.child.pid().as_raw())
    }

    /// Removes the child's temp file (after it died by a signal).
    pub fn remove_temp_file(&self) {
        let _ = std::fs::remove_file(self.temp_path());
    }
}

/// The hooks of a fork child: baseline once the buffers exist, then periodic reports.
pub(crate) struct ChildHooks<'a> {
    pub(crate) rep: &'a mut ChildReporter,
    pub(crate) keys: u64,
}

impl SaveHooks for ChildHooks<'_> {
    fn ready(&mut self) {
        self.rep.send_baseline();
    }
    #[inline]
    fn progress(&mut self, keys: u64) {
        self.keys = keys;
        self.rep.progress(keys);
    }
}

/// The child's job: serialize with progress reports, rename, handshake, final report.
pub(crate) fn child_job(
    engine: &Engine,
    target: &Path,
    opts: &SaveOptions,
    rep: &mut ChildReporter,
) -> i32 {
    let tmp = temp_path(target, std::process::id() as i32);
    let mut hooks = ChildHooks { rep, keys: 0 };
    match save_via_temp(engine, target, &tmp, opts, &mut hooks) {
        Ok(_) => {
            let keys = hooks.keys;
            hooks.rep.wait_for_go(keys);
            hooks.rep.finish(keys);
            0
        }
        Err(e) => {
            hooks.rep.fail(e.errno());
            1
        }
    }
}

/// BGSAVE: forks a child that writes `engine`'s keyspace to `target`. Returns at once; poll
/// [`BackgroundSave::child`]. Remember [`Engine::set_child_alive`] while it runs (the
/// [`super::Persistence`] layer does).
pub fn bgsave(
    engine: &Engine,
    target: &Path,
    opts: &SaveOptions,
    fork: &ForkOptions,
) -> Result<BackgroundSave, ForkError> {
    let keys_total = engine.len() as u64;
    let child = fork_child(ChildKind::Rdb, fork, |rep| {
        child_job(engine, target, opts, rep)
    })?;
    Ok(BackgroundSave {
        child,
        target: target.to_path_buf(),
        keys_total,
    })
}
