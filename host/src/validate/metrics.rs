//! The quality metrics of the gate, computed as scikit-learn does (tests compare with
//! sklearn itself): accuracy, ROC AUC (binary, or one-vs-rest macro), log loss;
//! RMSE, MAE, R²; and the median of a set of latencies.

/// One classification prediction: the label index and the probabilities in label order.
pub struct Scored {
    pub label: usize,
    pub probabilities: Vec<f64>,
}

pub fn accuracy(truth: &[usize], predicted: &[Scored]) -> f64 {
    let hits = truth
        .iter()
        .zip(predicted)
        .filter(|(t, p)| **t == p.label)
        .count();
    hits as f64 / truth.len().max(1) as f64
}

/// sklearn's `log_loss`: probabilities clipped to [eps, 1 - eps] (eps of f64).
pub fn log_loss(truth: &[usize], predicted: &[Scored]) -> f64 {
    let eps = f64::EPSILON;
    let total: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| -p.probabilities[*t].clamp(eps, 1.0 - eps).ln())
        .sum();
    total / truth.len().max(1) as f64
}

/// Binary: the AUC of the second label's probability (sklearn's positive class);
/// several classes: one-vs-rest, macro average. `None` when a class has no positive or
/// no negative row (sklearn raises there).
pub fn roc_auc(truth: &[usize], predicted: &[Scored], classes: usize) -> Option<f64> {
    let auc_of = |k: usize| {
        let scores: Vec<(f64, bool)> = truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| (p.probabilities[k], *t == k))
            .collect();
        binary_auc(&scores)
    };
    if classes == 2 {
        return auc_of(1);
    }
    let aucs: Option<Vec<f64>> = (0..classes).map(auc_of).collect();
    aucs.map(|a| a.iter().sum::<f64>() / a.len() as f64)
}

/// Mann–Whitney: the chance a positive scores above a negative, ties counting half.
fn binary_auc(scores: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = sorted.iter().filter(|(_, p)| *p).count();
    let negatives = sorted.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Sum of the positives' ranks (1-based, ties get their average rank).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let average_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += average_rank * sorted[i..j].iter().filter(|(_, p)| *p).count() as f64;
        i = j;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

pub fn rmse(truth: &[f64], predicted: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    (truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

pub fn mae(truth: &[f64], predicted: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / n
}

pub fn r2(truth: &[f64], predicted: &[f64]) -> f64 {
    let mean = truth.iter().sum::<f64>() / truth.len().max(1) as f64;
    let residual: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    let total: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    1.0 - residual / total
}

/// The median (the mean of the two middle values for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half_and_regression_metrics_are_sklearns() {
        let s = |p: f64| Scored {
            label: usize::from(p >= 0.5),
            probabilities: vec![1.0 - p, p],
        };
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        let truth = [0, 0, 1, 1];
        let pred: Vec<Scored> = [0.1, 0.4, 0.35, 0.8].into_iter().map(s).collect();
        assert_eq!(roc_auc(&truth, &pred, 2), Some(0.75));
        let tied: Vec<Scored> = [0.5, 0.5, 0.5, 0.5].into_iter().map(s).collect();
        assert_eq!(roc_auc(&truth, &tied, 2), Some(0.5));
        assert_eq!(roc_auc(&[1, 1], &tied[..2], 2), None);
        // r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) == 0.9486081370449679
        let (t, p) = ([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]);
        assert!((r2(&t, &p) - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert_eq!(mae(&t, &p), 0.5);
        assert!((rmse(&t, &p) - 0.375f64.sqrt()).abs() < 1e-15);
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }
}
