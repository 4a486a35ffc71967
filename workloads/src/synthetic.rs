//! [`Synthetic`]: the generator behind every [`WorkloadSpec`].
//!
//! Per request, in this order (the order of random draws is part of the determinism
//! contract: same spec, keys, requests and seed → the same stream on every machine):
//! arrival time → phase switch → op (one draw unless the mix is read-only) → key (the
//! phase's popularity, then the hot-set shift) → size and TTL (functions of the key, or a
//! draw when `size-per=request`).
//!
//! Key space: ids `0..keys` at the start; every insert takes the next id. Popularity draws
//! cover the current key count (YCSB's generators likewise grow with inserts). A
//! read-modify-write is two requests (GET, SET), a scan of length L is L GETs of
//! consecutive ids (wrapping), and the stream is cut after exactly `requests` requests even
//! in the middle of a pair or scan.
//!
//! Per-key properties use no table: a key's size, whether it is volatile and its TTL are
//! drawn from a [`SplitMix64`] seeded by `key_hash(seed, key, salt)`.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::dist::DistSampler;
use crate::hash::{SplitMix64, key_hash, unit_f64, ycsb_fnv64};
use crate::spec::{Arrival, DEFAULT_VALUE_SIZE, MAX_VALUE_SIZE, Point, Popularity, WorkloadSpec};
use crate::zipf::Zipf;
use crate::{Op, Request, RequestSource, SourceInfo, WorkloadError};

const SALT_SIZE: u64 = 1;
const SALT_VOLATILE: u64 = 2;
const SALT_TTL: u64 = 3;
/// Seed salt of the main stream RNG, so it differs from per-key hashes of the same seed.
const SALT_STREAM: u64 = 0x5eed;
/// Largest TTL drawn: 2^40 ms (≈ 35 years), far beyond any run and safe in i64 arithmetic.
const MAX_TTL_MS: u64 = 1 << 40;
/// Longest scan (bounds a pathological `scan-len`).
const MAX_SCAN: u64 = 1 << 20;

/// Picks keys for one popularity model.
#[derive(Clone, Debug)]
enum Chooser {
    Uniform,
    Zipf(Box<Zipf>),
    Scrambled(Box<Zipf>),
    Latest(Box<Zipf>),
    Hotspot { data: f64, ops: f64 },
    Loop { next: u64 },
}

impl Chooser {
    fn new(p: &Popularity, keys: u64) -> Chooser {
        // `keys ≥ 1` and `s > 0` were checked, so `Zipf::new` cannot fail; the fallback keeps
        // construction total.
        let zipf = |s: f64| Box::new(Zipf::new(keys, s).unwrap_or_else(|| unreachable_zipf(keys)));
        match *p {
            Popularity::Uniform => Chooser::Uniform,
            Popularity::Zipf { s } => Chooser::Zipf(zipf(s)),
            Popularity::ScrambledZipf { s } => Chooser::Scrambled(zipf(s)),
            Popularity::Latest { s } => Chooser::Latest(zipf(s)),
            Popularity::Hotspot {
                data_fraction,
                ops_fraction,
            } => Chooser::Hotspot {
                data: data_fraction,
                ops: ops_fraction,
            },
            Popularity::Loop => Chooser::Loop { next: 0 },
        }
    }

    /// A key id in `0..count`.
    #[inline]
    fn next<R: Rng>(&mut self, rng: &mut R, count: u64) -> u64 {
        match self {
            Chooser::Uniform => below(rng.next_u64(), count),
            Chooser::Zipf(z) => {
                if z.n() != count {
                    z.set_n(count);
                }
                z.sample(rng)
            }
            Chooser::Scrambled(z) => {
                if z.n() != count {
                    z.set_n(count);
                }
                ycsb_fnv64(z.sample(rng)) % count
            }
            Chooser::Latest(z) => {
                if z.n() != count {
                    z.set_n(count);
                }
                count - 1 - z.sample(rng)
            }
            Chooser::Hotspot { data, ops } => {
                // YCSB HotspotIntegerGenerator: hot = the first ⌊count·data⌋ ids.
                let hot = ((count as f64 * *data) as u64).clamp(1, count);
                let cold = count - hot;
                if cold == 0 || unit_f64(rng.next_u64()) < *ops {
                    below(rng.next_u64(), hot)
                } else {
                    hot + below(rng.next_u64(), cold)
                }
            }
            Chooser::Loop { next } => {
                let k = *next % count;
                *next = k + 1;
                k
            }
        }
    }
}

