//! The `/predict` body of a text function: `{"texts": ["...", ...]}`, with its limits.
//! Every problem is a 4xx that names it: not JSON (400), not that shape, too many or too
//! long texts (422, each problem by field, at most `api::MAX_PROBLEMS`).

use serde_json::Value;

use crate::api::ApiError;
use crate::schema::{FieldProblem, Problems};

/// Most texts one request may carry: each runs the network once.
pub const MAX_TEXTS: usize = 32;
/// Longest text accepted, in UTF-8 bytes. Texts are truncated at the model's token limit
/// after tokenising, and tokenising costs per byte: this bounds that cost. 16 KiB holds
/// several times the 256 tokens the model reads.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Most tokens one request may run through the network, all texts together (after each
/// is truncated): the network's cost grows with them, and a request must finish within
/// the host's deadline (2 s by default). Measured in wasm on a quiet 2-core machine
/// (all-MiniLM-L6-v2): one 256-token text 0.56–0.65 s, two 1.0 s, four 1.9 s.
pub const MAX_REQUEST_TOKENS: usize = 512;

/// Refuses a request whose texts hold more than `MAX_REQUEST_TOKENS` tokens in all.
pub fn check_tokens(counts: impl Iterator<Item = usize>) -> Result<(), ApiError> {
    let total: usize = counts.sum();
    if total <= MAX_REQUEST_TOKENS {
        return Ok(());
    }
    Err(ApiError::invalid_input(vec![FieldProblem::new(
        "texts",
        format!(
            "{total} tokens in all (each text truncated); at most {MAX_REQUEST_TOKENS} per \
             request: send fewer or shorter texts"
        ),
    )]))
}

/// The texts of a request body.
pub fn parse(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::malformed_json(&e))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::invalid_input(vec![FieldProblem::new(
            "",
            "the body must be an object {\"texts\": [\"...\", ...]}",
        )]));
    };
    let mut problems = Problems::new();
    let mut problem = |field: &dyn Fn() -> String, problem: &dyn Fn() -> String| {
        problems.push(|| FieldProblem::new(field(), problem()))
    };
    for key in object.keys().filter(|k| *k != "texts") {
        problem(&|| key.clone(), &|| {
            "unknown field; the body is {\"texts\": [...]}".into()
        });
    }
    let texts = match object.remove("texts") {
        None => {
            problem(&|| "texts".into(), &|| {
                format!("missing: a list of 1 to {MAX_TEXTS} strings")
            });
            Vec::new()
        }
        Some(Value::Array(items)) => {
            if items.is_empty() || items.len() > MAX_TEXTS {
                let n = items.len();
                problem(&|| "texts".into(), &|| {
                    format!("{n} texts; send 1 to {MAX_TEXTS}")
                });
            }
            let mut texts = Vec::with_capacity(items.len().min(MAX_TEXTS));
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) if s.len() > MAX_TEXT_BYTES => {
                        problem(&|| format!("texts[{i}]"), &|| {
                            format!(
                                "{} bytes; at most {MAX_TEXT_BYTES} (the model reads only its \
                                 first tokens)",
                                s.len()
                            )
                        })
                    }
                    Value::String(s) => texts.push(s),
                    other => problem(&|| format!("texts[{i}]"), &|| {
                        format!("expected a string, got {}", json_type(&other))
                    }),
                }
            }
            texts
        }
        Some(other) => {
            problem(&|| "texts".into(), &|| {
                format!("expected a list of strings, got {}", json_type(&other))
            });
            Vec::new()
        }
    };
    if problems.is_empty() {
        Ok(texts)
    } else {
        Err(ApiError::invalid_problems(problems))
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(body: &str) -> Vec<(String, String)> {
        let e = parse(body.as_bytes()).expect_err("refused");
        assert_eq!(e.status, 422, "{e:?}");
        e.details
            .into_iter()
            .map(|p| (p.field, p.problem))
            .collect()
    }

    #[test]
    fn texts_are_read_in_order_including_the_empty_one() {
        let t = parse(br#"{"texts": ["a", "", "\u00e9t\u00e9"]}"#).unwrap();
        assert_eq!(t, ["a", "", "été"]);
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let p = problems(r#"{"texts": ["ok", 3, null], "extra": 1}"#);
        let fields: Vec<&str> = p.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["extra", "texts[1]", "texts[2]"]);
        assert!(p[1].1.contains("a number"), "{p:?}");
        assert_eq!(problems(r#"{"text": "x"}"#)[1].0, "texts");
        assert_eq!(problems(r#"["x"]"#)[0].0, "");
        assert!(problems(r#"{"texts": []}"#)[0].1.contains("0 texts"));
    }

    #[test]
    fn too_many_or_too_long_texts_are_refused_before_any_tokenising() {
        let many = format!(
            r#"{{"texts": [{}]}}"#,
            vec!["\"a\""; MAX_TEXTS + 1].join(",")
        );
        assert!(problems(&many)[0].1.contains("33 texts"));
        let long = format!(r#"{{"texts": ["{}"]}}"#, "a".repeat(MAX_TEXT_BYTES + 1));
        let p = problems(&long);
        assert_eq!(p[0].0, "texts[0]");
        assert!(p[0].1.contains("16385 bytes"), "{p:?}");
        // 100,000 wrong items: the answer lists at most MAX_PROBLEMS.
        let wrong = format!(r#"{{"texts": [{}]}}"#, vec!["1"; 100_000].join(","));
        let e = parse(wrong.as_bytes()).unwrap_err();
        assert_eq!(e.details.len(), crate::api::MAX_PROBLEMS);
        assert!(e.message.contains("100001 problems"), "{}", e.message);
    }

    #[test]
    fn not_json_is_a_400() {
        assert_eq!(parse(b"{\"texts\": [").unwrap_err().status, 400);
    }
}
