//! Result directories: tidy CSVs, `metadata.json`, the run id.
//!
//! Every file except the ones named `timings*` is a pure function of the seed and the spec
//! on a given machine (the system facts in `metadata.json` are the machine's), so two runs
//! of the same command can be compared byte for byte.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::RunError;

/// Writes rows as a CSV file with a header taken from the field names.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), RunError> {
    let io = |e: std::io::Error| RunError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut w = csv::Writer::from_path(path).map_err(|e| RunError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    for r in rows {
        w.serialize(r).map_err(|e| RunError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    w.flush().map_err(io)
}

/// Reads a CSV written by [`write_csv`] back.
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RunError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| RunError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    r.deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| RunError::Csv {
                path: path.to_path_buf(),
                message: format!("row {}: {e}", i + 2),
            })
        })
        .collect()
}

/// Facts about the machine that change what a run measures.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct SystemInfo {
    /// `uname -r`.
    pub kernel: String,
    /// `/sys/kernel/mm/transparent_hugepage/enabled` (the bracketed mode).
    pub thp_enabled: String,
    /// `/sys/kernel/mm/transparent_hugepage/defrag` (the bracketed mode).
    pub thp_defrag: String,
    /// `/proc/sys/vm/overcommit_memory`.
    pub overcommit_memory: String,
    /// CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Total memory from `/proc/meminfo`, bytes.
    pub mem_total_bytes: u64,
}

impl SystemInfo {
    /// Reads the facts (unknown ones are `"unknown"`).
    pub fn read() -> SystemInfo {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .ok()
        };
        let bracket = |s: Option<String>| {
            s.and_then(|s| {
                let a = s.find('[')?;
                let b = s.find(']')?;
                Some(s[a + 1..b].to_string())
            })
            .unwrap_or_else(|| "unknown".into())
        };
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mem_total_bytes = read("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        SystemInfo {
            kernel: read("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
            thp_enabled: bracket(read("/sys/kernel/mm/transparent_hugepage/enabled")),
            thp_defrag: bracket(read("/sys/kernel/mm/transparent_hugepage/defrag")),
            overcommit_memory: read("/proc/sys/vm/overcommit_memory")
                .unwrap_or_else(|| "unknown".into()),
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total_bytes,
        }
    }
}

/// `metadata.json`: what makes a run reproducible.
#[derive(Clone, Debug, Serialize)]
pub struct Metadata<S: Serialize> {
    /// Always `evictlab`.
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// The commit of the checkout the lab was built from (`git rev-parse HEAD` at build time,
    /// with `-dirty` when tracked files differed from it); `null` when built outside a git
    /// checkout. See `experiments/build.rs`.
    pub git_commit: Option<String>,
    /// The experiment (subcommand) that produced the directory.
    pub experiment: String,
    /// The seed.
    pub seed: u64,
    /// The resolved spec or arguments.
    pub spec: S,
    /// The machine.
    pub system: SystemInfo,
    /// The global allocator of the process.
    pub allocator: String,
}

/// The commit of the checkout this binary was built from, if any (recorded by
/// `experiments/build.rs`; `-dirty` when tracked files differed from it).
pub fn git_commit() -> Option<String> {
    Some(env!("EVICTLAB_GIT_COMMIT"))
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// Writes `metadata.json` into `dir`.
pub fn write_metadata<S: Serialize>(
    dir: &Path,
    experiment: &str,
    seed: u64,
    spec: S,
    allocator: &str,
) -> Result<(), RunError> {
    let m = Metadata {
        tool: "evictlab",
        version: env!("CARGO_PKG_VERSION"),
        git_commit: git_commit(),
        experiment: experiment.to_string(),
        seed,
        spec,
        system: SystemInfo::read(),
        allocator: allocator.to_string(),
    };
    write_json(&dir.join("metadata.json"), &m)
}

/// Writes pretty JSON.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RunError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| RunError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| RunError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    std::fs::write(path, text + "\n").map_err(|e| RunError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The path of a fresh run directory `results/<name>-<YYYYMMDD-HHMMSS>` (a suffix is added
/// if it exists); [`crate::outdir::OutArgs::create`] stages and creates it.
pub fn new_run_dir_name(root: &Path, name: &str) -> PathBuf {
    let stamp = utc_stamp();
    let mut dir = root.join(format!("{name}-{stamp}"));
    let mut i = 1;
    while dir.exists() {
        i += 1;
        dir = root.join(format!("{name}-{stamp}-{i}"));
    }
    dir
}

/// `YYYYMMDD-HHMMSS` in UTC, from the system clock (only used for directory names).
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}{mo:02}{d:02}-{h:02}{m:02}{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_looks_like_a_date() {
        let s = utc_stamp();
        assert_eq!(s.len(), 15);
        assert!(s.starts_with("20"));
    }

    #[test]
    fn system_info_reads_this_machine() {
        let s = SystemInfo::read();
        assert!(s.cpus >= 1);
        assert_ne!(s.kernel, "");
    }
}
