//! Aggregation across short-lived instances: the host counts what it sees of each request
//! (route, status, latency, instance memory) and reads the JSON event each instance wrote
//! to its stderr (predictions, confidence or value, feature buckets, validation problems).
//! It exposes Prometheus metrics and a drift report over a sliding window of recent
//! inputs and predictions (the prediction's distribution moving is the first sign of
//! concept drift).

use std::collections::VecDeque;
use std::sync::Mutex;

use pipeline::Prediction;
use pipeline::drift::Baselines;
use pipeline::manifest::{Baseline, PredictionBaseline};
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use serde::Serialize;

/// One instance in the drift window: per feature, then per prediction pseudo-feature, its
/// baseline bin and quantile rank.
type Observed = (Vec<Option<u16>>, Vec<Option<u8>>);

/// Drift monitoring settings.
#[derive(Debug, Clone, Copy)]
pub struct DriftConfig {
    /// Instances kept in the sliding window.
    pub window: usize,
    /// A feature whose PSI exceeds this is flagged.
    pub psi_threshold: f64,
    /// No flags before this many instances are in the window (a handful of requests says
    /// nothing about a distribution).
    pub min_observations: usize,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            window: 1000,
            psi_threshold: 0.2,
            min_observations: 50,
        }
    }
}

pub struct Telemetry {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    predictions: IntCounterVec,
    confidence: HistogramVec,
    values: prometheus::Histogram,
    missing: IntCounterVec,
    out_of_range: IntCounterVec,
    invalid: IntCounterVec,
    feature_bins: IntCounterVec,
    /// `feature_bins`' series by feature index, then bin: resolved once, so that a
    /// request does not hash and look up a label pair per feature.
    bin_counters: Vec<Vec<IntCounter>>,
    /// `missing`'s series by input feature index, likewise.
    missing_counters: Vec<IntCounter>,
    memory: HistogramVec,
    psi: GaugeVec,
    ks: GaugeVec,
    drift_flag: IntGaugeVec,
    model: (String, String),
    labels: Vec<String>,
    config: DriftConfig,
    baselines: Baselines,
    window: Mutex<VecDeque<Observed>>,
}

#[derive(Debug, Serialize)]
pub struct DriftReport {
    pub model: String,
    pub version: String,
    pub window_size: usize,
    pub observed: usize,
    pub min_observations: usize,
    pub psi_threshold: f64,
    pub features: Vec<FeatureDrift>,
    pub flagged: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FeatureDrift {
    pub name: String,
    pub psi: Option<f64>,
    /// Two-sample KS statistic (numeric features).
    pub ks: Option<f64>,
    pub missing_rate: f64,
    pub flagged: bool,
}

/// The part of an instance's event this module reads.
#[derive(serde::Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    predictions: Vec<EventPrediction>,
    #[serde(default)]
    bins: Option<Vec<Vec<Option<u16>>>>,
    #[serde(default)]
    ranks: Option<Vec<Vec<Option<u8>>>>,
    #[serde(default)]
    error: Option<EventError>,
}

/// A classification (`label`, `confidence`) or a regression (`value`) prediction.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct EventPrediction {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub value: Option<f64>,
}

/// The predictions of the request event in an instance's stderr (`None`: no such event,
/// e.g. the request failed validation or the instance trapped).
pub fn request_predictions(stderr: &[u8]) -> Option<Vec<EventPrediction>> {
    stderr
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Event>(l).ok())
        .find(|e| e.event == "request" && e.error.is_none() && !e.predictions.is_empty())
        .map(|e| e.predictions)
}

#[derive(serde::Deserialize)]
struct EventError {
    details: Vec<pipeline::FieldProblem>,
}

impl Telemetry {
    /// From the component's `/metadata` document (which carries the drift baselines);
    /// without one (a component with no typed export), request metrics only. Series are
    /// labelled with the metadata's model name and version.
    pub fn new(metadata_json: Option<&str>, config: DriftConfig) -> wasmtime::Result<Self> {
        let meta: serde_json::Value = match metadata_json {
            Some(m) => serde_json::from_str(m)?,
            None => serde_json::json!({}),
        };
        let name = meta["name"].as_str().unwrap_or_default().to_string();
        let version = meta["version"].as_str().unwrap_or_default().to_string();
        Self::for_version(metadata_json, &name, &version, config)
    }

