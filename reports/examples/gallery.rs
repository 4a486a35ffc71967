//! Renders one chart of each kind, plus a report embedding them, into a directory
//! (default `/tmp/evictlab-gallery`), to look at the output:
//! `cargo run -p evictlab-reports --example gallery -- /tmp/gallery`.

use std::path::PathBuf;

use evictlab_reports::{
    Align, Axis, AxisFormat, BarChart, BarGroup, Chart, LineChart, ModelFit, Report,
    ScatterWithModel, Series, Table, format, style,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/evictlab-gallery".into()),
    );

    // Miss ratio vs cache size: 20 policies + OPT, log x.
    let policies = [
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "lru",
        "fifo",
        "clock",
        "sieve",
        "s3fifo",
        "arc",
        "2q",
        "lfu",
        "w-tinylfu",
        "lirs",
        "belady-bypass",
    ];
    let sizes = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
    let mut mr = LineChart::new(
        "Miss ratio vs cache size",
        Axis::new("cache size (fraction of working set)").log(),
        Axis::percent("miss ratio"),
    )
    .with_subtitle("workload zipf:0.99, 1,000,000 keys, 10,000,000 requests, seed 42");
    for (i, p) in policies.iter().enumerate() {
        let pts = sizes
            .iter()
            .map(|&s: &f64| {
                let base = 0.92 - 0.21 * (s.log10() + 3.0);
                (s, (base + 0.012 * i as f64 - 0.1).clamp(0.02, 1.0))
            })
            .collect();
        mr = mr.with_series(Series::line_markers(*p, pts));
    }
    mr = mr.with_series(
        Series::dashed(
            "belady (OPT)",
            sizes
                .iter()
                .map(|&s| (s, (0.70 - 0.21 * (s.log10() + 3.0)).max(0.01)))
                .collect(),
        )
        .with_color(style::INK),
    );
    let mr = mr.render(&dir, "miss_ratio_vs_size")?;

    // RSS vs used over time with phases.
    let mib = 1024.0 * 1024.0;
    let t: Vec<f64> = (0..=300).map(|k| k as f64 * 0.1).collect();
    let used: Vec<(f64, f64)> = t
        .iter()
        .map(|&t| {
            let v = if t < 8.0 {
                t / 8.0 * 5000.0
            } else if t < 10.0 {
                5000.0 - (t - 8.0) / 2.0 * 2000.0
            } else if t < 18.0 {
                3000.0 + (t - 10.0) / 8.0 * 1500.0
            } else {
                4500.0
            };
            (t, v * mib)
        })
        .collect();
    let rss: Vec<(f64, f64)> = used
        .iter()
        .scan(0.0f64, |m, &(t, u)| {
            *m = m.max(u * 1.04);
            Some((t, *m))
        })
        .collect();
    let frag = LineChart::new(
        "RSS vs used memory (jemalloc)",
        Axis::new("time (s)"),
        Axis::bytes("memory"),
    )
    .with_series(Series::line("used_memory", used))
    .with_series(Series::line("used_memory_rss", rss))
    .with_vline(0.0, "fill")
    .with_vline(8.0, "delete 40%")
    .with_vline(10.0, "refill")
    .with_vline(18.0, "eviction churn")
    .with_vline(26.0, "idle")
    .with_hline(4800.0 * mib, "maxmemory 4.7 GiB");
    let frag = frag.render(&dir, "rss_vs_used")?;

    // Hit ratio by policy at each size: grouped bars with error bars.
    let cats: Vec<String> = ["1%", "5%", "10%", "25%"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut bars = BarChart::new(
        "Hit ratio by policy",
        "cache size",
        cats,
        Axis::percent("hit ratio"),
    )
    .with_subtitle("mean of 5 seeds, error bars ± 1 standard deviation");
    for (i, p) in [
        "allkeys-lru",
        "lru",
        "sieve",
        "s3fifo",
        "w-tinylfu",
        "belady",
    ]
    .iter()
    .enumerate()
    {
        let vals = (0..4)
            .map(|k| 0.40 + 0.12 * k as f64 + 0.02 * i as f64)
            .collect();
        bars =
            bars.with_group(BarGroup::new(*p, vals).with_errors(vec![0.006, 0.004, 0.008, 0.005]));
    }
    let bars = bars.render(&dir, "hit_ratio_by_policy")?;

    // Fragmentation ratio by phase: narrow bars (vertical value labels), long categories.
    let phases: Vec<String> = [
        "fill",
        "delete 40%",
        "refill other sizes",
        "eviction churn",
        "idle after purge",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut fr = BarChart::new(
        "mem_fragmentation_ratio by phase",
        "phase",
        phases,
        Axis::new("rss / used"),
    );
    for (i, a) in ["glibc", "jemalloc", "mimalloc"].iter().enumerate() {
        fr = fr.with_group(BarGroup::new(
            *a,
            (0..5).map(|k| 1.02 + 0.3 * ((k + i) % 3) as f64).collect(),
        ));
    }
    let fr = fr.with_size(640, 480).render(&dir, "frag_by_phase")?;

    // COW vs writes with the model.
    let pages = 262_144.0f64; // 1 GiB of 4 KiB pages
    let model = |w: f64| pages * (1.0 - (-w / pages).exp()) * 4096.0;
    let rates = [1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6];
    let cow = ScatterWithModel::new(
        "Copy-on-write during BGSAVE",
        Axis::new("writes during save").log().format(AxisFormat::Si),
        Axis::bytes("peak COW").log(),
    )
    .with_fit(ModelFit::new(
        "uniform",
        rates.iter().map(|&w| (w, model(w) * 1.02)).collect(),
        (0..=60)
            .map(|k| 10f64.powf(3.0 + k as f64 / 20.0))
            .map(|w| (w, model(w)))
            .collect(),
    ))
    .with_fit(ModelFit::new(
        "zipf:0.99",
        rates.iter().map(|&w| (w, model(w) * 0.35)).collect(),
        (0..=60)
            .map(|k| 10f64.powf(3.0 + k as f64 / 20.0))
            .map(|w| (w, model(w) * 0.33))
            .collect(),
    ))
    .render(&dir, "cow_vs_writes")?;

    // Small image, 24 long series names: the legend moves under the plot.
    let mut small = LineChart::new(
        "Hit ratio over time (24 policy/sample combinations)",
        Axis::new("requests").format(AxisFormat::Si),
        Axis::percent("hit ratio"),
    )
    .with_size(640, 400);
    for i in 0..24 {
        let pts = (0..200)
            .map(|k| {
                (
                    k as f64 * 5e4,
                    0.5 + 0.3 * (1.0 - (-(k as f64) / 40.0).exp()) + 0.005 * i as f64,
                )
            })
            .collect();
        small = small.with_series(Series::line(format!("allkeys-lru samples={}", 1 + i), pts));
    }
    let small = small.render(&dir, "small_many_series")?;
    if !small.notes.is_empty() {
        println!("notes: {:?}", small.notes);
    }

    let mut t = Table::new([
        ("policy", Align::Left),
        ("hit ratio", Align::Right),
        ("vs OPT", Align::Right),
        ("memory", Align::Right),
    ]);
    t.push_row([
        "sieve",
        &format::percent_plus_minus(0.8312, 0.004, 1),
        &format::points(0.8312 - 0.871, 1),
        &format::bytes(3.2e9),
    ])?;
    t.push_row([
        "allkeys-lru",
        &format::percent_plus_minus(0.8011, 0.005, 1),
        &format::points(0.8011 - 0.871, 1),
        &format::bytes(3.2e9),
    ])?;
    let mut r = Report::new("evictlab gallery");
    r.paragraph("Every chart kind, as the experiments draw them.")
        .heading(2, "Hit rates")
        .table(&t)
        .chart(&mr, "")
        .chart(&bars, "")
        .heading(2, "Memory")
        .chart(&frag, "")
        .chart(&fr, "")
        .heading(2, "Snapshots")
        .chart(&cow, "");
    let path = r.write(&dir)?;
    println!("wrote {}", path.display());
    Ok(())
}
