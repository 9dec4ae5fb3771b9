//! Parity: every reference row of every bundle under `models/` through the packaged
//! component — the typed export and HTTP on our host — against the user's own pipeline
//! (`reference.json`: sklearn's `predict`/`predict_proba`), within the packaging gate's
//! tolerances. Bundles are discovered, not listed.

use crate::common;

use common::{bundles, post_json, reference, runtime, server};
use host::typed;
use pipeline::Prediction;
use serde_json::json;

/// Every reference row as a typed instance.
fn typed_rows(reference: &pipeline::reference::Reference) -> Vec<Vec<typed::Feature>> {
    reference
        .rows
        .iter()
        .map(|r| typed::instance(&r.features).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_export_matches_the_pipeline_on_every_reference_row() {
    for bundle in bundles() {
        let rt = runtime(&bundle).await;
        let reference = reference(&bundle);
        let verdict = host::verify::verify(&rt, &reference).await.unwrap();
        assert!(verdict.passed(), "{bundle}: {verdict}");
        assert_eq!(verdict.rows, reference.rows.len());
        // The typed answers themselves, compared independently of `verify`.
        let instances = typed_rows(&reference);
        let first = rt.predict(&instances[..1]).await.unwrap().unwrap();
        match (&first[0], reference.task) {
            (typed::Prediction::Class(c), pipeline::manifest::Task::Classification) => {
                assert_eq!(c.probabilities.len(), reference.labels.len(), "{bundle}")
            }
            (typed::Prediction::Value(_), pipeline::manifest::Task::Regression) => {}
            (p, t) => panic!("{bundle}: a {t:?} bundle answered {p:?}"),
        }
        eprintln!("{bundle}: {verdict}");
    }
}

/// `predict-rows` (numbers in feature order, flat answers) answers exactly as `predict`
/// with names: checked against named `predict` and the reference rows, batch by batch,
/// for every bundle.
#[tokio::test(flavor = "multi_thread")]
async fn predict_rows_matches_the_pipeline_on_every_reference_row() {
    for bundle in bundles() {
        let rt = runtime(&bundle).await;
        let reference = reference(&bundle);
        let meta = rt.metadata().await.unwrap();
        // An empty batch still answers in the task's form.
        let empty = rt.predict_rows(&[]).await.unwrap().unwrap();
        match (&empty, meta.task) {
            (typed::RowPredictions::Class(c), typed::Task::Classification) => {
                assert!(c.label_indices.is_empty() && c.probabilities.is_empty())
            }
            (typed::RowPredictions::Value(v), typed::Task::Regression) => assert!(v.is_empty()),
            (answer, task) => panic!("{bundle}: a {task:?} model answered {answer:?}"),
        }
        let mut worst = 0.0f64;
        for (b, chunk) in reference.rows.chunks(pipeline::MAX_BATCH).enumerate() {
            let values: Vec<f64> = chunk
                .iter()
                .flat_map(|r| typed::dense_row(&r.features, &meta.features).unwrap())
                .collect();
            let answer = rt.predict_rows(&values).await.unwrap().unwrap();
            let preds = typed::row_pipeline_predictions(&answer, meta.labels.len())
                .unwrap_or_else(|e| panic!("{bundle}: {e}"));
            assert_eq!(preds.len(), chunk.len(), "{bundle}");
            let instances: Vec<_> = chunk
                .iter()
                .map(|r| typed::instance(&r.features).unwrap())
                .collect();
            let named = rt.predict(&instances).await.unwrap().unwrap();
            for (i, (got, r)) in preds.into_iter().zip(chunk).enumerate() {
                assert_eq!(
                    got,
                    typed::pipeline_prediction(&named[i], &reference.labels),
                    "{bundle} row {}",
                    b * pipeline::MAX_BATCH + i
                );
                let diff = r.check(&got, &reference.labels).unwrap_or_else(|m| {
                    panic!("{bundle} row {}: {m}", b * pipeline::MAX_BATCH + i)
                });
                worst = worst.max(diff);
            }
        }
        eprintln!(
            "{bundle}: {} rows through predict-rows, worst difference {worst:.3e}",
            reference.rows.len()
        );
    }
}

/// `predict-table` (the feature names once, then typed values) answers exactly as
/// `predict` with names: every reference row of every bundle, batch by batch, prediction
/// for prediction, and within the reference's tolerances.
#[tokio::test(flavor = "multi_thread")]
async fn predict_table_answers_as_named_predict_on_every_reference_row() {
    for bundle in bundles() {
        let rt = runtime(&bundle).await;
        let reference = reference(&bundle);
        let features = rt.metadata().await.unwrap().features;
        for (b, chunk) in reference.rows.chunks(pipeline::MAX_BATCH).enumerate() {
            let objs: Vec<_> = chunk.iter().map(|r| &r.features).collect();
            let (columns, values) = typed::table(&objs, &features).unwrap();
            let table = rt.predict_table(&columns, &values).await.unwrap().unwrap();
            let instances: Vec<_> = chunk
                .iter()
                .map(|r| typed::instance(&r.features).unwrap())
                .collect();
            let named = rt.predict(&instances).await.unwrap().unwrap();
            assert_eq!(table.len(), chunk.len(), "{bundle}");
            for (i, ((t, n), r)) in table.iter().zip(&named).zip(chunk).enumerate() {
                let row = b * pipeline::MAX_BATCH + i;
                let got = typed::pipeline_prediction(t, &reference.labels);
                assert_eq!(
                    got,
                    typed::pipeline_prediction(n, &reference.labels),
                    "{bundle} row {row}"
                );
                if let Err(m) = r.check(&got, &reference.labels) {
                    panic!("{bundle} row {row}: {m}");
                }
            }
        }
    }
}

/// `predict-table`'s problems: a value's name its instance and column, the shape
/// `values`.
#[tokio::test(flavor = "multi_thread")]
async fn predict_table_errors_name_the_instance_and_column() {
    let rt = runtime("penguins").await;
    let problems = async |columns: &[&str], values: Vec<typed::FeatureValue>| {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        match rt.predict_table(&columns, &values).await.unwrap() {
            Err(typed::PredictError::InvalidInput(p)) => p
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.problem))
                .collect::<Vec<_>>(),
            other => panic!("expected invalid-input, got {other:?}"),
        }
    };
    let reference = reference("penguins");
    let features = rt.metadata().await.unwrap().features;
    let objs: Vec<_> = reference.rows[..2].iter().map(|r| &r.features).collect();
    let (columns, mut values) = typed::table(&objs, &features).unwrap();
    let island = columns.iter().position(|c| c == "island").unwrap();
    values[columns.len() + island] = typed::FeatureValue::Category("Atlantis".into());
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let p = problems(&columns, values.clone()).await;
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("instances[1].island: "), "{p:?}");
    // A value short of whole rows.
    values.pop();
    let p = problems(&columns, values).await;
    assert!(
        p[0].starts_with("values: expected a whole number of rows"),
        "{p:?}"
    );
    // An unknown column is named in every instance.
    let p = problems(&["flipper"], vec![typed::FeatureValue::Number(1.0); 2]).await;
    assert!(
        p[0].starts_with("instances[0].flipper: unknown feature"),
        "{p:?}"
    );
    assert!(
        p.iter().any(|p| p.starts_with("instances[1].flipper: ")),
        "{p:?}"
    );
}

