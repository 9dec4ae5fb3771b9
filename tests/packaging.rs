//! Bring your own model, end to end: real fitted pipelines — every supported
//! preprocessing step and estimator (pack/cases/cases_*.py) — packed by the real
//! `mlfn-pack` CLI, packaged into the guest by `host package`'s code (which runs every
//! reference row through the component and refuses on a mismatch), then served over HTTP
//! and checked row by row against sklearn's own outputs. Plus the packager's own pytest
//! suite (unsupported steps exit 2, bit-exact preprocessing, exporters).
//!
//! Python tooling (scikit-learn, xgboost, lightgbm, the `pack/` package) is installed by
//! tests/tools/pack-venv.sh into target/pack-venv, once.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::repo_root;
use host::PoolLimits;

/// Every case bundle, generated (idempotently) under target/pack-cases.
fn case_bundles() -> Vec<PathBuf> {
    let out_dir = repo_root().join("target/pack-cases");
    let out = Command::new(common::pack_python())
        .arg(repo_root().join("pack/cases/make_cases.py"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make_cases.py failed:\n{}",
        common::output_text(&out)
    );
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Every reference row over HTTP, batched, against the reference.
async fn check_over_http(dir: &Path, runtime: host::Runtime) -> f64 {
    let reference = pipeline::reference::Reference::from_json(
        &std::fs::read(dir.join("reference.json")).unwrap(),
    )
    .unwrap();
    let srv = host::server::spawn(std::sync::Arc::new(runtime), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    common::check_rows_over_http(srv.addr, &reference, &dir.display().to_string()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_supported_pipeline_is_packaged_verified_and_served() {
    let cases = case_bundles();
    assert!(cases.len() >= 20, "only {} cases generated", cases.len());
    let mut report = Vec::new();
    for dir in &cases {
        let t = std::time::Instant::now();
        let packaged =
            host::package::package_dir(&common::guest_for(dir), dir, PoolLimits::default())
                .await
                .unwrap_or_else(|e| panic!("packaging {}: {e:#}", dir.display()));
        let package_time = t.elapsed();
        let worst = check_over_http(dir, packaged.runtime).await;
        report.push(format!(
            "{:<40} {:>9} bytes  packaged in {:>7.1?}  worst HTTP difference {worst:.2e}",
            dir.file_name().unwrap().to_string_lossy(),
            packaged.wasm.len(),
            package_time
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// The packager's own tests: refusals (exit 2, one message, nothing written), bit-exact
/// preprocessing, exporters against the libraries.
#[test]
fn the_packager_test_suite_passes() {
    let out = Command::new(common::pack_python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(repo_root().join("pack/tests"))
        .current_dir(repo_root())
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert!(out.status.success(), "pytest failed:\n{text}");
    assert!(text.contains(" passed"), "{text}");
    eprintln!("{}", text.lines().last().unwrap_or_default());
}
