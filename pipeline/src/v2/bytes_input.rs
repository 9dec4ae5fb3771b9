//! Inference requests of the network kinds: one `BYTES` input of shape `[N]` (or
//! `[N, 1]`), one element per image, file or text. In binary tensor data the elements are
//! the raw bytes; in JSON they are strings — base64 for images and files (JSON strings
//! cannot hold arbitrary bytes), the text itself for texts. Each kind names its input and
//! outputs (`Spec`) and answers the elements itself.

use base64::Engine as _;
use serde_json::Value;

use super::bounded_json::{self, BoundedError};
use super::wire::{self, Data, DataType, Output};
use super::{HEADER_FRAMING_VALUES, HEADER_LENGTH, Route, binary, error, failed, json_error};
use crate::api::ApiError;
use crate::events::Outcome;
use crate::service::Response;

/// A kind's V2 inference contract.
pub struct Spec {
    /// The input's name.
    pub input: &'static str,
    /// Most elements one request may carry.
    pub max_elements: usize,
    /// JSON strings are base64 (images, files), not the content itself (texts).
    pub base64: bool,
    /// Every output, in the order they are answered by default.
    pub outputs: &'static [&'static str],
}

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    pub id: Option<String>,
    pub elements: Vec<Vec<u8>>,
    /// The outputs to answer, each with whether it goes as binary data.
    pub outputs: Vec<(&'static str, bool)>,
}

/// A refusal, ready to send.
pub type Refused = (Response, Outcome);

/// `parse`'s refusal, ready to send.
pub fn refused(e: ApiError) -> Refused {
    failed(e)
}

/// Reads an inference request against `spec`: 413 over `max_body_bytes`, 400 naming the
/// problem otherwise (send it with `refused`).
pub fn parse(
    spec: &Spec,
    route: &Route,
    body: &[u8],
    max_body_bytes: usize,
) -> Result<Request, ApiError> {
    if body.len() > max_body_bytes {
        return Err(error(
            413,
            "payload_too_large",
            format!("request body exceeds the limit of {max_body_bytes} bytes"),
        ));
    }
    let bad = |message: String| error(400, "bad_request", message);
    let (header, binary) = binary::split(body, route.header_length.as_deref()).map_err(bad)?;
    let top = match bounded_json::from_slice(header, spec.max_elements * 2 + HEADER_FRAMING_VALUES)
    {
        Ok(v) => v,
        Err(BoundedError::Json(e)) => {
            return Err(bad(json_error(&e, route.header_length.is_some())));
        }
        Err(BoundedError::TooMany(n)) => {
            return Err(bad(format!(
                "the inference request holds more than {n} JSON values; at most {} elements \
                 of input '{}' are answered",
                spec.max_elements, spec.input
            )));
        }
    };
    let header = wire::parse_header(&top, binary).map_err(bad)?;
    let [tensor] = &header.inputs[..] else {
        return Err(bad(format!(
            "{} inputs; this model takes one, '{}' (BYTES, shape [N])",
            header.inputs.len(),
            spec.input
        )));
    };
    let what = wire::input(tensor.name);
    if tensor.name != spec.input {
        return Err(bad(format!(
            "unknown {what}; this model takes one input, '{}' (BYTES, shape [N])",
            spec.input
        )));
    }
    if tensor.datatype != DataType::Bytes {
        return Err(bad(format!(
            "{what} is {}; it must be BYTES",
            tensor.datatype.name()
        )));
    }
    let n = match tensor.shape[..] {
        [n] | [n, 1] => n,
        _ => {
            return Err(bad(format!(
                "{what} has shape {}; it must be [N] or [N, 1]",
                wire::show_shape(&tensor.shape)
            )));
        }
    };
    if n == 0 || n > spec.max_elements as u64 {
        return Err(bad(format!(
            "{what} has {n} elements; send 1 to {}",
            spec.max_elements
        )));
    }
    let elements = match &tensor.data {
        Data::Binary(data) => binary::bytes_elements(data, n as usize)
            .map_err(|e| bad(format!("{what}: {e}")))?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect(),
        Data::Json(value) => json_elements(value, n as usize, spec.base64)
            .map_err(|e| bad(format!("{what}: {e}")))?,
    };
    let outputs = match &header.outputs {
        None => spec
            .outputs
            .iter()
            .map(|o| (*o, header.binary_data_output))
            .collect(),
        Some(requested) => {
            let mut out = Vec::with_capacity(requested.len());
            for (name, binary) in requested {
                let Some(o) = spec.outputs.iter().find(|o| *o == name) else {
                    return Err(bad(format!(
                        "unknown output '{}'; this model's outputs are {}",
                        super::cut(name, 128),
                        spec.outputs.join(", ")
                    )));
                };
                out.push((*o, binary.unwrap_or(header.binary_data_output)));
            }
            out
        }
    };
    Ok(Request {
        id: header.id.map(str::to_string),
        elements,
        outputs,
    })
}

