//! `experiment server --url redis://HOST:PORT`: the hit-rate workload replayed against a real
//! Redis-protocol server (see [`crate::server`]), `server.csv` + `server_timeseries.csv`,
//! and with `--bgsave` a BGSAVE under writes measured from INFO into `cow.csv`.

use std::path::{Path, PathBuf};

use evictlab_reports::Report;
use serde::Serialize;

use crate::experiment::{self, CsvFile, Experiment, Ran, SuiteRun};
use crate::grid::{Grid, GridArgs};
use crate::hitrate::Cell;
use crate::server::{self, BgsaveOptions, Server, ServerOptions, ServerPoint, ServerRow};
use crate::source::{WorkloadArgs, load};
use crate::ui::Ui;
use crate::workload::Workload;
use crate::{RunError, output};

/// The connection flags shared by `server` and `compare`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct ServerConnArgs {
    /// Server URL, e.g. `redis://127.0.0.1:6399` (its data is FLUSHALLed and its
    /// maxmemory settings changed: never point this at a server holding data you need).
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Requests per second sent to the server (0 = as fast as it answers). Redis's LRU
    /// clock ticks once a second, so the speed changes which keys tie under LRU.
    #[arg(long, value_name = "OPS", default_value_t = 0.0)]
    pub rate: f64,
    /// Requests per pipeline (one round trip). Cache-aside stays exact at any depth: the
    /// GET and its fill run in one server-side script.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub pipeline: usize,
    /// Period of the INFO samples (server_timeseries.csv), ms of wall time.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub info_every_ms: u64,
    /// Also run a BGSAVE under writes and write its COW (from INFO) to cow.csv.
    #[arg(long)]
    pub bgsave: bool,
    /// BGSAVE: keys in the dataset.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub bgsave_keys: u64,
    /// BGSAVE: bytes per value.
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub bgsave_value_size: u32,
    /// BGSAVE: write rates during the save (writes/s, 0 = unpaced), one row each.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1000,10000,0"
    )]
    pub bgsave_rates: Vec<u64>,
    /// BGSAVE: Redis `rdb-key-save-delay` (µs per key saved) so the child runs long enough
    /// to be written under; 0 = full speed.
    #[arg(long, value_name = "US", default_value_t = 10)]
    pub bgsave_key_delay_us: u64,
}

