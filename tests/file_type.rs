//! File-type bundles (kind `file-type`, discovered under `models/`): the packaged
//! component over HTTP on our host and the native pipeline, against the detector's own
//! Python package on a corpus of real files (`<bundle>/corpus.sh`: ≥ 200 files of ≥ 20
//! types found on this machine, with `magika`'s `identify_bytes` answer for each). Labels
//! must all be equal; groups and MIME types too; scores within the packaging gate's
//! tolerance. The same under `wasmtime serve` and `spin up`. Plus the API's refusals.

use crate::common;

use common::served::{OTHER_RUNTIMES, serve_component, serve_component_with_env};
use common::{corpus, file_type_bundles, request, runtime, server};
use host::verify_file_type::{Answer, FileTypeReference, SCORE_TOLERANCE};
use sha2::{Digest, Sha256};

const OCTETS: (&str, &str) = ("content-type", "application/octet-stream");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One corpus file: its bytes (checked against the list's digest) and magika's answer.
struct CorpusFile {
    path: String,
    bytes: Vec<u8>,
    label: String,
    group: String,
    mime_type: String,
    score: f64,
}

/// The bundle's corpus (≥ 200 files of ≥ 20 types), read and checked.
fn corpus_files(bundle: &str) -> Vec<CorpusFile> {
    let corpus = corpus(bundle);
    let files = corpus["files"].as_array().unwrap();
    let labels = corpus["labels"].as_array().unwrap();
    assert!(files.len() >= 200, "{bundle}: {} corpus files", files.len());
    assert!(labels.len() >= 20, "{bundle}: {} labels", labels.len());
    files
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap().to_string();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                hex(&Sha256::digest(&bytes)),
                f["sha256"].as_str().unwrap(),
                "{path} changed since the corpus list was made: rerun models/{bundle}/corpus.sh"
            );
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            CorpusFile {
                label: text("label"),
                group: text("group"),
                mime_type: text("mime_type"),
                score: f["score"].as_f64().unwrap(),
                path,
                bytes,
            }
        })
        .collect()
}

/// Where `answer` differs from magika's on `file` (label, group or MIME type), and how far
/// its score is from magika's.
fn compare(
    who: &str,
    file: &CorpusFile,
    answer: &Answer,
    differ: &mut Vec<String>,
    worst: &mut f64,
) {
    if (&answer.label, &answer.group, &answer.mime_type)
        != (&file.label, &file.group, &file.mime_type)
    {
        differ.push(format!(
            "{who} {}: {} where magika says {}",
            file.path, answer.label, file.label
        ));
    }
    *worst = worst.max((answer.confidence - file.score).abs());
}

