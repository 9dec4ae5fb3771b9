//! `host serve`'s request threads: one OS thread per core, each with a single-threaded
//! tokio runtime of its own, all accepting from the same listening socket. A connection,
//! its requests, their instances and the work after each answer stay on the thread that
//! accepted it.
//!
//! Why not tokio's multi-threaded runtime: every request spawns (the instance runs in a
//! task of its own so it can stream its body after the head), and each spawn wakes an
//! idle worker that then steals or parks again. Measured with wrk at c=1 on 2 cores: one
//! worker answered at p50 233–245 µs, two at 306–376 µs. Balance comes from the shared
//! socket instead: a thread busy with a long request is not in `accept`, so the other one
//! takes the next connection. A CPU-bound guest still yields every epoch tick
//! (runtime::EPOCH_TICK), so the connections beside it on its thread keep moving.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use wasmtime::Result;
use wasmtime::error::Context;

use crate::server::{Role, Server, serve};

/// Threads serving one listener; stopped (and joined) when dropped.
pub struct ServingThreads {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

impl ServingThreads {
    /// `threads` threads (at least one) serving `listener` in `role`.
    pub fn start(
        server: Arc<Server>,
        listener: std::net::TcpListener,
        role: Role,
        threads: usize,
    ) -> Result<Self> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let listener = listener.try_clone()?;
            let server = server.clone();
            let mut stopped = stopped.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = std::thread::Builder::new()
                .name(format!("serve-{i}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let listener = match tokio::net::TcpListener::from_std(listener) {
                            Ok(l) => l,
                            Err(e) => {
                                tracing::error!(error = %e, "a serving thread could not listen");
                                return;
                            }
                        };
                        let until_stopped = async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        };
                        if let Err(e) = serve(server, listener, role, until_stopped).await {
                            tracing::error!(error = %e, "a serving thread stopped");
                        }
                    });
                })
                .context("starting a serving thread")?;
            handles.push(handle);
        }
        Ok(ServingThreads {
            addr,
            stop,
            threads: handles,
        })
    }

    /// Binds `addr` and serves it from one thread per available core.
    pub fn bind(server: Arc<Server>, addr: SocketAddr, role: Role) -> Result<Self> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        Self::start(server, listener, role, cores())
    }
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Drop for ServingThreads {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
