//! magika's own configuration, read from the files the package ships (`config.min.json`
//! and `content_types_kb.min.json`), with the checks and defaults magika's Python
//! `Magika._load_model_config` / `_load_content_types_kb` apply.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `config.min.json`: the windows the model reads and the thresholds on its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub beg_size: usize,
    pub mid_size: usize,
    pub end_size: usize,
    pub use_inputs_at_offsets: bool,
    pub medium_confidence_threshold: f64,
    pub min_file_size_for_dl: usize,
    pub padding_token: i32,
    pub block_size: usize,
    pub target_labels_space: Vec<String>,
    pub thresholds: BTreeMap<String, f64>,
    pub overwrite_map: BTreeMap<String, String>,
    pub protection: String,
    pub aes_key_hex: String,
    pub version_major: u32,
}

/// What magika knows of one content type; defaults as the package fills them in.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentType {
    pub label: String,
    pub group: String,
    pub mime_type: String,
    pub description: String,
    pub is_text: bool,
}

#[derive(Debug, Deserialize)]
struct KbEntry {
    mime_type: Option<String>,
    group: Option<String>,
    description: Option<String>,
    #[allow(dead_code)] // read so the entry's shape is checked; not served
    extensions: Vec<String>,
    is_text: bool,
}

/// The labels magika answers without the model.
pub const EMPTY: &str = "empty";
pub const TXT: &str = "txt";
pub const UNKNOWN: &str = "unknown";

impl ModelConfig {
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let c: ModelConfig = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        // What magika's feature extraction v2 supports (it asserts the same).
        if c.mid_size != 0 || c.use_inputs_at_offsets {
            return Err("mid_size must be 0 and use_inputs_at_offsets false".into());
        }
        if c.beg_size >= c.block_size || c.end_size >= c.block_size {
            return Err("beg_size and end_size must be below block_size".into());
        }
        if c.min_file_size_for_dl == 0 || c.min_file_size_for_dl > c.beg_size {
            return Err("min_file_size_for_dl must be in 1..=beg_size".into());
        }
        if c.protection != "none" {
            return Err(format!("protection {:?} is not supported", c.protection));
        }
        Ok(c)
    }

    /// Input length of the model: the beginning window then the end window.
    pub fn input_len(&self) -> usize {
        self.beg_size + self.end_size
    }

    /// The score a model label needs to stand (HIGH_CONFIDENCE mode, magika's default).
    pub fn threshold(&self, label: &str) -> f64 {
        self.thresholds
            .get(label)
            .copied()
            .unwrap_or(self.medium_confidence_threshold)
    }
}

/// `content_types_kb.min.json`, by label.
#[derive(Debug, Clone)]
pub struct ContentTypes {
    by_label: BTreeMap<String, ContentType>,
}

impl ContentTypes {
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let raw: BTreeMap<String, KbEntry> =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let by_label = raw
            .into_iter()
            .map(|(label, e)| {
                let default_mime = if e.is_text {
                    "text/plain"
                } else {
                    "application/octet-stream"
                };
                let ct = ContentType {
                    mime_type: e.mime_type.unwrap_or_else(|| default_mime.into()),
                    group: e.group.unwrap_or_else(|| "unknown".into()),
                    description: e.description.unwrap_or_else(|| label.clone()),
                    is_text: e.is_text,
                    label: label.clone(),
                };
                (label, ct)
            })
            .collect();
        Ok(ContentTypes { by_label })
    }

    pub fn get(&self, label: &str) -> Option<&ContentType> {
        self.by_label.get(label)
    }

    /// Every label, sorted (the index space of events' labels).
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.by_label.keys().map(String::as_str)
    }

    /// Every label the detector can answer must be described: the model's, what the
    /// overwrite map turns them into, and the ones answered without the model.
    pub fn check_covers(&self, config: &ModelConfig) -> Result<(), String> {
        let needed = config
            .target_labels_space
            .iter()
            .chain(config.overwrite_map.values())
            .map(String::as_str)
            .chain([EMPTY, TXT, UNKNOWN]);
        for label in needed {
            if self.get(label).is_none() {
                return Err(format!("label {label:?} has no content type entry"));
            }
        }
        Ok(())
    }
}
