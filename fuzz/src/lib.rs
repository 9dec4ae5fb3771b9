//! What the fuzz targets share: the packaged components (made once per process), a
//! request built from the fuzzer's bytes, the native answer (what guest/src/http.rs
//! computes, without wasm), and the checks every answer must pass. fuzz/README.md says
//! what each target asserts.

use std::sync::LazyLock;

use arbitrary::Unstructured;
use bytes::Bytes;
use host::direct::{self, DirectResponse};
use host::{PoolLimits, Runtime};
use pipeline::manifest::FeatureType;
use pipeline::{ApiError, InstanceInfo, MAX_BATCH, MAX_BODY_BYTES, Route, Service};
use serde_json::Value;

pub mod body;

/// The bundles every request may go to: categories and optional (missing) values, and an
/// all-numeric one with 30 required features.
pub const BUNDLES: [&str; 2] = ["penguins", "breast-cancer"];

/// One bundle: its packaged component and the same bundle loaded natively.
pub struct Model {
    pub name: String,
    pub runtime: Runtime,
    pub service: Service,
    /// The features, for value generation.
    pub features: Vec<FeatureInfo>,
    /// Every category of every feature.
    pub categories: Vec<String>,
}

pub struct FeatureInfo {
    pub name: String,
    pub kind: FeatureType,
    pub range: Option<(f64, f64)>,
    pub categories: Vec<String>,
}

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub models: Vec<Model>,
}

/// Packaged (and verified against the bundle's reference rows) once per process, cached
/// across processes by `host::package::package_dir`.
pub static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let guest = std::fs::read(host::guests::GUEST).expect("the model-less guest (host/build.rs)");
    // One request at a time: a small pool.
    let limits = PoolLimits {
        instances: 4,
        ..PoolLimits::default()
    };
    let models = BUNDLES
        .iter()
        .map(|name| {
            let dir = host::guests::bundle_dir(name);
            let packaged = rt
                .block_on(host::package::package_dir(&guest, &dir, limits))
                .unwrap_or_else(|e| panic!("packaging {name}: {e:#}"));
            let bundle = pipeline::Bundle::read_dir(&dir).expect("the bundle reads");
            let service = Service::load(&bundle).expect("the bundle loads natively");
            let m = service.manifest();
            let features = m
                .features
                .iter()
                .map(|f| FeatureInfo {
                    name: f.name.clone(),
                    kind: f.kind,
                    range: f.range.map(|r| (r.min, r.max)),
                    categories: f.categories.clone().unwrap_or_default(),
                })
                .collect();
            let categories = m
                .features
                .iter()
                .flat_map(|f| f.categories.clone().unwrap_or_default())
                .collect();
            Model {
                name: name.to_string(),
                runtime: packaged.runtime,
                service,
                features,
                categories,
            }
        })
        .collect();
    Harness { rt, models }
});

/// One HTTP request, as the fuzzer made it.
#[derive(Debug, Clone)]
pub struct Request {
    pub model: usize,
    pub method: http::Method,
    /// Origin-form path and query, as the component will see it.
    pub path: String,
    pub content_type: Vec<http::HeaderValue>,
    pub request_id: Option<http::HeaderValue>,
    /// Send `content-length` (else the body goes without one, as when chunked).
    pub content_length: bool,
    pub body: Vec<u8>,
}

const PATHS: &[&str] = &[
    "/predict",
    "/predict",
    "/predict",
    "/predict",
    "/health",
    "/healthz",
    "/readyz",
    "/metadata",
    "/openapi.json",
    "/",
    "/predict/",
    "/PREDICT",
    "//predict",
    "/predict?debug=1",
    "/predict?",
    "/health?probe=1&x=%00",
    "/%70redict",
    "/predict/../predict",
    "/metrics",
    "/drift",
    "/openapi.json?format=yaml",
    "/metadata#frag",
    "*",
];

const METHODS: &[&str] = &[
    "POST", "POST", "POST", "POST", "GET", "GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
    "TRACE", "post", "get", "Post", "CONNECT",
];

