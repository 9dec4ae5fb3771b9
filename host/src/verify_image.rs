//! The packaging gate of an `image` bundle: every sample image of its `reference.json`
//! (Pillow's preprocessing and onnxruntime's top 5, models/<name>/make.py) posted raw to
//! the packaged component's `/predict`, in process, each in a fresh instance. The top-1
//! class must be the reference's, and its probability within `MAX_TOP1_DIFF` of it.
//!
//! Why a tolerance as wide as 0.05: PNG samples reach the network bit-identical to
//! Pillow's tensor (tract vs onnxruntime then differs by < 1e-4 in the logits,
//! pipeline/tests/image.rs), but JPEGs are decoded by zune-jpeg rather than libjpeg-turbo,
//! whose IDCT and upsampling differ by a few levels per pixel; measured worst on the 8
//! JPEG samples: 0.0144.

use std::path::Path;

use wasmtime::{Result, format_err};

use crate::direct;
use crate::runtime::Runtime;
use crate::verify::Verdict;

/// Largest accepted difference of the top-1 probability.
pub const MAX_TOP1_DIFF: f64 = 0.05;

/// `reference.json` of an image bundle, with each sample's image file read.
#[derive(Debug, Clone)]
pub struct ImageReference {
    pub model: String,
    pub version: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub origin: String,
    pub file: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The reference's top-1 class index and its probability.
    pub top1: (usize, f64),
}

#[derive(serde::Deserialize)]
struct Json {
    model: String,
    version: String,
    kind: String,
    samples: Vec<JsonSample>,
}

#[derive(serde::Deserialize)]
struct JsonSample {
    origin: String,
    file: String,
    content_type: String,
    top_k: Vec<JsonClass>,
}

#[derive(serde::Deserialize)]
struct JsonClass {
    index: usize,
    probability: f64,
}

impl ImageReference {
    /// Parses `bytes` (the bundle's reference.json) and reads each sample's image from
    /// `dir`, the bundle directory.
    pub fn read(dir: &Path, bytes: &[u8]) -> Result<Self> {
        let r: Json = serde_json::from_slice(bytes)?;
        if r.kind != pipeline::image::manifest::KIND {
            wasmtime::bail!("kind {:?}, expected image", r.kind);
        }
        let samples = r
            .samples
            .into_iter()
            .map(|s| {
                let top = s
                    .top_k
                    .first()
                    .ok_or_else(|| format_err!("{}: an empty top_k", s.file))?;
                let path = dir.join(&s.file);
                let bytes = std::fs::read(&path)
                    .map_err(|e| format_err!("reading {}: {e}", path.display()))?;
                Ok(Sample {
                    top1: (top.index, top.probability),
                    origin: s.origin,
                    file: s.file,
                    content_type: s.content_type,
                    bytes,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ImageReference {
            model: r.model,
            version: r.version,
            samples,
        })
    }
}

/// The top-1 of a 200 answer's body (`{"predictions": [{"top_k": [{"index",
/// "probability"}]}]}`), one per image.
pub fn top1_of(body: &[u8]) -> Result<Vec<(usize, f64)>> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    v["predictions"]
        .as_array()
        .ok_or_else(|| format_err!("no predictions list: {v}"))?
        .iter()
        .map(|p| {
            let top = &p["top_k"][0];
            let index = top["index"]
                .as_u64()
                .ok_or_else(|| format_err!("no top_k[0].index: {p}"))?;
            let probability = top["probability"]
                .as_f64()
                .ok_or_else(|| format_err!("no top_k[0].probability: {p}"))?;
            Ok((usize::try_from(index)?, probability))
        })
        .collect()
}

impl Sample {
    /// The top-1 probability's difference when the class agrees, else what differs.
    pub fn check(&self, (index, probability): (usize, f64)) -> std::result::Result<f64, String> {
        let (want, want_p) = self.top1;
        if index != want {
            return Err(format!(
                "top-1 class {index} (p {probability:.4}) where the reference has {want} (p {want_p:.4})"
            ));
        }
        let d = (probability - want_p).abs();
        if d > MAX_TOP1_DIFF {
            return Err(format!(
                "top-1 probability {probability} where the reference has {want_p}"
            ));
        }
        Ok(d)
    }
}

/// Every sample through the component, one request each.
pub async fn verify(runtime: &Runtime, reference: &ImageReference) -> Result<Verdict> {
    let mut verdict = Verdict::new();
    for (i, sample) in reference.samples.iter().enumerate() {
        let reply =
            direct::post_predict(runtime, &sample.content_type, sample.bytes.clone()).await?;
        let outcome = if reply.status != 200 {
            Err(format!(
                "answered {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ))
        } else {
            match top1_of(&reply.body)?.as_slice() {
                [top] => sample.check(*top),
                other => Err(format!("{} predictions for one image", other.len())),
            }
        };
        verdict.record_check(i, &sample.origin, outcome, "same top-1 (|Δ probability|)");
    }
    Ok(verdict)
}
