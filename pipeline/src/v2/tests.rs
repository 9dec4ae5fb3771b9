use serde_json::{Value, json};

use super::*;
use crate::service::{InstanceInfo, Route as AnyRoute, route};
use crate::testdata;

fn classifier() -> Service {
    Service::load(&testdata::classifier()).unwrap()
}

/// One request through routing and `respond`, as the guest does it.
fn call(
    s: &Service,
    method: &str,
    path: &str,
    header_length: Option<&str>,
    body: &[u8],
) -> Response {
    let r = route(method, path, None)
        .unwrap()
        .with_inference_header(header_length);
    s.respond_with_outcome(r, body, InstanceInfo::default()).0
}

fn json_of(r: &Response) -> Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&r.body)))
}

fn infer(s: &Service, body: Value) -> (u16, Value) {
    let r = call(
        s,
        "POST",
        "/v2/models/tiny/infer",
        None,
        &serde_json::to_vec(&body).unwrap(),
    );
    (r.status, json_of(&r))
}

fn error_of(s: &Service, body: Value) -> String {
    let (status, v) = infer(s, body);
    assert_eq!(status, 400, "{v}");
    v["error"].as_str().unwrap().to_string()
}

fn x(data: Value) -> Value {
    let n = data.as_array().unwrap().len();
    json!({"name": "x", "datatype": "FP64", "shape": [n], "data": data})
}

#[test]
fn paths_route_to_endpoints() {
    let e = |method: &str, path: &str| match route(method, path, None).unwrap() {
        AnyRoute::V2(r) => (r.endpoint, r.model),
        other => panic!("{other:?}"),
    };
    let m = |n: &str, v: Option<&str>| Some((n.to_string(), v.map(str::to_string)));
    assert_eq!(e("GET", "/v2"), (Endpoint::Server, None));
    assert_eq!(e("GET", "/v2/"), (Endpoint::Server, None));
    assert_eq!(e("GET", "/v2/health/live?x=1"), (Endpoint::Live, None));
    assert_eq!(e("GET", "/v2/health/ready"), (Endpoint::Ready, None));
    assert_eq!(e("GET", "/v2/models/a"), (Endpoint::Model, m("a", None)));
    assert_eq!(
        e("GET", "/v2/models/a/ready"),
        (Endpoint::ModelReady, m("a", None))
    );
    assert_eq!(
        e("POST", "/v2/models/a/infer"),
        (Endpoint::Infer, m("a", None))
    );
    assert_eq!(
        e("GET", "/v2/models/a/versions/1"),
        (Endpoint::Model, m("a", Some("1")))
    );
    assert_eq!(
        e("get", "/v2/models/a/versions/1/ready"),
        (Endpoint::ModelReady, m("a", Some("1")))
    );
    assert_eq!(
        e("POST", "/v2/models/a/versions/1/infer"),
        (Endpoint::Infer, m("a", Some("1")))
    );
    assert_eq!(
        e("GET", "/v2/models/a/infer").0,
        Endpoint::MethodNotAllowed("POST")
    );
    assert_eq!(
        e("POST", "/v2/health/live").0,
        Endpoint::MethodNotAllowed("GET")
    );
    for path in [
        "/v2/models",
        "/v2/models//infer",
        "/v2/health",
        "/v2/models/a/versions",
        "/v2/x",
        "/v2/models/a/b/c/d/e/f",
    ] {
        assert_eq!(e("GET", path).0, Endpoint::NotFound, "{path}");
    }
    // Not ours: the existing routes are unchanged.
    assert_eq!(route("GET", "/v2x", None).unwrap_err().status, 404);
    assert_eq!(
        route("POST", "/predict", Some("application/json")),
        Ok(AnyRoute::Predict)
    );
    assert!(
        route("POST", "/v2/models/a/infer", None)
            .unwrap()
            .reads_body()
    );
    assert!(!route("GET", "/v2/models/a", None).unwrap().reads_body());
}

