//! Tree ensembles natively: one row and a batch of 256 through `Service::predict`
//! (validation excluded; preprocessing, trees and link included) for the tree bundles in
//! `models/` (`breast-cancer-forest`: 200-tree RandomForest; `wine-gb`: 300-round depth-3
//! GradientBoosting) and any `target/pack-cases/tree*`. Rows are the bundle's reference
//! rows, cycled. Compare with bench/trees (onnxruntime, 1 thread).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use pipeline::reference::Reference;
use pipeline::{Bundle, Row, Service};

const BATCH: usize = 256;

fn tree_bundles() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<PathBuf> = ["breast-cancer-forest", "wine-gb"]
        .iter()
        .map(|n| root.join("models").join(n))
        .filter(|d| d.join("manifest.json").exists())
        .collect();
    if let Ok(cases) = std::fs::read_dir(root.join("target/pack-cases")) {
        let mut extra: Vec<PathBuf> = cases
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("tree"))
                    && p.join("manifest.json").exists()
            })
            .collect();
        extra.sort();
        dirs.extend(extra);
    }
    dirs
}

fn bench(c: &mut Criterion) {
    for dir in tree_bundles() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let service = Service::load(&Bundle::read_dir(&dir).unwrap()).unwrap();
        let reference =
            Reference::from_json(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
        let rows: Vec<Row> = reference
            .rows
            .iter()
            .cycle()
            .take(BATCH)
            .map(|r| service.schema().validate_json(&r.features, "").unwrap())
            .collect();
        let mut g = c.benchmark_group(format!("trees/{name}"));
        g.bench_function("one row", |b| {
            b.iter(|| service.predict(black_box(&rows[..1])).unwrap())
        });
        g.bench_function("batch 256", |b| {
            b.iter(|| service.predict(black_box(&rows)).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
