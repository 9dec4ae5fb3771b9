//! The packaged component on the JavaScript edge (`edge/`): transpiled by jco, bundled
//! with the WASI shims, served by workerd (Cloudflare Workers' runtime) and by Node on
//! 127.0.0.1. Every reference row of the default bundle against the sklearn outputs
//! recorded in `reference.json` (the same tolerances as every runtime), the error
//! contract, and the documents (`/health`, `/metadata`, `/openapi.json`, the V2 server
//! and model metadata) byte for byte as our host serves them. Prints first-request and warm latency beside our host's.
//!
//! The npm packages (exact versions from edge/package-lock.json) are installed into
//! target/edge-node by tests/tools/edge-npm.sh on first use. Without node the test says
//! so and passes; under CI (`CI` set) node must be there.

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::served::{free_addr, spawn_listening};
use common::{post_json, reference, request};
use host::guests::DEFAULT_BUNDLE;
use serde_json::json;

/// A directory removed when dropped (the build output of one test run).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn node_installed() -> bool {
    let there = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !there {
        assert!(std::env::var_os("CI").is_none(), "CI must have node");
        eprintln!("node is not installed: the workerd and Node edge is not tested here");
    }
    there
}

/// The edge's node_modules (tests/tools/edge-npm.sh installs them once).
fn node_modules() -> PathBuf {
    let script = common::repo_root().join("tests/tools/edge-npm.sh");
    let out = Command::new("bash").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// `node edge/build.mjs COMPONENT OUT`: jco transpile + esbuild bundles + workerd.capnp.
fn build(node_modules: &Path, wasm: &Path, out: &Path) {
    let out = Command::new("node")
        .arg(common::repo_root().join("edge/build.mjs"))
        .arg(wasm)
        .arg(out)
        .env("MLFN_EDGE_NODE_MODULES", node_modules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "edge/build.mjs: {}",
        common::output_text(&out)
    );
}

/// The default bundle's first reference row as a one-instance request.
fn one_row() -> serde_json::Value {
    json!({"features": reference(DEFAULT_BUNDLE).rows[0].features})
}

/// Latency of a `/predict` of one row: the first request, then the median and worst of
/// `n` more (each on a new connection, as `common::request` does).
async fn latency(addr: SocketAddr, n: usize) -> (Duration, Duration, Duration) {
    let body = one_row();
    let mut times = Vec::with_capacity(n + 1);
    for _ in 0..=n {
        let t = Instant::now();
        let r = post_json(addr, "/predict", &body).await;
        times.push(t.elapsed());
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let first = times.remove(0);
    times.sort();
    (first, times[n / 2], times[n - 1])
}

/// What our host answers for the documents, to compare the edge's answers with.
struct Documents(Vec<(&'static str, u16, Option<http::HeaderValue>, Vec<u8>)>);

impl Documents {
    async fn of(addr: SocketAddr) -> Self {
        let mut docs = Vec::new();
        for path in [
            "/health",
            "/metadata",
            "/openapi.json",
            "/v2",
            "/v2/health/ready",
            "/v2/models/breast-cancer",
        ] {
            let r = request(addr, "GET", path, &[], "").await;
            let content_type = r.headers.get("content-type").cloned();
            docs.push((path, r.status, content_type, r.body));
        }
        Documents(docs)
    }
}

async fn check_contract(addr: SocketAddr, host_docs: &Documents, what: &str) {
    let worst = common::check_rows_over_http(addr, &reference(DEFAULT_BUNDLE), what).await;
    eprintln!("{what}: every reference row within tolerance (worst difference {worst:.1e})");

    for (path, status, content_type, body) in &host_docs.0 {
        let r = request(addr, "GET", path, &[], "").await;
        assert_eq!(r.status, *status, "{what} GET {path}");
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            String::from_utf8_lossy(body),
            "{what} GET {path}: not what our host answers"
        );
        assert_eq!(
            r.headers.get("content-type"),
            content_type.as_ref(),
            "{what} GET {path}"
        );
    }

    let json_ct = [("content-type", "application/json")];
    let r = request(addr, "POST", "/predict", &json_ct, "{\"features\": ").await;
    assert_eq!(
        (r.status, r.error_code()),
        (400, "malformed_json".into()),
        "{what}"
    );
    let r = request(
        addr,
        "POST",
        "/predict",
        &[("content-type", "text/csv")],
        "1,2",
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (415, "unsupported_media_type".into()),
        "{what}"
    );
    let r = post_json(
        addr,
        "/predict",
        &json!({"features": {"no_such_feature": 1}}),
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (422, "invalid_input".into()),
        "{what}"
    );
    assert!(
        r.error_fields()
            .iter()
            .any(|f| f == "features.no_such_feature"),
        "{what}: {:?}",
        r.error_fields()
    );
    let r = request(addr, "GET", "/no/such/path", &[], "").await;
    assert_eq!(
        (r.status, r.error_code()),
        (404, "not_found".into()),
        "{what}"
    );
    let r = request(addr, "GET", "/predict", &[], "").await;
    assert_eq!(r.status, 405, "{what}");
    assert!(
        r.headers.get("allow").is_some(),
        "{what}: 405 without Allow"
    );
    // Over the body limit by its declared length: refused before the body is read.
    let mut raw = format!(
        "POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        pipeline::MAX_BODY_BYTES + 1
    )
    .into_bytes();
    raw.extend_from_slice(b"{}");
    assert_eq!(common::raw_status(addr, &raw).await, 413, "{what}");
    // The request id travels through: echoed, as the guest does under every host.
    let r = request(
        addr,
        "GET",
        "/health",
        &[("x-request-id", "edge-test-42")],
        "",
    )
    .await;
    assert_eq!(
        r.headers.get("x-request-id").unwrap(),
        "edge-test-42",
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn packaged_component_answers_alike_on_workerd_and_node() {
    if !node_installed() {
        return;
    }
    let modules = node_modules();
    let wasm = common::packaged_wasm(DEFAULT_BUNDLE).await;
    let dist = TempDir(std::env::temp_dir().join(format!("mlfn-edge-test-{}", common::unique())));
    let t = Instant::now();
    build(&modules, &wasm, &dist.0);
    eprintln!(
        "edge/build.mjs (jco transpile + esbuild): {:?}",
        t.elapsed()
    );
    let _ = std::fs::remove_file(&wasm);

    let host = common::server(DEFAULT_BUNDLE).await;
    let host_docs = Documents::of(host.addr).await;
    let (first, p50, worst) = latency(host.addr, 50).await;
    eprintln!(
        "host serve (in process): first /predict {first:?}, then p50 {p50:?}, max {worst:?} (n=50)"
    );

    let workerd = modules.join(".bin/workerd");
    let runtimes: [(&str, Command); 2] = [
        ("workerd", {
            let mut c = Command::new(&workerd);
            c.arg("serve").arg(dist.0.join("workerd.capnp"));
            c
        }),
        ("node", {
            let mut c = Command::new("node");
            c.arg(dist.0.join("node.mjs"));
            c
        }),
    ];
    for (what, mut cmd) in runtimes {
        let addr = free_addr();
        match what {
            "workerd" => cmd.arg("--socket-addr").arg(format!("http={addr}")),
            _ => cmd.arg("--listen").arg(addr.to_string()),
        };
        let t = Instant::now();
        let served = spawn_listening(cmd, addr, what).await;
        let listening = t.elapsed();
        let (first, p50, worst) = latency(addr, 50).await;
        eprintln!(
            "{what}: listening after {listening:?}; first /predict {first:?}, then p50 {p50:?}, max {worst:?} (n=50)"
        );
        check_contract(addr, &host_docs, what).await;
        drop(served);
    }
}
