//! The number features' ranges as a table, and the check of a whole row against it: the
//! common `predict-rows` batch (every value a number within its feature's range) is
//! accepted with this check alone (`Schema::numbers_within_range`).

/// Per feature, the `[min, max]` a number must lie in; an empty range (no value lies in
/// it) for a feature that is not a number. Minima and maxima in two lists, so that a row
/// is compared two values at a time in wasm's 128-bit vectors.
#[derive(Debug, Clone, Default)]
pub struct Ranges {
    min: Vec<f64>,
    max: Vec<f64>,
}

impl Ranges {
    /// The range of the next feature, `None` for one that takes no number.
    pub fn push(&mut self, range: Option<(f64, f64)>) {
        let (min, max) = range.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
        self.min.push(min);
        self.max.push(max);
    }

    /// Whether `row` has a value per feature, each within its feature's range (NaN lies
    /// within none). Without a branch per value and four values per loop iteration:
    /// inside wasm each iteration pays an epoch check, and Cranelift spills and reloads
    /// the values live across the loop around its slow path (`preprocess::for_each_row`).
    #[inline(always)]
    pub fn contain_row(&self, row: &[f64]) -> bool {
        if row.len() != self.min.len() {
            return false;
        }
        let (rows4, row_rest) = row.as_chunks::<4>();
        let (min4, min_rest) = self.min.as_chunks::<4>();
        let (max4, max_rest) = self.max.as_chunks::<4>();
        let mut all = Within::ALL;
        for ((x, min), max) in rows4.iter().zip(min4).zip(max4) {
            all = all.and4(x, min, max);
        }
        let mut rest = true;
        for ((x, min), max) in row_rest.iter().zip(min_rest).zip(max_rest) {
            rest &= (*x >= *min) & (*x <= *max);
        }
        all.is_all() & rest
    }
}

/// Whether every value so far was within its range: in wasm, two lanes of a 128-bit mask,
/// compared two values at a time and tested once at the end.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
struct Within(core::arch::wasm32::v128);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Within {
    const ALL: Within = Within(core::arch::wasm32::u64x2(u64::MAX, u64::MAX));

    #[inline(always)]
    fn and4(self, x: &[f64; 4], min: &[f64; 4], max: &[f64; 4]) -> Within {
        use core::arch::wasm32::{f64x2_ge, f64x2_le, v128, v128_and, v128_load};
        // SAFETY: the slice `a[i..i + 2]` (bounds-checked) is two f64, the 16 bytes read;
        // wasm's `v128.load` takes any alignment.
        let pair =
            |a: &[f64; 4], i: usize| unsafe { v128_load(a[i..i + 2].as_ptr().cast::<v128>()) };
        let within = |i| {
            v128_and(
                f64x2_ge(pair(x, i), pair(min, i)),
                f64x2_le(pair(x, i), pair(max, i)),
            )
        };
        Within(v128_and(self.0, v128_and(within(0), within(2))))
    }

    #[inline(always)]
    fn is_all(self) -> bool {
        core::arch::wasm32::i64x2_all_true(self.0)
    }
}

/// Whether every value so far was within its range (the compiler vectorises what it can).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[derive(Clone, Copy)]
struct Within(bool);

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Within {
    const ALL: Within = Within(true);

    #[inline(always)]
    fn and4(self, x: &[f64; 4], min: &[f64; 4], max: &[f64; 4]) -> Within {
        Within((0..4).fold(self.0, |all, i| all & (x[i] >= min[i]) & (x[i] <= max[i])))
    }

    #[inline(always)]
    fn is_all(self) -> bool {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_within_only_when_every_value_is() {
        let mut ranges = Ranges::default();
        for i in 0..6 {
            ranges.push(Some((i as f64, i as f64 + 1.0)));
        }
        ranges.push(None);
        let inside = [0.0, 1.5, 3.0, 3.5, 4.0, 6.0];
        let mut just_numbers = ranges.clone();
        just_numbers.min.pop();
        just_numbers.max.pop();
        assert!(just_numbers.contain_row(&inside));
        // Each position out of range, in the vector lanes and in the rest.
        for i in 0..6 {
            for bad in [i as f64 - 0.5, i as f64 + 1.5, f64::NAN] {
                let mut row = inside;
                row[i] = bad;
                assert!(!just_numbers.contain_row(&row), "{i}: {bad}");
            }
        }
        // A feature that takes no number, and a row of the wrong length.
        assert!(!ranges.contain_row(&[0.0, 1.5, 3.0, 3.5, 4.0, 6.0, 0.0]));
        assert!(!just_numbers.contain_row(&inside[..5]));
    }
}