#[test]
fn server_and_model_endpoints() {
    let s = classifier();
    let get = |path: &str| call(&s, "GET", path, None, b"");
    let v = json_of(&get("/v2"));
    assert_eq!(v["name"], SERVER_NAME);
    assert_eq!(v["extensions"], json!(["binary_tensor_data"]));
    assert_eq!(json_of(&get("/v2/health/live")), json!({"live": true}));
    assert_eq!(json_of(&get("/v2/health/ready")), json!({"ready": true}));
    assert_eq!(
        json_of(&get("/v2/models/tiny/ready")),
        json!({"name": "tiny", "ready": true})
    );
    assert_eq!(get("/v2/models/tiny/versions/1.0.0/ready").status, 200);
    let meta = json_of(&get("/v2/models/tiny"));
    assert_eq!(meta, json_of(&get("/v2/models/tiny/versions/1.0.0")));
    assert_eq!(meta["versions"], json!(["1.0.0"]));
    assert_eq!(
        meta["inputs"],
        json!([{"name": "x", "datatype": "FP64", "shape": [-1]},
               {"name": "color", "datatype": "BYTES", "shape": [-1]},
               {"name": "n", "datatype": "FP64", "shape": [-1]}])
    );
    assert_eq!(
        meta["outputs"],
        json!([{"name": "label", "datatype": "BYTES", "shape": [-1]},
               {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}])
    );
    assert_eq!(meta["properties"]["labels"], "[\"no\",\"yes\"]");
    assert!(meta["properties"].get("batched_input").is_none()); // has a category feature
    for (path, status, text) in [
        (
            "/v2/models/other",
            404,
            "unknown model 'other'; this function serves 'tiny'",
        ),
        (
            "/v2/models/tiny/versions/2.0.0",
            404,
            "unknown version '2.0.0'",
        ),
        (
            "/v2/models/tiny/versions/2.0.0/ready",
            404,
            "unknown version",
        ),
        ("/v2/nothing", 404, "no V2 endpoint"),
        ("/v2/models/tiny/infer", 405, "use POST"),
    ] {
        let r = get(path);
        assert_eq!(r.status, status, "{path}");
        let v = json_of(&r);
        assert!(v["error"].as_str().unwrap().contains(text), "{path}: {v}");
    }
    let r = call(&s, "POST", "/v2/models/other/infer", None, b"{}");
    assert_eq!(r.status, 404);
    let r = get("/v2/models/tiny/infer");
    assert!(r.headers.contains(&("allow", "POST".into())));
}

