//! The manifest of an `image` bundle (models/README.md, "kind image"): identity and
//! provenance as for the other kinds, the network (`model`: one concrete NCHW float input,
//! one score per label), the label names (`files`, role `labels`) and the preprocessing
//! recipe the model was evaluated with (`image`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filetype::manifest::{SideFile, TensorSpec};
use crate::manifest::{ManifestError, Task};

/// The kind this module serves.
pub const KIND: &str = "image";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageManifest {
    pub manifest_version: u32,
    pub kind: String,
    pub task: Task,
    pub name: String,
    pub version: String,
    pub created: String,
    pub description: String,
    pub source: Value,
    pub training: Value,
    pub model: ImageNetwork,
    /// `labels`: a JSON list of class names, index = the network's output index.
    pub files: Vec<SideFile>,
    pub image: Recipe,
    /// How many classes an answer lists by default (`?top_k=` changes it).
    pub top_k: usize,
    /// Baselines of what events record of each input, and of the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::manifest::SummaryDrift>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageNetwork {
    pub file: String,
    pub format: String,
    pub sha256: String,
    pub input: TensorSpec,
    pub output: TensorSpec,
    /// `logits` (a softmax makes the probabilities) or `probabilities`.
    pub output_kind: String,
}

/// Decode → RGB → centre crop → resize → `(p / scale - mean) / std`, NCHW.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// `[height, width]` of the network's input.
    pub input_size: [usize; 2],
    /// `center`.
    pub crop: String,
    /// The side of the centred square, as a fraction of the image's shorter side.
    pub crop_fraction: f64,
    /// `bicubic` or `bilinear` (Pillow's filters).
    pub interpolation: String,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub scale: f32,
    /// `NCHW`.
    pub layout: String,
    /// `RGB`.
    pub color: String,
}

impl ImageManifest {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: ImageManifest = serde_json::from_slice(bytes)?;
        let bad = |s: String| Err(ManifestError::Model(s));
        if m.kind != KIND {
            return Err(ManifestError::Kind(m.kind));
        }
        if m.task != Task::Classification {
            return bad("an image bundle is a classification".into());
        }
        if m.model.format != "onnx" {
            return bad(format!(
                "format {:?} is not supported for kind image (this build reads onnx)",
                m.model.format
            ));
        }
        let [h, w] = m.image.input_size;
        if m.model.input.datatype != "float32" || m.model.input.shape != [1, 3, h, w] {
            return bad(format!(
                "input must be float32 [1, 3, {h}, {w}] (image.input_size, NCHW), not {} {:?}",
                m.model.input.datatype, m.model.input.shape
            ));
        }
        if m.model.output.shape.len() != 2 || m.model.output.shape[0] != 1 {
            return bad("output must be [1, classes]".into());
        }
        if !["logits", "probabilities"].contains(&m.model.output_kind.as_str()) {
            return bad(format!("output_kind {:?}", m.model.output_kind));
        }
        let r = &m.image;
        if r.crop != "center" || r.layout != "NCHW" || r.color != "RGB" {
            return bad("image: this build crops center, lays out NCHW, reads RGB".into());
        }
        if !["bicubic", "bilinear"].contains(&r.interpolation.as_str()) {
            return bad(format!("image.interpolation {:?}", r.interpolation));
        }
        if !(r.crop_fraction > 0.0 && r.crop_fraction <= 1.0) || h == 0 || w == 0 {
            return bad("image: crop_fraction in (0, 1], input_size > 0".into());
        }
        if r.std.contains(&0.0) || r.scale == 0.0 {
            return bad("image: std and scale must not be 0".into());
        }
        if m.top_k == 0 {
            return bad("top_k must be at least 1".into());
        }
        Ok(m)
    }

    /// The side file with `role`.
    pub fn side_file(&self, role: &str) -> Result<&SideFile, ManifestError> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .ok_or_else(|| ManifestError::Model(format!("files: no file with role {role:?}")))
    }

    /// The number of classes the network scores.
    pub fn classes(&self) -> usize {
        self.model.output.shape[1]
    }
}
