//! From the model's scores to magika's answer, as `Magika._get_output_label_from_dl_label_and_score`
//! does it in its default HIGH_CONFIDENCE mode: the first highest score names the model's
//! label; the overwrite map may rename it; below the label's threshold the answer falls
//! back to `txt` for a text type and `unknown` otherwise.

use super::config::ContentTypes;
use super::config::{ModelConfig, TXT, UNKNOWN};

/// The detector's answer for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The answer (magika's `output.label`).
    pub label: String,
    /// The model's own label (magika's `dl.label`); `undefined` when the model did not run.
    pub model_label: String,
    /// The model's score for its label (1.0 when the model did not run).
    pub score: f64,
}

/// The label and score of the first highest score (Python's `max(range, key=...)`).
fn top(scores: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &s) in scores.iter().enumerate() {
        if s > best.1 {
            best = (i, s);
        }
    }
    best
}

/// magika's answer for the model's scores.
pub fn decide(scores: &[f32], config: &ModelConfig, types: &ContentTypes) -> Detection {
    let (index, score) = top(scores);
    let model_label = &config.target_labels_space[index];
    // Python compares the float32 score widened to a float64 with the float64 threshold.
    let score = f64::from(score);
    let renamed = config.overwrite_map.get(model_label).unwrap_or(model_label);
    let label = if score >= config.threshold(model_label) {
        renamed.clone()
    } else if types.get(renamed).is_some_and(|t| t.is_text) {
        TXT.to_string()
    } else {
        UNKNOWN.to_string()
    };
    Detection {
        label,
        model_label: model_label.clone(),
        score,
    }
}

/// The answer for an input decided without the model.
pub fn decided(label: &str) -> Detection {
    Detection {
        label: label.to_string(),
        model_label: "undefined".to_string(),
        score: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (ModelConfig, ContentTypes) {
        let config = ModelConfig::from_json(
            br#"{"beg_size": 4, "mid_size": 0, "end_size": 4, "use_inputs_at_offsets": false,
                "medium_confidence_threshold": 0.5, "min_file_size_for_dl": 2,
                "padding_token": 256, "block_size": 8,
                "target_labels_space": ["pdf", "markdown", "randomtxt", "randombytes"],
                "thresholds": {"markdown": 0.75},
                "overwrite_map": {"randombytes": "unknown", "randomtxt": "txt"},
                "protection": "none", "aes_key_hex": "", "version_major": 3}"#,
        )
        .unwrap();
        let types = ContentTypes::from_json(
            br#"{"pdf": {"mime_type": "application/pdf", "group": "document", "description": "PDF", "extensions": ["pdf"], "is_text": false},
                "markdown": {"mime_type": null, "group": "text", "description": null, "extensions": [], "is_text": true},
                "randomtxt": {"mime_type": null, "group": null, "description": null, "extensions": [], "is_text": true},
                "randombytes": {"mime_type": null, "group": null, "description": null, "extensions": [], "is_text": false},
                "txt": {"mime_type": "text/plain", "group": "text", "description": null, "extensions": [], "is_text": true},
                "unknown": {"mime_type": null, "group": null, "description": null, "extensions": [], "is_text": false},
                "empty": {"mime_type": "inode/x-empty", "group": "inode", "description": null, "extensions": [], "is_text": false}}"#,
        )
        .unwrap();
        types.check_covers(&config).unwrap();
        (config, types)
    }

    #[test]
    fn thresholds_and_overwrites_as_magika() {
        let (c, t) = setup();
        let label = |scores: &[f32]| decide(scores, &c, &t).label;
        assert_eq!(label(&[0.5, 0.2, 0.2, 0.1]), "pdf"); // at the default threshold
        assert_eq!(label(&[0.49, 0.2, 0.2, 0.11]), "unknown"); // below it, binary
        assert_eq!(label(&[0.1, 0.74, 0.1, 0.06]), "txt"); // markdown needs 0.75, text
        assert_eq!(label(&[0.1, 0.75, 0.1, 0.05]), "markdown");
        assert_eq!(label(&[0.0, 0.0, 0.0, 1.0]), "unknown"); // overwrite map
        assert_eq!(label(&[0.0, 0.0, 1.0, 0.0]), "txt");
        // A tie goes to the first label.
        let d = decide(&[0.5, 0.5, 0.0, 0.0], &c, &t);
        assert_eq!((d.label.as_str(), d.model_label.as_str()), ("pdf", "pdf"));
        // Content type defaults as the package fills them in.
        let md = t.get("markdown").unwrap();
        assert_eq!(
            (md.mime_type.as_str(), md.description.as_str()),
            ("text/plain", "markdown")
        );
        assert_eq!(t.get("unknown").unwrap().group, "unknown");
    }
}
