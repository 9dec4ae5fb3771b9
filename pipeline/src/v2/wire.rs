//! The V2 inference request and response on the wire: the JSON header's tensors
//! (`name`, `datatype`, `shape`, `data` or `parameters.binary_data_size`), their elements
//! as feature values, the requested outputs, and the response tensors in JSON or binary.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use super::binary;
use crate::schema::FeatureValue;

/// A tensor element type of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F16,
    Bf16,
    F32,
    F64,
    Bytes,
}

impl DataType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BOOL" => DataType::Bool,
            "UINT8" => DataType::U8,
            "UINT16" => DataType::U16,
            "UINT32" => DataType::U32,
            "UINT64" => DataType::U64,
            "INT8" => DataType::I8,
            "INT16" => DataType::I16,
            "INT32" => DataType::I32,
            "INT64" => DataType::I64,
            "FP16" => DataType::F16,
            "BF16" => DataType::Bf16,
            "FP32" => DataType::F32,
            "FP64" => DataType::F64,
            "BYTES" => DataType::Bytes,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "BOOL",
            DataType::U8 => "UINT8",
            DataType::U16 => "UINT16",
            DataType::U32 => "UINT32",
            DataType::U64 => "UINT64",
            DataType::I8 => "INT8",
            DataType::I16 => "INT16",
            DataType::I32 => "INT32",
            DataType::I64 => "INT64",
            DataType::F16 => "FP16",
            DataType::Bf16 => "BF16",
            DataType::F32 => "FP32",
            DataType::F64 => "FP64",
            DataType::Bytes => "BYTES",
        }
    }

    /// Bytes per element in binary form (`None`: variable, `BYTES`).
    pub fn size(self) -> Option<usize> {
        match self {
            DataType::Bool | DataType::U8 | DataType::I8 => Some(1),
            DataType::U16 | DataType::I16 | DataType::F16 | DataType::Bf16 => Some(2),
            DataType::U32 | DataType::I32 | DataType::F32 => Some(4),
            DataType::U64 | DataType::I64 | DataType::F64 => Some(8),
            DataType::Bytes => None,
        }
    }

    /// The numeric types a number or integer feature accepts.
    pub fn is_numeric(self) -> bool {
        !matches!(
            self,
            DataType::Bool | DataType::Bytes | DataType::F16 | DataType::Bf16
        )
    }

    fn is_float(self) -> bool {
        matches!(self, DataType::F32 | DataType::F64)
    }

    /// Inclusive range of an integer type, as i128 (holds every one of them).
    fn int_range(self) -> (i128, i128) {
        match self {
            DataType::U8 => (0, u8::MAX.into()),
            DataType::U16 => (0, u16::MAX.into()),
            DataType::U32 => (0, u32::MAX.into()),
            DataType::U64 => (0, u64::MAX.into()),
            DataType::I8 => (i8::MIN.into(), i8::MAX.into()),
            DataType::I16 => (i16::MIN.into(), i16::MAX.into()),
            DataType::I32 => (i32::MIN.into(), i32::MAX.into()),
            _ => (i64::MIN.into(), i64::MAX.into()),
        }
    }
}

/// Where a tensor's elements are.
#[derive(Debug)]
pub enum Data<'a> {
    /// `data`: flat or nested arrays, row-major, as many elements as the shape says.
    Json(&'a Value),
    /// Its `binary_data_size` bytes after the JSON header.
    Binary(&'a [u8]),
}

/// One input tensor of the header, its shape checked (`count` = product of `shape`,
/// which did not overflow).
#[derive(Debug)]
pub struct Tensor<'a> {
    pub name: &'a str,
    pub datatype: DataType,
    pub shape: Vec<u64>,
    pub count: u64,
    /// Where the data is; read only after the shape has been checked against the model.
    pub data: Data<'a>,
}

/// An error the client caused: status 400 and its message (already naming the tensor).
pub type WireError = String;

/// `input 'NAME'`, the name cut short for messages.
pub fn input(name: &str) -> String {
    format!("input '{}'", super::cut(name, 128))
}

