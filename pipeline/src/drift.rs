//! Drift: where an input falls against the training baseline (the guest logs that, not
//! the raw value), and how far a window of recent inputs has moved from the baseline
//! (the host computes that): Population Stability Index over the baseline bins, and a
//! two-sample Kolmogorov–Smirnov statistic for numeric features, evaluated on the
//! baseline's 101-point quantile grid.
//!
//! The prediction is watched the same way, as pseudo-features after the inputs
//! (`prediction.label` and `prediction.confidence`, or `prediction.value`), against the
//! manifest's `prediction_baseline`.

use crate::events::InputSummary;
use crate::manifest::{Baseline, BaselineKind, Manifest, PredictionBaseline, SummaryDrift};
use crate::postprocess::Prediction;
use crate::schema::{Cell, Row};

/// Pseudo-feature names of the prediction's baselines.
pub const PREDICTION_LABEL: &str = "prediction.label";
pub const PREDICTION_CONFIDENCE: &str = "prediction.confidence";
pub const PREDICTION_VALUE: &str = "prediction.value";

/// Proportions below this are floored before the PSI's logarithm (an empty bin would
/// make it infinite); the usual convention.
const PSI_FLOOR: f64 = 1e-4;

#[derive(Debug, Clone)]
enum FeatureBaseline {
    Numeric {
        edges: Vec<f64>,
        proportions: Vec<f64>,
        quantiles: Vec<f64>,
    },
    Categorical {
        proportions: Vec<f64>,
    },
}

/// Every feature's baseline, in schema order, then the prediction's (if given).
#[derive(Debug, Clone)]
pub struct Baselines {
    names: Vec<String>,
    features: Vec<FeatureBaseline>,
    /// How many of `features` are inputs (the rest are prediction pseudo-features).
    inputs: usize,
    label: Option<usize>,
    confidence: Option<usize>,
    value: Option<usize>,
}

/// Where one present value falls: its baseline bin, and for numeric features its rank on
/// the quantile grid (`#{q : q < v}`, 0..=101).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub bin: u16,
    pub rank: Option<u8>,
}

impl Baselines {
    pub fn from_manifest(m: &Manifest) -> Self {
        Self::from_features(m.features.iter().map(|f| (f.name.clone(), &f.baseline)))
            .with_prediction(&m.prediction_baseline)
    }

    /// Appends the prediction's baselines as pseudo-features (the host reads them from
    /// `/metadata`'s `prediction_baseline`).
    pub fn with_prediction(mut self, p: &PredictionBaseline) -> Self {
        for (name, baseline, slot) in [
            (PREDICTION_LABEL, &p.label, &mut self.label),
            (PREDICTION_CONFIDENCE, &p.confidence, &mut self.confidence),
            (PREDICTION_VALUE, &p.value, &mut self.value),
        ] {
            if let Some(b) = baseline {
                *slot = Some(self.features.len());
                self.names.push(name.into());
                self.features.push(FeatureBaseline::from(b));
            }
        }
        self
    }

    /// From `(name, baseline)` pairs in schema order (the host reads them from `/metadata`).
    pub fn from_features<'a>(features: impl IntoIterator<Item = (String, &'a Baseline)>) -> Self {
        let (names, features): (Vec<String>, Vec<FeatureBaseline>) = features
            .into_iter()
            .map(|(name, baseline)| (name, FeatureBaseline::from(baseline)))
            .unzip();
        Baselines {
            inputs: names.len(),
            names,
            features,
            label: None,
            confidence: None,
            value: None,
        }
    }
}

/// A network kind's drift baselines: the manifest's `drift` (with the label baseline laid
/// over all of the function's labels, as `/metadata` shows it and the host buckets
/// labels), and the `Baselines` its events are bucketed against (none without one).
#[derive(Debug, Clone)]
pub struct NetworkDrift {
    pub document: Option<SummaryDrift>,
    pub baselines: Baselines,
}

