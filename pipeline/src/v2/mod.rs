//! The Open Inference Protocol V2 (KServe V2 / Triton HTTP/REST), beside `/predict`:
//! server and model metadata, health, and `POST /v2/models/{name}[/versions/{v}]/infer`
//! with JSON or binary tensor data (`binary.rs`). The model is the bundle: its name and
//! version are the manifest's; its inputs are its features, its outputs `label` +
//! `probabilities` (classification) or `value` (regression). Errors are
//! `{"error": "..."}`: 400 for a bad request, 404 for an unknown model, version or path.

pub mod binary;
mod bounded_json;
#[cfg(feature = "networks")]
pub mod bytes_input;
mod infer;
pub mod wire;

use serde_json::{Value, json};

use crate::api::{ApiError, MAX_BATCH, MAX_BODY_BYTES, MAX_PROBLEMS};
use crate::estimator::ModelError;
use crate::events::Outcome;
use crate::manifest::{FeatureType, Manifest, Task};
use crate::postprocess::Prediction;
use crate::service::{Response, Service};
use bounded_json::BoundedError;
use infer::{Out, Refusal};
use wire::{OutData, Output};

/// What `GET /v2` reports.
pub const SERVER_NAME: &str = "mlfn-inference-function";
pub const EXTENSIONS: &[&str] = &["binary_tensor_data"];
/// The header that gives the JSON header's length in a binary request or response.
pub const HEADER_LENGTH: &str = "inference-header-content-length";
/// Problems listed in one error message (the message gives the total).
const LISTED_PROBLEMS: usize = 10;
/// JSON values a request header may spend beside its rows' data: the id, tensor names,
/// datatypes and shapes, requested outputs, parameters.
pub(crate) const HEADER_FRAMING_VALUES: usize = 4096;

/// A V2 endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Server,
    Live,
    Ready,
    Model,
    ModelReady,
    Infer,
    NotFound,
    /// The path exists with another method (the `Allow` header).
    MethodNotAllowed(&'static str),
}

/// A request under `/v2`, parsed from its method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    /// `{name}` and `{version}` of the model endpoints.
    pub model: Option<(String, Option<String>)>,
    /// The path, for messages (cut short).
    pub path: String,
    /// `Inference-Header-Content-Length`, as sent (infer only).
    pub header_length: Option<String>,
}

/// Whether `path` (without its query) belongs to this protocol.
pub fn owns(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

impl Route {
    pub fn parse(method: &str, path: &str) -> Self {
        let segments: Vec<&str> = path
            .trim_end_matches('/')
            .split('/')
            .skip(2) // "", "v2"
            .collect();
        let model = |name: &str, version: Option<&str>| {
            Some((name.to_string(), version.map(str::to_string)))
        };
        let (endpoint, model, allow) = match segments[..] {
            [] => (Endpoint::Server, None, "GET"),
            ["health", "live"] => (Endpoint::Live, None, "GET"),
            ["health", "ready"] => (Endpoint::Ready, None, "GET"),
            ["models", name] if !name.is_empty() => (Endpoint::Model, model(name, None), "GET"),
            ["models", name, "ready"] if !name.is_empty() => {
                (Endpoint::ModelReady, model(name, None), "GET")
            }
            ["models", name, "infer"] if !name.is_empty() => {
                (Endpoint::Infer, model(name, None), "POST")
            }
            ["models", name, "versions", v] if !name.is_empty() && !v.is_empty() => {
                (Endpoint::Model, model(name, Some(v)), "GET")
            }
            ["models", name, "versions", v, "ready"] if !name.is_empty() && !v.is_empty() => {
                (Endpoint::ModelReady, model(name, Some(v)), "GET")
            }
            ["models", name, "versions", v, "infer"] if !name.is_empty() && !v.is_empty() => {
                (Endpoint::Infer, model(name, Some(v)), "POST")
            }
            _ => (Endpoint::NotFound, None, ""),
        };
        let endpoint = if endpoint != Endpoint::NotFound && !method.eq_ignore_ascii_case(allow) {
            Endpoint::MethodNotAllowed(allow)
        } else {
            endpoint
        };
        Route {
            endpoint,
            model,
            path: cut(path, 128),
            header_length: None,
        }
    }

    /// Only inference reads the body.
    pub fn reads_body(&self) -> bool {
        self.endpoint == Endpoint::Infer
    }
}

/// `s` cut to at most `max` bytes on a char boundary, marked with `…` when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An error in this protocol's envelope: `{"error": message}`.
pub fn error_response(e: &ApiError) -> Response {
    let mut r = Response::json(
        e.status,
        serde_json::to_vec(&json!({"error": e.message})).expect("a string serializes"),
    );
    if let Some(allow) = e.allow {
        r.headers.push(("allow", allow.into()));
    }
    r
}

pub(crate) fn error(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
        details: Vec::new(),
        allow: None,
    }
}