/// A shape for messages: at most 8 dimensions shown.
pub fn show_shape(shape: &[u64]) -> String {
    let mut parts: Vec<String> = shape.iter().take(8).map(u64::to_string).collect();
    if shape.len() > 8 {
        parts.push(format!("… ({} dimensions)", shape.len()));
    }
    format!("[{}]", parts.join(", "))
}

/// The parsed header of an inference request.
#[derive(Debug)]
pub struct Header<'a> {
    pub id: Option<&'a str>,
    pub inputs: Vec<Tensor<'a>>,
    /// Requested outputs: name and `binary_data`, in request order.
    pub outputs: Option<Vec<(&'a str, Option<bool>)>>,
    /// `parameters.binary_data_output`.
    pub binary_data_output: bool,
}

/// Reads the header's fields and each input's shape and data location. `binary` is the
/// body after the header; every `binary_data_size` is taken from it in input order and it
/// must be used up exactly.
pub fn parse_header<'a>(top: &'a Value, mut binary: &'a [u8]) -> Result<Header<'a>, WireError> {
    let Value::Object(top) = top else {
        return Err("the inference request must be a JSON object".into());
    };
    let id = match top.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err("`id` must be a string".into()),
    };
    let request_parameters = parameters(top.get("parameters"), "the request")?;
    let binary_data_output =
        flag(request_parameters, "binary_data_output", "the request")?.unwrap_or(false);
    let Some(Value::Array(raw_inputs)) = top.get("inputs") else {
        return Err("`inputs` must be a list of input tensors".into());
    };
    if raw_inputs.is_empty() {
        return Err("`inputs` is empty".into());
    }
    let mut inputs = Vec::new();
    for (i, raw) in raw_inputs.iter().enumerate() {
        inputs.push(tensor(raw, i, &mut binary)?);
    }
    if !binary.is_empty() {
        return Err(format!(
            "{} bytes of binary data after the JSON header are not claimed by any input's \
             binary_data_size",
            binary.len()
        ));
    }
    let outputs = match top.get("outputs") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let mut outputs = Vec::with_capacity(list.len().min(16));
            for o in list {
                let Some(name) = o.get("name").and_then(Value::as_str) else {
                    return Err("each of `outputs` must be an object with a string `name`".into());
                };
                let what = format!("output '{}'", super::cut(name, 128));
                let p = parameters(o.get("parameters"), &what)?;
                if p.is_some_and(|p| p.contains_key("classification")) {
                    return Err(format!(
                        "{what}: the classification extension is not supported; the `label` \
                         output is the predicted class"
                    ));
                }
                outputs.push((name, flag(p, "binary_data", &what)?));
            }
            Some(outputs)
        }
        Some(_) => return Err("`outputs` must be a list".into()),
    };
    Ok(Header {
        id,
        inputs,
        outputs,
        binary_data_output,
    })
}

fn parameters<'a>(
    v: Option<&'a Value>,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, WireError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(format!("{what}: `parameters` must be an object")),
    }
}

fn flag(p: Option<&Map<String, Value>>, key: &str, what: &str) -> Result<Option<bool>, WireError> {
    match p.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{what}: parameter `{key}` must be a boolean")),
    }
}

