//! Per-instance store state. The component gets no filesystem (no preopens), no
//! arguments, no sockets and no outbound HTTP: the inference function needs none of them.
//! Its environment is the operator's variables and `MLFN_WASM_GEMM` (runtime.rs).

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

pub struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: DenyOutbound,
    pub limiter: MemoryLimiter,
}

impl InstanceState {
    /// State for an instance whose linear memories may grow to `memory_cap` bytes. Its
    /// stderr goes to `stderr` when given (the server reads the instance's event from
    /// it), else to the host's stderr. `env` is the instance's whole environment.
    pub fn new(
        memory_cap: usize,
        stderr: Option<MemoryOutputPipe>,
        env: &[(String, String)],
    ) -> Self {
        let mut wasi = WasiCtx::builder();
        match stderr {
            Some(pipe) => wasi.stderr(pipe),
            None => wasi.inherit_stderr(),
        };
        for (k, v) in env {
            wasi.env(k, v);
        }
        let wasi = wasi
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        InstanceState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: DenyOutbound,
            limiter: MemoryLimiter {
                cap: memory_cap,
                peak: 0,
                denied: false,
            },
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// `wasi:http/outgoing-handler` answers every request with `HTTP-request-denied`.
pub struct DenyOutbound;

impl WasiHttpHooks for DenyOutbound {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// Caps linear-memory growth per instance and records the peak, which `bench` reports.
/// A guest over the cap sees `memory.grow` fail (Rust then aborts: a trap, which fails
/// that request only).
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimiter {
    pub cap: usize,
    /// Size of the largest linear memory seen, in bytes (a Rust component has one that
    /// matters: the program's).
    pub peak: usize,
    /// A growth was refused: a trap that follows is the cap's doing.
    pub denied: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.denied = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The body type responses carry back to hyper.
pub type ResponseBody = HyperOutgoingBody;
