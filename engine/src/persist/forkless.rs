//! A forkless point-in-time snapshot: serialize-before-mutate, as Dragonfly does it.
//!
//! Dragonfly (dragonfly `docs/rdbsave.md`, `src/server/snapshot.cc`) snapshots without
//! `fork()`: a traversal walks the table incrementally between commands, and a hook that
//! runs *before* every mutation serializes the old value of a not-yet-serialized entry
//! first. The file therefore holds the dataset exactly as it was when the snapshot started;
//! keys created afterwards are not part of it. The memory cost is the serializer's buffers,
//! not a copy of every page the workload touches.
//!
//! Here the traversal is a cursor over the keyspace's slots (stable for a key's lifetime)
//! with a bitmap of slots still to write; the hook is the engine's [`MutationObserver`]:
//!
//! * `before_mutation(slot)` (overwrite, TTL change, delete, expiry, eviction): if the slot
//!   is still pending, its entry is written now, before it changes;
//! * `after_insert(slot)`: the slot now holds a key born after the start — it is marked
//!   done so the traversal skips it.
//!
//! Dragonfly versions whole buckets; we track single entries (our keyspace has no buckets),
//! and we run single-threaded: the serializer writes to the file synchronously from the
//! mutation path when its 64 KiB buffer fills. What is measured as memory overhead is the
//! buffered bytes (buffer fill plus the record being encoded), reported as a peak.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::save::{FileSink, SaveError, SaveOptions, Stage, fsync_dir, temp_path};
use super::snapshot::{SnapshotWriter, WriteError};
use crate::engine::{Engine, MutationObserver};
use crate::keyspace::{Entry, Slot};

const WRITE_BUFFER: usize = 64 << 10;

struct State {
    writer: Option<SnapshotWriter<FileSink>>,
    pending: Vec<u64>,
    cursor: usize,
    end: usize,
    by_scan: u64,
    by_hook: u64,
    buffered_peak: u64,
    error: Option<io::Error>,
}

impl State {
    #[inline]
    fn is_pending(&self, slot: Slot) -> bool {
        let s = slot as usize;
        s < self.end && self.pending[s / 64] & (1 << (s % 64)) != 0
    }
    #[inline]
    fn clear(&mut self, slot: Slot) {
        let s = slot as usize;
        if s < self.end {
            self.pending[s / 64] &= !(1 << (s % 64));
        }
    }
    fn write(&mut self, e: &Entry) {
        if self.error.is_some() {
            return;
        }
        let Some(w) = &mut self.writer else { return };
        match w.write_entry(e) {
            Ok(rec) => {
                let buffered = w.get_mut().buffered() as u64 + rec as u64;
                self.buffered_peak = self.buffered_peak.max(buffered);
            }
            Err(err) => self.error = Some(err),
        }
    }
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The engine-side hook.
struct Hook(Arc<Mutex<State>>);

impl MutationObserver for Hook {
    fn before_mutation(&mut self, slot: Slot, entry: &Entry) {
        let mut st = lock(&self.0);
        if st.is_pending(slot) {
            st.clear(slot);
            st.write(entry);
            st.by_hook += 1;
        }
    }
    fn after_insert(&mut self, slot: Slot) {
        lock(&self.0).clear(slot);
    }
}

/// Counters of a forkless snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForklessStats {
    /// Keys in the snapshot (the keyspace size at the start).
    pub keys_total: u64,
    /// Keys written by the traversal.
    pub keys_by_scan: u64,
    /// Keys written by the hook, before a mutation.
    pub keys_by_hook: u64,
    /// Bytes written to the file so far.
    pub bytes_written: u64,
    /// Largest amount of serialized data held in memory at once (buffer fill + record).
    pub buffered_peak_bytes: u64,
}

/// A forkless snapshot in progress. Drive it with [`ForklessSnapshot::step`] between
/// commands; finish it with [`ForklessSnapshot::finish`].
pub struct ForklessSnapshot {
    state: Arc<Mutex<State>>,
    target: PathBuf,
    tmp: PathBuf,
    opts: SaveOptions,
    started: Instant,
    synced: u64,
    keys_total: u64,
}

