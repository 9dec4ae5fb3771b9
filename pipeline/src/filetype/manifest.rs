//! The manifest of a `file-type` bundle (models/README.md, "kind file-type"): identity and
//! provenance as for tabular bundles, the network (`model`, with its concrete input and
//! output) and the detector's side files (`files`), each with its sha256.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::{ManifestError, Task};

/// The kind this module serves.
pub const KIND: &str = "file-type";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTypeManifest {
    pub manifest_version: u32,
    pub kind: String,
    pub task: Task,
    pub name: String,
    pub version: String,
    pub created: String,
    pub description: String,
    /// Free-form provenance: package, version, licence, wheel and the files taken from it.
    pub source: Value,
    pub training: Value,
    pub model: NetworkFile,
    /// The side files: `magika-config` (the package's model config) and `content-types`
    /// (its label → group / MIME type / is-text table).
    pub files: Vec<SideFile>,
    /// Baselines of what events record of each input, and of the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::manifest::SummaryDrift>,
}

/// A network file and the tensors it takes and gives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    pub file: String,
    /// `onnx` (the host hands the guest its NNEF form, see `network`).
    pub format: String,
    pub sha256: String,
    pub input: TensorSpec,
    pub output: TensorSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    /// `int32` or `float32`.
    pub datatype: String,
    /// Concrete: the batch dimension is 1.
    pub shape: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideFile {
    pub file: String,
    pub role: String,
    pub sha256: String,
}

impl FileTypeManifest {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: FileTypeManifest = serde_json::from_slice(bytes)?;
        if m.kind != KIND {
            return Err(ManifestError::Kind(m.kind));
        }
        if m.task != Task::Classification {
            return Err(ManifestError::Model(
                "a file-type bundle is a classification".into(),
            ));
        }
        if m.model.format != "onnx" {
            return Err(ManifestError::Model(format!(
                "format {:?} is not supported for kind file-type (this build reads onnx)",
                m.model.format
            )));
        }
        if m.model.input.shape.first() != Some(&1) || m.model.output.shape.first() != Some(&1) {
            return Err(ManifestError::Model(
                "input and output shapes must be concrete with a batch dimension of 1".into(),
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
