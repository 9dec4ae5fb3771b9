//! Kind `text`: a sentence embedder as a function. `POST /predict` with
//! `{"texts": ["...", ...]}` → `{"predictions": [{"embedding": [...], "tokens", "truncated"}]}`.
//!
//! Stages: `request::parse` (the body, with its limits) → `Tokenizer::encode` (the
//! bundle's `tokenizer.json`, truncated at `max_tokens`) → `Network::run_sequences`
//! (tract; one unpadded sequence per text) → `pool::mean_pool` (mean, L2-normalised).

pub mod manifest;
pub mod pool;
pub mod request;
pub mod tokenize;
pub mod v2;

use serde::Serialize;
use serde_json::json;

use crate::api::{self, ApiError};
use crate::bundle::{self, Bundle};
use crate::drift::{Baselines, NetworkDrift};
use crate::events::{InputSummary, Outcome};
use crate::filetype::manifest::SideFile;
use crate::network::{self, InputSpec, InputType, Network, NetworkError};
use crate::network_routes;
use crate::routes;
use crate::service::{InstanceInfo, LoadError, Response, Route};

use manifest::TextManifest;
use tokenize::{Tokenizer, Tokens};

/// The side file role of the tokenizer.
pub const TOKENIZER_ROLE: &str = "tokenizer";

/// A loaded text bundle, ready to serve.
#[derive(Debug, Clone)]
pub struct TextService {
    manifest: TextManifest,
    tokenizer: Tokenizer,
    network: Network,
    drift: NetworkDrift,
    metadata: Vec<u8>,
}

/// What an event records of each text (`InputSummary`), in this order.
pub const RECORDS: [&str; 4] = ["chars", "tokens", "unknown_tokens", "truncated"];

/// One text's embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub values: Vec<f32>,
    pub tokens: Tokens,
}

impl TextService {
    /// Loads a bundle: manifest, tokenizer (sha256 checked), the network (ONNX natively
    /// with the `onnx` feature, or the NNEF form the host writes at packaging) optimised
    /// into a runnable plan for sequences of any length.
    pub fn load(bundle: &Bundle) -> Result<Self, LoadError> {
        let manifest = TextManifest::from_json(bundle.require(bundle::MANIFEST)?)?;
        let SideFile { file, sha256, .. } = manifest.side_file(TOKENIZER_ROLE)?;
        let tokenizer =
            Tokenizer::from_json(bundle.verified(file, sha256)?, manifest.text.max_tokens)
                .map_err(|message| LoadError::File {
                    file: file.clone(),
                    message,
                })?;
        let spec = &manifest.model;
        let network = network::load(
            bundle,
            &spec.file,
            &spec.sha256,
            &network_inputs(&manifest),
            spec.output.width,
        )?;
        let drift = NetworkDrift::of_bundle(manifest.drift.as_ref(), &RECORDS, &[])?;
        let mut metadata = public_metadata(&manifest);
        drift.describe(&mut metadata);
        Ok(TextService {
            manifest,
            tokenizer,
            network,
            drift,
            metadata: serde_json::to_vec(&metadata).expect("plain JSON"),
        })
    }

    pub fn manifest(&self) -> &TextManifest {
        &self.manifest
    }

