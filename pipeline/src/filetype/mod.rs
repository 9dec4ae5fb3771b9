//! Kind `file-type`: magika's file-type detector as a function. `POST /predict` with any
//! bytes → `{"predictions": [{"label", "group", "mime_type", "confidence"}]}`.
//!
//! Stages: `features::extract` (magika's windows, or a decision without the model) →
//! `Network::run_i32` (tract) → `decide::decide` (magika's thresholds and overwrites) →
//! the content type's group and MIME type from the package's own table.

pub mod config;
pub mod decide;
pub mod features;
pub mod manifest;
pub mod v2;

use serde::Serialize;
use serde_json::json;

use crate::api::{self, ApiError};
use crate::bundle::{self, Bundle};
use crate::drift::{Baselines, NetworkDrift};
use crate::events::{InputSummary, Outcome};
use crate::network::{self, InputSpec, InputType, Network, NetworkError};
use crate::network_routes;
use crate::postprocess::Prediction;
use crate::routes;
use crate::service::{InstanceInfo, LoadError, Response, Route};

use config::{ContentTypes, EMPTY, ModelConfig, TXT, UNKNOWN};
use decide::Detection;
use features::Extracted;
use manifest::FileTypeManifest;

/// The side file roles a file-type bundle needs.
pub const CONFIG_ROLE: &str = "magika-config";
pub const CONTENT_TYPES_ROLE: &str = "content-types";

/// A loaded file-type bundle, ready to serve.
#[derive(Debug, Clone)]
pub struct FileTypeService {
    manifest: FileTypeManifest,
    config: ModelConfig,
    types: ContentTypes,
    network: Network,
    /// Every label the detector can answer, sorted: the labels of `/metadata`, the typed
    /// export and events.
    labels: Vec<String>,
    drift: NetworkDrift,
    metadata: Vec<u8>,
}

/// What an event records of each file (`InputSummary`), in this order.
pub const RECORDS: [&str; 1] = ["bytes"];

impl FileTypeService {
    /// Loads a bundle: manifest, the two side files (sha256 checked), the network (the
    /// ONNX file, sha256 checked, natively with the `onnx` feature; or its NNEF form, which
    /// the host writes at packaging) optimised into a runnable plan.
    pub fn load(bundle: &Bundle) -> Result<Self, LoadError> {
        let manifest = FileTypeManifest::from_json(bundle.require(bundle::MANIFEST)?)?;
        let side = |role: &str| -> Result<(&str, &[u8]), LoadError> {
            let f = manifest.side_file(role)?;
            Ok((&f.file, bundle.verified(&f.file, &f.sha256)?))
        };
        let (file, bytes) = side(CONFIG_ROLE)?;
        let config = ModelConfig::from_json(bytes).map_err(|message| LoadError::File {
            file: file.into(),
            message,
        })?;
        let (file, bytes) = side(CONTENT_TYPES_ROLE)?;
        let types = ContentTypes::from_json(bytes)
            .and_then(|t| t.check_covers(&config).map(|()| t))
            .map_err(|message| LoadError::File {
                file: file.into(),
                message,
            })?;
        let spec = &manifest.model;
        let (input, width) = network_shape(&manifest)?;
        if spec.input.shape != [1, config.input_len()] {
            return Err(model_error(&format!(
                "input.shape {:?} does not hold beg_size + end_size = {} values",
                spec.input.shape,
                config.input_len()
            )));
        }
        if spec.output.shape != [1, config.target_labels_space.len()] {
            return Err(model_error(&format!(
                "output.shape {:?} does not give one score per target label ({})",
                spec.output.shape,
                config.target_labels_space.len()
            )));
        }
        let network = network::load(bundle, &spec.file, &spec.sha256, &[input], width)?;
        let labels = output_labels(&config);
        let drift = NetworkDrift::of_bundle(manifest.drift.as_ref(), &RECORDS, &labels)?;
        let mut metadata = public_metadata(&manifest, &config, &labels);
        drift.describe(&mut metadata);
        Ok(FileTypeService {
            manifest,
            config,
            types,
            network,
            labels,
            drift,
            metadata: serde_json::to_vec(&metadata).expect("plain JSON"),
        })
    }

    pub fn manifest(&self) -> &FileTypeManifest {
        &self.manifest
    }