impl NetworkDrift {
    /// Checks the manifest's `drift`: each summary baseline names one of the numbers the
    /// kind `records` of an input; a label mix names only labels of `labels`.
    pub fn load(
        drift: Option<&SummaryDrift>,
        records: &[&str],
        labels: &[String],
    ) -> Result<Self, String> {
        let Some(drift) = drift else {
            return Ok(NetworkDrift {
                document: None,
                baselines: Baselines::from_features([]),
            });
        };
        let mut drift = drift.clone();
        for (i, f) in drift.features.iter().enumerate() {
            if !records.contains(&f.name.as_str()) {
                return Err(format!(
                    "drift.features[{i}]: `{}` is not a number this kind records of an input \
                     (it records {})",
                    f.name,
                    records.join(", ")
                ));
            }
            check_numeric(&f.baseline).map_err(|e| format!("drift.features[{i}]: {e}"))?;
        }
        let p = &mut drift.prediction_baseline;
        if p.value.is_some() {
            return Err("drift.prediction_baseline.value: this kind answers no value".into());
        }
        if let Some(c) = &p.confidence {
            check_numeric(c).map_err(|e| format!("drift.prediction_baseline.confidence: {e}"))?;
        }
        if let Some(label) = &mut p.label {
            *label = over_labels(label, labels)
                .map_err(|e| format!("drift.prediction_baseline.label: {e}"))?;
        }
        let baselines =
            Baselines::from_features(drift.features.iter().map(|f| (f.name.clone(), &f.baseline)))
                .with_prediction(&drift.prediction_baseline);
        Ok(NetworkDrift {
            document: Some(drift),
            baselines,
        })
    }

    /// `load`, for a bundle's loader: a bad baseline names the manifest.
    pub fn of_bundle(
        drift: Option<&SummaryDrift>,
        records: &[&str],
        labels: &[String],
    ) -> Result<Self, crate::LoadError> {
        Self::load(drift, records, labels).map_err(|message| crate::LoadError::File {
            file: crate::bundle::MANIFEST.into(),
            message,
        })
    }

    /// Adds `drift` to a `/metadata` document: the host's drift window reads it there.
    pub fn describe(&self, metadata: &mut serde_json::Value) {
        if let Some(d) = &self.document {
            metadata["drift"] = serde_json::json!(d);
        }
    }
}

impl Baselines {
    /// Where each summary feature of one input falls (`None`: the input has no such
    /// number).
    pub fn summary_buckets(&self, summary: &InputSummary) -> Vec<Option<Bucket>> {
        self.names[..self.inputs]
            .iter()
            .enumerate()
            .map(|(f, name)| {
                let (_, x) = summary.0.iter().find(|(n, _)| n == name)?;
                self.bucket_number(f, *x)
            })
            .collect()
    }
}

fn check_numeric(b: &Baseline) -> Result<(), String> {
    let edges = b.edges.as_deref().unwrap_or_default();
    if b.kind != BaselineKind::QuantileBins
        || b.proportions.len() != edges.len() + 1
        || !edges.windows(2).all(|w| w[0] < w[1])
    {
        return Err(
            "a number's baseline is `quantile_bins`: increasing `edges`, one more \
                    proportion than edges"
                .into(),
        );
    }
    Ok(())
}

/// A categorical baseline over some labels, laid over all of `labels` (0 where absent).
fn over_labels(b: &Baseline, labels: &[String]) -> Result<Baseline, String> {
    let categories = b.categories.as_deref().unwrap_or_default();
    if b.kind != BaselineKind::Categories || categories.len() != b.proportions.len() {
        return Err("`categories`, one proportion per category".into());
    }
    let mut proportions = vec![0.0; labels.len()];
    for (c, share) in categories.iter().zip(&b.proportions) {
        let k = labels
            .iter()
            .position(|l| l == c)
            .ok_or_else(|| format!("`{c}` is not a label this function answers"))?;
        proportions[k] = *share;
    }
    Ok(Baseline {
        categories: Some(labels.to_vec()),
        proportions,
        ..b.clone()
    })
}

impl From<&Baseline> for FeatureBaseline {
    fn from(b: &Baseline) -> Self {
        match b.kind {
            BaselineKind::QuantileBins => FeatureBaseline::Numeric {
                edges: b.edges.clone().unwrap_or_default(),
                proportions: b.proportions.clone(),
                quantiles: b.quantiles.clone().unwrap_or_default(),
            },
            BaselineKind::Categories => FeatureBaseline::Categorical {
                proportions: b.proportions.clone(),
            },
        }
    }
}

impl Baselines {
    /// Inputs then prediction pseudo-features; indices below are into this list.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How many of `names()` are input features (the rest describe the prediction).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The bucket of a number against a numeric baseline.
    pub fn bucket_number(&self, feature: usize, x: f64) -> Option<Bucket> {
        match &self.features[feature] {
            FeatureBaseline::Numeric {
                edges, quantiles, ..
            } if !x.is_nan() => Some(Bucket {
                bin: edges.partition_point(|e| *e < x) as u16,
                rank: Some(quantiles.partition_point(|q| *q < x) as u8),
            }),
            _ => None,
        }
    }

    /// The bucket of category `k` against a categorical baseline.
    pub fn bucket_category(&self, feature: usize, k: usize) -> Option<Bucket> {
        match &self.features[feature] {
            FeatureBaseline::Categorical { proportions } if k < proportions.len() => Some(Bucket {
                bin: k as u16,
                rank: None,
            }),
            _ => None,
        }
    }

