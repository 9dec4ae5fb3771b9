//! WordPiece (or any Hugging Face) tokenisation, by the `tokenizers` crate reading the
//! bundle's `tokenizer.json`: the same code the Python `tokenizers` package runs, so the
//! ids are the reference's. The file's own truncation and padding are replaced by the
//! bundle's: truncate at `max_tokens`, never pad (one unpadded sequence per text).

use tokenizers::{TruncationDirection, TruncationParams, TruncationStrategy};

/// A text as the network takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<i64>,
    pub type_ids: Vec<i64>,
    /// The text had more than `max_tokens` tokens; the rest were dropped.
    pub truncated: bool,
    /// How many of `ids` are the unknown token.
    pub unknown: usize,
}

#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    unknown_id: Option<u32>,
    max_tokens: usize,
}

impl Tokenizer {
    pub fn from_json(json: &[u8], max_tokens: usize) -> Result<Self, String> {
        let mut inner = tokenizers::Tokenizer::from_bytes(json).map_err(|e| e.to_string())?;
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| e.to_string())?;
        inner.with_padding(None);
        let unknown_id = ["[UNK]", "<unk>"].iter().find_map(|t| inner.token_to_id(t));
        Ok(Tokenizer {
            inner,
            unknown_id,
            max_tokens,
        })
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The tokens of `text`, with the model's special tokens (`[CLS] … [SEP]`).
    pub fn encode(&self, text: &str) -> Result<Tokens, String> {
        let e = self.inner.encode(text, true).map_err(|e| e.to_string())?;
        let ids: Vec<i64> = e.get_ids().iter().map(|&i| i64::from(i)).collect();
        let unknown = self
            .unknown_id
            .map_or(0, |u| e.get_ids().iter().filter(|&&i| i == u).count());
        Ok(Tokens {
            type_ids: e.get_type_ids().iter().map(|&i| i64::from(i)).collect(),
            ids,
            truncated: !e.get_overflowing().is_empty(),
            unknown,
        })
    }
}
