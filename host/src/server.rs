//! `host serve`: an HTTP/1.1 server (hyper, tokio) that gives every request a fresh
//! instance of the component from its `InstancePre`, like Spin, and guards it:
//! - a concurrency limit: over it, 503 with `Retry-After`, never an unbounded queue; the
//!   permit is taken only once the whole body is in, so slow clients cannot hold it;
//! - a read timeout for headers (connection closed) and for the whole body (408), and a
//!   cap on open connections (more are closed at once);
//! - the body limit, enforced before the guest sees a byte (413);
//! - a per-request deadline by epoch interruption (504; the instance is discarded);
//! - the per-instance memory cap (a guest over it fails its own request with a 500).
//!
//! A guest that traps fails only its own request, with a JSON error that carries a
//! stable code and the request id, never the trap's details (those go to the host log
//! under the same id). The host also answers `GET /metrics` (Prometheus) and `GET /drift`
//! from what instances reported: on the public port by default, or only on a separate
//! admin listener (`Role`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{Result, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::admission::Admission;
use crate::deploy::metrics::DeployMetrics;
use crate::deploy::reload::Reloader;
use crate::deploy::router::{self, Choice};
use crate::deploy::shadow::ShadowPool;
use crate::deploy::{Deployment, Model, Version};
use crate::runtime::Runtime;
use crate::serving_threads::ServingThreads;
use crate::telemetry::{DriftConfig, Telemetry};
use arc_swap::ArcSwap;

/// Guards of the server, each configurable on the CLI.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Requests in flight at once; more get 503.
    pub max_concurrent: usize,
    /// Largest request body; a larger one gets 413 before any instance exists.
    pub max_body_bytes: usize,
    /// Wall-clock budget of one request's guest execution; over it, 504.
    pub deadline: Duration,
    /// Time a client has to send a request's headers (else the connection is closed) and,
    /// separately, its whole body (else 408).
    pub read_timeout: Duration,
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_concurrent: 32,
            max_body_bytes: pipeline::MAX_BODY_BYTES,
            deadline: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            max_connections: 1024,
        }
    }
}

impl ServeLimits {
    /// The limits the guest enforces itself, as its environment: one flag sets both the
    /// host's and the guest's (the guest's default is `pipeline::MAX_BODY_BYTES`).
    pub fn guest_env(&self) -> Vec<(String, String)> {
        vec![(
            "MLFN_MAX_BODY_BYTES".to_string(),
            self.max_body_bytes.to_string(),
        )]
    }
}

/// Captured stderr per instance: events are small; a runaway guest is cut off here.
pub(crate) const STDERR_CAPACITY: usize = 1 << 20;

pub struct Server {
    /// The running set of models and versions, swapped whole on reload.
    deployment: ArcSwap<Deployment>,
    /// The deployment file to reload from (`host serve --config`); `None` for one component.
    reloader: Option<Reloader>,
    metrics: DeployMetrics,
    shadows: ShadowPool,
    limits: ServeLimits,
    permits: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    admission: Admission,
}

impl Server {
    /// One component: the deployment with one model and one version.
    pub async fn new(
        runtime: Arc<Runtime>,
        limits: ServeLimits,
        drift: DriftConfig,
    ) -> Result<Arc<Self>> {
        let meta = runtime.metadata().await.ok();
        let telemetry = Arc::new(Telemetry::new(
            meta.as_ref().map(|m| m.metadata_json.as_str()),
            drift,
        )?);
        crate::runtime::start_epoch_ticker(runtime.engine());
        let (name, version) = meta.map(|m| (m.name, m.version)).unwrap_or_default();
        let version = Version::new(
            &name,
            &version,
            runtime,
            telemetry,
            1,
            false,
            None,
            String::new(),
        );
        Self::with_deployment(Deployment::single(version), None, limits)
    }