    /// `new`, with every series labelled `model` and `version` as given (one deployment
    /// serves several versions; their series are told apart by these labels).
    pub fn for_version(
        metadata_json: Option<&str>,
        model_name: &str,
        version: &str,
        config: DriftConfig,
    ) -> wasmtime::Result<Self> {
        let meta: serde_json::Value = match metadata_json {
            Some(m) => serde_json::from_str(m)?,
            None => serde_json::json!({}),
        };
        // A tabular bundle's baselines are its features'; a network kind's are under
        // `drift` (its inputs' summaries and its answers).
        let drift = meta.get("drift").unwrap_or(&meta);
        let mut features = Vec::new();
        for f in drift["features"].as_array().into_iter().flatten() {
            let name = f["name"].as_str().unwrap_or_default().to_string();
            let baseline: Baseline = serde_json::from_value(f["baseline"].clone())?;
            features.push((name, baseline));
        }
        let prediction: PredictionBaseline = match drift.get("prediction_baseline") {
            Some(p) => serde_json::from_value(p.clone())?,
            None => PredictionBaseline::default(),
        };
        let baselines = Baselines::from_features(features.iter().map(|(n, b)| (n.clone(), b)))
            .with_prediction(&prediction);
        let labels: Vec<String> = meta["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(String::from))
            .collect();
        // Predicted values are bucketed at the training predictions' deciles.
        let value_buckets = prediction
            .value
            .as_ref()
            .and_then(|b| b.edges.clone())
            .filter(|e| !e.is_empty() && e.windows(2).all(|w| w[0] < w[1]))
            .unwrap_or_else(|| vec![0.0]);
        let model = (model_name.to_string(), version.to_string());
        let registry = Registry::new_custom(
            Some("mlfn".into()),
            Some(
                [
                    ("model".to_string(), model.0.clone()),
                    ("version".to_string(), model.1.clone()),
                ]
                .into(),
            ),
        )?;
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> wasmtime::Result<IntCounterVec> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let histogram = |name: &str,
                         help: &str,
                         labels: &[&str],
                         buckets: Vec<f64>|
         -> wasmtime::Result<HistogramVec> {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        let gauge = |name: &str, help: &str| -> wasmtime::Result<GaugeVec> {
            let g = GaugeVec::new(Opts::new(name, help), &["feature"])?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let latency_buckets = prometheus::exponential_buckets(50e-6, 2.0, 16)?; // 50 µs … 1.6 s
        let mut t = Telemetry {
            requests: counter(
                "requests_total",
                "Requests by route and status",
                &["route", "status"],
            )?,
            latency: histogram(
                "request_duration_seconds",
                "Request latency seen by the host (instantiate + handle)",
                &["route"],
                latency_buckets,
            )?,
            predictions: counter("predictions_total", "Predictions by label", &["label"])?,
            confidence: histogram(
                "prediction_confidence",
                "Probability of the predicted label",
                &["label"],
                vec![0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0],
            )?,
            values: {
                let h = prometheus::Histogram::with_opts(
                    HistogramOpts::new(
                        "prediction_value",
                        "Predicted values (regression), bucketed at the training predictions' deciles",
                    )
                    .buckets(value_buckets),
                )?;
                registry.register(Box::new(h.clone()))?;
                h
            },
            missing: counter(
                "feature_missing_total",
                "Instances where an optional feature was absent or null",
                &["feature"],
            )?,
            out_of_range: counter(
                "feature_out_of_range_total",
                "Values rejected for being outside the valid range",
                &["feature"],
            )?,
            invalid: counter(
                "feature_invalid_total",
                "Values rejected by validation (any reason)",
                &["feature"],
            )?,
            // Counters, not a window: every replica exports its own and Prometheus sums
            // them, so PSI across a fleet needs no shared process (deploy/monitoring/).
            feature_bins: counter(
                "feature_bin_total",
                "Instances by baseline bin of each feature (inputs, then prediction.label and prediction.confidence or prediction.value)",
                &["feature", "bin"],
            )?,
            memory: histogram(
                "instance_memory_bytes",
                "Peak linear memory of an instance",
                &["route"],
                prometheus::exponential_buckets(1_048_576.0, 2.0, 10)?,
            )?,
            psi: gauge(
                "drift_psi",
                "Population Stability Index of the recent window against the training baseline",
            )?,
            ks: gauge(
                "drift_ks",
                "Two-sample KS statistic of the recent window (numeric features)",
            )?,
            drift_flag: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "drift_flagged",
                        "1 when the feature's PSI exceeds the threshold",
                    ),
                    &["feature"],
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            registry,
            model,
            labels,
            config,
            baselines,
            window: Mutex::new(VecDeque::new()),
            bin_counters: Vec::new(),
            missing_counters: Vec::new(),
        };
        t.export_baselines()?;
        Ok(t)
    }

    /// Each feature's baseline share per bin as a constant gauge
    /// (`mlfn_feature_baseline_proportion{feature, bin}`), and every bin's counter at 0,
    /// so that PromQL can compute PSI from rates (an absent bin would drop out of the sum);
    /// keeps the counters' handles (`bin_counters`, `missing_counters`).
    fn export_baselines(&mut self) -> wasmtime::Result<()> {
        let baseline = GaugeVec::new(
            Opts::new(
                "feature_baseline_proportion",
                "Share of the training baseline in each bin of each feature (constant)",
            ),
            &["feature", "bin"],
        )?;
        for (f, name) in self.baselines.names().iter().enumerate() {
            let mut counters = Vec::new();
            for (bin, share) in self.baselines.proportions(f).iter().enumerate() {
                let labels = [name.as_str(), &bin.to_string()];
                baseline.with_label_values(&labels).set(*share);
                counters.push(self.feature_bins.with_label_values(&labels));
            }
            self.bin_counters.push(counters);
        }
        self.missing_counters = self.baselines.names()[..self.baselines.inputs()]
            .iter()
            .map(|name| self.missing.with_label_values(&[name]))
            .collect();
        self.registry.register(Box::new(baseline))?;
        Ok(())
    }

    /// Records one finished request: what the host saw, and the instance's stderr.
    pub fn record(
        &self,
        route: &str,
        status: u16,
        seconds: f64,
        peak_memory: Option<usize>,
        stderr: &[u8],
    ) {
        let route = known_route(route);
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
        if let Some(bytes) = peak_memory {
            self.memory
                .with_label_values(&[route])
                .observe(bytes as f64);
        }
        self.record_stderr(stderr);
    }

    /// Reads an instance's stderr: its request event feeds the metrics and the drift
    /// window; any other line is passed on to the host's log.
    pub fn record_stderr(&self, stderr: &[u8]) {
        for line in stderr.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Event>(line) {
                Ok(e) if e.event == "request" => self.ingest(e),
                _ => tracing::info!(target: "guest", "{}", String::from_utf8_lossy(line)),
            }
        }
    }

    fn ingest(&self, e: Event) {
        for p in &e.predictions {
            if let (Some(label), Some(confidence)) = (&p.label, p.confidence) {
                self.predictions.with_label_values(&[label]).inc();
                self.confidence
                    .with_label_values(&[label])
                    .observe(confidence);
            }
            if let Some(v) = p.value {
                self.values.observe(v);
            }
        }
        if let Some(err) = &e.error {
            for d in &err.details {
                let feature = d.field.rsplit('.').next().unwrap_or(&d.field);
                let inputs = &self.baselines.names()[..self.baselines.inputs()];
                if inputs.iter().any(|n| n == feature) {
                    self.invalid.with_label_values(&[feature]).inc();
                    if d.problem.contains("outside the valid range") {
                        self.out_of_range.with_label_values(&[feature]).inc();
                    }
                }
            }
        }
        let (Some(bins), Some(ranks)) = (e.bins, e.ranks) else {
            return;
        };
        let names = self.baselines.names();
        let inputs = self.baselines.inputs();
        let mut window = self.window.lock().unwrap();
        for (i, (mut b, mut r)) in bins.into_iter().zip(ranks).enumerate() {
            if b.len() != inputs || r.len() != inputs {
                continue; // an event from another bundle: not ours to judge
            }
            for (bin, missing) in b.iter().zip(&self.missing_counters) {
                if bin.is_none() {
                    missing.inc();
                }
            }
            // The prediction's pseudo-features, bucketed here from the event.
            b.resize(names.len(), None);
            r.resize(names.len(), None);
            if let Some(p) = e.predictions.get(i).and_then(|p| self.prediction(p)) {
                for (f, bucket) in self.baselines.prediction_buckets(&p) {
                    b[f] = Some(bucket.bin);
                    r[f] = bucket.rank;
                }
            }
            for (bin, counters) in b.iter().zip(&self.bin_counters) {
                if let Some(counter) = bin.and_then(|bin| counters.get(usize::from(bin))) {
                    counter.inc();
                }
            }
            window.push_back((b, r));
            while window.len() > self.config.window {
                window.pop_front();
            }
        }
    }

    /// An event's prediction in the pipeline's terms (the label by its index).
    fn prediction(&self, p: &EventPrediction) -> Option<Prediction> {
        match (&p.label, p.confidence, p.value) {
            (Some(label), Some(confidence), _) => Some(Prediction::Class {
                label: self.labels.iter().position(|l| l == label)?,
                probabilities: Vec::new(),
                confidence,
            }),
            (_, _, Some(v)) => Some(Prediction::Value(v)),
            _ => None,
        }
    }

    /// PSI and KS per feature over the current window.
    pub fn drift(&self) -> DriftReport {
        let window = self.window.lock().unwrap();
        let names = self.baselines.names();
        let mut features = Vec::with_capacity(names.len());
        for (f, name) in names.iter().enumerate() {
            let mut counts = vec![0u64; self.baselines.bins(f)];
            let mut ranks = vec![0u64; 102];
            let mut missing = 0usize;
            for (bins, rks) in window.iter() {
                match bins[f] {
                    Some(b) if (b as usize) < counts.len() => counts[b as usize] += 1,
                    Some(_) => {}
                    None => missing += 1,
                }
                if let Some(r) = rks[f] {
                    ranks[(r as usize).min(101)] += 1;
                }
            }
            let psi = self.baselines.psi(f, &counts);
            let ks = if self.baselines.is_numeric(f) {
                self.baselines.ks(f, &ranks)
            } else {
                None
            };
            let enough = window.len() >= self.config.min_observations.min(self.config.window);
            let flagged = enough && psi.is_some_and(|p| p > self.config.psi_threshold);
            features.push(FeatureDrift {
                name: name.clone(),
                psi,
                ks,
                missing_rate: if window.is_empty() {
                    0.0
                } else {
                    missing as f64 / window.len() as f64
                },
                flagged,
            });
        }
        let flagged = features
            .iter()
            .filter(|f| f.flagged)
            .map(|f| f.name.clone())
            .collect();
        DriftReport {
            model: self.model.0.clone(),
            version: self.model.1.clone(),
            window_size: self.config.window,
            observed: window.len(),
            min_observations: self.config.min_observations,
            psi_threshold: self.config.psi_threshold,
            features,
            flagged,
        }
    }

    /// The Prometheus text exposition (format 0.0.4), drift gauges refreshed.
    pub fn metrics_text(&self) -> String {
        crate::deploy::metrics::exposition(self.families())
    }

    /// The metric families, drift gauges refreshed (merged with other versions' by the
    /// deployment's `/metrics`).
    pub fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
        for f in self.drift().features {
            if let Some(p) = f.psi {
                self.psi.with_label_values(&[&f.name]).set(p);
            }
            if let Some(k) = f.ks {
                self.ks.with_label_values(&[&f.name]).set(k);
            }
            self.drift_flag
                .with_label_values(&[&f.name])
                .set(i64::from(f.flagged));
        }
        self.registry.gather()
    }
}

/// Route label: the known routes, everything else as `other` (unbounded label values
/// would let any client grow the metrics without end).
fn known_route(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/predict" => "/predict",
        "/health" => "/health",
        "/metadata" => "/metadata",
        "/openapi.json" => "/openapi.json",
        "/metrics" => "/metrics",
        "/drift" => "/drift",
        p if p.starts_with("/v2/models/") && p.ends_with("/infer") => "/v2/infer",
        p if p == "/v2" || p.starts_with("/v2/") => "/v2",
        _ => "other",
    }
}
