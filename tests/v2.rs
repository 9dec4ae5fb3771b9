//! The Open Inference Protocol V2 through our host (the guest decides every answer, so
//! Spin and `wasmtime serve` give the same): every reference row of every bundle by
//! feature tensor and, for all-numeric bundles, as one `[N, F]` tensor, in JSON and with
//! binary tensor data both ways, against sklearn's outputs in `reference.json`; the
//! KServe docs' curl bodies; errors and hostile shapes; and the real `tritonclient.http`
//! client (tests/tools/v2_client.py).

use crate::common;

use std::net::SocketAddr;

use common::{Reply, bundle_dir, bundles, reference, request, server};
use pipeline::reference::ReferenceRow;
use pipeline::{Manifest, Prediction, manifest::FeatureType};
use serde_json::{Value, json};

/// A request body, and the JSON header's length when binary data follows it.
type Body = (Vec<u8>, Option<usize>);

fn manifest(bundle: &str) -> Manifest {
    Manifest::from_json(&std::fs::read(bundle_dir(bundle).join("manifest.json")).unwrap()).unwrap()
}

fn infer_path(m: &Manifest) -> String {
    format!("/v2/models/{}/infer", m.name)
}

/// How a request carries its tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    /// `data` in the JSON, one `[N]` tensor per feature.
    Json,
    /// `[N, 1]` tensors as binary data (NaN / "" for missing values), outputs asked as binary.
    Binary,
}

/// One tensor per feature for `rows`.
fn by_feature(m: &Manifest, rows: &[ReferenceRow], enc: Encoding) -> Body {
    let n = rows.len();
    let mut blob = Vec::new();
    let inputs: Vec<Value> = m
        .features
        .iter()
        .map(|f| {
            let category = f.kind == FeatureType::Category;
            let values: Vec<&Value> = rows
                .iter()
                .map(|r| r.features.get(&f.name).unwrap_or(&Value::Null))
                .collect();
            let datatype = if category { "BYTES" } else { "FP64" };
            match enc {
                Encoding::Json => {
                    json!({"name": f.name, "datatype": datatype, "shape": [n], "data": values})
                }
                Encoding::Binary => {
                    let start = blob.len();
                    for v in values {
                        if category {
                            let s = v.as_str().unwrap_or("");
                            blob.extend_from_slice(&(s.len() as u32).to_le_bytes());
                            blob.extend_from_slice(s.as_bytes());
                        } else {
                            let x = v.as_f64().unwrap_or(f64::NAN);
                            blob.extend_from_slice(&x.to_le_bytes());
                        }
                    }
                    json!({"name": f.name, "datatype": datatype, "shape": [n, 1],
                           "parameters": {"binary_data_size": blob.len() - start}})
                }
            }
        })
        .collect();
    finish(json!({"inputs": inputs}), blob, enc)
}

/// One `[N, F]` FP64 tensor (all-numeric bundles), named as in the KServe docs.
fn matrix(m: &Manifest, rows: &[ReferenceRow], enc: Encoding) -> Body {
    let cell = |r: &ReferenceRow, f: &str| r.features.get(f).and_then(Value::as_f64);
    let shape = json!([rows.len(), m.features.len()]);
    match enc {
        Encoding::Json => {
            let data: Vec<Vec<Value>> = rows
                .iter()
                .map(|r| m.features.iter().map(|f| json!(cell(r, &f.name))).collect())
                .collect();
            let body = json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": shape, "data": data}]});
            finish(body, Vec::new(), enc)
        }
        Encoding::Binary => {
            let mut blob = Vec::new();
            for r in rows {
                for f in &m.features {
                    blob.extend_from_slice(&cell(r, &f.name).unwrap_or(f64::NAN).to_le_bytes());
                }
            }
            let body = json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": shape,
                                          "parameters": {"binary_data_size": blob.len()}}]});
            finish(body, blob, enc)
        }
    }
}

