//! The packaging gate of a `file-type` bundle: every sample of its `reference.json` (bytes,
//! and what the detector's own package answered for them) posted to the packaged
//! component's `/predict`, in process, each in a fresh instance. Labels, groups and MIME
//! types must be equal; scores within `SCORE_TOLERANCE` (tract and onnxruntime sum in
//! different orders).

use base64::Engine as _;
use wasmtime::{Result, format_err};

use crate::direct;
use crate::runtime::Runtime;
use crate::verify::Verdict;

/// Largest accepted difference between the component's confidence and the oracle's score.
pub const SCORE_TOLERANCE: f64 = 1e-4;

/// `reference.json` of a file-type bundle (written by models/<name>/make.py).
#[derive(Debug, Clone)]
pub struct FileTypeReference {
    pub model: String,
    pub version: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub origin: String,
    pub bytes: Vec<u8>,
    /// The package's answer: `output.label`, its group and MIME type, and the model's score.
    pub label: String,
    pub group: String,
    pub mime_type: String,
    pub score: f64,
}

#[derive(serde::Deserialize)]
struct RawReference {
    model: String,
    version: String,
    kind: String,
    samples: Vec<RawSample>,
}

#[derive(serde::Deserialize)]
struct RawSample {
    origin: String,
    bytes_base64: String,
    label: String,
    group: String,
    mime_type: String,
    score: f64,
}

impl FileTypeReference {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let raw: RawReference = serde_json::from_slice(bytes)?;
        if raw.kind != pipeline::filetype::manifest::KIND {
            wasmtime::bail!("kind {:?}, expected file-type", raw.kind);
        }
        let samples = raw
            .samples
            .into_iter()
            .map(|s| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&s.bytes_base64)
                    .map_err(|e| format_err!("sample {:?}: bytes_base64: {e}", s.origin))?;
                Ok(Sample {
                    origin: s.origin,
                    bytes,
                    label: s.label,
                    group: s.group,
                    mime_type: s.mime_type,
                    score: s.score,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FileTypeReference {
            model: raw.model,
            version: raw.version,
            samples,
        })
    }
}

/// The `/predict` answer of a file-type function, as compared with a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub label: String,
    pub group: String,
    pub mime_type: String,
    pub confidence: f64,
}

impl Answer {
    /// From a 200 answer's body (`{"predictions": [{...}]}`).
    pub fn from_body(body: &[u8]) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_slice(body)?;
        let p = &v["predictions"][0];
        let s = |k: &str| {
            p[k].as_str()
                .map(String::from)
                .ok_or_else(|| format_err!("predictions[0].{k} is not a string: {v}"))
        };
        Ok(Answer {
            label: s("label")?,
            group: s("group")?,
            mime_type: s("mime_type")?,
            confidence: p["confidence"]
                .as_f64()
                .ok_or_else(|| format_err!("predictions[0].confidence is not a number: {v}"))?,
        })
    }
}

impl Sample {
    /// The score difference when the answer agrees, else what differs.
    pub fn check(&self, a: &Answer) -> std::result::Result<f64, String> {
        let diff = (a.confidence - self.score).abs();
        if a.label != self.label || a.group != self.group || a.mime_type != self.mime_type {
            return Err(format!(
                "answered {} ({}, {}) where the package says {} ({}, {})",
                a.label, a.group, a.mime_type, self.label, self.group, self.mime_type
            ));
        }
        if diff > SCORE_TOLERANCE {
            return Err(format!(
                "confidence {} where the package's score is {}",
                a.confidence, self.score
            ));
        }
        Ok(diff)
    }
}

/// Every sample through the component. An empty sample must be refused (400: our API
/// answers an empty body so, where the package says `empty`).
pub async fn verify(runtime: &Runtime, reference: &FileTypeReference) -> Result<Verdict> {
    let mut verdict = Verdict::new();
    for (i, sample) in reference.samples.iter().enumerate() {
        let reply =
            direct::post_predict(runtime, "application/octet-stream", sample.bytes.clone()).await?;
        let outcome = if sample.bytes.is_empty() {
            if reply.status == 400 {
                Ok(0.0)
            } else {
                Err(format!("an empty body answered {}, not 400", reply.status))
            }
        } else if reply.status != 200 {
            Err(format!(
                "answered {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ))
        } else {
            sample.check(&Answer::from_body(&reply.body)?)
        };
        verdict.record_check(i, &sample.origin, outcome, "within tolerance");
    }
    Ok(verdict)
}
