//! Key distributions and the page-level prediction of copy-on-write.
//!
//! A write to a key dirties the pages of the key's value and of its keyspace entry. With
//! `W` independent writes drawn from a distribution `p` over keys, page `j` is touched by
//! one write with probability `q_j = Σ_{k on j} p_k` and by at least one of `W` writes with
//! probability `1 − (1 − q_j)^W`; the expected number of distinct dirtied pages is the sum
//! over pages ([`evictlab_engine::persist::pages::expected_distinct_pages`]). With `P`
//! pages of equal weight (uniform keys, equal values) this is `P·(1 − (1 − 1/P)^W)`.
//!
//! The pages each key occupies are read from the real addresses of its value and entry
//! just before the fork, so the model uses the actual heap layout; what it leaves out is
//! what the allocator, the key table and the stacks touch per write.

use evictlab_engine::persist::pages::expected_distinct_uniform;
use rand::Rng;
use rand::RngExt;
use rand::distr::Distribution as _;

/// How keys are chosen for writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Every key equally likely.
    Uniform,
    /// Zipf with exponent `s` over key ranks; ranks are mapped to keys by a seeded
    /// permutation, so hot keys are scattered over memory as in a real dataset.
    Zipf(f64),
}

impl Distribution {
    /// Parses `uniform` or `zipf:S` (S ≥ 0).
    pub fn parse(s: &str) -> Result<Distribution, String> {
        let t = s.trim().to_ascii_lowercase();
        if t == "uniform" {
            return Ok(Distribution::Uniform);
        }
        if let Some(x) = t.strip_prefix("zipf:") {
            return match x.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(Distribution::Zipf(v)),
                _ => Err(format!(
                    "invalid Zipf exponent '{x}' in '{s}': expected a finite number >= 0, e.g. zipf:0.99"
                )),
            };
        }
        Err(format!(
            "invalid distribution '{s}': expected 'uniform' or 'zipf:S' (e.g. zipf:0.99)"
        ))
    }

    /// The name used in CSV files (`uniform`, `zipf:0.99`).
    pub fn name(&self) -> String {
        match self {
            Distribution::Uniform => "uniform".into(),
            Distribution::Zipf(s) => format!("zipf:{s}"),
        }
    }
}

/// Draws key ids in `0..keys`.
pub struct KeyChooser {
    keys: u32,
    zipf: Option<rand_distr::Zipf<f64>>,
    perm: Vec<u32>,
}

impl KeyChooser {
    /// A chooser over `keys` keys (≥ 1); the rank permutation is drawn from `rng`.
    pub fn new<R: Rng>(dist: Distribution, keys: u32, rng: &mut R) -> Result<KeyChooser, String> {
        let keys = keys.max(1);
        match dist {
            Distribution::Uniform => Ok(KeyChooser {
                keys,
                zipf: None,
                perm: Vec::new(),
            }),
            Distribution::Zipf(s) => {
                let z = rand_distr::Zipf::new(keys as f64, s).map_err(|e| e.to_string())?;
                let mut perm: Vec<u32> = (0..keys).collect();
                // Fisher–Yates with the seeded generator.
                for i in (1..perm.len()).rev() {
                    let j = rng.random_range(0..=i);
                    perm.swap(i, j);
                }
                Ok(KeyChooser {
                    keys,
                    zipf: Some(z),
                    perm,
                })
            }
        }
    }

    /// The next key id.
    #[inline]
    pub fn next<R: Rng>(&self, rng: &mut R) -> u32 {
        match &self.zipf {
            None => rng.random_range(0..self.keys),
            Some(z) => {
                let rank = z.sample(rng) as u32; // 1..=keys
                self.perm[(rank.clamp(1, self.keys) - 1) as usize]
            }
        }
    }

    /// Probability of each key id.
    pub fn probabilities(&self, dist: Distribution) -> Vec<f64> {
        let n = self.keys as usize;
        match dist {
            Distribution::Uniform => vec![1.0 / n as f64; n],
            Distribution::Zipf(s) => {
                let w: Vec<f64> = (1..=n).map(|r| (r as f64).powf(-s)).collect();
                let h: f64 = w.iter().sum();
                let mut p = vec![0.0; n];
                for (rank0, wr) in w.iter().enumerate() {
                    p[self.perm[rank0] as usize] = wr / h;
                }
                p
            }
        }
    }
}

/// The pages of one key at the fork: its value bytes and its keyspace entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPages {
    /// First page of the value (page number = address / 4096).
    pub value_first: u64,
    /// Pages the value spans (0 when it has no heap bytes).
    pub value_pages: u32,
    /// Page of the entry.
    pub entry_page: u64,
}

impl KeyPages {
    /// The pages of `[addr, addr+len)` and of the entry at `entry`.
    pub fn new(addr: usize, len: usize, entry: usize) -> KeyPages {
        let (first, n) = if len == 0 {
            (0, 0)
        } else {
            let f = addr as u64 / 4096;
            let l = (addr + len - 1) as u64 / 4096;
            (f, (l - f + 1) as u32)
        };
        KeyPages {
            value_first: first,
            value_pages: n,
            entry_page: entry as u64 / 4096,
        }
    }
}

