//! The typed `mlfn:inference/model` export, from the same `wit/` the guest is built from.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "inference-function",
    exports: { default: async },
});

pub use exports::mlfn::inference::model::{
    ClassPrediction, Feature, FeatureSpec, FeatureType, FeatureValue, FieldProblem, ModelInfo,
    PredictError, Prediction, Task,
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