async fn rows_problems(rt: &host::Runtime, values: Vec<f64>) -> Vec<typed::FieldProblem> {
    match rt.predict_rows(&values).await.unwrap() {
        Err(typed::PredictError::InvalidInput(p)) => p,
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn predict_rows_errors_name_the_row_and_feature() {
    let rt = runtime("penguins").await;
    let features = rt.metadata().await.unwrap().features;
    let width = features.len();
    // Not a whole number of rows.
    let p = rows_problems(&rt, vec![1.0; width + 1]).await;
    assert_eq!(p[0].field, "values");
    // More rows than a batch holds.
    let p = rows_problems(&rt, vec![f64::NAN; width * (pipeline::MAX_BATCH + 1)]).await;
    assert!(p[0].problem.contains("maximum batch"), "{}", p[0].problem);
    // Row 1: a category index out of range and infinity for a number.
    let reference = reference("penguins");
    let mut values: Vec<f64> = reference.rows[..2]
        .iter()
        .flat_map(|r| typed::dense_row(&r.features, &features).unwrap())
        .collect();
    let island = features.iter().position(|f| f.name == "island").unwrap();
    let number = features
        .iter()
        .position(|f| f.kind == typed::FeatureType::Number)
        .unwrap();
    values[width + island] = 7.0;
    values[width + number] = f64::INFINITY;
    let p = rows_problems(&rt, values).await;
    let mut fields: Vec<String> = p.iter().map(|p| p.field.clone()).collect();
    fields.sort();
    let mut expected = vec![
        "rows[1].island".to_string(),
        format!("rows[1].{}", features[number].name),
    ];
    expected.sort();
    assert_eq!(fields, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_predict_matches_the_pipeline_on_every_reference_row() {
    for bundle in bundles() {
        let srv = server(&bundle).await;
        let reference = reference(&bundle);
        let mut worst = 0.0f64;
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
            assert_eq!(body["model"]["name"], reference.model.as_str());
            let got = common::prediction(&body["predictions"][0], &reference.labels);
            if let Prediction::Class {
                probabilities,
                confidence,
                ..
            } = &got
            {
                assert_eq!(
                    Some(*confidence),
                    probabilities.iter().copied().reduce(f64::max)
                );
            }
            let diff = r
                .check(&got, &reference.labels)
                .unwrap_or_else(|m| panic!("{bundle} row {i}: {m}"));
            worst = worst.max(diff);
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
        for (i, (p, r)) in predictions.iter().zip(&reference.rows).enumerate() {
            if let Err(m) = r.check(&common::prediction(p, &reference.labels), &reference.labels) {
                panic!("{bundle} batch row {i}: {m}");
            }
        }
        eprintln!(
            "{bundle}: {} rows over HTTP, worst difference {worst:.3e}",
            reference.rows.len()
        );
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
    for bundle in bundles() {
        let meta = runtime(&bundle).await.metadata().await.unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(common::bundle_dir(&bundle).join("manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta.name, manifest["name"]);
        assert_eq!(meta.version, manifest["version"]);
        assert_eq!(
            meta.labels,
            manifest["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            meta.features.len(),
            manifest["features"].as_array().unwrap().len()
        );
        assert_eq!(meta.max_batch as usize, pipeline::MAX_BATCH);
        let json: serde_json::Value = serde_json::from_str(&meta.metadata_json).unwrap();
        assert_eq!(json["metrics"], manifest["metrics"]);
        let task = match meta.task {
            typed::Task::Classification => "classification",
            typed::Task::Regression => "regression",
        };
        assert_eq!(task, manifest["task"], "{bundle}");
    }
}

/// Every deployable component is a packaged snapshot: the model was loaded before any
/// request.
#[tokio::test(flavor = "multi_thread")]
async fn health_reports_the_model_was_loaded_at_packaging() {
    let srv = server("breast-cancer").await;
    let reply = common::request(srv.addr, "GET", "/health", &[], "").await;
    assert_eq!(reply.json()["model_loaded"], "snapshot");
}

/// The component and the same pipeline compiled natively give the same bytes, on every
/// reference row and on thousands of points between them. The platform's `exp` and
/// wasi-libc's once differed in the last digit (fuzz/ `differential` found it); both
/// builds use the libm crate now.
#[tokio::test(flavor = "multi_thread")]
async fn the_component_answers_byte_for_byte_like_the_native_pipeline() {
    for bundle in bundles() {
        let srv = server(&bundle).await;
        let dir = common::bundle_dir(&bundle);
        let service = pipeline::Service::load(&pipeline::Bundle::read_dir(&dir).unwrap()).unwrap();
        let reference = reference(&bundle);
        let mut bodies: Vec<serde_json::Value> = reference
            .rows
            .chunks(pipeline::MAX_BATCH)
            .map(|chunk| {
                let rows: Vec<_> = chunk.iter().map(|r| &r.features).collect();
                json!({ "instances": rows })
            })
            .collect();
        // Points between neighbouring reference rows (each number feature interpolated,
        // the rest kept): thousands of logits, so the last digits of exp/tanh are probed.
        let numbers: Vec<&str> = service
            .manifest()
            .features
            .iter()
            .filter(|f| f.kind == pipeline::manifest::FeatureType::Number)
            .map(|f| f.name.as_str())
            .collect();
        let between: Vec<serde_json::Value> = reference
            .rows
            .windows(2)
            .flat_map(|pair| {
                let numbers = &numbers;
                (1..20).map(move |k| {
                    let t = k as f64 / 20.0;
                    let mut row = pair[0].features.clone();
                    for name in numbers {
                        if let (Some(a), Some(b)) = (
                            pair[0].features.get(*name).and_then(|v| v.as_f64()),
                            pair[1].features.get(*name).and_then(|v| v.as_f64()),
                        ) {
                            row.insert(name.to_string(), json!(a + (b - a) * t));
                        }
                    }
                    serde_json::Value::Object(row)
                })
            })
            .collect();
        bodies.extend(
            between
                .chunks(pipeline::MAX_BATCH)
                .map(|chunk| json!({ "instances": chunk })),
        );
        for body in bodies {
            let bytes = serde_json::to_vec(&body).unwrap();
            let native = service.respond(
                pipeline::Route::Predict,
                &bytes,
                pipeline::InstanceInfo::default(),
            );
            let component = post_json(srv.addr, "/predict", &body).await;
            assert_eq!(component.status, native.status, "{bundle}");
            if component.body != native.body {
                // Where they part, with a little context either side.
                let at = component
                    .body
                    .iter()
                    .zip(&native.body)
                    .position(|(a, b)| a != b)
                    .unwrap_or(component.body.len().min(native.body.len()));
                let window = |b: &[u8]| {
                    String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 40).min(b.len())])
                        .into_owned()
                };
                panic!(
                    "{bundle}: the component's answer differs from the native pipeline's at byte {at}:\n  component …{}\n  native    …{}",
                    window(&component.body),
                    window(&native.body)
                );
            }
        }
    }
}
