//! The packaged component runs unchanged under other hosts: `spin up` (Spin 4.1) and
//! `wasmtime serve` (wasmtime-cli 48.0.8), from `../shared/tools` beside the repository.
//! Every bundle under `models/`, every reference row over HTTP against the user's
//! pipeline, plus the error contract. Without the tools (a machine that lacks
//! `../shared/tools`) the test says so and passes; under CI (`CI` set) they must be there.

use crate::common;

use std::net::SocketAddr;

use common::served::{OTHER_RUNTIMES, serve_component};
use common::{bundles, post_json, reference, request};
use serde_json::json;

async fn check_every_row(addr: SocketAddr, bundle: &str, what: &str) {
    common::check_rows_over_http(addr, &reference(bundle), &format!("{what} {bundle}")).await;
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
    assert_eq!(r.status, 415, "{what}");
    let r = post_json(
        addr,
        "/predict",
        &json!({"features": {"no_such_feature": 1}}),
    )
    .await;
    assert_eq!(r.status, 422, "{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn packaged_components_answer_alike_under_spin_and_wasmtime_serve() {
    for bundle in bundles() {
        let wasm = common::packaged_wasm(&bundle).await;
        for runtime in OTHER_RUNTIMES {
            let Some((_served, addr)) = serve_component(runtime, &wasm).await else {
                return;
            };
            check_every_row(addr, &bundle, runtime).await;
        }
        let _ = std::fs::remove_file(wasm);
        eprintln!("{bundle}: every reference row alike under wasmtime serve and spin up");
    }
}
