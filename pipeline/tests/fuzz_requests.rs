//! Property tests over request bodies: whatever arrives — random bytes, random JSON,
//! feature maps with real names and hostile values, batches — `/predict` answers 200
//! with finite probabilities that sum to 1, or a 4xx with the JSON error envelope.
//! Never a panic, never a 5xx. `PROPTEST_CASES` scales the run (default below).

use pipeline::Service;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const BUNDLES: [(&str, &[u8], &[u8]); 2] = [
    (
        "breast-cancer",
        include_bytes!("../../models/breast-cancer/manifest.json"),
        include_bytes!("../../models/breast-cancer/model.onnx"),
    ),
    (
        "penguins",
        include_bytes!("../../models/penguins/manifest.json"),
        include_bytes!("../../models/penguins/model.onnx"),
    ),
];

/// Cases per property: `PROPTEST_CASES`, else 3000 (a few seconds in `cargo test`).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn services() -> &'static [(Service, Vec<String>)] {
    static S: std::sync::OnceLock<Vec<(Service, Vec<String>)>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        BUNDLES
            .iter()
            .map(|(_, m, o)| {
                let s = Service::load(m, o).unwrap();
                let names = s
                    .manifest()
                    .features
                    .iter()
                    .map(|f| f.name.clone())
                    .collect();
                (s, names)
            })
            .collect()
    })
}

/// Any JSON value, with numbers from the edges (huge, tiny, negative zero, integers
/// beyond f64's exact range) and strings that look like categories.
fn any_json() -> impl Strategy<Value = Value> {
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
            Just(1e300),
            Just(-1e300),
            Just(50.0),
            Just(4000.0)
        ]
        .prop_map(|f: f64| json!(f)),
        prop_oneof![
            Just("Dream".to_string()),
            Just("male".to_string()),
            Just("".to_string()),
            "[a-zA-Z ]{0,12}",
            ".{0,8}"
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
fn feature_map(names: Vec<String>) -> impl Strategy<Value = Value> {
    let name = prop_oneof![4 => prop::sample::select(names), 1 => "[a-z_]{1,12}"];
    prop::collection::btree_map(name, any_json(), 0..40)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

fn body(names: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let one = feature_map(names.clone()).prop_map(|f| json!({ "features": f }));
    let batch =
        prop::collection::vec(feature_map(names), 0..8).prop_map(|i| json!({ "instances": i }));
    prop_oneof![
        3 => one.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => batch.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn check(service: &Service, body: &[u8]) -> Result<(), TestCaseError> {
    let r = service.handle("POST", "/predict", Some("application/json"), body);
    prop_assert!(
        matches!(r.status, 200 | 400 | 413 | 422),
        "status {}",
        r.status
    );
    let v: Value =
        serde_json::from_slice(&r.body).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if r.status == 200 {
        for p in v["predictions"].as_array().unwrap() {
            let probs: Vec<f64> = p["probabilities"]
                .as_object()
                .unwrap()
                .values()
                .map(|x| x.as_f64().unwrap())
                .collect();
            prop_assert!(
                probs
                    .iter()
                    .all(|x| x.is_finite() && (0.0..=1.0).contains(x))
            );
            prop_assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        }
    } else {
        prop_assert!(v["error"]["code"].is_string());
        if r.status == 422 {
            prop_assert!(!v["error"]["details"].as_array().unwrap().is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn breast_cancer_never_fails_on_any_body(b in body(services()[0].1.clone())) {
        check(&services()[0].0, &b)?;
    }

    #[test]
    fn penguins_never_fails_on_any_body(b in body(services()[1].1.clone())) {
        check(&services()[1].0, &b)?;
    }
}

/// Valid rows with every optional feature independently dropped or nulled still predict.
#[test]
fn every_subset_of_optional_penguin_features_predicts() {
    let (service, _) = &services()[1];
    let full = json!({"island": "Dream", "sex": "female", "bill_length_mm": 46.5, "bill_depth_mm": 17.9,
                      "flipper_length_mm": 192, "body_mass_g": 3500});
    let optional = [
        "sex",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ];
    for mask in 0..(1u32 << optional.len()) {
        let mut f = full.clone();
        for (i, name) in optional.iter().enumerate() {
            if mask & (1 << i) != 0 {
                if i % 2 == 0 {
                    f.as_object_mut().unwrap().remove(*name);
                } else {
                    f[*name] = Value::Null;
                }
            }
        }
        let r = service.handle(
            "POST",
            "/predict",
            Some("application/json"),
            &serde_json::to_vec(&json!({"features": f})).unwrap(),
        );
        assert_eq!(
            r.status,
            200,
            "mask {mask:b}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
}
