//! Input validation against the manifest's feature schema.
//!
//! Every problem in an instance is collected (not just the first), each naming its field,
//! so a client can fix a request in one round trip.

use std::collections::HashMap;

use serde_json::Value;

use crate::api::MAX_PROBLEMS;
use crate::manifest::{FeatureType, Manifest, ManifestError, Range};
use crate::ranges::Ranges;

/// One input value as a client sends it, before validation. JSON and the typed WIT
/// interface both map onto this.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValue {
    Number(f64),
    Integer(i64),
    /// A `Box<str>`, not a `String`: 8 bytes in wasm32, so the whole value is 16 bytes
    /// with every payload at offset 8, and a copy moves the f64 of `Number` in one
    /// piece. With a 12-byte `String` the copy moved bytes 4..12 and 12..16, and reading
    /// the f64 back (bytes 8..16) waited for both stores (perf of the wasm build).
    Category(Box<str>),
    /// An explicit null: the optional feature's default is used.
    Missing,
    /// A value of a kind no feature accepts (boolean, array, object); the string names it.
    Other(&'static str),
}

impl FeatureValue {
    /// JSON → feature value. Numbers that are integers in JSON stay integers; a number
    /// that does not fit an f64 (e.g. `1e400`) becomes infinity so validation rejects it as
    /// not finite (serde_json's `arbitrary_precision` lets it reach us at all).
    pub fn from_json(v: &Value) -> Self {
        match v {
            Value::Null => FeatureValue::Missing,
            Value::Number(n) => match n.as_i64() {
                Some(i) => FeatureValue::Integer(i),
                None => FeatureValue::Number(n.as_f64().unwrap_or_else(|| {
                    // Only past f64's range: infinite, with the number's sign.
                    if n.to_string().starts_with('-') {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    }
                })),
            },
            Value::String(s) => FeatureValue::Category(s.as_str().into()),
            Value::Bool(_) => FeatureValue::Other("a boolean"),
            Value::Array(_) => FeatureValue::Other("an array"),
            Value::Object(_) => FeatureValue::Other("an object"),
        }
    }

    /// What kind of JSON value it was: "a number", "a string", "null", "an array", ….
    pub fn kind(&self) -> &'static str {
        match self {
            FeatureValue::Number(_) | FeatureValue::Integer(_) => "a number",
            FeatureValue::Category(_) => "a string",
            FeatureValue::Missing => "null",
            FeatureValue::Other(what) => what,
        }
    }
}

/// One thing wrong with a request, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

/// Longest field name and problem text an error echoes: a client's 1 MB key or category
/// must not come back (or reach the event log) whole.
const MAX_FIELD_BYTES: usize = 128;
const MAX_PROBLEM_BYTES: usize = 512;

impl FieldProblem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldProblem {
            field: truncated(field.into(), MAX_FIELD_BYTES),
            problem: truncated(problem.into(), MAX_PROBLEM_BYTES),
        }
    }
}

/// The problems of one request: the first `MAX_PROBLEMS` are kept, the rest only
/// counted. A hostile body's thousandth problem costs a counter, not a message and a
/// "did you mean" search.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<FieldProblem>,
    total: usize,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a problem; makes it only while fewer than `MAX_PROBLEMS` are kept.
    pub fn push(&mut self, make: impl FnOnce() -> FieldProblem) {
        self.total += 1;
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(make());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Every problem counted, kept or not.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The kept problems (at most `MAX_PROBLEMS`).
    pub fn into_list(self) -> Vec<FieldProblem> {
        self.list
    }
}

/// `s` cut to at most `max` bytes (on a char boundary), marked with `…` when cut.
pub(crate) fn truncated(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// A validated value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Number(f64),
    /// Index into the feature's categories.
    Category(usize),
    /// A value outside the categories of a feature that accepts unknown values (the
    /// encoders give it their unknown encoding).
    UnknownCategory,
}

/// One validated instance: a cell per schema feature, `None` where an optional feature
/// was absent or null (preprocessing imputes it).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Option<Cell>>,
}

/// Validated rows as preprocessing reads them: a cell per row and schema feature.
pub trait ValidRows {
    fn row_count(&self) -> usize;
    fn cell(&self, row: usize, feature: usize) -> Option<Cell>;
}

