//! How `host serve` spreads work over its request threads (host/src/serving_threads.rs):
//! connections stay where the kernel put them; long guests go to the thread with the
//! fewest in flight.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use host::server::{Role, ServeLimits, Server};
use host::serving_threads::ServingThreads;
use host::telemetry::DriftConfig;
use host::{PoolLimits, Runtime, guests};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;

use crate::common::eventually;

/// A keep-alive connection, handshaken.
async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

/// `GET path` on `sender`'s connection; the status.
async fn get(sender: &mut SendRequest<Full<Bytes>>, path: &str) -> u16 {
    let request = hyper::Request::get(path)
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    response.into_body().collect().await.unwrap();
    status
}

#[tokio::test(flavor = "multi_thread")]
async fn long_guests_are_spread_over_the_threads_whatever_connection_they_come_from() {
    let rt = Runtime::load(guests::FAULT_GUEST.as_ref(), PoolLimits::default())
        .await
        .unwrap();
    let server = Server::new(Arc::new(rt), ServeLimits::default(), DriftConfig::default())
        .await
        .unwrap();
    // Three threads whatever the machine, so the spread is checked on one core too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let threads = ServingThreads::start(server, listener, Role::Public, 3).unwrap();
    let addr = threads.addr;

    // One guest of 50 ms teaches the server that its guests are long (once its task has
    // ended, which may be after the answer).
    assert_eq!(get(&mut connect(addr).await, "/busy?ms=50").await, 200);
    eventually(async || threads.guests_in_flight().iter().sum::<usize>() == 0).await;
    let before = threads.guests_run();

    // Six connections, on whichever threads the kernel lets accept them, each asking
    // for a guest that holds its thread 0.4 s, all at once.
    let mut senders = Vec::new();
    for _ in 0..6 {
        senders.push(connect(addr).await);
    }
    let answers: Vec<_> = senders
        .into_iter()
        .map(|mut sender| tokio::spawn(async move { get(&mut sender, "/busy?ms=400").await }))
        .collect();
    for answer in answers {
        assert_eq!(answer.await.unwrap(), 200);
    }
    let ran: Vec<usize> = threads
        .guests_run()
        .iter()
        .zip(&before)
        .map(|(after, before)| after - before)
        .collect();
    assert_eq!(ran.iter().sum::<usize>(), 6);
    let (most, fewest) = (ran.iter().max().unwrap(), ran.iter().min().unwrap());
    assert!(most - fewest <= 1, "guests run per thread: {ran:?}");
}