fn ok(body: Value) -> (Response, Outcome) {
    (
        Response::json(200, serde_json::to_vec(&body).expect("plain JSON")),
        Outcome::default(),
    )
}

pub(crate) fn failed(e: ApiError) -> (Response, Outcome) {
    let response = error_response(&e);
    (
        response,
        Outcome {
            error: Some(e),
            ..Outcome::default()
        },
    )
}

/// What a model answers beyond the endpoints every model shares: its identity, its
/// metadata and its inference. The tabular `Service` is one; the network kinds are
/// others (`bytes_input`).
pub trait V2Model {
    fn name(&self) -> &str;
    fn version(&self) -> &str;
    /// `GET /v2/models/{name}`.
    fn metadata(&self) -> Value;
    /// `POST /v2/models/{name}/infer`, the body within `max_body_bytes` not yet checked.
    fn infer(&self, route: &Route, body: &[u8], max_body_bytes: usize) -> (Response, Outcome);
}

struct Tabular<'a>(&'a Service);

impl V2Model for Tabular<'_> {
    fn name(&self) -> &str {
        &self.0.manifest().name
    }

    fn version(&self) -> &str {
        &self.0.manifest().version
    }

    fn metadata(&self) -> Value {
        model_metadata(self.0.manifest())
    }

    fn infer(&self, route: &Route, body: &[u8], max_body_bytes: usize) -> (Response, Outcome) {
        infer(self.0, route, body, max_body_bytes)
    }
}

/// Answers a V2 request for the service's model.
pub fn respond(
    service: &Service,
    route: &Route,
    body: &[u8],
    max_body_bytes: usize,
) -> (Response, Outcome) {
    respond_for(&Tabular(service), route, body, max_body_bytes)
}

/// Answers a V2 request for `model`: server and health endpoints, the model's name and
/// version checked, then its metadata or inference.
pub fn respond_for(
    model: &dyn V2Model,
    route: &Route,
    body: &[u8],
    max_body_bytes: usize,
) -> (Response, Outcome) {
    let (name, version) = (model.name(), model.version());
    match route.endpoint {
        Endpoint::NotFound => {
            return failed(error(
                404,
                "not_found",
                format!(
                    "no V2 endpoint at {:?}; this function serves /v2, /v2/health/{{live,ready}} \
                     and /v2/models/{name}[/versions/{version}][/ready|/infer]",
                    route.path
                ),
            ));
        }
        Endpoint::MethodNotAllowed(allow) => {
            let mut e = error(
                405,
                "method_not_allowed",
                format!("the method is not allowed on {}; use {allow}", route.path),
            );
            e.allow = Some(allow);
            return failed(e);
        }
        Endpoint::Server => {
            return ok(
                json!({"name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION"),
                             "extensions": EXTENSIONS}),
            );
        }
        Endpoint::Live => return ok(json!({"live": true})),
        Endpoint::Ready => return ok(json!({"ready": true})),
        Endpoint::Model | Endpoint::ModelReady | Endpoint::Infer => {}
    }
    if let Some((asked, asked_version)) = &route.model {
        if asked != name {
            return failed(error(
                404,
                "not_found",
                format!(
                    "unknown model '{}'; this function serves '{name}'",
                    cut(asked, 128),
                ),
            ));
        }
        if let Some(v) = asked_version
            && v != version
        {
            return failed(error(
                404,
                "not_found",
                format!(
                    "unknown version '{}' of model '{name}'; the version served is {version}",
                    cut(v, 64),
                ),
            ));
        }
    }
    match route.endpoint {
        Endpoint::Model => ok(model.metadata()),
        Endpoint::ModelReady => ok(json!({"name": name, "ready": true})),
        _ => model.infer(route, body, max_body_bytes),
    }
}