impl ValidRows for [Row] {
    fn row_count(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    fn cell(&self, row: usize, feature: usize) -> Option<Cell> {
        self[row].cells[feature]
    }
}

/// Rows of numbers, row-major with a value per feature, each already checked within its
/// feature's range (`Schema::numbers_within_range`): the common batch of `predict-rows`
/// read in place, without a `Row` (and its allocation) per row.
#[derive(Debug, Clone, Copy)]
pub struct NumberRows<'a> {
    values: &'a [f64],
    width: usize,
}

impl ValidRows for NumberRows<'_> {
    fn row_count(&self) -> usize {
        self.values.len() / self.width
    }

    #[inline(always)]
    fn cell(&self, row: usize, feature: usize) -> Option<Cell> {
        Some(Cell::Number(self.values[row * self.width + feature]))
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Number {
        min: f64,
        max: f64,
    },
    Integer {
        min: f64,
        max: f64,
    },
    Category {
        categories: Vec<String>,
        accept_unknown: bool,
    },
}

#[derive(Debug, Clone)]
struct Feature {
    name: String,
    kind: Kind,
    required: bool,
}

/// The compiled feature schema of a bundle.
#[derive(Debug, Clone)]
pub struct Schema {
    features: Vec<Feature>,
    index: HashMap<String, usize>,
    /// Feature indices in byte order of their names: the order of a JSON object's keys
    /// (serde_json's map is sorted), and so of most inputs, which `validate` tries first.
    sorted: Vec<usize>,
    /// Each number feature's range: `numbers_within_range`'s table.
    ranges: Ranges,
}

impl Schema {
    pub fn from_manifest(m: &Manifest) -> Result<Self, ManifestError> {
        let mut features = Vec::with_capacity(m.features.len());
        let mut index = HashMap::new();
        for (i, f) in m.features.iter().enumerate() {
            let bad = |problem: &str| ManifestError::Feature {
                feature: f.name.clone(),
                problem: problem.into(),
            };
            let kind = match f.kind {
                FeatureType::Number | FeatureType::Integer => {
                    // Without a range, any finite number is accepted.
                    let r = f.range.unwrap_or(Range {
                        min: f64::MIN,
                        max: f64::MAX,
                    });
                    if !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max) {
                        return Err(bad("range must be finite with min <= max"));
                    }
                    if f.categories.is_some() || f.accept_unknown {
                        return Err(bad("a numeric feature has no categories"));
                    }
                    if f.kind == FeatureType::Number {
                        Kind::Number {
                            min: r.min,
                            max: r.max,
                        }
                    } else {
                        Kind::Integer {
                            min: r.min,
                            max: r.max,
                        }
                    }
                }
                FeatureType::Category => {
                    let categories = f
                        .categories
                        .clone()
                        .filter(|c| !c.is_empty())
                        .ok_or_else(|| bad("a category feature needs categories"))?;
                    if f.range.is_some() {
                        return Err(bad("a category feature has no range"));
                    }
                    Kind::Category {
                        categories,
                        accept_unknown: f.accept_unknown,
                    }
                }
            };
            if index.insert(f.name.clone(), i).is_some() {
                return Err(bad("feature named twice"));
            }
            features.push(Feature {
                name: f.name.clone(),
                kind,
                required: f.required,
            });
        }
        let mut sorted: Vec<usize> = (0..features.len()).collect();
        sorted.sort_by(|a, b| features[*a].name.cmp(&features[*b].name));
        let mut ranges = Ranges::default();
        for f in &features {
            ranges.push(match f.kind {
                Kind::Number { min, max } => Some((min, max)),
                _ => None,
            });
        }
        Ok(Schema {
            features,
            index,
            sorted,
            ranges,
        })
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn name(&self, feature: usize) -> &str {
        &self.features[feature].name
    }

    /// The categories of a category feature (empty for numeric ones).
    pub fn categories(&self, feature: usize) -> &[String] {
        match &self.features[feature].kind {
            Kind::Category { categories, .. } => categories,
            _ => &[],
        }
    }

    /// Validates one JSON object of `name: value` pairs. `prefix` is prepended to field
    /// names in problems (e.g. `features` or `instances[3]`).
    pub fn validate_json(
        &self,
        obj: &serde_json::Map<String, Value>,
        prefix: &str,
    ) -> Result<Row, Vec<FieldProblem>> {
        self.validate(json_pairs(obj), prefix)
    }