/// The strings of a JSON `data` (flat or nested), exactly `count` of them.
fn json_elements(value: &Value, count: usize, base64: bool) -> Result<Vec<Vec<u8>>, String> {
    let mut strings = Vec::with_capacity(count);
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::String(s) => strings.push(s.as_str()),
            other => {
                return Err(format!(
                    "element {} is {}, not a string",
                    strings.len(),
                    kind_of(other)
                ));
            }
        }
        if strings.len() > count {
            break;
        }
    }
    if strings.len() != count {
        return Err(format!(
            "`data` holds {} strings where the shape gives {count}",
            strings.len()
        ));
    }
    strings
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if base64 {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| format!("element {i} is not base64: {e}"))
            } else {
                Ok(s.as_bytes().to_vec())
            }
        })
        .collect()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The answer: JSON, or a JSON header and binary outputs.
pub fn answer(name: &str, version: &str, id: Option<&str>, outputs: &[Output]) -> Response {
    let (body, header_length) = wire::response_body(name, version, id, outputs);
    match header_length {
        None => Response::json(200, body),
        Some(n) => Response {
            status: 200,
            headers: vec![
                ("content-type", "application/octet-stream".into()),
                (HEADER_LENGTH, n.to_string()),
            ],
            body,
        },
    }
}

/// A refusal of one element by the kind (e.g. an image that does not decode): 400 naming
/// the element.
pub fn element_refused(spec: &Spec, index: usize, problem: &str) -> Refused {
    failed(error(
        400,
        "invalid_input",
        format!("input '{}' element {index}: {problem}", spec.input),
    ))
}

/// A refusal of the request as a whole (e.g. over a kind's budget): 400.
pub fn bad_request(message: impl Into<String>) -> Refused {
    failed(error(400, "invalid_input", message))
}

/// The kind failed on an element (ours, not the client's): 500.
pub fn internal(message: impl Into<String>) -> Refused {
    failed(error(500, "internal", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        input: "image",
        max_elements: 2,
        base64: true,
        outputs: &["label", "confidence"],
    };

    fn route(header_length: Option<usize>) -> Route {
        let mut r = Route::parse("POST", "/v2/models/m/infer");
        r.header_length = header_length.map(|n| n.to_string());
        r
    }

    fn refusal(body: &[u8]) -> String {
        let e = parse(&SPEC, &route(None), body, 1 << 20).unwrap_err();
        assert_eq!(e.status, 400, "{}", e.message);
        e.message
    }

    #[test]
    fn json_strings_are_base64_and_binary_elements_raw() {
        let body = br#"{"id": "7", "inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": ["aGk=", ""]}]}"#;
        let r = parse(&SPEC, &route(None), body, 1 << 20).unwrap();
        assert_eq!(r.elements, [b"hi".to_vec(), Vec::new()]);
        assert_eq!(r.id.as_deref(), Some("7"));
        assert_eq!(r.outputs, [("label", false), ("confidence", false)]);

        let header = br#"{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1, 1], "parameters": {"binary_data_size": 7}}], "outputs": [{"name": "confidence", "parameters": {"binary_data": true}}]}"#;
        let mut body = header.to_vec();
        binary::push_bytes_element(&mut body, b"\xff\x00\x01");
        let r = parse(&SPEC, &route(Some(header.len())), &body, 1 << 20).unwrap();
        assert_eq!(r.elements, [b"\xff\x00\x01".to_vec()]);
        assert_eq!(r.outputs, [("confidence", true)]);
    }

    #[test]
    fn refusals_name_the_problem() {
        let input = |t: &str| format!(r#"{{"inputs": [{t}]}}"#);
        assert!(
            refusal(
                input(r#"{"name": "img", "datatype": "BYTES", "shape": [1], "data": ["aGk="]}"#)
                    .as_bytes()
            )
            .contains("'image'")
        );
        assert!(
            refusal(
                input(r#"{"name": "image", "datatype": "FP32", "shape": [1], "data": [1]}"#)
                    .as_bytes()
            )
            .contains("must be BYTES")
        );
        assert!(
            refusal(
                input(
                    r#"{"name": "image", "datatype": "BYTES", "shape": [3], "data": ["", "", ""]}"#
                )
                .as_bytes()
            )
            .contains("send 1 to 2")
        );
        assert!(
            refusal(
                input(r#"{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["%%"]}"#)
                    .as_bytes()
            )
            .contains("not base64")
        );
        assert!(
            refusal(
                input(r#"{"name": "image", "datatype": "BYTES", "shape": [1], "data": [5]}"#)
                    .as_bytes()
            )
            .contains("a number")
        );
        assert!(
            refusal(
                input(r#"{"name": "image", "datatype": "BYTES", "shape": [2, 2], "data": ["", "", "", ""]}"#)
                    .as_bytes()
            )
            .contains("[N] or [N, 1]")
        );
        let body = r#"{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["aGk="]}], "outputs": [{"name": "embedding"}]}"#;
        assert!(refusal(body.as_bytes()).contains("unknown output 'embedding'"));
        assert_eq!(
            parse(&SPEC, &route(None), b"{}", 1).unwrap_err().status,
            413
        );
    }
}
