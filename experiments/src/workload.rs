//! A workload loaded for replay: every request in memory (read once, shared by every cell
//! of a sweep, as Caffeine's simulator broadcasts one trace to all policies), its working
//! set, and next-access indices when a policy needs them — or, streamed, only its working
//! set and where to read it again ([`Workload::stream`]: each cell re-reads the source in
//! batches, so memory does not grow with the trace's length).

use std::sync::Arc;

use evictlab_workloads::{Request, RequestSource, SourceInfo};
use hashbrown::HashMap;

/// Hash map with a fixed-seed fast hasher (deterministic, no per-process randomness).
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

fn map_with_capacity<K, V>(n: usize) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(n, foldhash::fast::FixedState::default())
}

use crate::RunError;
use crate::sweep::WorkloadInput;

/// The working set as libCacheSim defines it: distinct objects and the sum of their
/// first-seen sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WorkingSet {
    /// Distinct object ids.
    pub objects: u64,
    /// Σ first-seen size over distinct objects.
    pub bytes: u64,
}

/// A workload in memory.
#[derive(Clone, Debug)]
pub struct Workload {
    /// What the source said about itself (`has_next_access` is true once annotated).
    pub info: SourceInfo,
    /// Every request, in order.
    pub requests: Arc<Vec<Request>>,
    /// Distinct objects and bytes.
    pub working_set: WorkingSet,
    /// A streamed workload: `requests` is empty and runners that support it read this
    /// input again for each cell ([`crate::source::open`]).
    pub stream: Option<WorkloadInput>,
}

impl Workload {
    /// Reads a source to the end (in batches) and measures its working set.
    pub fn load(source: Box<dyn RequestSource>) -> Result<Workload, RunError> {
        Workload::load_limited(source, None)
    }

    /// Reads at most `limit` requests of a source.
    pub fn load_limited(
        mut source: Box<dyn RequestSource>,
        limit: Option<u64>,
    ) -> Result<Workload, RunError> {
        let mut info = source.info().clone();
        let requests = evictlab_workloads::collect(source.as_mut(), limit).map_err(|e| {
            RunError::Workload {
                name: info.name.clone(),
                source: e,
            }
        })?;
        if requests.is_empty() {
            return Err(no_requests(&info.name));
        }
        if info.has_next_access {
            // Oracle fields from the file are checked, never trusted blindly (issue 12).
            evictlab_workloads::check_next_access(&info.name, &requests).map_err(|e| {
                RunError::Workload {
                    name: info.name.clone(),
                    source: e,
                }
            })?;
        }
        if let Some(l) = limit {
            info.name = format!("{}[..{l}]", info.name);
            info.len_hint = Some(requests.len() as u64);
        }
        Ok(Workload::from_requests(info, requests))
    }

    /// Wraps requests already in memory.
    pub fn from_requests(info: SourceInfo, requests: Vec<Request>) -> Workload {
        let working_set = working_set(&requests);
        Workload {
            info,
            requests: Arc::new(requests),
            working_set,
            stream: None,
        }
    }

    /// Computes next-access indices (a backwards pass) unless the source carried them.
    pub fn ensure_next_access(&mut self) {
        if self.info.has_next_access {
            return;
        }
        let mut reqs: Vec<Request> = self.requests.as_ref().clone();
        evictlab_workloads::annotate_next_access(&mut reqs);
        self.requests = Arc::new(reqs);
        self.info.has_next_access = true;
    }
}

/// The working set of a stream, counted as it goes (same definition as [`working_set`]).
#[derive(Debug, Default)]
pub struct WorkingSetCounter {
    seen: FastMap<u64, ()>,
    /// The counts so far.
    pub ws: WorkingSet,
}

impl WorkingSetCounter {
    /// Counts `requests`.
    pub fn add(&mut self, requests: &[Request]) {
        for r in requests {
            if self.seen.insert(r.key, ()).is_none() {
                self.ws.objects += 1;
                self.ws.bytes += r.value_size as u64;
            }
        }
    }
}

/// Distinct objects and the sum of their first-seen sizes.
pub fn working_set(requests: &[Request]) -> WorkingSet {
    let mut seen: FastMap<u64, ()> = map_with_capacity(requests.len() / 4);
    let mut ws = WorkingSet::default();
    for r in requests {
        if seen.insert(r.key, ()).is_none() {
            ws.objects += 1;
            ws.bytes += r.value_size as u64;
        }
    }
    ws
}

/// The error for a workload with no request: a run over nothing would write rows with hit
/// ratio 0.0 (issue 12).
pub(crate) fn no_requests(name: &str) -> RunError {
    RunError::Workload {
        name: name.to_string(),
        source: evictlab_workloads::WorkloadError::Parameter {
            name: "requests",
            value: "0".into(),
            expected: "at least one request (the input is empty, holds only a header, or --limit/--requests is 0)",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_set_counts_first_seen_sizes() {
        let reqs: Vec<Request> = [(1, 10), (2, 20), (1, 99), (3, 5), (2, 1)]
            .iter()
            .map(|&(k, s)| Request::get(k, s))
            .collect();
        let ws = working_set(&reqs);
        assert_eq!(
            ws,
            WorkingSet {
                objects: 3,
                bytes: 35
            }
        );
    }
}
