//! The client's randomness (transaction ids, retransmission fuzz) from a seed, so a run in
//! virtual time is the same every time it is given the same seed.

/// SplitMix64: small, fast and good enough for ids and jitter; not for secrets.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A whole number of milliseconds in `-bound ..= bound`.
    pub(crate) fn fuzz_ms(&mut self, bound: u64) -> i64 {
        let span = 2 * bound + 1;
        (self.next_u64() % span) as i64 - bound as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_fuzz_in_bounds() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let f = a.fuzz_ms(1000);
            assert!((-1000..=1000).contains(&f));
            b.fuzz_ms(1000);
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
