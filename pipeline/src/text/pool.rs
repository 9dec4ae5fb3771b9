//! Token embeddings → one sentence embedding: the mean over tokens (sentence-transformers'
//! `Pooling(pooling_mode_mean_tokens)`, every token counted: the sequence is unpadded),
//! then optionally divided by the L2 norm (`Normalize`, torch's `F.normalize`: the norm
//! floored at 1e-12). Sums in f64, so the order of tokens does not change the answer.

/// `tokens` is `[n, width]` row-major; `n == 0` gives zeros.
pub fn mean_pool(tokens: &[f32], width: usize, normalize: bool) -> Vec<f32> {
    let n = tokens.len().checked_div(width).unwrap_or(0);
    let mut sum = vec![0f64; width];
    for row in tokens.chunks_exact(width.max(1)).take(n) {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += f64::from(*v);
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
    let scale = if normalize {
        let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
        1.0 / norm.max(1e-12)
    } else {
        1.0
    };
    mean.iter().map(|v| (v * scale) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_two_tokens_normalised_has_unit_norm() {
        let e = mean_pool(&[1.0, 0.0, 3.0, 4.0], 2, true);
        // mean (2, 2) → (1/√2, 1/√2)
        assert!((e[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-7);
        assert!((e[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-7);
        assert_eq!(mean_pool(&[1.0, 0.0, 3.0, 4.0], 2, false), vec![2.0, 2.0]);
    }

    #[test]
    fn a_zero_vector_stays_zero_instead_of_nan() {
        assert_eq!(mean_pool(&[0.0; 4], 2, true), vec![0.0, 0.0]);
    }
}
