//! `host serve`: an HTTP/1.1 server (hyper, tokio) that gives every request a fresh
//! instance of the component from its `InstancePre`, like Spin. A guest that traps or
//! never answers fails its own request with a JSON 500; the server carries on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use wasmtime::Result;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::runtime::Runtime;

/// Accepts connections until `shutdown` resolves.
pub async fn serve(
    runtime: Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, do not die.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let runtime = runtime.clone();
                async move { Ok::<_, Infallible>(handle(&runtime, req).await) }
            });
            if let Err(e) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Binds `addr` and serves in a background task until the returned handle is dropped.
/// For tests and benchmarks: the server stops by itself.
pub async fn spawn(runtime: Arc<Runtime>, addr: SocketAddr) -> Result<BackgroundServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(runtime, listener, async {
        let _ = stopped.await;
    }));
    Ok(BackgroundServer {
        addr,
        _stop: stop,
        task,
    })
}

pub struct BackgroundServer {
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request, one fresh instance.
pub async fn handle(
    runtime: &Arc<Runtime>,
    req: hyper::Request<Incoming>,
) -> hyper::Response<HyperOutgoingBody> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = match run_guest(runtime, req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(%method, %path, error = format!("{e:#}"), "the function failed");
            error_response(500, "internal", &format!("the function failed: {e}"))
        }
    };
    // Per-request lines cost as much as the request itself at these latencies: debug
    // level (RUST_LOG=host=debug shows them).
    tracing::debug!(
        %method, %path, status = response.status().as_u16(),
        micros = start.elapsed().as_micros() as u64, "request"
    );
    response
}

async fn run_guest(
    runtime: &Arc<Runtime>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<HyperOutgoingBody>> {
    let mut store = runtime.new_store();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    let pre = runtime.proxy_pre().clone();
    // The instance runs in its own task so it can keep streaming the body after the head
    // is sent; the store (and its pooling slot) is freed when the task ends.
    let task = tokio::spawn(async move {
        let proxy = pre.instantiate_async(&mut store).await?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await
    });
    match receiver.await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(code)) => Ok(error_response(
            500,
            "internal",
            &format!("the function reported an error: {code:?}"),
        )),
        Err(_) => match task.await {
            Ok(Ok(())) => wasmtime::bail!("the function returned without sending a response"),
            Ok(Err(e)) => Err(e),
            Err(e) => wasmtime::bail!("the instance's task failed: {e}"),
        },
    }
}

/// The guest's error envelope, produced by the host when there is no guest answer.
pub fn error_response(
    status: u16,
    code: &str,
    message: &str,
) -> hyper::Response<HyperOutgoingBody> {
    let body = serde_json::json!({"error": {"code": code, "message": message, "details": []}});
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(
            Full::new(Bytes::from(body.to_string()))
                .map_err(|e: Infallible| match e {})
                .boxed_unsync(),
        )
        .expect("a static status and header are valid")
}