    /// Validates one instance given as `(name, value)` pairs, in any order.
    pub fn validate<'a>(
        &self,
        inputs: impl IntoIterator<Item = (&'a str, FeatureValue)>,
        prefix: &str,
    ) -> Result<Row, Vec<FieldProblem>> {
        self.validate_with(inputs, || prefix.to_string())
    }

    /// `validate`, with the prefix made only when there is a problem to name. At most
    /// `MAX_PROBLEMS` problems are returned.
    pub fn validate_with<'a>(
        &self,
        inputs: impl IntoIterator<Item = (&'a str, FeatureValue)>,
        prefix: impl Fn() -> String,
    ) -> Result<Row, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        self.validate_into(inputs, prefix, &mut problems)
            .ok_or_else(|| problems.into_list())
    }

    /// Validates one instance into a row, or adds its problems to `problems` (the
    /// request's, shared by the instances of a batch) and returns `None`.
    pub fn validate_into<'a>(
        &self,
        inputs: impl IntoIterator<Item = (&'a str, FeatureValue)>,
        prefix: impl Fn() -> String,
        problems: &mut Problems,
    ) -> Option<Row> {
        let field = |name: &str| {
            let prefix = prefix();
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let before = problems.total();
        let n = self.features.len();
        let mut cells: Vec<Option<Cell>> = vec![None; n];
        let mut seen = Seen::new(n);
        for (pos, (name, value)) in inputs.into_iter().enumerate() {
            let Some(i) = self.lookup(pos, name) else {
                problems.push(|| FieldProblem::new(field(name), self.unknown_feature(name)));
                continue;
            };
            if seen.insert(i) {
                problems.push(|| FieldProblem::new(field(name), "feature given more than once"));
                continue;
            }
            let feature = &self.features[i];
            // The common case written straight to its cell: merged with `check_other`'s
            // answer, which comes back through memory, it went through memory too, and in
            // wasm the 16-byte load of the merged answer waited on the two smaller
            // stores that wrote it (a third of this loop's samples under perf).
            if let Some(x) = number_in_range(feature, &value) {
                cells[i] = Some(Cell::Number(x));
                continue;
            }
            match self.check_other(feature, value) {
                Ok(cell) => cells[i] = cell,
                Err(problem) => problems.push(|| FieldProblem::new(field(name), problem)),
            }
        }
        for (i, f) in self.features.iter().enumerate() {
            if f.required && !seen.contains(i) {
                problems.push(|| FieldProblem::new(field(&f.name), "required feature is missing"));
            }
        }
        (problems.total() == before).then_some(Row { cells })
    }

    /// `values` (whole rows, a value per feature in schema order) as `NumberRows` when
    /// every one is a number within its feature's range, the common batch; `None` when
    /// some value needs `validate_numbers` (out of range, NaN, a category's index).
    pub fn numbers_within_range<'a>(&self, values: &'a [f64]) -> Option<NumberRows<'a>> {
        let width = self.features.len();
        let whole_rows = width > 0 && values.len().is_multiple_of(width);
        (whole_rows
            && values
                .chunks_exact(width)
                .all(|row| self.ranges.contain_row(row)))
        .then_some(NumberRows { values, width })
    }

    /// Validates one instance given as numbers in schema order (`len()` of them): a
    /// number or integer feature's value, a category feature's index in its categories;
    /// NaN for an absent optional feature. The dense form of `validate`: no names to
    /// match, what a tensor protocol carries. `prefix` names the row in problems.
    pub fn validate_numbers(
        &self,
        values: &[f64],
        prefix: impl Fn() -> String,
    ) -> Result<Row, Vec<FieldProblem>> {
        let field = |f: &Feature| format!("{}.{}", prefix(), f.name);
        if values.len() != self.features.len() {
            return Err(vec![FieldProblem::new(
                prefix(),
                format!(
                    "expected {} values (one per feature, in metadata order), got {}",
                    self.features.len(),
                    values.len()
                ),
            )]);
        }
        // The common case, every number within its range, in two tight loops.
        if self.ranges.contain_row(values) {
            let cells = values.iter().map(|x| Some(Cell::Number(*x))).collect();
            return Ok(Row { cells });
        }
        let mut cells: Vec<Option<Cell>> = Vec::with_capacity(values.len());
        let mut problems = Vec::new();
        for (f, x) in self.features.iter().zip(values) {
            // The common case straight to its cell (see `validate_into`).
            if within_range(f, *x) {
                cells.push(Some(Cell::Number(*x)));
                continue;
            }
            let checked = match &f.kind {
                _ if x.is_nan() => self.check(f, FeatureValue::Missing),
                Kind::Number { .. } | Kind::Integer { .. } => {
                    self.check(f, FeatureValue::Number(*x))
                }
                Kind::Category { categories, .. } => {
                    if x.fract() == 0.0 && *x >= 0.0 && *x < categories.len() as f64 {
                        Ok(Some(Cell::Category(*x as usize)))
                    } else {
                        Err(format!(
                            "expected a category index from 0 to {} ({}), got {}",
                            categories.len() - 1,
                            categories.join(", "),
                            shown(*x)
                        ))
                    }
                }
            };
            match checked {
                Ok(cell) => cells.push(cell),
                Err(problem) => {
                    cells.push(None);
                    problems.push(FieldProblem::new(field(f), problem));
                }
            }
        }
        if problems.is_empty() {
            Ok(Row { cells })
        } else {
            Err(problems)
        }
    }

    /// The index of the feature `name`, the `pos`-th input: a name compare when the
    /// inputs come in schema or name order (nearly always), a hash lookup otherwise.
    #[inline]
    fn lookup(&self, pos: usize, name: &str) -> Option<usize> {
        if let Some(f) = self.features.get(pos)
            && short_str_eq(&f.name, name)
        {
            return Some(pos);
        }
        if let Some(&i) = self.sorted.get(pos)
            && short_str_eq(&self.features[i].name, name)
        {
            return Some(i);
        }
        self.index_of(name)
    }

    /// `value` as `f`'s cell, or the problem with it. The common case (a number within
    /// its range) is decided inline: as a call, the answer comes back through memory,
    /// which in wasm cost more than the comparison itself (a dense batch of 64 natively
    /// 28 -> 15.5 µs). `validate_numbers` decides it before too, yet calling
    /// `check_other` there directly instead made its batch of 256 8% slower in wasm
    /// (73.5 -> 79.5 µs, `stages`, three alternating rounds).
    #[inline(always)]
    fn check(&self, f: &Feature, value: FeatureValue) -> Result<Option<Cell>, String> {
        if let Some(x) = number_in_range(f, &value) {
            return Ok(Some(Cell::Number(x)));
        }
        self.check_other(f, value)
    }

    #[inline(never)]
    fn check_other(&self, f: &Feature, value: FeatureValue) -> Result<Option<Cell>, String> {
        if value == FeatureValue::Missing {
            return if f.required {
                Err("required feature is null".into())
            } else {
                Ok(None)
            };
        }
        match (&f.kind, value) {
            (Kind::Number { min, max }, FeatureValue::Number(x)) => {
                in_range(x, *min, *max).map(|x| Some(Cell::Number(x)))
            }
            (Kind::Number { min, max } | Kind::Integer { min, max }, FeatureValue::Integer(i)) => {
                in_range(i as f64, *min, *max).map(|x| Some(Cell::Number(x)))
            }
            (Kind::Integer { min, max }, FeatureValue::Number(x)) => {
                if x.is_finite() && x.fract() != 0.0 {
                    return Err(format!("expected an integer, got {}", shown(x)));
                }
                in_range(x, *min, *max).map(|x| Some(Cell::Number(x)))
            }
            (
                Kind::Category {
                    categories,
                    accept_unknown,
                },
                FeatureValue::Category(s),
            ) => match categories.iter().position(|c| short_str_eq(c, &s)) {
                Some(k) => Ok(Some(Cell::Category(k))),
                None if *accept_unknown => Ok(Some(Cell::UnknownCategory)),
                None => Err(format!(
                    "unknown category {s:?}; expected one of: {}",
                    categories.join(", ")
                )),
            },
            (Kind::Category { categories, .. }, other) => Err(format!(
                "expected a string (one of: {}), got {}",
                categories.join(", "),
                other.kind()
            )),
            (Kind::Number { .. }, other) => Err(format!("expected a number, got {}", other.kind())),
            (Kind::Integer { .. }, other) => {
                Err(format!("expected an integer, got {}", other.kind()))
            }
        }
    }

    /// "unknown feature", with a hint when a feature is within 3 edits. The edit distance
    /// is only computed for names whose length is within 3 of the candidate's (a farther
    /// one cannot be within 3 edits) and of sane length, so a hostile key costs O(1).
    pub(crate) fn unknown_feature(&self, name: &str) -> String {
        const MAX_HINTED_NAME: usize = 256;
        if name.len() > MAX_HINTED_NAME {
            return "unknown feature".into();
        }
        let chars = name.chars().count();
        let closest = self
            .features
            .iter()
            .filter(|f| f.name.chars().count().abs_diff(chars) <= 3)
            .map(|f| (edit_distance(name, &f.name), &f.name))
            .min()
            .filter(|(d, _)| *d <= 3);
        match closest {
            Some((_, suggestion)) => format!("unknown feature; did you mean `{suggestion}`?"),
            None => "unknown feature".into(),
        }
    }
}

