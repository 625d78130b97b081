//! Latency percentiles in constant memory: a log-linear histogram of nanoseconds (64 buckets
//! per power of two, so every value is kept within 1/64 of itself), as HdrHistogram does, for
//! the p50/p99/p99.9 perfdhcp does not report.

/// Buckets per power of two.
const SUB: u64 = 64;
/// Powers of two covered above the exact range: values up to 2^(7 + 57) ns.
const BUCKETS: usize = (SUB as usize) * 58;

/// Counts of latencies, in nanoseconds.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

/// The bucket of `v`: exact below 2 * SUB, then SUB buckets per power of two.
fn bucket(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let shift = 63 - u64::from(v.leading_zeros()) - SUB.trailing_zeros() as u64;
    let index = shift * SUB + (v >> shift);
    (index as usize).min(BUCKETS - 1)
}

/// The highest value bucket `index` holds.
fn highest(index: usize) -> u64 {
    let index = index as u64;
    if index < 2 * SUB {
        return index;
    }
    let shift = index / SUB - 1;
    let mantissa = index - shift * SUB;
    ((mantissa + 1) << shift) - 1
}

impl Histogram {
    /// Counts one latency.
    pub fn record(&mut self, nanos: u64) {
        self.counts[bucket(nanos)] += 1;
        self.total += 1;
        self.sum += u128::from(nanos);
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
    }

    /// How many latencies were counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The smallest latency, if any.
    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    /// The largest latency, if any.
    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    /// The mean latency, if any.
    pub fn mean(&self) -> Option<u64> {
        (self.total > 0).then(|| u64::try_from(self.sum / u128::from(self.total)).unwrap_or(0))
    }

    /// The latency at or under which `q` (0 to 1) of them fall, within 1/64 of its value (the
    /// top of its bucket, never above the largest seen).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(highest(i).min(self.max).max(self.min));
            }
        }
        Some(self.max)
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_of_a_uniform_spread() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let within = |got: u64, want: u64| got.abs_diff(want) <= want / 64 + 1;
        let p50 = h.quantile(0.5).expect("p50");
        assert!(within(p50, 50_000_000), "p50 {p50}");
        let p99 = h.quantile(0.99).expect("p99");
        assert!(within(p99, 99_000_000), "p99 {p99}");
        assert_eq!(h.quantile(1.0), Some(100_000_000));
        assert_eq!(h.min(), Some(1000));
        assert_eq!(h.mean(), Some(50_000_500));
    }

    #[test]
    fn an_empty_histogram_has_no_quantile() {
        assert_eq!(Histogram::default().quantile(0.5), None);
        assert_eq!(Histogram::default().mean(), None);
    }

    proptest! {
        #[test]
        fn every_value_is_kept_within_a_64th(v in 0u64..u64::MAX / 4) {
            let b = bucket(v);
            let top = highest(b);
            prop_assert!(top >= v);
            prop_assert!(top - v <= v / 64 + 1, "v {} bucket {} top {}", v, b, top);
        }
    }
}
