//! The one structured event a request produces (the guest writes it to stderr as a JSON
//! line; Spin, `wasmtime serve` and our host all carry stderr). By default features are
//! logged as buckets against the bundle's baseline, never as raw values.

use serde::Serialize;

use crate::api::ApiError;
use crate::drift::{Baselines, Bucket};
use crate::postprocess::Prediction;
use crate::schema::{Cell, FieldProblem, Row};

/// How inputs appear in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputLogging {
    /// Baseline bin and quantile-grid rank per feature (the default).
    Buckets,
    /// The validated values themselves (opt-in: `MLFN_LOG_INPUTS=raw`).
    Raw,
}

/// What a request did, for its event.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rows: Vec<Row>,
    pub predictions: Vec<Prediction>,
    pub error: Option<ApiError>,
}

#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub event: &'static str,
    pub ts_unix_ms: u64,
    pub request_id: &'a str,
    pub model: &'a str,
    pub version: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency_us: u64,
    pub batch_size: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub predictions: Vec<EventPrediction<'a>>,
    /// Per instance, per feature (schema order): baseline bin, `null` when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<Vec<Vec<Option<u16>>>>,
    /// Per instance, per numeric feature: rank on the baseline's quantile grid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranks: Option<Vec<Vec<Option<u8>>>>,
    /// Per instance, per feature: the validated value (only with `InputLogging::Raw`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Vec<serde_json::Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError<'a>>,
}

#[derive(Debug, Serialize)]
pub struct EventPrediction<'a> {
    pub label: &'a str,
    pub confidence: f32,
}

#[derive(Debug, Serialize)]
pub struct EventError<'a> {
    pub code: &'a str,
    pub details: &'a [FieldProblem],
}

pub struct EventContext<'a> {
    pub ts_unix_ms: u64,
    pub request_id: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency_us: u64,
    pub model: &'a str,
    pub version: &'a str,
    pub labels: &'a [String],
    pub categories: &'a dyn Fn(usize) -> &'a [String],
}

/// The event of one request, as one JSON line.
pub fn event_line(
    cx: &EventContext<'_>,
    outcome: &Outcome,
    baselines: &Baselines,
    logging: InputLogging,
) -> String {
    let buckets: Vec<Vec<Option<Bucket>>> = match logging {
        InputLogging::Buckets => outcome.rows.iter().map(|r| baselines.buckets(r)).collect(),
        InputLogging::Raw => Vec::new(),
    };
    let has_rows = !outcome.rows.is_empty();
    let event = Event {
        event: "request",
        ts_unix_ms: cx.ts_unix_ms,
        request_id: cx.request_id,
        model: cx.model,
        version: cx.version,
        route: cx.route,
        status: cx.status,
        latency_us: cx.latency_us,
        batch_size: outcome.rows.len(),
        predictions: outcome
            .predictions
            .iter()
            .map(|p| EventPrediction {
                label: &cx.labels[p.label],
                confidence: p.confidence,
            })
            .collect(),
        bins: (has_rows && logging == InputLogging::Buckets).then(|| {
            buckets
                .iter()
                .map(|r| r.iter().map(|b| b.map(|b| b.bin)).collect())
                .collect()
        }),
        ranks: (has_rows && logging == InputLogging::Buckets).then(|| {
            buckets
                .iter()
                .map(|r| r.iter().map(|b| b.and_then(|b| b.rank)).collect())
                .collect()
        }),
        values: (has_rows && logging == InputLogging::Raw).then(|| {
            outcome
                .rows
                .iter()
                .map(|r| {
                    r.cells
                        .iter()
                        .enumerate()
                        .map(|(f, c)| match c {
                            Some(Cell::Number(x)) => serde_json::json!(x),
                            Some(Cell::Category(k)) => serde_json::json!((cx.categories)(f)[*k]),
                            None => serde_json::Value::Null,
                        })
                        .collect()
                })
                .collect()
        }),
        error: outcome.error.as_ref().map(|e| EventError {
            code: e.code,
            details: &e.details,
        }),
    };
    serde_json::to_string(&event).expect("plain JSON")
}
