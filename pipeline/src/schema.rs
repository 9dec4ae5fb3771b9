//! Input validation against the manifest's feature schema.
//!
//! Every problem in an instance is collected (not just the first), each naming its field,
//! so a client can fix a request in one round trip.

use std::collections::HashMap;

use serde_json::Value;

use crate::manifest::{FeatureType, Manifest, ManifestError};

/// One input value as a client sends it, before validation. JSON and the typed WIT
/// interface both map onto this.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValue {
    Number(f64),
    Integer(i64),
    Category(String),
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
                None => FeatureValue::Number(n.as_f64().unwrap_or(f64::INFINITY)),
            },
            Value::String(s) => FeatureValue::Category(s.clone()),
            Value::Bool(_) => FeatureValue::Other("a boolean"),
            Value::Array(_) => FeatureValue::Other("an array"),
            Value::Object(_) => FeatureValue::Other("an object"),
        }
    }

    fn describe(&self) -> String {
        match self {
            FeatureValue::Number(_) | FeatureValue::Integer(_) => "a number".into(),
            FeatureValue::Category(_) => "a string".into(),
            FeatureValue::Missing => "null".into(),
            FeatureValue::Other(what) => (*what).into(),
        }
    }
}

/// One thing wrong with a request, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A validated value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Number(f64),
    /// Index into the feature's categories.
    Category(usize),
}

/// One validated instance: a cell per schema feature, `None` where an optional feature
/// was absent or null (preprocessing imputes it).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Option<Cell>>,
}

#[derive(Debug, Clone)]
enum Kind {
    Number { min: f64, max: f64 },
    Integer { min: f64, max: f64 },
    Category { categories: Vec<String> },
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
                    let r = f
                        .range
                        .ok_or_else(|| bad("a numeric feature needs a range"))?;
                    if !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max) {
                        return Err(bad("range must be finite with min <= max"));
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
                    Kind::Category { categories }
                }
            };
            if !f.required && f.default.as_ref().is_none_or(Value::is_null) {
                return Err(bad("an optional feature needs a default"));
            }
            if index.insert(f.name.clone(), i).is_some() {
                return Err(bad("feature named twice"));
            }
            features.push(Feature {
                name: f.name.clone(),
                kind,
                required: f.required,
            });
        }
        Ok(Schema { features, index })
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
            Kind::Category { categories } => categories,
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
        self.validate(
            obj.iter()
                .map(|(k, v)| (k.as_str(), FeatureValue::from_json(v))),
            prefix,
        )
    }

    /// Validates one instance given as `(name, value)` pairs, in any order.
    pub fn validate<'a>(
        &self,
        inputs: impl IntoIterator<Item = (&'a str, FeatureValue)>,
        prefix: &str,
    ) -> Result<Row, Vec<FieldProblem>> {
        let field = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let mut cells: Vec<Option<Cell>> = vec![None; self.features.len()];
        let mut seen = vec![false; self.features.len()];
        let mut problems = Vec::new();
        for (name, value) in inputs {
            let Some(i) = self.index_of(name) else {
                problems.push(FieldProblem::new(field(name), self.unknown_feature(name)));
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                problems.push(FieldProblem::new(
                    field(name),
                    "feature given more than once",
                ));
                continue;
            }
            match self.check(&self.features[i], value) {
                Ok(cell) => cells[i] = cell,
                Err(problem) => problems.push(FieldProblem::new(field(name), problem)),
            }
        }
        for (i, f) in self.features.iter().enumerate() {
            if f.required && !seen[i] {
                problems.push(FieldProblem::new(
                    field(&f.name),
                    "required feature is missing",
                ));
            }
        }
        if problems.is_empty() {
            Ok(Row { cells })
        } else {
            Err(problems)
        }
    }

    fn check(&self, f: &Feature, value: FeatureValue) -> Result<Option<Cell>, String> {
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
                    return Err(format!("expected an integer, got {x}"));
                }
                in_range(x, *min, *max).map(|x| Some(Cell::Number(x)))
            }
            (Kind::Category { categories }, FeatureValue::Category(s)) => {
                match categories.iter().position(|c| *c == s) {
                    Some(k) => Ok(Some(Cell::Category(k))),
                    None => Err(format!(
                        "unknown category {s:?}; expected one of: {}",
                        categories.join(", ")
                    )),
                }
            }
            (Kind::Category { categories }, other) => Err(format!(
                "expected a string (one of: {}), got {}",
                categories.join(", "),
                other.describe()
            )),
            (Kind::Number { .. }, other) => {
                Err(format!("expected a number, got {}", other.describe()))
            }
            (Kind::Integer { .. }, other) => {
                Err(format!("expected an integer, got {}", other.describe()))
            }
        }
    }

    fn unknown_feature(&self, name: &str) -> String {
        let closest = self
            .features
            .iter()
            .map(|f| (edit_distance(name, &f.name), &f.name))
            .min()
            .filter(|(d, _)| *d <= 3);
        match closest {
            Some((_, suggestion)) => format!("unknown feature; did you mean `{suggestion}`?"),
            None => "unknown feature".into(),
        }
    }
}

