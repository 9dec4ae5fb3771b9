//! `GET /openapi.json`: an OpenAPI 3.0.3 document generated from the feature schema, so
//! the documented request shape is exactly what validation accepts.

use serde_json::{Value, json};

use crate::api::{MAX_BATCH, MAX_BODY_BYTES};
use crate::manifest::{FeatureSpec, FeatureType, Manifest, Task};

pub fn document(m: &Manifest) -> Value {
    let features_schema = features_schema(m);
    let example: serde_json::Map<String, Value> = m
        .features
        .iter()
        .map(|f| (f.name.clone(), example_value(f)))
        .collect();
    let error = |description: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    };
    // What the host in front of the function can answer for any route (our `host serve`;
    // Spin and `wasmtime serve` have their own guards), beside the route's own answers.
    let with_host_errors = |mut responses: Value| {
        let host = json!({
            "400": error("The body is not valid JSON, or it broke off before it was complete (`incomplete_body`)"),
            "408": error("The request body did not arrive within the host's read timeout (`request_timeout`)"),
            "413": error(&format!("The body is larger than the limit, {MAX_BODY_BYTES} bytes by default (`payload_too_large`)")),
            "500": error("The function failed (`internal`, with the request id; details in the host log) or exceeded its memory limit (`memory_limit`)"),
            "503": {"description": "Too many requests in flight (`overloaded`); retry after the `Retry-After` seconds",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "504": error("The function did not answer within its deadline (`deadline_exceeded`)"),
        });
        for (status, r) in host.as_object().expect("an object") {
            responses
                .as_object_mut()
                .expect("an object")
                .entry(status.clone())
                .or_insert_with(|| r.clone());
        }
        responses
    };
    let get_responses =
        |ok: Value| with_host_errors(json!({"200": ok, "405": error("Method not allowed")}));
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("{} inference function", m.name),
            "version": m.version,
            "description": format!("{}\n\n{}", m.description, metrics_summary(m)),
        },
        "paths": {
            "/predict": {"post": {
                "operationId": "predict",
                "summary": format!("{} one instance or a batch of up to {MAX_BATCH}",
                    if m.task == Task::Classification { "Classify" } else { "Predict a value for" }),
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PredictRequest"},
                    "example": {"features": example},
                }}},
                "responses": with_host_errors(json!({
                    "200": {"description": "One prediction per instance, in order",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}}}},
                    "400": error("The body is not valid JSON"),
                    "405": error("Method not allowed"),
                    "413": error(&format!("The body is larger than {MAX_BODY_BYTES} bytes")),
                    "415": error("Content-Type is not application/json"),
                    "422": error("The input does not match the feature schema; `details` names every offending field (at most 100; the message gives the total)"),
                })),
            }},
            "/health": {"get": {
                "operationId": "health", "summary": "Liveness: the model is loaded",
                "responses": get_responses(json!({"description": "Healthy",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}})),
            }},
            "/metadata": {"get": {
                "operationId": "metadata", "summary": "Model version, metrics, feature schema and labels",
                "responses": get_responses(json!({"description": "The public part of the bundle manifest",
                    "content": {"application/json": {"schema": {"type": "object"}}}})),
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": get_responses(json!({"description": "OpenAPI 3.0.3 document",
                    "content": {"application/json": {"schema": {"type": "object"}}}})),
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
                "predictions": {"type": "array", "items": prediction_schema(m)},
            }},
            "Health": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "model": {"type": "object", "properties": {"name": {"type": "string"}, "version": {"type": "string"}}},
            }},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message", "details"], "properties": {
                    "code": {"type": "string", "enum": ["malformed_json", "invalid_input", "payload_too_large",
                        "unsupported_media_type", "not_found", "method_not_allowed", "internal",
                        "request_timeout", "incomplete_body", "memory_limit", "overloaded", "deadline_exceeded"]},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object", "required": ["field", "problem"],
                        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}}}},
                }}}},
        }},
    });
    crate::v2::openapi(&mut doc, m);
    doc
}