#[cold]
fn unreachable_zipf(keys: u64) -> Zipf {
    // Only reachable with an invalid hand-built spec; uniform-ish Zipf keeps going.
    Zipf::new(keys.max(1), 1e-9).unwrap_or_else(|| unreachable!("Zipf over ≥ 1 key with s > 0"))
}

/// Uniform integer in `0..n` (Lemire's multiply-shift).
#[inline]
fn below(x: u64, n: u64) -> u64 {
    ((x as u128 * n as u128) >> 64) as u64
}

#[derive(Clone, Copy, Debug)]
enum Pending {
    None,
    /// The SET half of a read-modify-write.
    RmwSet(u64),
    /// The rest of a scan: the next key and how many remain.
    Scan(u64, u64),
}

/// Thresholds on a 64-bit draw for [read, update, insert, delete, rmw] (scan is the rest).
#[derive(Clone, Copy, Debug)]
struct OpTable {
    cut: [u64; 5],
    read_only: bool,
}

/// A synthetic request stream. Build it with [`WorkloadSpec::build`] or
/// [`WorkloadSpec::generator`].
pub struct Synthetic {
    info: SourceInfo,
    rng: Xoshiro256PlusPlus,
    seed: u64,
    requests: u64,
    index: u64,
    count: u64,
    choosers: Vec<Chooser>,
    phase_at: Vec<Point>,
    phase: usize,
    ops: OpTable,
    pending: Pending,
    size: Option<DistSampler>,
    fixed_size: Option<u32>,
    size_per_request: bool,
    ttl: Option<(f64, DistSampler)>,
    arrival: Option<Arrival>,
    clock_ms: f64,
    shift: Option<(Point, u64)>,
    scan_len: DistSampler,
}

