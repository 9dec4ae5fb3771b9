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

/// Every tabular bundle directory under `models/` (a directory with a `manifest.json` of
/// kind `tabular`), sorted: tests discover bundles rather than list them.
pub fn bundle_dirs() -> Vec<PathBuf> {
    bundle_dirs_of_kind("tabular")
}

/// The guest a bundle in `dir` is packaged into unless another is named: the tabular
/// build for tabular bundles (no tract, tokenizer or image decoders: a fraction of the
/// size), the full guest for the network kinds.
pub fn for_bundle(dir: &std::path::Path) -> &'static str {
    match bundle_kind(dir).as_deref() {
        Some("tabular") => TABULAR_GUEST,
        _ => GUEST,
    }
}

/// Every bundle directory under `models/` whose manifest says `kind`, sorted.
pub fn bundle_dirs_of_kind(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(MODELS_DIR)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| bundle_kind(p).as_deref() == Some(kind))
        .collect();
    dirs.sort();
    dirs
}

/// The `kind` of the bundle in `dir` (`None`: no readable manifest.json there).
pub fn bundle_kind(dir: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(dir.join("manifest.json")).ok()?;
    pipeline::manifest::kind_of(&bytes).ok()
}
