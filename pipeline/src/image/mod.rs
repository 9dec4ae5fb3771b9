//! Kind `image`: an image classifier as a function. `POST /predict` with a JPEG or PNG
//! body (`Content-Type: image/jpeg` or `image/png`), or JSON
//! `{"instances": [{"image": "<base64>"}, ...]}` → `{"predictions": [{"label",
//! "confidence", "top_k": [{"label", "probability"}, ...]}]}`; `?top_k=` changes k.
//!
//! Stages: `request` (the carrier and k, from the head; the images, from the body) →
//! `decode` (header checked before any pixel is decoded; Pillow's `convert('RGB')`) →
//! `tensor` (centre crop, Pillow's resampling ported bit for bit in `resize`, normalise to
//! NCHW) → `Network::run_f32` (tract, input `[1, 3, H, W]`) → softmax → top k.

pub mod decode;
pub mod manifest;
pub mod request;
pub mod resize;
pub mod tensor;
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
use crate::schema::FieldProblem;
use crate::service::{InstanceInfo, LoadError, Response, Route};

use decode::{DecodeError, DecodeLimits};
use manifest::ImageManifest;
use request::{Carrier, ImageRoute};
use resize::Filter;
use tensor::TensorRecipe;

/// The side file role of the class names.
pub const LABELS_ROLE: &str = "labels";

/// A loaded image bundle, ready to serve.
#[derive(Debug, Clone)]
pub struct ImageService {
    manifest: ImageManifest,
    /// Class names, index = the network's output index.
    labels: Vec<String>,
    recipe: TensorRecipe,
    limits: DecodeLimits,
    network: Network,
    drift: NetworkDrift,
    metadata: Vec<u8>,
}

/// What an event records of each image (`InputSummary`), in this order.
pub const RECORDS: [&str; 4] = ["width", "height", "brightness", "bytes"];

/// What the classifier says about one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Softmax of the logits (or the network's probabilities), per class.
    pub probabilities: Vec<f64>,
    /// Class indices, most probable first (ties: lower index first).
    pub ranking: Vec<usize>,
    /// The decoded image's size and mean luma (0–255), before cropping: what events record.
    pub summary: ImageSummary,
}

/// What an event records of an image (the pixels are the client's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ImageSummary {
    pub width: u32,
    pub height: u32,
    /// Mean of ITU-R 601 luma over all pixels, 0–255.
    pub brightness: f64,
}

/// Why one image got no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageError {
    /// The client's bytes: not an image this function reads, or too large.
    Decode(DecodeError),
    /// Ours: the recipe or the network failed on a decoded image.
    Internal(String),
}

impl ImageService {
    /// Loads a bundle: manifest, class names (sha256 checked, one per output), the
    /// network (the ONNX natively with the `onnx` feature, or the NNEF form the host writes
    /// at packaging) optimised for the concrete input `[1, 3, H, W]`.
    pub fn load(bundle: &Bundle) -> Result<Self, LoadError> {
        let manifest = ImageManifest::from_json(bundle.require(bundle::MANIFEST)?)?;
        let side = manifest.side_file(LABELS_ROLE)?;
        let labels: Vec<String> =
            serde_json::from_slice(bundle.verified(&side.file, &side.sha256)?).map_err(|e| {
                LoadError::File {
                    file: side.file.clone(),
                    message: format!("not a JSON list of class names: {e}"),
                }
            })?;
        if labels.len() != manifest.classes() {
            return Err(LoadError::File {
                file: side.file.clone(),
                message: format!(
                    "{} class names for {} network outputs",
                    labels.len(),
                    manifest.classes()
                ),
            });
        }
        let recipe = tensor_recipe(&manifest)?;
        let spec = &manifest.model;
        let network = network::load(
            bundle,
            &spec.file,
            &spec.sha256,
            &[network_input(&manifest)],
            manifest.classes(),
        )?;
        let limits = DecodeLimits::default();
        let drift = NetworkDrift::of_bundle(manifest.drift.as_ref(), &RECORDS, &labels)?;
        let mut metadata = public_metadata(&manifest, &labels, &limits);
        drift.describe(&mut metadata);
        Ok(ImageService {
            manifest,
            labels,
            recipe,
            limits,
            network,
            drift,
            metadata: serde_json::to_vec(&metadata).expect("plain JSON"),
        })
    }

