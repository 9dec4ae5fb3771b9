//! Times `/predict` (and V2 `infer`) body parsing on the worst bodies we know how to build within the
//! body limit (the ones tests/hostile.rs sends through the server), split into what the
//! a `serde_json::Value` tree of it would cost and what the whole parse-and-validate costs. Built natively and for
//! wasm32-wasip2 it gives the guest CPU each body costs:
//!
//!   cargo run --release -p pipeline --example worst_bodies -- models/breast-cancer
//!   cargo build --release -p pipeline --example worst_bodies --target wasm32-wasip2
//!   wasmtime run --dir models target/wasm32-wasip2/release/examples/worst_bodies.wasm models/breast-cancer

use std::time::Instant;

use pipeline::{Bundle, MAX_BODY_BYTES, Service};
use serde_json::{Map, Value, json};

/// Best of `n` runs, in milliseconds (the machine is shared; the best is the cost).
fn best_ms(n: usize, mut f: impl FnMut()) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn bodies(first_feature: &str) -> Vec<(&'static str, Vec<u8>)> {
    let keys =
        |n: usize| -> Map<String, Value> { (0..n).map(|i| (format!("k{i}"), json!(1))).collect() };
    // Names one to three letters off the first feature's: each could earn a hint.
    let stem = &first_feature[..first_feature.len() - 1];
    let letters =
        |i: usize| [i % 26, i / 26 % 26, i / 676 % 26].map(|c| char::from(b'a' + c as u8));
    let near_misses: Map<String, Value> = (0..17_576)
        .map(|i| {
            let [a, b, c] = letters(i);
            (format!("{stem}{a}{b}{c}"), json!(1))
        })
        .collect();
    let to_vec = |v: Value| serde_json::to_vec(&v).unwrap();
    vec![
        (
            "70,000 unknown keys",
            to_vec(json!({ "features": keys(70_000) })),
        ),
        (
            "256 instances of 300 unknown keys",
            to_vec(json!({ "instances": vec![keys(300); 256] })),
        ),
        (
            "17,576 near-miss keys",
            to_vec(json!({ "features": near_misses })),
        ),
        (
            "one 1 MB key",
            to_vec(json!({"features": {"x".repeat(1_000_000): 1}})),
        ),
        (
            "500,000 numbers as instances",
            format!(r#"{{"instances": [{}1]}}"#, "1,".repeat(500_000)).into_bytes(),
        ),
        (
            "500,000 nested arrays",
            format!("{}{}", "[".repeat(500_000), "]".repeat(500_000)).into_bytes(),
        ),
        (
            "a 1 MB string of \\u escapes",
            format!(
                r#"{{"features": {{"x": "{}"}}}}"#,
                "\\u00e9".repeat(170_000)
            )
            .into_bytes(),
        ),
    ]
}

/// Open Inference Protocol bodies: one tensor far past the batch limit, a header of
/// many keys.
fn v2_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let tensor = |n: usize| {
        format!(
            r#"{{"inputs": [{{"name": "x", "datatype": "FP64", "shape": [{n}], "data": [{}1]}}]}}"#,
            "1,".repeat(n - 1)
        )
        .into_bytes()
    };
    let keys: Map<String, Value> = (0..70_000).map(|i| (format!("k{i}"), json!(1))).collect();
    vec![
        ("V2: a tensor of 500,000 numbers", tensor(500_000)),
        (
            "V2: 70,000 parameters",
            serde_json::to_vec(&json!({"parameters": keys, "inputs": []})).unwrap(),
        ),
    ]
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: worst_bodies BUNDLE_DIR");
    let dir = std::path::Path::new(&dir);
    let mut bundle = Bundle::new();
    for file in ["manifest.json", "model.json"] {
        bundle.insert(file, std::fs::read(dir.join(file)).unwrap());
    }
    let service = Service::load(&bundle).unwrap();
    let first = service.schema().name(0).to_string();
    println!(
        "{:<36} {:>9} {:>12} {:>12} {:>7}",
        "body", "bytes", "Value ms", "predict ms", "status"
    );
    let v2 = format!("/v2/models/{}/infer", service.manifest().name);
    let cases = bodies(&first)
        .into_iter()
        .map(|(what, body)| (what, "/predict", body))
        .chain(
            v2_bodies()
                .into_iter()
                .map(|(what, body)| (what, v2.as_str(), body)),
        );
    for (what, path, body) in cases {
        assert!(body.len() <= MAX_BODY_BYTES, "{what}: {}", body.len());
        let json = best_ms(5, || {
            let _ = std::hint::black_box(serde_json::from_slice::<Value>(&body));
        });
        let mut status = 0;
        let all = best_ms(5, || {
            status = service
                .handle("POST", path, Some("application/json"), &body)
                .status;
        });
        println!(
            "{what:<36} {:>9} {json:>12.2} {all:>12.2} {status:>7}",
            body.len()
        );
    }
}
