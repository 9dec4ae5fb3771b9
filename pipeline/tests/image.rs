//! The image pipeline natively (ONNX read directly: feature `onnx`, which the workspace's
//! `cargo test` enables through the host) against every sample of the image bundles'
//! `reference.json` (models/efficientnet-lite0/make.py: Pillow's preprocessing and
//! onnxruntime, 1 thread):
//! - tract's logits on the reference's own tensors (the committed ones, and every sample
//!   whose tensor we reproduce bit for bit) are within 1e-4 of onnxruntime's;
//! - the whole pipeline's top-1 class equals the reference pipeline's on every image.
//!
//! The packaged component is checked on the same samples by the packaging gate and
//! tests/image.rs.
#![cfg(feature = "onnx")]

use std::path::Path;

use pipeline::image::ImageService;
use pipeline::{Bundle, Function};
use sha2::{Digest, Sha256};

mod common;

/// tract vs onnxruntime on the same tensor (the bound).
const MAX_LOGIT_DIFF: f64 = 1e-4;

fn json(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_diff(ours: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max)
}

fn sha256_of(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn tract_logits_are_within_1e_4_of_onnxruntime_on_the_same_tensors() {
    for dir in common::bundles_of_kind(pipeline::image::manifest::KIND) {
        let function = Function::load(&Bundle::read_dir(&dir).unwrap()).unwrap();
        let image: &ImageService = function.image().expect("an image bundle");
        let reference = json(&dir, "reference.json");
        let mut checked = Vec::new();
        let mut worst = 0f64;
        for s in reference["samples"].as_array().unwrap() {
            let file = s["file"].as_str().unwrap();
            let logits = floats(&s["logits"]);
            let want_sha = s["tensor_sha256"].as_str().unwrap();
            // The committed tensor, read back.
            if let Some(tensor_file) = s["tensor"].as_str() {
                let bytes = std::fs::read(dir.join(tensor_file)).unwrap();
                let tensor: Vec<f32> = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                assert_eq!(sha256_of(&tensor), want_sha, "{tensor_file}");
                let d = max_diff(&image.scores(&tensor).unwrap(), &logits);
                assert!(d <= MAX_LOGIT_DIFF, "{tensor_file}: max |Δ logit| {d:e}");
                worst = worst.max(d);
                checked.push(tensor_file.to_string());
            }
            // Our own tensor, where it is the reference's bit for bit.
            let (tensor, _) = image
                .tensor(&std::fs::read(dir.join(file)).unwrap())
                .unwrap();
            if sha256_of(&tensor) == want_sha {
                let d = max_diff(&image.scores(&tensor).unwrap(), &logits);
                assert!(d <= MAX_LOGIT_DIFF, "{file}: max |Δ logit| {d:e}");
                worst = worst.max(d);
                checked.push(file.to_string());
            }
        }
        eprintln!(
            "{}: {} tensors, worst |Δ logit| {worst:e}: {checked:?}",
            dir.display(),
            checked.len()
        );
        assert!(
            checked.iter().filter(|f| f.ends_with(".png")).count() >= 10
                && checked.iter().any(|f| f.ends_with(".f32")),
            "too few tensors checked: {checked:?}"
        );
    }
}

#[test]
fn the_whole_pipeline_gives_the_reference_top_1_on_every_image() {
    for dir in common::bundles_of_kind(pipeline::image::manifest::KIND) {
        let function = Function::load(&Bundle::read_dir(&dir).unwrap()).unwrap();
        let image = function.image().expect("an image bundle");
        let reference = json(&dir, "reference.json");
        let samples = reference["samples"].as_array().unwrap();
        assert!(samples.len() >= 20, "{} samples", samples.len());
        let mut worst_p = 0f64;
        for s in samples {
            let file = s["file"].as_str().unwrap();
            let c = image
                .classify(&std::fs::read(dir.join(file)).unwrap())
                .unwrap_or_else(|e| panic!("{file}: {e:?}"));
            let want = &s["top_k"][0];
            let best = c.ranking[0];
            assert_eq!(
                (image.labels()[best].as_str(), best as u64),
                (
                    want["label"].as_str().unwrap(),
                    want["index"].as_u64().unwrap()
                ),
                "{file}: top-1"
            );
            let dp = (c.probabilities[best] - want["probability"].as_f64().unwrap()).abs();
            worst_p = worst_p.max(dp);
        }
        eprintln!(
            "{}: top-1 equal on {} images; worst |Δ top-1 probability| {worst_p:e}",
            dir.display(),
            samples.len()
        );
    }
}
