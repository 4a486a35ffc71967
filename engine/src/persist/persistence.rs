//! [`Persistence`]: the persistence half of Redis's server loop around one [`Engine`].
//!
//! It owns the RDB and AOF state Redis keeps in `server.*` and does what `serverCron`,
//! `beforeSleep` and the SAVE / BGSAVE / BGREWRITEAOF commands do:
//!
//! * [`Persistence::cron`]: reaps a finished child without blocking and handles its end
//!   (logs, `lastsave`, `dirty`, COW sizes, temp-file cleanup after a signal), fires save
//!   points and automatic AOF rewrites, fsyncs an idle `everysec` AOF, and keeps the engine's
//!   MISCONF write block in step with `stop-writes-on-bgsave-error`;
//! * [`Persistence::before_sleep`]: moves the engine's propagated writes into the AOF and
//!   flushes it;
//! * [`Persistence::bgsave`], [`Persistence::save`], [`Persistence::bgrewriteaof`].
//!
//! A failed fork is an error value and a stats counter; the engine keeps serving, and writes
//! are refused only when `stop-writes-on-bgsave-error yes` and save points exist (Redis's
//! rule). Logs are collected as [`LogLine`]s with Redis's texts; nothing is printed.
//! Times for save points come from the engine's clock (virtual or system).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::aof::{Aof, AofError, AofLoadReport, AofOptions};
use super::fork::{
    ChildKind, ChildOutcome, ChildState, ForkError, ForkOptions, ForkedChild, strerror,
};
use super::rules;
use super::save::{self, SaveError, SaveOptions, SaveReport, temp_path};
use super::snapshot::{self, LoadReport, SnapshotError, SnapshotOptions};
use crate::command::Command;
use crate::config::{Config, ConfigError, SaveRule};
use crate::engine::Engine;

/// Redis's default `dbfilename` is `dump.rdb`; the lab's format is its own, hence `.evs`.
pub const DEFAULT_DBFILENAME: &str = "dump.evs";

/// Log levels (Redis's `LL_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `LL_VERBOSE`.
    Verbose,
    /// `LL_NOTICE`.
    Notice,
    /// `LL_WARNING`.
    Warning,
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Engine time, ms.
    pub t_ms: u64,
    /// Level.
    pub level: Level,
    /// Text (Redis's wording where Redis has the line).
    pub text: String,
}

/// Where and how persistence writes.
#[derive(Clone, Debug, PartialEq)]
pub struct PersistConfig {
    /// `dir`.
    pub dir: PathBuf,
    /// `dbfilename`.
    pub dbfilename: String,
    /// Snapshot writing (compression and checksum come from the engine config).
    pub save: SaveOptions,
    /// Child reporting (and failure injection).
    pub fork: ForkOptions,
    /// Whether the process runs on jemalloc (only changes the overcommit warning's text).
    pub jemalloc: bool,
}

impl PersistConfig {
    /// Defaults for files in `dir`, with `rdbcompression`/`rdbchecksum` from `config`.
    pub fn new(dir: &Path, config: &Config) -> PersistConfig {
        PersistConfig {
            dir: dir.to_path_buf(),
            dbfilename: DEFAULT_DBFILENAME.into(),
            save: SaveOptions {
                snapshot: SnapshotOptions::from_config(config),
                ..SaveOptions::default()
            },
            fork: ForkOptions::default(),
            jemalloc: false,
        }
    }
}