#[test]
fn infer_by_feature_in_json() {
    let s = classifier();
    // x = 1.5 → [0.8, 0.2] "no"; x = 1.6 → "yes"; missing n (NaN impossible in JSON: null).
    let (status, v) = infer(
        &s,
        json!({"id": "req-1", "parameters": {"anything": 1}, "inputs": [
            x(json!([1.5, 1.6])),
            {"name": "color", "datatype": "BYTES", "shape": [2, 1], "data": [["red"], [null]]},
            {"name": "n", "datatype": "INT64", "shape": [2], "data": [4, null]},
        ]}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"model_name": "tiny", "model_version": "1.0.0", "id": "req-1", "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["no", "yes"]},
            {"name": "probabilities", "datatype": "FP32", "shape": [2, 2], "data": [0.8, 0.2, 0.1, 0.9]}]})
    );
    // Outputs chosen by the request; optional features may be left out.
    let (_, v) = infer(
        &s,
        json!({"inputs": [x(json!([1.5]))], "outputs": [{"name": "probabilities"}]}),
    );
    assert_eq!(v["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(v["outputs"][0]["name"], "probabilities");
    assert!(v.get("id").is_none());
}

#[test]
fn infer_regression_value() {
    let s = Service::load(&testdata::regressor()).unwrap();
    // x = 5, blue, n = 4 → 23; n missing (NaN) → 111 (see service tests).
    let mut bin = Vec::new();
    for v in [4.0f64, f64::NAN] {
        bin.extend_from_slice(&v.to_le_bytes());
    }
    let header = serde_json::to_vec(&json!({"inputs": [
        x(json!([5, 5])),
        {"name": "color", "datatype": "BYTES", "shape": [2], "data": ["blue", ""]},
        {"name": "n", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": 16}},
    ]}))
    .unwrap();
    let mut body = header.clone();
    body.extend_from_slice(&bin);
    let r = call(
        &s,
        "POST",
        "/v2/models/tiny/infer",
        Some(&header.len().to_string()),
        &body,
    );
    let v = json_of(&r);
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(
        v["outputs"],
        json!([{"name": "value", "datatype": "FP64", "shape": [2], "data": [23.0, 111.0]}])
    );
    // A huge n gives no finite output: a 400 naming the row.
    let (status, v) = infer(
        &s,
        json!({"inputs": [x(json!([5, 5])), {"name": "n", "datatype": "FP64", "shape": [2], "data": [1, 1e308]}]}),
    );
    assert_eq!(
        (status, v["error"].as_str().unwrap()),
        (
            400,
            "row 1: the model's output for this input is not a finite number"
        )
    );
}

#[test]
fn binary_outputs_when_asked() {
    let s = classifier();
    let body = json!({"inputs": [x(json!([1.5, 1.6]))], "parameters": {"binary_data_output": true},
                      "outputs": [{"name": "label"}, {"name": "probabilities", "parameters": {"binary_data": false}}]});
    let r = call(
        &s,
        "POST",
        "/v2/models/tiny/infer",
        None,
        &serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(r.status, 200);
    let n: usize = r
        .headers
        .iter()
        .find(|(k, _)| *k == HEADER_LENGTH)
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(
        r.headers
            .contains(&("content-type", "application/octet-stream".into()))
    );
    let head: Value = serde_json::from_slice(&r.body[..n]).unwrap();
    assert_eq!(
        head["outputs"][0]["parameters"]["binary_data_size"],
        4 + 2 + 4 + 3
    );
    assert_eq!(head["outputs"][1]["data"], json!([0.8, 0.2, 0.1, 0.9]));
    assert_eq!(
        binary::bytes_elements(&r.body[n..], 2).unwrap(),
        [&b"no"[..], b"yes"]
    );
    // No outputs listed: binary_data_output applies to all.
    let body = json!({"inputs": [x(json!([1.5]))], "parameters": {"binary_data_output": true}});
    let r = call(
        &s,
        "POST",
        "/v2/models/tiny/infer",
        None,
        &serde_json::to_vec(&body).unwrap(),
    );
    let n: usize = r
        .headers
        .iter()
        .find(|(k, _)| *k == HEADER_LENGTH)
        .unwrap()
        .1
        .parse()
        .unwrap();
    let probabilities: Vec<f32> = r.body[n + 4 + 2..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(probabilities, [0.8, 0.2]);
}

#[test]
fn problems_name_the_tensor_and_the_row() {
    let s = classifier();
    let e = error_of(&s, json!({"inputs": [x(json!([1, 11, 2]))]}));
    assert_eq!(
        e,
        "input 'x' row 1: value 11 is outside the valid range [0, 10]"
    );
    let body = r#"{"inputs": [{"name": "x", "datatype": "FP64", "shape": [2], "data": [1, 2]}, {"name": "n", "datatype": "FP64", "shape": [2], "data": [2.5, 1e400]}]}"#;
    let e = error_of(&s, serde_json::from_str(body).unwrap());
    assert_eq!(
        e,
        "2 problems with the input: input 'n' row 0: expected an integer, got 2.5; input 'n' row 1: not a finite number"
    );
    // NaN (binary) or null is a missing value: fine for an optional feature, named for a
    // required one.
    let e = error_of(&s, json!({"inputs": [x(json!([1, null]))]}));
    assert_eq!(e, "input 'x' row 1: required feature is null");
    let cases = [
        (
            json!({"inputs": [{"name": "color", "datatype": "BYTES", "shape": [1], "data": ["red"]}]}),
            "missing input for required feature: x",
        ),
        (
            json!({"inputs": [x(json!([1])), x(json!([2]))]}),
            "input 'x': given more than once",
        ),
        (
            json!({"inputs": [x(json!([1])), {"name": "xx", "datatype": "FP64", "shape": [1], "data": [1]}]}),
            "input 'xx': unknown feature; did you mean `x`?",
        ),
        (
            json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}),
            "one [N, F] tensor is accepted only when every feature is numeric; this model has category features (color)",
        ),
        (
            json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [3], "data": [1, 2, 3]}]}),
            "input 'input-0': unknown feature",
        ),
        (
            json!({"inputs": [x(json!([1, 2])), {"name": "n", "datatype": "FP64", "shape": [1], "data": [1]}]}),
            "input 'n': 1 rows, but input 'x' has 2",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 2], "data": [1, 2]}]}),
            "input 'x': shape [1, 2] is not [N] or [N, 1]",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [0], "data": []}]}),
            "input 'x': the batch is empty",
        ),
        (
            json!({"inputs": [x(json!(vec![1; 257]))]}),
            "input 'x': a batch of 257 rows exceeds the maximum of 256",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["1"]}]}),
            "input 'x': datatype BYTES does not fit a numeric feature",
        ),
        (
            json!({"inputs": [x(json!([1])), {"name": "color", "datatype": "FP32", "shape": [1], "data": [1]}]}),
            "input 'color': datatype FP32 does not fit a category feature; send BYTES (one of: red, blue)",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "BOOL", "shape": [1], "data": [true]}]}),
            "datatype BOOL does not fit",
        ),
        (
            json!({"inputs": [x(json!(["a"]))]}),
            "input 'x' row 0: expected a number (FP64), got a string",
        ),
        (
            json!({"inputs": [x(json!([1]))], "outputs": [{"name": "value"}]}),
            "unknown output 'value'; this model's outputs are label, probabilities",
        ),
        (
            json!({"inputs": [x(json!([1]))], "outputs": [{"name": "label"}, {"name": "label"}]}),
            "requested more than once",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1099511627776u64], "data": [1]}]}),
            "input 'x': shape [1099511627776] has 1099511627776 elements but `data` has 1",
        ),
    ];
    for (body, want) in cases {
        let e = error_of(&s, body.clone());
        assert!(e.contains(want), "{body}\n  got: {e}\n want: {want}");
    }
    // Many problems: the message lists 10 and gives the total.
    let e = error_of(&s, json!({"inputs": [x(json!(vec![-1; 256]))]}));
    assert!(
        e.starts_with("256 problems with the input, the first 10: input 'x' row 0:"),
        "{e}"
    );
    assert_eq!(e.matches("; ").count(), 9);
}

