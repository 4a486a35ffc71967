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

/// Checks the `next_access` fields a trace carried (libCacheSim oracleGeneral) against the
/// stream itself, forward, with O(unique keys) memory. A stated next access at or past
/// `requests.len()` is accepted when the key does not come back (the stream may be a
/// prefix, `--limit`). Returns the first inconsistency found: a request whose stated next
/// access is not the next request to its key. `name` labels the error.
pub fn check_next_access(name: &str, requests: &[Request]) -> Result<(), WorkloadError> {
    check_next_access_iter(name, requests.len() as u64, requests.iter().copied())
}

/// [`check_next_access`] over the `n` requests of an iterator (a
/// [`crate::PackedTrace::iter`]).
pub fn check_next_access_iter(
    name: &str,
    n: u64,
    requests: impl IntoIterator<Item = Request>,
) -> Result<(), WorkloadError> {
    // key → (index of its latest request, that request's stated next access)
    let mut pending: HashMap<u64, (u64, u64), foldhash::fast::FixedState> =
        HashMap::with_capacity_and_hasher(
            (n / 4).min(1 << 24) as usize,
            foldhash::fast::FixedState::with_seed(0),
        );
    let err = |index: u64, key: u64, stated: u64, actual: u64| WorkloadError::NextAccess {
        name: name.to_string(),
        index,
        key,
        stated,
        actual,
    };
    for (j, r) in requests.into_iter().enumerate() {
        let j = j as u64;
        if let Some((i, stated)) = pending.insert(r.key, (j, r.next_access))
            && stated != j
        {
            return Err(err(i, r.key, stated, j));
        }
    }
    // Keys that never came back must say NEVER (or point past the end of a prefix).
    let first = pending
        .iter()
        .filter(|(_, (_, stated))| *stated < n)
        .min_by_key(|(_, (i, _))| *i);
    if let Some((&key, &(i, stated))) = first {
        return Err(err(i, key, stated, NEVER));
    }
    Ok(())
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
    fn inconsistent_next_access_fields_are_found() {
        let mut v: Vec<Request> = [1u64, 2, 1, 3, 2, 1]
            .iter()
            .map(|&k| Request::get(k, 1))
            .collect();
        annotate_next_access(&mut v);
        assert!(check_next_access("t", &v).is_ok());
        // A prefix: the last key-1 request points past the end, which is fine.
        let mut p = v[..5].to_vec();
        p[2].next_access = 5;
        assert!(check_next_access("t", &p).is_ok());
        for (i, bad, stated, actual) in [
            (0usize, 4u64, 4u64, 2u64), // says 4, key 1 is next at 2
            (1, 3, 3, 4),               // says 3 (another key), is 4
            (3, 1, 1, NEVER),           // says 1 (earlier), never comes back
            (2, NEVER, NEVER, 5),       // says never, comes back at 5
        ] {
            let mut w = v.clone();
            w[i].next_access = bad;
            match check_next_access("t", &w) {
                Err(WorkloadError::NextAccess {
                    index,
                    stated: s,
                    actual: a,
                    ..
                }) => assert_eq!((index, s, a), (i as u64, stated, actual), "case {i}"),
                r => panic!("case {i}: {r:?}"),
            }
        }
    }

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