fn finish(mut body: Value, blob: Vec<u8>, enc: Encoding) -> Body {
    if enc == Encoding::Binary {
        body["parameters"] = json!({"binary_data_output": true});
    }
    let mut bytes = serde_json::to_vec(&body).unwrap();
    let header = bytes.len();
    if enc == Encoding::Json {
        return (bytes, None);
    }
    bytes.extend_from_slice(&blob);
    (bytes, Some(header))
}

async fn post(addr: SocketAddr, path: &str, (body, header): Body) -> Reply {
    let header = header.map(|n| n.to_string());
    let mut headers = vec![("content-type", "application/octet-stream")];
    if let Some(n) = &header {
        headers.push(("inference-header-content-length", n.as_str()));
    } else {
        headers[0].1 = "application/json";
    }
    request(addr, "POST", path, &headers, body).await
}

/// The response's JSON header, and each output's data as JSON values (binary decoded).
fn outputs(reply: &Reply) -> (Value, Vec<(String, Vec<Value>)>) {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let n = reply
        .headers
        .get("inference-header-content-length")
        .map_or(reply.body.len(), |v| v.to_str().unwrap().parse().unwrap());
    let head: Value = serde_json::from_slice(&reply.body[..n]).unwrap();
    let mut blob = &reply.body[n..];
    let mut out = Vec::new();
    for o in head["outputs"].as_array().unwrap() {
        let name = o["name"].as_str().unwrap().to_string();
        let data = match o["parameters"]["binary_data_size"].as_u64() {
            None => o["data"].as_array().unwrap().clone(),
            Some(size) => {
                let (bytes, rest) = blob.split_at(size as usize);
                blob = rest;
                decode(o["datatype"].as_str().unwrap(), bytes)
            }
        };
        out.push((name, data));
    }
    assert!(blob.is_empty(), "binary data left over");
    (head, out)
}

fn decode(datatype: &str, mut bytes: &[u8]) -> Vec<Value> {
    match datatype {
        "FP32" => bytes
            .chunks_exact(4)
            .map(|c| json!(f32::from_le_bytes(c.try_into().unwrap()) as f64))
            .collect(),
        "FP64" => bytes
            .chunks_exact(8)
            .map(|c| json!(f64::from_le_bytes(c.try_into().unwrap())))
            .collect(),
        "BYTES" => {
            let mut out = Vec::new();
            while !bytes.is_empty() {
                let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
                out.push(json!(std::str::from_utf8(&bytes[4..4 + len]).unwrap()));
                bytes = &bytes[4 + len..];
            }
            out
        }
        other => panic!("unexpected output datatype {other}"),
    }
}

/// The outputs as predictions (`label` + `probabilities` [N, K], or `value` [N]).
fn predictions(reply: &Reply, labels: &[String]) -> Vec<Prediction> {
    let (head, outs) = outputs(reply);
    let get = |name: &str| {
        outs.iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no output {name}: {head}"))
    };
    if labels.is_empty() {
        return get("value")
            .iter()
            .map(|v| Prediction::Value(v.as_f64().unwrap()))
            .collect();
    }
    let k = labels.len();
    let probabilities = get("probabilities");
    get("label")
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let p: Vec<f64> = probabilities[i * k..(i + 1) * k]
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            Prediction::Class {
                label: labels
                    .iter()
                    .position(|x| x == l.as_str().unwrap())
                    .unwrap(),
                confidence: p.iter().copied().fold(f64::MIN, f64::max),
                probabilities: p,
            }
        })
        .collect()
}

/// Each answer within the reference's tolerances (probabilities within 1e-5 although
/// sent as FP32, labels equal, values within 1e-5·max(1, |y|)); the worst difference.
fn check(rows: &[ReferenceRow], got: &[Prediction], labels: &[String], what: &str) -> f64 {
    assert_eq!(got.len(), rows.len(), "{what}");
    let mut worst = 0.0f64;
    for (r, p) in rows.iter().zip(got) {
        let d = r
            .check(p, labels)
            .unwrap_or_else(|m| panic!("{what} ({}): {m}", r.origin));
        worst = worst.max(d);
    }
    worst
}