#[test]
fn malformed_bodies_are_400_with_a_hint() {
    let s = classifier();
    let post = |h: Option<&str>, body: &[u8]| {
        let r = call(&s, "POST", "/v2/models/tiny/infer", h, body);
        (r.status, json_of(&r)["error"].as_str().unwrap().to_string())
    };
    let (status, e) = post(None, b"{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP64\", \"shape\": [1], \"data\": [NaN]}]}");
    // A bare NaN (Python's json, tritonclient) is a missing value, as in binary data.
    assert_eq!(
        (status, e.as_str()),
        (400, "input 'x' row 0: required feature is null")
    );
    let (_, e) = post(None, b"{\"inputs\": []}\x00\x01");
    assert!(
        e.contains("needs the Inference-Header-Content-Length header"),
        "{e}"
    );
    let (_, e) = post(Some("99"), b"{}");
    assert!(e.contains("exceeds the body's 2 bytes"), "{e}");
    let (_, e) = post(Some("0"), b"\x00\x00\x00\x00");
    assert!(e.contains("raw binary request"), "{e}");
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        call(&s, "POST", "/v2/models/tiny/infer", None, &big).status,
        413
    );
}

#[test]
fn an_all_numeric_model_takes_one_matrix() {
    // The tiny bundle with `color` dropped from its schema is all numeric.
    let mut m = testdata::manifest("regression");
    m["features"].as_array_mut().unwrap().remove(1);
    let columns = m["preprocessing"]["columns"].as_array_mut().unwrap();
    columns[1] = json!({"source": {"kind": "value", "feature": "x", "impute": null}, "ops": [{"op": "mul", "value": 0.0}]});
    let s = Service::load(&testdata::bundle(m, &testdata::linear_model())).unwrap();
    let by_feature = infer(
        &s,
        json!({"inputs": [x(json!([5, 6])), {"name": "n", "datatype": "INT32", "shape": [2], "data": [4, 3]}]}),
    );
    assert_eq!(by_feature.0, 200, "{}", by_feature.1);
    let matrix = infer(
        &s,
        json!({"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [2, 2], "data": [[5, 4], [6, 3]]}]}),
    );
    assert_eq!(matrix.1["outputs"], by_feature.1["outputs"]);
    let meta = json_of(&call(&s, "GET", "/v2/models/tiny", None, b""));
    assert!(
        meta["properties"]["batched_input"]
            .as_str()
            .unwrap()
            .contains("[N, 2]")
    );
    let e = error_of(
        &s,
        json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}]}),
    );
    assert!(
        e.contains("input 'input-0': shape [2, 3] has 3 columns; the model has 2 features"),
        "{e}"
    );
    let e = error_of(
        &s,
        json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [2, 2], "data": [1, 2, 11, 1.5]}]}),
    );
    assert_eq!(
        e,
        "2 problems with the input: input 'input-0' row 1 column 0 ('x'): value 11 is outside the valid range [0, 10]; input 'input-0' row 1 column 1 ('n'): expected an integer, got 1.5"
    );
    let e = error_of(
        &s,
        json!({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [257, 2], "data": vec![1; 514]}]}),
    );
    assert!(e.contains("exceeds the maximum of 256"), "{e}");
}