fn in_range(x: f64, min: f64, max: f64) -> Result<f64, String> {
    if !x.is_finite() {
        return Err("not a finite number".into());
    }
    if x < min || x > max {
        return Err(format!(
            "value {x} is outside the valid range [{min}, {max}]"
        ));
    }
    Ok(x)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::penguins_manifest;

    fn schema() -> Schema {
        Schema::from_manifest(&penguins_manifest()).unwrap()
    }

    fn json(v: serde_json::Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn problems(v: serde_json::Value) -> Vec<FieldProblem> {
        schema().validate_json(&json(v), "features").unwrap_err()
    }

    #[test]
    fn a_complete_row_validates_and_keeps_its_values() {
        let s = schema();
        let row = s
            .validate_json(
                &json(
                    serde_json::json!({"island": "Dream", "sex": "female", "bill_length_mm": 39.5,
                "bill_depth_mm": 17, "flipper_length_mm": 190, "body_mass_g": 3650.0}),
                ),
                "features",
            )
            .unwrap();
        assert_eq!(
            row.cells[s.index_of("island").unwrap()],
            Some(Cell::Category(1))
        );
        assert_eq!(
            row.cells[s.index_of("bill_depth_mm").unwrap()],
            Some(Cell::Number(17.0))
        );
        assert_eq!(
            row.cells[s.index_of("body_mass_g").unwrap()],
            Some(Cell::Number(3650.0))
        );
    }

    #[test]
    fn absent_and_null_optional_features_are_missing_cells() {
        let s = schema();
        let row = s
            .validate_json(
                &json(serde_json::json!({"island": "Biscoe", "sex": null})),
                "",
            )
            .unwrap();
        assert_eq!(row.cells.iter().filter(|c| c.is_none()).count(), 5);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let got = problems(serde_json::json!({
            "sex": "unknown", "bill_length_mm": "long", "bill_depth_mm": 1e6,
            "flipper_length_mm": 190.5, "body_mass_g": true, "wingspan": 3
        }));
        let fields: Vec<&str> = got.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "features.bill_depth_mm",
                "features.bill_length_mm",
                "features.body_mass_g",
                "features.flipper_length_mm",
                "features.sex",
                "features.wingspan",
                "features.island"
            ]
        );
        let text = |f: &str| &got.iter().find(|p| p.field == f).unwrap().problem;
        assert!(text("features.bill_depth_mm").contains("outside the valid range"));
        assert!(text("features.bill_length_mm").contains("expected a number, got a string"));
        assert!(text("features.body_mass_g").contains("got a boolean"));
        assert!(text("features.flipper_length_mm").contains("expected an integer, got 190.5"));
        assert!(text("features.sex").contains("unknown category \"unknown\""));
        assert_eq!(text("features.wingspan"), "unknown feature");
        assert_eq!(text("features.island"), "required feature is missing");
    }

    #[test]
    fn required_null_and_misspelling_are_named() {
        let got = problems(serde_json::json!({"island": null, "bill_lenght_mm": 40}));
        assert_eq!(
            got[0],
            FieldProblem::new(
                "features.bill_lenght_mm",
                "unknown feature; did you mean `bill_length_mm`?"
            )
        );
        assert_eq!(
            got[1],
            FieldProblem::new("features.island", "required feature is null")
        );
    }

    #[test]
    fn non_finite_numbers_are_rejected() {
        let s = schema();
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let got = s
                .validate(
                    [
                        ("island", FeatureValue::Category("Dream".into())),
                        ("bill_depth_mm", FeatureValue::Number(x)),
                    ],
                    "",
                )
                .unwrap_err();
            assert_eq!(
                got,
                [FieldProblem::new("bill_depth_mm", "not a finite number")]
            );
        }
        // A JSON number too large for f64 (kept by arbitrary_precision) is not finite either.
        let body: Value =
            serde_json::from_str(r#"{"island": "Dream", "bill_depth_mm": 1e400}"#).unwrap();
        let got = s.validate_json(body.as_object().unwrap(), "").unwrap_err();
        assert_eq!(
            got,
            [FieldProblem::new("bill_depth_mm", "not a finite number")]
        );
    }

    #[test]
    fn duplicate_typed_inputs_are_rejected() {
        let got = schema()
            .validate(
                [
                    ("island", FeatureValue::Category("Dream".into())),
                    ("island", FeatureValue::Category("Dream".into())),
                ],
                "instances[0]",
            )
            .unwrap_err();
        assert_eq!(
            got,
            [FieldProblem::new(
                "instances[0].island",
                "feature given more than once"
            )]
        );
    }

    #[test]
    fn range_bounds_are_inclusive() {
        let m = penguins_manifest();
        let r = m.feature("bill_depth_mm").unwrap().range.unwrap();
        let s = schema();
        for x in [r.min, r.max] {
            s.validate(
                [
                    ("island", FeatureValue::Category("Dream".into())),
                    ("bill_depth_mm", FeatureValue::Number(x)),
                ],
                "",
            )
            .unwrap();
        }
        s.validate(
            [
                ("island", FeatureValue::Category("Dream".into())),
                ("bill_depth_mm", FeatureValue::Number(r.max + 1e-9)),
            ],
            "",
        )
        .unwrap_err();
    }
}