fn tensor<'a>(raw: &'a Value, i: usize, binary: &mut &'a [u8]) -> Result<Tensor<'a>, WireError> {
    let Some(name) = raw.get("name").and_then(Value::as_str) else {
        return Err(format!(
            "inputs[{i}] must be an object with a string `name`"
        ));
    };
    let what = input(name);
    let datatype = match raw.get("datatype").and_then(Value::as_str) {
        Some(s) => DataType::parse(s)
            .ok_or_else(|| format!("{what}: unknown datatype {:?}", super::cut(s, 32)))?,
        None => return Err(format!("{what}: `datatype` must be a string")),
    };
    let Some(Value::Array(dims)) = raw.get("shape") else {
        return Err(format!("{what}: `shape` must be a list of dimensions"));
    };
    let mut shape = Vec::with_capacity(dims.len().min(8));
    let mut count: u64 = 1;
    for d in dims {
        let Some(d) = d.as_u64() else {
            return Err(format!(
                "{what}: `shape` must be a list of non-negative integers"
            ));
        };
        shape.push(d);
        count = count.checked_mul(d).ok_or_else(|| {
            format!(
                "{what}: shape {} has more elements than a 64-bit count holds",
                show_shape(&shape)
            )
        })?;
    }
    let p = parameters(raw.get("parameters"), &what)?;
    let size = p.and_then(|p| p.get("binary_data_size"));
    let data = match (raw.get("data"), size) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{what}: give either `data` or parameter `binary_data_size`, not both"
            ));
        }
        (Some(data), None) => {
            // Counted here; collected only once the shape has been checked against the
            // model (batch limit, width), in `elements`.
            let n = leaves(data);
            if n != count {
                return Err(format!(
                    "{what}: shape {} has {count} elements but `data` has {n}",
                    show_shape(&shape)
                ));
            }
            Data::Json(data)
        }
        (None, Some(size)) => {
            let Some(size) = size.as_u64() else {
                return Err(format!(
                    "{what}: parameter `binary_data_size` must be a non-negative integer"
                ));
            };
            let bytes = binary::take(binary, size).map_err(|e| format!("{what}: {e}"))?;
            if let Some(width) = datatype.size()
                && (bytes.len() as u64) != count.saturating_mul(width as u64)
            {
                return Err(format!(
                    "{what}: shape {} of {} needs {} bytes, binary_data_size is {size}",
                    show_shape(&shape),
                    datatype.name(),
                    count as u128 * width as u128
                ));
            }
            Data::Binary(bytes)
        }
        (None, None) => {
            return Err(format!(
                "{what}: no `data` and no parameter `binary_data_size`"
            ));
        }
    };
    Ok(Tensor {
        name,
        datatype,
        shape,
        count,
        data,
    })
}

/// Number of non-array elements, nested arrays flattened.
fn leaves(v: &Value) -> u64 {
    match v {
        Value::Array(a) => a.iter().map(leaves).sum(),
        _ => 1,
    }
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        x => out.push(x),
    }
}

/// The tensor's elements as feature values, or the first element that is not one
/// (`(index, problem)`). Only called once the shape has been checked against the model,
/// so `count` is small. `NaN` and JSON `null` are missing values; in a `BYTES` tensor so
/// is the empty string when `empty_is_missing`.
pub fn elements(t: &Tensor, empty_is_missing: bool) -> Result<Vec<FeatureValue>, (usize, String)> {
    let dt = t.datatype;
    match &t.data {
        Data::Json(data) => {
            let mut values = Vec::with_capacity(t.count as usize);
            flatten(data, &mut values);
            values
                .iter()
                .enumerate()
                .map(|(i, v)| json_element(v, dt, empty_is_missing).map_err(|e| (i, e)))
                .collect()
        }
        Data::Binary(bytes) => match dt {
            DataType::Bytes => {
                let parts = binary::bytes_elements(bytes, t.count as usize).map_err(|e| (0, e))?;
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| match std::str::from_utf8(s) {
                        Ok("") if empty_is_missing => Ok(FeatureValue::Missing),
                        Ok(s) => Ok(FeatureValue::Category(s.into())),
                        Err(_) => Err((i, "the BYTES element is not UTF-8".to_string())),
                    })
                    .collect()
            }
            _ => {
                let width = dt.size().unwrap_or(1);
                Ok(bytes
                    .chunks_exact(width)
                    .map(|c| binary_number(c, dt))
                    .collect())
            }
        },
    }
}

fn float(x: f64) -> FeatureValue {
    if x.is_nan() {
        FeatureValue::Missing
    } else {
        FeatureValue::Number(x)
    }
}

fn integer(x: i128) -> FeatureValue {
    match i64::try_from(x) {
        Ok(i) => FeatureValue::Integer(i),
        Err(_) => FeatureValue::Number(x as f64),
    }
}

