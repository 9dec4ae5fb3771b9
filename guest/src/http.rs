//! `wasi:http/incoming-handler` through spin-sdk: adapts the request onto
//! `Function::route` / `Function::respond_with_outcome` (whatever the bundle's kind), reading at most the body limit + 1
//! bytes of the body (`MLFN_MAX_BODY_BYTES`, else `MAX_BODY_BYTES`), sends the answer,
//! then writes one JSON event per request to stderr.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use pipeline::events::{InputLogging, Outcome};
use pipeline::{ApiError, Function, InstanceInfo, MAX_BODY_BYTES, Response, Route};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

/// What the request's head says, read once.
struct Head {
    method: String,
    path: String,
    content_type: Option<String>,
    declared_length: Option<u64>,
    /// `Inference-Header-Content-Length` (V2 binary tensor data).
    inference_header: Option<String>,
    request_id: String,
}

impl Head {
    fn read(req: &IncomingRequest) -> Self {
        // One `entries` call rather than a `get` per header: each is a host call (the
        // request path makes ~42; `host bench` "request path"). The first value of a
        // repeated header counts, as `get(..).next()` did.
        let (mut content_type, mut content_length, mut inference_header, mut request_id) =
            (None, None, None, None);
        for (name, value) in req.headers().entries() {
            let slot = match name.to_ascii_lowercase().as_str() {
                "content-type" => &mut content_type,
                "content-length" => &mut content_length,
                pipeline::v2::HEADER_LENGTH => &mut inference_header,
                "x-request-id" => &mut request_id,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        let text = |value: Option<Vec<u8>>| value.and_then(|v| String::from_utf8(v).ok());
        Head {
            method: req.method().to_string(),
            path: req.path_with_query().unwrap_or_else(|| "/".into()),
            content_type: text(content_type),
            declared_length: text(content_length).and_then(|v| v.trim().parse().ok()),
            inference_header: text(inference_header),
            request_id: text(request_id)
                .filter(|id| {
                    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())
                })
                .unwrap_or_else(new_request_id),
        }
    }

    fn route_name(&self) -> &str {
        self.path.split('?').next().unwrap_or("/")
    }
}

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let start = Instant::now();
    let env = Env::read();
    #[cfg(feature = "networks")]
    wasm_kernel::use_fitted(env.get(wasm_kernel::ENV_VAR) == Some(wasm_kernel::FITTED));
    let head = Head::read(&req);
    let service = crate::service();
    let (mut response, outcome) = match service {
        Ok(service) => respond(service, &head, &env, req).await,
        Err(e) => failed(ApiError::internal(e)),
    };
    response
        .headers
        .push(("x-request-id", head.request_id.clone()));
    let (status, latency_us) = (response.status, start.elapsed().as_micros() as u64);
    // The answer first: the event is formatted only once the response is handed over
    // (a multi-threaded host such as Spin or `wasmtime serve` flushes it meanwhile).
    send(out, response).await;
    if let Ok(service) = service {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let line = service.event_line(
            &outcome,
            head.route_name(),
            status,
            &head.request_id,
            ts,
            latency_us,
            env.input_logging(),
        );
        write_event(line);
    }
}

/// One event line to `wasi:cli/stderr`, straight through the stream rather than through
/// wasi-libc's descriptor table, which a fresh instance's first `eprintln!` sets up (heap
/// pages the pool then copies back). `blocking-write-and-flush` takes at most 4,096 bytes
/// a call.
fn write_event(mut line: String) {
    line.push('\n');
    let stderr = wasi::cli::stderr::get_stderr();
    for chunk in line.as_bytes().chunks(4096) {
        if stderr.blocking_write_and_flush(chunk).is_err() {
            return;
        }
    }
}

fn failed(e: ApiError) -> (Response, Outcome) {
    (
        e.clone().into(),
        Outcome {
            error: Some(e),
            ..Outcome::default()
        },
    )
}

/// `failed`, in the envelope of the route's protocol.
fn refused(route: &Route, e: ApiError) -> (Response, Outcome) {
    (
        route.error_response(&e),
        Outcome {
            error: Some(e),
            ..Outcome::default()
        },
    )
}

async fn respond(
    service: &Function,
    head: &Head,
    env: &Env,
    req: IncomingRequest,
) -> (Response, Outcome) {
    let route = match service.route(&head.method, &head.path, head.content_type.as_deref()) {
        Ok(route) => route.with_inference_header(head.inference_header.as_deref()),
        Err(e) => return failed(e),
    };
    let max_body_bytes = env.max_body_bytes();
    let instance = InstanceInfo {
        preinitialized: crate::preinitialized(),
        max_body_bytes,
    };
    if !route.reads_body() {
        return service.respond_with_outcome(route, b"", instance);
    }
    if head
        .declared_length
        .is_some_and(|n| n > max_body_bytes as u64)
    {
        return refused(&route, ApiError::payload_too_large(max_body_bytes));
    }
    match read_body(req, max_body_bytes).await {
        Some(body) => service.respond_with_outcome(route, &body, instance),
        None => refused(&route, ApiError::payload_too_large(max_body_bytes)),
    }
}

/// The component's environment, read once per request (a snapshot must not fix it) and
/// through `wasi:cli/environment`, not libc: loading a network bundle reads the
/// environment while the snapshot is taken, and libc then keeps that empty copy in every
/// instance (measured: `spin up -e MLFN_MAX_BODY_BYTES=1000` was ignored by a packaged
/// magika and honoured by breast-cancer).
struct Env(Vec<(String, String)>);

impl Env {
    fn read() -> Self {
        Env(wasi::cli::environment::get_environment())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body limit: the host's (`MLFN_MAX_BODY_BYTES`, which `host serve
    /// --max-body-bytes` sets), else `MAX_BODY_BYTES`.
    fn max_body_bytes(&self) -> usize {
        self.get("MLFN_MAX_BODY_BYTES")
            .and_then(|v| v.parse().ok())
            .unwrap_or(MAX_BODY_BYTES)
    }

    /// Raw input values in events only when the operator opts in (`MLFN_LOG_INPUTS=raw`);
    /// buckets against the baseline otherwise.
    fn input_logging(&self) -> InputLogging {
        match self.get("MLFN_LOG_INPUTS") {
            Some("raw") => InputLogging::Raw,
            _ => InputLogging::Buckets,
        }
    }
}

/// 16 hex digits from `wasi:random` (read per request: a snapshot must not fix it).
fn new_request_id() -> String {
    format!("{:016x}", wasi::random::random::get_random_u64())
}

/// The whole body, or `None` once it passes the limit (the rest is never buffered).
/// A body that breaks off mid-stream is answered like malformed JSON.
async fn read_body(req: IncomingRequest, max_body_bytes: usize) -> Option<Vec<u8>> {
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > max_body_bytes {
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
