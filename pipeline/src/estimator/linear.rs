//! Linear models: `raw_k = Σ_j x_j·coef[k][j] + intercept[k]` (sklearn's
//! `X @ coef_.T + intercept_`).

use super::format::ModelSpec;

#[derive(Debug, Clone)]
pub struct Linear {
    /// Row-major `[outputs, width]`.
    coef: Vec<f64>,
    intercept: Vec<f64>,
    width: usize,
}

impl Linear {
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, String> {
        let coef = spec.coef.as_ref().ok_or("`coef` is missing")?;
        let intercept = spec.intercept.clone().ok_or("`intercept` is missing")?;
        if coef.len() != spec.outputs || intercept.len() != spec.outputs {
            return Err(format!(
                "`coef` has {} rows and `intercept` {} values; outputs is {}",
                coef.len(),
                intercept.len(),
                spec.outputs
            ));
        }
        if let Some(k) = coef.iter().position(|r| r.len() != spec.input_width) {
            return Err(format!(
                "`coef[{k}]` has {} values; input_width is {}",
                coef[k].len(),
                spec.input_width
            ));
        }
        Ok(Linear {
            coef: coef.concat(),
            intercept,
            width: spec.input_width,
        })
    }

    /// Raw outputs of one row.
    pub fn raw(&self, x: &[f64], out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate() {
            let w = &self.coef[k * self.width..(k + 1) * self.width];
            *o = x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() + self.intercept[k];
        }
    }
}
