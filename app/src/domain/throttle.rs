//! Progressive delays instead of a hard lock: the first `free` failures cost
//! nothing, then each one doubles the wait before the next try (up to `max`).
//! A key that stays quiet for `forget_after` starts again from zero. Used for
//! logins, keyed by (address, client), by client and by address.

/// How one throttle key slows down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// Failures allowed without any wait.
    pub free: u32,
    /// The first wait, in milliseconds.
    pub base_ms: i64,
    /// The longest wait, in milliseconds.
    pub max_ms: i64,
    /// Failures older than this (since the key's last update) are forgotten.
    pub forget_after_ms: i64,
}

/// The state of a key, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures counted so far (a try counts as one until it succeeds).
    pub failures: u32,
    /// No try before this instant (epoch ms).
    pub next_allowed_at: i64,
    /// Last change (epoch ms).
    pub updated_at: i64,
}

/// What a try may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead; store this state first (it counts the try as a failure until it succeeds).
    Reserve(ThrottleState),
    /// Wait this many milliseconds.
    Wait(i64),
}

impl Throttle {
    /// The wait after `failures` failures.
    #[must_use]
    pub fn delay_ms(&self, failures: u32) -> i64 {
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(40);
        self.base_ms.saturating_mul(1_i64 << doublings).min(self.max_ms)
    }

    /// Whether a try may start at `now`, given the key's stored state (none: a new key).
    #[must_use]
    pub fn admit(&self, stored: Option<ThrottleState>, now: i64) -> Admission {
        let current = stored.filter(|s| now - s.updated_at < self.forget_after_ms).unwrap_or(ThrottleState {
            failures: 0,
            next_allowed_at: 0,
            updated_at: now,
        });
        if current.next_allowed_at > now {
            return Admission::Wait(current.next_allowed_at - now);
        }
        let failures = current.failures.saturating_add(1);
        // A free try leaves the gate where it was: tries that started a moment
        // earlier (and carry an earlier `now`) must not find it closed.
        let next_allowed_at = match self.delay_ms(failures) {
            0 => current.next_allowed_at,
            delay => now + delay,
        };
        Admission::Reserve(ThrottleState { failures, next_allowed_at, updated_at: now.max(current.updated_at) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LOGIN: Throttle = Throttle { free: 5, base_ms: 1_000, max_ms: 900_000, forget_after_ms: 3_600_000 };

    fn run(throttle: &Throttle, tries: u32, now: i64) -> (u32, Option<ThrottleState>) {
        let mut stored = None;
        let mut admitted = 0;
        for _ in 0..tries {
            if let Admission::Reserve(next) = throttle.admit(stored, now) {
                stored = Some(next);
                admitted += 1;
            }
        }
        (admitted, stored)
    }

    #[test]
    fn free_tries_then_doubling_waits() {
        assert_eq!(LOGIN.delay_ms(4), 0);
        assert_eq!(LOGIN.delay_ms(5), 1_000);
        assert_eq!(LOGIN.delay_ms(6), 2_000);
        assert_eq!(LOGIN.delay_ms(9), 16_000);
        assert_eq!(LOGIN.delay_ms(200), 900_000);
    }

    #[test]
    fn at_one_instant_only_the_free_tries_pass() {
        let (admitted, stored) = run(&LOGIN, 50, 1_000_000);
        assert_eq!(admitted, 5);
        assert_eq!(stored.map(|s| s.next_allowed_at), Some(1_001_000));
    }

    #[test]
    fn after_the_wait_one_more_try_passes() {
        let (_, stored) = run(&LOGIN, 5, 0);
        assert_eq!(LOGIN.admit(stored, 999), Admission::Wait(1));
        assert!(matches!(LOGIN.admit(stored, 1_000), Admission::Reserve(s) if s.failures == 6));
    }

    #[test]
    fn a_free_try_never_closes_the_gate_on_a_try_that_started_earlier() {
        let first = LOGIN.admit(None, 1_000);
        let Admission::Reserve(stored) = first else { panic!("{first:?}") };
        assert!(matches!(LOGIN.admit(Some(stored), 999), Admission::Reserve(_)));
    }

    #[test]
    fn a_quiet_key_is_forgotten() {
        let (_, stored) = run(&LOGIN, 12, 0);
        assert!(matches!(LOGIN.admit(stored, 3_600_000), Admission::Reserve(s) if s.failures == 1));
    }

    proptest! {
        #[test]
        fn never_more_than_the_free_tries_at_one_instant(free in 0u32..20, tries in 0u32..100, now in 0i64..1_000_000_000) {
            let throttle = Throttle { free, ..LOGIN };
            let (admitted, _) = run(&throttle, tries, now);
            prop_assert_eq!(admitted, tries.min(free.max(1)));
        }
    }
}
