//! The HTTP API through our host: every error class with its status and the field it
//! names, the static routes, and an OpenAPI document that a standard validator accepts.

use crate::common;

use common::{post_json, repo_root, request, server};
use serde_json::json;

fn penguin() -> serde_json::Value {
    json!({"island": "Biscoe", "sex": "female", "bill_length_mm": 46.5, "bill_depth_mm": 14.8,
           "flipper_length_mm": 217, "body_mass_g": 5200})
}

fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut f = penguin();
    f[field] = value;
    json!({"features": f})
}

#[tokio::test(flavor = "multi_thread")]
async fn each_invalid_input_is_422_naming_the_field() {
    // Every penguins feature is optional (the pipeline imputes each); breast-cancer's
    // are all required.
    let required = server("breast-cancer").await;
    let mut row = common::reference("breast-cancer").rows[0].features.clone();
    row.remove("mean_radius");
    let reply = post_json(required.addr, "/predict", &json!({"features": row})).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_fields(), ["features.mean_radius"]);
    assert!(String::from_utf8_lossy(&reply.body).contains("required feature is missing"));
    row.insert("mean_radius".into(), json!(null));
    let reply = post_json(required.addr, "/predict", &json!({"features": row})).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_fields(), ["features.mean_radius"]);
    assert!(String::from_utf8_lossy(&reply.body).contains("required feature is null"));

    let srv = server("penguins").await;
    let cases = [
        (
            "wrong type",
            with("bill_length_mm", json!("long")),
            "features.bill_length_mm",
            "expected a number",
        ),
        (
            "out of range",
            with("body_mass_g", json!(100000)),
            "features.body_mass_g",
            "outside the valid range",
        ),
        (
            "unknown category",
            with("island", json!("Atlantis")),
            "features.island",
            "unknown category",
        ),
        (
            "non-integer",
            with("flipper_length_mm", json!(190.5)),
            "features.flipper_length_mm",
            "expected an integer",
        ),
        (
            "unknown field",
            with("wingspan_mm", json!(3)),
            "features.wingspan_mm",
            "unknown feature",
        ),
    ];
    for (what, body, field, problem) in cases {
        let reply = post_json(srv.addr, "/predict", &body).await;
        assert_eq!(reply.status, 422, "{what}");
        assert_eq!(reply.error_code(), "invalid_input", "{what}");
        assert_eq!(reply.error_fields(), [field], "{what}");
        let text = reply.json()["error"]["details"][0]["problem"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains(problem), "{what}: {text}");
    }
    // Non-finite: JSON has no NaN, but a number beyond f64 is infinite.
    let body = br#"{"features": {"island": "Dream", "bill_depth_mm": 1e400}}"#.to_vec();
    let reply = request(
        srv.addr,
        "POST",
        "/predict",
        &[("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_fields()),
        (422, vec!["features.bill_depth_mm".to_string()])
    );
    assert!(String::from_utf8_lossy(&reply.body).contains("not a finite number"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_offending_field_of_a_batch_is_named() {
    let srv = server("penguins").await;
    let body =
        json!({"instances": [penguin(), {"island": "Mars", "sex": 3}, {"bill_depth_mm": -1}]});
    let reply = post_json(srv.addr, "/predict", &body).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.error_fields(),
        [
            "instances[1].island",
            "instances[1].sex",
            "instances[2].bill_depth_mm"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_errors_have_their_status() {
    let srv = server("breast-cancer").await;
    let json_ct = [("content-type", "application/json")];
    // 400: not JSON.
    let r = request(srv.addr, "POST", "/predict", &json_ct, "{\"features\": ").await;
    assert_eq!((r.status, r.error_code()), (400, "malformed_json".into()));
    // 413: over the body limit (whether or not Content-Length announces it). The server
    // answers before reading the body and closes, so a client still writing it may see
    // a broken pipe: written raw, status read back.
    let mut big = format!(
        "POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        pipeline::MAX_BODY_BYTES + 1
    )
    .into_bytes();
    big.resize(big.len() + pipeline::MAX_BODY_BYTES + 1, b' ');
    assert_eq!(common::raw_status(srv.addr, &big).await, 413);
    // 415: not declared as JSON.
    let r = request(
        srv.addr,
        "POST",
        "/predict",
        &[("content-type", "text/plain")],
        "{}",
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (415, "unsupported_media_type".into())
    );
    // 405: wrong method, with Allow.
    let r = request(srv.addr, "GET", "/predict", &[], "").await;
    assert_eq!(
        (r.status, r.error_code()),
        (405, "method_not_allowed".into())
    );
    assert_eq!(r.headers["allow"], "POST");
    let r = request(srv.addr, "POST", "/health", &json_ct, "{}").await;
    assert_eq!(r.status, 405);
    // 404: unknown path.
    let r = request(srv.addr, "GET", "/predictions", &[], "").await;
    assert_eq!((r.status, r.error_code()), (404, "not_found".into()));
    // And the server is still answering.
    assert_eq!(
        request(srv.addr, "GET", "/health", &[], "").await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_metadata() {
    let srv = server("breast-cancer").await;
    let r = request(srv.addr, "GET", "/health", &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    let meta = request(srv.addr, "GET", "/metadata", &[], "").await.json();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("models/breast-cancer/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["version"], manifest["version"]);
    assert_eq!(meta["metrics"], manifest["metrics"]);
    assert_eq!(meta["labels"], manifest["labels"]);
    assert_eq!(
        meta["features"].as_array().unwrap().len(),
        manifest["features"].as_array().unwrap().len()
    );
}

/// The served document passes `openapi-spec-validator` (Python, the reference validator),
/// installed by tests/tools/openapi-validate.sh into a venv under target/.
#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_is_valid_for_every_bundle() {
    for bundle in common::bundles() {
        let bundle = bundle.as_str();
        let srv = server(bundle).await;
        let r = request(srv.addr, "GET", "/openapi.json", &[], "").await;
        assert_eq!(r.status, 200);
        let doc = r.json();
        assert_eq!(doc["info"]["title"], format!("{bundle} inference function"));
        let path = std::env::temp_dir().join(format!("openapi-{bundle}-{}.json", common::unique()));
        std::fs::write(&path, &r.body).unwrap();
        let out = std::process::Command::new("bash")
            .arg(repo_root().join("tests/tools/openapi-validate.sh"))
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{bundle}: {}",
            common::output_text(&out)
        );
    }
}
