//! Text bundles (kind `text`, discovered under `models/`): the packaged component over
//! HTTP — on our host, under `wasmtime serve` and under `spin up` — against the bundle's
//! reference (the Python `tokenizers` package's ids and onnxruntime's pooled embedding,
//! models/<name>/make.py), every sample: token counts equal, cosine ≥ `MIN_COSINE`. Plus
//! the API's refusals. The native pipeline is checked on the same samples in
//! pipeline/tests/text.rs.

use crate::common;

use std::net::SocketAddr;

use common::served::{OTHER_RUNTIMES, serve_component};
use common::{post_json, request, server, text_bundles};
use host::verify_text::{Answer, MIN_COSINE, Sample, TextReference};
use pipeline::text::request::MAX_REQUEST_TOKENS;
use serde_json::json;

fn reference(bundle: &str) -> TextReference {
    let path = common::bundle_dir(bundle).join("reference.json");
    TextReference::from_json(&std::fs::read(&path).unwrap()).unwrap()
}

/// One at a time with the other network tests (common::NETWORKS_ONE_AT_A_TIME).
use common::NETWORKS_ONE_AT_A_TIME as ONE_AT_A_TIME;

/// The samples in requests of at most 16 texts and `MAX_REQUEST_TOKENS` tokens.
fn requests(samples: &[Sample]) -> Vec<&[Sample]> {
    let (mut out, mut start, mut tokens) = (Vec::new(), 0, 0);
    for (i, s) in samples.iter().enumerate() {
        if i - start == 16 || tokens + s.input_ids.len() > MAX_REQUEST_TOKENS {
            out.push(&samples[start..i]);
            (start, tokens) = (i, 0);
        }
        tokens += s.input_ids.len();
    }
    out.push(&samples[start..]);
    out
}

