//! Parity: every holdout row of both bundles through the component — the typed export
//! and HTTP on our host — against sklearn's `predict_proba` (≤ 1e-5, labels equal).

mod common;

use common::{post_json, reference, runtime, runtime_with, server};
use host::Prepare;
use host::typed;
use serde_json::json;

const TOLERANCE: f64 = 1e-5;
const BUNDLES: [&str; 2] = ["breast-cancer", "penguins"];

/// Every reference row as a typed instance.
fn typed_rows(reference: &pipeline::reference::Reference) -> Vec<Vec<typed::Feature>> {
    reference
        .rows
        .iter()
        .map(|r| typed::instance(&r.features).unwrap())
        .collect()
}

fn assert_close(what: &str, got: &[f64], sklearn: &[f64]) {
    assert_eq!(got.len(), sklearn.len(), "{what}");
    for (g, s) in got.iter().zip(sklearn) {
        assert!(
            (g - s).abs() <= TOLERANCE,
            "{what}: {got:?} vs sklearn {sklearn:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_export_matches_sklearn_on_every_holdout_row() {
    for bundle in BUNDLES {
        let rt = runtime(bundle).await;
        let reference = reference(bundle);
        let instances = typed_rows(&reference);
        let mut checked = 0;
        for (chunk, rows) in instances
            .chunks(pipeline::MAX_BATCH)
            .zip(reference.rows.chunks(pipeline::MAX_BATCH))
        {
            let predictions = rt.predict(chunk).await.unwrap().unwrap();
            assert_eq!(predictions.len(), rows.len());
            for (i, (p, r)) in predictions.iter().zip(rows).enumerate() {
                assert_eq!(p.label, r.sklearn_label, "{bundle} row {i}");
                let probs: Vec<f64> = p.probabilities.iter().map(|x| *x as f64).collect();
                assert_close(&format!("{bundle} row {i}"), &probs, &r.sklearn_proba);
                checked += 1;
            }
        }
        assert_eq!(checked, reference.rows.len());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_predict_matches_sklearn_on_every_holdout_row() {
    for bundle in BUNDLES {
        let srv = server(bundle).await;
        let reference = reference(bundle);
        // One request per row: the single-instance form.
        for (i, r) in reference.rows.iter().enumerate() {
            let reply = post_json(srv.addr, "/predict", &json!({"features": r.features})).await;
            assert_eq!(
                reply.status,
                200,
                "{bundle} row {i}: {:?}",
                String::from_utf8_lossy(&reply.body)
            );
            let body = reply.json();
            assert_eq!(body["model"]["name"], bundle);
            let p = &body["predictions"][0];
            assert_eq!(p["label"], r.sklearn_label.as_str(), "{bundle} row {i}");
            let probs: Vec<f64> = reference
                .labels
                .iter()
                .map(|l| p["probabilities"][l].as_f64().unwrap())
                .collect();
            assert_close(&format!("{bundle} row {i}"), &probs, &r.sklearn_proba);
            assert_eq!(
                p["confidence"].as_f64(),
                probs.iter().copied().reduce(f64::max)
            );
        }
        // And the batch form, in order.
        let batch: Vec<&serde_json::Map<String, serde_json::Value>> = reference
            .rows
            .iter()
            .take(pipeline::MAX_BATCH)
            .map(|r| &r.features)
            .collect();
        let reply = post_json(srv.addr, "/predict", &json!({"instances": batch})).await;
        assert_eq!(reply.status, 200);
        let predictions = reply.json()["predictions"].as_array().unwrap().clone();
        assert_eq!(predictions.len(), batch.len());
        for (p, r) in predictions.iter().zip(&reference.rows) {
            assert_eq!(p["label"], r.sklearn_label.as_str());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_errors_name_the_field() {
    let rt = runtime("penguins").await;
    let bad = vec![vec![
        typed::Feature {
            name: "island".into(),
            value: typed::FeatureValue::Category("Atlantis".into()),
        },
        typed::Feature {
            name: "bill_depth_mm".into(),
            value: typed::FeatureValue::Number(f64::NAN),
        },
    ]];
    let Err(typed::PredictError::InvalidInput(problems)) = rt.predict(&bad).await.unwrap() else {
        panic!("expected invalid-input");
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["instances[0].island", "instances[0].bill_depth_mm"]
    );
    assert_eq!(problems[1].problem, "not a finite number");
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_export_describes_the_bundle() {
    let meta = runtime("breast-cancer").await.metadata().await.unwrap();
    assert_eq!(meta.name, "breast-cancer");
    assert_eq!(meta.labels, ["malignant", "benign"]);
    assert_eq!(meta.features.len(), 30);
    assert_eq!(meta.features[0].name, "mean_radius");
    assert_eq!(meta.max_batch as usize, pipeline::MAX_BATCH);
    let json: serde_json::Value = serde_json::from_str(&meta.metadata_json).unwrap();
    assert!(json["metrics"]["accuracy"].as_f64().unwrap() > 0.9);
}

/// The pre-initialised snapshot answers exactly as the plain component: same bits.
#[tokio::test(flavor = "multi_thread")]
async fn snapshot_predictions_are_bit_identical_to_the_plain_component() {
    for bundle in BUNDLES {
        let snapshot = runtime_with(bundle, Prepare::Snapshot).await;
        let plain = runtime_with(bundle, Prepare::AsIs).await;
        let reference = reference(bundle);
        let instances = typed_rows(&reference);
        for chunk in instances.chunks(pipeline::MAX_BATCH) {
            let a = snapshot.predict(chunk).await.unwrap().unwrap();
            let b = plain.predict(chunk).await.unwrap().unwrap();
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.label, y.label);
                let bits = |p: &typed::Prediction| {
                    p.probabilities
                        .iter()
                        .map(|f| f.to_bits())
                        .collect::<Vec<_>>()
                };
                assert_eq!(bits(x), bits(y), "{bundle}");
            }
        }
    }
}

/// With a snapshot the model is loaded before any request; without, by the instance.
#[tokio::test(flavor = "multi_thread")]
async fn health_reports_where_the_model_was_loaded() {
    for (prepare, expected) in [
        (Prepare::Snapshot, "snapshot"),
        (Prepare::AsIs, "instance start"),
    ] {
        let rt = runtime_with("breast-cancer", prepare).await;
        let srv = host::server::spawn(rt, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let reply = common::request(srv.addr, "GET", "/health", &[], "").await;
        assert_eq!(reply.json()["model_loaded"], expected);
    }
}