#[tokio::test(flavor = "multi_thread")]
async fn every_reference_row_through_v2() {
    for bundle in bundles() {
        let m = manifest(&bundle);
        let reference = reference(&bundle);
        let srv = server(&bundle).await;
        let all_numeric = m.features.iter().all(|f| f.kind != FeatureType::Category);
        let labels = &reference.labels;
        let mut worst = 0.0f64;
        for enc in [Encoding::Json, Encoding::Binary] {
            for rows in reference.rows.chunks(pipeline::MAX_BATCH) {
                let reply = post(srv.addr, &infer_path(&m), by_feature(&m, rows, enc)).await;
                worst = worst.max(check(
                    rows,
                    &predictions(&reply, labels),
                    labels,
                    &format!("{bundle} {enc:?}"),
                ));
                if all_numeric {
                    let reply = post(srv.addr, &infer_path(&m), matrix(&m, rows, enc)).await;
                    worst = worst.max(check(
                        rows,
                        &predictions(&reply, labels),
                        labels,
                        &format!("{bundle} [N, F] {enc:?}"),
                    ));
                }
            }
            // One row, through the versioned path.
            let rows = &reference.rows[..1];
            let path = format!("/v2/models/{}/versions/{}/infer", m.name, m.version);
            let reply = post(srv.addr, &path, by_feature(&m, rows, enc)).await;
            check(
                rows,
                &predictions(&reply, labels),
                labels,
                &format!("{bundle} single {enc:?}"),
            );
        }
        eprintln!(
            "{bundle}: {} rows by feature{}, JSON and binary; worst difference {worst:e}",
            reference.rows.len(),
            if all_numeric { " and as [N, F]" } else { "" }
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_health_and_errors() {
    let srv = server("penguins").await;
    let m = manifest("penguins");
    let addr = srv.addr;
    let get = |path: String| async move { request(addr, "GET", &path, &[], "").await };
    let server_meta = get("/v2".into()).await.json();
    assert_eq!(server_meta["extensions"], json!(["binary_tensor_data"]));
    assert_eq!(
        get("/v2/health/live".into()).await.json(),
        json!({"live": true})
    );
    assert_eq!(
        get("/v2/health/ready".into()).await.json(),
        json!({"ready": true})
    );
    let ready = get(format!("/v2/models/{}/ready", m.name)).await;
    assert_eq!(ready.json(), json!({"name": m.name, "ready": true}));
    let meta = get(format!("/v2/models/{}/versions/{}", m.name, m.version))
        .await
        .json();
    let names: Vec<&str> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let features: Vec<&str> = m.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, features);
    for (i, f) in meta["inputs"].as_array().unwrap().iter().zip(&m.features) {
        let want = if f.kind == FeatureType::Category {
            "BYTES"
        } else {
            "FP64"
        };
        assert_eq!(i["datatype"], want, "{}", f.name);
    }
    assert_eq!(
        meta["outputs"][1],
        json!({"name": "probabilities", "datatype": "FP32", "shape": [-1, m.labels.len()]})
    );
    let labels: Vec<String> =
        serde_json::from_str(meta["properties"]["labels"].as_str().unwrap()).unwrap();
    assert_eq!(labels, m.labels);

    for (path, status, text) in [
        ("/v2/models/nope".to_string(), 404, "unknown model 'nope'"),
        (
            format!("/v2/models/{}/versions/0.0.1", m.name),
            404,
            "unknown version '0.0.1'",
        ),
        (
            format!("/v2/models/{}/versions/0.0.1/ready", m.name),
            404,
            "unknown version",
        ),
        ("/v2/repository/index".into(), 404, "no V2 endpoint"),
        (format!("/v2/models/{}/infer", m.name), 405, "use POST"),
    ] {
        let r = get(path.clone()).await;
        assert_eq!(r.status, status, "{path}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(text),
            "{path}: {}",
            r.json()
        );
    }

    // A bad value names the tensor and the row, whichever encoding carried it.
    let reference = reference("penguins");
    let mut rows = reference.rows[..5].to_vec();
    rows[3].features.insert("bill_length_mm".into(), json!(1e6));
    for enc in [Encoding::Json, Encoding::Binary] {
        let r = post(srv.addr, &infer_path(&m), by_feature(&m, &rows, enc)).await;
        assert_eq!(r.status, 400, "{enc:?}");
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            e.starts_with("input 'bill_length_mm' row 3: value 1000000 is outside the valid range"),
            "{e}"
        );
    }
    rows[3].features.insert("island".into(), json!("Atlantis"));
    let r = post(
        srv.addr,
        &infer_path(&m),
        by_feature(&m, &rows, Encoding::Binary),
    )
    .await;
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        e.starts_with("2 problems with the input: input 'bill_length_mm' row 3:"),
        "{e}"
    );
    assert!(
        e.contains("input 'island' row 3: unknown category \"Atlantis\""),
        "{e}"
    );

    let one = |name: &str, datatype: &str, shape: Value, data: Value| json!({"inputs": [{"name": name, "datatype": datatype, "shape": shape, "data": data}]});
    let cases = [
        (
            one("island", "FP64", json!([1]), json!([1])),
            400,
            "input 'island': datatype FP64 does not fit a category feature",
        ),
        (
            one(
                "bill_length_mm",
                "FP64",
                json!([4294967296u64, 4294967296u64, 2]),
                json!([1]),
            ),
            400,
            "input 'bill_length_mm': shape [4294967296, 4294967296] has more elements than a 64-bit count holds",
        ),
        (
            one("bill_length_mm", "FP64", json!([3]), json!([1, 2])),
            400,
            "input 'bill_length_mm': shape [3] has 3 elements but `data` has 2",
        ),
        (
            one("bill_length_mm", "FP64", json!([257]), json!(vec![40; 257])),
            400,
            "a batch of 257 rows exceeds the maximum of 256",
        ),
        (
            one("input-0", "FP64", json!([1, 6]), json!([1, 2, 3, 4, 5, 6])),
            400,
            "this model has category features (island, sex)",
        ),
        (
            json!({"inputs": [{"name": "bill_length_mm", "datatype": "FP64", "shape": [1], "data": [40]}], "outputs": [{"name": "value"}]}),
            400,
            "unknown output 'value'; this model's outputs are label, probabilities",
        ),
    ];
    for (body, status, text) in cases {
        let r = post(
            srv.addr,
            &infer_path(&m),
            (serde_json::to_vec(&body).unwrap(), None),
        )
        .await;
        assert_eq!(r.status, status, "{body}");
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(text), "{body}: {e}");
    }
    // Binary claims beyond the body are refused from the sizes alone.
    let header = serde_json::to_vec(
        &json!({"inputs": [{"name": "bill_length_mm", "datatype": "FP64",
        "shape": [1], "parameters": {"binary_data_size": 1u64 << 62}}]}),
    )
    .unwrap();
    let n = header.len();
    let r = post(
        srv.addr,
        &infer_path(&m),
        ([header, vec![0; 8]].concat(), Some(n)),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("binary_data_size 4611686018427387904 exceeds the 8 bytes")
    );
    let r = post(srv.addr, &infer_path(&m), (b"{}".to_vec(), Some(1000))).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap()),
        (
            400,
            "Inference-Header-Content-Length 1000 exceeds the body's 2 bytes"
        )
    );
    // And /predict is untouched.
    let r = common::post_json(
        srv.addr,
        "/predict",
        &json!({"features": reference.rows[0].features}),
    )
    .await;
    assert_eq!(r.status, 200);
}

