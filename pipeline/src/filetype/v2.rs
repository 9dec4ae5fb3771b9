//! The Open Inference Protocol for the file-type detector: input `file` (BYTES `[N]`: the
//! files, raw in binary tensor data or base64 in JSON); outputs `label`, `group`,
//! `mime_type` (BYTES `[N]`) and `confidence` (FP64 `[N]`).

use serde_json::{Value, json};

use super::FileTypeService;
use crate::events::Outcome;
use crate::service::Response;
use crate::v2::bytes_input::{self, Spec};
use crate::v2::wire::{OutData, Output};
use crate::v2::{Route, V2Model};

/// Files one request may carry (each is read at its two ends only, then run through the
/// network).
pub const MAX_FILES: usize = 8;

pub const SPEC: Spec = Spec {
    input: "file",
    max_elements: MAX_FILES,
    base64: true,
    outputs: &["label", "group", "mime_type", "confidence"],
};

impl V2Model for FileTypeService {
    fn name(&self) -> &str {
        &self.manifest().name
    }

    fn version(&self) -> &str {
        &self.manifest().version
    }

    fn metadata(&self) -> Value {
        let m = self.manifest();
        let bytes = |name: &str| json!({"name": name, "datatype": "BYTES", "shape": [-1]});
        json!({
            "name": m.name,
            "versions": [m.version],
            "platform": "mlfn_file_type",
            "inputs": [bytes(SPEC.input)],
            "outputs": [bytes("label"), bytes("group"), bytes("mime_type"),
                        {"name": "confidence", "datatype": "FP64", "shape": [-1]}],
            "properties": {
                "task": m.task,
                "max_batch": MAX_FILES.to_string(),
                "inputs": "files: raw bytes in binary tensor data, base64 strings in JSON",
                "labels": serde_json::to_string(self.labels()).expect("strings"),
            },
        })
    }

    fn infer(&self, route: &Route, body: &[u8], max_body_bytes: usize) -> (Response, Outcome) {
        let request = match bytes_input::parse(&SPEC, route, body, max_body_bytes) {
            Ok(r) => r,
            Err(e) => return bytes_input::refused(e),
        };
        let mut detections = Vec::with_capacity(request.elements.len());
        for file in &request.elements {
            match self.detect(file) {
                Ok(d) => detections.push(d),
                Err(e) => return bytes_input::internal(e.to_string()),
            }
        }
        let types: Vec<_> = detections.iter().map(|d| self.content_type(d)).collect();
        let n = detections.len();
        let outputs: Vec<Output> = request
            .outputs
            .iter()
            .map(|&(name, binary)| {
                let data = match name {
                    "label" => OutData::Bytes(types.iter().map(|t| t.label.as_str()).collect()),
                    "group" => OutData::Bytes(types.iter().map(|t| t.group.as_str()).collect()),
                    "mime_type" => {
                        OutData::Bytes(types.iter().map(|t| t.mime_type.as_str()).collect())
                    }
                    _ => OutData::F64(detections.iter().map(|d| d.score).collect()),
                };
                Output {
                    name,
                    shape: vec![n],
                    data,
                    binary,
                }
            })
            .collect();
        let response =
            bytes_input::answer(self.name(), self.version(), request.id.as_deref(), &outputs);
        let sized: Vec<_> = detections
            .iter()
            .zip(&request.elements)
            .map(|(d, f)| (d, f.len()))
            .collect();
        (response, self.outcome(&sized))
    }
}
