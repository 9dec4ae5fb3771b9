//! `wasi:http/incoming-handler` through spin-sdk: adapts the request onto
//! `pipeline::route` / `Service::respond_with_outcome`, reading at most
//! `MAX_BODY_BYTES + 1` of the body, and writes one JSON event per request to stderr.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use pipeline::events::{InputLogging, Outcome};
use pipeline::{ApiError, InstanceInfo, MAX_BODY_BYTES, Response, Route, Service};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let start = Instant::now();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .into_iter()
            .next()
            .and_then(|v| String::from_utf8(v).ok())
    };
    let request_id = header("x-request-id")
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(new_request_id);
    let path = req.path_with_query().unwrap_or_else(|| "/".into());
    let route_name = path.split('?').next().unwrap_or("/").to_string();
    let (mut response, outcome) = match crate::init() {
        Ok(service) => respond(service, req).await,
        Err(e) => {
            let e = ApiError::internal(e);
            (
                e.clone().into(),
                Outcome {
                    error: Some(e),
                    ..Outcome::default()
                },
            )
        }
    };
    response.headers.push(("x-request-id", request_id.clone()));
    if let Ok(service) = crate::init() {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let line = service.event_line(
            &outcome,
            &route_name,
            response.status,
            &request_id,
            ts,
            start.elapsed().as_micros() as u64,
            input_logging(),
        );
        eprintln!("{line}");
    }
    send(out, response).await;
}

async fn respond(service: &Service, req: IncomingRequest) -> (Response, Outcome) {
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
    let failed = |e: ApiError| {
        (
            e.clone().into(),
            Outcome {
                error: Some(e),
                ..Outcome::default()
            },
        )
    };
    let route = match pipeline::route(&method, &path, content_type.as_deref()) {
        Ok(route) => route,
        Err(e) => return failed(e),
    };
    let instance = InstanceInfo {
        preinitialized: crate::preinitialized(),
    };
    if route != Route::Predict {
        return service.respond_with_outcome(route, b"", instance);
    }
    if declared_length.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return failed(ApiError::payload_too_large());
    }
    match read_body(req).await {
        Some(body) => service.respond_with_outcome(route, &body, instance),
        None => failed(ApiError::payload_too_large()),
    }
}

/// Raw input values in events only when the operator opts in (`MLFN_LOG_INPUTS=raw` in
/// the component's environment); buckets against the baseline otherwise.
fn input_logging() -> InputLogging {
    match std::env::var("MLFN_LOG_INPUTS").as_deref() {
        Ok("raw") => InputLogging::Raw,
        _ => InputLogging::Buckets,
    }
}

/// 16 hex digits from `wasi:random` (read per request: a snapshot must not fix it).
fn new_request_id() -> String {
    format!("{:016x}", wasi::random::random::get_random_u64())
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
