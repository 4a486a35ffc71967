//! Turning `--trace` / `--workload` arguments into a loaded [`Workload`].

use std::path::PathBuf;

use evictlab_workloads::{
    Request, RequestSource, SourceInfo, TraceOptions, WorkloadError, WorkloadSpec,
};

use crate::RunError;
use crate::sweep::WorkloadInput;
use crate::workload::{WorkingSetCounter, Workload};

/// The default generator when neither `--trace` nor `--workload` is given.
pub const DEFAULT_WORKLOAD: &str = "zipf:0.99";

/// Where the requests come from: a trace file or a generator.
#[derive(clap::Args, Clone, Debug, serde::Serialize)]
pub struct WorkloadArgs {
    /// Trace file to replay (any format of `experiment list formats`).
    #[arg(long, value_name = "FILE", conflicts_with = "workload")]
    pub trace: Option<PathBuf>,
    /// Trace format; detected from the file name when omitted.
    #[arg(long, value_name = "F", requires = "trace")]
    pub trace_format: Option<String>,
    /// Replay only the first N requests of the trace.
    #[arg(long, value_name = "N", requires = "trace")]
    pub limit: Option<u64>,
    /// Generator SPEC, e.g. `zipf:0.99`, `hotspot:0.2:0.8,read=0.5`, `uniform,ttl=0.3:fixed:60000`
    /// (see `experiment list workloads`). Default: zipf:0.99.
    #[arg(long, value_name = "SPEC")]
    pub workload: Option<String>,
    /// Distinct keys of the generator.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub keys: u64,
    /// Requests of the generator.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub requests: u64,
}

impl WorkloadArgs {
    /// Validates the arguments into a workload input.
    pub fn to_input(&self, seed: u64) -> Result<WorkloadInput, RunError> {
        for (flag, v) in [("--limit", self.limit), ("--requests", Some(self.requests))] {
            if v == Some(0) {
                return Err(RunError::BadArgument {
                    flag,
                    value: "0".into(),
                    expected: "a positive number of requests",
                });
            }
        }
        match &self.trace {
            Some(path) => {
                // A format name, or `libcachesim-csv:` with a column spec.
                let opts = match &self.trace_format {
                    Some(f) => TraceOptions::parse(f).map_err(|e| RunError::Workload {
                        name: path.display().to_string(),
                        source: e,
                    })?,
                    None => TraceOptions::default(),
                };
                let format = match opts.format {
                    Some(f) => f,
                    None => evictlab_workloads::detect(path).map_err(|e| RunError::Workload {
                        name: path.display().to_string(),
                        source: e,
                    })?,
                };
                Ok(WorkloadInput::Trace {
                    path: path.clone(),
                    format,
                    columns: opts.columns,
                    limit: self.limit,
                })
            }
            None => {
                let text = self.workload.as_deref().unwrap_or(DEFAULT_WORKLOAD);
                let spec: WorkloadSpec = text.parse().map_err(|e| RunError::Workload {
                    name: text.to_string(),
                    source: e,
                })?;
                Ok(WorkloadInput::Synthetic {
                    spec,
                    keys: self.keys,
                    requests: self.requests,
                    seed,
                })
            }
        }
    }
}

/// Opens a workload input as a stream of requests (a trace's `limit` applied), named as
/// [`load`] names it.
pub fn open(input: &WorkloadInput) -> Result<Box<dyn RequestSource>, RunError> {
    match input {
        WorkloadInput::Synthetic {
            spec,
            keys,
            requests,
            seed,
        } => {
            let name = spec.to_string();
            let src = spec
                .build(*keys, *requests, *seed)
                .map_err(|e| RunError::Workload {
                    name: name.clone(),
                    source: e,
                })?;
            let info = src.info().clone();
            Ok(Box::new(Renamed::new(info, name, src)))
        }
        WorkloadInput::Trace {
            path,
            format,
            columns,
            limit,
        } => {
            let src = open_trace(path, *format, columns)?;
            Ok(match limit {
                None => src,
                Some(l) => {
                    let name = format!("{}[..{l}]", src.info().name);
                    let mut info = src.info().clone();
                    info.len_hint = Some(info.len_hint.map_or(*l, |n| n.min(*l)));
                    Box::new(Limited {
                        inner: Renamed::new(info, name, src),
                        left: *l,
                    })
                }
            })
        }
    }
}

