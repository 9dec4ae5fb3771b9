//! Preprocessing as the manifest's column programs (models/README.md): each estimator
//! input column is a source (a feature's value, a missing indicator, a one-hot or ordinal
//! code) followed by f64 ops. Done in f64 in the same order as numpy, so the result is
//! the matrix the user's sklearn preprocessing hands the estimator, bit for bit.

use serde_json::Value;

use crate::manifest::{FeatureType, Manifest, ManifestError, OpKind, OpSpec, SourceKind};
use crate::schema::{Cell, Schema, ValidRows};

/// A category value after imputation: one of the feature's categories, or none of them
/// (an accepted unknown value, or an imputed fill value outside the categories).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Code {
    Known(usize),
    Other,
}

#[derive(Debug, Clone)]
enum Source {
    /// The number; `missing` when absent (the imputer's statistic, or NaN).
    Value {
        feature: usize,
        missing: f64,
    },
    MissingIndicator {
        feature: usize,
    },
    /// 1.0 when the (imputed) value is `hot`; `missing_hot` says what a missing value gives
    /// when no imputer fills it (an encoder's missing category).
    OneHot {
        feature: usize,
        hot: Option<usize>,
        impute: Option<Code>,
        missing_hot: bool,
    },
    /// `codes[k]` for the feature's category k; `unknown` and `missing` otherwise.
    Ordinal {
        feature: usize,
        codes: Vec<f64>,
        unknown: f64,
        missing: f64,
    },
}

#[derive(Debug, Clone)]
struct Column {
    source: Source,
    ops: Vec<OpSpec>,
}

/// Turns validated rows into the estimator's row-major `[N, width]` f64 input.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    columns: Vec<Column>,
    /// Some column can produce NaN (an optional feature without imputation): only
    /// estimators that take NaN may read this preprocessing.
    produces_nan: bool,
}

impl Preprocessor {
    pub fn from_manifest(m: &Manifest, schema: &Schema) -> Result<Self, ManifestError> {
        let mut columns = Vec::with_capacity(m.preprocessing.columns.len());
        let mut produces_nan = false;
        for (i, c) in m.preprocessing.columns.iter().enumerate() {
            let s = &c.source;
            let bad = |problem: &str| {
                ManifestError::Preprocessing(format!(
                    "columns[{i}] ({:?} of `{}`): {problem}",
                    s.kind, s.feature
                ))
            };
            let feature = schema
                .index_of(&s.feature)
                .ok_or_else(|| bad("no such feature"))?;
            let spec = &m.features[feature];
            let categories = schema.categories(feature);
            let optional = !spec.required;
            let numeric = spec.kind != FeatureType::Category;
            let category_index = |name: &str| categories.iter().position(|c| c == name);
            // A required key whose `null` means NaN.
            let number_or_nan = |v: &Option<Value>, key: &str| match v {
                None => Err(bad(&format!("`{key}` is missing"))),
                Some(Value::Null) => Ok(f64::NAN),
                Some(v) => v
                    .as_f64()
                    .ok_or_else(|| bad(&format!("`{key}` must be a number or null"))),
            };
            let source = match s.kind {
                SourceKind::Value => {
                    if !numeric {
                        return Err(bad("a value column needs a numeric feature"));
                    }
                    let missing = number_or_nan(&s.impute, "impute")?;
                    produces_nan |= optional && missing.is_nan();
                    Source::Value { feature, missing }
                }
                SourceKind::MissingIndicator => Source::MissingIndicator { feature },
                SourceKind::OneHot => {
                    if numeric {
                        return Err(bad("a one_hot column needs a category feature"));
                    }
                    let hot = match (&s.category, s.category_missing) {
                        (Some(c), false) => {
                            Some(category_index(c).ok_or_else(|| {
                                bad(&format!("category {c:?} is not the feature's"))
                            })?)
                        }
                        (None, true) => None,
                        _ => return Err(bad("give exactly one of `category`, `category_missing`")),
                    };
                    let impute = match &s.impute {
                        None => return Err(bad("`impute` is missing")),
                        Some(Value::Null) => None,
                        Some(Value::String(v)) => {
                            Some(category_index(v).map_or(Code::Other, Code::Known))
                        }
                        Some(_) => return Err(bad("`impute` must be a string or null")),
                    };
                    Source::OneHot {
                        feature,
                        hot,
                        impute,
                        missing_hot: hot.is_none(),
                    }
                }
                SourceKind::Ordinal => {
                    if numeric {
                        return Err(bad("an ordinal column needs a category feature"));
                    }
                    let own = s
                        .categories
                        .as_deref()
                        .ok_or_else(|| bad("`categories` is missing"))?;
                    let unknown = match &s.unknown_value {
                        None if spec.accept_unknown => {
                            return Err(bad(
                                "the feature accepts unknown values but `unknown_value` is missing",
                            ));
                        }
                        None => f64::NAN, // never read: validation refuses unknown values
                        v => number_or_nan(v, "unknown_value")?,
                    };
                    let code = |name: &str| {
                        own.iter()
                            .position(|c| c == name)
                            .map_or(unknown, |k| k as f64)
                    };
                    let codes: Vec<f64> = categories.iter().map(|c| code(c)).collect();
                    let missing = match &s.impute {
                        None => return Err(bad("`impute` is missing")),
                        Some(Value::Null) => number_or_nan(&s.missing_value, "missing_value")?,
                        Some(Value::String(v)) => code(v),
                        Some(_) => return Err(bad("`impute` must be a string or null")),
                    };
                    produces_nan |= (optional && missing.is_nan())
                        || (spec.accept_unknown && unknown.is_nan())
                        || codes.iter().any(|c| c.is_nan());
                    Source::Ordinal {
                        feature,
                        codes,
                        unknown,
                        missing,
                    }
                }
            };
            if c.ops.iter().any(|o| !o.value.is_finite()) {
                return Err(bad("op values must be finite"));
            }
            columns.push(Column {
                source,
                ops: c.ops.clone(),
            });
        }
        Ok(Preprocessor {
            columns,
            produces_nan,
        })
    }

