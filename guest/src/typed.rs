//! The typed exports: `mlfn:inference/model` (metadata, predict) and
//! `mlfn:inference/packaging` (load-bundle), plus `wizer-initialize`.

use pipeline::manifest::{FeatureType, Task};
use pipeline::{FeatureValue, Prediction};

use exports::mlfn::inference::model as wit;
use exports::mlfn::inference::packaging;

wit_bindgen::generate!({
    path: "../wit",
    world: "inference-function-guest",
});

struct Component;

export!(Component);

impl Guest for Component {
    fn wizer_initialize() {
        crate::preinitialize();
    }
}

impl packaging::Guest for Component {
    fn load_bundle(files: Vec<(String, Vec<u8>)>) -> Result<(), String> {
        crate::load_bundle(files)
    }
}

impl wit::Guest for Component {
    fn metadata() -> wit::ModelInfo {
        let function = match crate::service() {
            Ok(s) => s,
            // Without a model there is nothing to describe; packaging refuses to produce
            // such a component, so only the unpackaged guest gets here.
            Err(e) => panic!("{e}"),
        };
        let metadata_json =
            String::from_utf8(function.metadata_json()).expect("serde_json writes UTF-8");
        let Some(service) = function.tabular() else {
            // A detector of bytes: a classifier without features (its input is the body
            // of `POST /predict`).
            return wit::ModelInfo {
                name: function.name().into(),
                version: function.version().into(),
                task: wit::Task::Classification,
                labels: function.labels().to_vec(),
                features: Vec::new(),
                max_batch: 1,
                metadata_json,
            };
        };
        let m = service.manifest();
        wit::ModelInfo {
            name: m.name.clone(),
            version: m.version.clone(),
            task: match m.task {
                Task::Classification => wit::Task::Classification,
                Task::Regression => wit::Task::Regression,
            },
            labels: m.labels.clone(),
            features: m
                .features
                .iter()
                .map(|f| wit::FeatureSpec {
                    name: f.name.clone(),
                    kind: match f.kind {
                        FeatureType::Number => wit::FeatureType::Number,
                        FeatureType::Integer => wit::FeatureType::Integer,
                        FeatureType::Category => wit::FeatureType::Category,
                    },
                    required: f.required,
                    min: f.range.map(|r| r.min),
                    max: f.range.map(|r| r.max),
                    categories: f.categories.clone().unwrap_or_default(),
                })
                .collect(),
            max_batch: pipeline::MAX_BATCH as u32,
            metadata_json,
        }
    }

    fn predict(instances: Vec<wit::Instance>) -> Result<Vec<wit::Prediction>, wit::PredictError> {
        let service = tabular()?;
        let rows = instances.iter().map(|inst| {
            inst.iter()
                .map(|f| (f.name.as_str(), feature_value(f.value.clone())))
        });
        answer(service, service.predict_typed(rows))
    }

    fn predict_table(
        columns: Vec<String>,
        values: Vec<wit::FeatureValue>,
    ) -> Result<Vec<wit::Prediction>, wit::PredictError> {
        let service = tabular()?;
        let values = values.into_iter().map(feature_value).collect();
        answer(service, service.predict_table(&columns, values))
    }

    fn predict_rows(values: Vec<f64>) -> Result<wit::RowPredictions, wit::PredictError> {
        let service = tabular()?;
        let predictions = service.predict_rows(&values).map_err(predict_error)?;
        Ok(row_predictions(predictions))
    }
}

/// A WIT value as the pipeline's. A category's string becomes the pipeline's `Box<str>`
/// without a copy (the canonical ABI lowers a string with its exact length).
fn feature_value(v: wit::FeatureValue) -> FeatureValue {
    match v {
        wit::FeatureValue::Number(x) => FeatureValue::Number(x),
        wit::FeatureValue::Integer(i) => FeatureValue::Integer(i),
        wit::FeatureValue::Category(s) => FeatureValue::Category(s.into_boxed_str()),
        wit::FeatureValue::Missing => FeatureValue::Missing,
    }
}

/// The tabular service; other kinds take their input over HTTP (`POST /predict` with the
/// bytes), which the typed interface's features cannot carry.
fn tabular() -> Result<&'static pipeline::Service, wit::PredictError> {
    let function = crate::service().map_err(|e| wit::PredictError::Internal(e.into()))?;
    function.tabular().ok_or_else(|| {
        wit::PredictError::InvalidInput(vec![wit::FieldProblem {
            field: "instances".into(),
            problem: "this function classifies bytes: POST them to /predict".into(),
        }])
    })
}

/// A pipeline answer as the WIT types, one `prediction` per instance.
fn answer(
    service: &pipeline::Service,
    result: Result<Vec<Prediction>, pipeline::PredictError>,
) -> Result<Vec<wit::Prediction>, wit::PredictError> {
    let labels = &service.manifest().labels;
    Ok(result
        .map_err(predict_error)?
        .into_iter()
        .map(|p| match p {
            Prediction::Class {
                label,
                probabilities,
                confidence,
            } => wit::Prediction::Class(wit::ClassPrediction {
                label: labels[label].clone(),
                probabilities,
                confidence,
            }),
            Prediction::Value(v) => wit::Prediction::Value(v),
        })
        .collect())
}

/// The pipeline's flat answers as `predict-rows`' (the lists move, nothing is copied).
fn row_predictions(predictions: pipeline::BatchPredictions) -> wit::RowPredictions {
    match predictions {
        pipeline::BatchPredictions::Class {
            label_indices,
            probabilities,
        } => wit::RowPredictions::Class(wit::ClassRows {
            label_indices,
            probabilities,
        }),
        pipeline::BatchPredictions::Value(values) => wit::RowPredictions::Value(values),
    }
}

fn predict_error(e: pipeline::PredictError) -> wit::PredictError {
    match e {
        pipeline::PredictError::InvalidInput(problems) => wit::PredictError::InvalidInput(
            problems
                .into_iter()
                .map(|p| wit::FieldProblem {
                    field: p.field,
                    problem: p.problem,
                })
                .collect(),
        ),
        pipeline::PredictError::Internal(e) => wit::PredictError::Internal(e),
    }
}
