//! A bundle as files by name (`manifest.json`, the model file, optionally
//! `reference.json`), so the same loader serves a directory on disk, bytes injected into a
//! component at snapshot time, and tests. Integrity (the model file's sha256 against the
//! manifest) is checked here, before any parsing of the model.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The manifest's file name inside every bundle.
pub const MANIFEST: &str = "manifest.json";
/// The reference fixture's file name (not needed to serve).
pub const REFERENCE: &str = "reference.json";
/// A bundle's script that builds the files too large to commit (from their package).
pub const FETCH_SCRIPT: &str = "fetch.sh";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    files: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{file}: missing from the bundle")]
    Missing { file: String },
    #[error("{file}: sha256 is {actual} but manifest.json model.sha256 says {expected}")]
    Digest {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("{file}: {reason}")]
    BadName { file: String, reason: &'static str },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest.json: {0}")]
    Manifest(String),
    /// A file the bundle builds rather than commits (too large), not built yet.
    #[error("{file} is not there yet: run {script} (it builds the file from its package)")]
    NotFetched { file: String, script: String },
}

impl Bundle {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(name.into(), bytes);
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// A file that must be there.
    pub fn require(&self, name: &str) -> Result<&[u8], BundleError> {
        self.get(name)
            .ok_or_else(|| BundleError::Missing { file: name.into() })
    }

    /// The model file's bytes, after checking them against the manifest's digest.
    pub fn verified(&self, name: &str, sha256_hex: &str) -> Result<&[u8], BundleError> {
        let bytes = self.require(name)?;
        let actual = hex(&Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(sha256_hex) {
            return Err(BundleError::Digest {
                file: name.into(),
                expected: sha256_hex.into(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Reads `manifest.json`, the model file it names and its side files (`files[].file`,
    /// non-tabular kinds); not `reference.json`: serving does not need it, and it can be
    /// large.
    #[cfg(not(target_family = "wasm"))]
    pub fn read_dir(dir: &std::path::Path) -> Result<Bundle, BundleError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|source| {
                let fetch = dir.join(FETCH_SCRIPT);
                if source.kind() == std::io::ErrorKind::NotFound && fetch.is_file() {
                    BundleError::NotFetched {
                        file: dir.join(name).display().to_string(),
                        script: fetch.display().to_string(),
                    }
                } else {
                    BundleError::Io {
                        file: dir.join(name).display().to_string(),
                        source,
                    }
                }
            })
        };
        let manifest = read(MANIFEST)?;
        let mut bundle = Bundle::new();
        for file in file_names(&manifest)? {
            let bytes = read(&file)?;
            bundle.insert(file, bytes);
        }
        bundle.insert(MANIFEST, manifest);
        Ok(bundle)
    }
}

/// `model.file` and every `files[].file` of a manifest, without the rest of the
/// manifest's checks (those run when the bundle loads); refuses names that would leave
/// the bundle directory.
#[cfg(not(target_family = "wasm"))]
fn file_names(manifest: &[u8]) -> Result<Vec<String>, BundleError> {
    let v: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| BundleError::Manifest(e.to_string()))?;
    let model = v["model"]["file"]
        .as_str()
        .ok_or_else(|| BundleError::Manifest("model.file is not a string".into()))?;
    let mut names = vec![model.to_string()];
    for (i, f) in v["files"].as_array().into_iter().flatten().enumerate() {
        let name = f["file"]
            .as_str()
            .ok_or_else(|| BundleError::Manifest(format!("files[{i}].file is not a string")))?;
        names.push(name.into());
    }
    for name in &names {
        if name.is_empty()
            || name.contains(['/', '\\'])
            || name == "."
            || name == ".."
            || name == MANIFEST
        {
            return Err(BundleError::BadName {
                file: name.clone(),
                reason: "bundle files must be plain file names inside the bundle",
            });
        }
    }
    Ok(names)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_digest_is_checked() {
        let mut b = Bundle::new();
        b.insert("model.json", b"abc".to_vec());
        // sha256("abc"), the FIPS 180-2 test vector.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(b.verified("model.json", abc).unwrap(), b"abc");
        let e = b
            .verified("model.json", &abc.replace('b', "c"))
            .unwrap_err();
        assert!(
            e.to_string().starts_with("model.json: sha256 is ba78"),
            "{e}"
        );
        let e = b.verified("other.json", abc).unwrap_err();
        assert_eq!(e.to_string(), "other.json: missing from the bundle");
        assert_eq!(b.names().collect::<Vec<_>>(), ["model.json"]);
    }

    #[test]
    fn read_dir_reads_the_manifest_and_model_only() {
        let dir = std::env::temp_dir().join(format!("pipeline-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST), br#"{"model": {"file": "m.json"}}"#).unwrap();
        std::fs::write(dir.join("m.json"), b"{}").unwrap();
        std::fs::write(dir.join(REFERENCE), b"{}").unwrap();
        let b = Bundle::read_dir(&dir).unwrap();
        assert_eq!(b.names().collect::<Vec<_>>(), ["m.json", MANIFEST]);
        std::fs::write(dir.join(MANIFEST), br#"{"model": {"file": "../m.json"}}"#).unwrap();
        assert!(matches!(
            Bundle::read_dir(&dir),
            Err(BundleError::BadName { .. })
        ));
        // A missing file is an I/O error, or, where the bundle builds it, the script to run.
        std::fs::write(dir.join(MANIFEST), br#"{"model": {"file": "big.onnx"}}"#).unwrap();
        assert!(matches!(
            Bundle::read_dir(&dir),
            Err(BundleError::Io { .. })
        ));
        std::fs::write(dir.join(FETCH_SCRIPT), b"#!/bin/sh\n").unwrap();
        let e = Bundle::read_dir(&dir).unwrap_err().to_string();
        assert!(
            e.ends_with("fetch.sh (it builds the file from its package)"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