/// Every reference sample, posted in as few requests as the limits allow; returns the
/// smallest cosine and the response bodies.
async fn check_every_sample(addr: SocketAddr, bundle: &str, what: &str) -> (f64, Vec<Vec<u8>>) {
    let reference = reference(bundle);
    assert!(reference.samples.len() >= 100, "{bundle}: too few samples");
    let (mut smallest, mut bodies) = (1.0f64, Vec::new());
    for chunk in requests(&reference.samples) {
        let texts: Vec<&str> = chunk.iter().map(|s| s.text.as_str()).collect();
        let reply = post_json(addr, "/predict", &json!({ "texts": texts })).await;
        assert_eq!(
            reply.status,
            200,
            "{what} {bundle}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let answers = Answer::all_from_body(&reply.body).unwrap();
        assert_eq!(answers.len(), chunk.len(), "{what} {bundle}");
        for (sample, answer) in chunk.iter().zip(&answers) {
            let d = sample
                .check(answer)
                .unwrap_or_else(|e| panic!("{what} {bundle}: {}: {e}", sample.origin));
            smallest = smallest.min(1.0 - d);
        }
        bodies.push(reply.body);
    }
    assert!(smallest >= MIN_COSINE);
    (smallest, bodies)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_packaged_component_embeds_every_reference_text_like_onnxruntime() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in text_bundles() {
        let n = reference(&bundle).samples.len();
        let srv = common::drift::server_with_window(&bundle, n).await;
        let (c, _) = check_every_sample(srv.addr, &bundle, "host").await;
        eprintln!("{bundle}: every sample within tolerance on our host; smallest cosine {c}");
        // The host watches the texts' lengths and unknown tokens.
        let one = reference(&bundle).samples[0].text.clone();
        common::drift::check_summaries(srv.addr, &bundle, n, "chars", async || {
            let r = post_json(srv.addr, "/predict", &json!({ "texts": [one] })).await;
            assert_eq!(r.status, 200);
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_packaged_component_answers_alike_under_spin_and_wasmtime_serve() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in text_bundles() {
        let ours = {
            let srv = server(&bundle).await;
            check_every_sample(srv.addr, &bundle, "host").await.1
        };
        let wasm = common::packaged_wasm(&bundle).await;
        for runtime in OTHER_RUNTIMES {
            let Some((_served, addr)) = serve_component(runtime, &wasm).await else {
                return;
            };
            let (_, theirs) = check_every_sample(addr, &bundle, runtime).await;
            common::assert_same_bodies(&bundle, runtime, &theirs, &ours);
        }
        let _ = std::fs::remove_file(wasm);
    }
}

/// The request's event carries each text's length, tokens, unknown tokens and whether it
/// was truncated; never the text.
#[tokio::test(flavor = "multi_thread")]
async fn events_summarise_each_text_without_its_content() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in text_bundles() {
        let rt = common::runtime(&bundle).await;
        let reference = reference(&bundle);
        let long = reference
            .samples
            .iter()
            .find(|s| s.input_ids.len() == 256)
            .expect("a truncated sample");
        let short = &reference.samples[0];
        let texts = [short.text.as_str(), long.text.as_str()];
        let reply = host::verify_text::post_texts(&rt, &texts).await.unwrap();
        assert_eq!(reply.status, 200);
        let line = reply.stderr.split(|b| *b == b'\n').next().unwrap();
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert_eq!(event["batch_size"], 2);
        for (input, s) in event["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .zip([short, long])
        {
            assert_eq!(input["chars"], s.text.chars().count() as f64);
            assert_eq!(input["tokens"], s.input_ids.len() as f64);
            let unk = s.input_ids.iter().filter(|&&id| id == 100).count();
            assert_eq!(input["unknown_tokens"], unk as f64, "{}", s.origin);
        }
        assert_eq!(event["inputs"][1]["truncated"], 1.0);
        let text = String::from_utf8_lossy(line);
        assert!(!text.contains(&long.text[..40]), "the event holds the text");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_fast_4xx_that_name_the_problem() {
    let _serial = ONE_AT_A_TIME.lock().await;
    use pipeline::text::request::{MAX_TEXT_BYTES, MAX_TEXTS};
    let json_ct = [("content-type", "application/json")];
    for bundle in text_bundles() {
        let srv = server(&bundle).await;
        let a = srv.addr;
        let r = request(a, "POST", "/predict", &json_ct, "{\"texts\": [").await;
        assert_eq!((r.status, r.error_code()), (400, "malformed_json".into()));
        let r = request(
            a,
            "POST",
            "/predict",
            &[("content-type", "text/plain")],
            "hi",
        )
        .await;
        assert_eq!(r.status, 415);
        let too_many = vec!["a"; MAX_TEXTS + 1];
        let r = post_json(a, "/predict", &json!({ "texts": too_many })).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["error"]["details"][0]["field"], "texts");
        let long = "word ".repeat(MAX_TEXT_BYTES / 5 + 1);
        let r = post_json(a, "/predict", &json!({ "texts": ["ok", long] })).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["error"]["details"][0]["field"], "texts[1]");
        let r = post_json(a, "/predict", &json!({ "texts": [1, null] })).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["error"]["details"].as_array().unwrap().len(), 2);
        // The costliest accepted request: texts at the byte limit, truncated, as many as
        // the token budget takes; one more is refused after tokenising, before the network.
        let long = "x ".repeat(MAX_TEXT_BYTES / 2);
        let fit = MAX_REQUEST_TOKENS / 256;
        let start = std::time::Instant::now();
        let r = post_json(a, "/predict", &json!({ "texts": vec![&long; fit] })).await;
        let took = start.elapsed();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let p = r.json()["predictions"].as_array().unwrap().clone();
        assert!(
            p.iter()
                .all(|p| p["truncated"] == true && p["tokens"] == 256)
        );
        eprintln!("{bundle}: {fit} texts of 256 tokens answered in {took:?}");
        let r = post_json(a, "/predict", &json!({ "texts": vec![&long; fit + 1] })).await;
        assert_eq!(r.status, 422);
        let problem = r.json()["error"]["details"][0]["problem"].clone();
        assert!(
            problem.as_str().unwrap().contains("tokens in all"),
            "{problem}"
        );
        let big = vec![b' '; pipeline::MAX_BODY_BYTES + 1];
        let r = request(a, "POST", "/predict", &json_ct, big).await;
        assert_eq!(r.status, 413);
        assert_eq!(request(a, "GET", "/predict", &[], "").await.status, 405);
        let meta = request(a, "GET", "/metadata", &[], "").await.json();
        assert_eq!(meta["kind"], "text");
        assert_eq!(meta["limits"]["max_texts"], MAX_TEXTS);
        let health = request(a, "GET", "/health", &[], "").await.json();
        assert_eq!(health["model_loaded"], "snapshot");
    }
}