    /// A loaded deployment, reloadable from `reloader`'s file when given.
    pub fn with_deployment(
        deployment: Deployment,
        reloader: Option<Reloader>,
        limits: ServeLimits,
    ) -> Result<Arc<Self>> {
        let metrics = DeployMetrics::new()?;
        publish_weights(&deployment, &metrics);
        Ok(Arc::new(Server {
            deployment: ArcSwap::from_pointee(deployment),
            reloader,
            metrics,
            shadows: ShadowPool::default(),
            permits: Arc::new(Semaphore::new(limits.max_concurrent)),
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            admission: Admission::default(),
            limits,
        }))
    }

    /// Requests in flight besides the caller's own, which holds a permit.
    fn others_in_flight(&self) -> usize {
        self.limits.max_concurrent - self.permits.available_permits() - 1
    }

    /// The telemetry of the first model's stable version (the only one of `host serve X`).
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.deployment.load().default_version().telemetry.clone()
    }

    /// The running deployment (requests that start now get this one).
    pub fn deployment(&self) -> Arc<Deployment> {
        self.deployment.load_full()
    }

    pub fn deploy_metrics(&self) -> &DeployMetrics {
        &self.metrics
    }

    /// Reads the deployment file again and swaps the new set in (SIGHUP, `POST
    /// /admin/reload`); the running set stays when it fails, and the error says why.
    pub async fn reload(&self) -> Result<serde_json::Value> {
        let Some(reloader) = &self.reloader else {
            wasmtime::bail!("this server was not started with --config: nothing to reload");
        };
        let summary = reloader.reload(&self.deployment, &self.metrics).await?;
        publish_weights(&self.deployment.load(), &self.metrics);
        Ok(summary)
    }

    /// Every version's series and the deployment's own, as one exposition.
    pub fn metrics_text(&self) -> String {
        let deployment = self.deployment.load();
        publish_weights(&deployment, &self.metrics);
        let families = deployment
            .versions()
            .flat_map(|v| v.telemetry.families())
            .chain(self.metrics.families());
        crate::deploy::metrics::exposition(families.collect::<Vec<_>>())
    }

    /// One version's drift report when the deployment has one version (the document
    /// `host serve X` always had), else every version's, as `{"versions": [..]}`.
    pub fn drift_json(&self) -> String {
        let deployment = self.deployment.load();
        let doc = if deployment.is_single() {
            serde_json::to_value(deployment.default_version().telemetry.drift())
        } else {
            let reports: Vec<_> = deployment.versions().map(|v| v.telemetry.drift()).collect();
            serde_json::to_value(serde_json::json!({ "versions": reports }))
        };
        doc.expect("plain JSON").to_string()
    }
}

/// `mlfn_version_weight` as the router sees it now (versions a reload removed disappear).
fn publish_weights(deployment: &Deployment, metrics: &DeployMetrics) {
    metrics.weight.reset();
    for v in deployment.versions() {
        metrics
            .weight
            .with_label_values(&[&v.model, &v.version])
            .set(i64::from(v.weight()));
    }
}

/// What a listener answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The function, plus `GET /metrics` and `GET /drift` (one port, the default).
    PublicWithAdmin,
    /// The function only: the admin routes are on another listener.
    Public,
    /// `GET /metrics` and `GET /drift` only (`host serve --admin-listen`).
    Admin,
}

/// Accepts connections until `shutdown` resolves, answering what `role` says, each on
/// this task's runtime (its guests run where serving_threads::spawn_guest places them).
pub async fn serve(
    server: Arc<Server>,
    listener: TcpListener,
    role: Role,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = accept(&listener) => accepted,
            () = &mut shutdown => return Ok(()),
        };
        if let Some(connection) = admit(&server, &stream, peer) {
            serve_connection(server.clone(), role, stream, peer, connection);
        }
    }
}