/// Persistence counters, named as Redis's `INFO persistence` / `INFO stats` fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersistStats {
    /// `rdb_changes_since_last_save`.
    pub rdb_changes_since_last_save: u64,
    /// `rdb_bgsave_in_progress`.
    pub rdb_bgsave_in_progress: bool,
    /// `rdb_last_save_time` (engine seconds).
    pub rdb_last_save_time: u64,
    /// `rdb_last_bgsave_status` is `ok`.
    pub rdb_last_bgsave_ok: bool,
    /// `rdb_last_bgsave_time_sec` (wall seconds of the last BGSAVE).
    pub rdb_last_bgsave_time_sec: f64,
    /// `rdb_last_cow_size`: peak COW of the last successful RDB child (raw Private_Dirty).
    pub rdb_last_cow_size: u64,
    /// `aof_rewrite_in_progress`.
    pub aof_rewrite_in_progress: bool,
    /// `aof_last_bgrewrite_status` is `ok`.
    pub aof_last_bgrewrite_ok: bool,
    /// `aof_last_cow_size`.
    pub aof_last_cow_size: u64,
    /// `aof_current_size`.
    pub aof_current_size: u64,
    /// `aof_base_size`.
    pub aof_base_size: u64,
    /// `current_cow_peak` of the running child (raw).
    pub current_cow_peak: u64,
    /// `current_cow_size` of the running child (raw).
    pub current_cow_size: u64,
    /// `current_save_keys_processed`.
    pub current_save_keys_processed: u64,
    /// `current_save_keys_total`.
    pub current_save_keys_total: u64,
    /// `latest_fork_usec`.
    pub latest_fork_usec: u64,
    /// `total_forks`.
    pub total_forks: u64,
    /// Failed forks (lab; Redis only logs them).
    pub fork_failures: u64,
    /// `/proc/sys/vm/overcommit_memory` at start.
    pub overcommit_memory: Option<u32>,
}

/// Persistence failures.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Redis: "Background save already in progress" / "Another child process is active".
    #[error("Background save already in progress (a {kind} child is running)")]
    ChildRunning {
        /// The running child's job.
        kind: &'static str,
    },
    /// Redis: "Can't save in background: fork: %s".
    #[error("Can't save in background: {0}")]
    Fork(ForkError),
    /// SAVE failed.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// AOF failure.
    #[error(transparent)]
    Aof(#[from] AofError),
    /// Loading the snapshot failed.
    #[error(transparent)]
    Load(Box<SnapshotError>),
    /// The staging engine could not be built.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl From<SnapshotError> for PersistError {
    fn from(e: SnapshotError) -> Self {
        PersistError::Load(Box::new(e))
    }
}

struct Child {
    child: ForkedChild,
    target: PathBuf,
    dirty_at_fork: u64,
    seen_samples: usize,
}

/// Persistence around one engine. See the module docs.
pub struct Persistence {
    cfg: PersistConfig,
    rules: Vec<SaveRule>,
    stop_writes: bool,
    lastsave_s: u64,
    lastbgsave_try_s: u64,
    last_bgsave_ok: bool,
    /// `engine.dirty()` at the last successful save: changes since = dirty − this.
    dirty_at_save: u64,
    child: Option<Child>,
    aof: Option<Aof>,
    aof_rewrite_failures: u32,
    aof_rewrite_not_before_s: u64,
    auto_aof_pct: u32,
    auto_aof_min: u64,
    prop: Vec<Command>,
    stats: PersistStats,
    log: Vec<LogLine>,
    inject: Option<Errno>,
}

impl std::fmt::Debug for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persistence")
            .field("dir", &self.cfg.dir)
            .field("stats", &self.stats)
            .finish()
    }
}

fn secs(engine: &Engine) -> u64 {
    engine.now_ms() / 1000
}

