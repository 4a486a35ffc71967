//! jemalloc's size classes: what `zmalloc_size` (and so Redis's `used_memory`) counts for an
//! allocation of `n` bytes.
//!
//! jemalloc 5.3 (bundled with Redis 7.0, `deps/jemalloc/VERSION`; also Debian's system
//! library) rounds a request up to a size class. With `LG_QUANTUM` = 3 (Redis's bundled build,
//! `deps/Makefile` passes `--with-lg-quantum=3`, redis commit 968e838 "24 bytes size
//! classes") the classes are 8, 16, 24, …, 64 in steps of 8; with the default
//! `LG_QUANTUM` = 4 (distribution packages) they are 8, then 16, 32, …, 128 in steps of 16.
//! Above that both follow jemalloc's four classes per doubling (`sc.c`, `LG_NGROUP` = 2):
//! 80, 96, 112, 128, 160, 192, 224, 256, 320, … — the same rule holds for large classes
//! (16 KiB and up, page multiples), so one formula covers every size Redis allocates.
//! Source: jemalloc `doc/jemalloc.xml.in` ("Size classes" table) and `src/sc.c`.

/// The jemalloc quantum: 8 (Redis's bundled jemalloc) or 16 (a system jemalloc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quantum {
    /// `--with-lg-quantum=3`: Redis's bundled jemalloc (official builds, Docker images).
    #[default]
    Q8,
    /// jemalloc's default 16-byte quantum: Debian's and Ubuntu's redis-server packages.
    Q16,
}

impl Quantum {
    /// The quantum in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            Quantum::Q8 => 8,
            Quantum::Q16 => 16,
        }
    }
}

/// The usable size jemalloc gives a request of `n` bytes (`je_malloc_usable_size`), which is
/// what zmalloc adds to `used_memory`. `n = 0` counts as the smallest class, as `malloc(0)`
/// returns one.
#[inline]
pub fn size_class(n: u64, q: Quantum) -> u64 {
    if n <= 8 {
        return 8;
    }
    let quantum = q.bytes();
    // Quantum-spaced classes run up to 8 quanta (64 with quantum 8, 128 with quantum 16).
    if n <= 8 * quantum {
        return n.div_ceil(quantum) * quantum;
    }
    // Four classes per doubling: the largest power of two below n, split in quarters.
    let p = 1u64 << (63 - (n - 1).leading_zeros());
    let step = p / 4;
    n.div_ceil(step) * step
}

/// [`size_class`], or 0 for "no allocation".
#[inline]
pub fn alloc(n: u64, q: Quantum) -> u64 {
    if n == 0 { 0 } else { size_class(n, q) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_quantum_8() {
        let classes: Vec<u64> = [
            1, 9, 17, 24, 25, 33, 41, 49, 57, 64, 65, 81, 97, 113, 129, 161,
        ]
        .iter()
        .map(|&n| size_class(n, Quantum::Q8))
        .collect();
        assert_eq!(
            classes,
            [
                8, 16, 24, 24, 32, 40, 48, 56, 64, 64, 80, 96, 112, 128, 160, 192
            ]
        );
        assert_eq!(size_class(257, Quantum::Q8), 320);
        assert_eq!(size_class(536, Quantum::Q8), 640);
        assert_eq!(size_class(4096, Quantum::Q8), 4096);
        assert_eq!(size_class(4097, Quantum::Q8), 5120);
        assert_eq!(size_class(16385, Quantum::Q8), 20480);
        assert_eq!(size_class(1 << 20, Quantum::Q8), 1 << 20);
    }

    #[test]
    fn classes_quantum_16_have_no_24() {
        let classes: Vec<u64> = [1, 8, 9, 17, 24, 33, 49, 65, 100, 128, 129, 200]
            .iter()
            .map(|&n| size_class(n, Quantum::Q16))
            .collect();
        assert_eq!(classes, [8, 8, 16, 32, 32, 48, 64, 80, 112, 128, 160, 224]);
        assert_eq!(alloc(0, Quantum::Q16), 0);
    }
}
