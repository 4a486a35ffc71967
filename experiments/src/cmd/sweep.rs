//! `experiment run SPEC.toml [--shard I/N]` and `experiment merge DIR... --out DIR`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hitrate::{HitRow, run_indexed_cells};
use crate::source::load;
use crate::sweep::{Shard, SweepSpec};
use crate::ui::Ui;
use crate::{RunError, output};

/// Arguments of `experiment run`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct RunArgs {
    /// The sweep specification (TOML; docs/hitrate.md lists every field).
    #[arg(value_name = "SPEC.toml")]
    pub spec: PathBuf,
    /// Run only the I-th of N disjoint slices of the sweep (0-based), e.g. `--shard 0/4`.
    #[arg(long, value_name = "I/N")]
    #[serde(skip)]
    pub shard: Option<Shard>,
    /// Validate the spec and print the number of cells, without running anything.
    #[arg(long)]
    pub dry_run: bool,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Which slice of a sweep a directory holds (`shard.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ShardInfo {
    /// This shard.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// Cells in the whole sweep.
    pub total_cells: usize,
}

/// What `run` did.
#[derive(Debug)]
pub struct RunOutcome {
    /// Output directory (None for a dry run).
    pub dir: Option<PathBuf>,
    /// Cells in the sweep.
    pub total_cells: usize,
    /// Cells run here.
    pub cells_run: usize,
}

/// Validates the spec completely, then runs this shard's cells.
pub fn run(args: &RunArgs, ui: &Ui) -> Result<RunOutcome, RunError> {
    let sweep = SweepSpec::load(&args.spec)?;
    let shard = args.shard.unwrap_or(Shard { index: 0, count: 1 });
    let mine: Vec<(u64, &crate::hitrate::Cell)> = sweep
        .cells
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.owns(*i))
        .map(|(i, c)| (i as u64, c))
        .collect();
    if args.dry_run {
        return Ok(RunOutcome {
            dir: None,
            total_cells: sweep.cells.len(),
            cells_run: 0,
        });
    }
    let dir = super::out_dir(&args.out, &sweep.spec.name)?;
    // Load only the workloads this shard needs (in spec order).
    let spin = ui.spinner("loading workloads");
    let mut workloads = Vec::new();
    for (wi, input) in sweep.workloads.iter().enumerate() {
        let needed: Vec<&&crate::hitrate::Cell> = mine
            .iter()
            .map(|(_, c)| c)
            .filter(|c| c.workload == wi)
            .collect();
        let mut w = if needed.is_empty() {
            crate::workload::Workload::from_packed(Default::default(), Default::default())
        } else {
            load(input)?
        };
        if needed.iter().any(|c| c.policy.needs_next_access) {
            w.ensure_next_access();
        }
        workloads.push(w);
    }
    spin.finish_and_clear();
    let bar = ui.bar(mine.len() as u64, "cells");
    bar.set_message(sweep.spec.name.clone());
    let rows = super::with_threads(args.threads, || {
        run_indexed_cells(&workloads, &mine, &sweep.options, &|| bar.inc(1))
    })??;
    bar.finish_and_clear();
    write_sweep_dir(
        &dir,
        &sweep.spec,
        &ShardInfo {
            index: shard.index,
            count: shard.count,
            total_cells: sweep.cells.len(),
        },
        &rows,
        args.shard.is_none(),
    )?;
    output::write_metadata(
        &dir,
        "run",
        first_seed(&sweep.spec),
        args,
        &super::allocator_name(),
    )?;
    Ok(RunOutcome {
        dir: Some(dir.commit()?),
        total_cells: sweep.cells.len(),
        cells_run: mine.len(),
    })
}

fn first_seed(spec: &SweepSpec) -> u64 {
    spec.seeds.to_vec().first().copied().unwrap_or(1)
}

fn write_sweep_dir(
    dir: &Path,
    spec: &SweepSpec,
    shard: &ShardInfo,
    rows: &[HitRow],
    with_report: bool,
) -> Result<(), RunError> {
    output::write_csv(&dir.join("hitrate.csv"), rows)?;
    let text = toml::to_string(spec).map_err(|e| RunError::Csv {
        path: dir.join("spec.resolved.toml"),
        message: e.to_string(),
    })?;
    std::fs::write(dir.join("spec.resolved.toml"), text).map_err(|e| RunError::Io {
        path: dir.join("spec.resolved.toml"),
        source: e,
    })?;
    output::write_json(&dir.join("shard.json"), shard)?;
    if with_report {
        super::report::render(dir, &format!("evictlab sweep: {}", spec.name))?;
    }
    Ok(())
}

/// Arguments of `experiment merge`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct MergeArgs {
    /// Result directories of the shards of one sweep.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

/// Combines shard directories into one, identical to a single-machine run.
pub fn merge(args: &MergeArgs) -> Result<PathBuf, RunError> {
    let mut spec_text: Option<(PathBuf, String)> = None;
    let mut total: Option<usize> = None;
    let mut cells: BTreeMap<u64, (PathBuf, HitRow)> = BTreeMap::new();
    for d in &args.dirs {
        let st_path = d.join("spec.resolved.toml");
        let st = std::fs::read_to_string(&st_path).map_err(|e| RunError::Io {
            path: st_path.clone(),
            source: e,
        })?;
        match &spec_text {
            None => spec_text = Some((d.clone(), st)),
            Some((first, t)) if *t != st => {
                return Err(RunError::Merge {
                    message: format!(
                        "{} and {} ran different specs (spec.resolved.toml differs)",
                        first.display(),
                        d.display()
                    ),
                });
            }
            _ => {}
        }
        let info: ShardInfo =
            serde_json::from_str(&std::fs::read_to_string(d.join("shard.json")).map_err(|e| {
                RunError::Io {
                    path: d.join("shard.json"),
                    source: e,
                }
            })?)
            .map_err(|e| RunError::Csv {
                path: d.join("shard.json"),
                message: e.to_string(),
            })?;
        if let Some(t) = total
            && t != info.total_cells
        {
            return Err(RunError::Merge {
                message: format!(
                    "{}: sweep of {} cells, others have {t}",
                    d.display(),
                    info.total_cells
                ),
            });
        }
        total = Some(info.total_cells);
        for row in output::read_csv::<HitRow>(&d.join("hitrate.csv"))? {
            if let Some((other, _)) = cells.get(&row.cell) {
                return Err(RunError::Merge {
                    message: format!(
                        "cell {} appears in both {} and {}",
                        row.cell,
                        other.display(),
                        d.display()
                    ),
                });
            }
            cells.insert(row.cell, (d.clone(), row));
        }
    }
    let total = total.unwrap_or(0);
    let missing: Vec<u64> = (0..total as u64)
        .filter(|i| !cells.contains_key(i))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Merge {
            message: format!(
                "{} of {total} cells missing (first: {:?}); merge every shard of the sweep",
                missing.len(),
                &missing[..missing.len().min(10)]
            ),
        });
    }
    let (_, text) = spec_text.ok_or_else(|| RunError::Merge {
        message: "no directories given".into(),
    })?;
    let spec: SweepSpec = toml::from_str(&text).map_err(|e| RunError::Merge {
        message: format!("spec.resolved.toml: {e}"),
    })?;
    let rows: Vec<HitRow> = cells.into_values().map(|(_, r)| r).collect();
    let dir = super::out_dir(&args.out, &format!("{}-merged", spec.name))?;
    write_sweep_dir(
        &dir,
        &spec,
        &ShardInfo {
            index: 0,
            count: 1,
            total_cells: total,
        },
        &rows,
        true,
    )?;
    output::write_metadata(
        &dir,
        "merge",
        first_seed(&spec),
        args,
        &super::allocator_name(),
    )?;
    dir.commit()
}
