//! Criterion benches of the function in-process, so the wasm/native ratio comes from one
//! run, for every bundle under `models/`:
//! - cold start: a fresh instance of the packaged component from the `InstancePre` to its
//!   first prediction;
//! - warm predict of one row on a live instance, in wasm;
//! - the same pipeline code (validation, preprocessing, estimator, postprocessing), native.
//!
//! `cargo bench -p host` (CI only compiles them: `cargo bench --no-run`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use host::typed::{self, Feature};
use host::{PoolLimits, guests};

fn input(
    dir: &std::path::Path,
) -> (
    serde_json::Map<String, serde_json::Value>,
    Vec<Vec<Feature>>,
) {
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
    let guest = std::fs::read(guests::TABULAR_GUEST).unwrap();
    for dir in guests::bundle_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let (row, instances) = input(&dir);
        let runtime = rt
            .block_on(host::package::package_dir(
                &guest,
                &dir,
                PoolLimits::default(),
            ))
            .unwrap()
            .runtime;
        let mut group = c.benchmark_group(name.as_str());
        group.bench_function("cold_start", |b| {
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
        let mut store = runtime.new_store();
        let f = rt.block_on(runtime.instantiate_typed(&mut store)).unwrap();
        group.bench_function("warm_wasm", |b| {
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
        let service = pipeline::Service::load(&host::package::read_bundle(&dir).unwrap()).unwrap();
        let native: Vec<(String, pipeline::FeatureValue)> = row
            .iter()
            .map(|(k, v)| (k.clone(), pipeline::FeatureValue::from_json(v)))
            .collect();
        group.bench_function("warm_native", |b| {
            b.iter(|| {
                // block_on of a ready future, as the wasm side pays it too.
                black_box(rt.block_on(async {
                    service
                        .predict_typed([native.iter().map(|(k, v)| (k.as_str(), v.clone()))])
                        .unwrap()
                }))
            })
        });
        group.finish();
    }
}

criterion_group!(inference, benches);
criterion_main!(inference);