const CONTENT_TYPES: &[&[u8]] = &[
    b"application/json",
    b"application/json",
    b"application/json",
    b"application/json",
    b"application/json; charset=utf-8",
    b"Application/JSON",
    b"application/json ;charset=latin1",
    b" application/json",
    b"application/json;",
    b"application/jsonx",
    b"application/json-seq",
    b";application/json",
    b"text/json",
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=x",
    b"",
    b"application/\xffjson",
    b"application/json\xc3\xa9",
];

impl Request {
    /// A request from the fuzzer's bytes: method, path, headers, then the body (raw bytes
    /// or a JSON body built to reach deep validation; see `body`).
    pub fn from_bytes(data: &[u8]) -> Self {
        if let Some(req) = Self::literal(data) {
            return req;
        }
        let mut u = Unstructured::new(data);
        let models = BUNDLES.len();
        let model = u.choose_index(models).unwrap_or(0);
        let method = if u.ratio(1, 16).unwrap_or(false) {
            token(&mut u).unwrap_or(http::Method::POST)
        } else {
            let m = u.choose(METHODS).copied().unwrap_or("POST");
            http::Method::from_bytes(m.as_bytes()).expect("listed methods are tokens")
        };
        let path = if u.ratio(1, 12).unwrap_or(false) {
            arbitrary_path(&mut u)
        } else {
            u.choose(PATHS).copied().unwrap_or("/predict").to_string()
        };
        let path = origin_form(&path);
        let mut content_type = Vec::new();
        let n = match u.int_in_range(0u8..=15).unwrap_or(1) {
            0 => 0,
            1 => 2,
            _ => 1,
        };
        for _ in 0..n {
            let v = if u.ratio(1, 16).unwrap_or(false) {
                let len = u.int_in_range(0..=40).unwrap_or(0);
                u.bytes(len).unwrap_or(b"").to_vec()
            } else {
                u.choose(CONTENT_TYPES)
                    .copied()
                    .unwrap_or(b"application/json")
                    .to_vec()
            };
            if let Ok(v) = http::HeaderValue::from_bytes(&v) {
                content_type.push(v);
            }
        }
        let request_id = match u.int_in_range(0u8..=7).unwrap_or(0) {
            0 => Some(b"req-1".to_vec()),
            1 => {
                let len = u.int_in_range(0..=80).unwrap_or(0);
                Some(u.bytes(len).unwrap_or(b"").to_vec())
            }
            2 => Some(vec![b'a'; 65]),
            _ => None,
        }
        .and_then(|v| http::HeaderValue::from_bytes(&v).ok());
        let content_length = !u.ratio(1, 8).unwrap_or(false);
        let body = HARNESS.with_model(model, |m| body::body(&mut u, m));
        Request {
            model,
            method,
            path,
            content_type,
            request_id,
            content_length,
            body,
        }
    }

    /// A request written out (the committed seeds; libFuzzer's byte mutations of them
    /// are then JSON-level mutations):
    /// `#<bundle> <METHOD> <path>\n`, header lines (`content-type: ..`,
    /// `x-request-id: ..`, `-content-length` to send none), a blank line, the body.
    pub fn literal(data: &[u8]) -> Option<Self> {
        let rest = data.strip_prefix(b"#")?;
        let line_end = rest.iter().position(|&b| b == b'\n')?;
        let first = std::str::from_utf8(&rest[..line_end]).ok()?;
        let mut parts = first.splitn(3, ' ');
        let bundle = parts.next()?;
        let model = BUNDLES.iter().position(|b| *b == bundle)?;
        let method = http::Method::from_bytes(parts.next()?.as_bytes()).ok()?;
        let path = origin_form(parts.next()?);
        let mut rest = &rest[line_end + 1..];
        let mut req = Request {
            model,
            method,
            path,
            content_type: Vec::new(),
            request_id: None,
            content_length: true,
            body: Vec::new(),
        };
        loop {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or(b"");
            if line.is_empty() {
                break;
            }
            if line == b"-content-length" {
                req.content_length = false;
                continue;
            }
            let colon = line.iter().position(|&b| b == b':')?;
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            let value = http::HeaderValue::from_bytes(value).ok()?;
            match &line[..colon] {
                b"content-type" => req.content_type.push(value),
                b"x-request-id" => req.request_id = Some(value),
                _ => return None,
            }
        }
        req.body = rest.to_vec();
        Some(req)
    }

