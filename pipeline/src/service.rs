//! The inference function as a whole, independent of the HTTP library: a loaded bundle
//! (manifest → schema → preprocessor → tract plan) plus routing and responses. The guest
//! adapts spin-sdk requests and the typed WIT export onto this; tests drive it natively.

use serde_json::json;

use crate::api::{self, ApiError};
use crate::drift::Baselines;
use crate::events::{self, EventContext, InputLogging, Outcome};
use crate::manifest::{Manifest, ManifestError};
use crate::model::{Model, ModelError};
use crate::openapi;
use crate::postprocess::{self, Prediction};
use crate::preprocess::Preprocessor;
use crate::schema::{FeatureValue, FieldProblem, Row, Schema};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Why a typed prediction failed.
#[derive(Debug, Clone, PartialEq)]
pub enum PredictError {
    InvalidInput(Vec<FieldProblem>),
    Internal(String),
}

/// A route the function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Index,
    Predict,
    Health,
    Metadata,
    OpenApi,
}

/// Picks the route for a request head, or the 404/405/415 that answers it. Called before
/// the body is read, so a rejected request never has its body buffered.
pub fn route(method: &str, path: &str, content_type: Option<&str>) -> Result<Route, ApiError> {
    let path = path.split('?').next().unwrap_or("");
    let (route, allow) = match path {
        "/" => (Route::Index, "GET"),
        "/predict" => (Route::Predict, "POST"),
        "/health" => (Route::Health, "GET"),
        "/metadata" => (Route::Metadata, "GET"),
        "/openapi.json" => (Route::OpenApi, "GET"),
        _ => return Err(ApiError::not_found(path)),
    };
    if !method.eq_ignore_ascii_case(allow) {
        return Err(ApiError::method_not_allowed(method, path, allow));
    }
    if route == Route::Predict && !api::is_json_content_type(content_type) {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    Ok(route)
}

/// A response, ready for any HTTP binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![("content-type", "application/json".into())],
            body,
        }
    }
}

impl From<ApiError> for Response {
    fn from(e: ApiError) -> Self {
        let mut r = Response::json(e.status, e.body());
        if let Some(allow) = e.allow {
            r.headers.push(("allow", allow.into()));
        }
        r
    }
}

/// What the instance knows about itself that responses report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceInfo {
    /// The instance started from a pre-initialised snapshot (the model was loaded ahead
    /// of time, not on this request's path).
    pub preinitialized: bool,
}

/// A loaded bundle, ready to serve.
#[derive(Debug, Clone)]
pub struct Service {
    manifest: Manifest,
    schema: Schema,
    preprocessor: Preprocessor,
    model: Model,
    baselines: Baselines,
    /// Pre-rendered bodies of the static routes.
    metadata: Vec<u8>,
    openapi: Vec<u8>,
}

