//! Model output → predictions: the label is the argmax of the probabilities (the first
//! one on a tie, like numpy's argmax and so sklearn's `predict`).

/// One instance's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: usize,
    /// One per label, in the manifest's label order.
    pub probabilities: Vec<f32>,
    /// The probability of the predicted label.
    pub confidence: f32,
}

/// Splits row-major `[rows, labels]` probabilities into predictions.
pub fn predictions(proba: &[f32], labels: usize) -> Vec<Prediction> {
    proba
        .chunks_exact(labels)
        .map(|p| {
            let (label, confidence) =
                p.iter()
                    .copied()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (i, x)| {
                        if x > best.1 { (i, x) } else { best }
                    });
            Prediction {
                label,
                probabilities: p.to_vec(),
                confidence,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_picks_the_largest_and_the_first_on_ties() {
        let p = predictions(&[0.1, 0.7, 0.2, 0.5, 0.2, 0.3, 0.4, 0.2, 0.4], 3);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].label, p[0].confidence), (1, 0.7));
        assert_eq!((p[1].label, p[1].confidence), (0, 0.5));
        assert_eq!((p[2].label, p[2].confidence), (0, 0.4)); // tie: the first wins
        assert_eq!(p[2].probabilities, [0.4, 0.2, 0.4]);
    }
}
