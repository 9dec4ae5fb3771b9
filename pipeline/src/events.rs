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
    /// Per input of a non-tabular kind: the numbers its drift shows in.
    pub summaries: Vec<InputSummary>,
    pub predictions: Vec<Prediction>,
    pub error: Option<ApiError>,
}

/// What an event records of one image, text or file: a few named numbers (an image's
/// size and brightness, a text's length and unknown tokens, a file's size), never the
/// content, which is the client's. Serialised as a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSummary(pub Vec<(&'static str, f64)>);

impl Serialize for InputSummary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
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
    /// Per instance, per feature (schema order; a network kind: per input, per summary
    /// baseline in `drift.features` order): baseline bin, `null` when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<Vec<Vec<Option<u16>>>>,
    /// Per instance, per numeric feature: rank on the baseline's quantile grid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranks: Option<Vec<Vec<Option<u8>>>>,
    /// Per instance, per feature: the validated value (only with `InputLogging::Raw`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Vec<serde_json::Value>>>,
    /// Per input of a non-tabular kind: its summary (`InputSummary`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub inputs: &'a [InputSummary],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError<'a>>,
    /// Set when the event was cut to `MAX_EVENT_BYTES`: what was left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<&'static str>,
}

/// `{"label", "confidence"}` for a classification, `{"value"}` for a regression.
#[derive(Debug, Serialize)]
pub struct EventPrediction<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
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

/// Longest event line. Whatever a request holds, its event stays far below what a host
/// buffers of an instance's stderr (ours: 1 MiB), so writing it can never fail the
/// instance; the per-instance input fields go first when a line would be longer.
pub const MAX_EVENT_BYTES: usize = 256 << 10;

/// Longest route echoed: the route is the request's path, which the client chooses.
const MAX_ROUTE_BYTES: usize = 128;

/// The event of one request, as one JSON line of at most `MAX_EVENT_BYTES`.
pub fn event_line(
    cx: &EventContext<'_>,
    outcome: &Outcome,
    baselines: &Baselines,
    logging: InputLogging,
) -> String {
    event_line_within(cx, outcome, baselines, logging, MAX_EVENT_BYTES)
}

