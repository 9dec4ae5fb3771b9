//! The floor under `host serve`'s HTTP figures: the same serving threads (one
//! single-threaded tokio runtime per core on one shared listener, hyper HTTP/1.1,
//! TCP_NODELAY) answering every request with a fixed JSON body and no instance at all.
//! `bench/side_by_side.sh` measures it beside the runtimes, so the table says how much of
//! a latency is the machine's (loopback, wake-ups, the load generator on the same cores)
//! and how much is the function's.
//!
//!   cargo run --release -p host --example http_floor -- 127.0.0.1:18700 [WORK_US]
//!
//! WORK_US (default 0): CPU time to burn per request, to see what a request path of that
//! cost would give on this machine.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;

const ANSWER: &[u8] = br#"{"model":{"name":"floor","version":"0"},"predictions":[{"label":"benign","confidence":1.0}]}"#;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18700".into());
    let work = Duration::from_micros(args.next().and_then(|w| w.parse().ok()).unwrap_or(0));
    let listener = std::net::TcpListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let listener = listener.try_clone()?;
            Ok(std::thread::spawn(move || serve(listener, work)))
        })
        .collect::<std::io::Result<_>>()?;
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn serve(listener: std::net::TcpListener, work: Duration) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| async move {
                    let start = Instant::now();
                    while start.elapsed() < work {
                        std::hint::spin_loop();
                    }
                    let mut response = hyper::Response::new(Full::new(Bytes::from_static(ANSWER)));
                    response.headers_mut().insert(
                        "content-type",
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(response)
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