    /// The hyper request the component gets (what a server hands to wasmtime-wasi-http).
    pub fn to_http(&self) -> hyper::Request<Bytes> {
        let mut b = hyper::Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(http::header::HOST, "localhost");
        for ct in &self.content_type {
            b = b.header(http::header::CONTENT_TYPE, ct.clone());
        }
        if let Some(id) = &self.request_id {
            b = b.header("x-request-id", id.clone());
        }
        if self.content_length {
            b = b.header(http::header::CONTENT_LENGTH, self.body.len());
        }
        b.body(Bytes::from(self.body.clone()))
            .expect("parts that were valid one by one")
    }

    /// Everything the client sent, lowercased: an answer may echo what it was given.
    fn sent_lowercase(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.body).to_lowercase();
        s.push_str(&self.path.to_lowercase());
        s.push_str(&self.method.as_str().to_lowercase());
        for ct in &self.content_type {
            s.push_str(&String::from_utf8_lossy(ct.as_bytes()).to_lowercase());
        }
        s
    }
}

impl Harness {
    fn with_model<T>(&self, i: usize, f: impl FnOnce(&Model) -> T) -> T {
        f(&self.models[i % self.models.len()])
    }

    pub fn model(&self, req: &Request) -> &Model {
        &self.models[req.model % self.models.len()]
    }

    /// The component's answer: a fresh instance, through wasmtime-wasi-http.
    pub fn component(&self, req: &Request) -> DirectResponse {
        let m = self.model(req);
        match self.rt.block_on(direct::call(&m.runtime, req.to_http())) {
            Ok(r) => r,
            Err(e) => panic!(
                "the component failed (trap or error) on {}: {e:?}",
                describe(req)
            ),
        }
    }
}

/// A short description of a request for failure messages.
pub fn describe(req: &Request) -> String {
    let body = String::from_utf8_lossy(&req.body);
    let body: String = body.chars().take(600).collect();
    format!(
        "{} {} model={} content-type={:?} request-id={:?} content-length={} body({} bytes)={body:?}",
        req.method,
        req.path,
        BUNDLES[req.model % BUNDLES.len()],
        req.content_type,
        req.request_id,
        req.content_length,
        req.body.len()
    )
}

fn token(u: &mut Unstructured) -> Option<http::Method> {
    let len = u.int_in_range(1..=12).ok()?;
    let bytes = u.bytes(len).ok()?;
    http::Method::from_bytes(bytes).ok()
}

fn arbitrary_path(u: &mut Unstructured) -> String {
    let len = u.int_in_range(0..=64).unwrap_or(0);
    let bytes = u.bytes(len).unwrap_or(b"");
    let mut s = String::from("/");
    s.push_str(&String::from_utf8_lossy(bytes));
    s
}

/// `path` as a valid origin-form request target: as given when it parses, else with
/// every byte outside the URI's characters percent-encoded. What the component sees is
/// what `http::Uri` kept (a fragment is dropped, for one).
fn origin_form(path: &str) -> String {
    let parsed = |p: &str| {
        p.parse::<http::Uri>()
            .ok()
            .and_then(|u| u.path_and_query().map(|pq| pq.as_str().to_string()))
    };
    if let Some(p) = parsed(path) {
        return p;
    }
    let mut encoded = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@?".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    parsed(&encoded).unwrap_or_else(|| "/".into())
}