    pub fn manifest(&self) -> &ImageManifest {
        &self.manifest
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The baselines its events bucket each image's summary and answer against.
    pub fn baselines(&self) -> &Baselines {
        &self.drift.baselines
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network's input for an image file: decode, crop, resize, normalise.
    pub fn tensor(&self, file: &[u8]) -> Result<(Vec<f32>, ImageSummary), ImageError> {
        let image = decode::decode(file, &self.limits).map_err(ImageError::Decode)?;
        let summary = summarize(&image);
        let values = tensor::to_tensor(&image, &self.recipe)
            .map_err(|e| ImageError::Internal(e.to_string()))?;
        Ok((values, summary))
    }

    /// The network's raw output (logits or probabilities, per `output_kind`) for a tensor.
    pub fn scores(&self, tensor: &[f32]) -> Result<Vec<f32>, NetworkError> {
        self.network.run_f32(tensor)
    }

    /// The whole pipeline on one image file.
    pub fn classify(&self, file: &[u8]) -> Result<Classification, ImageError> {
        let (values, summary) = self.tensor(file)?;
        let scores = self
            .scores(&values)
            .map_err(|e| ImageError::Internal(e.to_string()))?;
        let probabilities = if self.manifest.model.output_kind == "logits" {
            softmax(&scores)
        } else {
            scores.iter().map(|&p| f64::from(p)).collect()
        };
        if probabilities.iter().any(|p| !p.is_finite()) {
            return Err(ImageError::Internal(
                "the network's output is not finite".into(),
            ));
        }
        let mut ranking: Vec<usize> = (0..probabilities.len()).collect();
        ranking.sort_by(|&a, &b| {
            probabilities[b]
                .total_cmp(&probabilities[a])
                .then(a.cmp(&b))
        });
        Ok(Classification {
            probabilities,
            ranking,
            summary,
        })
    }

    /// The plain routes; `/predict` takes `image/jpeg`, `image/png` or JSON and reads
    /// `?top_k=`, both checked here, before the body is read.
    pub fn route(
        &self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
    ) -> Result<Route, ApiError> {
        if let Some(v2) = routes::v2(method, target) {
            return Ok(v2);
        }
        let route = routes::plain(method, target, false)?;
        if route != Route::Predict {
            return Ok(route);
        }
        Ok(Route::PredictImage(ImageRoute {
            carrier: request::carrier(content_type)?,
            top_k: request::top_k(
                routes::query(target),
                self.manifest.top_k,
                self.labels.len(),
            )?,
        }))
    }

    pub fn respond_with_outcome(
        &self,
        route: Route,
        body: &[u8],
        instance: InstanceInfo,
    ) -> (Response, Outcome) {
        network_routes::respond(
            self,
            &self.metadata,
            route,
            body,
            instance,
            |route| match route {
                Route::PredictImage(r) => Some(self.predict_image(r, body, instance)),
                _ => None,
            },
        )
    }

    fn predict_image(
        &self,
        route: ImageRoute,
        body: &[u8],
        instance: InstanceInfo,
    ) -> (Response, Outcome) {
        if body.len() > instance.max_body_bytes {
            return routes::refused(ApiError::payload_too_large(instance.max_body_bytes));
        }
        let files = match route.carrier {
            Carrier::Raw if body.is_empty() => return routes::refused(ApiError::empty_body()),
            Carrier::Raw => vec![body.to_vec()],
            Carrier::Json => match request::json_images(body) {
                Ok(files) => files,
                Err(e) => return routes::refused(e),
            },
        };
        let mut classified = Vec::with_capacity(files.len());
        for (i, file) in files.iter().enumerate() {
            match self.classify(file) {
                Ok(c) => classified.push(c),
                Err(ImageError::Decode(e)) => {
                    return routes::refused(refusal(&e, route.carrier, i));
                }
                Err(ImageError::Internal(e)) => return routes::refused(ApiError::internal(e)),
            }
        }
        let body = self.answer(&classified, route.top_k);
        let outcome = self.outcome(&classified, &files);
        (Response::json(200, body), outcome)
    }

    /// The event's share of a classified request: each image's summary and top class.
    fn outcome(&self, classified: &[Classification], files: &[Vec<u8>]) -> Outcome {
        Outcome {
            summaries: classified
                .iter()
                .zip(files)
                .map(|(c, file)| {
                    let s = c.summary;
                    let values = [
                        f64::from(s.width),
                        f64::from(s.height),
                        (s.brightness * 10.0).round() / 10.0,
                        file.len() as f64,
                    ];
                    InputSummary(RECORDS.into_iter().zip(values).collect())
                })
                .collect(),
            predictions: classified
                .iter()
                .map(|c| Prediction::Class {
                    label: c.ranking[0],
                    probabilities: Vec::new(),
                    confidence: c.probabilities[c.ranking[0]],
                })
                .collect(),
            ..Outcome::default()
        }
    }

    fn answer(&self, classified: &[Classification], top_k: usize) -> Vec<u8> {
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
            label: &'a str,
            confidence: f64,
            top_k: Vec<Class<'a>>,
        }
        #[derive(Serialize)]
        struct Class<'a> {
            label: &'a str,
            index: usize,
            probability: f64,
        }
        let predictions = classified
            .iter()
            .map(|c| {
                let best = c.ranking[0];
                Out {
                    label: &self.labels[best],
                    confidence: c.probabilities[best],
                    top_k: c
                        .ranking
                        .iter()
                        .take(top_k)
                        .map(|&i| Class {
                            label: &self.labels[i],
                            index: i,
                            probability: c.probabilities[i],
                        })
                        .collect(),
                }
            })
            .collect();
        serde_json::to_vec(&Body {
            model: ModelRef {
                name: &self.manifest.name,
                version: &self.manifest.version,
            },
            predictions,
        })
        .expect("plain JSON")
    }

