//! `GET /openapi.json`: an OpenAPI 3.0.3 document generated from the feature schema, so
//! the documented request shape is exactly what validation accepts.

use serde_json::{Value, json};

use crate::api::{MAX_BATCH, MAX_BODY_BYTES};
use crate::manifest::{FeatureSpec, FeatureType, Manifest};

pub fn document(m: &Manifest) -> Value {
    let features_schema = features_schema(m);
    let example: serde_json::Map<String, Value> = m
        .features
        .iter()
        .map(|f| (f.name.clone(), example_value(f)))
        .collect();
    let label_props: serde_json::Map<String, Value> = m
        .labels
        .iter()
        .map(|l| {
            (
                l.clone(),
                json!({"type": "number", "minimum": 0, "maximum": 1}),
            )
        })
        .collect();
    let error = |description: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("{} inference function", m.name),
            "version": m.version,
            "description": format!(
                "{}\n\nHoldout accuracy {:.4}, ROC AUC {:.4} on {} rows. Data: {} ({}).",
                m.description, m.metrics.accuracy, m.metrics.roc_auc, m.metrics.holdout_rows,
                m.source.dataset, m.source.dataset_license),
        },
        "paths": {
            "/predict": {"post": {
                "operationId": "predict",
                "summary": format!("Classify one instance or a batch of up to {MAX_BATCH}"),
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PredictRequest"},
                    "example": {"features": example},
                }}},
                "responses": {
                    "200": {"description": "One prediction per instance, in order",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}}}},
                    "400": error("The body is not valid JSON"),
                    "405": error("Method not allowed"),
                    "413": error(&format!("The body is larger than {MAX_BODY_BYTES} bytes")),
                    "415": error("Content-Type is not application/json"),
                    "422": error("The input does not match the feature schema; `details` names every offending field"),
                }
            }},
            "/health": {"get": {
                "operationId": "health", "summary": "Liveness: the model is loaded",
                "responses": {"200": {"description": "Healthy",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}
            }},
            "/metadata": {"get": {
                "operationId": "metadata", "summary": "Model version, metrics, feature schema and labels",
                "responses": {"200": {"description": "The public part of the bundle manifest",
                    "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.0.3 document",
                    "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
        },
        "components": {"schemas": {
            "Features": features_schema,
            "PredictRequest": {"oneOf": [
                {"type": "object", "title": "One instance", "additionalProperties": false,
                 "required": ["features"],
                 "properties": {"features": {"$ref": "#/components/schemas/Features"}}},
                {"type": "object", "title": "A batch", "additionalProperties": false,
                 "required": ["instances"],
                 "properties": {"instances": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                                              "items": {"$ref": "#/components/schemas/Features"}}}},
            ]},
            "PredictResponse": {"type": "object", "required": ["model", "predictions"], "properties": {
                "model": {"type": "object", "required": ["name", "version"], "properties": {
                    "name": {"type": "string"}, "version": {"type": "string"}}},
                "predictions": {"type": "array", "items": {
                    "type": "object", "required": ["label", "probabilities", "confidence"], "properties": {
                        "label": {"type": "string", "enum": m.labels},
                        "probabilities": {"type": "object", "required": m.labels, "properties": label_props},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    }}},
            }},
            "Health": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "model": {"type": "object", "properties": {"name": {"type": "string"}, "version": {"type": "string"}}},
            }},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message", "details"], "properties": {
                    "code": {"type": "string", "enum": ["malformed_json", "invalid_input", "payload_too_large",
                        "unsupported_media_type", "not_found", "method_not_allowed", "internal"]},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object", "required": ["field", "problem"],
                        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}}}},
                }}}},
        }},
    })
}

fn features_schema(m: &Manifest) -> Value {
    let props: serde_json::Map<String, Value> = m
        .features
        .iter()
        .map(|f| (f.name.clone(), feature_schema(f)))
        .collect();
    let required: Vec<&str> = m
        .features
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name.as_str())
        .collect();
    let mut schema = json!({"type": "object", "additionalProperties": false, "properties": props});
    // OpenAPI 3.0 (JSON Schema draft 5) forbids an empty `required` array.
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn feature_schema(f: &FeatureSpec) -> Value {
    let mut s = match f.kind {
        FeatureType::Number | FeatureType::Integer => {
            let r = f
                .range
                .expect("Schema::from_manifest checked numeric ranges");
            json!({"type": if f.kind == FeatureType::Number { "number" } else { "integer" },
                   "minimum": r.min, "maximum": r.max})
        }
        FeatureType::Category => {
            let mut cats: Vec<Value> = f
                .categories
                .iter()
                .flatten()
                .map(|c| Value::String(c.clone()))
                .collect();
            if !f.required {
                cats.push(Value::Null); // OpenAPI 3.0: a nullable enum lists null
            }
            json!({"type": "string", "enum": cats})
        }
    };
    if !f.required {
        s["nullable"] = json!(true);
        s["description"] = json!(format!(
            "Optional; when absent or null, {} is used",
            f.default.as_ref().unwrap_or(&Value::Null)
        ));
    }
    s
}

/// A plausible value for the request example: the training median, or the first category.
fn example_value(f: &FeatureSpec) -> Value {
    match f.kind {
        FeatureType::Category => json!(f.categories.as_ref().and_then(|c| c.first())),
        FeatureType::Number | FeatureType::Integer => {
            let median = f
                .baseline
                .quantiles
                .as_ref()
                .and_then(|q| q.get(q.len() / 2))
                .copied();
            match (f.kind, median) {
                (FeatureType::Integer, Some(x)) => json!(x.round() as i64),
                (_, Some(x)) => json!(x),
                (_, None) => json!(f.range.map(|r| (r.min + r.max) / 2.0)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::parse_predict_body;
    use crate::schema::Schema;
    use crate::testdata::Bundle;

    #[test]
    fn the_documented_example_is_accepted_by_validation() {
        for b in [Bundle::BreastCancer, Bundle::Penguins] {
            let m = b.manifest();
            let doc = document(&m);
            let example = &doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
                ["example"];
            let body = serde_json::to_vec(example).unwrap();
            parse_predict_body(&body, &Schema::from_manifest(&m).unwrap()).unwrap();
        }
    }

    #[test]
    fn features_are_typed_bounded_and_required_as_the_manifest_says() {
        let doc = document(&Bundle::Penguins.manifest());
        let f = &doc["components"]["schemas"]["Features"];
        assert_eq!(f["required"], json!(["island"]));
        assert_eq!(f["properties"]["flipper_length_mm"]["type"], "integer");
        assert_eq!(f["properties"]["bill_depth_mm"]["nullable"], true);
        assert_eq!(
            f["properties"]["island"]["enum"],
            json!(["Biscoe", "Dream", "Torgersen"])
        );
        assert_eq!(
            f["properties"]["sex"]["enum"],
            json!(["female", "male", null])
        );
    }
}