/// The native answer: what guest/src/http.rs `respond` computes for this request, with
/// the same pipeline calls, in the host process.
pub fn native(m: &Model, req: &Request) -> pipeline::Response {
    let content_type = req
        .content_type
        .first()
        .and_then(|v| String::from_utf8(v.as_bytes().to_vec()).ok());
    let route = match pipeline::route(req.method.as_str(), &req.path, content_type.as_deref()) {
        // Requests carry no Inference-Header-Content-Length here.
        Ok(r) => r.with_inference_header(None),
        Err(e) => return e.into(),
    };
    let instance = InstanceInfo {
        preinitialized: true,
        max_body_bytes: MAX_BODY_BYTES,
    };
    if !route.reads_body() {
        return m.service.respond_with_outcome(route, b"", instance).0;
    }
    let declared = req.content_length.then_some(req.body.len() as u64);
    // The guest stops reading once it has more than the limit.
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) || req.body.len() > MAX_BODY_BYTES {
        return route.error_response(&ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    m.service.respond_with_outcome(route, &req.body, instance).0
}

const ERROR_CODES: &[(u16, &str)] = &[
    (400, "malformed_json"),
    (404, "not_found"),
    (405, "method_not_allowed"),
    (413, "payload_too_large"),
    (415, "unsupported_media_type"),
    (422, "invalid_input"),
];

/// The contract of any answer (ARCHITECTURE.md "Invariants", README's status table):
/// a 2xx or a 4xx, JSON, the error envelope on a 4xx with the code its status implies, no
/// internals (backtrace, wasm, panic) unless the client sent those words, the request id
/// echoed when sane, and the instance's one request event on stderr.
pub fn check_contract(m: &Model, req: &Request, r: &DirectResponse) -> Value {
    let body = String::from_utf8_lossy(&r.body);
    let ctx = || format!("{}\n-> {} {body}", describe(req), r.status);
    assert!(r.status < 500, "5xx: {}", ctx());
    let content_type = req
        .content_type
        .first()
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok());
    if let Ok(Route::V2(_)) = pipeline::route(req.method.as_str(), &req.path, content_type) {
        return check_v2(req, r, &ctx);
    }
    let ct = r.headers.get(http::header::CONTENT_TYPE);
    assert_eq!(
        ct.map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "content-type: {}",
        ctx()
    );
    let v: Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", ctx()));
    let lower = body.to_lowercase();
    let sent = req.sent_lowercase();
    for word in [
        "backtrace",
        "wasm",
        "panicked",
        "stack backtrace",
        "rust_backtrace",
    ] {
        assert!(
            !lower.contains(word) || sent.contains(word),
            "the answer shows {word:?}: {}",
            ctx()
        );
    }
    if r.status == 200 {
        check_success(m, req, &v, &ctx);
    } else {
        let code = ERROR_CODES
            .iter()
            .find(|(s, _)| *s == r.status)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("unexpected status: {}", ctx()));
        check_error_envelope(&v, code, &ctx);
        if r.status == 405 {
            assert!(
                r.headers.contains_key(http::header::ALLOW),
                "405 without Allow: {}",
                ctx()
            );
        }
    }
    // The request id: the client's when sane, else 16 hex digits from wasi:random.
    let id = r
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no x-request-id: {}", ctx()));
    let sane = req
        .request_id
        .as_ref()
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic()));
    match sane {
        Some(s) => assert_eq!(id, s, "request id not echoed: {}", ctx()),
        None => assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "generated request id {id:?}: {}",
            ctx()
        ),
    }
    // One event line for the request, naming its id and status.
    let stderr = String::from_utf8_lossy(&r.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr {stderr:?}: {}", ctx());
    let event: Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("the event is not JSON ({e}): {stderr:?} {}", ctx()));
    assert_eq!(event["event"], "request", "{}", ctx());
    assert_eq!(event["status"], r.status, "event status: {}", ctx());
    assert_eq!(event["request_id"], id, "event request id: {}", ctx());
    v
}

/// The Open Inference Protocol's contract (pipeline/src/v2): never a 5xx, errors as
/// `{"error": "message"}`, no internals, one event naming the status.
fn check_v2(req: &Request, r: &DirectResponse, ctx: &dyn Fn() -> String) -> Value {
    assert!(
        [200, 400, 404, 405, 413].contains(&r.status),
        "V2 status: {}",
        ctx()
    );
    let lower = String::from_utf8_lossy(&r.body).to_lowercase();
    let sent = req.sent_lowercase();
    for word in ["backtrace", "panicked"] {
        assert!(
            !lower.contains(word) || sent.contains(word),
            "the answer shows {word:?}: {}",
            ctx()
        );
    }
    let v: Value = if r.status == 200 {
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    } else {
        let v: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("a V2 error is not JSON ({e}): {}", ctx()));
        assert!(v["error"].is_string(), "V2 error envelope: {}", ctx());
        v
    };
    let stderr = String::from_utf8_lossy(&r.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr {stderr:?}: {}", ctx());
    let event: Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("the event is not JSON ({e}): {stderr:?} {}", ctx()));
    assert_eq!(event["status"], r.status, "event status: {}", ctx());
    v
}

