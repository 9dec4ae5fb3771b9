//! The routes every kind answers the same way: matching `/`, `/predict`, `/health`,
//! `/metadata` (and `/openapi.json` where the kind has one) on the request head, and the
//! `/health` and `/` documents of the network kinds. A kind adds its own checks of the
//! `/predict` head (Content-Type, query) on top.

use serde_json::json;

use crate::api::ApiError;
use crate::events::Outcome;
use crate::service::{InstanceInfo, Response, Route};

/// The plain route for `method` and `path` (the query is ignored), or the 404/405 that
/// answers it. `/openapi.json` is a route only where `openapi`.
pub fn plain(method: &str, path: &str, openapi: bool) -> Result<Route, ApiError> {
    let path = path_only(path);
    let (route, allow) = match path {
        "/" => (Route::Index, "GET"),
        "/predict" => (Route::Predict, "POST"),
        "/health" => (Route::Health, "GET"),
        "/metadata" => (Route::Metadata, "GET"),
        "/openapi.json" if openapi => (Route::OpenApi, "GET"),
        _ => return Err(ApiError::not_found(path)),
    };
    if !method.eq_ignore_ascii_case(allow) {
        return Err(ApiError::method_not_allowed(method, path, allow));
    }
    Ok(route)
}

/// `Route::V2` for any path under `/v2` (the protocol answers its own 404 and 405).
pub fn v2(method: &str, target: &str) -> Option<Route> {
    let path = path_only(target);
    crate::v2::owns(path).then(|| Route::V2(crate::v2::Route::parse(method, path)))
}

/// The path of a request target, without its query.
pub fn path_only(target: &str) -> &str {
    target.split('?').next().unwrap_or("")
}

/// The query of a request target, if it has one.
pub fn query(target: &str) -> Option<&str> {
    target.split_once('?').map(|(_, q)| q)
}

/// `/health`: the model is loaded (or the instance could not have started), and whether
/// it came from the snapshot.
pub fn health(name: &str, version: &str, instance: InstanceInfo) -> Response {
    json_response(&json!({
        "status": "ok",
        "model": {"name": name, "version": version},
        "model_loaded": if instance.preinitialized { "snapshot" } else { "instance start" },
    }))
}

/// `/` of a kind that answers the plain routes only.
pub fn index(name: &str, version: &str) -> Response {
    json_response(&json!({
        "model": {"name": name, "version": version},
        "routes": ["POST /predict", "GET /health", "GET /metadata", "GET /v2",
                   format!("POST /v2/models/{name}/infer")],
    }))
}

/// A refused request, with its error kept for the event.
pub fn refused(e: ApiError) -> (Response, Outcome) {
    let outcome = Outcome {
        error: Some(e.clone()),
        ..Outcome::default()
    };
    (e.into(), outcome)
}

pub fn json_response(v: &serde_json::Value) -> Response {
    Response::json(200, serde_json::to_vec(v).expect("plain JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_routes_match_the_path_and_method() {
        assert_eq!(plain("GET", "/health?probe=1", false), Ok(Route::Health));
        assert_eq!(plain("post", "/predict", false), Ok(Route::Predict));
        assert_eq!(plain("GET", "/openapi.json", true), Ok(Route::OpenApi));
        assert_eq!(
            plain("GET", "/openapi.json", false).unwrap_err().status,
            404
        );
        let e = plain("GET", "/predict", false).unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("POST")));
        assert_eq!(plain("GET", "/nope", false).unwrap_err().status, 404);
    }

    #[test]
    fn the_query_is_split_off() {
        assert_eq!(path_only("/predict?top_k=3"), "/predict");
        assert_eq!(query("/predict?top_k=3&a"), Some("top_k=3&a"));
        assert_eq!(query("/predict"), None);
    }
}