/// The next connection. Accept errors (out of file descriptors and the like) are logged
/// and retried after a pause: the server does not die of them.
async fn accept(listener: &TcpListener) -> (tokio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// A place under the cap on open connections for a new connection, or `None` (the
/// connection is then closed at once). Sets TCP_NODELAY on it.
fn admit(
    server: &Server,
    stream: &tokio::net::TcpStream,
    peer: SocketAddr,
) -> Option<OwnedSemaphorePermit> {
    // The guest sends the response head and the body as separate writes: without
    // TCP_NODELAY, Nagle holds the body until the client's delayed ACK (~40 ms;
    // measured as the p99 under wrk).
    let _ = stream.set_nodelay(true);
    let admitted = server.connections.clone().try_acquire_owned().ok();
    if admitted.is_none() {
        tracing::warn!(%peer, "connection cap reached; closing");
    }
    admitted
}

/// Serves one admitted connection's requests in a task on the current runtime. `place`
/// (the connection's cap permit) is dropped when the connection ends.
fn serve_connection(
    server: Arc<Server>,
    role: Role,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    place: OwnedSemaphorePermit,
) {
    tokio::spawn(async move {
        let read_timeout = server.limits.read_timeout;
        let service = hyper::service::service_fn(move |req| {
            let server = server.clone();
            async move { Ok::<_, Infallible>(handle(&server, role, req).await) }
        });
        if let Err(e) = http1::Builder::new()
            .keep_alive(true)
            // Without a timer hyper's header timeout is inert.
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(read_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .await
        {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
        drop(place);
    });
}

/// Binds `addr` and serves in a background task until the returned handle is dropped.
/// For tests and benchmarks: the server stops by itself.
pub async fn spawn(runtime: Arc<Runtime>, addr: SocketAddr) -> Result<BackgroundServer> {
    spawn_with(
        runtime,
        ServeLimits::default(),
        DriftConfig::default(),
        addr,
    )
    .await
}

/// `spawn` with the guards and drift settings given.
pub async fn spawn_with(
    runtime: Arc<Runtime>,
    limits: ServeLimits,
    drift: DriftConfig,
    addr: SocketAddr,
) -> Result<BackgroundServer> {
    spawn_server(Server::new(runtime, limits, drift).await?, addr).await
}

pub async fn spawn_server(server: Arc<Server>, addr: SocketAddr) -> Result<BackgroundServer> {
    spawn_role(server, addr, Role::PublicWithAdmin).await
}

/// Serves `server` on `addr` in the given role, in the background (see `spawn`), on
/// serving threads as `host serve` does.
pub async fn spawn_role(
    server: Arc<Server>,
    addr: SocketAddr,
    role: Role,
) -> Result<BackgroundServer> {
    let threads = ServingThreads::bind(server.clone(), addr, role)?;
    Ok(BackgroundServer {
        addr: threads.addr,
        server,
        _threads: threads,
    })
}

pub struct BackgroundServer {
    pub addr: SocketAddr,
    pub server: Arc<Server>,
    _threads: ServingThreads,
}

pub type Response = hyper::Response<HyperOutgoingBody>;

/// One request: host routes, guards, the version it goes to, then one fresh instance.
pub async fn handle(server: &Arc<Server>, role: Role, req: hyper::Request<Incoming>) -> Response {
    let start = Instant::now();
    let path = req.uri().path().to_string();
    if role == Role::Admin && req.method() == hyper::Method::POST && path == "/admin/reload" {
        return reload_response(server).await;
    }
    if role != Role::Public
        && let Some(response) = admin_response(server, req.method(), &path)
    {
        return response;
    }
    if role == Role::Admin {
        return error_response(
            404,
            "not_found",
            "the admin listener serves GET /metrics, GET /drift and POST /admin/reload only",
        );
    }
    let request_id = request_id(&req);
    // The deployment as it is now: a reload during this request does not move it.
    let deployment = server.deployment.load_full();
    // The body first (bounded in size and time), so the permit is only ever held by a
    // request that is ready to run.
    let (mut parts, body) = match read_body(&server.limits, req).await {
        Ok(read) => read,
        Err(failure) => {
            let response = failure.response(&server.limits, &request_id);
            let status = response.status().as_u16();
            deployment.default_version().telemetry.record(
                &path,
                status,
                start.elapsed().as_secs_f64(),
                None,
                b"",
            );
            return response;
        }
    };
    let Ok(permit) = server.permits.clone().try_acquire_owned() else {
        let r = overloaded("too many requests in flight; retry shortly", 1);
        deployment.default_version().telemetry.record(
            &path,
            503,
            start.elapsed().as_secs_f64(),
            None,
            b"",
        );
        return r;
    };
    let (model, version, guest_path, choice) = match resolve(&deployment, &parts) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let cost_key = format!("{} {} {guest_path}", version.model, version.version);
    let in_flight = server.others_in_flight();
    if let Err(retry_after) = server
        .admission
        .admit(&cost_key, in_flight, server.limits.deadline)
    {
        let r = overloaded(
            &format!(
                "the {in_flight} requests in flight would not let this one finish within its \
                 deadline; retry in {retry_after} s"
            ),
            retry_after,
        );
        version
            .telemetry
            .record(&path, 503, start.elapsed().as_secs_f64(), None, b"");
        return r;
    }
    // From here, not from `start`: how slowly a client sent its body must not count.
    let admitted = Instant::now();
    if guest_path != path {
        parts.uri = with_path(&parts.uri, &guest_path);
    }
    let shadow = match (choice, model.shadow()) {
        (Choice::Weighted, Some(shadow)) => {
            server.shadows.copy(shadow, &parts, &body, &server.metrics)
        }
        _ => None,
    };
    let request = full_request(parts, body);
    let (mut response, finished) =
        match run_guest(&version.runtime, &version.telemetry, server.limits, request).await {
            Ok(r) => r,
            Err(failure) => (failure.response(&server.limits, &request_id), None),
        };
    if let Ok(v) = hyper::header::HeaderValue::from_str(&version.version)
        && !version.version.is_empty()
    {
        response.headers_mut().insert("x-model-version", v);
    }
    let status = response.status().as_u16();
    let seconds = start.elapsed().as_secs_f64();
    // Learnt now, as the answer leaves: the next request may arrive before the
    // instance's task has ended.
    let in_flight_now = server.others_in_flight();
    server
        .admission
        .record(&cost_key, admitted.elapsed(), in_flight, in_flight_now);
    tracing::debug!(%path, model = %version.model, version = %version.version, status, micros = (seconds * 1e6) as u64, "request");
    // The instance may still be streaming its body: record it when it is done, and only
    // then give its permit back. The shadow copy starts now, beside it.
    let shadow = shadow.map(|copy| tokio::spawn(copy.run(server.limits)));
    let server = server.clone();
    let canary = model.canary.filter(|_| model.is_canary(version));
    let version = version.clone();
    tokio::spawn(async move {
        let Finish {
            peak_memory,
            stderr,
        } = match finished {
            Some(f) => f.await,
            None => Finish::default(),
        };
        version
            .telemetry
            .record(&guest_path, status, seconds, peak_memory, &stderr);
        drop(permit);
        if let Some(window) = &version.window {
            window.record(status >= 500, seconds);
            if let Some(limits) = canary
                && let Some((breach, stats)) = window.breach(&limits)
                && version.withdraw()
            {
                let stable = deployment
                    .model(Some(&version.model))
                    .and_then(|m| m.stable().window.as_ref().map(|w| w.stats()));
                tracing::warn!(
                    model = %version.model, version = %version.version, reason = breach.label(),
                    requests = stats.requests, error_rate = stats.error_rate, p99_ms = stats.p99_ms,
                    max_error_rate = limits.max_error_rate, max_p99_ms = limits.max_p99_ms,
                    stable = ?stable,
                    "canary rolled back: weight set to 0 (the file is unchanged; `host rollback` makes it permanent)"
                );
                server
                    .metrics
                    .canary_rollbacks
                    .with_label_values(&[&version.model, &version.version, breach.label()])
                    .inc();
                publish_weights(&deployment, &server.metrics);
            }
        }
        if let Some(shadow) = shadow
            && let Ok(outcome) = shadow.await
        {
            outcome.compare(&stderr, &server.metrics);
        }
    });
    response
}

/// The model and version a request goes to, the path its guest gets, and how the version
/// was chosen; or the 404 naming what exists.
#[allow(clippy::result_large_err)]
fn resolve<'d>(
    deployment: &'d Deployment,
    parts: &http::request::Parts,
) -> Result<(&'d Model, &'d Arc<Version>, String, Choice<'static>), Response> {
    let path = parts.uri.path();
    let route = router::route(path);
    let not_found = |what: String| {
        if route.v2 {
            v2_error_response(404, &what)
        } else {
            error_response(404, "not_found", &what)
        }
    };
    // One component: every V2 path reaches the guest, which answers unknown models and
    // versions as it always has.
    if route.v2 && deployment.is_single() {
        let m = &deployment.models[0];
        return Ok((m, m.stable(), path.to_string(), Choice::Stable));
    }
    let Some(model) = deployment.model(route.model) else {
        return Err(not_found(format!(
            "unknown model '{}'; this server serves {:?}",
            route.model.unwrap_or_default(),
            deployment.model_names()
        )));
    };
    let key = parts
        .headers
        .get("x-routing-key")
        .map(|v| v.as_bytes())
        .filter(|k| !k.is_empty());
    let Some(version) = model.choose(route.choice, key) else {
        let asked = match route.choice {
            Choice::Pinned(v) => v,
            _ => "",
        };
        return Err(not_found(format!(
            "unknown version '{asked}' of model '{}'; the versions served are {:?}",
            model.name,
            model.version_names()
        )));
    };
    let choice = match route.choice {
        Choice::Weighted => Choice::Weighted,
        Choice::Stable => Choice::Stable,
        Choice::Pinned(_) => Choice::Pinned(""),
    };
    Ok((model, version, route.guest_path, choice))
}

/// `uri` with its path replaced (its query kept).
fn with_path(uri: &http::Uri, path: &str) -> http::Uri {
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    http::Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// `POST /admin/reload`: 200 with what runs now, or 409 with why the file was refused.
async fn reload_response(server: &Server) -> Response {
    match server.reload().await {
        Ok(summary) => text_response(
            200,
            "application/json",
            serde_json::json!({"reloaded": true, "models": summary}).to_string(),
        ),
        Err(e) => error_response(409, "reload_refused", &format!("{e:#}")),
    }
}

/// `GET /metrics` and `GET /drift`, answered by the host from what instances reported.
fn admin_response(server: &Server, method: &hyper::Method, path: &str) -> Option<Response> {
    if method != hyper::Method::GET {
        return None;
    }
    match path {
        "/metrics" => Some(text_response(
            200,
            "text/plain; version=0.0.4",
            server.metrics_text(),
        )),
        "/drift" => Some(text_response(200, "application/json", server.drift_json())),
        _ => None,
    }
}

/// Why a request got no answer from its guest.
pub(crate) enum Failure {
    BodyTooLarge,
    BodyTimeout,
    /// The body broke off (the client closed or reset the connection mid-body): counted
    /// as the client's error, not the function's, though nobody reads the answer.
    BodyIncomplete,
    Deadline,
    MemoryCap(usize),
    Guest(wasmtime::Error),
}

impl Failure {
    fn response(&self, limits: &ServeLimits, request_id: &str) -> Response {
        let mut response = match self {
            Failure::BodyTooLarge => error_response(
                413,
                "payload_too_large",
                &format!(
                    "request body exceeds the limit of {} bytes",
                    limits.max_body_bytes
                ),
            ),
            Failure::BodyTimeout => error_response(
                408,
                "request_timeout",
                &format!(
                    "the request body did not arrive within {:?}",
                    limits.read_timeout
                ),
            ),
            Failure::BodyIncomplete => error_response(
                400,
                "incomplete_body",
                "the request body ended before it was complete",
            ),
            Failure::Deadline => error_response(
                504,
                "deadline_exceeded",
                &format!("the function did not answer within {:?}", limits.deadline),
            ),
            Failure::MemoryCap(cap) => error_response(
                500,
                "memory_limit",
                &format!(
                    "the function exceeded its memory limit of {} MiB",
                    cap >> 20
                ),
            ),
            // The error (a trap with its wasm backtrace) is for the operator's log only.
            Failure::Guest(e) => {
                tracing::error!(request_id, error = format!("{e:#}"), "the function failed");
                error_response(
                    500,
                    "internal",
                    &format!(
                        "the function failed; the host log has the details under request id {request_id}"
                    ),
                )
            }
        };
        if let Ok(v) = hyper::header::HeaderValue::from_str(request_id) {
            response.headers_mut().insert("x-request-id", v);
        }
        response
    }
}

/// The client's `x-request-id` when it is sane (as the guest takes it), else a new one.
fn request_id(req: &hyper::Request<Incoming>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from)
        .unwrap_or_else(|| {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            format!("host-{:x}-{n}", std::process::id())
        })
}

pub(crate) type FullRequest =
    hyper::Request<http_body_util::combinators::BoxBody<Bytes, hyper::Error>>;

/// The whole body, within the size limit (by Content-Length when declared, and while
/// reading otherwise) and the read timeout.
async fn read_body(
    limits: &ServeLimits,
    req: hyper::Request<Incoming>,
) -> Result<(http::request::Parts, Bytes), Failure> {
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        // Answer at once, but keep reading (and dropping) what the client is already
        // sending, for a while: closing a socket with unread bytes makes the kernel reset
        // the connection, which can destroy the 413 before the client reads it.
        let body = req.into_body();
        let (cap, deadline) = (4 * limits.max_body_bytes, limits.read_timeout);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(deadline, Limited::new(body, cap).collect()).await;
        });
        return Err(Failure::BodyTooLarge);
    }
    let (parts, body) = req.into_parts();
    let collect = Limited::new(body, limits.max_body_bytes).collect();
    let body = match tokio::time::timeout(limits.read_timeout, collect).await {
        Err(_) => return Err(Failure::BodyTimeout),
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(Failure::BodyTooLarge);
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "the request body broke off");
            return Err(Failure::BodyIncomplete);
        }
    };
    Ok((parts, body))
}