impl Synthetic {
    /// See [`WorkloadSpec::build`].
    pub fn new(
        spec: &WorkloadSpec,
        keys: u64,
        requests: u64,
        seed: u64,
    ) -> Result<Synthetic, WorkloadError> {
        if keys == 0 {
            return Err(WorkloadError::Parameter {
                name: "keys",
                value: "0".into(),
                expected: "at least 1 key",
            });
        }
        let mut choosers = vec![Chooser::new(&spec.popularity, keys)];
        let mut phase_at = Vec::new();
        for p in &spec.phases {
            choosers.push(Chooser::new(&p.popularity, keys));
            phase_at.push(p.at);
        }
        let m = spec.mix.to_array();
        let total: f64 = m.iter().sum();
        let mut cut = [0u64; 5];
        let mut acc = 0.0;
        for i in 0..5 {
            acc += m[i] / total;
            cut[i] = if acc >= 1.0 {
                u64::MAX
            } else {
                (acc * 18_446_744_073_709_551_616.0) as u64
            };
        }
        let read_only = m[0] >= total;
        let (size, fixed_size) = match &spec.size {
            None => (None, Some(DEFAULT_VALUE_SIZE)),
            Some(d) if d.is_constant() => {
                let v = d.sampler(0, MAX_VALUE_SIZE).sample(&mut SplitMix64(0));
                (None, Some(v as u32))
            }
            Some(d) => (Some(d.sampler(0, MAX_VALUE_SIZE)), None),
        };
        let info = SourceInfo {
            name: spec.to_string(),
            has_time: spec.arrival.is_some(),
            has_sizes: spec.size.is_some(),
            has_ttl: spec.ttl.is_some_and(|t| t.fraction > 0.0),
            has_next_access: false,
            len_hint: Some(requests),
        };
        Ok(Synthetic {
            info,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ SALT_STREAM),
            seed,
            requests,
            index: 0,
            count: keys,
            choosers,
            phase_at,
            phase: 0,
            ops: OpTable { cut, read_only },
            pending: Pending::None,
            size,
            fixed_size,
            size_per_request: spec.size_per_request,
            ttl: spec
                .ttl
                .map(|t| (t.fraction, t.dist.sampler(1, MAX_TTL_MS))),
            arrival: spec.arrival,
            clock_ms: 0.0,
            shift: spec.shift.map(|s| (s.every, s.keys)),
            scan_len: spec.scan_len.sampler(1, MAX_SCAN),
        })
    }

    /// The current number of keys (grows with inserts).
    pub fn key_count(&self) -> u64 {
        self.count
    }

    #[inline]
    fn value_size(&mut self, key: u64) -> u32 {
        if let Some(v) = self.fixed_size {
            return v;
        }
        let Some(s) = &self.size else {
            return DEFAULT_VALUE_SIZE;
        };
        let v = if self.size_per_request {
            s.sample(&mut self.rng)
        } else {
            s.sample(&mut SplitMix64(key_hash(self.seed, key, SALT_SIZE)))
        };
        v as u32
    }

    #[inline]
    fn ttl_of(&self, key: u64) -> u64 {
        match &self.ttl {
            None => 0,
            Some((fraction, d))
                if unit_f64(key_hash(self.seed, key, SALT_VOLATILE)) < *fraction =>
            {
                d.sample(&mut SplitMix64(key_hash(self.seed, key, SALT_TTL)))
            }
            Some(_) => 0,
        }
    }

    #[inline]
    fn next_time(&mut self) -> u64 {
        match self.arrival {
            None => 0,
            Some(Arrival::Constant { rate }) => (self.index as f64 * 1000.0 / rate) as u64,
            Some(Arrival::Poisson { rate }) => {
                let t = self.clock_ms as u64;
                // Exponential gap by inversion: -ln(1 - U) / rate seconds.
                let u = unit_f64(self.rng.next_u64());
                self.clock_ms += -(1.0 - u).ln() * 1000.0 / rate;
                t
            }
        }
    }

    #[inline]
    fn reached(&self, p: Point, t: u64) -> bool {
        match p {
            Point::Request(i) => self.index >= i,
            Point::TimeMs(ms) => t >= ms,
        }
    }

    #[inline]
    fn pick_key(&mut self, t: u64) -> u64 {
        let k = self.choosers[self.phase].next(&mut self.rng, self.count);
        match self.shift {
            None => k,
            Some((every, step)) => {
                let periods = match every {
                    Point::Request(n) => self.index / n,
                    Point::TimeMs(ms) => t / ms,
                };
                ((k as u128 + periods as u128 * step as u128) % self.count as u128) as u64
            }
        }
    }

    #[inline]
    fn request(&mut self, t: u64, op: Op, key: u64) -> Request {
        let (value_size, ttl_ms) = match op {
            Op::Delete => (0, 0),
            _ => (self.value_size(key), self.ttl_of(key)),
        };
        Request {
            time_ms: t,
            key,
            value_size,
            ttl_ms,
            op,
            next_access: crate::NEVER,
        }
    }

    /// The next request (the caller checks the count).
    #[inline]
    fn next_request(&mut self) -> Request {
        let t = self.next_time();
        while self.phase < self.phase_at.len() && self.reached(self.phase_at[self.phase], t) {
            self.phase += 1;
        }
        match self.pending {
            Pending::RmwSet(key) => {
                self.pending = Pending::None;
                return self.request(t, Op::Set, key);
            }
            Pending::Scan(key, left) => {
                self.pending = if left > 1 {
                    Pending::Scan((key + 1) % self.count, left - 1)
                } else {
                    Pending::None
                };
                return self.request(t, Op::Get, key);
            }
            Pending::None => {}
        }
        if self.ops.read_only {
            let key = self.pick_key(t);
            return self.request(t, Op::Get, key);
        }
        let x = self.rng.next_u64();
        let c = &self.ops.cut;
        if x < c[0] {
            let key = self.pick_key(t);
            self.request(t, Op::Get, key)
        } else if x < c[1] {
            let key = self.pick_key(t);
            self.request(t, Op::Set, key)
        } else if x < c[2] {
            let key = self.count;
            self.count += 1;
            self.request(t, Op::Set, key)
        } else if x < c[3] {
            let key = self.pick_key(t);
            self.request(t, Op::Delete, key)
        } else if x < c[4] {
            let key = self.pick_key(t);
            self.pending = Pending::RmwSet(key);
            self.request(t, Op::Get, key)
        } else {
            let key = self.pick_key(t);
            let len = self.scan_len.sample(&mut self.rng);
            if len > 1 {
                self.pending = Pending::Scan((key + 1) % self.count, len - 1);
            }
            self.request(t, Op::Get, key)
        }
    }
}

