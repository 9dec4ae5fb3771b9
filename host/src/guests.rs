//! What `build.rs` built: the model-less guest component and the test-only fault
//! component; and where the repository's bundles are.

use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The bundle `serve`, `run` and `info` use when given nothing.
pub const DEFAULT_BUNDLE: &str = "breast-cancer";

/// `models/<name>` of this repository.
pub fn bundle_dir(name: &str) -> PathBuf {
    PathBuf::from(MODELS_DIR).join(name)
}

/// Every bundle directory under `models/` (a directory with a `manifest.json`), sorted:
/// tests discover bundles rather than list them.
pub fn bundle_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(MODELS_DIR)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    dirs
}
