//! Retransmission of RFC 8415 section 15 with the parameters of section 7.6.
//!
//! RT for the first transmission is IRT + RAND*IRT; each later one is 2*RTprev + RAND*RTprev,
//! and MRT + RAND*MRT once that passes MRT (when MRT is not 0). RAND is uniform in
//! [-0.1, +0.1], drawn at a thousandth's grain; for the first Solicit it is strictly positive
//! (RFC 8415 18.2.1). An exchange fails once its message went out MRC times (MRC not 0) or MRD
//! has passed since its first transmission (MRD not 0).

use dhcplab_rng::Rng;
use std::time::Duration;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The timing of one kind of exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Longest random delay before the first transmission (SOL_MAX_DELAY, CNF_MAX_DELAY,
    /// INF_MAX_DELAY); zero for the others.
    pub max_delay: Duration,
    /// Initial retransmission time (IRT).
    pub irt: Duration,
    /// Longest retransmission time (MRT); zero for none.
    pub mrt: Duration,
    /// Most transmissions (MRC); zero for no limit.
    pub mrc: u32,
    /// Longest duration (MRD); zero for none (Renew and Rebind set theirs from the binding).
    pub mrd: Duration,
}

/// Solicit: SOL_MAX_DELAY 1 s, SOL_TIMEOUT 1 s, SOL_MAX_RT 3600 s.
pub const SOLICIT: Params = Params {
    max_delay: secs(1),
    irt: secs(1),
    mrt: secs(3600),
    mrc: 0,
    mrd: Duration::ZERO,
};
/// Request: REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10.
pub const REQUEST: Params = Params {
    max_delay: Duration::ZERO,
    irt: secs(1),
    mrt: secs(30),
    mrc: 10,
    mrd: Duration::ZERO,
};
/// Confirm: CNF_MAX_DELAY 1 s, CNF_TIMEOUT 1 s, CNF_MAX_RT 4 s, CNF_MAX_RD 10 s.
pub const CONFIRM: Params = Params {
    max_delay: secs(1),
    irt: secs(1),
    mrt: secs(4),
    mrc: 0,
    mrd: secs(10),
};
/// Renew: REN_TIMEOUT 10 s, REN_MAX_RT 600 s; MRD is the time left to T2.
pub const RENEW: Params = Params {
    max_delay: Duration::ZERO,
    irt: secs(10),
    mrt: secs(600),
    mrc: 0,
    mrd: Duration::ZERO,
};
/// Rebind: REB_TIMEOUT 10 s, REB_MAX_RT 600 s; MRD is the time left to the last valid
/// lifetime's end.
pub const REBIND: Params = Params {
    max_delay: Duration::ZERO,
    irt: secs(10),
    mrt: secs(600),
    mrc: 0,
    mrd: Duration::ZERO,
};
/// Information-request: INF_MAX_DELAY 1 s, INF_TIMEOUT 1 s, INF_MAX_RT 3600 s.
pub const INFORMATION_REQUEST: Params = Params {
    max_delay: secs(1),
    irt: secs(1),
    mrt: secs(3600),
    mrc: 0,
    mrd: Duration::ZERO,
};
/// Release: REL_TIMEOUT 1 s, REL_MAX_RC 4 (RFC 8415 lowered it from RFC 3315's 5).
pub const RELEASE: Params = Params {
    max_delay: Duration::ZERO,
    irt: secs(1),
    mrt: Duration::ZERO,
    mrc: 4,
    mrd: Duration::ZERO,
};
/// Decline: DEC_TIMEOUT 1 s, DEC_MAX_RC 4.
pub const DECLINE: Params = Params {
    max_delay: Duration::ZERO,
    irt: secs(1),
    mrt: Duration::ZERO,
    mrc: 4,
    mrd: Duration::ZERO,
};

/// Information refresh time when the server gives none (IRT_DEFAULT, RFC 8415 7.6).
pub const IRT_DEFAULT: Duration = secs(86_400);
/// Shortest information refresh time honoured (IRT_MINIMUM).
pub const IRT_MINIMUM: Duration = secs(600);

/// `base` scaled by 1 + `thousandths`/1000.
fn scaled(base: Duration, thousandths: i64) -> Duration {
    let ms = base.as_millis() as i64;
    Duration::from_millis((ms + ms * thousandths / 1000).max(0) as u64)
}

/// RT for the first transmission: IRT + RAND*IRT, RAND > 0 when `positive`.
pub(crate) fn first(p: &Params, positive: bool, rng: &mut Rng) -> Duration {
    let r = if positive {
        rng.between(1, 100) as i64
    } else {
        rng.fuzz_ms(100)
    };
    scaled(p.irt, r)
}

/// RT after `previous`: 2*RTprev + RAND*RTprev, or MRT + RAND*MRT past MRT.
pub(crate) fn next(p: &Params, previous: Duration, rng: &mut Rng) -> Duration {
    let ms = previous.as_millis() as i64;
    let doubled = Duration::from_millis((2 * ms + ms * rng.fuzz_ms(100) / 1000).max(0) as u64);
    if !p.mrt.is_zero() && doubled > p.mrt {
        scaled(p.mrt, rng.fuzz_ms(100))
    } else {
        doubled
    }
}

/// The delay before the first transmission: uniform in 0 ..= max_delay (ms grain).
pub(crate) fn initial_delay(p: &Params, rng: &mut Rng) -> Duration {
    if p.max_delay.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_millis(rng.between(0, p.max_delay.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_section_15() {
        let mut rng = Rng::new(11);
        for _ in 0..500 {
            let rt = first(&SOLICIT, true, &mut rng).as_millis();
            assert!(rt > 1000 && rt <= 1100, "{rt}");
            let rt = first(&REQUEST, false, &mut rng).as_millis();
            assert!((900..=1100).contains(&rt), "{rt}");
            let n = next(&REQUEST, Duration::from_secs(8), &mut rng).as_millis();
            assert!((15_200..=16_800).contains(&n), "{n}");
            let capped = next(&REQUEST, Duration::from_secs(29), &mut rng).as_millis();
            assert!((27_000..=33_000).contains(&capped), "{capped}");
            let d = initial_delay(&CONFIRM, &mut rng).as_millis();
            assert!(d <= 1000);
            assert_eq!(initial_delay(&RENEW, &mut rng), Duration::ZERO);
        }
    }
}