fn check_error_envelope(v: &Value, code: &str, ctx: &dyn Fn() -> String) {
    let top = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {}", ctx()));
    assert_eq!(top.len(), 1, "envelope keys: {}", ctx());
    let e = v["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {}", ctx()));
    let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "details", "message"],
        "error keys: {}",
        ctx()
    );
    assert_eq!(e["code"], code, "code for the status: {}", ctx());
    assert!(e["message"].is_string(), "message: {}", ctx());
    let details = e["details"]
        .as_array()
        .unwrap_or_else(|| panic!("details: {}", ctx()));
    assert!(
        details.len() <= pipeline::api::MAX_PROBLEMS,
        "details: {}",
        ctx()
    );
    if code == "invalid_input" {
        assert!(!details.is_empty(), "a 422 names its problems: {}", ctx());
    }
    for d in details {
        let d = d.as_object().unwrap_or_else(|| panic!("detail: {}", ctx()));
        assert_eq!(d.len(), 2, "detail keys: {}", ctx());
        for k in ["field", "problem"] {
            let s = d
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("detail {k}: {}", ctx()));
            // Cut at 128 (field) or 512 (problem) bytes, plus the ellipsis.
            assert!(
                s.len() <= 512 + 3,
                "detail {k} of {} bytes: {}",
                s.len(),
                ctx()
            );
        }
    }
}

fn check_success(m: &Model, req: &Request, v: &Value, ctx: &dyn Fn() -> String) {
    let manifest = m.service.manifest();
    let route = req.path.split('?').next().unwrap_or("");
    match route {
        "/predict" => {
            assert_eq!(v["model"]["name"], manifest.name.as_str(), "{}", ctx());
            let preds = v["predictions"]
                .as_array()
                .unwrap_or_else(|| panic!("predictions: {}", ctx()));
            assert!(!preds.is_empty() && preds.len() <= MAX_BATCH, "{}", ctx());
            for p in preds {
                match manifest.task {
                    pipeline::Task::Classification => {
                        let probs = p["probabilities"]
                            .as_object()
                            .unwrap_or_else(|| panic!("probabilities: {}", ctx()));
                        let labels: Vec<&str> = probs.keys().map(String::as_str).collect();
                        let mut want: Vec<&str> =
                            manifest.labels.iter().map(String::as_str).collect();
                        want.sort_unstable();
                        assert_eq!(labels, want, "labels: {}", ctx());
                        let ps: Vec<f64> = probs.values().filter_map(Value::as_f64).collect();
                        assert_eq!(ps.len(), want.len(), "{}", ctx());
                        assert!(
                            ps.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)),
                            "probabilities: {}",
                            ctx()
                        );
                        assert!(
                            (ps.iter().sum::<f64>() - 1.0).abs() < 1e-9,
                            "sum: {}",
                            ctx()
                        );
                        let label = p["label"].as_str().unwrap_or_default();
                        assert!(want.contains(&label), "label: {}", ctx());
                        let conf = p["confidence"].as_f64().unwrap_or(f64::NAN);
                        let max = ps.iter().cloned().fold(f64::MIN, f64::max);
                        assert_eq!(conf, max, "confidence: {}", ctx());
                        assert_eq!(probs[label].as_f64(), Some(max), "argmax: {}", ctx());
                    }
                    pipeline::Task::Regression => {
                        assert!(
                            p["value"].as_f64().is_some_and(f64::is_finite),
                            "value: {}",
                            ctx()
                        );
                    }
                }
            }
        }
        "/health" => {
            assert_eq!(v["status"], "ok", "{}", ctx());
            // Every instance starts from the snapshot, model already loaded.
            assert_eq!(v["model_loaded"], "snapshot", "{}", ctx());
        }
        "/metadata" => assert_eq!(v["name"], manifest.name.as_str(), "{}", ctx()),
        "/openapi.json" => assert!(v["openapi"].is_string(), "{}", ctx()),
        "/" => assert!(v["routes"].is_array(), "{}", ctx()),
        other => panic!("200 on {other:?}: {}", ctx()),
    }
}

