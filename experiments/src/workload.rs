//! A workload loaded for replay: every request in memory, packed ([`PackedTrace`]: ≤ 11
//! bytes per request; read once, shared by every cell of a sweep through an `Arc`, as
//! Caffeine's simulator broadcasts one trace to all policies), its working
//! set, and next-access indices when a policy needs them — or, streamed, only its working
//! set and where to read it again ([`Workload::stream`]: each cell re-reads the source in
//! batches, so memory does not grow with the trace's length).

use std::sync::Arc;

use evictlab_workloads::{PackedBuilder, PackedTrace, Request, RequestSource, SourceInfo};
use hashbrown::HashMap;

/// Hash map with a fixed-seed fast hasher (deterministic, no per-process randomness).
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

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
    /// Every request, in order (packed; [`PackedTrace::iter`] decodes them).
    pub requests: Arc<PackedTrace>,
    /// Distinct objects and bytes.
    pub working_set: WorkingSet,
    /// A streamed workload: `requests` is empty and runners that support it read this
    /// input again for each cell ([`crate::source::open`]).
    pub stream: Option<WorkloadInput>,
}

/// Requests read per batch while loading.
const BATCH: usize = 1 << 16;

impl Workload {
    /// Calls `f` on every request in order: from memory, or read again from the input of a
    /// streamed workload ([`crate::source::for_each_batch`]).
    pub fn for_each_request(&self, mut f: impl FnMut(&Request)) -> Result<(), RunError> {
        match &self.stream {
            None => {
                self.requests.iter().for_each(|r| f(&r));
                Ok(())
            }
            Some(input) => crate::source::for_each_batch(
                &mut *crate::source::open(input)?,
                &self.info.name,
                |batch| batch.iter().for_each(&mut f),
            ),
        }
    }

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
        let workload_err = |e| RunError::Workload {
            name: info.name.clone(),
            source: e,
        };
        // Read in batches straight into the packed form: the 40-byte requests of one
        // batch are all that is ever decoded at once.
        let limit = limit.unwrap_or(u64::MAX);
        let hint = info.len_hint.unwrap_or(0).min(limit).min(1 << 32) as usize;
        let mut packed = PackedBuilder::with_capacity(hint);
        let mut batch = Vec::with_capacity(BATCH);
        let mut n = 0u64;
        loop {
            batch.clear();
            let room = (limit - n).min(BATCH as u64) as usize;
            if room == 0 || source.fill(&mut batch, room).map_err(workload_err)? == 0 {
                break;
            }
            n += batch.len() as u64;
            packed.push_all(&batch).map_err(workload_err)?;
        }
        let requests = packed.finish();
        if requests.is_empty() {
            return Err(no_requests(&info.name));
        }
        if info.has_next_access {
            // Oracle fields from the file are checked, never trusted blindly (issue 12).
            evictlab_workloads::check_next_access_iter(&info.name, n, requests.iter())
                .map_err(workload_err)?;
        }
        if limit != u64::MAX {
            info.name = format!("{}[..{limit}]", info.name);
            info.len_hint = Some(n);
        }
        Ok(Workload::from_packed(info, requests))
    }

    /// Wraps requests already in memory (packing them).
    pub fn from_requests(info: SourceInfo, requests: Vec<Request>) -> Result<Workload, RunError> {
        let packed = PackedTrace::from_requests(&requests).map_err(|e| RunError::Workload {
            name: info.name.clone(),
            source: e,
        })?;
        Ok(Workload::from_packed(info, packed))
    }

    /// Wraps a packed trace.
    pub fn from_packed(info: SourceInfo, requests: PackedTrace) -> Workload {
        let working_set = WorkingSet {
            objects: requests.objects().len() as u64,
            bytes: requests.first_seen_bytes(),
        };
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
        Arc::make_mut(&mut self.requests).annotate_next_access();
        self.info.has_next_access = true;
    }
}

/// The working set of a stream, counted as it goes (distinct ids, Σ first-seen sizes, as
/// the packed form counts it when loading).
#[derive(Debug, Default)]
pub struct WorkingSetCounter {
    seen: evictlab_workloads::IdMap<()>,
    /// The counts so far.
    pub ws: WorkingSet,
}

impl WorkingSetCounter {
    /// Counts `requests`.
    pub fn add(&mut self, requests: &[Request]) {
        for r in requests {
            if self.seen.insert(r.key) {
                self.ws.objects += 1;
                self.ws.bytes += r.value_size as u64;
            }
        }
    }
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
        let ws = Workload::from_requests(SourceInfo::default(), reqs)
            .unwrap()
            .working_set;
        assert_eq!(
            ws,
            WorkingSet {
                objects: 3,
                bytes: 35
            }
        );
    }
}