/// `event_line` with the size cap given.
fn event_line_within(
    cx: &EventContext<'_>,
    outcome: &Outcome,
    baselines: &Baselines,
    logging: InputLogging,
    max_bytes: usize,
) -> String {
    let route = crate::schema::truncated(cx.route.to_string(), MAX_ROUTE_BYTES);
    // A tabular row's features, or the summary of a network kind's input.
    let buckets: Vec<Vec<Option<Bucket>>> = match logging {
        InputLogging::Buckets if !outcome.rows.is_empty() => {
            outcome.rows.iter().map(|r| baselines.buckets(r)).collect()
        }
        InputLogging::Buckets if baselines.inputs() > 0 => outcome
            .summaries
            .iter()
            .map(|s| baselines.summary_buckets(s))
            .collect(),
        _ => Vec::new(),
    };
    let bucketed = !buckets.is_empty();
    let has_rows = !outcome.rows.is_empty();
    let mut event = Event {
        event: "request",
        ts_unix_ms: cx.ts_unix_ms,
        request_id: cx.request_id,
        model: cx.model,
        version: cx.version,
        route: &route,
        status: cx.status,
        latency_us: cx.latency_us,
        batch_size: outcome.rows.len().max(outcome.summaries.len()),
        predictions: outcome
            .predictions
            .iter()
            .map(|p| match *p {
                Prediction::Class {
                    label, confidence, ..
                } => EventPrediction {
                    label: Some(&cx.labels[label]),
                    confidence: Some(confidence),
                    value: None,
                },
                Prediction::Value(v) => EventPrediction {
                    label: None,
                    confidence: None,
                    value: Some(v),
                },
            })
            .collect(),
        bins: bucketed.then(|| {
            buckets
                .iter()
                .map(|r| r.iter().map(|b| b.map(|b| b.bin)).collect())
                .collect()
        }),
        ranks: bucketed.then(|| {
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
                            // The value itself is not kept past validation.
                            Some(Cell::UnknownCategory) => serde_json::json!("(unknown category)"),
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
        inputs: &outcome.summaries,
        truncated: None,
    };
    let line = serde_json::to_string(&event).expect("plain JSON");
    if line.len() <= max_bytes {
        return line;
    }
    // Too long: drop the per-instance inputs, then the per-instance predictions and the
    // error's details. The rest (ids, route, status, counts, error code) is bounded.
    event.bins = None;
    event.ranks = None;
    event.values = None;
    event.inputs = &[];
    event.truncated = Some("inputs");
    let line = serde_json::to_string(&event).expect("plain JSON");
    if line.len() <= max_bytes {
        return line;
    }
    event.predictions.clear();
    if let Some(e) = &mut event.error {
        e.details = &[];
    }
    event.truncated = Some("inputs, predictions, details");
    serde_json::to_string(&event).expect("plain JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{InstanceInfo, Route, Service};
    use crate::testdata;

    fn event(s: &Service, body: &str, logging: InputLogging) -> serde_json::Value {
        let f = crate::Function::Tabular(s.clone());
        let (r, outcome) =
            f.respond_with_outcome(Route::Predict, body.as_bytes(), InstanceInfo::default());
        let line = f.event_line(
            &outcome,
            "/predict",
            r.status,
            "req-1",
            1_700_000_000_000,
            42,
            logging,
        );
        assert!(!line.contains('\n'), "one event is one line");
        serde_json::from_str(&line).unwrap()
    }

    const BODY: &str = r#"{"instances": [{"x": 1.25, "n": 4}, {"x": 7, "color": "blue"}]}"#;

    #[test]
    fn by_default_inputs_are_buckets_not_values() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let e = event(&s, BODY, InputLogging::Buckets);
        assert_eq!(
            (
                e["request_id"].as_str(),
                e["status"].as_u64(),
                e["batch_size"].as_u64()
            ),
            (Some("req-1"), Some(200), Some(2))
        );
        assert_eq!(e["model"], "tiny");
        assert_eq!(
            e["predictions"],
            serde_json::json!([{"label": "no", "confidence": 0.8}, {"label": "yes", "confidence": 0.9}])
        );
        assert!(e.get("values").is_none());
        assert!(!e.to_string().contains("1.25"), "a raw value leaked: {e}");
        // x and n of instance 0 are present: a bin and a rank; color is missing: null.
        assert_eq!(e["bins"][0], serde_json::json!([0, null, 1]));
        assert_eq!(e["ranks"][0], serde_json::json!([13, null, 40]));
        // color is a category: its index, no rank.
        assert_eq!(e["bins"][1][1], 1);
        assert!(e["ranks"][1][1].is_null());
    }

    #[test]
    fn regression_events_carry_the_value() {
        let s = Service::load(&testdata::regressor()).unwrap();
        let e = event(
            &s,
            r#"{"features": {"x": 5, "color": "blue", "n": 4}}"#,
            InputLogging::Buckets,
        );
        assert_eq!(e["predictions"], serde_json::json!([{"value": 23.0}]));
    }

    #[test]
    fn raw_logging_is_opt_in() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let e = event(&s, BODY, InputLogging::Raw);
        assert_eq!(e["values"][0], serde_json::json!([1.25, null, 4.0]));
        assert_eq!(e["values"][1][1], "blue");
        assert!(e.get("bins").is_none());
    }

    #[test]
    fn an_event_over_the_cap_drops_inputs_then_predictions() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let (r, outcome) =
            s.respond_with_outcome(Route::Predict, BODY.as_bytes(), InstanceInfo::default());
        let long_route = format!("/{}", "p".repeat(10_000));
        let line = |cap: usize| {
            let cx = EventContext {
                ts_unix_ms: 1,
                request_id: "req-1",
                route: &long_route,
                status: r.status,
                latency_us: 1,
                model: "tiny",
                version: "1",
                labels: &s.manifest().labels,
                categories: &|f| s.schema().categories(f),
            };
            let line = event_line_within(&cx, &outcome, s.baselines(), InputLogging::Raw, cap);
            let e: serde_json::Value = serde_json::from_str(&line).unwrap();
            (line.len(), e)
        };
        let (full, e) = line(MAX_EVENT_BYTES);
        assert!(e.get("truncated").is_none() && e["values"].is_array());
        assert!(
            e["route"].as_str().unwrap().len() <= MAX_ROUTE_BYTES + 3,
            "{}",
            e["route"]
        );
        let (len, e) = line(full - 1);
        assert!(len < full);
        assert_eq!(e["truncated"], "inputs");
        assert!(e.get("values").is_none());
        assert_eq!(e["predictions"].as_array().unwrap().len(), 2);
        let (_, e) = line(len - 1);
        assert_eq!(e["truncated"], "inputs, predictions, details");
        assert!(e.get("predictions").is_none());
        assert_eq!(
            (e["status"].as_u64(), e["batch_size"].as_u64()),
            (Some(200), Some(2))
        );
    }

    #[test]
    fn errors_get_an_event_naming_the_fields() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let e = event(&s, r#"{"features": {"x": "Mars"}}"#, InputLogging::Buckets);
        assert_eq!(e["status"], 422);
        assert_eq!(e["error"]["code"], "invalid_input");
        assert_eq!(e["error"]["details"][0]["field"], "features.x");
        assert_eq!(e["batch_size"], 0);
    }
}