/// The model metadata: one input per feature, the outputs, and (in `properties`, strings
/// as the protocol's schema asks) the task, the labels and the alternatives.
pub fn model_metadata(m: &Manifest) -> Value {
    let inputs: Vec<Value> = m
        .features
        .iter()
        .map(|f| {
            let datatype = if f.kind == FeatureType::Category {
                "BYTES"
            } else {
                "FP64"
            };
            json!({"name": f.name, "datatype": datatype, "shape": [-1]})
        })
        .collect();
    let outputs: Vec<Value> = Out::all(m.task)
        .iter()
        .map(|o| match o {
            Out::Label => json!({"name": "label", "datatype": "BYTES", "shape": [-1]}),
            Out::Probabilities => {
                json!({"name": "probabilities", "datatype": "FP32", "shape": [-1, m.labels.len()]})
            }
            Out::Value => json!({"name": "value", "datatype": "FP64", "shape": [-1]}),
        })
        .collect();
    let all_numeric = m.features.iter().all(|f| f.kind != FeatureType::Category);
    let mut properties = json!({
        "task": m.task,
        "max_batch": MAX_BATCH.to_string(),
        "inputs": "one tensor per feature, shape [N] or [N, 1]; numbers in any numeric \
                   datatype (integer features take integral values), categories as BYTES",
        "missing_values": "for an optional feature: NaN, JSON null, or an empty BYTES element",
    });
    if m.task == Task::Classification {
        properties["labels"] = json!(serde_json::to_string(&m.labels).expect("strings"));
    }
    if all_numeric {
        properties["batched_input"] = json!(format!(
            "or one [N, {}] tensor of any name with the features in the order of `inputs`",
            m.features.len()
        ));
    }
    json!({
        "name": m.name,
        "versions": [m.version],
        "platform": "mlfn_tabular",
        "inputs": inputs,
        "outputs": outputs,
        "properties": properties,
    })
}

fn infer(
    service: &Service,
    route: &Route,
    body: &[u8],
    max_body_bytes: usize,
) -> (Response, Outcome) {
    let m = service.manifest();
    if body.len() > max_body_bytes {
        return failed(error(
            413,
            "payload_too_large",
            format!("request body exceeds the limit of {max_body_bytes} bytes"),
        ));
    }
    let bad = |message: String| failed(error(400, "bad_request", message));
    let (header, binary) = match binary::split(body, route.header_length.as_deref()) {
        Ok(parts) => parts,
        Err(e) => return bad(e),
    };
    // The most values an answerable header holds: every row's features, each in its own
    // array in the `[N, 1]` form (2 values per feature; `[N, F]` needs F + 1), plus
    // framing — id, names, shapes, parameters.
    let max_values = MAX_BATCH * 2 * service.schema().len() + HEADER_FRAMING_VALUES;
    let top = match bounded_json::from_slice(&wire::non_finite_tokens(header), max_values) {
        Ok(v) => v,
        Err(BoundedError::Json(e)) => return bad(json_error(&e, route.header_length.is_some())),
        Err(BoundedError::TooMany(n)) => {
            return bad(format!(
                "the inference request holds more than {n} JSON values; at most {MAX_BATCH} rows \
                 of {} features are answered",
                service.schema().len()
            ));
        }
    };
    let request = match wire::parse_header(&top, binary)
        .map_err(Refusal::Bad)
        .and_then(|h| infer::parse(m, service.schema(), h))
    {
        Ok(r) => r,
        Err(Refusal::Bad(message)) => return bad(message),
        Err(Refusal::Invalid(problems)) => return failed(invalid(problems)),
    };
    let mut outcome = Outcome::default();
    let predictions = match service.predict(&request.rows) {
        Ok(p) => p,
        Err(ModelError::NonFinite { row }) => {
            let e = error(
                400,
                "invalid_input",
                format!("row {row}: the model's output for this input is not a finite number"),
            );
            let (response, mut outcome) = failed(e);
            outcome.rows = request.rows;
            return (response, outcome);
        }
        Err(e) => return failed(error(500, "internal", e.to_string())),
    };
    let outputs: Vec<Output> = request
        .outputs
        .iter()
        .map(|&(o, binary)| output(m, o, binary, &predictions))
        .collect();
    let (body, header_length) = wire::response_body(&m.name, &m.version, request.id, &outputs);
    let response = match header_length {
        None => Response::json(200, body),
        Some(n) => Response {
            status: 200,
            headers: vec![
                ("content-type", "application/octet-stream".into()),
                (HEADER_LENGTH, n.to_string()),
            ],
            body,
        },
    };
    outcome.rows = request.rows;
    outcome.predictions = predictions;
    (response, outcome)
}

fn output<'a>(m: &'a Manifest, o: Out, binary: bool, p: &[Prediction]) -> Output<'a> {
    let n = p.len();
    let (shape, data) = match o {
        Out::Label => (
            vec![n],
            OutData::Bytes(
                p.iter()
                    .map(|p| match p {
                        Prediction::Class { label, .. } => m.labels[*label].as_str(),
                        Prediction::Value(_) => "",
                    })
                    .collect(),
            ),
        ),
        Out::Probabilities => (
            vec![n, m.labels.len()],
            OutData::F32(
                p.iter()
                    .flat_map(|p| match p {
                        Prediction::Class { probabilities, .. } => probabilities.as_slice(),
                        Prediction::Value(_) => &[],
                    })
                    .map(|x| *x as f32)
                    .collect(),
            ),
        ),
        Out::Value => (
            vec![n],
            OutData::F64(
                p.iter()
                    .map(|p| match p {
                        Prediction::Value(v) => *v,
                        Prediction::Class { confidence, .. } => *confidence,
                    })
                    .collect(),
            ),
        ),
    };
    Output {
        name: o.name(),
        shape,
        data,
        binary,
    }
}

