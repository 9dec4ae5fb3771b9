//! The HTTP API's wire format: the `/predict` request body, the JSON error envelope and
//! the limits, independent of any HTTP library so it is unit-tested natively.

use serde::Serialize;

use crate::postprocess::Prediction;
use crate::predict_body::{self, Features, Instances, Top};
use crate::schema::{FieldProblem, Problems, Row, Schema};

/// Most instances one `/predict` call may carry.
pub const MAX_BATCH: usize = 256;
/// Most problems one error lists (the message gives the total).
pub const MAX_PROBLEMS: usize = 100;
/// Largest request body accepted, in bytes (a full batch of the widest bundle is ~300 KB).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// An error response: `{"error": {"code", "message", "details": [{"field", "problem"}]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldProblem>,
    /// For 405: the methods the route accepts (the `Allow` header).
    pub allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            allow: None,
        }
    }

    pub fn malformed_json(err: &serde_json::Error) -> Self {
        Self::new(
            400,
            "malformed_json",
            format!("request body is not valid JSON: {err}"),
        )
    }

    /// A 422 listing the problems; at most `MAX_PROBLEMS` of them (the message gives the
    /// total), so the answer and the request's event stay small whatever the body.
    pub fn invalid_input(details: Vec<FieldProblem>) -> Self {
        let n = details.len();
        Self::invalid_input_of(details, n)
    }

    /// A 422 for a request's `Problems`: the kept ones listed, the total in the message.
    pub fn invalid_problems(problems: Problems) -> Self {
        let n = problems.total();
        Self::invalid_input_of(problems.into_list(), n)
    }

    fn invalid_input_of(mut details: Vec<FieldProblem>, n: usize) -> Self {
        let message = if n > MAX_PROBLEMS || n > details.len() {
            details.truncate(MAX_PROBLEMS);
            format!("{n} problems with the input; the first {MAX_PROBLEMS} are in details")
        } else {
            format!(
                "{n} problem{} with the input; see details",
                if n == 1 { "" } else { "s" }
            )
        };
        ApiError {
            details,
            ..Self::new(422, "invalid_input", message)
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    }

    /// `/predict` of a kind that reads raw bytes, with none.
    pub fn empty_body() -> Self {
        Self::new(
            400,
            "empty_body",
            "the request body is empty: POST the bytes to classify",
        )
    }

    pub fn unsupported_media_type(got: Option<&str>) -> Self {
        Self::unsupported_media_type_of(got, "application/json")
    }

    /// A 415 naming the Content-Types the route accepts.
    pub fn unsupported_media_type_of(got: Option<&str>, accepted: &str) -> Self {
        let got = got.map_or("no Content-Type".to_string(), |c| {
            format!(
                "Content-Type {:?}",
                crate::schema::truncated(c.to_string(), 128)
            )
        });
        Self::new(
            415,
            "unsupported_media_type",
            format!("expected Content-Type {accepted}, got {got}"),
        )
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(
            404,
            "not_found",
            format!("no route for {path:?}; see GET /openapi.json"),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str, allow: &'static str) -> Self {
        ApiError {
            allow: Some(allow),
            ..Self::new(
                405,
                "method_not_allowed",
                format!("{method} is not allowed on {path}; use {allow}"),
            )
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }

    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
            details: &'a [FieldProblem],
        }
        serde_json::to_vec(&Envelope {
            error: Inner {
                code: self.code,
                message: &self.message,
                details: &self.details,
            },
        })
        .expect("serializing plain strings cannot fail")
    }
}

/// Is this Content-Type JSON? (`application/json`, any parameters, any case.)
pub fn is_json_content_type(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    })
}

/// Parses and validates a `/predict` body: `{"features": {..}}` or `{"instances": [{..}, ..]}`,
/// of at most `max_body_bytes`.
pub fn parse_predict_body(
    body: &[u8],
    schema: &Schema,
    max_body_bytes: usize,
) -> Result<Vec<Row>, ApiError> {
    if body.len() > max_body_bytes {
        return Err(ApiError::payload_too_large(max_body_bytes));
    }
    let shape = |field: &str, problem: String| {
        ApiError::invalid_input(vec![FieldProblem::new(field, problem)])
    };
    let body = match predict_body::read(body, schema) {
        Err(e) => return Err(ApiError::malformed_json(&e)),
        Ok(Top::Not(kind)) => {
            return Err(shape(
                "$",
                format!("expected a JSON object with `features` or `instances`, got {kind}"),
            ));
        }
        Ok(Top::Object(body)) => body,
    };
    if !body.unknown.is_empty() {
        return Err(ApiError::invalid_problems(body.unknown));
    }
    match (body.features, body.instances) {
        (Some(_), Some(_)) => Err(shape(
            "instances",
            "give either `features` (one instance) or `instances` (a batch), not both".into(),
        )),
        (None, None) => Err(shape(
            "features",
            "the body needs `features` (one instance) or `instances` (a batch)".into(),
        )),
        (Some(Features::Valid(row)), None) => Ok(vec![row]),
        (Some(Features::Invalid(problems)), None) => Err(ApiError::invalid_problems(problems)),
        (Some(Features::Not(kind)), None) => Err(shape(
            "features",
            format!("expected an object of feature values, got {kind}"),
        )),
        (None, Some(Instances::Valid(rows))) => Ok(rows),
        (None, Some(Instances::Invalid(problems))) => Err(ApiError::invalid_problems(problems)),
        (None, Some(Instances::Empty)) => Err(shape("instances", "the batch is empty".into())),
        (None, Some(Instances::TooMany(n))) => Err(shape(
            "instances",
            format!("a batch of {n} instances exceeds the maximum of {MAX_BATCH}"),
        )),
        (None, Some(Instances::Not(kind))) => Err(shape(
            "instances",
            format!("expected an array of instances, got {kind}"),
        )),
    }
}