impl std::fmt::Debug for ForklessSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForklessSnapshot")
            .field("target", &self.target)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Why a forkless snapshot cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ForklessError {
    /// Another mutation observer is installed (only one snapshot at a time).
    #[error("a mutation observer is already installed (another forkless snapshot is running)")]
    ObserverBusy,
    /// The file could not be written.
    #[error(transparent)]
    Save(#[from] SaveError),
}

impl ForklessSnapshot {
    /// Starts a snapshot of `engine`'s current dataset into `target` (through
    /// `temp-<pid>.evs`) and installs the serialize-before-mutate hook.
    pub fn start(
        engine: &mut Engine,
        target: &Path,
        opts: &SaveOptions,
    ) -> Result<ForklessSnapshot, ForklessError> {
        if let Some(o) = engine.take_observer() {
            engine.set_observer(Some(o));
            return Err(ForklessError::ObserverBusy);
        }
        let tmp = temp_path(target, std::process::id() as i32);
        let io = |stage| {
            let tmp = tmp.clone();
            move |source| SaveError::Io {
                path: tmp,
                stage,
                source,
            }
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io(Stage::Create))?;
        let ks = engine.keyspace();
        let keys_total = ks.len() as u64;
        let writer = SnapshotWriter::new(
            FileSink::new(file, WRITE_BUFFER),
            opts.snapshot,
            engine.now_ms(),
            keys_total,
        )
        .map_err(io(Stage::Write))?;
        let end = ks.slot_capacity();
        let mut pending = vec![0u64; end.div_ceil(64)];
        for s in ks.slots() {
            pending[s as usize / 64] |= 1 << (s % 64);
        }
        let state = Arc::new(Mutex::new(State {
            writer: Some(writer),
            pending,
            cursor: 0,
            end,
            by_scan: 0,
            by_hook: 0,
            buffered_peak: 0,
            error: None,
        }));
        engine.set_observer(Some(Box::new(Hook(Arc::clone(&state)))));
        Ok(ForklessSnapshot {
            state,
            target: target.to_path_buf(),
            tmp,
            opts: *opts,
            started: Instant::now(),
            synced: 0,
            keys_total,
        })
    }

    /// Writes up to `max_keys` pending keys in slot order. Returns true when every key of
    /// the snapshot has been written (by the traversal or the hook).
    pub fn step(&mut self, engine: &Engine, max_keys: usize) -> Result<bool, SaveError> {
        let ks = engine.keyspace();
        let mut st = lock(&self.state);
        let mut done = 0;
        while st.cursor < st.end && done < max_keys {
            let s = st.cursor as Slot;
            st.cursor += 1;
            if st.is_pending(s) {
                st.clear(s);
                st.write(ks.entry(s));
                st.by_scan += 1;
                done += 1;
            }
        }
        if let Some(err) = st.error.take() {
            return Err(SaveError::Io {
                path: self.tmp.clone(),
                stage: Stage::Write,
                source: err,
            });
        }
        let bytes = st.writer.as_ref().map_or(0, |w| w.bytes_written());
        if self.opts.fsync
            && self.opts.autosync_bytes > 0
            && bytes - self.synced >= self.opts.autosync_bytes
            && let Some(w) = &mut st.writer
        {
            let sink = w.get_mut();
            let r = sink.flush().and_then(|_| sink.file().sync_data());
            r.map_err(|source| SaveError::Io {
                path: self.tmp.clone(),
                stage: Stage::Fsync,
                source,
            })?;
            self.synced = bytes;
        }
        Ok(st.cursor >= st.end)
    }

    /// Counters so far.
    pub fn stats(&self) -> ForklessStats {
        let st = lock(&self.state);
        ForklessStats {
            keys_total: self.keys_total,
            keys_by_scan: st.by_scan,
            keys_by_hook: st.by_hook,
            bytes_written: st.writer.as_ref().map_or(0, |w| w.bytes_written()),
            buffered_peak_bytes: st.buffered_peak,
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Completes the traversal if needed, removes the hook, writes the trailer, syncs and
    /// renames the file into place. On error the temp file is removed and the target kept.
    pub fn finish(mut self, engine: &mut Engine) -> Result<ForklessStats, SaveError> {
        let r = self.finish_inner(engine);
        if r.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        r
    }

    fn finish_inner(&mut self, engine: &mut Engine) -> Result<ForklessStats, SaveError> {
        while !self.step(engine, usize::MAX)? {}
        engine.set_observer(None);
        let stats = self.stats();
        let writer = lock(&self.state).writer.take();
        let Some(writer) = writer else {
            return Ok(stats);
        };
        let tmp = self.tmp.clone();
        let (mut sink, _) = writer.finish().map_err(|e| match e {
            WriteError::Io(source) => SaveError::Io {
                path: tmp.clone(),
                stage: Stage::Write,
                source,
            },
            other => SaveError::Inconsistent {
                path: tmp.clone(),
                source: other,
            },
        })?;
        let io = |stage: Stage, path: &Path| {
            let path = path.to_path_buf();
            move |source| SaveError::Io {
                path,
                stage,
                source,
            }
        };
        sink.flush().map_err(io(Stage::Write, &tmp))?;
        if self.opts.fsync {
            sink.file().sync_all().map_err(io(Stage::Fsync, &tmp))?;
        }
        drop(sink);
        std::fs::rename(&tmp, &self.target).map_err(io(Stage::Rename, &self.target))?;
        if self.opts.fsync {
            fsync_dir(&self.target).map_err(io(Stage::FsyncDir, &self.target))?;
        }
        Ok(self.stats_after_finish(stats))
    }

    fn stats_after_finish(&self, mut s: ForklessStats) -> ForklessStats {
        // The trailer (EOF + CRC) is 9 more bytes.
        s.bytes_written += super::snapshot::TRAILER_LEN as u64;
        s
    }

    /// Abandons the snapshot: removes the hook and the temp file.
    pub fn abort(self, engine: &mut Engine) {
        engine.set_observer(None);
        lock(&self.state).writer.take();
        let _ = std::fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::config::Config;
    use crate::persist::snapshot::{canonical_dump, load_file};

    fn exec(e: &mut Engine, s: &str) {
        let args: Vec<&str> = s.split(' ').collect();
        let r = e.execute(Command::parse(&args).unwrap());
        assert!(!r.is_error(), "{s}: {r:?}");
    }

    #[test]
    fn snapshot_is_the_dataset_at_the_start_despite_concurrent_writes() {
        let dir = std::env::temp_dir().join(format!("evictlab-forkless-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("dump.evs");
        let mut e = Engine::new(Config::parse_str("lab-storage materialized").unwrap(), 1).unwrap();
        for i in 0..300 {
            exec(&mut e, &format!("SET k{i} v{i}"));
        }
        exec(&mut e, "HSET h a 1");
        exec(&mut e, "RPUSH l x");
        exec(&mut e, "PEXPIRE k5 100000");
        let at_start = canonical_dump(&e);
        let opts = SaveOptions {
            fsync: false,
            ..SaveOptions::default()
        };
        let mut snap = ForklessSnapshot::start(&mut e, &target, &opts).unwrap();
        assert!(matches!(
            ForklessSnapshot::start(&mut e, &target, &opts),
            Err(ForklessError::ObserverBusy)
        ));
        let mut i = 0;
        loop {
            // Writes interleaved with the traversal: overwrite keys both ahead of and behind
            // the cursor, delete, create (new keys must not appear), change TTLs and
            // aggregates.
            exec(&mut e, &format!("SET k{} changed", (i * 37) % 300));
            exec(&mut e, &format!("SET born{i} late"));
            if i % 5 == 0 {
                exec(&mut e, &format!("DEL k{}", (i * 11) % 300));
            }
            exec(&mut e, &format!("PEXPIRE k{} 777", (i * 7) % 300));
            exec(&mut e, &format!("HSET h f{i} 2"));
            exec(&mut e, "RPUSH l y");
            i += 1;
            if snap.step(&e, 3).unwrap() {
                break;
            }
        }
        let st = snap.stats();
        assert_eq!(st.keys_by_scan + st.keys_by_hook, st.keys_total);
        assert!(
            st.keys_by_hook > 0,
            "some keys must have been saved by the hook"
        );
        snap.finish(&mut e).unwrap();
        let (loaded, _) = load_file(&target, e.config(), 2, 0).unwrap();
        assert_eq!(canonical_dump(&loaded), at_start);
        // The observer is gone: further writes cost nothing.
        exec(&mut e, "SET after x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