/// Per-page touch probabilities `q_j` of one write, over every page any key occupies.
pub fn page_probabilities(keys: &[KeyPages], p: &[f64]) -> Vec<f64> {
    let mut pairs: Vec<(u64, f64)> = Vec::with_capacity(keys.len() * 2);
    for (k, &pk) in keys.iter().zip(p) {
        for i in 0..k.value_pages as u64 {
            pairs.push((k.value_first + i, pk));
        }
        if !(k.value_pages > 0
            && k.entry_page >= k.value_first
            && k.entry_page < k.value_first + k.value_pages as u64)
        {
            pairs.push((k.entry_page, pk));
        }
    }
    pairs.sort_unstable_by_key(|x| x.0);
    let mut q = Vec::new();
    let mut last = None;
    for (page, pk) in pairs {
        if last == Some(page) {
            if let Some(x) = q.last_mut() {
                *x += pk;
            }
        } else {
            q.push(pk);
            last = Some(page);
        }
    }
    q
}

/// The textbook closed form for uniform writes, applied to the two regions a write touches
/// (the values and the keyspace entries): `P_v·(1 − (1 − 1/P_v)^W) + P_e·(1 − (1 − 1/P_e)^W)`,
/// with `P_v`/`P_e` the distinct pages the values/entries occupy. It assumes a write touches
/// one page of each region, so it underestimates values larger than a page; for Zipf writes
/// it is what uniform writes would cost.
pub fn closed_form_pages(keys: &[KeyPages], writes: u64) -> f64 {
    let mut v: Vec<u64> = Vec::with_capacity(keys.len());
    let mut e: Vec<u64> = Vec::with_capacity(keys.len());
    for k in keys {
        v.extend((0..k.value_pages as u64).map(|i| k.value_first + i));
        e.push(k.entry_page);
    }
    for x in [&mut v, &mut e] {
        x.sort_unstable();
        x.dedup();
    }
    expected_distinct_uniform(v.len() as u64, writes)
        + expected_distinct_uniform(e.len() as u64, writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use evictlab_engine::persist::pages::expected_distinct_pages;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn parses_distributions() {
        assert_eq!(Distribution::parse("uniform"), Ok(Distribution::Uniform));
        assert_eq!(
            Distribution::parse("zipf:0.99"),
            Ok(Distribution::Zipf(0.99))
        );
        assert!(
            Distribution::parse("zipf:-1")
                .unwrap_err()
                .contains("expected a finite number")
        );
        assert!(
            Distribution::parse("pareto")
                .unwrap_err()
                .contains("'uniform' or 'zipf:S'")
        );
        assert_eq!(Distribution::Zipf(1.2).name(), "zipf:1.2");
    }

    #[test]
    fn page_probabilities_merge_keys_sharing_a_page() {
        // Four 1 KiB values on one page (page 10), entries of all four on page 20, each key
        // with p = 1/4: one value page with q = 1, one entry page with q = 1.
        let keys: Vec<KeyPages> = (0..4)
            .map(|i| KeyPages::new(10 * 4096 + i * 1024, 1024, 20 * 4096 + i * 64))
            .collect();
        let q = page_probabilities(&keys, &[0.25; 4]);
        assert_eq!(q, vec![1.0, 1.0]);
        // A value straddling two pages touches both.
        let k = KeyPages::new(4096 - 8, 16, 0);
        assert_eq!(k.value_pages, 2);
    }

    #[test]
    fn uniform_layout_reduces_to_the_closed_form() {
        // 1000 keys, one per page, entries elsewhere (another 1000 pages, one each): the
        // general sum equals 2·P'(1 − (1 − 1/P')^W) with P' = 1000.
        let keys: Vec<KeyPages> = (0..1000u64)
            .map(|i| KeyPages::new((i * 4096) as usize, 100, ((5000 + i) * 4096) as usize))
            .collect();
        let q = page_probabilities(&keys, &vec![1e-3; 1000]);
        let a = expected_distinct_pages(&q, 700);
        let b = 2.0 * expected_distinct_uniform(1000, 700);
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        let c = closed_form_pages(&keys, 700);
        assert!((a - c).abs() < 1e-6, "{a} vs {c}");
    }

    #[test]
    fn zipf_chooser_matches_its_probabilities() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let c = KeyChooser::new(Distribution::Zipf(1.0), 50, &mut rng).unwrap();
        let p = c.probabilities(Distribution::Zipf(1.0));
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let mut counts = [0u32; 50];
        let n = 200_000;
        for _ in 0..n {
            counts[c.next(&mut rng) as usize] += 1;
        }
        for k in 0..50 {
            let f = counts[k] as f64 / n as f64;
            assert!((f - p[k]).abs() < 0.01, "key {k}: {f} vs {}", p[k]);
        }
    }
}
