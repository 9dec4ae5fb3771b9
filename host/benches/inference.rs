//! Criterion benches of the function in-process, so the wasm/native ratio and the
//! snapshot/plain ratio come from one run:
//! - cold start: a fresh instance from the `InstancePre` to its first prediction,
//!   pre-initialised snapshot and plain component;
//! - warm predict of one row on a live instance, in wasm;
//! - the same pipeline code (validation, preprocessing, tract, postprocessing), native.
//!
//! `cargo bench -p host` (CI only compiles them: `cargo bench --no-run`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use host::typed::{self, Feature};
use host::{PoolLimits, Prepare, Runtime, guests};

const BUNDLE: &str = "breast-cancer";

fn input() -> (
    serde_json::Map<String, serde_json::Value>,
    Vec<Vec<Feature>>,
) {
    let dir = host::bench::bundle_dir(BUNDLE);
    let reference = pipeline::reference::Reference::from_json(
        &std::fs::read(dir.join("reference.json")).unwrap(),
    )
    .unwrap();
    let row = reference.rows[0].features.clone();
    let typed = vec![typed::instance(&row).unwrap()];
    (row, typed)
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let wasm = guests::guest_path(BUNDLE).unwrap();
    let (row, instances) = input();

    let mut cold = c.benchmark_group("cold_start");
    for (name, prepare) in [("snapshot", Prepare::Snapshot), ("plain", Prepare::AsIs)] {
        let runtime = rt
            .block_on(Runtime::load(&wasm, PoolLimits::default(), prepare))
            .unwrap();
        cold.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let mut store = runtime.new_store();
                let f = runtime.instantiate_typed(&mut store).await.unwrap();
                black_box(
                    f.mlfn_inference_model()
                        .call_predict(&mut store, &instances)
                        .await
                        .unwrap()
                        .unwrap(),
                )
            })
        });
    }
    cold.finish();

    let mut warm = c.benchmark_group("warm_predict");
    let runtime = rt
        .block_on(Runtime::load(
            &wasm,
            PoolLimits::default(),
            Prepare::Snapshot,
        ))
        .unwrap();
    let mut store = runtime.new_store();
    let f = rt.block_on(runtime.instantiate_typed(&mut store)).unwrap();
    warm.bench_function("wasm", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(
                    f.mlfn_inference_model()
                        .call_predict(&mut store, &instances),
                )
                .unwrap()
                .unwrap(),
            )
        })
    });
    let dir = host::bench::bundle_dir(BUNDLE);
    let service = pipeline::Service::load(
        &std::fs::read(dir.join("manifest.json")).unwrap(),
        &std::fs::read(dir.join("model.onnx")).unwrap(),
    )
    .unwrap();
    let native: Vec<(String, pipeline::FeatureValue)> = row
        .iter()
        .map(|(k, v)| (k.clone(), pipeline::FeatureValue::from_json(v)))
        .collect();
    warm.bench_function("native", |b| {
        b.iter(|| {
            // block_on of a ready future, as the wasm side pays it too.
            black_box(rt.block_on(async {
                service
                    .predict_typed([native.iter().map(|(k, v)| (k.as_str(), v.clone()))])
                    .unwrap()
            }))
        })
    });
    warm.finish();
}

criterion_group!(inference, benches);
criterion_main!(inference);
