//! One HTTP request straight into a component, in process: no socket and none of the
//! server's guards (body limit, concurrency, deadline), just a fresh instance from the
//! runtime's `InstancePre` and its `wasi:http/incoming-handler`, as `server::run_guest`
//! drives it. For fuzzing and tests that want the component's own answer to exactly the
//! request they built.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::{Result, format_err};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use crate::runtime::Runtime;

/// What the component answered, whole.
#[derive(Debug)]
pub struct DirectResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// What the instance wrote to stderr (its request event).
    pub stderr: Bytes,
}

/// POSTs `body` with `content_type` to the component's `/predict` in a fresh instance: what
/// the packaging gates and benchmarks of the network kinds send.
pub async fn post_predict(
    runtime: &Runtime,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Result<DirectResponse> {
    let req = hyper::Request::builder()
        .method("POST")
        .uri("http://localhost/predict")
        .header("content-type", content_type)
        .body(body.into())?;
    call(runtime, req).await
}

/// Largest stderr kept per call.
const STDERR_CAPACITY: usize = 1 << 20;

/// Sends `req` (its URI, or else its `Host` header, must name an authority) into a fresh
/// instance and collects the whole response. Any failure of the instance — a trap before
/// or after the response head, an error code instead of a response, no response at all,
/// a body that breaks off — is an `Err`. Needs a tokio runtime.
pub async fn call(runtime: &Runtime, req: hyper::Request<Bytes>) -> Result<DirectResponse> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    let mut store = runtime.new_store_with(Some(stderr.clone()));
    let pre = runtime.proxy_pre_for(req.body().len()).clone();
    let req = req.map(|body| {
        Full::new(body).map_err(|never: Infallible| -> hyper::Error { match never {} })
    });
    let incoming = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let out = store.data_mut().http().new_response_outparam(sender)?;
    let guest = async move {
        let proxy = pre.instantiate_async(&mut store).await?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, incoming, out)
            .await
    };
    let client = async move {
        let resp = match receiver.await {
            Ok(Ok(resp)) => resp,
            Ok(Err(code)) => return Err(format_err!("the function reported an error: {code:?}")),
            Err(_) => return Err(format_err!("the function sent no response")),
        };
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format_err!("reading the response body: {e:?}"))?
            .to_bytes();
        Ok((parts, body))
    };
    // Both at once: the guest streams its body while the client side reads it.
    let (ran, answered) = tokio::join!(guest, client);
    ran?;
    let (parts, body) = answered?;
    Ok(DirectResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
        stderr: stderr.contents(),
    })
}
