//! `experiment`: the evictlab command line. Parses arguments and dispatches to the
//! experiments of `evictlab_experiments::experiment::EXPERIMENTS` (one subcommand each) and
//! the other commands of `evictlab_experiments::cmd`; all behaviour lives in the library
//! crates.

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use evictlab_experiments::cmd;
use evictlab_experiments::experiment::{self, EXPERIMENTS};
use evictlab_experiments::ui::Ui;

/// Counts live heap bytes (the engine's `used_memory` in allocator memory mode) and serves
/// the heap from glibc, jemalloc or mimalloc as `EVICTLAB_ALLOCATOR` says (read once).
#[global_allocator]
static GLOBAL: evictlab_experiments::alloc::LabAllocator =
    evictlab_experiments::alloc::LabAllocator;

/// A laboratory for what a Redis-style in-memory store does at its memory limit.
///
/// With no subcommand, runs the quick default suite and writes results/suite-<timestamp>/.
#[derive(Parser, Debug)]
#[command(name = "experiment", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    suite: cmd::suite::SuiteArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a declarative sweep (TOML), optionally one shard of it.
    Run(cmd::sweep::RunArgs),
    /// Merge the result directories of a sharded sweep into one.
    Merge(cmd::sweep::MergeArgs),
    /// Write a generated workload as the lab's CSV or libCacheSim's oracleGeneral.
    Export(cmd::export::ExportArgs),
    /// List registered policies, workload generators, trace formats or config parameters.
    List {
        /// What to list.
        #[arg(value_enum)]
        what: cmd::list::ListWhat,
    },
    /// Re-render the plots and report.md of a results directory from its CSVs.
    Report(cmd::report::ReportArgs),
    /// The default suite (same as running with no subcommand).
    Suite(cmd::suite::SuiteArgs),
    /// Compare a results directory with a baseline; exits 1 on a regression.
    Regress(cmd::regress::RegressArgs),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut command = Cli::command();
    for e in EXPERIMENTS {
        command = command.subcommand(e.args());
    }
    let matches = command.get_matches();
    let ui = Ui::terminal();
    if let Some((name, args)) = matches.subcommand()
        && let Some(e) = experiment::find(name)
    {
        let ran = e.run(args, &ui).context(e.name())?;
        for w in &ran.warnings {
            eprintln!("{w}");
        }
        for l in &ran.lines {
            println!("{l}");
        }
        return Ok(());
    }
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        None => suite(&cli.suite, &ui),
        Some(Command::Suite(args)) => suite(&args, &ui),
        Some(Command::Run(args)) => {
            let out = cmd::sweep::run(&args, &ui)
                .with_context(|| format!("sweep {}", args.spec.display()))?;
            match out.dir {
                None => println!("{}: valid, {} cells", args.spec.display(), out.total_cells),
                Some(dir) => println!(
                    "ran {} of {} cells; wrote {}",
                    out.cells_run,
                    out.total_cells,
                    dir.display()
                ),
            }
            Ok(())
        }
        Some(Command::Merge(args)) => {
            let dir = cmd::sweep::merge(&args).context("merge")?;
            println!(
                "merged {} directories into {}",
                args.dirs.len(),
                dir.display()
            );
            Ok(())
        }
        Some(Command::Export(args)) => {
            let n = cmd::export::run(&args)
                .with_context(|| format!("export to {}", args.out.display()))?;
            println!("wrote {n} requests to {}", args.out.display());
            Ok(())
        }
        Some(Command::List { what }) => {
            print!("{}", cmd::list::render(what));
            Ok(())
        }
        Some(Command::Regress(args)) => {
            let out = cmd::regress::run(&args).context("regress")?;
            print!("{}", out.table());
            match out.regressions() {
                0 => {
                    println!("no regression");
                    Ok(())
                }
                n => anyhow::bail!("{n} regression(s) against {}", args.baseline.display()),
            }
        }
        Some(Command::Report(args)) => {
            let path = cmd::report::run(&args)
                .with_context(|| format!("report {}", args.dir.display()))?;
            println!("wrote {}", path.display());
            Ok(())
        }
    }
}

fn suite(args: &cmd::suite::SuiteArgs, ui: &Ui) -> Result<()> {
    let started = std::time::Instant::now();
    let out = cmd::suite::run(args, ui).context("default suite")?;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    println!(
        "suite finished in {:.1} s; wrote {}",
        started.elapsed().as_secs_f64(),
        out.dir.join("report.md").display()
    );
    Ok(())
}
