//! `wasi:http/incoming-handler` through spin-sdk: adapts the request onto
//! `pipeline::route` / `Service::respond`, reading at most `MAX_BODY_BYTES + 1` of the body.

use futures::StreamExt;
use pipeline::{ApiError, InstanceInfo, MAX_BODY_BYTES, Response, Route};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let response = respond(req).await;
    send(out, response).await;
}

async fn respond(req: IncomingRequest) -> Response {
    let service = match crate::init() {
        Ok(s) => s,
        Err(e) => return ApiError::internal(e).into(),
    };
    let method = req.method().to_string();
    let path = req.path_with_query().unwrap_or_else(|| "/".into());
    let headers = req.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .into_iter()
            .next()
            .and_then(|v| String::from_utf8(v).ok())
    };
    let content_type = header("content-type");
    let declared_length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let route = match pipeline::route(&method, &path, content_type.as_deref()) {
        Ok(route) => route,
        Err(e) => return e.into(),
    };
    let instance = InstanceInfo {
        preinitialized: crate::preinitialized(),
    };
    if route != Route::Predict {
        return service.respond(route, b"", instance);
    }
    if declared_length.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return ApiError::payload_too_large().into();
    }
    match read_body(req).await {
        Some(body) => service.respond(route, &body, instance),
        None => ApiError::payload_too_large().into(),
    }
}

/// The whole body, or `None` once it passes the limit (the rest is never buffered).
/// A body that breaks off mid-stream is answered like malformed JSON.
async fn read_body(req: IncomingRequest) -> Option<Vec<u8>> {
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            return None;
        }
    }
    Some(body)
}

async fn send(out: ResponseOutparam, r: Response) {
    let headers: Vec<(String, Vec<u8>)> = r
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_bytes()))
        .collect();
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(r.status);
    if let Err(e) = out.set_with_body(response, r.body).await {
        eprintln!("could not send the response: {e}");
    }
}