/// Arguments of `experiment server`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct ServerArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub workload: WorkloadArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ServerConnArgs,
    #[command(flatten)]
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub grid: GridArgs,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--out DIR` and `--overwrite`.
    #[command(flatten)]
    #[serde(flatten)]
    pub out: crate::outdir::OutArgs,
}

/// The default `--policies` of `server` and `compare`.
pub const DEFAULT_POLICIES: &str = "allkeys-lru,allkeys-lfu,allkeys-random";

/// The grid flags with the server's `--policies` default and help.
pub fn redis_grid_args(cmd: clap::Command) -> clap::Command {
    cmd.mut_arg("policies", |a| {
        a.default_value(DEFAULT_POLICIES)
            .help("Redis policies: `all` (Redis's eight) or a comma-separated list")
    })
}

/// The checked grid of a real server: Redis's policies only, `all` = Redis's eight.
pub fn redis_grid(args: &GridArgs) -> Result<Grid, RunError> {
    Ok(args.resolve()?.redis_only(args)?)
}

impl ServerConnArgs {
    /// Checks the pacing rate.
    pub fn check(&self) -> Result<(), RunError> {
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err(RunError::BadArgument {
                flag: "--rate",
                value: self.rate.to_string(),
                expected: "requests per second >= 0 (0 = unpaced)",
            });
        }
        Ok(())
    }
}

/// What `server` (and `compare`) measured.
#[derive(Debug)]
pub struct ServerOutcome {
    /// One row per cell.
    pub rows: Vec<ServerRow>,
    /// INFO samples.
    pub points: Vec<ServerPoint>,
    /// BGSAVE rows (with `--bgsave`).
    pub cow: Vec<crate::cow::CowRow>,
}

/// Replays every cell on the server (and the BGSAVE rows when asked).
pub fn measure(
    conn: &ServerConnArgs,
    w: &Workload,
    cells: &[Cell],
    fill_on_miss: bool,
    seed: u64,
    ui: &Ui,
) -> Result<ServerOutcome, RunError> {
    let mut s = Server::connect(&conn.url)?;
    let tracking = s.pause_latency_tracking()?;
    let opts = ServerOptions {
        rate: conn.rate,
        pipeline: conn.pipeline,
        fill_on_miss,
        info_every_ms: conn.info_every_ms,
        seed,
    };
    let bar = ui.bar(cells.len() as u64, "server cells");
    bar.set_message(format!("server {}", w.info.name));
    let mut points = Vec::new();
    let mut rows = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        rows.push(server::run_cell(&mut s, w, c, i as u64, &opts, &mut |p| {
            points.push(p)
        })?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut cow = Vec::new();
    if conn.bgsave {
        let spin = ui.spinner("BGSAVE under writes");
        for &rate in &conn.bgsave_rates {
            cow.push(server::bgsave(
                &mut s,
                w,
                &BgsaveOptions {
                    keys: conn.bgsave_keys,
                    value_size: conn.bgsave_value_size,
                    write_rate: rate,
                    key_save_delay_us: conn.bgsave_key_delay_us,
                    pipeline: conn.pipeline,
                    seed,
                    timeout_s: 600,
                },
            )?);
        }
        spin.finish_and_clear();
    }
    s.reset()?;
    s.restore_latency_tracking(tracking)?;
    Ok(ServerOutcome { rows, points, cow })
}

/// Runs `experiment server`; returns the directory and what was measured.
pub fn run(args: &ServerArgs, ui: &Ui) -> Result<(PathBuf, ServerOutcome), RunError> {
    let grid = redis_grid(&args.grid)?;
    args.conn.check()?;
    let dir = crate::cmd::out_dir(&args.out, "server")?;
    let input = args.workload.to_input(args.seed)?;
    let spin = ui.spinner("loading workload");
    let w = load(&input)?;
    spin.finish_and_clear();
    let cells = grid.cells(1, &[args.seed]);
    let out = measure(&args.conn, &w, &cells, grid.fill_on_miss, args.seed, ui)?;
    write(&dir, &out)?;
    output::write_metadata(
        &dir,
        "server",
        args.seed,
        args,
        &crate::cmd::allocator_name(),
    )?;
    crate::cmd::report::render(&dir, "evictlab: real server")?;
    Ok((dir.commit()?, out))
}

/// Writes `server.csv`, `server_timeseries.csv` and (if any) `cow.csv`.
pub fn write(dir: &std::path::Path, out: &ServerOutcome) -> Result<(), RunError> {
    output::write_csv(&dir.join("server.csv"), &out.rows)?;
    output::write_csv(&dir.join("server_timeseries.csv"), &out.points)?;
    if !out.cow.is_empty() {
        output::write_csv(&dir.join("cow.csv"), &out.cow)?;
    }
    Ok(())
}

/// `experiment server` in the list of experiments.
#[derive(Debug)]
pub struct ServerExperiment;

/// `server.csv` and `server_timeseries.csv`.
pub const FILES: &[CsvFile] = &[
    CsvFile::measured("server.csv"),
    CsvFile::measured("server_timeseries.csv"),
];

impl Experiment for ServerExperiment {
    fn name(&self) -> &'static str {
        "server"
    }

    fn about(&self) -> &'static str {
        "Replay the workload against a real Redis-protocol server (server.csv; --bgsave: cow.csv)."
    }

    fn args(&self) -> clap::Command {
        redis_grid_args(experiment::args::<ServerArgs>(self.name(), self.about()))
    }

    fn run(&self, m: &clap::ArgMatches, ui: &Ui) -> Result<Ran, RunError> {
        let (dir, out) = run(&experiment::parse(m)?, ui)?;
        Ok(Ran::wrote(
            format!("{} cells, {} BGSAVE rows", out.rows.len(), out.cow.len()),
            &dir,
            "server.csv",
        ))
    }

    /// A real server's hit ratios depend on its wall-clock LRU clock and sampling: measured.
    fn files(&self) -> &'static [CsvFile] {
        FILES
    }

    fn report(&self, report: &mut Report, dir: &Path) -> Result<bool, RunError> {
        let Some(rows) = experiment::read_if_present::<ServerRow>(dir, "server.csv")? else {
            return Ok(false);
        };
        let bgsave: Vec<crate::cow::CowRow> =
            experiment::read_if_present::<crate::cow::CowRow>(dir, "cow.csv")?
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.snapshot == "redis-bgsave")
                .collect();
        server::report::add_section(report, &rows, &bgsave)?;
        Ok(true)
    }

    /// Not in the suite: it needs a server the user points it at.
    fn suite(&self, _suite: &mut SuiteRun) -> Result<(), RunError> {
        Ok(())
    }
}