/// Requests per batch of a streamed pass (replay, working-set scan, model passes): 4096
/// requests (160 KB) stay in the L2 cache between the reader writing them and the pass
/// reading them; 65 536 (2.6 MB) did not, and cost ~2 % of a w106 process.
const STREAM_BATCH: usize = 1 << 12;

/// Reads `src` to the end in batches of [`STREAM_BATCH`] requests, handing
/// each batch to `f` (the one read loop of every streamed pass: the measuring scan, a
/// streamed replay, the model passes). `name` names the workload in errors.
pub fn for_each_batch(
    src: &mut dyn RequestSource,
    name: &str,
    mut f: impl FnMut(&[evictlab_workloads::Request]),
) -> Result<(), RunError> {
    let mut batch = Vec::with_capacity(STREAM_BATCH);
    loop {
        batch.clear();
        let got = src
            .fill(&mut batch, STREAM_BATCH)
            .map_err(|e| RunError::Workload {
                name: name.to_string(),
                source: e,
            })?;
        if got == 0 {
            return Ok(());
        }
        f(&batch);
    }
}

/// Reads a workload input once to measure it (working set, length) without keeping its
/// requests: a streamed [`Workload`] whose cells read the input again.
pub fn scan(input: &WorkloadInput) -> Result<Workload, RunError> {
    let mut src = open(input)?;
    let mut info = src.info().clone();
    let mut counter = WorkingSetCounter::default();
    let mut n = 0u64;
    for_each_batch(&mut *src, &info.name, |batch| {
        n += batch.len() as u64;
        counter.add(batch);
    })?;
    if n == 0 {
        return Err(crate::workload::no_requests(&info.name));
    }
    info.len_hint = Some(n);
    Ok(Workload {
        info,
        requests: Default::default(),
        working_set: counter.ws,
        stream: Some(input.clone()),
    })
}

/// A source with another name.
struct Renamed {
    info: SourceInfo,
    inner: Box<dyn RequestSource>,
}

impl Renamed {
    fn new(mut info: SourceInfo, name: String, inner: Box<dyn RequestSource>) -> Renamed {
        info.name = name;
        Renamed { info, inner }
    }
}

impl RequestSource for Renamed {
    fn info(&self) -> &SourceInfo {
        &self.info
    }
    fn fill(&mut self, buf: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError> {
        self.inner.fill(buf, max)
    }
}

/// The first `left` requests of a source.
struct Limited {
    inner: Renamed,
    left: u64,
}

impl RequestSource for Limited {
    fn info(&self) -> &SourceInfo {
        &self.inner.info
    }
    fn fill(&mut self, buf: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError> {
        let max = (max as u64).min(self.left) as usize;
        if max == 0 {
            return Ok(0);
        }
        let got = self.inner.fill(buf, max)?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// Loads a workload input into memory.
pub fn load(input: &WorkloadInput) -> Result<Workload, RunError> {
    match input {
        WorkloadInput::Synthetic {
            spec,
            keys,
            requests,
            seed,
        } => {
            let name = spec.to_string();
            let src = spec
                .build(*keys, *requests, *seed)
                .map_err(|e| RunError::Workload {
                    name: name.clone(),
                    source: e,
                })?;
            let mut w = Workload::load(src)?;
            w.info.name = name;
            Ok(w)
        }
        WorkloadInput::Trace {
            path,
            format,
            columns,
            limit,
        } => {
            let src = open_trace(path, *format, columns)?;
            Workload::load_limited(src, *limit)
        }
    }
}

/// Opens a trace input with its format and column spec; errors name the file.
fn open_trace(
    path: &std::path::Path,
    format: evictlab_workloads::TraceFormat,
    columns: &Option<evictlab_workloads::CsvColumns>,
) -> Result<Box<dyn RequestSource>, RunError> {
    let opts = TraceOptions {
        format: Some(format),
        columns: columns.clone(),
    };
    evictlab_workloads::open_trace_with(path, &opts).map_err(|e| RunError::Workload {
        name: path.display().to_string(),
        source: e,
    })
}
