//! The append-only file, Redis 7 multi-part style.
//!
//! Layout (redis `src/aof.c`, multi-part AOF since 7.0, PR #9788): a directory holding
//!
//! * `appendonly.aof.<seq>.base.rdb` — a snapshot (our snapshot format, as Redis writes an
//!   RDB base with `aof-use-rdb-preamble yes`), absent until the first rewrite;
//! * `appendonly.aof.<seq>.incr.aof` — commands in RESP, one or more files;
//! * `appendonly.aof.manifest` — lines `file <name> seq <n> type <b|i>`.
//!
//! Writes executed by the engine are propagated ([`Engine::set_propagation`]; SET carries an
//! absolute `PXAT`, expiry and eviction become DEL) and appended to a buffer that
//! [`Aof::flush`] writes once per event-loop turn, with `appendfsync`:
//! `always` (fdatasync after every write — in this lab synchronously, as Redis does), `everysec`
//! (at most one fdatasync per second; Redis runs it in a background thread, the lab runs it
//! inline, so its latency shows up in the caller), `no` (never; the OS flushes).
//!
//! BGREWRITEAOF forks a child that writes a new base snapshot; at the fork the parent opens a
//! new INCR file (recorded in the manifest at once) and keeps appending there. When the
//! child succeeds the new base replaces the old one and the older INCR files are deleted;
//! when it fails nothing is lost: the manifest still lists the old base and every INCR file.
//!
//! Loading follows `loadSingleAppendOnlyFile`: a command cut short at the end of the *last*
//! file is truncated away with `aof-load-truncated yes` (Redis's warnings are logged) and is
//! fatal otherwise; anything malformed elsewhere is fatal ("Bad file format ...").

mod manifest;

pub use manifest::{AofFileType, Manifest, ManifestEntry};

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fork::{ChildKind, ForkError, ForkOptions, ForkedChild, fork_child, strerror};
use super::save::{SaveOptions, child_job, fsync_dir};
use super::snapshot::{self, SnapshotError};
use crate::command::Command;
use crate::config::{AppendFsync, Config};
use crate::engine::Engine;

/// Redis's `appendfilename` default.
pub const DEFAULT_BASENAME: &str = "appendonly.aof";
/// Redis's `appenddirname` default.
pub const DEFAULT_DIRNAME: &str = "appendonlydir";

/// How the AOF behaves (from [`Config`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AofOptions {
    /// The AOF directory (`dir/appendonlydir`).
    pub dir: PathBuf,
    /// File name prefix (`appendonly.aof`).
    pub basename: String,
    /// `appendfsync`.
    pub fsync: AppendFsync,
    /// `aof-load-truncated`.
    pub load_truncated: bool,
    /// How rewrite children write the base snapshot.
    pub save: SaveOptions,
}

impl AofOptions {
    /// Options from a configuration, with the AOF directory under `dir`.
    pub fn from_config(c: &Config, dir: &Path) -> AofOptions {
        AofOptions {
            dir: dir.join(DEFAULT_DIRNAME),
            basename: DEFAULT_BASENAME.into(),
            fsync: c.appendfsync,
            load_truncated: c.aof_load_truncated,
            save: SaveOptions {
                snapshot: snapshot::SnapshotOptions::from_config(c),
                ..SaveOptions::default()
            },
        }
    }
}

