//! An exact Zipf sampler for any exponent `s > 0` (including `s ≥ 1`) and any `n`, fast
//! enough that the feeder never limits a simulation.
//!
//! P(rank = r) = r^-s / H(n, s) for r in 1..=n (the API returns 0-based ranks).
//!
//! # Method
//!
//! YCSB's generator (Gray et al., "Quickly generating billion-record synthetic databases",
//! SIGMOD 1994) is an approximation whose `1/(1-θ)` breaks at θ = 1. We sample the exact
//! pmf as a two-part mixture:
//!
//! * **Head** — ranks `1..=K` with `K = min(n, HEAD_RANKS)`: Walker's alias method (Vose's
//!   O(K) construction, "A linear algorithm for generating random numbers with a given
//!   distribution", IEEE TSE 1991). The table is padded to a power of two so the column is
//!   the top bits of one 64-bit draw and the in-column threshold is its low 32 bits. O(1),
//!   one cache-resident table lookup (8 bytes per rank, 512 KiB at `K = 2^16`).
//! * **Tail** — ranks `K+1..=n`: rejection-inversion (Hörmann & Derflinger, "Rejection-
//!   inversion to generate variates from monotone discrete distributions", ACM TOMACS 6(3),
//!   1996), the method of Apache Commons RNG's `RejectionInversionZipfSampler` and of
//!   `rand_distr::Zipf`, here restricted to the range `[K+1, n]`. Exact for every `s > 0`
//!   (the `s = 1` case is handled by the series forms of `log1p(x)/x` and `expm1(x)/x`), no
//!   table, O(1) expected time (acceptance > 0.9 at `K+1 ≥ 2`).
//!
//! The head/tail choice is a Bernoulli draw with P(head) = Σ_{r≤K} r^-s / H(n, s); the head
//! sum and tail terms below rank 65,537 are summed directly (once, at construction), the
//! tail beyond by Euler–Maclaurin (three correction terms; starting at 65,537 the remainder
//! is below 1e-16 relative). For `n ≤ HEAD_RANKS` there is no tail at all. When the key space grows (`latest` with
//! inserts) [`Zipf::set_n`] updates the tail in O(1).
//!
//! Deviation from exactness, stated: alias thresholds are quantised to 2^-32 of a column
//! (relative error < 1e-8 on any rank's probability). `rand_distr::Zipf` costs two to four
//! `ln`/`exp` per draw on every draw; the head path costs none, so this sampler is several
//! times faster when most mass is in the head (`cargo bench --bench workloads` compares).

use rand::Rng;

use crate::hash::unit_f64;

/// Ranks covered by the alias-table head (2^16: 512 KiB of table, fits in L2).
pub const HEAD_RANKS: u64 = 1 << 16;

/// Walker's alias table over `len` outcomes, padded to a power of two.
#[derive(Clone, Debug)]
pub struct AliasTable {
    /// `(threshold, alias)`: stay in the column when the low 32 bits are below `threshold`
    /// (a full column has `alias` = itself).
    cols: Vec<(u32, u32)>,
    shift: u32,
}

