//! The subcommands of the `experiment` binary that are not experiments (the experiments'
//! own command glue lives in their folders, see [`crate::experiment`]), and the helpers
//! every command shares. Each owns its clap arguments and a `run` function that returns
//! what it wrote. The binary only parses and dispatches.

pub mod export;
pub mod list;
pub mod regress;
pub mod report;
pub mod suite;
pub mod sweep;

use evictlab_engine::policy::registry::{self, PolicyInfo};

use crate::RunError;
use crate::outdir::{OutArgs, OutDir};

/// Parses `all` or a comma-separated list of policy names.
pub fn parse_policies(text: &str) -> Result<Vec<&'static PolicyInfo>, RunError> {
    if text.trim() == "all" {
        return Ok(evictlab_engine::Server::Redis.policies().collect());
    }
    let policies: Vec<&'static PolicyInfo> = text
        .split(',')
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            registry::find(n).ok_or_else(|| RunError::UnknownPolicy {
                name: n.to_string(),
                known: registry::names().collect::<Vec<_>>().join(", "),
            })
        })
        .collect::<Result<_, _>>()?;
    if policies.is_empty() {
        // An empty grid would write an empty CSV and exit 0 (issue 12).
        return Err(RunError::BadArgument {
            flag: "--policies",
            value: text.to_string(),
            expected: "`all` or a comma-separated list of at least one policy (see `experiment list policies`)",
        });
    }
    Ok(policies)
}

/// The results directory of a run: `--out DIR` if given, else a fresh
/// `results/<name>-<timestamp>`; staged beside its destination until [`OutDir::commit`].
pub fn out_dir(out: &OutArgs, name: &str) -> Result<OutDir, RunError> {
    out.create(name)
}

/// Runs `f` on a rayon pool of `threads` threads (all cores when `None`).
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, RunError> {
    match threads {
        None => Ok(f()),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| RunError::Report {
                message: format!("cannot start {n} worker threads: {e}"),
            })
            .map(|pool| pool.install(f)),
    }
}

/// The allocator name and version recorded in `metadata.json`: the allocator serving this
/// process (see [`crate::alloc`]), e.g. `jemalloc-5.3.1` or `glibc-2.36`.
pub fn allocator_name() -> String {
    crate::alloc::Allocator::current().version()
}