/// A request whose body is all in memory, as the guest's incoming request.
pub(crate) fn full_request(parts: http::request::Parts, body: Bytes) -> FullRequest {
    hyper::Request::from_parts(
        parts,
        Full::new(body)
            .map_err(|never: Infallible| -> hyper::Error { match never {} })
            .boxed(),
    )
}

/// What an instance leaves once its task has ended.
#[derive(Default)]
pub(crate) struct Finish {
    pub peak_memory: Option<usize>,
    pub stderr: Bytes,
}

pub(crate) type Finished = std::pin::Pin<Box<dyn Future<Output = Finish> + Send>>;

/// One request in a fresh instance of `runtime`, within `limits`' deadline and memory cap.
pub(crate) async fn run_guest(
    runtime: &Runtime,
    telemetry: &Telemetry,
    limits: ServeLimits,
    req: FullRequest,
) -> Result<(Response, Option<Finished>), Failure> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    let mut store = runtime.new_store_with(Some(stderr.clone()));
    // The whole body is in memory, so its size is exact.
    let body_bytes = hyper::body::Body::size_hint(req.body())
        .exact()
        .map_or(usize::MAX, |n| n as usize);
    // Every epoch tick the guest yields to the executor (so a CPU-bound guest cannot hold
    // a worker thread and starve the accept loop and the concurrency guard), and once
    // its deadline has passed it traps (the callback is set in the guest's task below). It yields through tokio's `yield_now`, which
    // lets the I/O driver run before the task does again. wasmtime's own `Yield` wakes
    // the task at once; with guests busy beside each other the run queue then never
    // empties, and a single-threaded runtime polls for I/O only every 61 tasks (its
    // `event_interval`): 61 ticks of 5 ms before a new connection was even read, and a
    // request that should have been refused at once waited 0.4-0.6 s (tests/guards.rs).
    let started = Instant::now();
    store.set_epoch_deadline(1);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)
        .map_err(Failure::Guest)?;
    let out = store
        .data_mut()
        .http()
        .new_response_outparam(sender)
        .map_err(Failure::Guest)?;
    let pre = runtime.proxy_pre_for(body_bytes).clone();
    // The instance runs in its own task so it can keep streaming the body after the head
    // is sent; the store (and its pooling slot) is freed when the task ends.
    let task = crate::serving_threads::spawn_guest(move |running| async move {
        // A guest still running at a tick is a long one: its thread counts as busy
        // when the next guest is placed (serving_threads::spawn_guest).
        store.epoch_deadline_callback(move |_| {
            running.at_tick();
            if started.elapsed() >= limits.deadline {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });
        let result = match pre.instantiate_async(&mut store).await {
            Ok(proxy) => {
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            }
            Err(e) => Err(e),
        };
        // Let the connection write the response before this task drops the store: the
        // drop resets the pooling slot's memory (PAGEMAP_SCAN, copying dirty pages back),
        // which need not delay the answer.
        tokio::task::yield_now().await;
        let limiter = store.data().limiter;
        (result, limiter)
    });
    let classify = |e: wasmtime::Error, limiter: crate::state::MemoryLimiter| {
        if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            Failure::Deadline
        } else if limiter.denied {
            Failure::MemoryCap(limiter.cap)
        } else {
            Failure::Guest(e)
        }
    };
    match receiver.await {
        Ok(Ok(resp)) => {
            let finished: Finished = Box::pin(async move {
                Finish {
                    peak_memory: task.await.ok().map(|(_, limiter)| limiter.peak),
                    stderr: stderr.contents(),
                }
            });
            Ok((resp, Some(finished)))
        }
        Ok(Err(code)) => Ok((
            error_response(
                500,
                "internal",
                &format!("the function reported an error: {code:?}"),
            ),
            None,
        )),
        Err(_) => match task.await {
            Ok((Ok(()), _)) => Err(Failure::Guest(wasmtime::format_err!(
                "the function returned without sending a response"
            ))),
            Ok((Err(e), limiter)) => {
                let failure = classify(e, limiter);
                // The trapped instance's own words (its event, a panic message) still count.
                telemetry.record_stderr(&stderr.contents());
                Err(failure)
            }
            Err(e) => Err(Failure::Guest(wasmtime::format_err!(
                "the instance's task failed: {e}"
            ))),
        },
    }
}

fn text_response(status: u16, content_type: &'static str, body: String) -> Response {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(
            Full::new(Bytes::from(body))
                .map_err(|e: Infallible| match e {})
                .boxed_unsync(),
        )
        .expect("a static status and header are valid")
}

/// The V2 protocol's error envelope (`{"error": "message"}`), for V2 paths.
pub fn v2_error_response(status: u16, message: &str) -> Response {
    text_response(
        status,
        "application/json",
        serde_json::json!({ "error": message }).to_string(),
    )
}

/// 503 `overloaded`, with the seconds after which to retry.
fn overloaded(message: &str, retry_after_seconds: u64) -> Response {
    let mut r = error_response(503, "overloaded", message);
    r.headers_mut().insert(
        "retry-after",
        hyper::header::HeaderValue::from(retry_after_seconds),
    );
    r
}

/// The guest's error envelope, produced by the host when there is no guest answer.
pub fn error_response(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message, "details": []}});
    text_response(status, "application/json", body.to_string())
}
