//! Admission by expected latency. A request is refused at once (503 `overloaded`, with a
//! `Retry-After` from the work ahead of it) when the requests already in flight would not
//! let it finish within its deadline. Without this, a burst of costly requests (a text
//! model's 256-token inputs, ~0.3 s of CPU each) shares the cores until many of them are
//! past the deadline and end in a 504 after 2 s, having used the CPU for nothing.
//!
//! What is learnt, per version and route, is the wall time a request takes per request
//! in flight beside it (its latency divided by the number in flight while it ran, itself
//! included: the mean of the counts when it was admitted and when it answered), as a
//! moving average. Divided by the count at admission alone, a request admitted into a
//! quiet server and then joined by others was learnt as several times its cost: 256-token
//! texts under wrk c=8 were then refused nine times in ten (503 at once), though eight
//! in flight finish well within the deadline. That one figure holds the request's
//! cost, the cores it shares and whatever else takes them (other processes, the client on
//! the same machine): a new request with `n` others in flight is expected to take `n + 1`
//! times it. It is admitted while that stays within `HEADROOM` of the deadline. A route
//! with no request done yet is always admitted. Requests that ran out of time count too,
//! with the deadline as their latency, so a route that keeps ending in 504s is learnt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Weight of the newest request in the moving average.
const NEWEST_WEIGHT: f64 = 0.3;
/// The share of the deadline an admitted request is expected to use at most: the estimate
/// is an average, and a request's latency varies around it.
const HEADROOM: f64 = 0.8;

#[derive(Default)]
pub struct Admission {
    /// Seconds of latency per request in flight, by version and route.
    per_request_in_flight: Mutex<HashMap<String, f64>>,
}

impl Admission {
    /// A request of `key` (version and route) took `latency`; `at_admission` others were
    /// in flight when it was admitted, `at_answer` when it answered.
    pub fn record(&self, key: &str, latency: Duration, at_admission: usize, at_answer: usize) {
        let beside = (at_admission + at_answer) as f64 / 2.0;
        let sample = latency.as_secs_f64() / (beside + 1.0);
        let mut learnt = self
            .per_request_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match learnt.get_mut(key) {
            Some(mean) => *mean += NEWEST_WEIGHT * (sample - *mean),
            None => {
                learnt.insert(key.to_string(), sample);
            }
        }
    }

    /// Whether a request of `key` arriving with `in_flight` others is expected to finish
    /// within `deadline`; if not, the whole seconds after which the work ahead of it
    /// should be done (at least 1).
    pub fn admit(&self, key: &str, in_flight: usize, deadline: Duration) -> Result<(), u64> {
        let learnt = self
            .per_request_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(&each) = learnt.get(key) else {
            return Ok(());
        };
        if each * (in_flight + 1) as f64 <= HEADROOM * deadline.as_secs_f64() {
            Ok(())
        } else {
            Err(((each * in_flight as f64).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINE: Duration = Duration::from_secs(2);

    #[test]
    fn admits_while_the_expected_latency_fits_the_deadline() {
        let admission = Admission::default();
        // Nothing learnt yet: admitted however busy.
        assert_eq!(admission.admit("v /predict", 100, DEADLINE), Ok(()));
        // 0.6 s with 1 other in flight: 0.3 s per request in flight.
        admission.record("v /predict", Duration::from_millis(600), 1, 1);
        // 0.3 s × (n + 1) ≤ 0.8 × 2 s up to 4 others in flight.
        assert_eq!(admission.admit("v /predict", 4, DEADLINE), Ok(()));
        assert_eq!(admission.admit("v /predict", 5, DEADLINE), Err(2));
        // Another route has its own figure.
        assert_eq!(admission.admit("v /health", 5, DEADLINE), Ok(()));
    }

    #[test]
    fn the_figure_is_a_moving_average_of_latency_per_request_in_flight() {
        let admission = Admission::default();
        admission.record("k", Duration::from_secs(1), 0, 0);
        // 2 s with 3 others: 0.5 s per request; 1 + 0.3 × (0.5 − 1) = 0.85 s.
        admission.record("k", Duration::from_secs(2), 3, 3);
        assert_eq!(admission.admit("k", 0, DEADLINE), Ok(()));
        assert_eq!(admission.admit("k", 1, DEADLINE), Err(1));
    }

    #[test]
    fn others_that_joined_later_count_as_in_flight_beside_it() {
        let admission = Admission::default();
        // Admitted alone, answered with 6 others in flight after 1.6 s: 3 others on
        // average, 0.4 s per request in flight (not 1.6 s).
        admission.record("k", Duration::from_millis(1600), 0, 6);
        // 0.4 s × (n + 1) ≤ 1.6 s up to 3 others.
        assert_eq!(admission.admit("k", 3, DEADLINE), Ok(()));
        assert_eq!(admission.admit("k", 4, DEADLINE), Err(2));
    }
}
