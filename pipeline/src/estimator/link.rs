//! The link: an estimator's K raw outputs → the prediction (models/README.md, `link`).
//! Formulas as sklearn/scipy compute them (`expit`, max-shifted softmax).

use super::format::LinkKind;
use crate::manifest::Task;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    kind: LinkKind,
    scale: f64,
    task: Task,
}

impl Link {
    /// Checks the link against the task and the estimator's number of outputs.
    pub fn new(
        kind: LinkKind,
        scale: f64,
        task: Task,
        outputs: usize,
        classes: usize,
    ) -> Result<Self, String> {
        use LinkKind::*;
        let expected = match (task, kind) {
            (Task::Classification, Identity | Softmax | OvrLogistic) => classes,
            (Task::Classification, Logistic) if classes == 2 => 1,
            (Task::Regression, Identity | Exp) => 1,
            _ => {
                return Err(format!(
                    "link {kind:?} does not fit {task:?} with {classes} labels"
                ));
            }
        };
        if outputs != expected {
            return Err(format!(
                "link {kind:?} for this task needs outputs = {expected}, got {outputs}"
            ));
        }
        if !scale.is_finite() {
            return Err("link_scale must be finite".into());
        }
        Ok(Link { kind, scale, task })
    }

    pub fn task(&self) -> Task {
        self.task
    }

    /// A regression's value for one row's raw outputs.
    pub fn value(&self, raw: &[f64]) -> f64 {
        match self.kind {
            LinkKind::Exp => libm::exp(raw[0]),
            _ => raw[0],
        }
    }

    /// A classification's probabilities for one row's raw outputs, in label order,
    /// appended to `out` (a batch's flat list, or one row's).
    pub fn probabilities_into(&self, raw: &[f64], out: &mut Vec<f64>) {
        let start = out.len();
        match self.kind {
            LinkKind::Logistic => {
                let p = expit(self.scale * raw[0]);
                out.extend([1.0 - p, p]);
            }
            LinkKind::Softmax => {
                let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                out.extend(raw.iter().map(|r| libm::exp(r - max)));
                normalise(&mut out[start..]);
            }
            LinkKind::OvrLogistic => {
                out.extend(raw.iter().map(|r| expit(*r)));
                normalise(&mut out[start..]);
            }
            _ => out.extend_from_slice(raw),
        }
    }
}

/// Each of `xs` divided by their sum.
fn normalise(xs: &mut [f64]) {
    let sum: f64 = xs.iter().sum();
    xs.iter_mut().for_each(|x| *x /= sum);
}

/// scipy's `expit`: 1 / (1 + e^-x).
fn expit(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(kind: LinkKind, outputs: usize, classes: usize, raw: &[f64]) -> Vec<f64> {
        let link = Link::new(kind, 1.0, Task::Classification, outputs, classes).unwrap();
        let mut probabilities = Vec::new();
        link.probabilities_into(raw, &mut probabilities);
        probabilities
    }

    #[test]
    fn classification_links_give_probabilities() {
        // logistic of 0 is one half; of ln 3 is 3/4.
        assert_eq!(class(LinkKind::Logistic, 1, 2, &[0.0]), [0.5, 0.5]);
        let p = class(LinkKind::Logistic, 1, 2, &[3f64.ln()]);
        assert!((p[1] - 0.75).abs() < 1e-15 && (p[0] - 0.25).abs() < 1e-15);
        // softmax of (ln 1, ln 3) is (1/4, 3/4), also when shifted by a large constant.
        let p = class(LinkKind::Softmax, 2, 2, &[1000.0, 1000.0 + 3f64.ln()]);
        assert!((p[1] - 0.75).abs() < 1e-12, "{p:?}");
        // ovr: expit(0) = 1/2 twice, normalised to halves.
        assert_eq!(class(LinkKind::OvrLogistic, 2, 2, &[0.0, 0.0]), [0.5, 0.5]);
        assert_eq!(
            class(LinkKind::Identity, 3, 3, &[0.2, 0.5, 0.3]),
            [0.2, 0.5, 0.3]
        );
    }

    #[test]
    fn regression_links_and_shape_checks() {
        let exp = Link::new(LinkKind::Exp, 1.0, Task::Regression, 1, 0).unwrap();
        assert_eq!(exp.value(&[0.0]), 1.0);
        assert!(Link::new(LinkKind::Softmax, 1.0, Task::Regression, 1, 0).is_err());
        assert!(Link::new(LinkKind::Logistic, 1.0, Task::Classification, 1, 3).is_err());
        let e = Link::new(LinkKind::Softmax, 1.0, Task::Classification, 2, 3).unwrap_err();
        assert!(e.contains("outputs = 3, got 2"), "{e}");
    }
}
