//! The packaged component runs unchanged under other hosts: `spin up` (Spin 4.1) and
//! `wasmtime serve` (wasmtime-cli 48.0.8), from `../shared/tools` beside the repository.
//! Every bundle under `models/`, every reference row over HTTP against the user's
//! pipeline, plus the error contract. Without the tools (a machine that lacks
//! `../shared/tools`) the test says so and passes; under CI (`CI` set) they must be there.

mod common;

use std::net::SocketAddr;
use std::process::Command;

use common::served::{free_addr, serve, shared_tool as tool};
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
    let (Some(spin), Some(wasmtime)) = (tool("spin"), tool("wasmtime")) else {
        return;
    };
    for bundle in bundles() {
        let wasm = common::packaged_wasm(&bundle).await;

        let addr = free_addr();
        let mut cmd = Command::new(&wasmtime);
        cmd.args(["serve", "-Scli", "--addr", &addr.to_string()])
            .arg(&wasm);
        let served = serve(cmd, addr, "wasmtime serve").await;
        check_every_row(addr, &bundle, "wasmtime serve").await;
        drop(served);

        let addr = free_addr();
        let mut cmd = Command::new(&spin);
        cmd.args(["up", "--listen", &addr.to_string(), "-f"])
            .arg(&wasm)
            // Spin keeps its state (logs, key-value files) beside the app; not in the repo.
            .current_dir(std::env::temp_dir());
        let served = serve(cmd, addr, "spin up").await;
        check_every_row(addr, &bundle, "spin up").await;
        drop(served);

        let _ = std::fs::remove_file(wasm);
        eprintln!("{bundle}: every reference row alike under wasmtime serve and spin up");
    }
}