impl RequestSource for Synthetic {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn fill(&mut self, buf: &mut Vec<Request>, max: usize) -> Result<usize, WorkloadError> {
        let n = (self.requests - self.index).min(max as u64) as usize;
        // An exact-length iterator: `extend` reserves once and writes without a capacity
        // check per request.
        buf.extend(
            std::iter::repeat_with(|| {
                let r = self.next_request();
                self.index += 1;
                r
            })
            .take(n),
        );
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkloadSpec;

    fn collect(spec: &str, keys: u64, n: u64, seed: u64) -> Vec<Request> {
        let mut src = WorkloadSpec::parse(spec)
            .unwrap()
            .build(keys, n, seed)
            .unwrap();
        let mut v = Vec::new();
        while src.fill(&mut v, 4096).unwrap() > 0 {}
        v
    }

    #[test]
    fn exact_count_and_determinism() {
        let spec = "scrambled-zipf:0.99,read=0.7,update=0.1,insert=0.05,delete=0.05,rmw=0.05,scan=0.05,size=lognormal:7:1,ttl=0.5:uniform:10:1000,arrival=poisson:1000";
        let a = collect(spec, 1000, 50_001, 9);
        assert_eq!(a.len(), 50_001);
        assert_eq!(a, collect(spec, 1000, 50_001, 9));
        assert_ne!(a, collect(spec, 1000, 50_001, 10));
        // Batch size does not change the stream.
        let mut src = WorkloadSpec::parse(spec)
            .unwrap()
            .build(1000, 50_001, 9)
            .unwrap();
        let mut b = Vec::new();
        while src.fill(&mut b, 7).unwrap() > 0 {}
        assert_eq!(a, b);
    }

    #[test]
    fn sizes_and_ttls_are_stable_per_key() {
        let v = collect(
            "uniform,size=lognormal:7:1,ttl=0.3:uniform:1000:60000",
            500,
            20_000,
            3,
        );
        let mut seen = std::collections::HashMap::new();
        let mut volatile = std::collections::HashSet::new();
        for r in &v {
            let e = seen.entry(r.key).or_insert((r.value_size, r.ttl_ms));
            assert_eq!(*e, (r.value_size, r.ttl_ms), "key {}", r.key);
            if r.ttl_ms > 0 {
                assert!((1000..=60_000).contains(&r.ttl_ms));
                volatile.insert(r.key);
            }
        }
        assert_eq!(seen.len(), 500);
        // 30 % of 500 keys volatile: binomial sd ≈ 10.
        assert!(
            (volatile.len() as i64 - 150).abs() < 50,
            "{}",
            volatile.len()
        );
        // Per-request sizes do vary.
        let v = collect("uniform,size=uniform:1:1000000,size-per=request", 2, 100, 3);
        assert!(
            v.iter()
                .filter(|r| r.key == v[0].key)
                .any(|r| r.value_size != v[0].value_size)
        );
    }

    #[test]
    fn mix_ratios_are_respected() {
        let v = collect("uniform,read=0.6,update=0.3,delete=0.1", 1000, 100_000, 1);
        let count = |op| v.iter().filter(|r| r.op == op).count() as f64 / 1e5;
        assert!((count(Op::Get) - 0.6).abs() < 0.01);
        assert!((count(Op::Set) - 0.3).abs() < 0.01);
        assert!((count(Op::Delete) - 0.1).abs() < 0.01);
        assert!(
            v.iter()
                .filter(|r| r.op == Op::Delete)
                .all(|r| r.value_size == 0)
        );
    }

