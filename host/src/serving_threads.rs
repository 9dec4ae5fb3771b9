//! `host serve`'s request threads: one OS thread per core, each with a single-threaded
//! tokio runtime of its own, all accepting from the same listening socket. A connection
//! stays on the thread that accepted it; its requests' guests run where
//! [`spawn_guest`] places them.
//!
//! Why not tokio's multi-threaded runtime: every request spawns (the instance runs in a
//! task of its own so it can stream its body after the head), and each spawn wakes an
//! idle worker that then steals or parks again. Measured with wrk at c=1 on 2 cores: one
//! worker answered at p50 233–245 µs, two at 306–376 µs. A CPU-bound guest still yields
//! every epoch tick (runtime::EPOCH_TICK), so the connections beside it on its thread
//! keep moving.
//!
//! Balance is by guests, not connections. Whichever thread wins `accept` is left to the
//! kernel, and with wrk's keep-alive connections opened at once it is often the same one:
//! magika answered 36-42 req/s at c=8, the second core idle. A long guest (the server's
//! guests take over [`LONG_GUEST`] on average, or one here is still running at an epoch
//! tick) goes to the thread with the fewest guests in flight: 80-84 req/s. A short one
//! stays on its connection's thread, where it costs no wakeup of another. Balancing the
//! connections instead (Envoy's "exact" balance, the build before) gave magika the same
//! 83-84, but with wrk on the same two cores the tabular c=8 p99 was 3.1-3.6 ms in five
//! alternating rounds, against 1.0-3.4 (median 2.1) with guests placed; and its counts,
//! updated only when a thread noticed a close, could place new connections on stale
//! figures (33-35 req/s at c=2 in one run).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::Result;
use wasmtime::error::Context;

use crate::server::{self, Role, Server};

/// A guest that runs this long on average is worth the wakeup of another thread.
pub const LONG_GUEST: Duration = Duration::from_millis(1);

/// Threads serving one listener; stopped (and joined) when dropped.
pub struct ServingThreads {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    guests: Arc<GuestThreads>,
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
        let runtimes = (0..threads.max(1))
            .map(|_| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let guests = Arc::new(GuestThreads::new(
            runtimes.iter().map(|r| r.handle().clone()).collect(),
        ));
        let mut handles = Vec::new();
        for (i, runtime) in runtimes.into_iter().enumerate() {
            let listener = listener.try_clone()?;
            let server = server.clone();
            let guests = guests.clone();
            let mut stopped = stopped.clone();
            let handle = std::thread::Builder::new()
                .name(format!("serve-{i}"))
                .spawn(move || {
                    THIS_THREAD.with(|t| *t.borrow_mut() = Some((i, guests)));
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
                        let _ = server::serve(server, listener, role, until_stopped).await;
                    });
                })
                .context("starting a serving thread")?;
            handles.push(handle);
        }
        Ok(ServingThreads {
            addr,
            stop,
            threads: handles,
            guests,
        })
    }

    /// Binds `addr` and serves it from one thread per available core.
    pub fn bind(server: Arc<Server>, addr: SocketAddr, role: Role) -> Result<Self> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        Self::start(server, listener, role, cores())
    }

    /// How many guests each thread has run so far.
    pub fn guests_run(&self) -> Vec<usize> {
        self.guests.run.iter().map(|c| c.load(Relaxed)).collect()
    }

    /// How many guests each thread runs now (a guest counts until its task has ended).
    pub fn guests_in_flight(&self) -> Vec<usize> {
        self.guests
            .in_flight
            .iter()
            .map(|c| c.load(Acquire))
            .collect()
    }
}

/// Where guests run: each serving thread's runtime; per thread, the guests in flight, the
/// long ones among them (still running at an epoch tick) and all it has run; and how
/// long a guest takes, as a moving average.
struct GuestThreads {
    handles: Vec<tokio::runtime::Handle>,
    in_flight: Vec<AtomicUsize>,
    long: Vec<AtomicUsize>,
    run: Vec<AtomicUsize>,
    typical_ns: AtomicU64,
    placing: Mutex<()>,
}

impl GuestThreads {
    fn new(handles: Vec<tokio::runtime::Handle>) -> Self {
        let counters = || handles.iter().map(|_| AtomicUsize::new(0)).collect();
        GuestThreads {
            in_flight: counters(),
            long: counters(),
            run: counters(),
            typical_ns: AtomicU64::new(0),
            placing: Mutex::new(()),
            handles,
        }
    }

