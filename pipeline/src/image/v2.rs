//! The Open Inference Protocol for an image classifier: input `image` (BYTES `[N]`: the
//! files, raw in binary tensor data or base64 in JSON); outputs `label` (BYTES `[N]`),
//! `confidence` (FP64 `[N]`) and `probabilities` (FP32 `[N, classes]`).

use serde_json::{Value, json};

use super::{Classification, ImageError, ImageService, request::MAX_IMAGES};
use crate::events::Outcome;
use crate::service::Response;
use crate::v2::bytes_input::{self, Spec};
use crate::v2::wire::{OutData, Output};
use crate::v2::{Route, V2Model};

pub const SPEC: Spec = Spec {
    input: "image",
    max_elements: MAX_IMAGES,
    base64: true,
    outputs: &["label", "confidence", "probabilities"],
};

impl V2Model for ImageService {
    fn name(&self) -> &str {
        &self.manifest().name
    }

    fn version(&self) -> &str {
        &self.manifest().version
    }

    fn metadata(&self) -> Value {
        let m = self.manifest();
        json!({
            "name": m.name,
            "versions": [m.version],
            "platform": "mlfn_image",
            "inputs": [{"name": SPEC.input, "datatype": "BYTES", "shape": [-1]}],
            "outputs": [
                {"name": "label", "datatype": "BYTES", "shape": [-1]},
                {"name": "confidence", "datatype": "FP64", "shape": [-1]},
                {"name": "probabilities", "datatype": "FP32", "shape": [-1, self.labels().len()]},
            ],
            "properties": {
                "task": m.task,
                "max_batch": MAX_IMAGES.to_string(),
                "inputs": "JPEG or PNG files: raw bytes in binary tensor data, base64 strings in JSON",
                "labels": serde_json::to_string(self.labels()).expect("strings"),
            },
        })
    }

    fn infer(&self, route: &Route, body: &[u8], max_body_bytes: usize) -> (Response, Outcome) {
        let request = match bytes_input::parse(&SPEC, route, body, max_body_bytes) {
            Ok(r) => r,
            Err(e) => return bytes_input::refused(e),
        };
        let mut classified: Vec<Classification> = Vec::with_capacity(request.elements.len());
        for (i, file) in request.elements.iter().enumerate() {
            match self.classify(file) {
                Ok(c) => classified.push(c),
                Err(ImageError::Decode(e)) => {
                    return bytes_input::element_refused(&SPEC, i, &e.to_string());
                }
                Err(ImageError::Internal(e)) => return bytes_input::internal(e),
            }
        }
        let n = classified.len();
        let outputs: Vec<Output> = request
            .outputs
            .iter()
            .map(|&(name, binary)| {
                let (shape, data) = match name {
                    "label" => (
                        vec![n],
                        OutData::Bytes(
                            classified
                                .iter()
                                .map(|c| self.labels()[c.ranking[0]].as_str())
                                .collect(),
                        ),
                    ),
                    "confidence" => (
                        vec![n],
                        OutData::F64(
                            classified
                                .iter()
                                .map(|c| c.probabilities[c.ranking[0]])
                                .collect(),
                        ),
                    ),
                    _ => (
                        vec![n, self.labels().len()],
                        OutData::F32(
                            classified
                                .iter()
                                .flat_map(|c| c.probabilities.iter().map(|&p| p as f32))
                                .collect(),
                        ),
                    ),
                };
                Output {
                    name,
                    shape,
                    data,
                    binary,
                }
            })
            .collect();
        let response =
            bytes_input::answer(self.name(), self.version(), request.id.as_deref(), &outputs);
        (response, self.outcome(&classified, &request.elements))
    }
}