fn binary_number(c: &[u8], dt: DataType) -> FeatureValue {
    let b = |n: usize| {
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(&c[..n]);
        a
    };
    match dt {
        DataType::F32 => float(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64),
        DataType::F64 => float(f64::from_le_bytes(b(8))),
        DataType::U8 => integer(c[0].into()),
        DataType::I8 => integer((c[0] as i8).into()),
        DataType::U16 => integer(u16::from_le_bytes([c[0], c[1]]).into()),
        DataType::I16 => integer(i16::from_le_bytes([c[0], c[1]]).into()),
        DataType::U32 => integer(u32::from_le_bytes([c[0], c[1], c[2], c[3]]).into()),
        DataType::I32 => integer(i32::from_le_bytes([c[0], c[1], c[2], c[3]]).into()),
        DataType::U64 => integer(u64::from_le_bytes(b(8)).into()),
        DataType::I64 => integer(i64::from_le_bytes(b(8)).into()),
        // Refused before the data is read; no feature takes them.
        DataType::Bool | DataType::F16 | DataType::Bf16 | DataType::Bytes => {
            FeatureValue::Other("an unsupported datatype")
        }
    }
}

fn json_element(v: &Value, dt: DataType, empty_is_missing: bool) -> Result<FeatureValue, String> {
    let got = |what: &str| format!("expected {what} ({}), got {}", dt.name(), describe(v));
    match (v, dt) {
        (Value::Null, _) => Ok(FeatureValue::Missing),
        (Value::String(s), DataType::Bytes) if s.is_empty() && empty_is_missing => {
            Ok(FeatureValue::Missing)
        }
        (Value::String(s), DataType::Bytes) => Ok(FeatureValue::Category(s.as_str().into())),
        (_, DataType::Bytes) => Err(got("a string")),
        (Value::Number(n), dt) if dt.is_float() => {
            // Beyond f64 (`1e400`): infinite, which validation names as not finite.
            let x = n.as_f64().unwrap_or(f64::INFINITY);
            Ok(float(if dt == DataType::F32 {
                x as f32 as f64
            } else {
                x
            }))
        }
        (Value::Number(n), dt) => {
            let x = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from))
                .ok_or_else(|| got("an integer"))?;
            let (lo, hi) = dt.int_range();
            if x < lo || x > hi {
                return Err(format!("{x} is outside the range of {}", dt.name()));
            }
            Ok(integer(x))
        }
        _ => Err(got(if dt.is_float() {
            "a number"
        } else {
            "an integer"
        })),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => super::cut(&n.to_string(), 32),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Python's `json` and rapidjson (so tritonclient's JSON data) write a missing float as a
