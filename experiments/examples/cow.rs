//! Runs `experiment cow` stand-alone: `cargo run --release -p evictlab-experiments --example
//! cow -- --dataset 256mb --write-rates 0,10000 --out /tmp/cow`. (The lab's `experiment`
//! binary exposes the same flags as `experiment cow`.)

use clap::Parser;
use evictlab_experiments::cow::{CowArgs, run_with_progress};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: CowArgs,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let s = run_with_progress(&cli.args, &mut |p| {
        let r = p.row;
        eprintln!(
            "[{}/{}] {:<28} fork {:>7} us  save {:>7.1} ms  writes {:>7}  dirtied {:>7} pages  cow final {:>6} KiB  predicted {:>6} KiB  extra peak {:>6} KiB  {}",
            p.done,
            p.total,
            p.label,
            r.fork_usec,
            r.save_ms,
            r.writes_during_save,
            r.dirtied_pages,
            r.cow_final_bytes >> 10,
            r.predicted_cow_bytes >> 10,
            r.extra_memory_peak_bytes >> 10,
            r.status
        );
    })?;
    for l in &s.log {
        println!("{l}");
    }
    println!(
        "fork ms/GiB: THP off {:?}, THP on {:?}; wrote {}",
        s.fork_ms_per_gb_thp_off,
        s.fork_ms_per_gb_thp_on,
        s.csv.display()
    );
    Ok(())
}