impl AliasTable {
    /// A table for the given non-negative weights (at least one positive, at most 2^32).
    /// Returns `None` for an empty or all-zero weight list.
    pub fn new(weights: &[f64]) -> Option<AliasTable> {
        let total: f64 = weights.iter().sum();
        if weights.is_empty() || weights.len() > u32::MAX as usize || total.is_nan() || total <= 0.0
        {
            return None;
        }
        let size = weights.len().next_power_of_two();
        let scale = size as f64 / total;
        let mut p: Vec<f64> = (0..size)
            .map(|i| weights.get(i).copied().unwrap_or(0.0) * scale)
            .collect();
        let mut cols: Vec<(u32, u32)> = (0..size as u32).map(|i| (0, i)).collect();
        let mut small: Vec<u32> = Vec::new();
        let mut large: Vec<u32> = Vec::new();
        for (i, &x) in p.iter().enumerate() {
            if x < 1.0 {
                small.push(i as u32)
            } else {
                large.push(i as u32)
            }
        }
        // Vose's construction: pair an under-full column with an over-full one.
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            cols[s as usize] = (threshold(p[s as usize]), l);
            p[l as usize] -= 1.0 - p[s as usize];
            if p[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are full columns up to rounding error.
        for i in large.into_iter().chain(small) {
            cols[i as usize] = (u32::MAX, i);
        }
        Some(AliasTable {
            shift: 64 - size.trailing_zeros(),
            cols,
        })
    }

    /// Number of columns (a power of two ≥ the number of weights).
    pub fn columns(&self) -> usize {
        self.cols.len()
    }

    /// An outcome from one 64-bit random draw.
    #[inline(always)]
    pub fn pick(&self, x: u64) -> u32 {
        // `checked_shr` handles the one-column table (shift = 64).
        let col = x.checked_shr(self.shift).unwrap_or(0) as usize;
        // In bounds: `col < 2^(64 - shift) = cols.len()` by construction.
        let (thr, alias) = self.cols[col];
        if (x as u32) < thr || thr == u32::MAX {
            col as u32
        } else {
            alias
        }
    }
}

fn threshold(p: f64) -> u32 {
    (p * 4_294_967_296.0).clamp(0.0, u32::MAX as f64) as u32
}

/// `log1p(x)/x`, with its series near 0 (Commons RNG `helper1`).
#[inline]
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `expm1(x)/x`, with its series near 0 (Commons RNG `helper2`).
#[inline]
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

/// Rejection-inversion for P(k) ∝ k^-s on `[lo, hi]` (Hörmann & Derflinger 1996).
#[derive(Clone, Debug)]
pub struct RejectionInversion {
    s: f64,
    lo: u64,
    hi: u64,
    /// H(lo + 0.5) - h(lo): the lower end of the `u` interval (rank `lo` gets exactly h(lo)).
    h_lo: f64,
    /// H(hi + 0.5): the upper end.
    h_hi: f64,
    /// Accept without evaluating H when `k - x <= squeeze`.
    squeeze: f64,
}

impl RejectionInversion {
    /// The sampler for `lo..=hi` (1 ≤ lo ≤ hi), exponent `s > 0`.
    pub fn new(s: f64, lo: u64, hi: u64) -> RejectionInversion {
        let mut r = RejectionInversion {
            s,
            lo,
            hi,
            h_lo: 0.0,
            h_hi: 0.0,
            squeeze: 0.0,
        };
        r.h_lo = r.big_h(lo as f64 + 0.5) - r.h(lo as f64);
        // The squeeze bound k - H^-1(H(k+0.5) - h(k)) grows with k; its smallest value on
        // k > lo is at lo + 1 (Commons RNG uses k = 2 for lo = 1).
        let k1 = lo as f64 + 1.0;
        r.squeeze = k1 - r.big_h_inv(r.big_h(k1 + 0.5) - r.h(k1));
        r.set_hi(hi);
        r
    }

    /// Moves the upper end (O(1)).
    pub fn set_hi(&mut self, hi: u64) {
        self.hi = hi.max(self.lo);
        self.h_hi = self.big_h(self.hi as f64 + 0.5);
    }

    #[inline]
    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    /// H(x) = ∫ h = (x^(1-s) - 1) / (1 - s), or ln x at s = 1.
    #[inline]
    fn big_h(&self, x: f64) -> f64 {
        let lx = x.ln();
        helper2((1.0 - self.s) * lx) * lx
    }

    #[inline]
    fn big_h_inv(&self, y: f64) -> f64 {
        let t = (y * (1.0 - self.s)).max(-1.0);
        (helper1(t) * y).exp()
    }

    /// One rank in `lo..=hi`.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        loop {
            let u = self.h_hi + unit_f64(rng.next_u64()) * (self.h_lo - self.h_hi);
            let x = self.big_h_inv(u);
            let k = ((x + 0.5) as u64).clamp(self.lo, self.hi);
            let kf = k as f64;
            if kf - x <= self.squeeze || u >= self.big_h(kf + 0.5) - self.h(kf) {
                return k;
            }
        }
    }
}

/// Where the Euler–Maclaurin tail sum starts; below it tail masses are summed directly.
const EM_START: u64 = HEAD_RANKS + 1;

/// Σ_{r=a}^{b} r^-s by Euler–Maclaurin (accurate to ~1e-16 relative for a ≥ 2^16).
fn tail_sum(s: f64, a: u64, b: u64) -> f64 {
    if b < a {
        return 0.0;
    }
    let (af, bf) = (a as f64, b as f64);
    let big_h = |x: f64| {
        let lx = x.ln();
        helper2((1.0 - s) * lx) * lx
    };
    let p = |x: f64, e: f64| (-e * x.ln()).exp();
    // ∫_a^b x^-s dx + (f(a) + f(b))/2 - B2/2! (f'(b) - f'(a)) - B4/4! (f'''(b) - f'''(a))
    // with f' = -s x^(-s-1), f''' = -s(s+1)(s+2) x^(-s-3), B2 = 1/6, B4 = -1/30.
    let integral = big_h(bf) - big_h(af);
    let ends = 0.5 * (p(af, s) + p(bf, s));
    let d1 = -s * (p(bf, s + 1.0) - p(af, s + 1.0));
    let d3 = -s * (s + 1.0) * (s + 2.0) * (p(bf, s + 3.0) - p(af, s + 3.0));
    integral + ends + d1 / 12.0 - d3 / 720.0
}