/// A 400 listing the first problems, each naming the tensor and the row.
fn invalid(problems: Vec<(String, crate::schema::FieldProblem)>) -> ApiError {
    let n = problems.len();
    let listed: Vec<&str> = problems
        .iter()
        .take(LISTED_PROBLEMS)
        .map(|(m, _)| m.as_str())
        .collect();
    let message = match n {
        1 => listed[0].to_string(),
        _ if n <= LISTED_PROBLEMS => format!("{n} problems with the input: {}", listed.join("; ")),
        _ => format!(
            "{n} problems with the input, the first {LISTED_PROBLEMS}: {}",
            listed.join("; ")
        ),
    };
    let mut details: Vec<_> = problems.into_iter().map(|(_, p)| p).collect();
    details.truncate(MAX_PROBLEMS);
    ApiError {
        details,
        ..error(400, "invalid_input", message)
    }
}

/// The JSON parser's complaint, with a hint for the usual cause.
pub(crate) fn json_error(e: &serde_json::Error, had_length: bool) -> String {
    let mut message = format!("the inference request is not valid JSON: {e}");
    if !had_length && e.to_string().starts_with("trailing characters") {
        message.push_str(
            " (binary tensor data after the JSON needs the Inference-Header-Content-Length header)",
        );
    }
    message
}

/// The V2 paths for the OpenAPI document (`openapi.rs`), and the error schema they use.
pub fn openapi(doc: &mut Value, m: &Manifest) {
    let error = |description: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2Error"}}}})
    };
    let param = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}});
    let get = |id: &str, summary: &str, params: Value| {
        json!({"get": {"operationId": id, "summary": summary, "tags": ["Open Inference Protocol V2"],
                       "parameters": params,
                       "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                                     "404": error("Unknown model or version")}}})
    };
    let infer = |id: &str, params: Value| {
        json!({"post": {"operationId": id, "tags": ["Open Inference Protocol V2"], "parameters": params,
        "summary": format!("Inference: one tensor per feature (or one [N, F] tensor when all features are numeric), at most {MAX_BATCH} rows; JSON or binary tensor data (Inference-Header-Content-Length)"),
        "requestBody": {"required": true, "content": {
            "application/json": {"schema": {"type": "object", "required": ["inputs"], "properties": {
                "id": {"type": "string"}, "parameters": {"type": "object"},
                "inputs": {"type": "array", "items": {"type": "object", "required": ["name", "shape", "datatype"]}},
                "outputs": {"type": "array", "items": {"type": "object", "required": ["name"]}}}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {
            "200": {"description": "The outputs (`label` and `probabilities`, or `value`)",
                    "content": {"application/json": {"schema": {"type": "object"}},
                                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "400": error("A malformed request or input values outside the schema; the message names the tensor and the row"),
            "404": error("Unknown model or version"),
            "413": error(&format!("The body is larger than {MAX_BODY_BYTES} bytes")),
        }}})
    };
    let none = json!([]);
    let name = json!([param("name")]);
    let version = json!([param("name"), param("version")]);
    let paths = [
        (
            "/v2",
            get("v2ServerMetadata", "Server metadata", none.clone()),
        ),
        (
            "/v2/health/live",
            get("v2ServerLive", "Server live", none.clone()),
        ),
        (
            "/v2/health/ready",
            get("v2ServerReady", "Server ready", none),
        ),
        (
            "/v2/models/{name}",
            get(
                "v2ModelMetadata",
                &format!("Model metadata (the model is '{}')", m.name),
                name.clone(),
            ),
        ),
        (
            "/v2/models/{name}/ready",
            get("v2ModelReady", "Model ready", name.clone()),
        ),
        ("/v2/models/{name}/infer", infer("v2Infer", name)),
        (
            "/v2/models/{name}/versions/{version}",
            get(
                "v2ModelVersionMetadata",
                &format!("Model metadata (version {})", m.version),
                version.clone(),
            ),
        ),
        (
            "/v2/models/{name}/versions/{version}/ready",
            get(
                "v2ModelVersionReady",
                "Model version ready",
                version.clone(),
            ),
        ),
        (
            "/v2/models/{name}/versions/{version}/infer",
            infer("v2InferVersion", version),
        ),
    ];
    if let Some(p) = doc["paths"].as_object_mut() {
        for (path, item) in paths {
            p.insert(path.into(), item);
        }
    }
    if let Some(s) = doc["components"]["schemas"].as_object_mut() {
        s.insert(
            "V2Error".into(),
            json!({"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}),
        );
    }
}

#[cfg(test)]
mod tests;