/// A JSON object's entries as the `(name, value)` pairs validation takes.
pub fn json_pairs(
    obj: &serde_json::Map<String, Value>,
) -> impl Iterator<Item = (&str, FeatureValue)> {
    obj.iter()
        .map(|(k, v)| (k.as_str(), FeatureValue::from_json(v)))
}

/// Which features an instance has given, without allocating for up to 256 features.
enum Seen {
    Small([u64; 4]),
    Large(Vec<bool>),
}

impl Seen {
    fn new(n: usize) -> Self {
        if n <= 256 {
            Seen::Small([0; 4])
        } else {
            Seen::Large(vec![false; n])
        }
    }

    /// Marks feature `i`; whether it was marked already.
    #[inline]
    fn insert(&mut self, i: usize) -> bool {
        match self {
            Seen::Small(bits) => {
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                let was = bits[word] & bit != 0;
                bits[word] |= bit;
                was
            }
            Seen::Large(v) => std::mem::replace(&mut v[i], true),
        }
    }

    #[inline]
    fn contains(&self, i: usize) -> bool {
        match self {
            Seen::Small(bits) => bits[i / 64] & (1u64 << (i % 64)) != 0,
            Seen::Large(v) => v[i],
        }
    }
}

fn in_range(x: f64, min: f64, max: f64) -> Result<f64, String> {
    if !x.is_finite() {
        return Err("not a finite number".into());
    }
    if x < min || x > max {
        return Err(format!(
            "value {} is outside the valid range [{}, {}]",
            shown(x),
            shown(min),
            shown(max)
        ));
    }
    Ok(x)
}