    /// The baselines its events bucket each text's summary against.
    pub fn baselines(&self) -> &Baselines {
        &self.drift.baselines
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The embedding of `text`.
    pub fn embed(&self, text: &str) -> Result<Embedding, NetworkError> {
        let tokens = self
            .tokenizer
            .encode(text)
            .map_err(|e| NetworkError::Run(format!("tokenizing: {e}")))?;
        let values = self.embed_tokens(&tokens)?;
        Ok(Embedding { values, tokens })
    }

    /// The embedding of an already tokenised text.
    pub fn embed_tokens(&self, tokens: &Tokens) -> Result<Vec<f32>, NetworkError> {
        let ones = vec![1i64; tokens.ids.len()];
        let inputs: Vec<&[i64]> = self
            .manifest
            .model
            .inputs
            .iter()
            .map(|i| match i.name.as_str() {
                "input_ids" => &tokens.ids[..],
                "attention_mask" => &ones[..],
                _ => &tokens.type_ids[..],
            })
            .collect();
        let out = self.network.run_sequences(&inputs)?;
        let width = self.manifest.model.output.width;
        Ok(pool::mean_pool(
            &out.values,
            width,
            self.manifest.text.normalize,
        ))
    }

    /// `/predict` (POST, JSON), `/health`, `/metadata`, `/`, and `/v2` (`v2.rs`).
    pub fn route(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
    ) -> Result<Route, ApiError> {
        if let Some(v2) = routes::v2(method, path) {
            return Ok(v2);
        }
        let route = routes::plain(method, path, false)?;
        if route == Route::Predict && !api::is_json_content_type(content_type) {
            return Err(ApiError::unsupported_media_type(content_type));
        }
        Ok(route)
    }

    pub fn respond_with_outcome(
        &self,
        route: Route,
        body: &[u8],
        instance: InstanceInfo,
    ) -> (Response, Outcome) {
        network_routes::respond(self, &self.metadata, route, body, instance, |route| {
            (route == Route::Predict).then(|| self.predict_texts(body, instance))
        })
    }

    fn predict_texts(&self, body: &[u8], instance: InstanceInfo) -> (Response, Outcome) {
        let refuse = routes::refused;
        if body.len() > instance.max_body_bytes {
            return refuse(ApiError::payload_too_large(instance.max_body_bytes));
        }
        let texts = match request::parse(body) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        let predictions = match self.embed_all(&texts) {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        #[derive(Serialize)]
        struct Body<'a> {
            model: ModelRef<'a>,
            predictions: Vec<Out<'a>>,
        }
        #[derive(Serialize)]
        struct ModelRef<'a> {
            name: &'a str,
            version: &'a str,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            embedding: &'a [f32],
            tokens: usize,
            truncated: bool,
        }
        let body = serde_json::to_vec(&Body {
            model: ModelRef {
                name: &self.manifest.name,
                version: &self.manifest.version,
            },
            predictions: predictions
                .iter()
                .map(|e| Out {
                    embedding: &e.values,
                    tokens: e.tokens.ids.len(),
                    truncated: e.tokens.truncated,
                })
                .collect(),
        })
        .expect("plain JSON");
        let outcome = outcome(&texts, &predictions);
        (Response::json(200, body), outcome)
    }

    /// Every text tokenised, the request's token budget checked, then each embedded: the
    /// work of one request, refused with a 422 before the network when over budget.
    pub fn embed_all(&self, texts: &[String]) -> Result<Vec<Embedding>, ApiError> {
        let mut tokenized = Vec::with_capacity(texts.len());
        for text in texts {
            let tokens = self
                .tokenizer
                .encode(text)
                .map_err(|e| ApiError::internal(format!("tokenizing: {e}")))?;
            tokenized.push(tokens);
        }
        request::check_tokens(tokenized.iter().map(|t| t.ids.len()))?;
        tokenized
            .into_iter()
            .map(|tokens| {
                let values = self
                    .embed_tokens(&tokens)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                Ok(Embedding { values, tokens })
            })
            .collect()
    }

    pub fn metadata_json(&self) -> &[u8] {
        &self.metadata
    }
}

/// The event's share of an answered request: each text's length and token counts.
fn outcome(texts: &[String], embeddings: &[Embedding]) -> Outcome {
    Outcome {
        summaries: texts
            .iter()
            .zip(embeddings)
            .map(|(text, e)| {
                let values = [
                    text.chars().count() as f64,
                    e.tokens.ids.len() as f64,
                    e.tokens.unknown as f64,
                    f64::from(u8::from(e.tokens.truncated)),
                ];
                InputSummary(RECORDS.into_iter().zip(values).collect())
            })
            .collect(),
        ..Outcome::default()
    }
}

/// Every input is one sequence `[1, S]` of int64.
fn network_inputs(m: &TextManifest) -> Vec<InputSpec> {
    m.model
        .inputs
        .iter()
        .map(|_| InputSpec::sequence(InputType::I64))
        .collect()
}

/// The bundle as the guest must receive it (the network in its NNEF form). Called by the
/// host at packaging.
#[cfg(feature = "onnx")]
pub fn with_nnef(bundle: &Bundle) -> Result<Bundle, LoadError> {
    let m = TextManifest::from_json(bundle.require(bundle::MANIFEST)?)?;
    network::bundle_with_nnef(
        bundle,
        &m.model.file,
        &m.model.sha256,
        &network_inputs(&m),
        m.model.output.width,
    )
}

fn public_metadata(m: &TextManifest) -> serde_json::Value {
    json!({
        "name": m.name,
        "version": m.version,
        "kind": m.kind,
        "task": m.task,
        "created": m.created,
        "description": m.description,
        "source": m.source,
        "training": m.training,
        "model": {"format": m.model.format, "sha256": m.model.sha256, "inputs": m.model.inputs,
                  "output": m.model.output, "runtime": "tract"},
        "files": m.files,
        "text": m.text,
        "limits": {"max_body_bytes": api::MAX_BODY_BYTES, "max_texts": request::MAX_TEXTS,
                   "max_text_bytes": request::MAX_TEXT_BYTES,
                   "max_request_tokens": request::MAX_REQUEST_TOKENS},
    })
}