/// Zipf over ranks `0..n` (0 = most popular), exponent `s > 0`.
#[derive(Clone, Debug)]
pub struct Zipf {
    s: f64,
    n: u64,
    k: u64,
    head: AliasTable,
    head_mass: f64,
    /// P(head) as a threshold on 53-bit uniforms: head when `draw >> 11 < head_threshold`.
    head_threshold: u64,
    tail: Option<RejectionInversion>,
    /// `prefix[i]` = Σ r^-s for r in `k+1 ..= k+1+i`, up to `EM_START - 1` (empty when the
    /// head reaches `EM_START`): exact tail masses below the Euler–Maclaurin range.
    prefix: Vec<f64>,
}

impl Zipf {
    /// Zipf over `n ≥ 1` ranks with exponent `s > 0` (finite). `None` otherwise.
    pub fn new(n: u64, s: f64) -> Option<Zipf> {
        Zipf::with_head(n, s, HEAD_RANKS)
    }

    /// As [`Zipf::new`] with a chosen head size (tests and benches).
    pub fn with_head(n: u64, s: f64, head_ranks: u64) -> Option<Zipf> {
        if n == 0 || !(s > 0.0 && s.is_finite()) || head_ranks == 0 {
            return None;
        }
        let k = n.min(head_ranks);
        let weights: Vec<f64> = (1..=k).map(|r| (-s * (r as f64).ln()).exp()).collect();
        // Sum from the smallest term up for accuracy.
        let head_mass: f64 = weights.iter().rev().sum();
        let head = AliasTable::new(&weights)?;
        // Kahan summation of the small-rank tail terms (at most 2^16 of them).
        let mut prefix = Vec::new();
        let (mut sum, mut carry) = (0.0f64, 0.0f64);
        for r in k + 1..EM_START {
            let y = (-s * (r as f64).ln()).exp() - carry;
            let t = sum + y;
            carry = (t - sum) - y;
            sum = t;
            prefix.push(sum);
        }
        let mut z = Zipf {
            s,
            n: k,
            k,
            head,
            head_mass,
            head_threshold: 1 << 53,
            tail: None,
            prefix,
        };
        z.set_n(n);
        Some(z)
    }

    /// The exponent.
    pub fn exponent(&self) -> f64 {
        self.s
    }

    /// The number of ranks.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Changes the number of ranks (`n ≥` the head size given at construction; smaller
    /// values are raised to it). O(1).
    pub fn set_n(&mut self, n: u64) {
        let n = n.max(self.k);
        self.n = n;
        if n == self.k {
            self.tail = None;
            self.head_threshold = 1 << 53;
            return;
        }
        let tail_mass = if n < EM_START {
            self.prefix[(n - self.k - 1) as usize]
        } else {
            self.prefix.last().copied().unwrap_or(0.0)
                + tail_sum(self.s, EM_START.max(self.k + 1), n)
        };
        let p_head = self.head_mass / (self.head_mass + tail_mass);
        self.head_threshold = (p_head * (1u64 << 53) as f64) as u64;
        match &mut self.tail {
            Some(t) => t.set_hi(n),
            None => self.tail = Some(RejectionInversion::new(self.s, self.k + 1, n)),
        }
    }

    /// The exact probability of 0-based `rank` (for tests): r^-s / H(n, s), with H(n, s)
    /// summed directly (O(n)).
    pub fn pmf_exact(n: u64, s: f64) -> Vec<f64> {
        let w: Vec<f64> = (1..=n).map(|r| (-s * (r as f64).ln()).exp()).collect();
        let total: f64 = w.iter().rev().sum();
        w.into_iter().map(|x| x / total).collect()
    }