impl Persistence {
    /// Persistence for `engine` with files in `cfg.dir`. Opens the AOF (and turns on the
    /// engine's propagation) when `appendonly yes`. Logs Redis's overcommit warning when
    /// `overcommit_memory` is not 1.
    pub fn new(engine: &mut Engine, cfg: PersistConfig) -> Result<Persistence, PersistError> {
        let c = engine.config().clone();
        std::fs::create_dir_all(&cfg.dir).map_err(|source| SaveError::Io {
            path: cfg.dir.clone(),
            stage: save::Stage::Create,
            source,
        })?;
        let aof = if c.appendonly {
            engine.set_propagation(true);
            Some(Aof::open(AofOptions::from_config(&c, &cfg.dir))?)
        } else {
            None
        };
        let now = secs(engine);
        let mut p = Persistence {
            rules: c.save.clone(),
            stop_writes: c.stop_writes_on_bgsave_error,
            lastsave_s: now,
            lastbgsave_try_s: 0,
            last_bgsave_ok: true,
            dirty_at_save: engine.dirty(),
            child: None,
            aof,
            aof_rewrite_failures: 0,
            aof_rewrite_not_before_s: 0,
            auto_aof_pct: c.auto_aof_rewrite_percentage,
            auto_aof_min: c.auto_aof_rewrite_min_size,
            prop: Vec::new(),
            stats: PersistStats {
                rdb_last_bgsave_ok: true,
                aof_last_bgrewrite_ok: true,
                rdb_last_save_time: now,
                overcommit_memory: rules::overcommit_memory(),
                ..PersistStats::default()
            },
            log: Vec::new(),
            inject: cfg.fork.inject_failure,
            cfg,
        };
        if let Some(w) = p
            .stats
            .overcommit_memory
            .and_then(|m| rules::overcommit_warning(m, p.cfg.jemalloc))
        {
            p.log(engine, Level::Warning, w);
        }
        p.refresh_stats(engine);
        Ok(p)
    }

    fn log(&mut self, engine: &Engine, level: Level, text: impl Into<String>) {
        self.log.push(LogLine {
            t_ms: engine.now_ms(),
            level,
            text: text.into(),
        });
    }

    /// The log so far.
    pub fn log_lines(&self) -> &[LogLine] {
        &self.log
    }

