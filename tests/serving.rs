//! How `host serve` spreads keep-alive connections over its request threads
//! (host/src/serving_threads.rs): by open connections, whichever thread the kernel lets
//! accept them.

use std::net::SocketAddr;

use bytes::Bytes;
use host::server::{Role, ServeLimits, Server};
use host::serving_threads::ServingThreads;
use host::telemetry::DriftConfig;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;

use crate::common;
use common::eventually;

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

/// Sends the first reference row on `sender`'s connection; the prediction's label.
async fn predict(
    sender: &mut SendRequest<Full<Bytes>>,
    row: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let body = serde_json::to_vec(&serde_json::json!({ "features": row })).unwrap();
    let request = hyper::Request::post("/predict")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    answer["predictions"][0]["label"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_alive_connections_are_spread_evenly_over_the_threads_and_all_answered() {
    let bundle = "breast-cancer";
    let reference = common::reference(bundle);
    let row = &reference.rows[0];
    let pipeline::reference::Expected::Class { label, .. } = &row.expected else {
        panic!("{bundle} is a classifier");
    };
    let server = Server::new(
        common::runtime(bundle).await,
        ServeLimits::default(),
        DriftConfig::default(),
    )
    .await
    .unwrap();
    // Three threads whatever the machine, so the spread is checked on one core too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let threads = ServingThreads::start(server, listener, Role::Public, 3).unwrap();
    let addr = threads.addr;

    // Nine connections opened at once, before any request: the accepting thread is the
    // kernel's choice; where each is served is the balancer's.
    let mut senders = Vec::new();
    for _ in 0..9 {
        senders.push(connect(addr).await);
    }
    for sender in &mut senders {
        assert_eq!(predict(sender, &row.features).await, *label);
    }
    eventually(async || threads.open_connections() == [3, 3, 3]).await;

    // Each connection is still answered on the thread it was given.
    for sender in &mut senders {
        assert_eq!(predict(sender, &row.features).await, *label);
    }

    // Closing three leaves six; the next three go wherever connections are fewest.
    senders.truncate(6);
    eventually(async || threads.open_connections().iter().sum::<usize>() == 6).await;
    for _ in 0..3 {
        let mut sender = connect(addr).await;
        assert_eq!(predict(&mut sender, &row.features).await, *label);
        senders.push(sender);
    }
    eventually(async || threads.open_connections() == [3, 3, 3]).await;
}