    /// One 0-based rank.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match &self.tail {
            None => self.head.pick(rng.next_u64()) as u64,
            Some(t) => {
                if (rng.next_u64() >> 11) < self.head_threshold {
                    self.head.pick(rng.next_u64()) as u64
                } else {
                    t.sample(rng) - 1
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Draws `draws` ranks and compares with the exact pmf: each of the top 20 ranks within
    /// 5 standard errors (plus 1e-4 slack), and a chi-square over rank bins (top ranks
    /// singly, the rest in geometric bins of ≥ 1/200 mass) below a bound that a wrong
    /// exponent exceeds by orders of magnitude.
    fn check(sampler: &Zipf, n: u64, s: f64, draws: u64, seed: u64) -> f64 {
        let pmf = Zipf::pmf_exact(n, s);
        let mut counts = vec![0u64; n as usize];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..draws {
            let r = sampler.sample(&mut rng);
            assert!(r < n, "rank {r} out of range");
            counts[r as usize] += 1;
        }
        let d = draws as f64;
        for r in 0..20.min(n as usize) {
            let p = pmf[r];
            let obs = counts[r] as f64 / d;
            let se = (p * (1.0 - p) / d).sqrt();
            assert!(
                (obs - p).abs() <= 5.0 * se + 1e-4,
                "s={s} n={n} rank {r}: observed {obs:.6}, exact {p:.6}"
            );
        }
        // Bins of ≥ 1/200 expected mass.
        let mut chi2 = 0.0;
        let mut bins = 0;
        let (mut e, mut o) = (0.0, 0.0);
        for r in 0..n as usize {
            e += pmf[r] * d;
            o += counts[r] as f64;
            if e >= d / 200.0 || r + 1 == n as usize {
                chi2 += (o - e) * (o - e) / e;
                bins += 1;
                e = 0.0;
                o = 0.0;
            }
        }
        // Mean of chi2 is bins-1; 5 sigma above it is bins + 5*sqrt(2 bins).
        let bound = bins as f64 + 5.0 * (2.0 * bins as f64).sqrt();
        assert!(
            chi2 < bound,
            "s={s} n={n}: chi2 {chi2:.1} over {bins} bins > {bound:.1}"
        );
        chi2
    }

    #[test]
    fn matches_exact_pmf_for_required_exponents() {
        // n = 200,000 > HEAD_RANKS: both the alias head and the rejection-inversion tail run.
        for (i, s) in [0.6, 0.99, 1.0, 1.2].into_iter().enumerate() {
            let z = Zipf::new(200_000, s).unwrap();
            check(&z, 200_000, s, 1_000_000, 7 + i as u64);
        }
    }

    #[test]
    fn tail_alone_matches_exact_pmf() {
        // A head of one rank: almost everything goes through rejection-inversion on [2, n].
        for s in [0.6, 1.0, 1.2, 2.5] {
            let z = Zipf::with_head(5_000, s, 1).unwrap();
            check(&z, 5_000, s, 400_000, 3);
        }
    }

    #[test]
    fn a_wrong_exponent_fails_the_check() {
        // Sampling with s = 0.95 and checking against 0.99 must fail: the test can fail.
        let z = Zipf::new(200_000, 0.95).unwrap();
        let r = std::panic::catch_unwind(|| check(&z, 200_000, 0.99, 1_000_000, 1));
        assert!(r.is_err());
    }

    #[test]
    fn head_only_and_growth() {
        let mut z = Zipf::new(10, 1.0).unwrap();
        check(&z, 10, 1.0, 200_000, 5);
        z.set_n(100_000);
        check(&z, 100_000, 1.0, 300_000, 6);
    }

    #[test]
    fn tail_sum_matches_direct_sum() {
        for s in [0.6, 1.0, 1.2] {
            let direct: f64 = (65_537..=400_000u64)
                .rev()
                .map(|r| (r as f64).powf(-s))
                .sum();
            let em = tail_sum(s, 65_537, 400_000);
            assert!(
                ((em - direct) / direct).abs() < 1e-12,
                "s={s}: {em} vs {direct}"
            );
        }
    }

    #[test]
    fn alias_table_is_exact_on_a_small_case() {
        // Weights 1,2,3,2 over 4 columns: per-column totals must reproduce 1/8, 2/8, 3/8, 2/8.
        let t = AliasTable::new(&[1.0, 2.0, 3.0, 2.0]).unwrap();
        let mut mass = [0.0f64; 4];
        for (col, &(thr, alias)) in t.cols.iter().enumerate() {
            let stay = if thr == u32::MAX {
                1.0
            } else {
                thr as f64 / 4_294_967_296.0
            };
            mass[col] += stay / 4.0;
            mass[alias as usize] += (1.0 - stay) / 4.0;
        }
        for (m, w) in mass.iter().zip([1.0, 2.0, 3.0, 2.0]) {
            assert!((m - w / 8.0).abs() < 1e-9, "{mass:?}");
        }
        assert!(AliasTable::new(&[]).is_none());
        assert!(AliasTable::new(&[0.0]).is_none());
        assert!(Zipf::new(0, 1.0).is_none());
        assert!(Zipf::new(10, 0.0).is_none());
        assert!(Zipf::new(10, f64::NAN).is_none());
    }
}
