//! The next-access pre-pass: for each request, the index of the next request to the same
//! key (Belady's MIN needs it).
//!
//! One backward scan with a hash map key → index of the latest request seen (i.e. the next
//! one in forward order): O(n) time, O(unique keys) memory. Any op counts as an access
//! (a SET or DEL of the key is its next use, as libCacheSim's oracle traces count every
//! request).

use hashbrown::HashMap;

use crate::{NEVER, Request, RequestSource, WorkloadError};

/// Fills `next_access` of every request (0-based index into `requests`, or [`NEVER`]).
pub fn annotate_next_access(requests: &mut [Request]) {
    let mut next: HashMap<u64, u64, foldhash::fast::FixedState> = HashMap::with_capacity_and_hasher(
        requests.len() / 4,
        foldhash::fast::FixedState::with_seed(0),
    );
    for i in (0..requests.len()).rev() {
        let r = &mut requests[i];
        r.next_access = next.insert(r.key, i as u64).unwrap_or(NEVER);
    }
}

/// Reads a whole finite stream into memory (at most `limit` requests, `None` = all).
pub fn collect(
    source: &mut dyn RequestSource,
    limit: Option<u64>,
) -> Result<Vec<Request>, WorkloadError> {
    let mut out = Vec::with_capacity(
        source
            .info()
            .len_hint
            .unwrap_or(0)
            .min(limit.unwrap_or(u64::MAX))
            .min(1 << 28) as usize,
    );
    let limit = limit.unwrap_or(u64::MAX);
    loop {
        let room = (limit - out.len() as u64).min(1 << 16) as usize;
        if room == 0 || source.fill(&mut out, room)? == 0 {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_traced() {
        // keys: a b a c b a  → next: 2 4 5 NEVER NEVER NEVER
        let mut v: Vec<Request> = [1u64, 2, 1, 3, 2, 1]
            .iter()
            .map(|&k| Request::get(k, 1))
            .collect();
        annotate_next_access(&mut v);
        let got: Vec<u64> = v.iter().map(|r| r.next_access).collect();
        assert_eq!(got, [2, 4, 5, NEVER, NEVER, NEVER]);
    }

    proptest::proptest! {
        #[test]
        fn matches_quadratic_definition(keys in proptest::collection::vec(0u64..8, 0..200)) {
            let mut v: Vec<Request> = keys.iter().map(|&k| Request::get(k, 1)).collect();
            annotate_next_access(&mut v);
            for i in 0..keys.len() {
                let want = (i + 1..keys.len()).find(|&j| keys[j] == keys[i]).map_or(NEVER, |j| j as u64);
                proptest::prop_assert_eq!(v[i].next_access, want);
            }
        }
    }
}
