//! Seeded random numbers: the client's transaction ids and retransmission fuzz, and the
//! simulator's faults and randomized scenarios all come from one seed, so a run in virtual time
//! is the same every time it is given the same seed.

/// SplitMix64: small, fast and good enough for ids, jitter and fault draws; not for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A whole number of milliseconds in `-bound ..= bound`.
    pub fn fuzz_ms(&mut self, bound: u64) -> i64 {
        let span = 2 * bound + 1;
        (self.next_u64() % span) as i64 - bound as i64
    }

    /// A number in `low ..= high` (`low` when `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        match (high - low).checked_add(1) {
            Some(span) => low + self.next_u64() % span,
            None => self.next_u64(),
        }
    }

    /// True with probability `p`; 0 and 1 draw no number, so a perfect link consumes no
    /// randomness.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }

    /// A generator for a part of the run (a host, a link) derived from this one's seed and a
    /// label, so parts draw independently of each other's consumption.
    pub fn fork(seed: u64, label: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut r = Self::new(seed ^ h);
        r.next_u64();
        r
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

    #[test]
    fn between_and_chance_stay_in_bounds() {
        let mut r = Rng::new(3);
        let mut hits = 0;
        for _ in 0..10_000 {
            let v = r.between(5, 9);
            assert!((5..=9).contains(&v));
            if r.chance(0.25) {
                hits += 1;
            }
        }
        assert!((2000..3000).contains(&hits), "{hits}");
        assert_eq!(r.between(4, 4), 4);
        assert_eq!(r.between(9, 4), 9);
        let _ = r.between(0, u64::MAX);
        let mut z = Rng::new(3);
        let before = z.clone().next_u64();
        assert!(!z.chance(0.0));
        assert_eq!(z.next_u64(), before, "chance(0) draws nothing");
    }

    #[test]
    fn forks_differ_by_label_and_repeat() {
        assert_eq!(Rng::fork(1, "a").next_u64(), Rng::fork(1, "a").next_u64());
        assert_ne!(Rng::fork(1, "a").next_u64(), Rng::fork(1, "b").next_u64());
    }
}