/// A number as problems quote it: Rust's shortest round-trip form, in exponent notation
/// when that is much shorter (`1e300`, not 301 digits; `1e-10`, not `0.0000000001`).
fn shown(x: f64) -> String {
    let plain = x.to_string();
    let exponent = format!("{x:e}");
    if plain.len() > exponent.len() + 4 {
        exponent
    } else {
        plain
    }
}

/// Levenshtein distance, for "did you mean" hints on misspelt feature names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether `x` is a value of the number feature `f` within its range: the common case,
/// which needs no conversion and has no problem to name.
#[inline(always)]
fn within_range(f: &Feature, x: f64) -> bool {
    if let Kind::Number { min, max } = &f.kind {
        x >= *min && x <= *max
    } else {
        false
    }
}

/// `value` when it is a number within `f`'s range (`within_range`).
#[inline(always)]
fn number_in_range(f: &Feature, value: &FeatureValue) -> Option<f64> {
    match value {
        FeatureValue::Number(x) if within_range(f, *x) => Some(*x),
        _ => None,
    }
}

/// `a == b` for short strings (feature names, categories), eight bytes at a time (the last
/// eight overlapping the one before). `==` on strings calls `memcmp`, which in wasm is
/// wasi-libc's byte loop behind a call: a quarter of a named row's validation in wasm
/// (`perf` of `bench/stages.sh`'s wasm run).
#[inline]
fn short_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap());
    (0..n - 8).step_by(8).all(|at| word(a, at) == word(b, at)) && word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn json(v: serde_json::Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn problems(v: serde_json::Value) -> Vec<FieldProblem> {
        testdata::schema()
            .validate_json(&json(v), "features")
            .unwrap_err()
    }

    #[test]
    fn numbers_in_schema_order_validate_like_named_values() {
        let s = testdata::schema();
        let named = s
            .validate_json(
                &json(serde_json::json!({"x": 2.5, "color": "blue", "n": 7})),
                "",
            )
            .unwrap();
        assert_eq!(s.validate_numbers(&[2.5, 1.0, 7.0], String::new), Ok(named));
        // NaN is an absent optional feature, like a missing key.
        let absent = s
            .validate_json(&json(serde_json::json!({"x": 2.5})), "")
            .unwrap();
        assert_eq!(
            s.validate_numbers(&[2.5, f64::NAN, f64::NAN], String::new),
            Ok(absent)
        );
    }

    #[test]
    fn numbers_in_schema_order_name_each_problem() {
        let s = testdata::schema();
        let fields = |values: &[f64]| -> Vec<(String, String)> {
            s.validate_numbers(values, || "rows[2]".into())
                .unwrap_err()
                .into_iter()
                .map(|p| (p.field, p.problem))
                .collect()
        };
        let got = fields(&[f64::NAN, 2.0, 1.5]);
        assert_eq!(
            got[0],
            ("rows[2].x".into(), "required feature is null".into())
        );
        assert_eq!(got[1].0, "rows[2].color");
        assert!(
            got[1].1.contains("category index from 0 to 1"),
            "{}",
            got[1].1
        );
        assert_eq!(
            got[2],
            ("rows[2].n".into(), "expected an integer, got 1.5".into())
        );
        assert_eq!(fields(&[11.0, 0.5, f64::INFINITY]).len(), 3);
        let wrong_width = fields(&[1.0, 0.0]);
        assert_eq!(wrong_width.len(), 1);
        assert_eq!(wrong_width[0].0, "rows[2]");
    }

    #[test]
    fn a_complete_row_validates_and_keeps_its_values() {
        let s = testdata::schema();
        let row = s
            .validate_json(
                &json(serde_json::json!({"x": 2.5, "color": "blue", "n": 7})),
                "features",
            )
            .unwrap();
        assert_eq!(
            row.cells,
            [
                Some(Cell::Number(2.5)),
                Some(Cell::Category(1)),
                Some(Cell::Number(7.0))
            ]
        );
    }

    #[test]
    fn absent_and_null_optional_features_are_missing_cells() {
        let row = testdata::schema()
            .validate_json(&json(serde_json::json!({"x": 0, "color": null})), "")
            .unwrap();
        assert_eq!(row.cells, [Some(Cell::Number(0.0)), None, None]);
    }

    #[test]
    fn unknown_categories_are_accepted_where_the_manifest_says_so() {
        let row = testdata::schema()
            .validate_json(&json(serde_json::json!({"x": 0, "color": "green"})), "")
            .unwrap();
        assert_eq!(row.cells[1], Some(Cell::UnknownCategory));
        let mut m = crate::Manifest::from_json(
            &serde_json::to_vec(&testdata::manifest("classification")).unwrap(),
        )
        .unwrap();
        m.features[1].accept_unknown = false;
        let got = Schema::from_manifest(&m)
            .unwrap()
            .validate_json(&json(serde_json::json!({"x": 0, "color": "green"})), "")
            .unwrap_err();
        assert_eq!(
            got,
            [FieldProblem::new(
                "color",
                "unknown category \"green\"; expected one of: red, blue"
            )]
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let got = problems(serde_json::json!({
            "color": 3, "n": 2.5, "wingspan": 3, "xx": 1
        }));
        let fields: Vec<&str> = got.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "features.color",
                "features.n",
                "features.wingspan",
                "features.xx",
                "features.x"
            ]
        );
        let text = |f: &str| &got.iter().find(|p| p.field == f).unwrap().problem;
        assert!(
            text("features.color").contains("expected a string (one of: red, blue), got a number")
        );
        assert_eq!(text("features.n"), "expected an integer, got 2.5");
        assert_eq!(text("features.wingspan"), "unknown feature");
        assert_eq!(text("features.xx"), "unknown feature; did you mean `x`?");
        assert_eq!(text("features.x"), "required feature is missing");
        let got = problems(serde_json::json!({"x": "long"}));
        assert_eq!(got[0].problem, "expected a number, got a string");
        let got = problems(serde_json::json!({"x": true}));
        assert_eq!(got[0].problem, "expected a number, got a boolean");
    }

    #[test]
    fn required_null_is_named() {
        assert_eq!(
            problems(serde_json::json!({"x": null})),
            [FieldProblem::new("features.x", "required feature is null")]
        );
    }

    #[test]
    fn non_finite_numbers_are_rejected() {
        let s = testdata::schema();
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let got = s
                .validate(
                    [
                        ("x", FeatureValue::Number(1.0)),
                        ("n", FeatureValue::Number(x)),
                    ],
                    "",
                )
                .unwrap_err();
            assert_eq!(got, [FieldProblem::new("n", "not a finite number")]);
        }
        // A JSON number too large for f64 (kept by arbitrary_precision) is not finite either.
        let body: Value = serde_json::from_str(r#"{"x": 1e400}"#).unwrap();
        let got = s.validate_json(body.as_object().unwrap(), "").unwrap_err();
        assert_eq!(got, [FieldProblem::new("x", "not a finite number")]);
    }

    #[test]
    fn any_input_order_gives_the_same_row() {
        let s = testdata::schema();
        let x = ("x", FeatureValue::Number(2.5));
        let color = ("color", FeatureValue::Category("blue".into()));
        let n = ("n", FeatureValue::Integer(7));
        let want = s
            .validate([x.clone(), color.clone(), n.clone()], "")
            .unwrap();
        for order in [
            [color.clone(), n.clone(), x.clone()],
            [n.clone(), x.clone(), color.clone()],
            [x.clone(), n.clone(), color.clone()],
        ] {
            assert_eq!(s.validate(order, "").unwrap(), want);
        }
        let got = s
            .validate_with([color.clone(), color, ("y", FeatureValue::Missing)], || {
                "instances[2]".into()
            })
            .unwrap_err();
        let fields: Vec<&str> = got.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["instances[2].color", "instances[2].y", "instances[2].x"]
        );
    }

    #[test]
    fn duplicate_typed_inputs_are_rejected() {
        let got = testdata::schema()
            .validate(
                [
                    ("x", FeatureValue::Number(1.0)),
                    ("x", FeatureValue::Number(1.0)),
                ],
                "instances[0]",
            )
            .unwrap_err();
        assert_eq!(
            got,
            [FieldProblem::new(
                "instances[0].x",
                "feature given more than once"
            )]
        );
    }

    #[test]
    fn range_bounds_are_inclusive_and_a_missing_range_takes_any_finite_number() {
        let s = testdata::schema();
        let x = |v: f64| s.validate([("x", FeatureValue::Number(v))], "");
        assert!(x(0.0).is_ok() && x(10.0).is_ok());
        let e = x(10.0 + 1e-9).unwrap_err();
        assert!(
            e[0].problem.contains("outside the valid range [0, 10]"),
            "{e:?}"
        );
        assert!(x(-1e-300).is_err());
        let n = |v: f64| {
            s.validate(
                [
                    ("x", FeatureValue::Number(1.0)),
                    ("n", FeatureValue::Number(v)),
                ],
                "",
            )
        };
        assert!(n(-1e300).is_ok() && n(1e300).is_ok());
    }

    #[test]
    fn short_str_eq_is_string_equality_at_every_length() {
        let names: Vec<String> = (0..20)
            .map(|n| "abcdefghijklmnopqrstuvwxyz"[..n].to_string())
            .collect();
        for a in &names {
            for b in &names {
                assert_eq!(short_str_eq(a, b), a == b, "{a:?} vs {b:?}");
            }
            // One byte changed anywhere, the last word and the overlapping tail included.
            for at in 0..a.len() {
                let mut other = a.clone().into_bytes();
                other[at] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!short_str_eq(a, &other), "{a:?} vs {other:?}");
            }
        }
    }

    #[test]
    fn numbers_in_problems_are_short() {
        assert_eq!(shown(1e300), "1e300");
        assert_eq!(shown(-2.5e-12), "-2.5e-12");
        assert_eq!(shown(38.6745), "38.6745");
        assert_eq!(shown(0.38470000000000004), "0.38470000000000004");
        assert_eq!(shown(1000000.0), "1000000");
        let s = testdata::schema();
        let got = s
            .validate([("x", FeatureValue::Number(1e300))], "")
            .unwrap_err();
        assert_eq!(
            got,
            [FieldProblem::new(
                "x",
                "value 1e300 is outside the valid range [0, 10]"
            )]
        );
    }
}
