//! Fuzzing on stable Rust (issue 12) for the sweep-spec (TOML) parser and validator:
//! arbitrary bytes and mutations of valid specs. No panic, bounded time, every failure an
//! error value. Cases: `EVICTLAB_FUZZ_CASES` (default 10 000).

use evictlab_experiments::sweep::SweepSpec;

#[path = "../../engine/tests/support/fuzz.rs"]
mod fuzzing;
use fuzzing::{fuzz, input};

#[test]
fn fuzz_sweep_spec() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("ids.txt"), b"1\n2\n3\n").unwrap();
    let path = d.path().join("s.toml");
    let seeds: Vec<Vec<u8>> = [
        "name = \"x\"\nseeds = [1, 2]\npolicies = [\"lru\", \"allkeys-lfu\"]\nsamples = [1, 5]\nsizes = [0.1, 0.5]\nrate = 1000\nconfig = [\"hz 20\"]\n[[workloads]]\nspec = \"zipf:0.9\"\nkeys = 100\nrequests = 1000\n[[workloads]]\ntrace = \"ids.txt\"\nlimit = 2\n",
        "name = \"y\"\nsizes = 100\nsize_unit = \"keys\"\nenforcement = \"redis\"\nfill_on_miss = false\n[[workloads]]\ntrace = \"ids.txt\"\nformat = \"libcachesim-csv:obj-id-col=1\"\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("sweep-spec", input(seeds), |bytes| {
        std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
        if let Err(e) = SweepSpec::load(&path) {
            let _ = e.to_string();
        }
        Ok(())
    });
}
