//! Property tests over request bodies, for every discovered bundle: whatever arrives —
//! random bytes, random JSON, feature maps with real names and hostile values, batches —
//! `/predict` answers 200 with a valid prediction per instance (finite probabilities that
//! sum to 1 and a label among the labels, or a finite value), or a 4xx with the JSON error
//! envelope. Never a panic, never a 5xx. `PROPTEST_CASES` scales the run.

mod common;

use pipeline::{Service, Task};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

/// Cases per bundle: `PROPTEST_CASES`, else 500 (every bundle, a few seconds in all).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// Any JSON value, with numbers from the edges (huge, tiny, negative zero, integers
/// beyond f64's exact range) and strings that look like categories.
fn any_json(strings: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1e-300),
            Just(1e-36),
            Just(1e300),
            Just(-1e300),
            Just(1.0),
            Just(50.0),
            Just(4000.0)
        ]
        .prop_map(|f: f64| json!(f)),
        prop_oneof![
            3 => prop::sample::select(strings),
            1 => Just(String::new()),
            1 => "[a-zA-Z ]{0,12}",
            1 => ".{0,8}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A feature map: mostly real feature names (so validation goes deep), some strangers.
fn feature_map(names: Vec<String>, strings: Vec<String>) -> impl Strategy<Value = Value> {
    let name = prop_oneof![4 => prop::sample::select(names), 1 => "[a-z_]{1,12}"];
    prop::collection::btree_map(name, any_json(strings), 0..40)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

fn body(names: Vec<String>, strings: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let one = feature_map(names.clone(), strings.clone()).prop_map(|f| json!({ "features": f }));
    let batch = prop::collection::vec(feature_map(names, strings.clone()), 0..8)
        .prop_map(|i| json!({ "instances": i }));
    prop_oneof![
        3 => one.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => batch.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => any_json(strings).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn check(service: &Service, body: &[u8]) -> Result<(), TestCaseError> {
    let r = service.handle("POST", "/predict", Some("application/json"), body);
    prop_assert!(
        matches!(r.status, 200 | 400 | 413 | 422),
        "status {}: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let v: Value =
        serde_json::from_slice(&r.body).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if r.status != 200 {
        prop_assert!(v["error"]["code"].is_string());
        if r.status == 422 {
            prop_assert!(!v["error"]["details"].as_array().unwrap().is_empty());
        }
        return Ok(());
    }
    let m = service.manifest();
    for p in v["predictions"].as_array().unwrap() {
        match m.task {
            Task::Classification => {
                let probs: Vec<f64> = p["probabilities"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                prop_assert_eq!(probs.len(), m.labels.len());
                prop_assert!(probs.iter().all(|x| (0.0..=1.0).contains(x)), "{p}");
                prop_assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{p}");
                prop_assert!(m.labels.iter().any(|l| p["label"] == *l), "{p}");
            }
            Task::Regression => {
                prop_assert!(p["value"].as_f64().is_some_and(f64::is_finite), "{p}");
            }
        }
    }
    Ok(())
}

#[test]
fn every_bundle_answers_any_body_with_2xx_or_4xx() {
    for dir in common::bundle_dirs() {
        let case = common::load(&dir);
        let m = case.service.manifest();
        let names: Vec<String> = m.features.iter().map(|f| f.name.clone()).collect();
        let mut strings: Vec<String> = m
            .features
            .iter()
            .flat_map(|f| f.categories.clone().unwrap_or_default())
            .collect();
        strings.push("Dream".into());
        let mut runner = TestRunner::new(ProptestConfig {
            cases: cases(),
            ..ProptestConfig::default()
        });
        runner
            .run(&body(names, strings), |b| check(&case.service, &b))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
}

/// A valid row with every subset of its optional features dropped or nulled still
/// predicts (a reference row's features are a valid row).
#[test]
fn every_subset_of_optional_features_predicts() {
    for dir in common::bundle_dirs() {
        let case = common::load(&dir);
        let reference = common::reference(&dir);
        let full = &reference.rows[0].features;
        let optional: Vec<&str> = case
            .service
            .manifest()
            .features
            .iter()
            .filter(|f| !f.required)
            .map(|f| f.name.as_str())
            .take(8)
            .collect();
        for mask in 0..(1u32 << optional.len()) {
            let mut f = full.clone();
            for (i, name) in optional.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    if i % 2 == 0 {
                        f.remove(*name);
                    } else {
                        f.insert((*name).into(), Value::Null);
                    }
                }
            }
            let r = case.service.handle(
                "POST",
                "/predict",
                Some("application/json"),
                &serde_json::to_vec(&json!({ "features": f })).unwrap(),
            );
            assert_eq!(
                r.status,
                200,
                "{} mask {mask:b}: {}",
                case.name,
                String::from_utf8_lossy(&r.body)
            );
        }
    }
}
