//! Drift: where an input falls against the training baseline (the guest logs that, not
//! the raw value), and how far a window of recent inputs has moved from the baseline
//! (the host computes that): Population Stability Index over the baseline bins, and a
//! two-sample Kolmogorov–Smirnov statistic for numeric features, evaluated on the
//! baseline's 101-point quantile grid.

use crate::manifest::{Baseline, BaselineKind, Manifest};
use crate::schema::{Cell, Row};

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

/// Every feature's baseline, in schema order.
#[derive(Debug, Clone)]
pub struct Baselines {
    names: Vec<String>,
    features: Vec<FeatureBaseline>,
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
    }

    /// From `(name, baseline)` pairs in schema order (the host reads them from `/metadata`).
    pub fn from_features<'a>(features: impl IntoIterator<Item = (String, &'a Baseline)>) -> Self {
        let (names, features): (Vec<String>, Vec<FeatureBaseline>) = features
            .into_iter()
            .map(|(name, baseline)| (name, FeatureBaseline::from(baseline)))
            .unzip();
        Baselines { names, features }
    }
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
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn is_numeric(&self, feature: usize) -> bool {
        matches!(self.features[feature], FeatureBaseline::Numeric { .. })
    }

    /// Number of bins of a feature's baseline.
    pub fn bins(&self, feature: usize) -> usize {
        match &self.features[feature] {
            FeatureBaseline::Numeric { proportions, .. }
            | FeatureBaseline::Categorical { proportions } => proportions.len(),
        }
    }

    /// The bucket of each feature of a validated row (`None` where the value is missing).
    pub fn buckets(&self, row: &Row) -> Vec<Option<Bucket>> {
        row.cells
            .iter()
            .zip(&self.features)
            .map(|(cell, base)| match (cell, base) {
                (
                    Some(Cell::Number(x)),
                    FeatureBaseline::Numeric {
                        edges, quantiles, ..
                    },
                ) => Some(Bucket {
                    bin: edges.partition_point(|e| e < x) as u16,
                    rank: Some(quantiles.partition_point(|q| q < x) as u8),
                }),
                (Some(Cell::Category(k)), FeatureBaseline::Categorical { .. }) => Some(Bucket {
                    bin: *k as u16,
                    rank: None,
                }),
                _ => None,
            })
            .collect()
    }

    /// PSI of observed bin counts against the feature's baseline proportions.
    pub fn psi(&self, feature: usize, counts: &[u64]) -> Option<f64> {
        let expected = match &self.features[feature] {
            FeatureBaseline::Numeric { proportions, .. }
            | FeatureBaseline::Categorical { proportions } => proportions,
        };
        psi(expected, counts)
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
                (a - e) * (a / e).ln()
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
    use crate::schema::Schema;
    use crate::testdata::{Bundle, reference};

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

    /// The holdout comes from the training distribution: its PSI and KS stay small.
    #[test]
    fn the_holdout_does_not_drift() {
        let m = Bundle::BreastCancer.manifest();
        let schema = Schema::from_manifest(&m).unwrap();
        let b = Baselines::from_manifest(&m);
        let rows: Vec<Row> = reference(Bundle::BreastCancer)
            .rows
            .iter()
            .map(|r| schema.validate_json(&r.features, "").unwrap())
            .collect();
        for f in 0..b.names().len() {
            let mut counts = vec![0u64; b.bins(f)];
            let mut ranks = vec![0u64; 102];
            for r in &rows {
                let bucket = b.buckets(r)[f].unwrap();
                counts[bucket.bin as usize] += 1;
                ranks[bucket.rank.unwrap() as usize] += 1;
            }
            let psi = b.psi(f, &counts).unwrap();
            let ks = b.ks(f, &ranks).unwrap();
            assert!(psi < 0.2 && ks < 0.2, "{}: psi {psi} ks {ks}", b.names()[f]);
        }
    }
}
