//! The research policies against deliberately simple reference implementations of their
//! sources' pseudocode, written here with `VecDeque`s, sets and linear searches (no shared
//! code with the engine's O(1) structures; W-TinyLFU shares only the frequency sketch, which
//! has its own unit tests). Exact miss counts must agree on slices of the real traces, at
//! several cache sizes, replayed as a cache (GET; on a miss, SET) in keys mode.
//!
//! The test iterates the policy registry: every research and oracle policy must have a
//! reference here (`references`; LRU, FIFO and Belady's come from `golden`), so a new
//! policy fails until it gets one. Redis's sampled policies are checked against a real
//! server instead (`server`).
//!
//! Each reference follows the same reading of its source as the policy file documents
//! (libCacheSim's order of operations for CLOCK, S3-FIFO and ARC, the papers' for 2Q, SIEVE
//! and LIRS `variant paper`, Caffeine's simulator for W-TinyLFU `variant caffeine`), so a
//! disagreement is a bug in one of them. The `libcachesim` variants of LIRS and W-TinyLFU
//! (their defaults) are checked against libCacheSim itself (`libcachesim`).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use evictlab_engine::Key;
use evictlab_engine::policy::registry::{Family, POLICIES};
use evictlab_engine::policy::sketch::FrequencySketch;

use crate::golden::{simple_belady, simple_fifo, simple_lru};
use crate::util::{engine_misses_with, next_accesses, read_ids, traces_dir};

/// Removes `x` from `q`; true if it was there.
fn remove(q: &mut VecDeque<u64>, x: u64) -> bool {
    match q.iter().position(|&y| y == x) {
        Some(i) => {
            q.remove(i);
            true
        }
        None => false,
    }
}

/// libCacheSim `Clock.c`: FIFO, counters saturating at `2^bits − 1`, reinsert on eviction.
fn clock(cap: usize, bits: u32, ids: &[u64]) -> u64 {
    let max = (1u8 << bits) - 1;
    let (mut q, mut cnt): (VecDeque<u64>, HashMap<u64, u8>) = Default::default(); // q front = newest
    let mut misses = 0;
    for &x in ids {
        if let Some(c) = cnt.get_mut(&x) {
            *c = (*c + 1).min(max);
            continue;
        }
        misses += 1;
        if q.len() == cap {
            loop {
                let t = q.pop_back().unwrap();
                let c = cnt.get_mut(&t).unwrap();
                if *c >= 1 {
                    *c -= 1;
                    q.push_front(t);
                } else {
                    cnt.remove(&t);
                    break;
                }
            }
        }
        q.push_front(x);
        cnt.insert(x, 0);
    }
    misses
}

/// SIEVE (NSDI'24 Algorithm 1): `q[0]` is the tail; the hand moves towards the head.
fn sieve(cap: usize, ids: &[u64]) -> u64 {
    let (mut q, mut visited): (Vec<u64>, HashMap<u64, bool>) = (Vec::new(), HashMap::new());
    let mut hand: Option<usize> = None;
    let mut misses = 0;
    for &x in ids {
        if let Some(v) = visited.get_mut(&x) {
            *v = true;
            continue;
        }
        misses += 1;
        if q.len() == cap {
            let mut h = hand.unwrap_or(0);
            while visited[&q[h]] {
                visited.insert(q[h], false);
                h = if h + 1 == q.len() { 0 } else { h + 1 };
            }
            visited.remove(&q[h]);
            q.remove(h);
            hand = (h < q.len()).then_some(h);
        }
        q.push(x);
        visited.insert(x, false);
    }
    misses
}

