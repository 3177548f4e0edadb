//! The one backoff of every retry loop (the cloud's lookup, the websockets of the cloud and
//! the HCU, the databases' connections and their pub/sub, writes the database refused).
//!
//! Delays double from `min` up to `max`, and each wait is jittered between half and all of
//! its delay: after an eQ-3 outage, thousands of installations that lost the cloud at the
//! same moment must not knock again at the same moments.

use std::time::Duration;

use rand::Rng;

/// Doubling, jittered delays between attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Delays from `min` doubling up to `max` (`max` below `min` counts as `min`).
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The wait before the next attempt, and the delay doubles for the one after.
    pub fn next_wait(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        jittered(delay)
    }

    /// The delay the next wait is jittered from (for a log line).
    pub fn delay(&self) -> Duration {
        self.next
    }

    /// Start again from `min` (after a success).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// `delay` with jitter: between half and all of it.
pub fn jittered(delay: Duration) -> Duration {
    let half = delay / 2;
    half + delay
        .saturating_sub(half)
        .mul_f64(rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_maximum_each_jittered_within_half_and_all_of_it() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        for delay in [100u64, 200, 400, 800, 800, 800] {
            assert_eq!(b.delay(), Duration::from_millis(delay));
            let w = b.next_wait();
            let d = Duration::from_millis(delay);
            assert!(w >= d / 2 && w <= d, "{w:?} for {d:?}");
        }
        b.reset();
        assert_eq!(b.delay(), Duration::from_millis(100));
    }

    #[test]
    fn clients_that_fail_together_do_not_retry_together() {
        // A thousand clients back off from the same moment: their first retries spread
        // over the second half of the delay instead of landing at one instant.
        let waits: std::collections::BTreeSet<Duration> = (0..1000)
            .map(|_| Backoff::new(Duration::from_secs(2), Duration::from_secs(300)).next_wait())
            .collect();
        assert!(waits.len() > 900, "{} distinct waits", waits.len());
        let (first, last) = (*waits.first().unwrap(), *waits.last().unwrap());
        assert!(
            last - first > Duration::from_millis(800),
            "{first:?}..{last:?}"
        );
    }

    #[test]
    fn a_maximum_below_the_minimum_is_the_minimum() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::ZERO);
        b.next_wait();
        assert_eq!(b.delay(), Duration::from_secs(1));
    }
}