/// bare `NaN` and infinities as `Infinity`, which JSON lacks: outside strings, `NaN`
/// becomes `null` (a missing value, as in binary data) and `Infinity` becomes `1e999`
/// (not finite: refused by validation, as for `/predict`). Copies only when such a token
/// may be there; the copy is at most 4/3 of the input.
pub fn non_finite_tokens(json: &[u8]) -> Cow<'_, [u8]> {
    if !json.windows(3).any(|w| w == b"NaN" || w == b"Inf") {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len() + json.len() / 3);
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if json[i..].starts_with(b"NaN") {
            out.extend_from_slice(b"null");
            i += 3;
            continue;
        } else if json[i..].starts_with(b"Infinity") {
            out.extend_from_slice(b"1e999");
            i += 8;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

/// One output tensor's data.
pub enum OutData<'a> {
    Bytes(Vec<&'a str>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// One output tensor of the response.
pub struct Output<'a> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: OutData<'a>,
    pub binary: bool,
}

/// The response body: JSON, or a JSON header followed by the binary outputs (then the
/// second value is the header's length, for `Inference-Header-Content-Length`).
pub fn response_body(
    model_name: &str,
    model_version: &str,
    id: Option<&str>,
    outputs: &[Output],
) -> (Vec<u8>, Option<usize>) {
    #[derive(Serialize)]
    struct Body<'a> {
        model_name: &'a str,
        model_version: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        outputs: Vec<Tensor<'a>>,
    }
    #[derive(Serialize)]
    struct Tensor<'a> {
        name: &'a str,
        datatype: &'static str,
        shape: &'a [usize],
        #[serde(skip_serializing_if = "Option::is_none")]
        parameters: Option<Params>,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<Json<'a>>,
    }
    #[derive(Serialize)]
    struct Params {
        binary_data_size: usize,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Json<'a> {
        Bytes(&'a [&'a str]),
        F32(&'a [f32]),
        F64(&'a [f64]),
    }
    let mut blob = Vec::new();
    let tensors = outputs
        .iter()
        .map(|o| {
            let datatype = match o.data {
                OutData::Bytes(_) => DataType::Bytes,
                OutData::F32(_) => DataType::F32,
                OutData::F64(_) => DataType::F64,
            }
            .name();
            let (parameters, data) = if o.binary {
                let start = blob.len();
                match &o.data {
                    OutData::Bytes(v) => v
                        .iter()
                        .for_each(|s| binary::push_bytes_element(&mut blob, s.as_bytes())),
                    OutData::F32(v) => v
                        .iter()
                        .for_each(|x| blob.extend_from_slice(&x.to_le_bytes())),
                    OutData::F64(v) => v
                        .iter()
                        .for_each(|x| blob.extend_from_slice(&x.to_le_bytes())),
                }
                (
                    Some(Params {
                        binary_data_size: blob.len() - start,
                    }),
                    None,
                )
            } else {
                let data = match &o.data {
                    OutData::Bytes(v) => Json::Bytes(v),
                    OutData::F32(v) => Json::F32(v),
                    OutData::F64(v) => Json::F64(v),
                };
                (None, Some(data))
            };
            Tensor {
                name: o.name,
                datatype,
                shape: &o.shape,
                parameters,
                data,
            }
        })
        .collect();
    let mut body = serde_json::to_vec(&Body {
        model_name,
        model_version,
        id,
        outputs: tensors,
    })
    .expect("strings and finite floats serialize");
    if outputs.iter().any(|o| o.binary) {
        let header = body.len();
        body.extend_from_slice(&blob);
        (body, Some(header))
    } else {
        (body, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header(v: &Value) -> Result<Header<'_>, WireError> {
        parse_header(v, &[])
    }

    #[test]
    fn bare_nan_and_infinity_outside_strings_become_json() {
        let t = |s: &str| String::from_utf8(non_finite_tokens(s.as_bytes()).into_owned()).unwrap();
        assert_eq!(
            t("[1, NaN, -Infinity, Infinity]"),
            "[1, null, -1e999, 1e999]"
        );
        assert_eq!(
            t(r#"{"NaN": "NaN \" NaN", "x": [NaN]}"#),
            r#"{"NaN": "NaN \" NaN", "x": [null]}"#
        );
        assert!(matches!(non_finite_tokens(b"[1, 2]"), Cow::Borrowed(_)));
        let v: Value = serde_json::from_slice(&non_finite_tokens(b"[NaN, Infinity]")).unwrap();
        assert_eq!(
            json_element(&v[0], DataType::F64, false),
            Ok(FeatureValue::Missing)
        );
        assert_eq!(
            json_element(&v[1], DataType::F64, false),
            Ok(FeatureValue::Number(f64::INFINITY))
        );
        // Every byte string: no panic, never longer than 4/3.
        for s in ["NaN", "NaNaN", "\"NaN", "Inf", "InfinityNaN\"", "\"\\\"NaN"] {
            assert!(non_finite_tokens(s.as_bytes()).len() <= s.len() * 4 / 3 + 1);
        }
    }

    #[test]
    fn datatypes_round_trip_by_name() {
        for dt in [
            DataType::Bool,
            DataType::U8,
            DataType::U16,
            DataType::U32,
            DataType::U64,
            DataType::I8,
            DataType::I16,
            DataType::I32,
            DataType::I64,
            DataType::F16,
            DataType::Bf16,
            DataType::F32,
            DataType::F64,
            DataType::Bytes,
        ] {
            assert_eq!(DataType::parse(dt.name()), Some(dt));
        }
        assert_eq!(DataType::parse("fp32"), None);
    }

    #[test]
    fn malformed_headers_name_the_tensor() {
        let cases = [
            (json!([]), "must be a JSON object"),
            (json!({}), "`inputs` must be a list"),
            (json!({"inputs": []}), "`inputs` is empty"),
            (json!({"inputs": [3]}), "inputs[0] must be an object"),
            (json!({"id": 3, "inputs": []}), "`id` must be a string"),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP99", "shape": [1], "data": [1]}]}),
                "input 'a': unknown datatype",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [-1], "data": [1]}]}),
                "input 'a': `shape` must be a list of non-negative",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": 1, "data": [1]}]}),
                "input 'a': `shape` must be a list",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1.5], "data": [1]}]}),
                "non-negative integers",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [4294967296u64, 4294967296u64], "data": [1]}]}),
                "input 'a': shape [4294967296, 4294967296] has more elements than a 64-bit count",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [2], "data": [1]}]}),
                "input 'a': shape [2] has 2 elements but `data` has 1",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [2, 2], "data": [[1, 2], [3]]}]}),
                "has 4 elements but `data` has 3",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1]}]}),
                "input 'a': no `data`",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1], "parameters": {"binary_data_size": 8}}]}),
                "not both",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "parameters": {"binary_data_size": 8}}]}),
                "input 'a': binary_data_size 8 exceeds the 0 bytes",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "parameters": {"binary_data_size": -8}}]}),
                "must be a non-negative integer",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1], "parameters": 3}]}),
                "input 'a': `parameters` must be an object",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}], "parameters": {"binary_data_output": "yes"}}),
                "must be a boolean",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}], "outputs": [{"nom": "x"}]}),
                "string `name`",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}], "outputs": [{"name": "label", "parameters": {"classification": 2}}]}),
                "classification extension",
            ),
            (
                json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [1], "data": [1]}], "outputs": {}}),
                "`outputs` must be a list",
            ),
        ];
        for (v, want) in cases {
            let e = header(&v).unwrap_err();
            assert!(e.contains(want), "{v}: {e}");
        }
    }

    #[test]
    fn binary_sizes_are_checked_against_the_shape_and_the_body() {
        let v = json!({"inputs": [
            {"name": "a", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}},
            {"name": "b", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}},
        ]});
        let mut bin = Vec::new();
        bin.extend_from_slice(&1.5f32.to_le_bytes());
        bin.extend_from_slice(&f32::NAN.to_le_bytes());
        binary::push_bytes_element(&mut bin, b"hi");
        let h = parse_header(&v, &bin).unwrap();
        assert_eq!(
            elements(&h.inputs[0], false).unwrap(),
            [FeatureValue::Number(1.5), FeatureValue::Missing]
        );
        assert_eq!(
            elements(&h.inputs[1], false).unwrap(),
            [FeatureValue::Category("hi".into())]
        );
        // One byte too many, one too few.
        let mut more = bin.clone();
        more.push(0);
        assert!(
            parse_header(&v, &more)
                .unwrap_err()
                .contains("1 bytes of binary data")
        );
        assert!(
            parse_header(&v, &bin[..bin.len() - 1])
                .unwrap_err()
                .contains("input 'b': binary_data_size 6 exceeds the 5 bytes")
        );
        // A size that disagrees with the shape.
        let v = json!({"inputs": [{"name": "a", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": 8}}]});
        let e = parse_header(&v, &[0; 8]).unwrap_err();
        assert!(
            e.contains("input 'a': shape [2] of FP64 needs 16 bytes"),
            "{e}"
        );
    }

    #[test]
    fn json_elements_follow_the_datatype() {
        let t = |dt: &str, data: Value| {
            let v = json!({"inputs": [{"name": "a", "datatype": dt, "shape": [data.as_array().unwrap().len()], "data": data}]});
            let h = header(&v).map(|h| elements(&h.inputs[0], true));
            h.unwrap()
        };
        assert_eq!(
            t("FP32", json!([0.1, null])).unwrap(),
            [FeatureValue::Number(0.1f32 as f64), FeatureValue::Missing]
        );
        assert_eq!(
            t("FP64", json!([0.1])).unwrap(),
            [FeatureValue::Number(0.1)]
        );
        assert_eq!(
            t("INT64", json!([-3])).unwrap(),
            [FeatureValue::Integer(-3)]
        );
        assert_eq!(
            t("UINT64", json!([u64::MAX])).unwrap(),
            [FeatureValue::Number(u64::MAX as f64)]
        );
        assert_eq!(
            t("BYTES", json!(["x", "", null])).unwrap(),
            [
                FeatureValue::Category("x".into()),
                FeatureValue::Missing,
                FeatureValue::Missing
            ]
        );
        assert_eq!(
            t("INT8", json!([1, 300])).unwrap_err(),
            (1, "300 is outside the range of INT8".into())
        );
        assert_eq!(
            t("INT32", json!([1.5])).unwrap_err().1,
            "expected an integer (INT32), got 1.5"
        );
        assert_eq!(
            t("UINT8", json!([-1])).unwrap_err().1,
            "-1 is outside the range of UINT8"
        );
        assert_eq!(
            t("FP64", json!(["1"])).unwrap_err().1,
            "expected a number (FP64), got a string"
        );
        assert_eq!(
            t("BYTES", json!([1])).unwrap_err().1,
            "expected a string (BYTES), got 1"
        );
        assert_eq!(
            t("FP64", json!([true])).unwrap_err().1,
            "expected a number (FP64), got a boolean"
        );
    }

    #[test]
    fn binary_numbers_decode_little_endian_and_nan_is_missing() {
        let one = |dt: &str, bytes: &[u8]| {
            let v = json!({"inputs": [{"name": "a", "datatype": dt, "shape": [1], "parameters": {"binary_data_size": bytes.len()}}]});
            let h = parse_header(&v, bytes).unwrap();
            elements(&h.inputs[0], false).unwrap().remove(0)
        };
        assert_eq!(
            one("FP64", &2.25f64.to_le_bytes()),
            FeatureValue::Number(2.25)
        );
        assert_eq!(one("FP64", &f64::NAN.to_le_bytes()), FeatureValue::Missing);
        assert_eq!(
            one("FP64", &f64::INFINITY.to_le_bytes()),
            FeatureValue::Number(f64::INFINITY)
        );
        assert_eq!(one("INT8", &[0xff]), FeatureValue::Integer(-1));
        assert_eq!(one("UINT8", &[0xff]), FeatureValue::Integer(255));
        assert_eq!(
            one("INT16", &(-300i16).to_le_bytes()),
            FeatureValue::Integer(-300)
        );
        assert_eq!(
            one("UINT16", &60000u16.to_le_bytes()),
            FeatureValue::Integer(60000)
        );
        assert_eq!(
            one("INT32", &(-7i32).to_le_bytes()),
            FeatureValue::Integer(-7)
        );
        assert_eq!(
            one("UINT32", &u32::MAX.to_le_bytes()),
            FeatureValue::Integer(u32::MAX.into())
        );
        assert_eq!(
            one("INT64", &i64::MIN.to_le_bytes()),
            FeatureValue::Integer(i64::MIN)
        );
        assert_eq!(
            one("UINT64", &u64::MAX.to_le_bytes()),
            FeatureValue::Number(u64::MAX as f64)
        );
        assert_eq!(
            one("FP32", &0.1f32.to_le_bytes()),
            FeatureValue::Number(0.1f32 as f64)
        );
    }

    #[test]
    fn responses_in_json_and_binary() {
        let outputs = |binary| {
            vec![
                Output {
                    name: "label",
                    shape: vec![2],
                    data: OutData::Bytes(vec!["a", "bc"]),
                    binary,
                },
                Output {
                    name: "probabilities",
                    shape: vec![2, 2],
                    data: OutData::F32(vec![0.25, 0.75, 0.8, 0.2]),
                    binary: false,
                },
            ]
        };
        let (body, header) = response_body("m", "1.0.0", Some("42"), &outputs(false));
        assert_eq!(header, None);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"model_name": "m", "model_version": "1.0.0", "id": "42", "outputs": [
                {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["a", "bc"]},
                {"name": "probabilities", "datatype": "FP32", "shape": [2, 2], "data": [0.25, 0.75, 0.8, 0.2]}]})
        );
        // FP32 is written as the float32 it is (0.8, not 0.800000011920929).
        assert!(String::from_utf8_lossy(&body).contains("0.8,0.2"));
        let (body, header) = response_body("m", "1.0.0", None, &outputs(true));
        let n = header.unwrap();
        let v: Value = serde_json::from_slice(&body[..n]).unwrap();
        assert!(v.get("id").is_none());
        assert_eq!(
            v["outputs"][0]["parameters"]["binary_data_size"],
            4 + 1 + 4 + 2
        );
        assert!(v["outputs"][0].get("data").is_none());
        assert_eq!(
            binary::bytes_elements(&body[n..], 2).unwrap(),
            [&b"a"[..], b"bc"]
        );
    }
}
