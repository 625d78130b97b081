//! Retransmission delays of RFC 2131 section 4.1: 4 s, doubling up to 64 s, each randomized by
//! a uniform amount in -1 s ..= +1 s (at millisecond grain).

use dhcplab_rng::Rng;
use std::time::Duration;

/// The first delay.
pub const FIRST: Duration = Duration::from_secs(4);
/// The longest delay.
pub const LONGEST: Duration = Duration::from_secs(64);

/// The delay before retransmission number `attempt` (0 for the wait after the first send).
pub(crate) fn delay(attempt: u32, rng: &mut Rng) -> Duration {
    let base = FIRST
        .saturating_mul(1u32 << attempt.min(4))
        .min(LONGEST)
        .as_millis() as i64;
    Duration::from_millis((base + rng.fuzz_ms(1000)).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_sixty_four_within_a_second() {
        let mut rng = Rng::new(3);
        for (attempt, base) in [(0, 4), (1, 8), (2, 16), (3, 32), (4, 64), (5, 64), (9, 64)] {
            for _ in 0..200 {
                let d = delay(attempt, &mut rng).as_millis() as i64;
                assert!((d - base * 1000).abs() <= 1000, "attempt {attempt}: {d} ms");
            }
        }
    }
}
