//! Chooses the model bundle the component embeds: `MODEL_BUNDLE` names a directory under
//! `models/` (default `breast-cancer`) or is a path to a bundle directory.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=MODEL_BUNDLE");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let bundle = std::env::var("MODEL_BUNDLE").unwrap_or_else(|_| "breast-cancer".into());
    let dir = if bundle.contains('/') {
        PathBuf::from(&bundle)
    } else {
        manifest_dir.join("..").join("models").join(&bundle)
    };
    let dir = dir.canonicalize().unwrap_or_else(|e| {
        panic!(
            "MODEL_BUNDLE={bundle}: no bundle directory at {}: {e}",
            dir.display()
        )
    });
    for file in ["manifest.json", "model.onnx"] {
        let path = dir.join(file);
        assert!(
            path.is_file(),
            "MODEL_BUNDLE={bundle}: {} is missing",
            path.display()
        );
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rustc-env=BUNDLE_DIR={}", display(&dir));
    println!("cargo:rerun-if-changed=../wit");
}

fn display(p: &Path) -> String {
    p.to_str().expect("bundle path must be UTF-8").to_string()
}
