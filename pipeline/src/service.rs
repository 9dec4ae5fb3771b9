//! The inference function as a whole, independent of the HTTP library: a loaded bundle
//! (manifest → schema → preprocessor → estimator) plus routing and responses. The guest
//! adapts spin-sdk requests and the typed WIT export onto this; tests drive it natively.

use serde_json::json;

use crate::api::{self, ApiError};
use crate::bundle::{self, Bundle, BundleError};
use crate::drift::Baselines;
use crate::estimator::{Model, ModelError};
use crate::events::Outcome;
use crate::manifest::{Manifest, ManifestError};
use crate::openapi;
use crate::postprocess::{BatchPredictions, Prediction};
use crate::preprocess::Preprocessor;
use crate::routes;
use crate::schema::{FeatureValue, FieldProblem, Problems, Row, Schema, ValidRows};
use crate::v2;

/// Why a bundle cannot be served; every message names the file (and key) at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[cfg(feature = "networks")]
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    /// A side file (non-tabular kinds) that does not say what it must.
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

/// Why a typed prediction failed.
#[derive(Debug, Clone, PartialEq)]
pub enum PredictError {
    InvalidInput(Vec<FieldProblem>),
    Internal(String),
}

/// A route the function serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Index,
    Predict,
    Health,
    Metadata,
    OpenApi,
    /// The Open Inference Protocol V2 (`/v2...`; its own errors, see `v2`).
    V2(v2::Route),
    /// `/predict` of an image function: how the body carries the images, how many
    /// classes to list (from the request head).
    #[cfg(feature = "networks")]
    PredictImage(crate::image::request::ImageRoute),
}

impl Route {
    /// Whether answering reads the request body.
    pub fn reads_body(&self) -> bool {
        match self {
            Route::Predict => true,
            #[cfg(feature = "networks")]
            Route::PredictImage(_) => true,
            Route::V2(r) => r.reads_body(),
            _ => false,
        }
    }

    /// Records the `Inference-Header-Content-Length` header (V2 binary tensor data).
    pub fn with_inference_header(mut self, value: Option<&str>) -> Self {
        if let Route::V2(r) = &mut self {
            r.header_length = value.map(str::to_string);
        }
        self
    }

    /// A request refused before `respond` (e.g. 413), in the route's error envelope.
    pub fn error_response(&self, e: &ApiError) -> Response {
        match self {
            Route::V2(_) => v2::error_response(e),
            _ => e.clone().into(),
        }
    }
}

/// Picks the route for a request head, or the 404/405/415 that answers it. Called before
/// the body is read, so a rejected request never has its body buffered. Every `/v2` path
/// is `Route::V2`, which answers its own 404/405 in its protocol's envelope.
pub fn route(method: &str, path: &str, content_type: Option<&str>) -> Result<Route, ApiError> {
    if let Some(v2) = routes::v2(method, path) {
        return Ok(v2);
    }
    let route = routes::plain(method, path, true)?;
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

/// What the instance knows about itself that responses report or obey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceInfo {
    /// The instance started from a pre-initialised snapshot (the model was loaded ahead
    /// of time, not on this request's path).
    pub preinitialized: bool,
    /// The body limit in force (the host's, given to the guest in its environment;
    /// `api::MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
}

impl Default for InstanceInfo {
    fn default() -> Self {
        InstanceInfo {
            preinitialized: false,
            max_body_bytes: api::MAX_BODY_BYTES,
        }
    }
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
    /// Loads a bundle: every consistency check and the model's whole preparation happen
    /// here, once per instance (or at snapshot time), never per request.
    pub fn load(bundle: &Bundle) -> Result<Self, LoadError> {
        let manifest = Manifest::from_json(bundle.require(bundle::MANIFEST)?)?;
        let schema = Schema::from_manifest(&manifest)?;
        let preprocessor = Preprocessor::from_manifest(&manifest, &schema)?;
        let spec = &manifest.model;
        let model = Model::from_json(
            &spec.file,
            bundle.verified(&spec.file, &spec.sha256)?,
            manifest.task,
            manifest.labels.len(),
            spec.input_width,
        )?;
        if preprocessor.produces_nan() && !model.accepts_nan() {
            return Err(ManifestError::Preprocessing(format!(
                "a missing value can become NaN, which {} does not take; impute it",
                model.estimator_name()
            ))
            .into());
        }
        let baselines = Baselines::from_manifest(&manifest);
        let metadata = serde_json::to_vec(&public_metadata(&manifest, &model)).expect("plain JSON");
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

    /// Preprocess → estimator → link for validated rows.
    pub fn predict(&self, rows: &[Row]) -> Result<Vec<Prediction>, ModelError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.model.predict(&self.preprocessor.transform(rows))
    }

