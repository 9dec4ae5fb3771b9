//! Automatic rollback of a canary: the host keeps each version's most recent requests
//! (status class and latency) and, once a canary's window holds `min_requests`, compares
//! its error rate and p99 with the model's limits. A breach is reported once; the caller
//! sets the canary's weight to 0 (like Flagger or Argo Rollouts aborting an analysis).

use std::collections::VecDeque;
use std::sync::Mutex;

use super::config::CanaryLimits;

/// The most recent requests of one version.
pub struct Window {
    capacity: usize,
    /// (failed, latency in seconds), oldest first.
    recent: Mutex<VecDeque<(bool, f64)>>,
}

/// What a window holds, summarised.
#[derive(Debug, Clone, Copy)]
pub struct WindowStats {
    pub requests: usize,
    pub error_rate: f64,
    pub p99_ms: f64,
}

/// Why a canary was rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    ErrorRate,
    Latency,
}

impl Breach {
    pub fn label(self) -> &'static str {
        match self {
            Breach::ErrorRate => "error_rate",
            Breach::Latency => "p99_latency",
        }
    }
}

impl Window {
    pub fn new(capacity: usize) -> Self {
        Window {
            capacity: capacity.max(1),
            recent: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
        }
    }

    /// One finished request: failed = the function's own failure (5xx).
    pub fn record(&self, failed: bool, seconds: f64) {
        let mut recent = self.recent.lock().unwrap();
        if recent.len() == self.capacity {
            recent.pop_front();
        }
        recent.push_back((failed, seconds));
    }

    pub fn stats(&self) -> WindowStats {
        let recent = self.recent.lock().unwrap();
        let n = recent.len();
        let errors = recent.iter().filter(|(f, _)| *f).count();
        let mut latencies: Vec<f64> = recent.iter().map(|(_, s)| *s).collect();
        drop(recent);
        latencies.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least 99% of the window at or below it.
        let p99 = if n == 0 {
            0.0
        } else {
            latencies[(n * 99).div_ceil(100).max(1) - 1]
        };
        WindowStats {
            requests: n,
            error_rate: if n == 0 {
                0.0
            } else {
                errors as f64 / n as f64
            },
            p99_ms: p99 * 1e3,
        }
    }

    /// The limit this window breaks, if it holds enough requests to judge.
    pub fn breach(&self, limits: &CanaryLimits) -> Option<(Breach, WindowStats)> {
        let stats = self.stats();
        if stats.requests < limits.min_requests {
            return None;
        }
        if stats.error_rate > limits.max_error_rate {
            Some((Breach::ErrorRate, stats))
        } else if stats.p99_ms > limits.max_p99_ms {
            Some((Breach::Latency, stats))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> CanaryLimits {
        CanaryLimits {
            max_error_rate: 0.05,
            max_p99_ms: 50.0,
            min_requests: 20,
            window: Some(100),
        }
    }

    #[test]
    fn no_verdict_before_min_requests_then_errors_and_latency_breach() {
        let w = Window::new(100);
        for _ in 0..19 {
            w.record(true, 0.001);
        }
        assert!(w.breach(&limits()).is_none());
        w.record(true, 0.001);
        assert_eq!(w.breach(&limits()).unwrap().0, Breach::ErrorRate);

        let w = Window::new(100);
        for i in 0..100 {
            w.record(false, if i < 2 { 0.2 } else { 0.001 });
        }
        // 2 slow of 100: the p99 (the 99th value) is slow.
        assert_eq!(w.breach(&limits()).unwrap().0, Breach::Latency);
        for _ in 0..100 {
            w.record(false, 0.001);
        }
        // The window slid past them.
        assert!(w.breach(&limits()).is_none());
        assert_eq!(w.stats().requests, 100);
    }
}