/// libCacheSim `S3FIFO.c` with its default parameters (10 % small, ghost 90 %, threshold 2).
fn s3fifo(cap: usize, ids: &[u64]) -> u64 {
    let small_cap = ((cap as f64 * 0.10) as usize).max(1);
    let main_cap = cap - small_cap;
    let ghost_cap = (cap as f64 * 0.90) as usize;
    let (mut small, mut main, mut ghost) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let mut freq: HashMap<u64, u8> = HashMap::new();
    let mut has_evicted = false;
    let mut misses = 0;
    for &x in ids {
        if let Some(f) = freq.get_mut(&x) {
            *f = (*f + 1).min(3);
            continue;
        }
        misses += 1;
        let ghost_hit = remove(&mut ghost, x);
        while small.len() + main.len() >= cap {
            has_evicted = true;
            let mut evicted = false;
            if main.len() <= main_cap && !small.is_empty() {
                while let Some(t) = small.pop_back() {
                    if freq[&t] >= 2 {
                        main.push_front(t);
                        freq.insert(t, 0);
                    } else {
                        freq.remove(&t);
                        ghost.push_front(t);
                        if ghost.len() > ghost_cap {
                            ghost.pop_back();
                        }
                        evicted = true;
                        break;
                    }
                }
            }
            while !evicted {
                let t = main.pop_back().unwrap();
                let f = freq[&t];
                if f >= 1 {
                    freq.insert(t, f.min(3) - 1);
                    main.push_front(t);
                } else {
                    freq.remove(&t);
                    evicted = true;
                }
            }
        }
        if ghost_hit || (!has_evicted && small.len() >= small_cap) {
            main.push_front(x);
        } else {
            small.push_front(x);
        }
        freq.insert(x, 0);
    }
    misses
}

/// ARC, FAST'03 Fig. 4 (cases I–IV and REPLACE) as libCacheSim 0.3.5 `ARC.c` reads it: a
/// real-valued `p`, REPLACE for every eviction a ghost hit needs, case IV.A testing "B1 is
/// not empty", REPLACE taking T1 when T2 is empty. Lists with front = MRU.
fn arc(c: usize, ids: &[u64]) -> u64 {
    let (mut t1, mut t2, mut b1, mut b2): (
        VecDeque<u64>,
        VecDeque<u64>,
        VecDeque<u64>,
        VecDeque<u64>,
    ) = Default::default();
    let mut p = 0f64;
    let mut misses = 0;
    let replace = |t1: &mut VecDeque<u64>,
                   t2: &mut VecDeque<u64>,
                   b1: &mut VecDeque<u64>,
                   b2: &mut VecDeque<u64>,
                   p: f64,
                   in_b2: bool| {
        let n1 = t1.len() as f64;
        if (!t1.is_empty() && (n1 > p || (in_b2 && n1 == p))) || t2.is_empty() {
            b1.push_front(t1.pop_back().unwrap());
        } else {
            b2.push_front(t2.pop_back().unwrap());
        }
    };
    for &x in ids {
        if remove(&mut t1, x) || remove(&mut t2, x) {
            t2.push_front(x); // case I
            continue;
        }
        misses += 1;
        let ratio = |a: usize, b: usize| (a as f64 / b as f64).max(1.0);
        let ghost = if b1.contains(&x) {
            p = (p + ratio(b2.len(), b1.len())).min(c as f64); // case II
            remove(&mut b1, x);
            Some(false)
        } else if b2.contains(&x) {
            p = (p - ratio(b1.len(), b2.len())).max(0.0); // case III
            remove(&mut b2, x);
            Some(true)
        } else {
            None
        };
        if t1.len() + t2.len() == c {
            match ghost {
                Some(in_b2) => replace(&mut t1, &mut t2, &mut b1, &mut b2, p, in_b2),
                None if t1.len() + b1.len() >= c => {
                    // case IV.A
                    if b1.pop_back().is_some() {
                        replace(&mut t1, &mut t2, &mut b1, &mut b2, p, false);
                    } else {
                        t1.pop_back();
                    }
                }
                None => {
                    // case IV.B
                    if t1.len() + t2.len() + b1.len() + b2.len() >= 2 * c {
                        b2.pop_back();
                    }
                    replace(&mut t1, &mut t2, &mut b1, &mut b2, p, false);
                }
            }
        }
        if ghost.is_some() {
            t2.push_front(x);
        } else {
            t1.push_front(x);
        }
    }
    misses
}

