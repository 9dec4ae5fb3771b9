//! The Open Inference Protocol for a text embedder: input `text` (BYTES `[N]`: UTF-8
//! texts, the strings themselves in JSON); output `embedding` (FP32 `[N, width]`).

use serde_json::{Value, json};

use super::TextService;
use super::request::{MAX_REQUEST_TOKENS, MAX_TEXT_BYTES, MAX_TEXTS};
use crate::events::Outcome;
use crate::service::Response;
use crate::v2::bytes_input::{self, Spec};
use crate::v2::wire::{OutData, Output};
use crate::v2::{Route, V2Model};

pub const SPEC: Spec = Spec {
    input: "text",
    max_elements: MAX_TEXTS,
    base64: false,
    outputs: &["embedding"],
};

impl V2Model for TextService {
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
            "platform": "mlfn_text",
            "inputs": [{"name": SPEC.input, "datatype": "BYTES", "shape": [-1]}],
            "outputs": [{"name": "embedding", "datatype": "FP32",
                         "shape": [-1, m.model.output.width]}],
            "properties": {
                "task": m.task,
                "max_batch": MAX_TEXTS.to_string(),
                "inputs": format!("UTF-8 texts of at most {MAX_TEXT_BYTES} bytes, \
                                   {MAX_REQUEST_TOKENS} tokens per request in all"),
            },
        })
    }

    fn infer(&self, route: &Route, body: &[u8], max_body_bytes: usize) -> (Response, Outcome) {
        let request = match bytes_input::parse(&SPEC, route, body, max_body_bytes) {
            Ok(r) => r,
            Err(e) => return bytes_input::refused(e),
        };
        let mut texts = Vec::with_capacity(request.elements.len());
        for (i, bytes) in request.elements.into_iter().enumerate() {
            if bytes.len() > MAX_TEXT_BYTES {
                let problem = format!("{} bytes; at most {MAX_TEXT_BYTES}", bytes.len());
                return bytes_input::element_refused(&SPEC, i, &problem);
            }
            match String::from_utf8(bytes) {
                Ok(t) => texts.push(t),
                Err(e) => {
                    return bytes_input::element_refused(&SPEC, i, &format!("not UTF-8: {e}"));
                }
            }
        }
        let embeddings = match self.embed_all(&texts) {
            Ok(e) => e,
            Err(e) if e.status == 422 => {
                let problem = e
                    .details
                    .first()
                    .map_or(e.message.clone(), |d| d.problem.clone());
                return bytes_input::bad_request(format!("input '{}': {problem}", SPEC.input));
            }
            Err(e) => return bytes_input::internal(e.message),
        };
        let width = self.manifest().model.output.width;
        let outputs: Vec<Output> = request
            .outputs
            .iter()
            .map(|&(name, binary)| Output {
                name,
                shape: vec![embeddings.len(), width],
                data: OutData::F32(
                    embeddings
                        .iter()
                        .flat_map(|e| e.values.iter().copied())
                        .collect(),
                ),
                binary,
            })
            .collect();
        let response =
            bytes_input::answer(self.name(), self.version(), request.id.as_deref(), &outputs);
        (response, super::outcome(&texts, &embeddings))
    }
}