    /// Width of one transformed row (the estimator's input width).
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Whether a valid request can put NaN into the estimator's input.
    pub fn produces_nan(&self) -> bool {
        self.produces_nan
    }

    /// The `[rows, width]` input, row-major, for rows however they are held (`ValidRows`:
    /// validated `Row`s, or `predict-rows`' numbers read in place).
    ///
    /// A batch goes column by column: a column's source and each of its operations are
    /// matched once for the whole batch, and the loops over the rows carry no dispatch
    /// (a number column, the common source, with its read spelled out; the others
    /// through `Source::read`), four rows per iteration (`for_each_row`). One row goes
    /// through `transform_row`, without the scratch column. Either way each value goes
    /// through its column's operations in order, so the bits are the same. Inside wasm,
    /// every loop iteration pays an epoch check (host/src/engine.rs), so a batch needs
    /// few, tight loops; not inlined into the caller, whose live values would otherwise
    /// be spilled in them. Measured in README "Performance" (`host bench`,
    /// `bench/stages.sh`).
    #[inline(never)]
    pub fn transform<R: ValidRows + ?Sized>(&self, rows: &R) -> Vec<f64> {
        let width = self.width();
        let n = rows.row_count();
        let mut out = vec![0.0f64; n * width];
        if n == 1 {
            self.transform_row(rows, &mut out);
            return out;
        }
        let mut column_values = vec![0.0f64; n];
        for (c, column) in self.columns.iter().enumerate() {
            match column.source {
                Source::Value { feature, missing } => for_each_row(n, |r| {
                    column_values[r] = match rows.cell(r, feature) {
                        Some(Cell::Number(x)) => x,
                        _ => missing,
                    };
                }),
                ref source => {
                    let feature = source.feature();
                    for_each_row(n, |r| column_values[r] = source.read(rows.cell(r, feature)));
                }
            }
            // Each operation but the last in place; the last writes the column into `out`.
            let (last, ops) = match column.ops.split_last() {
                Some((last, ops)) => (Some(last), ops),
                None => (None, &[][..]),
            };
            for op in ops {
                with_op(op.op, |kind| {
                    apply_in_place(kind, op.value, &mut column_values)
                });
            }
            match last {
                Some(&OpSpec { op, value }) => with_op(op, |kind| {
                    write_column(&mut out, width, c, |r| apply(kind, column_values[r], value))
                }),
                None => write_column(&mut out, width, c, |r| column_values[r]),
            }
        }
        out
    }

    /// The estimator input of the first of `rows` into `out` (`self.width()` values).
    fn transform_row<R: ValidRows + ?Sized>(&self, rows: &R, out: &mut [f64]) {
        for (column, o) in self.columns.iter().zip(out) {
            let x = column.source.read(rows.cell(0, column.source.feature()));
            *o = column.ops.iter().fold(x, |x, op| apply(op.op, x, op.value));
        }
    }
}

/// `x op value`.
#[inline(always)]
fn apply(op: OpKind, x: f64, value: f64) -> f64 {
    match op {
        OpKind::Sub => x - value,
        OpKind::Div => x / value,
        OpKind::Mul => x * value,
        OpKind::Add => x + value,
    }
}

