//! magika's feature extraction (v2), as its Python package does it
//! (`Magika._get_result_or_features_from_seekable` and `_extract_features_from_seekable`):
//! the first and last `block_size` bytes, whitespace stripped off the outer ends, cut or
//! padded to `beg_size` / `end_size` with `padding_token`. Inputs too short for the model
//! are decided by the few-bytes rule instead.

use super::config::{EMPTY, ModelConfig, TXT, UNKNOWN};

/// What the extraction decides about an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// Answered without the model (score 1.0): `empty`, `txt` or `unknown`.
    Decided(&'static str),
    /// The model's input: `beg_size` then `end_size` values, 0..=255 or the padding token.
    Features(Vec<i32>),
}

/// Python's `bytes.strip()` whitespace: space, \t, \n, \v, \f, \r (Rust's
/// `is_ascii_whitespace` leaves out \v).
fn is_python_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The beginning window: the block with leading whitespace removed, its first `size`
/// bytes, padded at the end.
fn beg_window(block: &[u8], size: usize, padding: i32) -> Vec<i32> {
    let start = block
        .iter()
        .position(|&b| !is_python_space(b))
        .unwrap_or(block.len());
    let stripped = &block[start..];
    let mut v: Vec<i32> = stripped.iter().take(size).map(|&b| i32::from(b)).collect();
    v.resize(size, padding);
    v
}

/// The end window: the block with trailing whitespace removed, its last `size` bytes,
/// padded at the beginning.
fn end_window(block: &[u8], size: usize, padding: i32) -> Vec<i32> {
    let end = block
        .iter()
        .rposition(|&b| !is_python_space(b))
        .map_or(0, |i| i + 1);
    let stripped = &block[..end];
    let tail = &stripped[stripped.len().saturating_sub(size)..];
    let mut v = vec![padding; size - tail.len()];
    v.extend(tail.iter().map(|&b| i32::from(b)));
    v
}

/// The few-bytes rule: text if the bytes are valid UTF-8 (Python's strict decoder, the
/// same as Rust's), else unknown.
fn few_bytes(content: &[u8]) -> &'static str {
    if std::str::from_utf8(content).is_ok() {
        TXT
    } else {
        UNKNOWN
    }
}

/// Extraction for one input.
pub fn extract(content: &[u8], config: &ModelConfig) -> Extracted {
    let size = content.len();
    if size == 0 {
        return Extracted::Decided(EMPTY);
    }
    if size < config.min_file_size_for_dl {
        return Extracted::Decided(few_bytes(content));
    }
    let n = config.block_size.min(size);
    let beg = beg_window(&content[..n], config.beg_size, config.padding_token);
    // Too little besides whitespace at the start: magika applies the few-bytes rule to
    // the first block (not the whole input).
    if beg[config.min_file_size_for_dl - 1] == config.padding_token {
        return Extracted::Decided(few_bytes(&content[..n]));
    }
    let mut features = beg;
    features.extend(end_window(
        &content[size - n..],
        config.end_size,
        config.padding_token,
    ));
    Extracted::Features(features)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(beg: usize, end: usize, block: usize, min: usize) -> ModelConfig {
        ModelConfig {
            beg_size: beg,
            mid_size: 0,
            end_size: end,
            use_inputs_at_offsets: false,
            medium_confidence_threshold: 0.5,
            min_file_size_for_dl: min,
            padding_token: 256,
            block_size: block,
            target_labels_space: vec![],
            thresholds: Default::default(),
            overwrite_map: Default::default(),
            protection: "none".into(),
            aes_key_hex: String::new(),
            version_major: 3,
        }
    }

    const P: i32 = 256;

    #[test]
    fn windows_strip_cut_and_pad_as_python() {
        let c = config(4, 4, 8, 2);
        // Python: b"  abcdef \n"[:8].lstrip() = b"abcdef", beg = b"abcd";
        // b"  abcdef \n"[-8:].rstrip() = b"abcdef", end = b"cdef".
        let e = extract(b"  abcdef \n", &c);
        let s = |x: &[u8]| x.iter().map(|&b| i32::from(b)).collect::<Vec<_>>();
        assert_eq!(e, Extracted::Features([s(b"abcd"), s(b"cdef")].concat()));
        // Short: only the outer end is stripped (\v and \f count as space); beg is
        // padded at the end, end at the start.
        let e = extract(b"\x0bxy\x0c", &c);
        assert_eq!(
            e,
            Extracted::Features(vec![120, 121, 12, P, P, 11, 120, 121])
        );
    }

    #[test]
    fn inputs_decided_without_the_model() {
        let c = config(4, 4, 8, 3);
        assert_eq!(extract(b"", &c), Extracted::Decided(EMPTY));
        assert_eq!(extract(b"ab", &c), Extracted::Decided(TXT));
        assert_eq!(extract(b"\xff\xfe", &c), Extracted::Decided(UNKNOWN));
        // Two non-space bytes in the first block: beg[2] is padding → few bytes of the
        // first block (8 bytes), which is valid UTF-8 here.
        assert_eq!(extract(b"      ab      xyz", &c), Extracted::Decided(TXT));
        // The first block ends inside a UTF-8 sequence: unknown, as in Python.
        let mut v = b"       ".to_vec();
        v.extend("é".as_bytes());
        assert_eq!(extract(&v, &c), Extracted::Decided(UNKNOWN));
    }
}