    #[test]
    fn inserts_grow_the_key_space_and_latest_prefers_new_keys() {
        let v = collect("ycsb-d", 1000, 100_000, 4);
        let inserts: Vec<u64> = v
            .iter()
            .filter(|r| r.op == Op::Set)
            .map(|r| r.key)
            .collect();
        // Inserts take consecutive new ids from 1000 on.
        assert!(
            inserts
                .iter()
                .enumerate()
                .all(|(i, &k)| k == 1000 + i as u64)
        );
        assert!((inserts.len() as f64 / 1e5 - 0.05).abs() < 0.005);
        // Reads of the last 10 % of requests mostly hit keys inserted recently.
        let last: Vec<&Request> = v[90_000..].iter().filter(|r| r.op == Op::Get).collect();
        let recent = last
            .iter()
            .filter(|r| r.key >= 1000 + inserts.len() as u64 - 1000)
            .count();
        assert!(recent as f64 > 0.5 * last.len() as f64);
    }

    #[test]
    fn loop_scans_and_rmw_pairs() {
        let v = collect("loop", 3, 7, 0);
        assert_eq!(
            v.iter().map(|r| r.key).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2, 0]
        );
        let v = collect("uniform,rmw=1", 100, 10, 0);
        for pair in v.chunks(2) {
            assert_eq!((pair[0].op, pair[1].op), (Op::Get, Op::Set));
            assert_eq!(pair[0].key, pair[1].key);
        }
        let v = collect("uniform,scan=1,scan-len=fixed:4", 100, 8, 0);
        for run in v.chunks(4) {
            for w in run.windows(2) {
                assert_eq!(w[1].key, (w[0].key + 1) % 100);
            }
        }
    }

    #[test]
    fn hotspot_and_phases_and_shift() {
        let v = collect("hotspot", 1000, 100_000, 2);
        let hot = v.iter().filter(|r| r.key < 200).count() as f64 / 1e5;
        assert!((hot - 0.8).abs() < 0.01, "{hot}");
        // Phase: zipf (key 0 hottest) then latest (key 999 hottest).
        let v = collect("zipf:1.2,phase=5000:latest:1.2", 1000, 10_000, 2);
        let zeros = |s: &[Request], k| s.iter().filter(|r| r.key == k).count();
        assert!(zeros(&v[..5000], 0) > 1000 && zeros(&v[..5000], 999) < 10);
        assert!(zeros(&v[5000..], 999) > 1000 && zeros(&v[5000..], 0) < 10);
        // Shift: after 5000 requests the hottest key moves from 0 to 100.
        let v = collect("zipf:1.2,shift=5000:100", 1000, 10_000, 2);
        assert!(zeros(&v[5000..], 100) > 1000 && zeros(&v[5000..], 0) < 10);
    }

    #[test]
    fn arrival_times() {
        let v = collect("uniform,arrival=constant:1000", 10, 5, 0);
        assert_eq!(
            v.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        let v = collect("uniform,arrival=poisson:100", 10, 100_000, 0);
        // 100 requests per second: 100,000 requests take about 1,000 s.
        let end = v.last().unwrap().time_ms as f64;
        assert!((end - 1_000_000.0).abs() < 10_000.0, "{end}");
        assert!(v.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        // Time-based phase.
        let v = collect(
            "zipf:1.5,arrival=constant:1000,phase=5s:latest:1.5",
            100,
            10_000,
            0,
        );
        assert!(v[..5000].iter().filter(|r| r.key == 99).count() < 20);
        assert!(v[5000..].iter().filter(|r| r.key == 99).count() > 1000);
    }

    #[test]
    fn scrambled_zipf_maps_ranks_through_fnv() {
        // The hottest key of scrambled-zipf over n keys is fnv(0) mod n.
        let v = collect("scrambled-zipf:1.5", 1000, 10_000, 5);
        let hottest = ycsb_fnv64(0) % 1000;
        let c = v.iter().filter(|r| r.key == hottest).count();
        assert!(c > 3000, "{c}");
        assert!(
            WorkloadSpec::parse("uniform")
                .unwrap()
                .build(0, 1, 0)
                .is_err()
        );
    }
}