/// AOF failures.
#[derive(Debug, thiserror::Error)]
pub enum AofError {
    /// An I/O error on a file.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A manifest line that does not parse.
    #[error("{}:{line}: invalid AOF manifest line '{text}': expected 'file <name> seq <n> type <b|i|h>'", .path.display())]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
    /// Redis: "Bad file format reading the append only file %s: make a backup of your AOF
    /// file, then use ./redis-check-aof --fix <filename.manifest>"
    #[error(
        "Bad file format reading the append only file {file}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest> (at byte {offset}: {detail})"
    )]
    BadFormat {
        /// The file.
        file: String,
        /// Byte offset of the bad command.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// Redis: "Unknown command '%s' reading the append only file %s"
    #[error(
        "Unknown command '{command}' reading the append only file {file} (at byte {offset}: {detail})"
    )]
    UnknownCommand {
        /// The command name.
        command: String,
        /// The file.
        file: String,
        /// Byte offset.
        offset: u64,
        /// The parse error.
        detail: String,
    },
    /// Truncated with `aof-load-truncated no` (Redis's text).
    #[error(
        "Unexpected end of file reading the append only file {file}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
    )]
    Truncated {
        /// The file.
        file: String,
    },
    /// A truncated file that is not the last one.
    #[error("Fatal error: the truncated file is not the last file ({file})")]
    TruncatedNotLast {
        /// The file.
        file: String,
    },
    /// The base snapshot failed to load.
    #[error("Error reading the RDB base file {file}, AOF loading aborted: {source}")]
    Base {
        /// The file.
        file: String,
        /// Why.
        source: Box<SnapshotError>,
    },
    /// A write or fsync failed under `appendfsync always` (Redis exits here; the lab
    /// returns the error and lets the caller decide).
    #[error(
        "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {0}. Exiting..."
    )]
    FatalAlways(String),
    /// Starting a rewrite failed.
    #[error("Can't rewrite append only file in background: {0}")]
    Fork(#[from] ForkError),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> AofError + 'a {
    move |source| AofError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Encodes a command as a RESP array of bulk strings (what an AOF holds).
pub fn encode_resp(cmd: &Command, out: &mut Vec<u8>) {
    let args = cmd.to_args();
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(&a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Counters of the AOF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AofStats {
    /// Successful `write()` calls of the buffer.
    pub writes: u64,
    /// fdatasync calls.
    pub fsyncs: u64,
    /// Commands appended.
    pub commands: u64,
}

/// An open AOF.
#[derive(Debug)]
pub struct Aof {
    opts: AofOptions,
    manifest: Manifest,
    incr: File,
    incr_path: PathBuf,
    buf: Vec<u8>,
    current_size: u64,
    base_size: u64,
    last_fsync: Instant,
    unsynced: bool,
    write_error: Option<String>,
    /// Counters.
    pub stats: AofStats,
}

/// What loading found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AofLoadReport {
    /// Keys from the base snapshot.
    pub base_keys: u64,
    /// Commands replayed from INCR files.
    pub commands: u64,
    /// Bytes cut from a truncated last file, if any.
    pub truncated_at: Option<u64>,
    /// Redis's log lines.
    pub log: Vec<String>,
}

impl Aof {
    fn manifest_path(opts: &AofOptions) -> PathBuf {
        opts.dir.join(format!("{}.manifest", opts.basename))
    }

    fn write_manifest(opts: &AofOptions, m: &Manifest) -> Result<(), AofError> {
        let path = Aof::manifest_path(opts);
        let tmp = opts.dir.join(format!("temp-{}.manifest", opts.basename));
        let mut f = File::create(&tmp).map_err(io("creating", &tmp))?;
        f.write_all(m.to_text().as_bytes())
            .map_err(io("writing", &tmp))?;
        f.sync_all().map_err(io("fsyncing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("renaming to", &path))?;
        fsync_dir(&path).map_err(io("fsyncing the directory of", &path))
    }

    fn open_incr(opts: &AofOptions, seq: u64) -> Result<(String, PathBuf, File), AofError> {
        let name = format!("{}.{seq}.incr.aof", opts.basename);
        let path = opts.dir.join(&name);
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("opening", &path))?;
        Ok((name, path, f))
    }

    /// Opens the AOF in `opts.dir`, creating the directory, a first INCR file and the
    /// manifest when there is none; otherwise appends to the last INCR file.
    pub fn open(opts: AofOptions) -> Result<Aof, AofError> {
        std::fs::create_dir_all(&opts.dir).map_err(io("creating", &opts.dir))?;
        let mpath = Aof::manifest_path(&opts);
        let mut manifest = match std::fs::read_to_string(&mpath) {
            Ok(t) => Manifest::parse(&t, &mpath)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => return Err(io("reading", &mpath)(e)),
        };
        let last_incr = manifest
            .entries
            .iter()
            .rev()
            .find(|e| e.kind == AofFileType::Incr)
            .cloned();
        let (incr_path, incr) = match last_incr {
            Some(e) => {
                let (_, p, f) = Aof::open_incr(&opts, e.seq)?;
                (p, f)
            }
            None => {
                let seq = manifest.entries.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
                let (name, p, f) = Aof::open_incr(&opts, seq)?;
                manifest.entries.push(ManifestEntry {
                    name,
                    seq,
                    kind: AofFileType::Incr,
                });
                Aof::write_manifest(&opts, &manifest)?;
                (p, f)
            }
        };
        let size_of = |name: &str| std::fs::metadata(opts.dir.join(name)).map_or(0, |m| m.len());
        let base_size = manifest
            .entries
            .iter()
            .filter(|e| e.kind == AofFileType::Base)
            .map(|e| size_of(&e.name))
            .sum();
        let current_size = manifest.load_order().iter().map(|e| size_of(&e.name)).sum();
        Ok(Aof {
            opts,
            manifest,
            incr,
            incr_path,
            buf: Vec::new(),
            current_size,
            base_size,
            last_fsync: Instant::now(),
            unsynced: false,
            write_error: None,
            stats: AofStats::default(),
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// `aof_current_size`: base + INCR bytes.
    pub fn current_size(&self) -> u64 {
        self.current_size
    }
    /// `aof_base_size`: size after the last rewrite (Redis's `aof_rewrite_base_size`).
    pub fn base_size(&self) -> u64 {
        self.base_size
    }
    /// The last write error (strerror), while it lasts: Redis refuses writes with
    /// `-MISCONF Errors writing to the AOF file: <it>`.
    pub fn write_error(&self) -> Option<&str> {
        self.write_error.as_deref()
    }
    /// The INCR file being appended to.
    pub fn incr_path(&self) -> &Path {
        &self.incr_path
    }

    /// Appends commands to the buffer (Redis's `feedAppendOnlyFile`).
    pub fn feed(&mut self, cmds: &[Command]) {
        for c in cmds {
            encode_resp(c, &mut self.buf);
        }
        self.stats.commands += cmds.len() as u64;
    }

    /// Writes the buffer and fsyncs per `appendfsync` (Redis's `flushAppendOnlyFile` in
    /// `beforeSleep`). `no_fsync` suppresses fsync (`no-appendfsync-on-rewrite` while a child
    /// runs). Under `everysec` an idle unsynced file is synced after a second too.
    pub fn flush(&mut self, no_fsync: bool) -> Result<(), AofError> {
        if !self.buf.is_empty() {
            match self.incr.write_all(&self.buf) {
                Ok(()) => {
                    self.current_size += self.buf.len() as u64;
                    self.buf.clear();
                    self.stats.writes += 1;
                    self.unsynced = true;
                    self.write_error = None;
                }
                Err(e) => {
                    let msg = strerror(super::fork::errno_of(&e));
                    if self.opts.fsync == AppendFsync::Always {
                        return Err(AofError::FatalAlways(msg));
                    }
                    // Keep the buffer: the next flush retries (Redis keeps what it could not
                    // write and refuses writes meanwhile).
                    self.write_error = Some(msg);
                    return Ok(());
                }
            }
        }
        if !self.unsynced || no_fsync {
            return Ok(());
        }
        let due = match self.opts.fsync {
            AppendFsync::Always => true,
            AppendFsync::Everysec => self.last_fsync.elapsed() >= Duration::from_secs(1),
            AppendFsync::No => false,
        };
        if due {
            if let Err(e) = self.incr.sync_data() {
                let msg = strerror(super::fork::errno_of(&e));
                if self.opts.fsync == AppendFsync::Always {
                    return Err(AofError::FatalAlways(msg));
                }
                self.write_error = Some(msg);
                return Ok(());
            }
            self.stats.fsyncs += 1;
            self.last_fsync = Instant::now();
            self.unsynced = false;
        }
        Ok(())
    }

    /// BGREWRITEAOF: flushes, opens a new INCR file (persisted in the manifest at once) and
    /// forks a child writing a new base snapshot of `engine`.
    pub fn start_rewrite(
        &mut self,
        engine: &Engine,
        fork: &ForkOptions,
    ) -> Result<ForkedChild, AofError> {
        self.flush(false)?;
        let seq = self
            .manifest
            .entries
            .iter()
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let dir = self.opts.dir.clone();
        let save = self.opts.save;
        let child = fork_child(ChildKind::AofRewrite, fork, |rep| {
            let target = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
            child_job(engine, &target, &save, rep)
        })?;
        let (name, path, f) = Aof::open_incr(&self.opts, seq)?;
        self.manifest.entries.push(ManifestEntry {
            name,
            seq,
            kind: AofFileType::Incr,
        });
        Aof::write_manifest(&self.opts, &self.manifest)?;
        self.incr = f;
        self.incr_path = path;
        Ok(child)
    }

    /// Completes a rewrite by child `pid`: on success the new base replaces the old base and
    /// every INCR file but the current one; on failure the temp file is removed and nothing
    /// else changes.
    pub fn finish_rewrite(&mut self, pid: i32, success: bool) -> Result<(), AofError> {
        let tmp = self.opts.dir.join(format!("temp-rewriteaof-bg-{pid}.aof"));
        if !success {
            // The child may have died (kill -9) before renaming its snapshot into `tmp`:
            // its `temp-<pid>.evs` goes too, as Redis removes a killed child's temp files.
            let _ = std::fs::remove_file(super::save::temp_path(&tmp, pid));
            let _ = std::fs::remove_file(&tmp);
            return Ok(());
        }
        let current_seq = self
            .manifest
            .entries
            .iter()
            .rev()
            .find(|e| e.kind == AofFileType::Incr)
            .map_or(1, |e| e.seq);
        let base_seq = self
            .manifest
            .entries
            .iter()
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let base_name = format!("{}.{base_seq}.base.rdb", self.opts.basename);
        let base_path = self.opts.dir.join(&base_name);
        std::fs::rename(&tmp, &base_path).map_err(io("renaming to", &base_path))?;
        let old: Vec<ManifestEntry> = self
            .manifest
            .entries
            .iter()
            .filter(|e| !(e.kind == AofFileType::Incr && e.seq == current_seq))
            .cloned()
            .collect();
        let mut entries = vec![ManifestEntry {
            name: base_name,
            seq: base_seq,
            kind: AofFileType::Base,
        }];
        entries.extend(
            self.manifest
                .entries
                .iter()
                .filter(|e| e.kind == AofFileType::Incr && e.seq == current_seq)
                .cloned(),
        );
        self.manifest = Manifest { entries };
        Aof::write_manifest(&self.opts, &self.manifest)?;
        for e in old {
            let _ = std::fs::remove_file(self.opts.dir.join(&e.name));
        }
        self.base_size = std::fs::metadata(&base_path).map_or(0, |m| m.len());
        let incr = std::fs::metadata(&self.incr_path).map_or(0, |m| m.len());
        self.current_size = self.base_size + incr + self.buf.len() as u64;
        Ok(())
    }

    /// Loads the AOF in `opts.dir` into `engine` (which should be fresh: on an error it may
    /// hold part of the data; see [`super::Persistence::load`] for a staging load).
    pub fn load(opts: &AofOptions, engine: &mut Engine) -> Result<AofLoadReport, AofError> {
        let mpath = Aof::manifest_path(opts);
        let text = std::fs::read_to_string(&mpath).map_err(io("reading", &mpath))?;
        let manifest = Manifest::parse(&text, &mpath)?;
        let files = manifest.load_order();
        let mut rep = AofLoadReport::default();
        // Replayed commands must not be propagated again.
        engine.set_propagation(false);
        for (i, e) in files.iter().enumerate() {
            let last = i + 1 == files.len();
            let path = opts.dir.join(&e.name);
            let start = Instant::now();
            if e.kind == AofFileType::Base {
                let data = std::fs::read(&path).map_err(io("reading", &path))?;
                let r = snapshot::load_into(engine, &data).map_err(|mut c| {
                    c.file = Some(path.clone());
                    AofError::Base {
                        file: e.name.clone(),
                        source: Box::new(SnapshotError::Corrupt(c)),
                    }
                })?;
                rep.base_keys = r.keys_loaded;
                rep.log.push(format!(
                    "DB loaded from base file {}: {:.3} seconds",
                    e.name,
                    start.elapsed().as_secs_f64()
                ));
                continue;
            }
            let data = std::fs::read(&path).map_err(io("reading", &path))?;
            let (n, valid_up_to, truncated) = replay(&data, &e.name, engine)?;
            rep.commands += n;
            if truncated {
                if !last {
                    rep.log
                        .push("Fatal error: the truncated file is not the last file".into());
                    return Err(AofError::TruncatedNotLast {
                        file: e.name.clone(),
                    });
                }
                if !opts.load_truncated {
                    return Err(AofError::Truncated {
                        file: e.name.clone(),
                    });
                }
                rep.log.push(format!(
                    "!!! Warning: short read while loading the AOF file {}!!!",
                    e.name
                ));
                rep.log.push(format!(
                    "!!! Truncating the AOF {} at offset {valid_up_to} !!!",
                    e.name
                ));
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(valid_up_to))
                    .map_err(io("truncating", &path))?;
                rep.log.push(format!(
                    "AOF {} loaded anyway because aof-load-truncated is enabled",
                    e.name
                ));
                rep.truncated_at = Some(valid_up_to);
            }
            rep.log.push(format!(
                "DB loaded from incr file {}: {:.3} seconds",
                e.name,
                start.elapsed().as_secs_f64()
            ));
        }
        Ok(rep)
    }
}

/// Replays the RESP commands of one INCR file. Returns (commands, valid_up_to, truncated).
fn replay(data: &[u8], name: &str, engine: &mut Engine) -> Result<(u64, u64, bool), AofError> {
    let mut pos = 0usize;
    let mut n = 0u64;
    let fmt = |offset: usize, detail: &str| AofError::BadFormat {
        file: name.to_string(),
        offset: offset as u64,
        detail: detail.to_string(),
    };
    // Reads a CRLF-terminated line; None at end of data (truncation).
    fn line(data: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
        let start = *pos;
        let rel = data[start..].windows(2).position(|w| w == b"\r\n")?;
        *pos = start + rel + 2;
        Some((start, start + rel))
    }
    while pos < data.len() {
        let cmd_start = pos;
        let Some((a, b)) = line(data, &mut pos) else {
            return Ok((n, cmd_start as u64, true));
        };
        let l = &data[a..b];
        if l.first() == Some(&b'#') {
            continue; // annotation
        }
        if l.first() != Some(&b'*') {
            return Err(fmt(cmd_start, "expected '*' starting a command"));
        }
        let argc: usize = std::str::from_utf8(&l[1..])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&c| c >= 1)
            .ok_or_else(|| fmt(cmd_start, "bad argument count"))?;
        let mut args: Vec<&[u8]> = Vec::with_capacity(argc.min(1024));
        for _ in 0..argc {
            let Some((a, b)) = line(data, &mut pos) else {
                return Ok((n, cmd_start as u64, true));
            };
            let l = &data[a..b];
            if l.first() != Some(&b'$') {
                return Err(fmt(a, "expected '$' starting an argument"));
            }
            let len: usize = std::str::from_utf8(&l[1..])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| fmt(a, "bad argument length"))?;
            if data.len() < pos + len + 2 {
                return Ok((n, cmd_start as u64, true));
            }
            args.push(&data[pos..pos + len]);
            if &data[pos + len..pos + len + 2] != b"\r\n" {
                return Err(fmt(pos + len, "argument not followed by CRLF"));
            }
            pos += len + 2;
        }
        let cmd = Command::parse(&args).map_err(|e| AofError::UnknownCommand {
            command: String::from_utf8_lossy(args[0]).into_owned(),
            file: name.to_string(),
            offset: cmd_start as u64,
            detail: e.message(),
        })?;
        // Replies (including expected errors such as WRONGTYPE) are discarded, as Redis's
        // fake client does.
        let _ = engine.execute(cmd);
        n += 1;
    }
    Ok((n, data.len() as u64, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::snapshot::canonical_dump;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("evictlab-aof-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn engine() -> Engine {
        Engine::new(Config::parse_str("lab-storage materialized").unwrap(), 1).unwrap()
    }

    fn exec(e: &mut Engine, s: &str) {
        let args: Vec<&str> = s.split(' ').collect();
        let r = e.execute(Command::parse(&args).unwrap());
        assert!(!r.is_error(), "{s}: {r:?}");
    }

    fn opts(dir: &Path, fsync: AppendFsync, truncated: bool) -> AofOptions {
        let mut c = Config::parse_str("lab-storage materialized").unwrap();
        c.appendfsync = fsync;
        c.aof_load_truncated = truncated;
        AofOptions::from_config(&c, dir)
    }

    #[test]
    fn resp_encoding_is_redis_protocol() {
        let mut b = Vec::new();
        encode_resp(&Command::parse(&["SET", "k", "v"]).unwrap(), &mut b);
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    }

    #[test]
    fn manifest_round_trips_and_reports_bad_lines() {
        let m = Manifest {
            entries: vec![
                ManifestEntry {
                    name: "appendonly.aof.2.base.rdb".into(),
                    seq: 2,
                    kind: AofFileType::Base,
                },
                ManifestEntry {
                    name: "appendonly.aof.3.incr.aof".into(),
                    seq: 3,
                    kind: AofFileType::Incr,
                },
            ],
        };
        assert_eq!(
            m.to_text(),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
        );
        assert_eq!(Manifest::parse(&m.to_text(), Path::new("m")).unwrap(), m);
        let e = Manifest::parse("file x seq 1 type z\n", Path::new("m")).unwrap_err();
        assert!(
            e.to_string().starts_with("m:1: invalid AOF manifest line"),
            "{e}"
        );
    }

    #[test]
    fn every_write_is_replayed_including_ttls_and_deletes() {
        for fsync in [AppendFsync::Always, AppendFsync::Everysec, AppendFsync::No] {
            let dir = tmp("replay");
            let o = opts(&dir, fsync, true);
            let mut e = engine();
            e.set_propagation(true);
            let mut aof = Aof::open(o.clone()).unwrap();
            let mut cmds = Vec::new();
            for s in [
                "SET a 1",
                "SET b 2 PX 100000",
                "INCR n",
                "HSET h f v",
                "SADD s x y",
                "ZADD z 1 m",
                "RPUSH l p q",
                "LPOP l",
                "DEL a",
                "PEXPIRE h 50000",
            ] {
                exec(&mut e, s);
                e.drain_propagated(&mut cmds);
                aof.feed(&cmds);
                cmds.clear();
                aof.flush(false).unwrap();
            }
            if fsync == AppendFsync::Always {
                assert_eq!(aof.stats.fsyncs, aof.stats.writes);
            }
            if fsync == AppendFsync::No {
                assert_eq!(aof.stats.fsyncs, 0);
            }
            let mut f = engine();
            let rep = Aof::load(&o, &mut f).unwrap();
            assert_eq!(rep.commands, 10);
            assert_eq!(canonical_dump(&f), canonical_dump(&e));
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn truncated_tail_follows_aof_load_truncated() {
        let dir = tmp("trunc");
        let o = opts(&dir, AppendFsync::Always, true);
        let mut e = engine();
        e.set_propagation(true);
        let mut aof = Aof::open(o.clone()).unwrap();
        let mut cmds = Vec::new();
        exec(&mut e, "SET a 1");
        exec(&mut e, "SET b 2");
        e.drain_propagated(&mut cmds);
        aof.feed(&cmds);
        aof.flush(false).unwrap();
        let path = aof.incr_path().to_path_buf();
        let full = std::fs::read(&path).unwrap();
        let cut = full.len() - 3; // inside "SET b 2"
        std::fs::write(&path, &full[..cut]).unwrap();
        let first_len = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n".len() as u64;

        // aof-load-truncated no: Redis's fatal error, nothing truncated.
        let strict = opts(&dir, AppendFsync::Always, false);
        let err = Aof::load(&strict, &mut engine()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "Unexpected end of file reading the append only file {}. You can: 1) Make a backup",
                path.file_name().unwrap().to_string_lossy()
            )),
            "{err}"
        );

        // yes: loads the valid prefix, truncates the file at the last valid command.
        let mut f = engine();
        let rep = Aof::load(&o, &mut f).unwrap();
        assert_eq!(rep.truncated_at, Some(first_len));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), first_len);
        assert_eq!(f.len(), 1);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(rep.log.contains(&format!(
            "!!! Warning: short read while loading the AOF file {name}!!!"
        )));
        assert!(rep.log.contains(&format!(
            "!!! Truncating the AOF {name} at offset {first_len} !!!"
        )));
        assert!(rep.log.contains(&format!(
            "AOF {name} loaded anyway because aof-load-truncated is enabled"
        )));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corruption_in_the_middle_is_fatal() {
        let dir = tmp("corrupt");
        let o = opts(&dir, AppendFsync::No, true);
        let aof = Aof::open(o.clone()).unwrap();
        std::fs::write(aof.incr_path(), b"*1\r\n$4\r\nPING\r\nGARBAGE\r\n").unwrap();
        let err = Aof::load(&o, &mut engine()).unwrap_err();
        assert!(matches!(err, AofError::UnknownCommand { .. }), "{err}");
        std::fs::write(
            aof.incr_path(),
            b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\nGARBAGE\r\n",
        )
        .unwrap();
        let err = Aof::load(&o, &mut engine()).unwrap_err();
        assert!(
            err.to_string().starts_with("Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
