//! The text pipeline natively (ONNX read directly: feature `onnx`, which the workspace's
//! `cargo test` enables through the host) against every sample of the text bundles'
//! `reference.json`: the ids the Python `tokenizers` package gives each text, and
//! onnxruntime's pooled, normalised embedding for those ids (models/minilm-l6/make.py).
//! The packaged component is checked on the same samples by the packaging gate
//! (tests/text.rs).
#![cfg(feature = "onnx")]

use std::path::PathBuf;

use pipeline::text::TextService;
use pipeline::{Bundle, Function};

mod common;

fn text_bundles() -> Vec<PathBuf> {
    common::bundles_of_kind(pipeline::text::manifest::KIND)
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * y).sum();
    let na = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn text_reference_samples_natively_ids_equal_and_cosine_at_least_0_9999() {
    for dir in text_bundles() {
        let function = Function::load(&Bundle::read_dir(&dir).unwrap()).unwrap();
        let text: &TextService = function.text().expect("a text bundle");
        let reference: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
        let samples = reference["samples"].as_array().unwrap();
        assert!(samples.len() >= 100, "{} samples", samples.len());
        let (mut worst, mut truncated) = (1.0f64, 0);
        for s in samples {
            let origin = s["origin"].as_str().unwrap();
            let ids: Vec<i64> = serde_json::from_value(s["input_ids"].clone()).unwrap();
            let expected: Vec<f64> = serde_json::from_value(s["embedding"].clone()).unwrap();
            let e = text.embed(s["text"].as_str().unwrap()).unwrap();
            assert_eq!(e.tokens.ids, ids, "{origin}: token ids");
            truncated += usize::from(e.tokens.truncated);
            let norm = e.values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
            assert!((norm - 1.0).abs() < 1e-5, "{origin}: norm² {norm}");
            let c = cosine(&e.values, &expected);
            assert!(c >= 0.9999, "{origin}: cosine {c}");
            worst = worst.min(c);
        }
        assert!(
            truncated >= 5,
            "only {truncated} samples exercise truncation"
        );
        eprintln!(
            "{}: {} samples, {truncated} truncated, smallest cosine {worst}",
            dir.display(),
            samples.len()
        );
    }
}

#[test]
fn the_http_answer_of_a_text_function_carries_one_unit_embedding_per_text() {
    for dir in text_bundles() {
        let function = Function::load(&Bundle::read_dir(&dir).unwrap()).unwrap();
        let body = br#"{"texts": ["a cat sat on the mat", "", "\u00e9t\u00e9 \u2603"]}"#;
        let r = function.handle("POST", "/predict", Some("application/json"), body);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let p = v["predictions"].as_array().unwrap();
        assert_eq!(p.len(), 3);
        for e in p {
            assert_eq!(e["embedding"].as_array().unwrap().len(), 384);
        }
        // [CLS] [SEP] for the empty text.
        assert_eq!(p[1]["tokens"], 2);
        let refused = function.handle("POST", "/predict", Some("text/plain"), body);
        assert_eq!(refused.status, 415);
        let refused = function.handle("POST", "/predict", Some("application/json"), b"{}");
        assert_eq!(refused.status, 422);
    }
}
