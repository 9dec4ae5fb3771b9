//! Shadow traffic: a copy of a model's unpinned predictions runs on its shadow version
//! after the primary has its instance, off the response path. Copies are bounded by a
//! small semaphore and dropped (and counted) when it is full, so a slow or failing shadow
//! never slows or fails a primary. The two answers are compared through the instances'
//! request events (label and confidence, or value).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Version;
use super::metrics::DeployMetrics;
use crate::server::{self, ServeLimits};
use crate::telemetry::{EventPrediction, request_predictions};

/// Shadow copies running at once, over every model; more are dropped.
pub const SHADOW_SLOTS: usize = 4;

/// The slots shadow copies take.
pub struct ShadowPool {
    permits: Arc<Semaphore>,
}

impl Default for ShadowPool {
    fn default() -> Self {
        ShadowPool {
            permits: Arc::new(Semaphore::new(SHADOW_SLOTS)),
        }
    }
}

/// A request to mirror, with its slot.
pub struct ShadowCopy {
    version: Arc<Version>,
    parts: http::request::Parts,
    body: Bytes,
    _slot: OwnedSemaphorePermit,
}

/// What the shadow answered.
pub struct ShadowOutcome {
    version: Arc<Version>,
    status: u16,
    seconds: f64,
    predictions: Option<Vec<EventPrediction>>,
}

impl ShadowPool {
    /// A copy for `version`, or `None` (counted as dropped) when every slot is busy.
    pub fn copy(
        &self,
        version: &Arc<Version>,
        parts: &http::request::Parts,
        body: &Bytes,
        metrics: &DeployMetrics,
    ) -> Option<ShadowCopy> {
        let Ok(slot) = self.permits.clone().try_acquire_owned() else {
            metrics
                .shadow_requests
                .with_label_values(&[&version.model, &version.version, "dropped"])
                .inc();
            return None;
        };
        let mut request = http::Request::new(());
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.headers_mut() = parts.headers.clone();
        let (parts, ()) = request.into_parts();
        Some(ShadowCopy {
            version: version.clone(),
            parts,
            body: body.clone(),
            _slot: slot,
        })
    }
}

impl ShadowCopy {
    /// Runs the copy to the end of its answer (within the deadline), holding its slot.
    pub async fn run(self, limits: ServeLimits) -> ShadowOutcome {
        use http_body_util::BodyExt;
        let start = Instant::now();
        let request = server::full_request(self.parts, self.body);
        let version = self.version;
        let (status, stderr) =
            match server::run_guest(&version.runtime, &version.telemetry, limits, request).await {
                Ok((response, finished)) => {
                    let status = response.status().as_u16();
                    // Read the answer so the instance can finish writing it.
                    let _ =
                        tokio::time::timeout(limits.deadline, response.into_body().collect()).await;
                    let stderr = match finished {
                        Some(f) => f.await.stderr,
                        None => Bytes::new(),
                    };
                    (status, stderr)
                }
                Err(_) => (500, Bytes::new()),
            };
        ShadowOutcome {
            version,
            status,
            seconds: start.elapsed().as_secs_f64(),
            predictions: request_predictions(&stderr),
        }
    }
}

impl ShadowOutcome {
    /// Compares with the primary's answer (its instance's stderr) and counts the result.
    pub fn compare(&self, primary_stderr: &[u8], metrics: &DeployMetrics) {
        let labels = [self.version.model.as_str(), self.version.version.as_str()];
        metrics
            .shadow_latency
            .with_label_values(&labels)
            .observe(self.seconds);
        let outcome = |o: &str| {
            metrics
                .shadow_requests
                .with_label_values(&[labels[0], labels[1], o])
                .inc()
        };
        if self.status >= 500 {
            outcome("error");
            return;
        }
        // The primary answered no prediction (a 4xx, say): nothing to compare.
        let Some(primary) = request_predictions(primary_stderr) else {
            return;
        };
        let Some(shadow) = &self.predictions else {
            outcome("error");
            return;
        };
        if primary.len() != shadow.len() {
            outcome("error");
            return;
        }
        outcome("compared");
        for (p, s) in primary.iter().zip(shadow) {
            let agree = p.label == s.label;
            metrics
                .shadow_agreement
                .with_label_values(&[labels[0], labels[1], if agree { "true" } else { "false" }])
                .inc();
            let difference = match (p.value, s.value, p.confidence, s.confidence) {
                (Some(a), Some(b), _, _) => Some((a - b).abs()),
                (_, _, Some(a), Some(b)) if agree => Some((a - b).abs()),
                _ => None,
            };
            if let Some(d) = difference {
                metrics
                    .shadow_difference
                    .with_label_values(&labels)
                    .observe(d);
            }
        }
        let agreed = metrics
            .shadow_agreement
            .with_label_values(&[labels[0], labels[1], "true"])
            .get() as f64;
        let disagreed = metrics
            .shadow_agreement
            .with_label_values(&[labels[0], labels[1], "false"])
            .get() as f64;
        metrics
            .shadow_agreement_rate
            .with_label_values(&labels)
            .set(agreed / (agreed + disagreed).max(1.0));
    }
}