    /// `predict`'s answers as flat lists, for rows however they are held (`ValidRows`).
    fn predict_batch<R: ValidRows + ?Sized>(
        &self,
        rows: &R,
    ) -> Result<BatchPredictions, ModelError> {
        self.model.predict_batch(&self.preprocessor.transform(rows))
    }

    /// The estimator's input for validated rows, row-major `[rows, width]` (what the
    /// reference's `transformed` records).
    pub fn transform(&self, rows: &[Row]) -> Vec<f64> {
        self.preprocessor.transform(rows)
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The typed interface's predict: validation problems name `instances[i].feature`.
    pub fn predict_typed<'a, I, F>(&self, instances: I) -> Result<Vec<Prediction>, PredictError>
    where
        I: IntoIterator<Item = F>,
        F: IntoIterator<Item = (&'a str, FeatureValue)>,
    {
        let mut rows = Vec::new();
        let mut problems = Problems::new();
        for (i, inst) in instances.into_iter().enumerate() {
            if i == api::MAX_BATCH {
                problems.push(|| {
                    FieldProblem::new(
                        "instances",
                        format!(
                            "a batch exceeds the maximum of {} instances",
                            api::MAX_BATCH
                        ),
                    )
                });
                break;
            }
            if let Some(row) =
                self.schema
                    .validate_into(inst, || format!("instances[{i}]"), &mut problems)
            {
                rows.push(row);
            }
        }
        if !problems.is_empty() {
            return Err(PredictError::InvalidInput(problems.into_list()));
        }
        self.predict(&rows)
            .map_err(|e| PredictError::Internal(e.to_string()))
    }

    /// The typed interface's columnar predict: the feature names once, in `columns`,
    /// and the instances' values one row after another, each row `columns.len()` values
    /// in that order. It validates as `predict_typed` (any subset of features, in any
    /// order; problems name `instances[i].feature`) without a name per value: through
    /// the component's export, one string per column instead of one per value.
    pub fn predict_table<S: AsRef<str>>(
        &self,
        columns: &[S],
        mut values: Vec<FeatureValue>,
    ) -> Result<Vec<Prediction>, PredictError> {
        let width = columns.len();
        row_count(values.len(), width, "one per column, in `columns` order")?;
        // Each value is moved out of `values` into validation, not cloned (a category's
        // string would be copied).
        let rows = values.chunks_exact_mut(width).map(|row| {
            columns.iter().map(AsRef::as_ref).zip(
                row.iter_mut()
                    .map(|v| std::mem::replace(v, FeatureValue::Missing)),
            )
        });
        self.predict_typed(rows)
    }

    /// The typed interface's dense predict: `values` holds the rows one after another,
    /// each `schema().len()` numbers in feature order (`Schema::validate_numbers`).
    /// Problems name `rows[i].feature`; at most `MAX_PROBLEMS` are returned.
    pub fn predict_rows(&self, values: &[f64]) -> Result<BatchPredictions, PredictError> {
        let width = self.schema.len();
        let rows_in_values = row_count(values.len(), width, "one per feature, in metadata order")?;
        let answers = if let Some(numbers) = self.schema.numbers_within_range(values) {
            // The common batch, read where it lies: no `Row` per row.
            self.predict_batch(&numbers)
        } else {
            let mut rows = Vec::with_capacity(rows_in_values);
            let mut problems = Problems::new();
            for (i, row) in values.chunks_exact(width).enumerate() {
                match self.schema.validate_numbers(row, || format!("rows[{i}]")) {
                    Ok(row) => rows.push(row),
                    Err(p) => p.into_iter().for_each(|p| problems.push(|| p)),
                }
            }
            if !problems.is_empty() {
                return Err(PredictError::InvalidInput(problems.into_list()));
            }
            self.predict_batch(rows.as_slice())
        };
        answers.map_err(|e| PredictError::Internal(e.to_string()))
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
            Route::V2(r) => return v2::respond(self, &r, body, instance.max_body_bytes),
            Route::Predict => {
                let mut outcome = Outcome::default();
                let response =
                    match api::parse_predict_body(body, &self.schema, instance.max_body_bytes) {
                        Err(e) => {
                            outcome.error = Some(e.clone());
                            e.into()
                        }
                        Ok(rows) => {
                            let r = match self.predict(&rows) {
                                Ok(p) => {
                                    let r = Response::json(
                                        200,
                                        api::predict_response(&m.name, &m.version, &m.labels, &p),
                                    );
                                    outcome.predictions = p;
                                    r
                                }
                                // Inputs inside the schema that drive the model out of
                                // f64 (no range given): the client's to change, so a 422.
                                Err(ModelError::NonFinite { row }) => {
                                    let field = if rows.len() == 1 && body_is_single(body) {
                                        "features".to_string()
                                    } else {
                                        format!("instances[{row}]")
                                    };
                                    let e = ApiError::invalid_input(vec![FieldProblem::new(
                                        field,
                                        "the model's output for this input is not a finite number",
                                    )]);
                                    outcome.error = Some(e.clone());
                                    e.into()
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
            Route::Health => routes::health(&m.name, &m.version, instance),
            Route::Metadata => Response::json(200, self.metadata.clone()),
            Route::OpenApi => Response::json(200, self.openapi.clone()),
            Route::Index => Response::json(
                200,
                serde_json::to_vec(&json!({
                    "model": {"name": m.name, "version": m.version},
                    "routes": ["POST /predict", "GET /health", "GET /metadata", "GET /openapi.json",
                               "GET /v2", format!("POST /v2/models/{}/infer", m.name)],
                }))
                .expect("plain JSON"),
            ),
            // `route` never picks it for this kind.
            #[cfg(feature = "networks")]
            Route::PredictImage(_) => ApiError::not_found("/predict").into(),
        };
        (response, Outcome::default())
    }

    pub fn baselines(&self) -> &Baselines {
        &self.baselines
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

/// Whether a parsed `/predict` body used the single-instance `features` form.
fn body_is_single(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.get("features").is_some())
}

/// What `/metadata` shows: everything but preprocessing internals. The drift baselines
/// are in (aggregate baseline statistics; the host's drift monitor reads them).
fn public_metadata(m: &Manifest, model: &Model) -> serde_json::Value {
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
            if f.accept_unknown {
                v["accept_unknown"] = json!(true);
            }
            v
        })
        .collect();
    let mut doc = json!({
        "name": m.name,
        "version": m.version,
        "kind": m.kind,
        "task": m.task,
        "created": m.created,
        "description": m.description,
        "source": m.source,
        "training": m.training,
        "metrics": m.metrics,
        "labels": m.labels,
        "features": features,
        "prediction_baseline": m.prediction_baseline,
        "model": {"format": m.model.format, "estimator": model.estimator_name(),
                  "sha256": m.model.sha256, "input_width": m.model.input_width},
        "limits": {"max_batch": api::MAX_BATCH, "max_body_bytes": api::MAX_BODY_BYTES},
    });
    // Only when the manifest has them: documents of older bundles stay as they were.
    if let Some(t) = &m.thresholds {
        doc["thresholds"] = json!(t);
    }
    doc
}

/// The rows in a flat batch of `len` values, `width` to a row (`per_row` says what a
/// row's values are); a `values` problem when they do not make whole rows or make more
/// than a batch holds.
fn row_count(len: usize, width: usize, per_row: &str) -> Result<usize, PredictError> {
    let invalid = |problem: String| {
        Err(PredictError::InvalidInput(vec![FieldProblem::new(
            "values", problem,
        )]))
    };
    if width == 0 || !len.is_multiple_of(width) {
        return invalid(format!(
            "expected a whole number of rows of {width} values ({per_row}), got {len} values"
        ));
    }
    if len / width > api::MAX_BATCH {
        return invalid(format!(
            "{} rows exceed the maximum batch of {}",
            len / width,
            api::MAX_BATCH
        ));
    }
    Ok(len / width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn post(s: &Service, body: &str) -> (u16, serde_json::Value) {
        let r = s.handle(
            "POST",
            "/predict",
            Some("application/json"),
            body.as_bytes(),
        );
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    fn load_err(b: &Bundle) -> String {
        Service::load(b).unwrap_err().to_string()
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
    fn classification_over_http() {
        let s = Service::load(&testdata::classifier()).unwrap();
        // x = 1.5 → scaled 0.25, on the threshold: left (`<=`), [0.8, 0.2].
        let (status, v) = post(&s, r#"{"features": {"x": 1.5}}"#);
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["model"], json!({"name": "tiny", "version": "1.0.0"}));
        assert_eq!(
            v["predictions"][0],
            json!({"label": "no", "probabilities": {"no": 0.8, "yes": 0.2}, "confidence": 0.8})
        );
        let (_, v) = post(
            &s,
            r#"{"instances": [{"x": 1.6}, {"x": 0, "color": "green"}]}"#,
        );
        assert_eq!(v["predictions"][0]["label"], "yes");
        assert_eq!(v["predictions"][1]["label"], "no");
        let r405 = s.handle("GET", "/predict", None, b"");
        assert!(r405.headers.contains(&("allow", "POST".into())));
    }

    #[test]
    fn regression_over_http() {
        let s = Service::load(&testdata::regressor()).unwrap();
        // x = 5 → 2; blue → 1; n = 4 → 4, not missing: 2·2 + 10 + 2·4 + 0 + 1 = 23.
        let (status, v) = post(&s, r#"{"features": {"x": 5, "color": "blue", "n": 4}}"#);
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["predictions"], json!([{"value": 23.0}]));
        // n missing → imputed 3 and flagged: 2·2 + 0 + 2·3 + 100 + 1.
        let (_, v) = post(&s, r#"{"features": {"x": 5, "color": null}}"#);
        assert_eq!(v["predictions"], json!([{"value": 111.0}]));
        // n has no range: a huge n is valid input but no finite output, so a 422.
        let (status, v) = post(&s, r#"{"features": {"x": 5, "n": 1e308}}"#);
        assert_eq!(status, 422, "{v}");
        assert_eq!(v["error"]["details"][0]["field"], "features");
        let (status, v) = post(&s, r#"{"instances": [{"x": 5}, {"x": 5, "n": 1e308}]}"#);
        assert_eq!(
            (status, &v["error"]["details"][0]["field"]),
            (422, &json!("instances[1]"))
        );
    }

    #[test]
    fn typed_predict_names_instance_fields_and_caps_the_batch() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let ok = s
            .predict_typed([vec![("x", FeatureValue::Number(3.0))]])
            .unwrap();
        assert!(matches!(ok[..], [Prediction::Class { label: 1, .. }]));
        let bad = s
            .predict_typed([vec![("x", FeatureValue::Category("Mars".into()))]])
            .unwrap_err();
        let PredictError::InvalidInput(p) = bad else {
            panic!()
        };
        assert_eq!(p[0].field, "instances[0].x");
        let many = vec![vec![("x", FeatureValue::Number(1.0))]; crate::MAX_BATCH + 1];
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
    fn table_predict_answers_as_named_predict_and_checks_its_shape() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let red = || FeatureValue::Category("red".into());
        let named = s
            .predict_typed([
                vec![("x", FeatureValue::Number(3.0)), ("color", red())],
                vec![
                    ("color", FeatureValue::Missing),
                    ("x", FeatureValue::Number(0.5)),
                ],
            ])
            .unwrap();
        let table = |columns: &[&str], values: Vec<FeatureValue>| s.predict_table(columns, values);
        // Columns in any order, an absent optional value as `Missing`.
        let values = vec![
            FeatureValue::Number(3.0),
            red(),
            FeatureValue::Number(0.5),
            FeatureValue::Missing,
        ];
        assert_eq!(table(&["x", "color"], values).unwrap(), named);
        let values = vec![
            red(),
            FeatureValue::Number(3.0),
            FeatureValue::Missing,
            FeatureValue::Number(0.5),
        ];
        assert_eq!(table(&["color", "x"], values).unwrap(), named);
        assert_eq!(table(&["x"], Vec::new()).unwrap(), []);

        let problems = |columns: &[&str], values: Vec<FeatureValue>| {
            let Err(PredictError::InvalidInput(p)) = table(columns, values) else {
                panic!("expected invalid input")
            };
            p.into_iter()
                .map(|p| format!("{}: {}", p.field, p.problem))
                .collect::<Vec<_>>()
        };
        let two_rows = || vec![FeatureValue::Number(1.0); 2];
        // Every row is an instance: an unknown or repeated column, and a required
        // feature without a column, are named in each.
        let p = problems(&["x", "y"], vec![FeatureValue::Number(1.0); 4]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("instances[0].y: unknown feature"), "{p:?}");
        assert!(p[1].starts_with("instances[1].y: unknown feature"), "{p:?}");
        assert_eq!(
            problems(&["x", "x"], two_rows()),
            ["instances[0].x: feature given more than once"]
        );
        assert_eq!(
            problems(&["n"], vec![FeatureValue::Integer(1)]),
            ["instances[0].x: required feature is missing"]
        );
        // The shape: whole rows, at least one column, at most a batch.
        let p = problems(&["x", "color"], vec![FeatureValue::Number(1.0); 3]);
        assert_eq!(
            p,
            [
                "values: expected a whole number of rows of 2 values (one per column, in \
              `columns` order), got 3 values"
            ]
        );
        assert!(problems(&[], Vec::new())[0].starts_with("values: "));
        let p = problems(
            &["x"],
            vec![FeatureValue::Number(1.0); crate::MAX_BATCH + 1],
        );
        assert_eq!(
            p,
            [format!(
                "values: {} rows exceed the maximum batch of {}",
                crate::MAX_BATCH + 1,
                crate::MAX_BATCH
            )]
        );
    }

    #[test]
    fn metadata_reports_task_model_and_baselines() {
        let s = Service::load(&testdata::classifier()).unwrap();
        let meta: serde_json::Value = serde_json::from_slice(
            &s.respond(Route::Metadata, b"", InstanceInfo::default())
                .body,
        )
        .unwrap();
        assert_eq!(meta["task"], "classification");
        assert_eq!(meta["labels"], json!(["no", "yes"]));
        assert_eq!(meta["features"][0]["baseline"]["kind"], "quantile_bins");
        assert_eq!(meta["features"][1]["accept_unknown"], true);
        assert_eq!(meta["prediction_baseline"]["label"]["kind"], "categories");
        let model = &meta["model"];
        assert_eq!(
            (&model["format"], &model["estimator"], &model["input_width"]),
            (
                &json!("mlfn-estimator"),
                &json!("DecisionTreeClassifier"),
                &json!(4)
            )
        );
        assert_eq!(model["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(meta["limits"]["max_batch"], crate::MAX_BATCH);
        assert!(meta.get("preprocessing").is_none());
    }

    #[test]
    fn load_errors_name_the_file_and_key() {
        let mut b = testdata::classifier();
        b.insert("model.json", b"{}".to_vec());
        assert!(
            load_err(&b).starts_with("model.json: sha256 is"),
            "{}",
            load_err(&b)
        );

        let mut m = testdata::manifest("classification");
        m["kind"] = json!("audio");
        let e = load_err(&testdata::bundle(m, &testdata::tree_model()));
        assert!(e.contains("kind \"audio\" is not supported"), "{e}");

        let mut m = testdata::manifest("classification");
        m["manifest_version"] = json!(1);
        let e = load_err(&testdata::bundle(m, &testdata::tree_model()));
        assert!(e.contains("manifest_version 1 is not supported"), "{e}");

        let mut model = testdata::tree_model();
        model["trees"][0]["left"] = json!([0, -1, -1]);
        let e = load_err(&testdata::bundle(
            testdata::manifest("classification"),
            &model,
        ));
        assert!(
            e.starts_with("model.json: `trees[0]`: node 0: child 0"),
            "{e}"
        );

        let mut model = testdata::tree_model();
        model["outputs"] = json!(3);
        let e = load_err(&testdata::bundle(
            testdata::manifest("classification"),
            &model,
        ));
        assert!(e.contains("needs outputs = 2, got 3"), "{e}");

        // A linear model cannot take the NaN an unimputed optional feature would give.
        let mut m = testdata::manifest("regression");
        m["preprocessing"]["columns"][2]["source"]["impute"] = json!(null);
        let e = load_err(&testdata::bundle(m.clone(), &testdata::linear_model()));
        assert!(e.contains("can become NaN"), "{e}");
        m["preprocessing"]["columns"][2]["source"]
            .as_object_mut()
            .unwrap()
            .remove("impute");
        let e = load_err(&testdata::bundle(m, &testdata::linear_model()));
        assert!(
            e.contains("columns[2] (Value of `n`): `impute` is missing"),
            "{e}"
        );

        let mut m = testdata::manifest("regression");
        m["preprocessing"]["width"] = json!(5);
        let e = load_err(&testdata::bundle(m, &testdata::linear_model()));
        assert!(
            e.starts_with("manifest.json: preprocessing: width 5"),
            "{e}"
        );

        let mut b = testdata::regressor();
        let mut files = Bundle::new();
        files.insert("manifest.json", b.get("manifest.json").unwrap().to_vec());
        assert_eq!(load_err(&files), "model.json: missing from the bundle");
        b.insert("manifest.json", b"{".to_vec());
        assert!(load_err(&b).starts_with("manifest.json:"));
    }
}
