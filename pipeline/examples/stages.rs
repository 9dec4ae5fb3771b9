//! Times the pipeline's stages (validation, preprocessing, estimator) on a bundle's
//! reference rows, one row and a batch of 256. Built natively and for wasm32-wasip2, it
//! shows what running inside wasm costs each stage:
//!
//!   cargo run --release -p pipeline --example stages -- models/breast-cancer-forest
//!   cargo build --release -p pipeline --example stages --target wasm32-wasip2
//!   wasmtime run --dir models target/wasm32-wasip2/release/examples/stages.wasm models/breast-cancer-forest

use std::hint::black_box;
use std::time::Instant;

use pipeline::reference::Reference;
use pipeline::{Bundle, Cell, FeatureValue, Service};

/// Median over `samples` of the mean time of `per_sample` calls: a call of one row takes
/// well under a microsecond, and in wasm each clock read is a call to the host.
fn median_us(mut f: impl FnMut(), samples: usize, per_sample: usize) -> f64 {
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_sample {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / per_sample as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: stages BUNDLE_DIR");
    let dir = std::path::Path::new(&dir);
    // Bundle::read_dir is native-only (the guest gets its files from the host).
    let mut bundle = Bundle::new();
    for file in ["manifest.json", "model.json"] {
        bundle.insert(file, std::fs::read(dir.join(file)).unwrap());
    }
    let service = Service::load(&bundle).unwrap();
    let reference =
        Reference::from_json(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    for batch in [1usize, 256] {
        let pairs: Vec<Vec<(String, FeatureValue)>> = reference
            .rows
            .iter()
            .cycle()
            .take(batch)
            .map(|r| {
                r.features
                    .iter()
                    .map(|(k, v)| (k.clone(), FeatureValue::from_json(v)))
                    .collect()
            })
            .collect();
        let validate = || {
            pairs
                .iter()
                .map(|r| {
                    service
                        .schema()
                        .validate(r.iter().map(|(k, v)| (k.as_str(), v.clone())), "")
                        .unwrap()
                })
                .collect::<Vec<_>>()
        };
        let rows = validate();
        let input = service.transform(&rows);
        // The dense form `predict-rows` takes: numbers in feature order.
        let values: Vec<f64> = rows
            .iter()
            .flat_map(|r| {
                r.cells.iter().map(|c| match c {
                    Some(Cell::Number(x)) => *x,
                    Some(Cell::Category(k)) => *k as f64,
                    Some(Cell::UnknownCategory) | None => f64::NAN,
                })
            })
            .collect();
        let (n, k) = if batch == 1 { (500, 100) } else { (300, 1) };
        let v = median_us(|| drop(black_box(validate())), n, k);
        let t = median_us(
            || drop(black_box(service.transform(black_box(&rows)))),
            n,
            k,
        );
        let e = median_us(
            || {
                drop(black_box(
                    service.model().predict(black_box(&input)).unwrap(),
                ))
            },
            n,
            k,
        );
        let all = median_us(
            || {
                let batch = pairs
                    .iter()
                    .map(|r| r.iter().map(|(k, v)| (k.as_str(), v.clone())));
                drop(black_box(service.predict_typed(batch).unwrap()))
            },
            n,
            k,
        );
        let dense = median_us(
            || drop(black_box(service.predict_rows(black_box(&values)).unwrap())),
            n,
            k,
        );
        println!(
            "batch {batch:>3}: validate {v:8.2} µs  preprocess {t:8.2} µs  estimator {e:8.2} µs  predict_typed {all:8.2} µs  predict_rows {dense:8.2} µs"
        );
    }
}
