//! The manifest of a `text` bundle (models/README.md, "kind text"): identity and
//! provenance as for the other kinds, the network (`model`: its sequence inputs by name and
//! the width of its token embeddings), the tokenizer (`files`, role `tokenizer`) and how
//! token embeddings become one sentence embedding (`text`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filetype::manifest::SideFile;
use crate::manifest::ManifestError;

/// The kind this module serves.
pub const KIND: &str = "text";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextManifest {
    pub manifest_version: u32,
    pub kind: String,
    /// `embedding`.
    pub task: String,
    pub name: String,
    pub version: String,
    pub created: String,
    pub description: String,
    pub source: Value,
    pub training: Value,
    pub model: SequenceNetwork,
    /// `tokenizer`: a Hugging Face `tokenizer.json`.
    pub files: Vec<SideFile>,
    pub text: TextSettings,
    /// Baselines of what events record of each input, and of the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::manifest::SummaryDrift>,
}

/// A network over one token sequence: every input is `[1, S]` (int64).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceNetwork {
    pub file: String,
    pub format: String,
    pub sha256: String,
    /// In the graph's order; each named by what it carries: `input_ids`, `attention_mask`
    /// or `token_type_ids`.
    pub inputs: Vec<NamedInput>,
    pub output: SequenceOutput,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedInput {
    pub name: String,
    pub datatype: String,
}

/// The token embeddings, `[1, S, width]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceOutput {
    pub name: String,
    pub datatype: String,
    pub width: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSettings {
    /// Tokens kept (special tokens included); longer texts are truncated, as
    /// sentence-transformers' `max_seq_length` does.
    pub max_tokens: usize,
    /// `mean`: the average of the token embeddings.
    pub pooling: String,
    /// Divide by the L2 norm.
    pub normalize: bool,
}

impl TextManifest {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: TextManifest = serde_json::from_slice(bytes)?;
        let bad = |s: String| Err(ManifestError::Model(s));
        if m.kind != KIND {
            return Err(ManifestError::Kind(m.kind));
        }
        if m.task != "embedding" {
            return bad(format!("task {:?}: a text bundle is an embedding", m.task));
        }
        if m.model.format != "onnx" {
            return bad(format!(
                "format {:?} is not supported for kind text (this build reads onnx)",
                m.model.format
            ));
        }
        for input in &m.model.inputs {
            if !["input_ids", "attention_mask", "token_type_ids"].contains(&input.name.as_str()) {
                return bad(format!(
                    "inputs: {:?} is not one of input_ids, attention_mask, token_type_ids",
                    input.name
                ));
            }
            if input.datatype != "int64" {
                return bad(format!("inputs: {} must be int64", input.name));
            }
        }
        if !m.model.inputs.iter().any(|i| i.name == "input_ids") {
            return bad("inputs: no input_ids".into());
        }
        if m.model.output.datatype != "float32" || m.model.output.width == 0 {
            return bad("output: float32 token embeddings of a width > 0".into());
        }
        if m.text.pooling != "mean" {
            return bad(format!(
                "text.pooling {:?}: this build pools mean",
                m.text.pooling
            ));
        }
        if !(2..=4096).contains(&m.text.max_tokens) {
            return bad(format!(
                "text.max_tokens {} is not in 2..=4096",
                m.text.max_tokens
            ));
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
}