/// Full 2Q, VLDB'94 §2.2 (Kin 25 %, Kout 50 %), fronts are the newest ends.
fn two_q(c: usize, ids: &[u64]) -> u64 {
    let (kin, kout) = ((c as f64 * 0.25) as usize, (c as f64 * 0.5) as usize);
    let (mut a1in, mut am, mut a1out) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let mut misses = 0;
    for &x in ids {
        if remove(&mut am, x) {
            am.push_front(x);
            continue;
        }
        if a1in.contains(&x) {
            continue;
        }
        misses += 1;
        let remembered = remove(&mut a1out, x);
        if a1in.len() + am.len() == c {
            if a1in.len() > kin || am.is_empty() {
                a1out.push_front(a1in.pop_back().unwrap());
                if a1out.len() > kout {
                    a1out.pop_back();
                }
            } else {
                am.pop_back();
            }
        }
        if remembered {
            am.push_front(x);
        } else {
            a1in.push_front(x);
        }
    }
    misses
}

/// LFU over in-cache counts: an ordered set of (count, when it reached that count, id).
fn lfu(c: usize, ids: &[u64]) -> u64 {
    // (count, when it reached that count, id) in eviction order; id → (count, when).
    let mut order: BTreeSet<(u64, u64, u64)> = BTreeSet::new();
    let mut state: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut misses = 0;
    for (t, &x) in ids.iter().enumerate() {
        let t = t as u64;
        if let Some(&(count, since)) = state.get(&x) {
            order.remove(&(count, since, x));
            order.insert((count + 1, t, x));
            state.insert(x, (count + 1, t));
            continue;
        }
        misses += 1;
        if state.len() == c {
            let (_, _, v) = order.pop_first().unwrap();
            state.remove(&v);
        }
        order.insert((1, t, x));
        state.insert(x, (1, t));
    }
    misses
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lirs {
    Lir,
    Hir,
    NonResident,
}

/// LIRS, SIGMETRICS'02 §3.3: S (front = top) holds all three kinds, Q (front = newest) the
/// resident HIR keys, NR the non-resident ones (bounded at 2 × c, oldest forgotten).
fn lirs(c: usize, ids: &[u64]) -> u64 {
    let max_lir = (c as f64 * 0.99) as usize;
    let max_nr = (c as f64 * 2.0) as usize;
    let mut st: HashMap<u64, Lirs> = HashMap::new();
    let (mut s, mut q, mut nr) = (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let (mut lir, mut resident, mut misses) = (0usize, 0usize, 0u64);
    fn prune(s: &mut VecDeque<u64>, st: &mut HashMap<u64, Lirs>, nr: &mut VecDeque<u64>) {
        while let Some(&b) = s.back() {
            match st[&b] {
                Lirs::Lir => break,
                Lirs::NonResident => {
                    st.remove(&b);
                    remove(nr, b);
                }
                Lirs::Hir => {}
            }
            s.pop_back();
        }
    }
    // Demote bottom LIR keys (never `keep`) while the LIR set is over its share.
    let demote = |keep: u64,
                  lir: &mut usize,
                  s: &mut VecDeque<u64>,
                  q: &mut VecDeque<u64>,
                  st: &mut HashMap<u64, Lirs>,
                  nr: &mut VecDeque<u64>| {
        while *lir > max_lir {
            prune(s, st, nr);
            match s.back() {
                Some(&b) if b != keep => {
                    s.pop_back();
                    st.insert(b, Lirs::Hir);
                    q.push_front(b);
                    *lir -= 1;
                }
                _ => break,
            }
        }
        prune(s, st, nr);
    };
    for &x in ids {
        match st.get(&x).copied() {
            Some(Lirs::Lir) => {
                let was_bottom = s.back() == Some(&x);
                remove(&mut s, x);
                s.push_front(x);
                if was_bottom {
                    prune(&mut s, &mut st, &mut nr);
                }
            }
            Some(Lirs::Hir) => {
                if remove(&mut s, x) {
                    remove(&mut q, x);
                    st.insert(x, Lirs::Lir);
                    lir += 1;
                    s.push_front(x);
                    demote(x, &mut lir, &mut s, &mut q, &mut st, &mut nr);
                } else {
                    s.push_front(x);
                    remove(&mut q, x);
                    q.push_front(x);
                }
            }
            _ => {
                misses += 1;
                if resident == c {
                    match q.pop_back() {
                        Some(v) => {
                            if s.contains(&v) {
                                st.insert(v, Lirs::NonResident);
                                nr.push_front(v);
                            } else {
                                st.remove(&v);
                            }
                        }
                        None => {
                            let v = s.pop_back().unwrap();
                            st.remove(&v);
                            lir -= 1;
                        }
                    }
                    resident -= 1;
                    prune(&mut s, &mut st, &mut nr);
                    while nr.len() > max_nr {
                        let o = nr.pop_back().unwrap();
                        remove(&mut s, o);
                        st.remove(&o);
                    }
                }
                resident += 1;
                if st.get(&x) == Some(&Lirs::NonResident) {
                    remove(&mut nr, x);
                    remove(&mut s, x);
                    st.insert(x, Lirs::Lir);
                    lir += 1;
                    s.push_front(x);
                    demote(x, &mut lir, &mut s, &mut q, &mut st, &mut nr);
                } else if lir < max_lir {
                    st.insert(x, Lirs::Lir);
                    lir += 1;
                    s.push_front(x);
                } else {
                    st.insert(x, Lirs::Hir);
                    s.push_front(x);
                    q.push_front(x);
                }
            }
        }
    }
    misses
}

/// Caffeine's simulator `WindowTinyLfuPolicy` (1 % window, 80 % protected), fronts = MRU.
fn w_tinylfu(c: usize, ids: &[u64]) -> u64 {
    let max_main = (c as f64 * 0.99) as usize;
    let max_window = c - max_main;
    let max_protected = (max_main as f64 * 0.80) as usize;
    let mut sketch = FrequencySketch::new(c as u64, 10, false);
    let h = |x: u64| Key::from_id(x).hash64();
    let (mut window, mut probation, mut protected) =
        (VecDeque::new(), VecDeque::new(), VecDeque::new());
    let mut misses = 0;
    for &x in ids {
        sketch.increment(h(x));
        if remove(&mut window, x) {
            window.push_front(x);
        } else if remove(&mut probation, x) {
            protected.push_front(x);
            if protected.len() > max_protected {
                probation.push_front(protected.pop_back().unwrap());
            }
        } else if remove(&mut protected, x) {
            protected.push_front(x);
        } else {
            misses += 1;
            window.push_front(x);
            if window.len() > max_window {
                let candidate = window.pop_back().unwrap();
                probation.push_front(candidate);
                if window.len() + probation.len() + protected.len() > c {
                    let victim = *probation.back().unwrap();
                    let evict = if sketch.frequency(h(candidate)) > sketch.frequency(h(victim)) {
                        victim
                    } else {
                        candidate
                    };
                    remove(&mut probation, evict);
                }
            }
        }
    }
    misses
}

/// A reference model: misses of a cache of `size` objects over `ids` (`next`: each
/// request's next access, for the oracles).
type Reference = fn(usize, &[u64], &[u64]) -> u64;
/// `lab-policy-param` pairs and the reference they must match.
type Case = (&'static [(&'static str, &'static str)], Reference);

/// The reference models of a registered policy (empty: none yet).
fn references(policy: &str) -> Vec<Case> {
    match policy {
        "lru" => vec![(&[], |c, ids, _| simple_lru(c as u64, ids))],
        "fifo" => vec![(&[], |c, ids, _| simple_fifo(c as u64, ids))],
        "belady" => vec![(&[], |c, ids, next| {
            simple_belady(c as u64, ids, next, false)
        })],
        "belady-bypass" => vec![(&[], |c, ids, next| simple_belady(c as u64, ids, next, true))],
        "clock" => vec![
            (&[], |c, ids, _| clock(c, 1, ids)),
            (&[("clock-bits", "2")], |c, ids, _| clock(c, 2, ids)),
        ],
        "sieve" => vec![(&[], |c, ids, _| sieve(c, ids))],
        "s3fifo" => vec![(&[], |c, ids, _| s3fifo(c, ids))],
        "arc" => vec![(&[], |c, ids, _| arc(c, ids))],
        "2q" => vec![(&[], |c, ids, _| two_q(c, ids))],
        "lfu" => vec![(&[], |c, ids, _| lfu(c, ids))],
        // The paper's reading; the default variant (libCacheSim's) is checked against
        // libCacheSim itself in `libcachesim`.
        "lirs" => vec![(&[("variant", "paper")], |c, ids, _| lirs(c, ids))],
        // Caffeine's simulator's reading; the default variant (libCacheSim's) is checked
        // against libCacheSim itself in `libcachesim`.
        "w-tinylfu" => vec![(&[("variant", "caffeine")], |c, ids, _| w_tinylfu(c, ids))],
        _ => Vec::new(),
    }
}

#[test]
fn every_registered_research_and_oracle_policy_matches_its_reference() {
    let Some(dir) = traces_dir() else {
        println!("SKIPPED: ../shared/traces is absent (set EVICTLAB_TRACES to run)");
        return;
    };
    // (trace, requests used): whole small traces, prefixes of the larger ones.
    let traces = [
        ("caffeine/lirs/multi1.trace", 16_000),
        ("caffeine/lirs/ps.trace", 11_000),
        ("caffeine/lirs/gli.trace", 7_000),
        ("caffeine/lirs/sprite.trace", 20_000),
        ("caffeine/lirs/2_pools.trace", 20_000),
        ("caffeine/lirs/loop.trace", 12_000),
        ("libcachesim/cloudPhysicsIO.txt", 20_000),
    ];
    // Every research and oracle policy of the registry, with its references.
    let policies: Vec<(&str, Vec<Case>)> = POLICIES
        .iter()
        .filter(|p| matches!(p.family, Family::Research | Family::Oracle))
        .map(|p| (p.name, references(p.name)))
        .collect();
    let missing: Vec<&str> = policies
        .iter()
        .filter(|(_, refs)| refs.is_empty())
        .map(|(name, _)| *name)
        .collect();
    assert!(
        missing.is_empty(),
        "no reference model for {missing:?}: add one to `references` in tests/reference.rs"
    );
    for (name, n) in traces {
        let mut ids = read_ids(&dir.join(name));
        ids.truncate(n);
        let next = next_accesses(&ids);
        let distinct = ids.iter().collect::<HashSet<_>>().len();
        let mut sizes: Vec<usize> = [0.01, 0.1, 0.3]
            .iter()
            .map(|f| ((distinct as f64 * f) as usize).max(2))
            .collect();
        sizes.push(7);
        for &size in &sizes {
            let mut line = format!("{name}[..{}] size {size}:", ids.len());
            for (policy, params, reference) in policies
                .iter()
                .flat_map(|(name, refs)| refs.iter().map(move |(p, r)| (name, p, r)))
            {
                let want = reference(size, &ids, &next);
                let got = engine_misses_with(policy, params, size as u64, &ids, &next);
                line += &format!(" {policy}{params:?} {got}");
                assert_eq!(got, want, "{policy} {params:?} on {name} at size {size}");
            }
            println!("{line}");
        }
    }
}
