//! The typed `mlfn:inference/model` export, from the same `wit/` the guest is built from.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "inference-function",
    exports: { default: async },
});

pub use exports::mlfn::inference::model::{
    ClassPrediction, ClassRows, Feature, FeatureSpec, FeatureType, FeatureValue, FieldProblem,
    ModelInfo, PredictError, Prediction, RowPredictions, Task,
};

/// JSON → typed value, with the HTTP API's conventions: integers stay integers, a
/// number too large for f64 is infinity (the guest rejects it as not finite), null is
/// missing. Booleans, arrays and objects have no typed form.
pub fn feature_value(v: &serde_json::Value) -> Result<FeatureValue, &'static str> {
    use serde_json::Value;
    match v {
        Value::Null => Ok(FeatureValue::Missing),
        Value::Number(n) => Ok(match n.as_i64() {
            Some(i) => FeatureValue::Integer(i),
            None => FeatureValue::Number(n.as_f64().unwrap_or(f64::INFINITY)),
        }),
        Value::String(s) => Ok(FeatureValue::Category(s.clone())),
        Value::Bool(_) => Err("a boolean is not a feature value"),
        Value::Array(_) => Err("an array is not a feature value"),
        Value::Object(_) => Err("an object is not a feature value"),
    }
}

/// One JSON object of `name: value` pairs as a typed instance.
pub fn instance(obj: &serde_json::Map<String, serde_json::Value>) -> Result<Vec<Feature>, String> {
    obj.iter()
        .map(|(name, v)| {
            feature_value(v)
                .map(|value| Feature {
                    name: name.clone(),
                    value,
                })
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

/// One JSON object of `name: value` pairs as a `predict-rows` row: a value per feature of
/// `features` (the model's metadata), in that order; a category as its index, an absent
/// or null feature as NaN.
pub fn dense_row(
    obj: &serde_json::Map<String, serde_json::Value>,
    features: &[FeatureSpec],
) -> Result<Vec<f64>, String> {
    use serde_json::Value;
    known_keys(obj, features)?;
    features
        .iter()
        .map(|f| match obj.get(&f.name) {
            None | Some(Value::Null) => Ok(f64::NAN),
            Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::INFINITY)),
            Some(Value::String(s)) => f
                .categories
                .iter()
                .position(|c| c == s)
                .map(|i| i as f64)
                .ok_or_else(|| format!("{}: {s:?} is not one of its categories", f.name)),
            Some(v) => Err(format!("{}: {v} has no numeric form", f.name)),
        })
        .collect()
}

/// JSON objects of `name: value` pairs as `predict-table`'s input: the model's
/// `features` (its metadata) as the columns, in that order, and each object's values in
/// them, `missing` where an object has none.
pub fn table(
    objs: &[&serde_json::Map<String, serde_json::Value>],
    features: &[FeatureSpec],
) -> Result<(Vec<String>, Vec<FeatureValue>), String> {
    let columns: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
    let mut values = Vec::with_capacity(objs.len() * columns.len());
    for obj in objs {
        known_keys(obj, features)?;
        for name in &columns {
            let value = obj
                .get(name)
                .map_or(Ok(FeatureValue::Missing), feature_value);
            values.push(value.map_err(|e| format!("{name}: {e}"))?);
        }
    }
    Ok((columns, values))
}

/// An error naming the first key of `obj` that is none of `features`.
fn known_keys(
    obj: &serde_json::Map<String, serde_json::Value>,
    features: &[FeatureSpec],
) -> Result<(), String> {
    match obj.keys().find(|k| !features.iter().any(|f| f.name == **k)) {
        Some(unknown) => Err(format!("{unknown}: not a feature of the model")),
        None => Ok(()),
    }
}

/// A typed value as the pipeline's own (what the guest makes of it).
pub fn pipeline_value(v: &FeatureValue) -> pipeline::FeatureValue {
    match v {
        FeatureValue::Number(x) => pipeline::FeatureValue::Number(*x),
        FeatureValue::Integer(i) => pipeline::FeatureValue::Integer(*i),
        FeatureValue::Category(s) => pipeline::FeatureValue::Category(s.as_str().into()),
        FeatureValue::Missing => pipeline::FeatureValue::Missing,
    }
}

/// The component's answer in the pipeline's own terms (label index by name).
pub fn pipeline_prediction(p: &Prediction, labels: &[String]) -> pipeline::Prediction {
    match p {
        Prediction::Class(c) => pipeline::Prediction::Class {
            label: labels
                .iter()
                .position(|l| *l == c.label)
                .unwrap_or(usize::MAX),
            probabilities: c.probabilities.clone(),
            confidence: c.confidence,
        },
        Prediction::Value(v) => pipeline::Prediction::Value(*v),
    }
}

/// `predict-rows`' answer as one pipeline prediction per row; `labels` is the model's
/// count of labels. An error says how the lists' lengths disagree.
pub fn row_pipeline_predictions(
    rows: &RowPredictions,
    labels: usize,
) -> Result<Vec<pipeline::Prediction>, String> {
    match rows {
        RowPredictions::Class(c) => {
            if c.probabilities.len() != c.label_indices.len() * labels {
                return Err(format!(
                    "{} probabilities for {} rows of {labels} labels",
                    c.probabilities.len(),
                    c.label_indices.len()
                ));
            }
            let rows = c.label_indices.iter().zip(c.probabilities.chunks(labels));
            rows.map(|(&label, p)| {
                let confidence = p
                    .get(label as usize)
                    .ok_or_else(|| format!("label index {label} of {labels} labels"))?;
                Ok(pipeline::Prediction::Class {
                    label: label as usize,
                    probabilities: p.to_vec(),
                    confidence: *confidence,
                })
            })
            .collect()
        }
        RowPredictions::Value(values) => Ok(values
            .iter()
            .map(|&v| pipeline::Prediction::Value(v))
            .collect()),
    }
}