/// Arbitrary bodies and header lengths: always a 2xx or a 4xx, never a panic.
#[test]
fn hostile_bodies_never_panic() {
    use proptest::prelude::*;
    let s = classifier();
    let valid = serde_json::to_vec(&json!({"inputs": [x(json!([1.5])),
        {"name": "color", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 7}}]}))
    .unwrap();
    let mut config = ProptestConfig::with_cases(2000);
    config.failure_persistence = None;
    proptest!(config, |(mut body in proptest::collection::vec(any::<u8>(), 0..300),
                        cut_at in 0usize..400, header in proptest::option::of(0usize..400),
                        splice in any::<bool>())| {
        if splice {
            // Mutate a valid binary request rather than start from noise.
            let mut b = valid.clone();
            b.extend_from_slice(&[3, 0, 0, 0, b'r', b'e', b'd']);
            let at = cut_at.min(b.len());
            b.splice(at..at + body.len().min(b.len() - at).min(3), body.iter().copied().take(3));
            body = b;
        }
        let h = header.map(|n| if splice && n % 2 == 0 { valid.len().to_string() } else { n.to_string() });
        let r = call(&s, "POST", "/v2/models/tiny/infer", h.as_deref(), &body);
        prop_assert!(r.status == 200 || (400..500).contains(&r.status), "{}", r.status);
        let v: Value = serde_json::from_slice(r.body.get(..r.headers.iter().find(|(k, _)| *k == HEADER_LENGTH).map_or(r.body.len(), |(_, n)| n.parse().unwrap())).unwrap()).unwrap();
        prop_assert!(r.status == 200 || v["error"].as_str().is_some_and(|e| e.len() < 8000));
    });
}

/// Claims far beyond the body (shapes, sizes, BYTES lengths) are answered at once.
#[test]
fn huge_claims_cost_nothing() {
    let s = classifier();
    let start = std::time::Instant::now();
    let claims = [
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [u64::MAX], "parameters": {"binary_data_size": u64::MAX}}]}),
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [u64::MAX, 2], "data": [1]}]}),
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": vec![2u64; 10_000], "data": [1]}]}),
        json!({"inputs": [{"name": "color", "datatype": "BYTES", "shape": [1u64 << 40], "parameters": {"binary_data_size": 8}}, x(json!([1]))]}),
    ];
    for body in claims {
        let mut b = serde_json::to_vec(&body).unwrap();
        let n = b.len();
        b.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        let r = call(
            &s,
            "POST",
            "/v2/models/tiny/infer",
            Some(&n.to_string()),
            &b,
        );
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    }
    // Deeply nested data: bounded by the JSON parser's recursion limit.
    let deep = format!(
        "{{\"inputs\": [{{\"name\": \"x\", \"datatype\": \"FP64\", \"shape\": [1], \"data\": {}1{}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        call(&s, "POST", "/v2/models/tiny/infer", None, deep.as_bytes()).status,
        400
    );
    assert!(start.elapsed().as_secs() < 2);
}

#[test]
fn the_openapi_document_lists_the_v2_paths() {
    let doc = crate::openapi::document(classifier().manifest());
    for path in [
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/{name}",
        "/v2/models/{name}/ready",
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    let infer = &doc["paths"]["/v2/models/{name}/infer"]["post"];
    assert_eq!(infer["parameters"][0]["in"], "path");
    assert_eq!(
        infer["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/V2Error"
    );
    assert!(doc["components"]["schemas"]["V2Error"].is_object());
}