/// A body over the limit gets the V2 error envelope from the guest (`Content-Length` is
/// checked before anything is read) — the host answers first under our own server, so
/// this checks that the status is the same.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_413() {
    let srv = server("breast-cancer").await;
    let m = manifest("breast-cancer");
    let mut raw = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        infer_path(&m),
        pipeline::MAX_BODY_BYTES + 1
    )
    .into_bytes();
    raw.resize(raw.len() + pipeline::MAX_BODY_BYTES + 1, b' ');
    assert_eq!(common::raw_status(srv.addr, &raw).await, 413);
}

/// The KServe docs' curl bodies (the sklearn Open Inference Protocol example:
/// `curl -H "Content-Type: application/json" -d @./iris-input-v2.json .../v2/models/NAME/infer`
/// with one `"input-0"` FP32 tensor of nested rows; and the protocol spec's example with an
/// `id`, flat data and `outputs` by name), with this model's rows in place of iris.
#[tokio::test(flavor = "multi_thread")]
async fn kserve_docs_curl_examples() {
    for bundle in ["breast-cancer", "diabetes-hgb"] {
        let srv = server(bundle).await;
        let m = manifest(bundle);
        let reference = reference(bundle);
        let labels = &reference.labels;
        let rows = &reference.rows[..2];
        let row = |r: &ReferenceRow| -> Vec<f64> {
            m.features
                .iter()
                .map(|f| r.features[&f.name].as_f64().unwrap())
                .collect()
        };
        // iris-input-v2.json, FP32: the inputs are rounded to float32 first, as the
        // datatype says; the answer must be the pipeline's for those rounded values,
        // which /predict gives when sent them as numbers.
        let data: Vec<Vec<f64>> = rows.iter().map(row).collect();
        let body = json!({"inputs": [{"name": "input-0", "shape": [2, m.features.len()], "datatype": "FP32", "data": data}]});
        let reply = request(
            srv.addr,
            "POST",
            &infer_path(&m),
            &[("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
        let got = predictions(&reply, labels);
        let rounded: Vec<serde_json::Map<String, Value>> = data
            .iter()
            .map(|r| {
                m.features
                    .iter()
                    .zip(r)
                    .map(|(f, x)| (f.name.clone(), json!(*x as f32 as f64)))
                    .collect()
            })
            .collect();
        let want = common::post_json(srv.addr, "/predict", &json!({"instances": rounded}))
            .await
            .json();
        for (g, w) in got.iter().zip(want["predictions"].as_array().unwrap()) {
            let w = common::prediction(w, labels);
            match (g, &w) {
                (
                    Prediction::Class {
                        label: a,
                        probabilities: p,
                        ..
                    },
                    Prediction::Class {
                        label: b,
                        probabilities: q,
                        ..
                    },
                ) => {
                    assert_eq!(a, b, "{bundle}");
                    // Sent back as FP32.
                    assert!(
                        p.iter().zip(q).all(|(x, y)| *x as f32 == *y as f32),
                        "{bundle}: {p:?} {q:?}"
                    );
                }
                (Prediction::Value(a), Prediction::Value(b)) => assert_eq!(a, b, "{bundle}"),
                other => panic!("{bundle}: {other:?}"),
            }
        }
        // The spec's example form: an id, flat FP64 data, outputs by name, no Content-Type.
        let flat: Vec<f64> = rows.iter().flat_map(row).collect();
        let first_output = if labels.is_empty() { "value" } else { "label" };
        let body = json!({"id": "42", "inputs": [{"name": "input0", "shape": [2, m.features.len()], "datatype": "FP64", "data": flat}],
                          "outputs": [{"name": first_output}]});
        let reply = request(
            srv.addr,
            "POST",
            &infer_path(&m),
            &[],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
        let (head, outs) = outputs(&reply);
        assert_eq!(
            (
                head["id"].as_str(),
                head["model_name"].as_str(),
                head["model_version"].as_str()
            ),
            (Some("42"), Some(m.name.as_str()), Some(m.version.as_str()))
        );
        assert_eq!(outs.len(), 1);
        for (r, v) in rows.iter().zip(&outs[0].1) {
            match &r.expected {
                pipeline::reference::Expected::Class { label, .. } => {
                    assert_eq!(v.as_str(), Some(label.as_str()), "{bundle}")
                }
                pipeline::reference::Expected::Value(value) => {
                    assert!(
                        (v.as_f64().unwrap() - value).abs() <= 1e-5 * value.abs().max(1.0),
                        "{bundle}"
                    )
                }
            }
        }
        // `curl localhost:8080/v2/models/NAME` and `.../ready`.
        let meta = request(srv.addr, "GET", &format!("/v2/models/{}", m.name), &[], "")
            .await
            .json();
        assert_eq!(meta["inputs"].as_array().unwrap().len(), m.features.len());
        assert!(
            meta["properties"]["batched_input"]
                .as_str()
                .unwrap()
                .contains(&format!("[N, {}]", m.features.len()))
        );
    }
}

/// Runs tests/tools/v2-client.sh (tritonclient.http) against `bundle` served at `addr`
/// (`what` names the runtime); `false` when the Python tooling could not be set up here
/// (only allowed outside CI).
async fn tritonclient_passes(addr: SocketAddr, bundle: &str, what: &str) -> bool {
    let script = common::repo_root().join("tests/tools/v2-client.sh");
    let mut command = std::process::Command::new("bash");
    command
        .arg(&script)
        .arg("--url")
        .arg(addr.to_string())
        .arg("--bundle")
        .arg(bundle_dir(bundle));
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to run {}: {stderr}",
            script.display()
        );
        eprintln!("tritonclient could not be set up here: skipped ({stderr})");
        return false;
    }
    assert!(
        out.status.success() && stdout.contains("v2 client: passed"),
        "{what} {bundle}: {}\n{stdout}\n{stderr}",
        out.status
    );
    eprint!("{stdout}");
    true
}

/// The real client: tests/tools/v2-client.sh installs tritonclient[http] (pinned) into a
/// venv under target/ and runs tests/tools/v2_client.py against the served component for
/// a classification bundle, one with category features and missing values, and a
/// regression bundle. Skipped only outside CI when Python tooling cannot be set up.
#[tokio::test(flavor = "multi_thread")]
async fn tritonclient_http_against_the_component() {
    for bundle in ["breast-cancer", "penguins", "diabetes-hgb"] {
        let srv = server(bundle).await;
        if !tritonclient_passes(srv.addr, bundle, "host").await {
            return;
        }
    }
}

/// The network kinds through the same real client: one BYTES input (images, texts,
/// files; raw in binary data and as JSON strings), every reference sample against its
/// package's answer (tests/tools/v2_client.py `network_kind`).
#[tokio::test(flavor = "multi_thread")]
async fn tritonclient_http_against_the_network_kinds() {
    let _serial = common::NETWORKS_ONE_AT_A_TIME.lock().await;
    let mut bundles = common::file_type_bundles();
    bundles.extend(common::text_bundles());
    bundles.extend(common::image_bundles());
    for bundle in bundles {
        let srv = server(&bundle).await;
        if !tritonclient_passes(srv.addr, &bundle, "host").await {
            return;
        }
    }
}

/// Hostile bodies just under the 1 MiB limit get their 4xx (never a 5xx or the 504 of the
/// host's deadline) at once, and the largest legitimate request its 200.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_up_to_the_limit_are_answered_fast() {
    let srv = server("breast-cancer").await;
    let m = manifest("breast-cancer");
    let f0 = m.features[0].name.as_str();
    let limit = pipeline::MAX_BODY_BYTES - 200;
    let repeat = |item: &str, sep: &str| {
        let n = limit / (item.len() + sep.len());
        (vec![item; n].join(sep), n)
    };
    let mut cases: Vec<(&str, Body, u16)> = Vec::new();
    let (ones, n) = repeat("1", ",");
    let tensor = format!(
        r#"{{"inputs": [{{"name": "{f0}", "datatype": "FP64", "shape": [{n}], "data": [{ones}]}}]}}"#
    );
    cases.push(("half a million elements", (tensor.into_bytes(), None), 400));
    let (nans, n) = repeat("NaN", ",");
    let tensor = format!(
        r#"{{"inputs": [{{"name": "{f0}", "datatype": "FP64", "shape": [{n}], "data": [{nans}]}}]}}"#
    );
    cases.push(("NaN tokens", (tensor.into_bytes(), None), 400));
    let (inputs, _) = repeat(
        &format!(r#"{{"name": "{f0}", "datatype": "FP64", "shape": [1], "data": [1]}}"#),
        ",",
    );
    cases.push((
        "the same input 15,000 times",
        (format!(r#"{{"inputs": [{inputs}]}}"#).into_bytes(), None),
        400,
    ));
    let (nested, _) = repeat("[", "");
    cases.push((
        "nested arrays",
        (
            format!(r#"{{"inputs": [{{"data": {nested}"#).into_bytes(),
            None,
        ),
        400,
    ));
    let header = format!(
        r#"{{"inputs": [{{"name": "{f0}", "datatype": "BYTES", "shape": [256], "parameters": {{"binary_data_size": {limit}}}}}]}}"#
    );
    let n = header.len();
    let mut body = header.into_bytes();
    body.extend(std::iter::repeat_n(0xffu8, limit));
    cases.push(("1 MB of BYTES lengths", (body, Some(n)), 400));
    let full: Vec<ReferenceRow> = reference("breast-cancer")
        .rows
        .iter()
        .cycle()
        .take(pipeline::MAX_BATCH)
        .cloned()
        .collect();
    cases.push(("a full batch", by_feature(&m, &full, Encoding::Json), 200));
    cases.push((
        "a full batch as [N, F]",
        matrix(&m, &full, Encoding::Binary),
        200,
    ));
    for (what, body, status) in cases {
        let start = std::time::Instant::now();
        let r = post(srv.addr, &infer_path(&m), body).await;
        let took = start.elapsed();
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
        );
        assert!(
            took < std::time::Duration::from_millis(1500),
            "{what}: {took:?}"
        );
        eprintln!("{what}: {} in {took:?}", r.status);
    }
}

/// The guest speaks V2 under Spin and `wasmtime serve` as under our host (tools from
/// `../shared/tools`, as tests/runtimes.rs; there under CI): the penguins component
/// (categories, missing values) through tritonclient, every reference row with binary
/// data both ways, and the guest's own 413 in the V2 envelope (no host limit in front).
#[tokio::test(flavor = "multi_thread")]
async fn spin_and_wasmtime_serve_speak_v2() {
    use common::served::{OTHER_RUNTIMES, serve_component};
    let bundle = "penguins";
    let m = manifest(bundle);
    let reference = reference(bundle);
    let wasm = common::packaged_wasm(bundle).await;
    for what in OTHER_RUNTIMES {
        let Some((_served, addr)) = serve_component(what, &wasm).await else {
            return;
        };
        assert_eq!(
            request(addr, "GET", "/v2/health/ready", &[], "")
                .await
                .status,
            200,
            "{what}"
        );
        for rows in reference.rows.chunks(pipeline::MAX_BATCH) {
            let reply = post(
                addr,
                &infer_path(&m),
                by_feature(&m, rows, Encoding::Binary),
            )
            .await;
            check(
                rows,
                &predictions(&reply, &reference.labels),
                &reference.labels,
                what,
            );
        }
        let mut raw = format!(
            "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
            infer_path(&m),
            pipeline::MAX_BODY_BYTES + 1
        )
        .into_bytes();
        raw.extend_from_slice(b"{}");
        assert_eq!(common::raw_status(addr, &raw).await, 413, "{what}");
        let passed = tritonclient_passes(addr, bundle, what).await;
        eprintln!(
            "{what}: V2 answers every reference row; tritonclient: {}",
            if passed { "passed" } else { "skipped" }
        );
    }
    let _ = std::fs::remove_file(wasm);
}