    /// Takes the log.
    pub fn take_log(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.log)
    }

    /// Counters.
    pub fn stats(&self) -> &PersistStats {
        &self.stats
    }

    /// The snapshot file.
    pub fn rdb_path(&self) -> PathBuf {
        self.cfg.dir.join(&self.cfg.dbfilename)
    }

    /// The running child, if any.
    pub fn child(&self) -> Option<&ForkedChild> {
        self.child.as_ref().map(|c| &c.child)
    }

    /// The AOF, when `appendonly yes`.
    pub fn aof(&self) -> Option<&Aof> {
        self.aof.as_ref()
    }

    /// Makes every following fork fail with `errno` (or stop failing with `None`).
    pub fn inject_fork_failure(&mut self, errno: Option<Errno>) {
        self.inject = errno;
    }

    fn refresh_stats(&mut self, engine: &Engine) {
        self.stats.rdb_changes_since_last_save = engine.dirty() - self.dirty_at_save;
        self.stats.rdb_last_bgsave_ok = self.last_bgsave_ok;
        self.stats.rdb_last_save_time = self.lastsave_s;
        if let Some(a) = &self.aof {
            self.stats.aof_current_size = a.current_size();
            self.stats.aof_base_size = a.base_size();
        }
    }

    fn update_write_block(&mut self, engine: &mut Engine) {
        let block = rules::write_block(
            self.stop_writes,
            !self.rules.is_empty(),
            self.last_bgsave_ok,
            self.aof.as_ref().and_then(|a| a.write_error()),
        );
        engine.set_write_block(block);
    }

    fn fork_opts(&self) -> ForkOptions {
        ForkOptions {
            inject_failure: self.inject,
            ..self.cfg.fork
        }
    }

    fn busy(&self) -> Result<(), PersistError> {
        match &self.child {
            Some(c) => Err(PersistError::ChildRunning {
                kind: c.child.kind().cow_name(),
            }),
            None => Ok(()),
        }
    }

    /// SAVE: writes the snapshot in this process.
    pub fn save(&mut self, engine: &mut Engine) -> Result<SaveReport, PersistError> {
        self.busy()?;
        let r = save::save(engine, &self.rdb_path(), &self.cfg.save);
        match &r {
            Ok(_) => {
                self.log(engine, Level::Notice, "DB saved on disk");
                self.dirty_at_save = engine.dirty();
                self.lastsave_s = secs(engine);
                self.last_bgsave_ok = true;
            }
            Err(e) => {
                let msg = e.to_string();
                self.log(engine, Level::Warning, msg);
            }
        }
        self.refresh_stats(engine);
        self.update_write_block(engine);
        Ok(r?)
    }

    /// BGSAVE: forks a child writing the snapshot; returns its pid.
    pub fn bgsave(&mut self, engine: &mut Engine) -> Result<i32, PersistError> {
        self.busy()?;
        self.lastbgsave_try_s = secs(engine);
        match save::bgsave(engine, &self.rdb_path(), &self.cfg.save, &self.fork_opts()) {
            Ok(bg) => {
                let pid = bg.child.pid().as_raw();
                self.after_fork(engine, &bg.child, bg.keys_total);
                self.log(
                    engine,
                    Level::Notice,
                    format!("Background saving started by pid {pid}"),
                );
                self.stats.rdb_bgsave_in_progress = true;
                self.child = Some(Child {
                    child: bg.child,
                    target: bg.target,
                    dirty_at_fork: engine.dirty(),
                    seen_samples: 0,
                });
                Ok(pid)
            }
            Err(e) => {
                self.stats.fork_failures += 1;
                self.last_bgsave_ok = false;
                self.log(
                    engine,
                    Level::Warning,
                    format!("Can't save in background: {e}"),
                );
                self.refresh_stats(engine);
                self.update_write_block(engine);
                Err(PersistError::Fork(e))
            }
        }
    }

    fn after_fork(&mut self, engine: &mut Engine, child: &ForkedChild, keys_total: u64) {
        self.stats.total_forks += 1;
        self.stats.latest_fork_usec = child.fork_usec();
        self.stats.current_cow_peak = 0;
        self.stats.current_cow_size = 0;
        self.stats.current_save_keys_processed = 0;
        self.stats.current_save_keys_total = keys_total;
        engine.set_child_alive(true);
    }

    /// BGREWRITEAOF: forks a child writing a new AOF base.
    pub fn bgrewriteaof(&mut self, engine: &mut Engine) -> Result<i32, PersistError> {
        self.busy()?;
        self.feed_aof(engine);
        let fork = self.fork_opts();
        let Some(aof) = self.aof.as_mut() else {
            // Redis allows BGREWRITEAOF with AOF off (it writes a base); the lab needs the
            // AOF directory, so open it on demand.
            let opts = AofOptions::from_config(engine.config(), &self.cfg.dir);
            self.aof = Some(Aof::open(opts)?);
            return self.bgrewriteaof(engine);
        };
        match aof.start_rewrite(engine, &fork) {
            Ok(child) => {
                let pid = child.pid().as_raw();
                let keys = engine.len() as u64;
                self.after_fork(engine, &child, keys);
                self.log(
                    engine,
                    Level::Notice,
                    format!("Background append only file rewriting started by pid {pid}"),
                );
                self.stats.aof_rewrite_in_progress = true;
                self.child = Some(Child {
                    child,
                    target: PathBuf::new(),
                    dirty_at_fork: engine.dirty(),
                    seen_samples: 0,
                });
                Ok(pid)
            }
            Err(e) => {
                if matches!(e, AofError::Fork(_)) {
                    self.stats.fork_failures += 1;
                }
                self.aof_rewrite_failures += 1;
                self.stats.aof_last_bgrewrite_ok = false;
                self.log(engine, Level::Warning, e.to_string());
                Err(PersistError::Aof(e))
            }
        }
    }

    fn feed_aof(&mut self, engine: &mut Engine) {
        if let Some(aof) = &mut self.aof {
            engine.drain_propagated(&mut self.prop);
            aof.feed(&self.prop);
            self.prop.clear();
        }
    }

    /// `beforeSleep`: appends the engine's propagated writes to the AOF and flushes it.
    /// Call after each command or batch of commands.
    pub fn before_sleep(&mut self, engine: &mut Engine) -> Result<(), PersistError> {
        self.feed_aof(engine);
        let had_error = self.aof.as_ref().and_then(|a| a.write_error()).is_some();
        if let Some(aof) = &mut self.aof {
            aof.flush(false)?;
        }
        let has_error = self
            .aof
            .as_ref()
            .and_then(|a| a.write_error())
            .map(str::to_owned);
        match (had_error, has_error) {
            (false, Some(e)) => self.log(
                engine,
                Level::Warning,
                format!("Error writing to the AOF file: {e}"),
            ),
            (true, None) => self.log(
                engine,
                Level::Warning,
                "AOF write error looks solved, Redis can write again.",
            ),
            _ => {}
        }
        self.refresh_stats(engine);
        self.update_write_block(engine);
        Ok(())
    }

    /// `serverCron`'s persistence part. Never blocks.
    pub fn cron(&mut self, engine: &mut Engine) -> Result<(), PersistError> {
        self.check_child(engine);
        let now = secs(engine);
        if self.child.is_none() {
            let st = rules::SaveState {
                dirty: engine.dirty() - self.dirty_at_save,
                now_s: now,
                lastsave_s: self.lastsave_s,
                lastbgsave_try_s: self.lastbgsave_try_s,
                last_bgsave_ok: self.last_bgsave_ok,
            };
            if let Some(rule) = rules::due_save_point(&self.rules, &st) {
                self.log(engine, Level::Notice, rules::save_point_log(&rule));
                // A failure is logged and counted inside; the engine serves on.
                let _ = self.bgsave(engine);
            }
        }
        if self.child.is_none()
            && now >= self.aof_rewrite_not_before_s
            && let Some(aof) = &self.aof
            && let Some(growth) = rules::aof_rewrite_due(
                aof.current_size(),
                aof.base_size(),
                self.auto_aof_pct,
                self.auto_aof_min,
            )
        {
            self.log(engine, Level::Notice, rules::aof_rewrite_log(growth));
            if self.bgrewriteaof(engine).is_err() {
                let delay = rules::aof_rewrite_delay_minutes(self.aof_rewrite_failures);
                self.aof_rewrite_not_before_s = now + delay * 60;
            }
        }
        if let Some(aof) = &mut self.aof {
            // An idle everysec file still gets its fsync within a second.
            aof.flush(false)?;
        }
        self.refresh_stats(engine);
        self.update_write_block(engine);
        Ok(())
    }

    fn check_child(&mut self, engine: &mut Engine) {
        let Some(c) = &mut self.child else { return };
        let state = c.child.poll();
        let kind = c.child.kind();
        let new: Vec<_> = c.child.samples()[c.seen_samples..].to_vec();
        c.seen_samples = c.child.samples().len();
        for s in &new {
            self.stats.current_cow_size = s.private_dirty_bytes;
            self.stats.current_cow_peak = self.stats.current_cow_peak.max(s.private_dirty_bytes);
            self.stats.current_save_keys_processed = s.keys_processed;
        }
        let ChildState::Exited(exit) = state else {
            return;
        };
        let Some(c) = self.child.take() else { return };
        engine.set_child_alive(false);
        if let Some(st) = c.child.final_stats() {
            self.log(engine, Level::Notice, st.log_line(kind.cow_name()));
        }
        let pid = c.child.pid().as_raw();
        let ok = exit.outcome == ChildOutcome::Success;
        match kind {
            ChildKind::Rdb => {
                self.stats.rdb_bgsave_in_progress = false;
                self.stats.rdb_last_bgsave_time_sec = exit.duration.as_secs_f64();
                match exit.outcome {
                    ChildOutcome::Success => {
                        self.log(
                            engine,
                            Level::Notice,
                            "Background saving terminated with success",
                        );
                        self.dirty_at_save = c.dirty_at_fork;
                        self.lastsave_s = secs(engine);
                        self.stats.rdb_last_cow_size = self.stats.current_cow_peak;
                    }
                    ChildOutcome::Signaled(sig) => {
                        self.log(
                            engine,
                            Level::Warning,
                            format!("Background saving terminated by signal {}", sig as i32),
                        );
                        let _ = std::fs::remove_file(temp_path(&c.target, pid));
                    }
                    ChildOutcome::Failed { errno, .. } => {
                        if let Some(e) = errno {
                            self.log(
                                engine,
                                Level::Warning,
                                format!("Write error saving DB on disk: {}", strerror(e)),
                            );
                        }
                        self.log(engine, Level::Warning, "Background saving error");
                    }
                    ChildOutcome::Lost => {
                        self.log(engine, Level::Warning, "Background saving error");
                    }
                }
                // SIGUSR1 is how Redis kills a child on purpose; it is not an error.
                self.last_bgsave_ok = ok || exit.outcome == ChildOutcome::Signaled(Signal::SIGUSR1);
            }
            ChildKind::AofRewrite => {
                self.stats.aof_rewrite_in_progress = false;
                let done = self
                    .aof
                    .as_mut()
                    .map(|a| a.finish_rewrite(pid, ok))
                    .transpose();
                match (ok, done) {
                    (true, Ok(_)) => {
                        self.log(
                            engine,
                            Level::Notice,
                            "Background AOF rewrite finished successfully",
                        );
                        self.stats.aof_last_cow_size = self.stats.current_cow_peak;
                        self.stats.aof_last_bgrewrite_ok = true;
                        self.aof_rewrite_failures = 0;
                    }
                    (_, Err(e)) => {
                        self.log(engine, Level::Warning, e.to_string());
                        self.stats.aof_last_bgrewrite_ok = false;
                        self.aof_rewrite_failures += 1;
                    }
                    (false, Ok(_)) => {
                        self.log(engine, Level::Warning, "Background AOF rewrite error");
                        self.stats.aof_last_bgrewrite_ok = false;
                        self.aof_rewrite_failures += 1;
                    }
                }
            }
        }
    }

    /// Blocks until the running child (if any) ends, then handles it as `cron` would.
    pub fn wait_child(&mut self, engine: &mut Engine) {
        if let Some(c) = &mut self.child {
            c.child.wait(Duration::from_millis(1));
        }
        self.check_child(engine);
        self.refresh_stats(engine);
        self.update_write_block(engine);
    }

    /// Sends SIGKILL to the running child (it is reaped by the next `cron`).
    pub fn kill_child(&mut self) {
        if let Some(c) = &self.child {
            let _ = c.child.kill(Signal::SIGKILL);
        }
    }

    /// Loads the dataset at start-up into a new engine built from `config`: from the AOF
    /// when `appendonly yes` and it exists, else from the snapshot file if it exists. The
    /// result replaces nothing; the caller swaps it in on success.
    pub fn load(
        dir: &Path,
        dbfilename: &str,
        config: &Config,
        seed: u64,
        now_ms: u64,
    ) -> Result<(Engine, Loaded), PersistError> {
        if config.appendonly {
            let opts = AofOptions::from_config(config, dir);
            if opts.dir.exists() {
                let mut e = Engine::new(config.clone(), seed)?;
                e.set_time_ms(now_ms);
                let r = Aof::load(&opts, &mut e)?;
                return Ok((e, Loaded::Aof(r)));
            }
        }
        let path = dir.join(dbfilename);
        if path.exists() {
            let (e, r) = snapshot::load_file(&path, config, seed, now_ms)?;
            return Ok((e, Loaded::Snapshot(r)));
        }
        let mut e = Engine::new(config.clone(), seed)?;
        e.set_time_ms(now_ms);
        Ok((e, Loaded::Nothing))
    }
}

/// What [`Persistence::load`] loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// No file: an empty dataset.
    Nothing,
    /// The snapshot file.
    Snapshot(LoadReport),
    /// The AOF.
    Aof(AofLoadReport),
}