/// The differential check: the component's answer is the native one — same status, same
/// headers but the per-instance request id, the same body byte for byte.
pub fn check_same(req: &Request, native: &pipeline::Response, component: &DirectResponse) {
    let ctx = || {
        format!(
            "{}\nnative   : {} {:?} {}\ncomponent: {} {:?} {}",
            describe(req),
            native.status,
            native.headers,
            String::from_utf8_lossy(&native.body),
            component.status,
            component.headers,
            String::from_utf8_lossy(&component.body)
        )
    };
    assert_eq!(native.status, component.status, "status differs: {}", ctx());
    let mut want: Vec<(String, String)> = native
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut got: Vec<(String, String)> = component
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() != "x-request-id")
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(want, got, "headers differ: {}", ctx());
    assert!(native.body == component.body, "body differs: {}", ctx());
}

/// Feedback for the fuzzer from the component's answer. The guest runs as JIT code that
/// libFuzzer cannot see, so the shape of the answer — route, status, and each problem's
/// kind (field and text without numbers or quoted values) — is fed back as extra coverage
/// counters: an input that makes the component say something new is kept.
pub fn feedback(req: &Request, status: u16, v: &Value) {
    let route = req.path.split('?').next().unwrap_or("");
    let base = hash(&[route.as_bytes(), &status.to_le_bytes(), &[req.model as u8]]);
    bump(base);
    if let Some(details) = v["error"]["details"].as_array() {
        bump(hash(&[
            &base.to_le_bytes(),
            &[details.len().min(101) as u8],
        ]));
        for d in details {
            let field = d["field"].as_str().unwrap_or("");
            // `instances[17].x` → `instances[].x`: the kind, not the position.
            let field: String = field.chars().filter(|c| !c.is_ascii_digit()).collect();
            let problem = shape_of(d["problem"].as_str().unwrap_or(""));
            bump(hash(&[
                &base.to_le_bytes(),
                field.as_bytes(),
                problem.as_bytes(),
            ]));
        }
    }
    if status == 200
        && let Some(preds) = v["predictions"].as_array()
    {
        for p in preds {
            let label = p["label"].as_str().unwrap_or("");
            // Coarse confidence: borderline predictions are kept apart from sure ones.
            let c = (p["confidence"].as_f64().unwrap_or(0.0) * 8.0) as u8;
            bump(hash(&[&base.to_le_bytes(), label.as_bytes(), &[c]]));
        }
        bump(hash(&[&base.to_le_bytes(), &[preds.len().min(257) as u8]]));
    }
}

/// A problem text without its numbers and its quoted parts.
fn shape_of(problem: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    for c in problem.chars() {
        match quoted {
            Some(q) if c == q => quoted = None,
            Some(_) => {}
            None if c == '`' || c == '"' => quoted = Some(c),
            None if c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' => {}
            None => out.push(c),
        }
    }
    out
}

fn hash(parts: &[&[u8]]) -> u64 {
    // FNV-1a: stable across runs (the counters' positions must not move).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const COUNTERS: usize = 1 << 14;

/// libFuzzer's extra counters: a section it reads as coverage (and clears per run).
#[used]
#[unsafe(link_section = "__libfuzzer_extra_counters")]
static mut EXTRA_COUNTERS: [u8; COUNTERS] = [0; COUNTERS];

fn bump(h: u64) {
    let i = (h % COUNTERS as u64) as usize;
    // SAFETY: libFuzzer runs one input at a time on this thread; nothing else writes.
    unsafe {
        let counters = &raw mut EXTRA_COUNTERS;
        (*counters)[i] = (*counters)[i].wrapping_add(1);
    }
}
