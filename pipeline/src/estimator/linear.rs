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
            *o = dot(x, w) + self.intercept[k];
        }
    }
}

/// `x · w` summed in order from -0.0, exactly as `x.iter().zip(w).map(|(x, w)| x * w).sum()`
/// (the same additions in the same order, so the same bits), four terms per loop
/// iteration written out: inside wasm each iteration pays an epoch check
/// (`preprocess::for_each_row`).
#[inline(always)]
fn dot(x: &[f64], w: &[f64]) -> f64 {
    let (x4, x_rest) = x.as_chunks::<4>();
    let (w4, w_rest) = w.as_chunks::<4>();
    let mut sum = -0.0;
    for (x, w) in x4.iter().zip(w4) {
        sum += x[0] * w[0];
        sum += x[1] * w[1];
        sum += x[2] * w[2];
        sum += x[3] * w[3];
    }
    for (x, w) in x_rest.iter().zip(w_rest) {
        sum += x * w;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::dot;

    #[test]
    fn dot_has_the_bits_of_the_iterator_sum() {
        // Values whose sums round differently by order, and signed zeros.
        let pool = [
            0.1, -0.2, 1e16, 3.3, -1e16, 7e-3, -0.0, 0.0, 2.5e-300, -9.75,
        ];
        for n in 0..=pool.len() {
            for shift in 0..pool.len() {
                let x: Vec<f64> = (0..n).map(|i| pool[(i + shift) % pool.len()]).collect();
                let w: Vec<f64> = (0..n)
                    .map(|i| pool[(i * 3 + shift + 1) % pool.len()])
                    .collect();
                let want: f64 = x.iter().zip(&w).map(|(x, w)| x * w).sum();
                assert_eq!(dot(&x, &w).to_bits(), want.to_bits(), "{x:?} · {w:?}");
            }
        }
    }
}