    pub fn metadata_json(&self) -> &[u8] {
        &self.metadata
    }
}

/// The 4xx for an image that cannot be read: 415 for a raw body that is no JPEG or PNG
/// (whatever its Content-Type said), 422 naming the image otherwise.
fn refusal(e: &DecodeError, carrier: Carrier, index: usize) -> ApiError {
    match (carrier, e) {
        (Carrier::Raw, DecodeError::Empty) => ApiError::empty_body(),
        (Carrier::Raw, DecodeError::UnsupportedFormat { .. }) => {
            let mut err = ApiError::unsupported_media_type_of(None, "image/jpeg or image/png");
            err.message = e.to_string();
            err
        }
        (Carrier::Raw, _) => {
            ApiError::invalid_input(vec![FieldProblem::new("body", e.to_string())])
        }
        (Carrier::Json, _) => ApiError::invalid_input(vec![FieldProblem::new(
            format!("instances[{index}].image"),
            e.to_string(),
        )]),
    }
}

/// Numerically stable softmax, in f64.
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits
        .iter()
        .map(|&v| f64::from(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|&v| (f64::from(v) - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn summarize(image: &decode::RgbImage8) -> ImageSummary {
    let pixels = image.pixels();
    let sum: f64 = pixels
        .chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .sum();
    let n = (pixels.len() / 3).max(1) as f64;
    ImageSummary {
        width: image.width(),
        height: image.height(),
        brightness: sum / n,
    }
}

fn tensor_recipe(m: &ImageManifest) -> Result<TensorRecipe, LoadError> {
    let i = &m.image;
    let [height, width] = i.input_size;
    let recipe = TensorRecipe {
        width: width as u32,
        height: height as u32,
        crop_fraction: i.crop_fraction,
        filter: Filter::from_name(&i.interpolation)
            .ok_or_else(|| model_error(format!("image.interpolation {:?}", i.interpolation)))?,
        mean: i.mean,
        std: i.std,
        scale: i.scale,
    };
    recipe.validate().map_err(|e| model_error(e.to_string()))?;
    Ok(recipe)
}

fn model_error(message: String) -> LoadError {
    crate::manifest::ManifestError::Model(message).into()
}

/// The one concrete input `[1, 3, H, W]` of float32.
fn network_input(m: &ImageManifest) -> InputSpec {
    InputSpec::concrete(InputType::F32, &m.model.input.shape)
}

/// The bundle as the guest must receive it (the network in its NNEF form). Called by the
/// host at packaging.
#[cfg(feature = "onnx")]
pub fn with_nnef(bundle: &Bundle) -> Result<Bundle, LoadError> {
    let m = ImageManifest::from_json(bundle.require(bundle::MANIFEST)?)?;
    network::bundle_with_nnef(
        bundle,
        &m.model.file,
        &m.model.sha256,
        &[network_input(&m)],
        m.classes(),
    )
}

fn public_metadata(
    m: &ImageManifest,
    labels: &[String],
    limits: &DecodeLimits,
) -> serde_json::Value {
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
                  "output": m.model.output, "output_kind": m.model.output_kind,
                  "runtime": "tract"},
        "files": m.files,
        "image": m.image,
        "top_k": m.top_k,
        "accepts": ["image/jpeg", "image/png", "application/json"],
        "limits": {"max_body_bytes": api::MAX_BODY_BYTES, "max_images": request::MAX_IMAGES,
                   "max_pixels": limits.max_pixels, "max_side": limits.max_side},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12 && p[2] == 0.0);
        let p = softmax(&[0.1, 2.0, -3.5, 0.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[1] > p[0] && p[0] > p[3] && p[3] > p[2]);
    }

    #[test]
    fn refusals_name_the_image() {
        let e = refusal(&DecodeError::Empty, Carrier::Raw, 0);
        assert_eq!(e.status, 400);
        let gif = DecodeError::UnsupportedFormat {
            detected: Some("GIF"),
            head: "47494638".into(),
        };
        let e = refusal(&gif, Carrier::Raw, 0);
        assert_eq!(e.status, 415);
        assert!(e.message.contains("GIF"), "{}", e.message);
        let e = refusal(&gif, Carrier::Json, 3);
        assert_eq!(
            (e.status, e.details[0].field.as_str()),
            (422, "instances[3].image")
        );
    }
}