/// The `/predict` response body: per instance `{"label", "probabilities", "confidence"}`
/// for a classification, `{"value"}` for a regression.
pub fn predict_response(
    name: &str,
    version: &str,
    labels: &[String],
    predictions: &[Prediction],
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        model: ModelRef<'a>,
        predictions: Vec<Out<'a>>,
    }
    #[derive(Serialize)]
    struct ModelRef<'a> {
        name: &'a str,
        version: &'a str,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Out<'a> {
        Class {
            label: &'a str,
            probabilities: Probabilities<'a>,
            confidence: f64,
        },
        Value {
            value: f64,
        },
    }
    /// `{label: p}` in the manifest's label order (serde_json's map would sort it).
    struct Probabilities<'a>(&'a [String], &'a [f64]);
    impl Serialize for Probabilities<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (label, p) in self.0.iter().zip(self.1) {
                map.serialize_entry(label, p)?;
            }
            map.end()
        }
    }
    let body = Body {
        model: ModelRef { name, version },
        predictions: predictions
            .iter()
            .map(|p| match p {
                Prediction::Class {
                    label,
                    probabilities,
                    confidence,
                } => Out::Class {
                    label: &labels[*label],
                    probabilities: Probabilities(labels, probabilities),
                    confidence: *confidence,
                },
                Prediction::Value(value) => Out::Value { value: *value },
            })
            .collect(),
    };
    serde_json::to_vec(&body).expect("serializing strings and finite floats cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use serde_json::Value;

    fn parse(body: &str) -> Result<Vec<Row>, ApiError> {
        parse_predict_body(body.as_bytes(), &testdata::schema(), MAX_BODY_BYTES)
    }

    fn fields(e: &ApiError) -> Vec<&str> {
        e.details.iter().map(|d| d.field.as_str()).collect()
    }

    #[test]
    fn single_and_batch_bodies_parse() {
        assert_eq!(parse(r#"{"features": {"x": 1}}"#).unwrap().len(), 1);
        assert_eq!(
            parse(r#"{"instances": [{"x": 1}, {"x": 2.5, "color": "blue"}]}"#)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn malformed_json_is_400() {
        for body in ["", "{", "{\"features\": }", "\u{0}", "NaN"] {
            let e = parse(body).unwrap_err();
            assert_eq!((e.status, e.code), (400, "malformed_json"), "{body:?}");
        }
    }

    #[test]
    fn wrong_shapes_are_422_naming_the_field() {
        for (body, field) in [
            ("[]", "$"),
            ("{}", "features"),
            (r#"{"features": [1]}"#, "features"),
            (r#"{"instances": {}}"#, "instances"),
            (r#"{"instances": []}"#, "instances"),
            (r#"{"features": {"x": 1}, "instances": []}"#, "instances"),
            (r#"{"features": {"x": 1}, "extra": 1}"#, "extra"),
            (r#"{"instances": [{"x": 1}, 3]}"#, "instances[1]"),
            // Nesting within serde_json's depth limit is skipped (no tree is built): the
            // shape is what is wrong.
            (
                format!("{}{}", "[".repeat(100), "]".repeat(100)).as_str(),
                "$",
            ),
            (
                format!(r#"{{"instances": [{}{}]}}"#, "[".repeat(99), "]".repeat(99)).as_str(),
                "instances[0]",
            ),
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!((e.status, e.code), (422, "invalid_input"), "{body}");
            assert_eq!(fields(&e), [field], "{body}");
        }
    }

    #[test]
    fn nesting_past_the_parsers_depth_limit_is_malformed_json_as_for_a_parsed_value() {
        for body in [
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!(
                r#"{{"instances": [{}{}]}}"#,
                "[".repeat(9_999),
                "]".repeat(9_999)
            ),
        ] {
            let e = parse(&body).unwrap_err();
            let oracle = serde_json::from_str::<serde_json::Value>(&body).unwrap_err();
            assert_eq!((e.status, e.code), (400, "malformed_json"));
            assert!(e.message.ends_with(&oracle.to_string()), "{}", e.message);
            assert!(e.message.contains("recursion limit"), "{}", e.message);
        }
    }

    #[test]
    fn an_error_lists_at_most_max_problems_and_echoes_nothing_at_length() {
        let problems: Vec<FieldProblem> = (0..MAX_PROBLEMS + 7)
            .map(|i| {
                FieldProblem::new(format!("features.{}", "k".repeat(i * 10)), "x".repeat(5000))
            })
            .collect();
        let e = ApiError::invalid_input(problems);
        assert_eq!(e.details.len(), MAX_PROBLEMS);
        assert_eq!(
            e.message,
            format!(
                "{} problems with the input; the first {MAX_PROBLEMS} are in details",
                MAX_PROBLEMS + 7
            )
        );
        assert!(
            e.details
                .iter()
                .all(|d| d.field.len() <= 128 + '…'.len_utf8())
        );
        assert!(
            e.details
                .iter()
                .all(|d| d.problem.len() <= 512 + '…'.len_utf8())
        );
        assert!(e.details[99].field.ends_with('…'));
    }

    #[test]
    fn thousands_of_problems_are_counted_and_the_first_listed() {
        let schema = testdata::schema();
        let keys: serde_json::Map<String, Value> = (0..5000)
            .map(|i| (format!("k{i}"), serde_json::json!(1)))
            .collect();
        for body in [
            serde_json::json!({ "features": keys.clone() }),
            serde_json::json!({ "instances": vec![keys.clone(); 3] }),
        ] {
            let e =
                parse_predict_body(&serde_json::to_vec(&body).unwrap(), &schema, MAX_BODY_BYTES)
                    .unwrap_err();
            let n = body
                .get("instances")
                .map_or(1, |i| i.as_array().unwrap().len());
            // Every unknown key, and the required `x` missing, per instance.
            let total = n * 5001;
            assert_eq!(e.details.len(), MAX_PROBLEMS);
            assert_eq!(
                e.message,
                format!("{total} problems with the input; the first {MAX_PROBLEMS} are in details")
            );
        }
    }

    #[test]
    fn batch_problems_name_the_instance() {
        let e = parse(r#"{"instances": [{"x": 1}, {"x": "Mars"}, {"color": "red"}]}"#).unwrap_err();
        assert_eq!(fields(&e), ["instances[1].x", "instances[2].x"]);
    }

    /// A repeated key is named, not silently replaced by its last value.
    #[test]
    fn a_feature_given_twice_is_named() {
        let e = parse(r#"{"features": {"x": 1, "x": 2}}"#).unwrap_err();
        assert_eq!(fields(&e), ["features.x"]);
        assert!(
            e.details[0].problem.contains("more than once"),
            "{:?}",
            e.details
        );
    }

    #[test]
    fn the_batch_limit_is_enforced() {
        let one = r#"{"x": 1}"#;
        let at_limit = format!(r#"{{"instances": [{}]}}"#, vec![one; MAX_BATCH].join(","));
        assert_eq!(parse(&at_limit).unwrap().len(), MAX_BATCH);
        let over = format!(
            r#"{{"instances": [{}]}}"#,
            vec![one; MAX_BATCH + 1].join(",")
        );
        let e = parse(&over).unwrap_err();
        assert_eq!((e.status, fields(&e)), (422, vec!["instances"]));
        assert!(e.details[0].problem.contains("exceeds the maximum of 256"));
    }

    #[test]
    fn an_oversized_body_is_413() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        let e = parse_predict_body(&body, &testdata::schema(), MAX_BODY_BYTES).unwrap_err();
        assert_eq!(e.status, 413);
    }

    #[test]
    fn content_type_must_be_json() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "Application/JSON; charset=utf-8"
        )));
        assert!(!is_json_content_type(Some("text/plain")));
        assert!(!is_json_content_type(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(!is_json_content_type(None));
    }

    #[test]
    fn error_envelope_has_code_message_and_details() {
        let e = ApiError::invalid_input(vec![FieldProblem::new("features.x", "unknown feature")]);
        let v: Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["error"]["code"], "invalid_input");
        assert_eq!(v["error"]["details"][0]["field"], "features.x");
        assert_eq!(v["error"]["details"][0]["problem"], "unknown feature");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1 problem")
        );
    }

    #[test]
    fn probabilities_keep_label_order() {
        let labels = vec!["b".to_string(), "a".to_string()];
        let p = Prediction::from_probabilities(vec![0.25, 0.75]);
        let body = String::from_utf8(predict_response("m", "1.0.0", &labels, &[p])).unwrap();
        assert_eq!(
            body,
            r#"{"model":{"name":"m","version":"1.0.0"},"predictions":[{"label":"a","probabilities":{"b":0.25,"a":0.75},"confidence":0.75}]}"#
        );
        let body = predict_response("m", "1.0.0", &[], &[Prediction::Value(151.25)]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"model":{"name":"m","version":"1.0.0"},"predictions":[{"value":151.25}]}"#
        );
    }
}