/// One prediction: label, probabilities and confidence, or a value.
fn prediction_schema(m: &Manifest) -> Value {
    match m.task {
        Task::Classification => {
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
            json!({"type": "object", "required": ["label", "probabilities", "confidence"], "properties": {
                "label": {"type": "string", "enum": m.labels},
                "probabilities": {"type": "object", "required": m.labels, "properties": label_props},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            }})
        }
        Task::Regression => json!({"type": "object", "required": ["value"], "properties": {
            "value": {"type": "number"},
        }}),
    }
}

/// The manifest's metrics in a sentence, for the document's description.
fn metrics_summary(m: &Manifest) -> String {
    let x = &m.metrics;
    let named = [
        ("accuracy", x.accuracy),
        ("ROC AUC", x.roc_auc.as_ref().and_then(Value::as_f64)),
        ("log loss", x.log_loss),
        ("RMSE", x.rmse),
        ("MAE", x.mae),
        ("R²", x.r2),
    ];
    let parts: Vec<String> = named
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} {v:.4}")))
        .collect();
    format!("{} on {} rows ({}).", parts.join(", "), x.rows, x.data)
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
            let mut s =
                json!({"type": if f.kind == FeatureType::Number { "number" } else { "integer" }});
            if let Some(r) = f.range {
                s["minimum"] = json!(r.min);
                s["maximum"] = json!(r.max);
            }
            s
        }
        FeatureType::Category if f.accept_unknown => json!({
            "type": "string",
            "description": format!("Known values: {}; others are accepted",
                f.categories.iter().flatten().cloned().collect::<Vec<_>>().join(", ")),
        }),
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
        let note = match f.default.as_ref().filter(|d| !d.is_null()) {
            Some(d) => format!("Optional; when absent or null, {d} is used"),
            None => "Optional; may be absent or null".into(),
        };
        s["description"] = json!(match s.get("description").and_then(Value::as_str) {
            Some(known) => format!("{known}. {note}"),
            None => note,
        });
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
                (_, None) => json!(f.range.map_or(0.0, |r| (r.min + r.max) / 2.0)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::parse_predict_body;
    use crate::schema::Schema;
    use crate::testdata;

    fn manifest(task: &str) -> Manifest {
        Manifest::from_json(&serde_json::to_vec(&testdata::manifest(task)).unwrap()).unwrap()
    }

    #[test]
    fn the_documented_example_is_accepted_by_validation() {
        for task in ["classification", "regression"] {
            let m = manifest(task);
            let doc = document(&m);
            let example = &doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
                ["example"];
            let body = serde_json::to_vec(example).unwrap();
            parse_predict_body(&body, &Schema::from_manifest(&m).unwrap(), MAX_BODY_BYTES).unwrap();
        }
    }

    #[test]
    fn features_are_typed_bounded_and_required_as_the_manifest_says() {
        let doc = document(&manifest("classification"));
        let f = &doc["components"]["schemas"]["Features"];
        assert_eq!(f["required"], json!(["x"]));
        assert_eq!(f["properties"]["x"]["maximum"], 10.0);
        assert_eq!(f["properties"]["n"]["type"], "integer");
        assert!(f["properties"]["n"].get("maximum").is_none());
        assert_eq!(f["properties"]["n"]["nullable"], true);
        // Unknown colours are accepted, so no enum restricts them.
        assert!(f["properties"]["color"].get("enum").is_none());
    }

    #[test]
    fn the_response_schema_follows_the_task() {
        let item = |task| {
            document(&manifest(task))["components"]["schemas"]["PredictResponse"]["properties"]
                ["predictions"]["items"]
                .clone()
        };
        assert_eq!(
            item("classification")["required"],
            json!(["label", "probabilities", "confidence"])
        );
        assert_eq!(
            item("classification")["properties"]["label"]["enum"],
            json!(["no", "yes"])
        );
        assert_eq!(item("regression")["required"], json!(["value"]));
    }
}
