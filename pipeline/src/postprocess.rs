//! The prediction of one instance, and the label as the argmax of the probabilities (the
//! first one on a tie, like numpy's argmax and so sklearn's `predict`).

/// One instance's prediction.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    Class {
        /// Index into the manifest's labels.
        label: usize,
        /// One per label, in the manifest's label order.
        probabilities: Vec<f64>,
        /// The probability of the predicted label.
        confidence: f64,
    },
    Value(f64),
}

/// A batch's predictions as flat lists (what `predict-rows` answers): no list per row.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchPredictions {
    Class {
        /// Per row, the index of its label in the manifest's labels.
        label_indices: Vec<u32>,
        /// Per row, one per label in label order: `[rows, labels]`, row-major.
        probabilities: Vec<f64>,
    },
    Value(Vec<f64>),
}

impl BatchPredictions {
    /// One `Prediction` per row, as `predict` answers the same rows.
    pub fn to_predictions(&self) -> Vec<Prediction> {
        match self {
            BatchPredictions::Class {
                label_indices,
                probabilities,
            } => {
                let labels = probabilities.len().checked_div(label_indices.len());
                probabilities
                    .chunks_exact(labels.unwrap_or(1).max(1))
                    .zip(label_indices)
                    .map(|(p, &label)| Prediction::Class {
                        label: label as usize,
                        probabilities: p.to_vec(),
                        confidence: p.get(label as usize).copied().unwrap_or(f64::NAN),
                    })
                    .collect()
            }
            BatchPredictions::Value(values) => {
                values.iter().map(|v| Prediction::Value(*v)).collect()
            }
        }
    }
}

impl Prediction {
    /// The class prediction for probabilities in label order.
    pub fn from_probabilities(probabilities: Vec<f64>) -> Self {
        let (label, confidence) = argmax(&probabilities);
        Prediction::Class {
            label,
            probabilities,
            confidence,
        }
    }
}

/// Index and value of the largest element, the first on a tie; `(0, -inf)` when empty.
pub fn argmax(xs: &[f64]) -> (usize, f64) {
    xs.iter()
        .copied()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, x)| {
            if x > best.1 { (i, x) } else { best }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_picks_the_largest_and_the_first_on_ties() {
        assert_eq!(argmax(&[0.1, 0.7, 0.2]), (1, 0.7));
        assert_eq!(argmax(&[0.5, 0.2, 0.3]), (0, 0.5));
        assert_eq!(argmax(&[0.4, 0.2, 0.4]), (0, 0.4)); // tie: the first wins
        let p = Prediction::from_probabilities(vec![0.25, 0.75]);
        assert_eq!(
            p,
            Prediction::Class {
                label: 1,
                probabilities: vec![0.25, 0.75],
                confidence: 0.75
            }
        );
    }
}