    /// Counts a new guest from thread `here` on the thread it should run on, and returns
    /// that thread: `here` while guests are short and none here is long; otherwise the
    /// first with the fewest in flight, `here` on a tie (chosen and counted under a lock,
    /// so guests placed at once from several threads see each other).
    fn place(&self, here: usize) -> usize {
        let typical = Duration::from_nanos(self.typical_ns.load(Relaxed));
        let _placing;
        let chosen = if typical < LONG_GUEST && self.long[here].load(Relaxed) == 0 {
            here
        } else {
            _placing = self.placing.lock().unwrap_or_else(|e| e.into_inner());
            let in_flight: Vec<usize> = self.in_flight.iter().map(|c| c.load(Relaxed)).collect();
            let fewest = (0..in_flight.len())
                .min_by_key(|&t| in_flight[t])
                .unwrap_or(here);
            if in_flight[here] <= in_flight[fewest] {
                here
            } else {
                fewest
            }
        };
        self.in_flight[chosen].fetch_add(1, Relaxed);
        self.run[chosen].fetch_add(1, Relaxed);
        chosen
    }

    /// A guest that ran `took` has ended: the newest weighs 1/8 in the average.
    fn ended(&self, took: Duration) {
        let old = self.typical_ns.load(Relaxed) as i128;
        let new = old + (took.as_nanos() as i128 - old) / 8;
        self.typical_ns.store(new.max(0) as u64, Relaxed);
    }
}

thread_local! {
    /// On a serving thread: which one it is, and the guest threads it belongs to.
    static THIS_THREAD: RefCell<Option<(usize, Arc<GuestThreads>)>> = const { RefCell::new(None) };
}

/// One guest's place: counted in flight on its thread until dropped.
pub(crate) struct Running {
    place: Option<(Arc<GuestThreads>, usize)>,
    started: Instant,
    long: AtomicBool,
}

impl Running {
    fn new(place: Option<(Arc<GuestThreads>, usize)>) -> Arc<Self> {
        Arc::new(Running {
            place,
            started: Instant::now(),
            long: AtomicBool::new(false),
        })
    }

    /// Says the guest is still running at an epoch tick (once is enough).
    pub(crate) fn at_tick(&self) {
        if let Some((guests, thread)) = &self.place
            && !self.long.swap(true, Relaxed)
        {
            guests.long[*thread].fetch_add(1, Relaxed);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some((guests, thread)) = &self.place {
            guests.ended(self.started.elapsed());
            if *self.long.get_mut() {
                guests.long[*thread].fetch_sub(1, Relaxed);
            }
            // Last, and released: whoever sees the guest gone sees its time counted.
            guests.in_flight[*thread].fetch_sub(1, Release);
        }
    }
}

/// Spawns the task `task` makes for a guest, given the guest's [`Running`] place: on a
/// serving thread, on the thread [`GuestThreads::place`] picks; elsewhere (calls in
/// process, such as `direct`'s) on the current runtime.
pub(crate) fn spawn_guest<F>(
    task: impl FnOnce(Arc<Running>) -> F,
) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let this_thread = THIS_THREAD.with(|t| t.borrow().clone());
    let Some((here, guests)) = this_thread else {
        return tokio::spawn(task(Running::new(None)));
    };
    let chosen = guests.place(here);
    let running = Running::new(Some((guests.clone(), chosen)));
    let future = task(running.clone());
    guests.handles[chosen].spawn(async move {
        let output = future.await;
        drop(running);
        output
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Guest threads for `n` threads, all on one throwaway runtime (placement only reads
    /// the counters), and that runtime.
    fn guest_threads(n: usize) -> (tokio::runtime::Runtime, GuestThreads) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let guests = GuestThreads::new(vec![runtime.handle().clone(); n]);
        (runtime, guests)
    }

    fn set(counters: &[AtomicUsize], values: &[usize]) {
        for (c, v) in counters.iter().zip(values) {
            c.store(*v, Relaxed);
        }
    }

    #[test]
    fn short_guests_stay_on_their_connections_thread() {
        let (_runtime, guests) = guest_threads(3);
        guests.ended(Duration::from_micros(80));
        set(&guests.in_flight, &[0, 4, 0]);
        assert_eq!(guests.place(1), 1);
    }

    #[test]
    fn long_guests_go_where_fewest_are_in_flight_and_stay_on_a_tie() {
        let (_runtime, guests) = guest_threads(3);
        // 8 × 1/8 of 20 ms: past LONG_GUEST.
        for _ in 0..8 {
            guests.ended(Duration::from_millis(20));
        }
        set(&guests.in_flight, &[2, 3, 1]);
        assert_eq!(guests.place(1), 2);
        // ... and counts it there: [2, 3, 2].
        assert_eq!(guests.place(1), 0);
        set(&guests.in_flight, &[2, 1, 1]);
        assert_eq!(guests.place(1), 1);
        // [2, 2, 1]
        assert_eq!(guests.place(0), 2);
    }

    #[test]
    fn a_long_guest_still_running_moves_the_next_one_even_if_guests_are_short() {
        let (_runtime, guests) = guest_threads(2);
        guests.ended(Duration::from_micros(80));
        set(&guests.in_flight, &[1, 0]);
        assert_eq!(guests.place(0), 0);
        set(&guests.in_flight, &[1, 0]);
        set(&guests.long, &[1, 0]);
        assert_eq!(guests.place(0), 1);
    }
}
