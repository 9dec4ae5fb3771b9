//! The deployment's own Prometheus series (weights, shadow comparisons, canary rollbacks,
//! reloads), and `/metrics` for the whole deployment: every version's telemetry (which
//! carries `model` and `version` labels) merged family by family with these.

use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct DeployMetrics {
    registry: Registry,
    /// Effective weight per version (what the router uses now; a rolled-back canary has 0).
    pub weight: IntGaugeVec,
    /// Shadow copies by outcome: `compared`, `error` (the shadow failed), `dropped` (busy).
    pub shadow_requests: IntCounterVec,
    /// Compared shadow answers whose labels agreed with the primary's, or not.
    pub shadow_agreement: IntCounterVec,
    /// Share of compared answers that agreed (labels; regression: always 1).
    pub shadow_agreement_rate: GaugeVec,
    /// |confidence difference| when the labels agree; |value difference| for regression.
    pub shadow_difference: HistogramVec,
    pub shadow_latency: HistogramVec,
    pub canary_rollbacks: IntCounterVec,
    pub reloads: IntCounterVec,
}

impl DeployMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("mlfn".into()), None)?;
        let mv = &["model", "version"];
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), mv)?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };
        let weight = IntGaugeVec::new(
            Opts::new("version_weight", "Traffic weight the router uses now"),
            mv,
        )?;
        registry.register(Box::new(weight.clone()))?;
        let rate = GaugeVec::new(
            Opts::new(
                "shadow_agreement_rate",
                "Share of compared shadow answers whose label agreed with the primary's",
            ),
            mv,
        )?;
        registry.register(Box::new(rate.clone()))?;
        Ok(DeployMetrics {
            weight,
            shadow_requests: counter(
                "shadow_requests_total",
                "Shadow copies by outcome (compared, error, dropped when the shadow was busy)",
                &["model", "version", "outcome"],
            )?,
            shadow_agreement: counter(
                "shadow_agreement_total",
                "Compared shadow predictions by whether the label agreed with the primary's",
                &["model", "version", "agree"],
            )?,
            shadow_agreement_rate: rate,
            shadow_difference: histogram(
                "shadow_prediction_difference",
                "|confidence difference| of agreeing labels, or |value difference| (regression)",
                vec![1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0],
            )?,
            shadow_latency: histogram(
                "shadow_duration_seconds",
                "Latency of the shadow version's copies",
                prometheus::exponential_buckets(50e-6, 2.0, 16)?,
            )?,
            canary_rollbacks: counter(
                "canary_rollbacks_total",
                "Canaries whose weight the guardrail set to 0, by the limit broken",
                &["model", "version", "reason"],
            )?,
            reloads: counter(
                "deployment_reloads_total",
                "Reloads of the deployment file by outcome (applied, refused)",
                &["outcome"],
            )?,
            registry,
        })
    }

    pub fn families(&self) -> Vec<MetricFamily> {
        self.registry.gather()
    }
}

/// Families from several registries as one exposition: a family's series from every
/// registry under a single HELP/TYPE (the text format allows each name once).
pub fn exposition(families: impl IntoIterator<Item = MetricFamily>) -> String {
    let mut merged: Vec<MetricFamily> = Vec::new();
    for mut f in families {
        match merged.iter_mut().find(|m| m.name() == f.name()) {
            Some(m) => m.mut_metric().extend(f.take_metric()),
            None => merged.push(f),
        }
    }
    merged.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&merged, &mut out)
        .expect("text encoding into a Vec");
    String::from_utf8(out).expect("the text format is UTF-8")
}
