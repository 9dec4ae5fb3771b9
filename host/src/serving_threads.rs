//! `host serve`'s request threads: one OS thread per core, each with a single-threaded
//! tokio runtime of its own, all accepting from the same listening socket. A connection
//! is given to one thread when it is accepted; it, its requests, their instances and the
//! work after each answer stay there.
//!
//! Why not tokio's multi-threaded runtime: every request spawns (the instance runs in a
//! task of its own so it can stream its body after the head), and each spawn wakes an
//! idle worker that then steals or parks again. Measured with wrk at c=1 on 2 cores: one
//! worker answered at p50 233–245 µs, two at 306–376 µs. A CPU-bound guest still yields
//! every epoch tick (runtime::EPOCH_TICK), so the connections beside it on its thread
//! keep moving.
//!
//! Balance is by open connections, as Envoy's "exact" connection balancer does: the
//! thread that accepts a connection keeps it if no thread serves fewer, and otherwise
//! hands it to the one that serves fewest. Whichever thread wins `accept` is left to the
//! kernel, and it is often the same one: with wrk's keep-alive connections opened at
//! once, magika answered 40-42 req/s in seven of eight runs at c=8 or c=2, the second
//! core idle, as at c=1; balanced, 80-83 (`host serve models/magika`). A handoff costs a
//! wakeup of the other thread once per connection, never per request. With wrk on the
//! same two cores it costs the tabular c=8 p99 (README "Side by side").

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{OwnedSemaphorePermit, mpsc};
use wasmtime::Result;
use wasmtime::error::Context;

use crate::server::{self, Role, Server};

/// Threads serving one listener; stopped (and joined) when dropped.
pub struct ServingThreads {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    balance: Arc<Balance>,
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
        let (balance, inboxes) = Balance::new(threads.max(1));
        let mut handles = Vec::new();
        for (i, inbox) in inboxes.into_iter().enumerate() {
            let listener = listener.try_clone()?;
            let server = server.clone();
            let balance = balance.clone();
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
                        let thread = Thread {
                            index: i,
                            server,
                            role,
                            balance,
                        };
                        thread.serve(listener, inbox, until_stopped).await;
                    });
                })
                .context("starting a serving thread")?;
            handles.push(handle);
        }
        Ok(ServingThreads {
            addr,
            stop,
            threads: handles,
            balance,
        })
    }

    /// Binds `addr` and serves it from one thread per available core.
    pub fn bind(server: Arc<Server>, addr: SocketAddr, role: Role) -> Result<Self> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        Self::start(server, listener, role, cores())
    }

    /// How many connections each thread serves now.
    pub fn open_connections(&self) -> Vec<usize> {
        self.balance.open()
    }
}

/// A connection on its way to the thread that will serve it, with its place under the
/// server's connection cap.
struct Handoff {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    place: OwnedSemaphorePermit,
}

/// Open connections per thread, and each thread's inbox for handed-off connections.
struct Balance {
    open: Mutex<Vec<usize>>,
    inboxes: Vec<mpsc::UnboundedSender<Handoff>>,
}

impl Balance {
    fn new(threads: usize) -> (Arc<Self>, Vec<mpsc::UnboundedReceiver<Handoff>>) {
        let (senders, receivers) = (0..threads).map(|_| mpsc::unbounded_channel()).unzip();
        let balance = Balance {
            open: Mutex::new(vec![0; threads]),
            inboxes: senders,
        };
        (Arc::new(balance), receivers)
    }

    /// The thread that serves a connection `acceptor` has just accepted: `acceptor`
    /// unless another serves fewer connections, then the first that serves fewest. Counts
    /// the connection there.
    fn place(&self, acceptor: usize) -> usize {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let fewest = (0..open.len()).min_by_key(|&t| open[t]).unwrap_or(acceptor);
        let chosen = if open[fewest] < open[acceptor] {
            fewest
        } else {
            acceptor
        };
        open[chosen] += 1;
        chosen
    }

    fn opened(&self, thread: usize) {
        self.open.lock().unwrap_or_else(|e| e.into_inner())[thread] += 1;
    }

    fn closed(&self, thread: usize) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open[thread] = open[thread].saturating_sub(1);
    }

    fn open(&self) -> Vec<usize> {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Uncounts a connection from its thread when the connection ends.
struct Counted {
    balance: Arc<Balance>,
    thread: usize,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.balance.closed(self.thread);
    }
}

/// One serving thread's part.
struct Thread {
    index: usize,
    server: Arc<Server>,
    role: Role,
    balance: Arc<Balance>,
}

impl Thread {
    /// Accepts from the shared listener and takes connections handed over by the other
    /// threads until `shutdown` resolves; serves each on this thread.
    async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        mut inbox: mpsc::UnboundedReceiver<Handoff>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                (stream, peer) = server::accept(&listener) => {
                    let Some(place) = server::admit(&self.server, &stream, peer) else {
                        continue;
                    };
                    let thread = self.balance.place(self.index);
                    if thread == self.index {
                        self.serve_here(stream, peer, place);
                    } else {
                        self.hand_over(thread, stream, peer, place);
                    }
                }
                Some(handoff) = inbox.recv() => {
                    match tokio::net::TcpStream::from_std(handoff.stream) {
                        Ok(stream) => self.serve_here(stream, handoff.peer, handoff.place),
                        Err(e) => {
                            tracing::warn!(error = %e, "a handed-over connection could not be served");
                            self.balance.closed(self.index);
                        }
                    }
                }
                () = &mut shutdown => return,
            }
        }
    }

    /// Serves a connection counted on this thread.
    fn serve_here(
        &self,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        place: OwnedSemaphorePermit,
    ) {
        let counted = Counted {
            balance: self.balance.clone(),
            thread: self.index,
        };
        server::serve_connection(self.server.clone(), self.role, stream, peer, place, counted);
    }

    /// Sends a connection counted on `thread` there. If that thread has stopped, serves it
    /// here; if the stream cannot leave this runtime, the connection is closed.
    fn hand_over(
        &self,
        thread: usize,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        place: OwnedSemaphorePermit,
    ) {
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "a connection could not be handed over");
                self.balance.closed(thread);
                return;
            }
        };
        if let Err(mpsc::error::SendError(handoff)) = self.balance.inboxes[thread].send(Handoff {
            stream,
            peer,
            place,
        }) {
            self.balance.closed(thread);
            self.balance.opened(self.index);
            match tokio::net::TcpStream::from_std(handoff.stream) {
                Ok(stream) => self.serve_here(stream, handoff.peer, handoff.place),
                Err(_) => self.balance.closed(self.index),
            }
        }
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
