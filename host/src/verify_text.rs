//! The packaging gate of a `text` bundle: every sample of its `reference.json` (a text,
//! the ids the Python `tokenizers` package gave it and onnxruntime's pooled embedding)
//! posted to the packaged component's `/predict`, in process, each in a fresh instance.
//! The token count must be the reference's and the embedding's cosine with the
//! reference's at least `MIN_COSINE` (tract and onnxruntime sum in different orders).

use wasmtime::{Result, format_err};

use crate::direct;
use crate::runtime::Runtime;
use crate::verify::Verdict;

/// Smallest accepted cosine between the component's embedding and the reference's.
pub const MIN_COSINE: f64 = 0.9999;

/// `reference.json` of a text bundle (written by models/<name>/make.py).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TextReference {
    pub model: String,
    pub version: String,
    kind: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Sample {
    pub origin: String,
    pub text: String,
    /// The Python `tokenizers` package's ids, truncated at the bundle's `max_tokens`.
    pub input_ids: Vec<i64>,
    /// onnxruntime on those ids, mean-pooled and normalised.
    pub embedding: Vec<f64>,
}

impl TextReference {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let r: TextReference = serde_json::from_slice(bytes)?;
        if r.kind != pipeline::text::manifest::KIND {
            wasmtime::bail!("kind {:?}, expected text", r.kind);
        }
        Ok(r)
    }
}

/// The cosine of two vectors (0 when either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// One `/predict` answer for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub embedding: Vec<f64>,
    pub tokens: usize,
}

impl Answer {
    /// Every prediction of a 200 answer's body (`{"predictions": [{"embedding", "tokens"}]}`).
    pub fn all_from_body(body: &[u8]) -> Result<Vec<Self>> {
        let v: serde_json::Value = serde_json::from_slice(body)?;
        let predictions = v["predictions"]
            .as_array()
            .ok_or_else(|| format_err!("no predictions list: {v}"))?;
        predictions
            .iter()
            .map(|p| {
                let embedding = p["embedding"]
                    .as_array()
                    .ok_or_else(|| format_err!("embedding is not a list: {p}"))?
                    .iter()
                    .map(|x| x.as_f64().ok_or_else(|| format_err!("not a number: {x}")))
                    .collect::<Result<Vec<_>>>()?;
                let tokens = p["tokens"]
                    .as_u64()
                    .ok_or_else(|| format_err!("tokens is not a count: {p}"))?;
                Ok(Answer {
                    embedding,
                    tokens: usize::try_from(tokens)?,
                })
            })
            .collect()
    }
}

impl Sample {
    /// `1 - cosine` when the answer agrees, else what differs.
    pub fn check(&self, a: &Answer) -> std::result::Result<f64, String> {
        if a.tokens != self.input_ids.len() {
            return Err(format!(
                "{} tokens where the Python tokenizer gives {}",
                a.tokens,
                self.input_ids.len()
            ));
        }
        let c = cosine(&a.embedding, &self.embedding);
        if c < MIN_COSINE {
            return Err(format!("cosine {c} with the reference, below {MIN_COSINE}"));
        }
        Ok(1.0 - c)
    }
}

/// POSTs `{"texts": texts}` to the component's `/predict` in a fresh instance.
pub async fn post_texts(runtime: &Runtime, texts: &[&str]) -> Result<direct::DirectResponse> {
    let body = serde_json::to_vec(&serde_json::json!({ "texts": texts }))?;
    direct::post_predict(runtime, "application/json", body).await
}

/// Every sample through the component, one request each.
pub async fn verify(runtime: &Runtime, reference: &TextReference) -> Result<Verdict> {
    let mut verdict = Verdict::new();
    for (i, sample) in reference.samples.iter().enumerate() {
        let reply = post_texts(runtime, &[&sample.text]).await?;
        let outcome = if reply.status != 200 {
            Err(format!(
                "answered {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ))
        } else {
            let answers = Answer::all_from_body(&reply.body)?;
            match answers.as_slice() {
                [a] => sample.check(a),
                _ => Err(format!("{} predictions for one text", answers.len())),
            }
        };
        verdict.record_check(i, &sample.origin, outcome, "within tolerance (1 - cosine)");
    }
    Ok(verdict)
}