/// `x = x op value` for each `x` of `xs`, four per loop iteration (`for_each_row`); in
/// wasm two at a time in 128-bit vectors, lane by lane the same IEEE operation, so the
/// same bits. (Natively LLVM vectorises the scalar loop itself; rustc does not at the
/// guest's `opt-level = "s"`.)
#[inline(always)]
fn apply_in_place(kind: OpKind, value: f64, xs: &mut [f64]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::{
            f64x2_add, f64x2_div, f64x2_mul, f64x2_splat, f64x2_sub, v128, v128_load, v128_store,
        };
        let values = f64x2_splat(value);
        let (fours, rest) = xs.as_chunks_mut::<4>();
        for four in fours {
            for pair in four.as_chunks_mut::<2>().0 {
                let p = pair.as_mut_ptr().cast::<v128>();
                // SAFETY: `pair` is two f64, the 16 bytes read and written; wasm's
                // `v128.load` and `v128.store` take any alignment.
                unsafe {
                    let x = v128_load(p);
                    let y = match kind {
                        OpKind::Sub => f64x2_sub(x, values),
                        OpKind::Div => f64x2_div(x, values),
                        OpKind::Mul => f64x2_mul(x, values),
                        OpKind::Add => f64x2_add(x, values),
                    };
                    v128_store(p, y);
                }
            }
        }
        rest.iter_mut().for_each(|x| *x = apply(kind, *x, value));
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for_each_row(xs.len(), |r| xs[r] = apply(kind, xs[r], value));
}

/// `out[r * width + c] = value(r)` for each row `r` of the row-major `out`: its column
/// `c`, four rows per loop iteration (`for_each_row`), through blocks of four rows.
#[inline(always)]
fn write_column(out: &mut [f64], width: usize, c: usize, mut value: impl FnMut(usize) -> f64) {
    assert!(c < width);
    let mut blocks = out.chunks_exact_mut(4 * width);
    let mut r = 0;
    for block in &mut blocks {
        block[c] = value(r);
        block[width + c] = value(r + 1);
        block[2 * width + c] = value(r + 2);
        block[3 * width + c] = value(r + 3);
        r += 4;
    }
    for row in blocks.into_remainder().chunks_exact_mut(width) {
        row[c] = value(r);
        r += 1;
    }
}

/// `body(kind)` with `kind` a constant in each arm, so that the loops `body` runs match
/// the operation once, outside them.
#[inline(always)]
fn with_op(kind: OpKind, mut body: impl FnMut(OpKind)) {
    match kind {
        OpKind::Sub => body(OpKind::Sub),
        OpKind::Div => body(OpKind::Div),
        OpKind::Mul => body(OpKind::Mul),
        OpKind::Add => body(OpKind::Add),
    }
}

/// `f(r)` for each row `r` of `0..n` in order, four rows per loop iteration written out.
/// Inside wasm each loop iteration pays an epoch check, and Cranelift spills and reloads
/// around its slow path the values live across the loop (an operation's constant: a
/// store and a load per value, measured as 65% of `transform`'s samples); four rows per
/// iteration pay that once. LLVM does not unroll at the guest's `opt-level = "s"`.
#[inline(always)]
fn for_each_row(n: usize, mut f: impl FnMut(usize)) {
    let mut r = 0;
    while r + 4 <= n {
        f(r);
        f(r + 1);
        f(r + 2);
        f(r + 3);
        r += 4;
    }
    while r < n {
        f(r);
        r += 1;
    }
}

impl Source {
    /// The feature this column reads.
    fn feature(&self) -> usize {
        match *self {
            Source::Value { feature, .. }
            | Source::MissingIndicator { feature }
            | Source::OneHot { feature, .. }
            | Source::Ordinal { feature, .. } => feature,
        }
    }

    /// The column's value for a row whose feature (`self.feature()`) holds `cell`.
    #[inline(always)]
    fn read(&self, cell: Option<Cell>) -> f64 {
        let indicator = |b: bool| if b { 1.0 } else { 0.0 };
        match *self {
            Source::Value { missing, .. } => match cell {
                Some(Cell::Number(x)) => x,
                _ => missing,
            },
            Source::MissingIndicator { .. } => indicator(cell.is_none()),
            Source::OneHot {
                hot,
                impute,
                missing_hot,
                ..
            } => {
                let code = match cell {
                    Some(Cell::Category(k)) => Some(Code::Known(k)),
                    Some(_) => Some(Code::Other),
                    None => impute,
                };
                match code {
                    Some(code) => indicator(hot.is_some_and(|h| code == Code::Known(h))),
                    None => indicator(missing_hot),
                }
            }
            Source::Ordinal {
                ref codes,
                unknown,
                missing,
                ..
            } => match cell {
                Some(Cell::Category(k)) => codes[k],
                Some(_) => unknown,
                None => missing,
            },
        }
    }
}