/// Every corpus file posted to `addr`: the answers' differences from magika's, the
/// largest score difference, and the response bodies.
async fn served_answers(
    addr: std::net::SocketAddr,
    who: &str,
    files: &[CorpusFile],
) -> (Vec<String>, f64, Vec<Vec<u8>>) {
    let (mut differ, mut worst, mut bodies) = (Vec::new(), 0.0f64, Vec::new());
    for file in files {
        let reply = request(addr, "POST", "/predict", &[OCTETS], file.bytes.clone()).await;
        assert_eq!(
            reply.status,
            200,
            "{who} {}: {}",
            file.path,
            String::from_utf8_lossy(&reply.body)
        );
        compare(
            who,
            file,
            &Answer::from_body(&reply.body).unwrap(),
            &mut differ,
            &mut worst,
        );
        bodies.push(reply.body);
    }
    (differ, worst, bodies)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_and_the_pipeline_answer_like_the_package_on_the_corpus() {
    let _serial = common::NETWORKS_ONE_AT_A_TIME.lock().await;
    let bundles = file_type_bundles();
    assert!(!bundles.is_empty(), "no file-type bundle under models/");
    for bundle in bundles {
        let files = corpus_files(&bundle);
        let srv = server(&bundle).await;
        let (mut differ, worst_component, _) = served_answers(srv.addr, "component", &files).await;
        let dir = common::bundle_dir(&bundle);
        let native = pipeline::Function::load(&pipeline::Bundle::read_dir(&dir).unwrap()).unwrap();
        let mut worst_native = 0.0f64;
        for file in &files {
            let local = native.handle("POST", "/predict", Some(OCTETS.1), &file.bytes);
            assert_eq!(local.status, 200, "{}", file.path);
            let local = Answer::from_body(&local.body).unwrap();
            compare("native", file, &local, &mut differ, &mut worst_native);
        }
        assert!(
            differ.is_empty(),
            "{bundle}: {} differences:\n{}",
            differ.len(),
            differ.join("\n")
        );
        assert!(
            worst_component <= SCORE_TOLERANCE,
            "{bundle}: component score off by {worst_component}"
        );
        assert!(
            worst_native <= SCORE_TOLERANCE,
            "{bundle}: native score off by {worst_native}"
        );
        eprintln!(
            "{bundle}: {} files, all equal; largest score difference: component {worst_component:.2e}, native {worst_native:.2e}",
            files.len(),
        );
    }
}

/// The same packaged component under `wasmtime serve` and `spin up` (tools from
/// `../shared/tools`, as tests/runtimes.rs) answers every corpus file as magika does, and
/// byte for byte as under our host, where the guest runs its register-fitted GEMM kernel
/// (`MLFN_WASM_GEMM`, wasm-kernel/) instead of tract's: the two kernels give the same bits.
#[tokio::test(flavor = "multi_thread")]
async fn the_packaged_component_answers_alike_under_spin_and_wasmtime_serve() {
    let _serial = common::NETWORKS_ONE_AT_A_TIME.lock().await;
    for bundle in file_type_bundles() {
        let files = corpus_files(&bundle);
        let ours = {
            let srv = server(&bundle).await;
            served_answers(srv.addr, "our host", &files).await.2
        };
        let wasm = common::packaged_wasm(&bundle).await;
        for what in OTHER_RUNTIMES {
            let Some((_served, addr)) = serve_component(what, &wasm).await else {
                return;
            };
            let (differ, worst, bodies) = served_answers(addr, what, &files).await;
            assert!(
                differ.is_empty(),
                "{bundle} under {what}: {} differences:\n{}",
                differ.len(),
                differ.join("\n")
            );
            assert!(
                worst <= SCORE_TOLERANCE,
                "{bundle} under {what}: score off by {worst}"
            );
            common::assert_same_bodies(&bundle, what, &bodies, &ours);
            eprintln!(
                "{bundle} under {what}: {} files, all equal, the same bytes as under our host",
                files.len()
            );
        }
        let _ = std::fs::remove_file(wasm);
    }
}

/// The component reads its settings from the environment of every request, though a
/// network bundle's load read the environment (empty) while the snapshot was taken: under
/// `wasmtime serve` and `spin up`, which put no limit of their own in front of it, a body
/// over `MLFN_MAX_BODY_BYTES` is its 413.
#[tokio::test(flavor = "multi_thread")]
async fn the_component_takes_its_body_limit_from_the_runtime_environment() {
    let _serial = common::NETWORKS_ONE_AT_A_TIME.lock().await;
    for bundle in file_type_bundles() {
        let wasm = common::packaged_wasm(&bundle).await;
        for what in OTHER_RUNTIMES {
            let env = [("MLFN_MAX_BODY_BYTES", "1000")];
            let Some((_served, addr)) = serve_component_with_env(what, &wasm, &env).await else {
                return;
            };
            let post = async |len: usize| {
                request(addr, "POST", "/predict", &[OCTETS], vec![b'a'; len]).await
            };
            assert_eq!(post(1000).await.status, 200, "{bundle} under {what}");
            let r = post(1001).await;
            let body = String::from_utf8_lossy(&r.body);
            assert_eq!(r.status, 413, "{bundle} under {what}: {body}");
            assert!(body.contains("1000 bytes"), "{bundle} under {what}: {body}");
        }
        let _ = std::fs::remove_file(wasm);
    }
}

/// The host watches the files' sizes, the mix of detected types and the confidence
/// against the bundle's reference samples (models/drift_baseline.py).
#[tokio::test(flavor = "multi_thread")]
async fn drift_watches_file_sizes_and_the_type_mix() {
    let _serial = common::NETWORKS_ONE_AT_A_TIME.lock().await;
    for bundle in file_type_bundles() {
        let path = common::bundle_dir(&bundle).join("reference.json");
        let reference = FileTypeReference::from_json(&std::fs::read(path).unwrap()).unwrap();
        // An empty body is refused (400): the baseline leaves the empty sample out too.
        let samples: Vec<&[u8]> = reference
            .samples
            .iter()
            .map(|s| s.bytes.as_slice())
            .filter(|b| !b.is_empty())
            .collect();
        let n = samples.len();
        let srv = common::drift::server_with_window(&bundle, n).await;
        let post = async |bytes: &[u8]| {
            let r = request(srv.addr, "POST", "/predict", &[OCTETS], bytes.to_vec()).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        };
        for s in &samples {
            post(s).await;
        }
        let one = samples[0];
        common::drift::check_summaries(srv.addr, &bundle, n, "prediction.label", async || {
            post(one).await
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_fast_4xx_in_the_error_envelope() {
    for bundle in file_type_bundles() {
        let srv = server(&bundle).await;
        let empty = request(srv.addr, "POST", "/predict", &[OCTETS], Vec::new()).await;
        assert_eq!(
            (empty.status, empty.error_code()),
            (400, "empty_body".into())
        );
        let limit = pipeline::MAX_BODY_BYTES;
        let big = request(
            srv.addr,
            "POST",
            "/predict",
            &[OCTETS],
            vec![b'a'; limit + 1],
        )
        .await;
        assert_eq!(big.status, 413, "{bundle}");
        // At the limit it is answered.
        let at = request(srv.addr, "POST", "/predict", &[OCTETS], vec![b'a'; limit]).await;
        assert_eq!(at.status, 200, "{bundle}");
        let get = request(srv.addr, "GET", "/predict", &[], "").await;
        assert_eq!(get.status, 405);
        assert_eq!(request(srv.addr, "GET", "/v2", &[], "").await.status, 200);
        assert_eq!(
            request(srv.addr, "GET", "/openapi.json", &[], "")
                .await
                .status,
            404
        );
        let meta = request(srv.addr, "GET", "/metadata", &[], "").await.json();
        assert_eq!(meta["kind"], "file-type");
        let health = request(srv.addr, "GET", "/health", &[], "").await.json();
        assert_eq!(health["model_loaded"], "snapshot");
        // The typed interface describes the classifier and refuses feature rows.
        let rt = runtime(&bundle).await;
        let info = rt.metadata().await.unwrap();
        assert!(info.features.is_empty() && info.labels.iter().any(|l| l == "pdf"));
        let refused = rt.predict(&[vec![]]).await.unwrap();
        assert!(matches!(
            refused,
            Err(host::typed::PredictError::InvalidInput(_))
        ));
        let refused = rt.predict_table(&[], &[]).await.unwrap();
        assert!(matches!(
            refused,
            Err(host::typed::PredictError::InvalidInput(_))
        ));
    }
}