impl Service {
    /// Loads a bundle: every consistency check and the whole model optimisation happen
    /// here, once per instance, never per request.
    pub fn load(manifest_json: &[u8], onnx: &[u8]) -> Result<Self, LoadError> {
        let manifest = Manifest::from_json(manifest_json)?;
        let schema = Schema::from_manifest(&manifest)?;
        let preprocessor = Preprocessor::from_manifest(&manifest, &schema)?;
        let model = Model::from_onnx(onnx, &manifest.model, manifest.labels.len())?;
        let baselines = Baselines::from_manifest(&manifest);
        let metadata = serde_json::to_vec(&public_metadata(&manifest)).expect("plain JSON");
        let openapi = serde_json::to_vec(&openapi::document(&manifest)).expect("plain JSON");
        Ok(Service {
            manifest,
            schema,
            preprocessor,
            model,
            baselines,
            metadata,
            openapi,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Preprocess → model → postprocess for validated rows.
    pub fn predict(&self, rows: &[Row]) -> Result<Vec<Prediction>, ModelError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let input = self.preprocessor.transform(rows);
        let proba = self.model.predict_proba(input)?;
        Ok(postprocess::predictions(&proba, self.manifest.labels.len()))
    }

    /// The typed interface's predict: validation problems name `instances[i].feature`.
    pub fn predict_typed<'a, I, F>(&self, instances: I) -> Result<Vec<Prediction>, PredictError>
    where
        I: IntoIterator<Item = F>,
        F: IntoIterator<Item = (&'a str, FeatureValue)>,
    {
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        for (i, inst) in instances.into_iter().enumerate() {
            if i == api::MAX_BATCH {
                problems.push(FieldProblem::new(
                    "instances",
                    format!(
                        "a batch exceeds the maximum of {} instances",
                        api::MAX_BATCH
                    ),
                ));
                break;
            }
            match self.schema.validate(inst, &format!("instances[{i}]")) {
                Ok(row) => rows.push(row),
                Err(p) => problems.extend(p),
            }
        }
        if !problems.is_empty() {
            return Err(PredictError::InvalidInput(problems));
        }
        self.predict(&rows)
            .map_err(|e| PredictError::Internal(e.to_string()))
    }

    /// Answers a routed request. `body` is only read for `/predict`, and the caller has
    /// already cut it off at `api::MAX_BODY_BYTES + 1` bytes.
    pub fn respond(&self, route: Route, body: &[u8], instance: InstanceInfo) -> Response {
        self.respond_with_outcome(route, body, instance).0
    }

    /// `respond`, and what the request did (rows, predictions, error) for its event.
    pub fn respond_with_outcome(
        &self,
        route: Route,
        body: &[u8],
        instance: InstanceInfo,
    ) -> (Response, Outcome) {
        let m = &self.manifest;
        let response = match route {
            Route::Predict => {
                let mut outcome = Outcome::default();
                let response = match api::parse_predict_body(body, &self.schema) {
                    Err(e) => {
                        outcome.error = Some(e.clone());
                        e.into()
                    }
                    Ok(rows) => {
                        let r = match self.predict(&rows) {
                            Ok(p) => {
                                let r = Response::json(200, api::predict_response(&m.name, &m.version, &m.labels, &p));
                                outcome.predictions = p;
                                r
                            }
                            Err(e) => {
                                let e = ApiError::internal(e.to_string());
                                outcome.error = Some(e.clone());
                                e.into()
                            }
                        };
                        outcome.rows = rows;
                        r
                    }
                };
                return (response, outcome);
            }
            Route::Health => Response::json(
                200,
                serde_json::to_vec(&json!({
                    "status": "ok",
                    "model": {"name": m.name, "version": m.version},
                    "model_loaded": if instance.preinitialized { "snapshot" } else { "instance start" },
                }))
                    .expect("plain JSON"),
            ),
            Route::Metadata => Response::json(200, self.metadata.clone()),
            Route::OpenApi => Response::json(200, self.openapi.clone()),
            Route::Index => Response::json(
                200,
                serde_json::to_vec(&json!({
                    "model": {"name": m.name, "version": m.version},
                    "routes": ["POST /predict", "GET /health", "GET /metadata", "GET /openapi.json"],
                }))
                .expect("plain JSON"),
            ),
        };
        (response, Outcome::default())
    }

    pub fn baselines(&self) -> &Baselines {
        &self.baselines
    }

    /// The JSON line that records one request (see `events`).
    #[allow(clippy::too_many_arguments)]
    pub fn event_line(
        &self,
        outcome: &Outcome,
        route: &str,
        status: u16,
        request_id: &str,
        ts_unix_ms: u64,
        latency_us: u64,
        logging: InputLogging,
    ) -> String {
        let m = &self.manifest;
        let categories = |f: usize| self.schema.categories(f);
        let cx = EventContext {
            ts_unix_ms,
            request_id,
            route,
            status,
            latency_us,
            model: &m.name,
            version: &m.version,
            labels: &m.labels,
            categories: &categories,
        };
        events::event_line(&cx, outcome, &self.baselines, logging)
    }

    /// Route and answer in one step, for callers that hold the whole body already.
    pub fn handle(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Response {
        match route(method, path, content_type) {
            Ok(r) => self.respond(r, body, InstanceInfo::default()),
            Err(e) => e.into(),
        }
    }
}

/// What `/metadata` shows: everything but preprocessing internals. The drift baselines
/// are in (aggregate training statistics; the host's drift monitor reads them).
fn public_metadata(m: &Manifest) -> serde_json::Value {
    let features: Vec<serde_json::Value> = m
        .features
        .iter()
        .map(|f| {
            let mut v = json!({"name": f.name, "type": f.kind, "required": f.required, "default": f.default,
                               "baseline": f.baseline});
            if let Some(r) = f.range {
                v["range"] = json!(r);
            }
            if let Some(c) = &f.categories {
                v["categories"] = json!(c);
            }
            v
        })
        .collect();
    json!({
        "name": m.name,
        "version": m.version,
        "created": m.created,
        "description": m.description,
        "source": m.source,
        "training": m.training,
        "metrics": m.metrics,
        "labels": m.labels,
        "features": features,
        "model": {"format": m.model.format, "sha256": m.model.sha256, "input_width": m.model.input_width},
        "limits": {"max_batch": api::MAX_BATCH, "max_body_bytes": api::MAX_BODY_BYTES},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Bundle, reference};

    fn service(b: Bundle) -> Service {
        let m = serde_json::to_vec(&b.manifest()).unwrap();
        Service::load(&m, b.onnx()).unwrap()
    }

    /// Native tract against both oracles, every holdout row, in one batch and one by one.
    fn parity(b: Bundle) {
        let s = service(b);
        let r = reference(b);
        let rows: Vec<Row> = r
            .rows
            .iter()
            .map(|x| s.schema().validate_json(&x.features, "").unwrap())
            .collect();
        let batch = s.predict(&rows).unwrap();
        let mut worst = 0.0f64;
        for (i, (p, want)) in batch.iter().zip(&r.rows).enumerate() {
            assert_eq!(r.labels[p.label], want.sklearn_label, "row {i}");
            for (got, (sk, ort)) in p
                .probabilities
                .iter()
                .zip(want.sklearn_proba.iter().zip(&want.onnxruntime_proba))
            {
                worst = worst.max((*got as f64 - sk).abs());
                assert!(
                    (*got as f64 - sk).abs() <= 1e-5,
                    "row {i}: {got} vs sklearn {sk}"
                );
                assert!(
                    (*got as f64 - ort).abs() <= 1e-6,
                    "row {i}: {got} vs onnxruntime {ort}"
                );
            }
            assert_eq!(
                s.predict(std::slice::from_ref(&rows[i])).unwrap()[0],
                *p,
                "row {i} alone"
            );
        }
        eprintln!(
            "{b:?}: {} rows, max |tract - sklearn| = {worst:e}",
            rows.len()
        );
    }

    #[test]
    fn breast_cancer_matches_sklearn_and_onnxruntime() {
        parity(Bundle::BreastCancer);
    }

    #[test]
    fn penguins_matches_sklearn_and_onnxruntime() {
        parity(Bundle::Penguins);
    }

    #[test]
    fn routes_and_their_errors() {
        let json = Some("application/json");
        assert_eq!(route("POST", "/predict", json), Ok(Route::Predict));
        assert_eq!(route("GET", "/health?probe=1", None), Ok(Route::Health));
        assert_eq!(route("GET", "/nope", None).unwrap_err().status, 404);
        let e = route("GET", "/predict", json).unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("POST")));
        assert_eq!(route("DELETE", "/health", None).unwrap_err().status, 405);
        assert_eq!(
            route("POST", "/predict", Some("text/plain"))
                .unwrap_err()
                .status,
            415
        );
        assert_eq!(route("POST", "/predict", None).unwrap_err().status, 415);
    }

    #[test]
    fn predict_over_http_shape() {
        let s = service(Bundle::Penguins);
        let r = s.handle(
            "POST",
            "/predict",
            Some("application/json"),
            br#"{"features": {"island": "Torgersen"}}"#,
        );
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["model"]["name"], "penguins");
        let p = &v["predictions"][0];
        let probs = p["probabilities"].as_object().unwrap();
        assert_eq!(probs.len(), 3);
        let total: f64 = probs.values().map(|x| x.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert_eq!(p["confidence"], probs[p["label"].as_str().unwrap()]);
        let r405 = s.handle("GET", "/predict", None, b"");
        assert!(r405.headers.contains(&("allow", "POST".into())));
    }

    #[test]
    fn typed_predict_names_instance_fields_and_caps_the_batch() {
        let s = service(Bundle::Penguins);
        let ok = s
            .predict_typed([vec![("island", FeatureValue::Category("Biscoe".into()))]])
            .unwrap();
        assert_eq!(ok.len(), 1);
        let bad = s
            .predict_typed([vec![("island", FeatureValue::Category("Mars".into()))]])
            .unwrap_err();
        let PredictError::InvalidInput(p) = bad else {
            panic!()
        };
        assert_eq!(p[0].field, "instances[0].island");
        let many =
            vec![vec![("island", FeatureValue::Category("Dream".into()))]; crate::MAX_BATCH + 1];
        let PredictError::InvalidInput(p) = s.predict_typed(many).unwrap_err() else {
            panic!()
        };
        assert_eq!(p.last().unwrap().field, "instances");
        assert_eq!(
            s.predict_typed(Vec::<Vec<(&str, FeatureValue)>>::new())
                .unwrap(),
            []
        );
    }

    #[test]
    fn metadata_and_openapi_are_json() {
        let s = service(Bundle::BreastCancer);
        let meta: serde_json::Value = serde_json::from_slice(
            &s.respond(Route::Metadata, b"", InstanceInfo::default())
                .body,
        )
        .unwrap();
        assert_eq!(meta["features"].as_array().unwrap().len(), 30);
        assert_eq!(meta["features"][0]["name"], "mean_radius");
        assert_eq!(meta["labels"], json!(["malignant", "benign"]));
        assert_eq!(meta["features"][0]["baseline"]["kind"], "quantile_bins");
        assert!(meta.get("preprocessing").is_none());
        let doc: serde_json::Value =
            serde_json::from_slice(&s.respond(Route::OpenApi, b"", InstanceInfo::default()).body)
                .unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
    }
}