    /// Where a prediction falls: `(pseudo-feature index, bucket)` for each of its
    /// baselines (label and confidence, or value).
    pub fn prediction_buckets(&self, p: &Prediction) -> Vec<(usize, Bucket)> {
        let mut out = Vec::new();
        match *p {
            Prediction::Class {
                label, confidence, ..
            } => {
                out.extend(
                    self.label
                        .and_then(|f| Some((f, self.bucket_category(f, label)?))),
                );
                out.extend(
                    self.confidence
                        .and_then(|f| Some((f, self.bucket_number(f, confidence)?))),
                );
            }
            Prediction::Value(v) => {
                out.extend(
                    self.value
                        .and_then(|f| Some((f, self.bucket_number(f, v)?))),
                );
            }
        }
        out
    }

    pub fn is_numeric(&self, feature: usize) -> bool {
        matches!(self.features[feature], FeatureBaseline::Numeric { .. })
    }

    /// Number of bins of a feature's baseline.
    pub fn bins(&self, feature: usize) -> usize {
        self.proportions(feature).len()
    }

    /// The baseline's share of each bin (what PSI compares a window's shares with).
    pub fn proportions(&self, feature: usize) -> &[f64] {
        match &self.features[feature] {
            FeatureBaseline::Numeric { proportions, .. }
            | FeatureBaseline::Categorical { proportions } => proportions,
        }
    }

    /// The bucket of each input feature of a validated row (`None` where the value is
    /// missing, or an accepted unknown category, which no baseline bin holds).
    pub fn buckets(&self, row: &Row) -> Vec<Option<Bucket>> {
        row.cells
            .iter()
            .take(self.inputs)
            .enumerate()
            .map(|(f, cell)| match cell {
                Some(Cell::Number(x)) => self.bucket_number(f, *x),
                Some(Cell::Category(k)) => self.bucket_category(f, *k),
                Some(Cell::UnknownCategory) | None => None,
            })
            .collect()
    }

    /// PSI of observed bin counts against the feature's baseline proportions.
    pub fn psi(&self, feature: usize, counts: &[u64]) -> Option<f64> {
        psi(self.proportions(feature), counts)
    }

    /// KS statistic of observed quantile-grid ranks (histogram over 0..=101) against the
    /// baseline distribution, for numeric features.
    pub fn ks(&self, feature: usize, rank_counts: &[u64]) -> Option<f64> {
        match &self.features[feature] {
            FeatureBaseline::Numeric { quantiles, .. } if quantiles.len() >= 2 => {
                ks_on_grid(quantiles.len(), rank_counts)
            }
            _ => None,
        }
    }
}

/// Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins, proportions floored at `PSI_FLOOR`.
pub fn psi(expected: &[f64], counts: &[u64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 || expected.len() != counts.len() {
        return None;
    }
    Some(
        expected
            .iter()
            .zip(counts)
            .map(|(e, c)| {
                let a = (*c as f64 / total as f64).max(PSI_FLOOR);
                let e = e.max(PSI_FLOOR);
                (a - e) * libm::log(a / e)
            })
            .sum(),
    )
}

/// The baseline's grid has `n` quantiles q₀…qₙ₋₁ at cumulative probability k/(n−1). A
/// value of rank r (= #{q < v}) satisfies v ≤ q_k exactly when r ≤ k, so the window's
/// CDF at q_k is the share of ranks ≤ k; KS is the largest gap to k/(n−1).
fn ks_on_grid(n: usize, rank_counts: &[u64]) -> Option<f64> {
    let total: u64 = rank_counts.iter().sum();
    if total == 0 {
        return None;
    }
    let mut below = 0u64;
    let mut worst = 0.0f64;
    for k in 0..n {
        below += rank_counts.get(k).copied().unwrap_or(0);
        let window = below as f64 / total as f64;
        let baseline = k as f64 / (n - 1) as f64;
        worst = worst.max((window - baseline).abs());
    }
    Some(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_is_zero_for_the_baseline_and_grows_with_shift() {
        let e = [0.25, 0.25, 0.25, 0.25];
        assert!(psi(&e, &[25, 25, 25, 25]).unwrap().abs() < 1e-12);
        let small = psi(&e, &[30, 25, 25, 20]).unwrap();
        let large = psi(&e, &[70, 10, 10, 10]).unwrap();
        assert!(0.0 < small && small < 0.1 && large > 0.2, "{small} {large}");
        assert_eq!(psi(&e, &[0, 0, 0, 0]), None);
    }

    #[test]
    fn ks_on_grid_matches_uniform_ranks() {
        // Ranks spread evenly over the grid ≈ the baseline: KS near 0.
        let even: Vec<u64> = (0..=101)
            .map(|r| if (1..=100).contains(&r) { 1 } else { 0 })
            .collect();
        assert!(ks_on_grid(101, &even).unwrap() < 0.02);
        // Everything above the top quantile: KS = 1.
        let mut high = vec![0u64; 102];
        high[101] = 10;
        assert!((ks_on_grid(101, &high).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rows_and_predictions_fall_in_their_baseline_bins() {
        let m = crate::Manifest::from_json(
            &serde_json::to_vec(&crate::testdata::manifest("classification")).unwrap(),
        )
        .unwrap();
        let b = Baselines::from_manifest(&m);
        assert_eq!(
            b.names(),
            ["x", "color", "n", PREDICTION_LABEL, PREDICTION_CONFIDENCE]
        );
        assert_eq!(b.inputs(), 3);
        let schema = crate::testdata::schema();
        let row = |v: serde_json::Value| schema.validate_json(v.as_object().unwrap(), "").unwrap();
        // edges [2, 5]: 2 is in bin 0 (#{e < 2} = 0), 2.5 in bin 1; quantiles 0, 0.1, …, 10.
        let got = b.buckets(&row(serde_json::json!({"x": 2, "color": "blue"})));
        assert_eq!(
            got[0],
            Some(Bucket {
                bin: 0,
                rank: Some(20)
            })
        );
        assert_eq!(got[1], Some(Bucket { bin: 1, rank: None }));
        assert_eq!(got[2], None);
        let got = b.buckets(&row(serde_json::json!({"x": 2.5, "color": "green"})));
        assert_eq!((got[0].unwrap().bin, got[1]), (1, None));

        let p = Prediction::from_probabilities(vec![0.3, 0.7]);
        assert_eq!(
            b.prediction_buckets(&p),
            [
                (3, Bucket { bin: 1, rank: None }),
                (
                    4,
                    Bucket {
                        bin: 0,
                        rank: Some(7)
                    }
                )
            ]
        );
        let m = crate::Manifest::from_json(
            &serde_json::to_vec(&crate::testdata::manifest("regression")).unwrap(),
        )
        .unwrap();
        let b = Baselines::from_manifest(&m);
        assert_eq!(b.names()[3..], [PREDICTION_VALUE]);
        assert_eq!(
            b.prediction_buckets(&Prediction::Value(11.0)),
            [(
                3,
                Bucket {
                    bin: 2,
                    rank: Some(101)
                }
            )]
        );
    }

    #[test]
    fn network_summaries_are_bucketed_by_name_and_labels_laid_over_all_labels() {
        let drift: SummaryDrift = serde_json::from_value(serde_json::json!({
            "source": "test",
            "features": [
                {"name": "bytes", "baseline": {"kind": "quantile_bins", "edges": [10.0, 100.0],
                 "proportions": [0.2, 0.5, 0.3], "quantiles": [0.0, 50.0, 1000.0],
                 "missing_rate": 0.0, "count": 10}},
            ],
            "prediction_baseline": {"label": {"kind": "categories", "categories": ["pdf"],
                "proportions": [1.0], "missing_rate": 0.0, "count": 10}},
        }))
        .unwrap();
        let labels = ["elf".to_string(), "pdf".to_string()];
        let d = NetworkDrift::load(Some(&drift), &["bytes"], &labels).unwrap();
        let label = d
            .document
            .as_ref()
            .unwrap()
            .prediction_baseline
            .label
            .clone();
        assert_eq!(label.as_ref().unwrap().proportions, [0.0, 1.0]);
        assert_eq!(label.unwrap().categories.unwrap(), labels);
        let b = &d.baselines;
        assert_eq!(b.names(), ["bytes", PREDICTION_LABEL]);
        let summary = InputSummary(vec![("chars", 3.0), ("bytes", 50.0)]);
        assert_eq!(
            b.summary_buckets(&summary),
            [Some(Bucket {
                bin: 1,
                rank: Some(1)
            })]
        );
        assert_eq!(b.summary_buckets(&InputSummary(vec![])), [None]);

        let err = NetworkDrift::load(Some(&drift), &["chars"], &labels).unwrap_err();
        assert!(
            err.contains("`bytes` is not a number this kind records"),
            "{err}"
        );
        let err = NetworkDrift::load(Some(&drift), &["bytes"], &labels[..1]).unwrap_err();
        assert!(err.contains("`pdf` is not a label"), "{err}");
        let none = NetworkDrift::load(None, &["bytes"], &labels).unwrap();
        assert!(none.document.is_none() && none.baselines.names().is_empty());
    }
}
