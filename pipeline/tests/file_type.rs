//! The file-type pipeline natively (ONNX read directly: feature `onnx`, which the
//! workspace's `cargo test` enables through the host) against every sample of the magika
//! bundle's `reference.json`: what the `magika` package answered for those bytes
//! (models/magika/make.py). The component is checked on the same samples by the
//! packaging gate, and on the corpus by tests/file_type.rs.
#![cfg(feature = "onnx")]

use std::path::Path;

use pipeline::{Bundle, Function};

fn base64(s: &str) -> Vec<u8> {
    // The standard alphabet with padding, as Python's base64.b64encode writes it.
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let data: Vec<u8> = chunk
            .iter()
            .copied()
            .filter(|&c| c != b'=')
            .map(value)
            .collect();
        let n =
            data.iter().fold(0u32, |acc, &v| (acc << 6) | u32::from(v)) << (6 * (4 - data.len()));
        out.extend_from_slice(&n.to_be_bytes()[1..data.len()]);
    }
    out
}

#[test]
fn magika_reference_samples_natively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/magika");
    let function = Function::load(&Bundle::read_dir(&dir).unwrap()).unwrap();
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    let samples = reference["samples"].as_array().unwrap();
    let mut worst = 0.0f64;
    for s in samples {
        let bytes = base64(s["bytes_base64"].as_str().unwrap());
        let origin = s["origin"].as_str().unwrap();
        let r = function.handle("POST", "/predict", Some("application/octet-stream"), &bytes);
        if bytes.is_empty() {
            assert_eq!(r.status, 400, "{origin}");
            continue;
        }
        assert_eq!(r.status, 200, "{origin}");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let p = &v["predictions"][0];
        for key in ["label", "group", "mime_type"] {
            assert_eq!(p[key], s[key], "{origin}: {key}");
        }
        let diff = (p["confidence"].as_f64().unwrap() - s["score"].as_f64().unwrap()).abs();
        assert!(diff <= 1e-4, "{origin}: confidence off by {diff}");
        worst = worst.max(diff);
    }
    eprintln!(
        "{} samples, largest score difference {worst:.2e}",
        samples.len()
    );
}

/// The form the guest gets (the NNEF the host writes at packaging) answers exactly as the
/// ONNX it was converted from, and the conversion is deterministic (packages are cached
/// by content).
#[test]
fn the_nnef_form_answers_as_the_onnx() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/magika");
    let bundle = Bundle::read_dir(&dir).unwrap();
    let onnx = Function::load(&bundle).unwrap();
    let for_guest = Function::guest_files(&bundle).unwrap();
    assert!(for_guest.get("model.onnx").is_none());
    assert_eq!(for_guest, Function::guest_files(&bundle).unwrap());
    let nnef = Function::load(&for_guest).unwrap();
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    for s in reference["samples"].as_array().unwrap() {
        let bytes = base64(s["bytes_base64"].as_str().unwrap());
        let ask = |f: &Function| f.handle("POST", "/predict", None, &bytes).body;
        assert_eq!(ask(&onnx), ask(&nnef), "{}", s["origin"]);
    }
}