    /// Every label the detector can answer (sorted).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The baselines its events bucket each file's summary and answer against.
    pub fn baselines(&self) -> &Baselines {
        &self.drift.baselines
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// magika's answer for `content` (any length; only the first and last `block_size`
    /// bytes are read).
    pub fn detect(&self, content: &[u8]) -> Result<Detection, NetworkError> {
        match features::extract(content, &self.config) {
            Extracted::Decided(label) => Ok(decide::decided(label)),
            Extracted::Features(values) => {
                let scores = self.network.run_i32(&values)?;
                Ok(decide::decide(&scores, &self.config, &self.types))
            }
        }
    }

    /// Picks the route: `/predict` takes any bytes (the body is the file: its declared
    /// Content-Type is not what is being checked); `/v2` (`v2.rs`); no OpenAPI document.
    pub fn route(&self, method: &str, path: &str) -> Result<Route, ApiError> {
        if let Some(v2) = routes::v2(method, path) {
            return Ok(v2);
        }
        routes::plain(method, path, false)
    }

    pub fn respond_with_outcome(
        &self,
        route: Route,
        body: &[u8],
        instance: InstanceInfo,
    ) -> (Response, Outcome) {
        network_routes::respond(self, &self.metadata, route, body, instance, |route| {
            (route == Route::Predict).then(|| self.predict_file(body, instance))
        })
    }

    fn predict_file(&self, body: &[u8], instance: InstanceInfo) -> (Response, Outcome) {
        let refuse = routes::refused;
        if body.is_empty() {
            return refuse(ApiError::empty_body());
        }
        if body.len() > instance.max_body_bytes {
            return refuse(ApiError::payload_too_large(instance.max_body_bytes));
        }
        let detection = match self.detect(body) {
            Ok(d) => d,
            Err(e) => return refuse(ApiError::internal(e.to_string())),
        };
        let outcome = self.outcome(&[(&detection, body.len())]);
        let ct = self.content_type(&detection);
        #[derive(Serialize)]
        struct Body<'a> {
            model: ModelRef<'a>,
            predictions: [Out<'a>; 1],
        }
        #[derive(Serialize)]
        struct ModelRef<'a> {
            name: &'a str,
            version: &'a str,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            label: &'a str,
            group: &'a str,
            mime_type: &'a str,
            confidence: f64,
        }
        let body = serde_json::to_vec(&Body {
            model: ModelRef {
                name: &self.manifest.name,
                version: &self.manifest.version,
            },
            predictions: [Out {
                label: &ct.label,
                group: &ct.group,
                mime_type: &ct.mime_type,
                confidence: detection.score,
            }],
        })
        .expect("plain JSON");
        (Response::json(200, body), outcome)
    }

    /// The content type (label, group, MIME type) of a detection.
    pub fn content_type(&self, detection: &Detection) -> &config::ContentType {
        self.types
            .get(&detection.label)
            .expect("check_covers: every answerable label has an entry")
    }

    /// The event's share of answered files (each detection with the file's size).
    fn outcome(&self, detections: &[(&Detection, usize)]) -> Outcome {
        Outcome {
            summaries: detections
                .iter()
                .map(|(_, bytes)| InputSummary(RECORDS.into_iter().zip([*bytes as f64]).collect()))
                .collect(),
            predictions: detections
                .iter()
                .map(|(d, _)| Prediction::Class {
                    label: self
                        .labels
                        .binary_search(&d.label)
                        .expect("output_labels holds every answerable label"),
                    probabilities: Vec::new(),
                    confidence: d.score,
                })
                .collect(),
            ..Outcome::default()
        }
    }

    pub fn metadata_json(&self) -> &[u8] {
        &self.metadata
    }
}

fn model_error(message: &str) -> LoadError {
    crate::manifest::ManifestError::Model(message.into()).into()
}

/// The bundle as the guest must receive it (the network in its NNEF form). Called by the
/// host at packaging.
#[cfg(feature = "onnx")]
pub fn with_nnef(bundle: &Bundle) -> Result<Bundle, LoadError> {
    let manifest = FileTypeManifest::from_json(bundle.require(bundle::MANIFEST)?)?;
    let (input, width) = network_shape(&manifest)?;
    let spec = &manifest.model;
    network::bundle_with_nnef(bundle, &spec.file, &spec.sha256, &[input], width)
}

/// The network's input and output width as the manifest declares them.
fn network_shape(manifest: &FileTypeManifest) -> Result<(InputSpec, usize), LoadError> {
    let spec = &manifest.model;
    let datatype = InputType::parse(&spec.input.datatype)
        .filter(|t| *t == InputType::I32)
        .ok_or_else(|| model_error("input.datatype must be int32 (byte values)"))?;
    let width = *spec.output.shape.last().unwrap_or(&0);
    Ok((InputSpec::concrete(datatype, &spec.input.shape), width))
}

/// What magika can answer for bytes: the model's labels after the overwrite map, and
/// the ones it answers without the model.
fn output_labels(config: &ModelConfig) -> Vec<String> {
    let mut labels: Vec<String> = config
        .target_labels_space
        .iter()
        .map(|l| config.overwrite_map.get(l).unwrap_or(l).clone())
        .chain([EMPTY, TXT, UNKNOWN].map(String::from))
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

fn public_metadata(m: &FileTypeManifest, c: &ModelConfig, labels: &[String]) -> serde_json::Value {
    json!({
        "name": m.name,
        "version": m.version,
        "kind": m.kind,
        "task": m.task,
        "created": m.created,
        "description": m.description,
        "source": m.source,
        "training": m.training,
        "labels": labels,
        "model": {"format": m.model.format, "sha256": m.model.sha256, "input": m.model.input,
                  "output": m.model.output, "runtime": "tract"},
        "files": m.files,
        "detector": {
            "beg_size": c.beg_size, "end_size": c.end_size, "block_size": c.block_size,
            "padding_token": c.padding_token, "min_file_size_for_dl": c.min_file_size_for_dl,
            "medium_confidence_threshold": c.medium_confidence_threshold,
            "thresholds": c.thresholds, "overwrite_map": c.overwrite_map,
            "prediction_mode": "high-confidence",
        },
        "limits": {"max_body_bytes": api::MAX_BODY_BYTES},
    })
}
