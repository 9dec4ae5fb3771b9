//! Hostile clients against `host serve`: slow or idle connections cannot hold the
//! concurrency permits or the connection slots for long, and a failing function's answer
//! carries no internals. Each attack with its expected status and a time bound.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{post_json, request, runtime};
use host::server::{ServeLimits, spawn_with};
use host::telemetry::DriftConfig;
use host::{PoolLimits, Runtime, guests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server(rt: Arc<Runtime>, limits: ServeLimits) -> host::server::BackgroundServer {
    spawn_with(
        rt,
        limits,
        DriftConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn limits() -> ServeLimits {
    ServeLimits {
        max_concurrent: 4,
        read_timeout: Duration::from_millis(500),
        ..ServeLimits::default()
    }
}

/// A request head announcing a body it then does not send.
fn stalled_head(length: usize) -> String {
    format!(
        "POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n{{"
    )
}

/// Reads until the peer closes or `limit` passes; returns what arrived and when it ended.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_never_arrives_gets_408_within_the_read_timeout() {
    let srv = server(runtime("breast-cancer").await, limits()).await;
    let mut stream = TcpStream::connect(srv.addr).await.unwrap();
    stream
        .write_all(stalled_head(1000).as_bytes())
        .await
        .unwrap();
    let (answer, took) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    common::assert_documented("/predict", "post", 408, "request_timeout");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_that_never_finish_are_cut_off() {
    let srv = server(runtime("breast-cancer").await, limits()).await;
    let mut stream = TcpStream::connect(srv.addr).await.unwrap();
    stream
        .write_all(b"POST /predict HTTP/1.1\r\nho")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2), "still open after {took:?}");
}

/// Forty connections trickle bodies while four permits exist: a normal request is still
/// served (the permit is taken only once a body is in), at its usual speed.
#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_do_not_starve_normal_requests() {
    let srv = server(
        runtime("breast-cancer").await,
        ServeLimits {
            read_timeout: Duration::from_secs(5),
            ..limits()
        },
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        s.write_all(stalled_head(1000).as_bytes()).await.unwrap();
        slow.push(s);
    }
    let row = common::reference("breast-cancer").rows[0].features.clone();
    for _ in 0..10 {
        let t = Instant::now();
        let r = post_json(srv.addr, "/predict", &serde_json::json!({"features": row})).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "took {:?}",
            t.elapsed()
        );
    }
    drop(slow);
}

/// Over the connection cap a new connection is closed at once; the open ones keep working.
#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_cap_are_closed() {
    let srv = server(
        runtime("breast-cancer").await,
        ServeLimits {
            max_connections: 4,
            read_timeout: Duration::from_secs(5),
            ..limits()
        },
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(srv.addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let (answer, took) = read_until_closed(&mut extra, Duration::from_secs(3)).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    drop(idle);
    // Slots come back when connections end.
    let addr: SocketAddr = srv.addr;
    let start = Instant::now();
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s
            .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let (answer, _) = read_until_closed(&mut s, Duration::from_millis(500)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no slot came back"
        );
    }
}

/// A trap's answer is a stable code and the request id; the wasm backtrace stays in the
/// host log.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_function_answers_without_internals() {
    let rt = Runtime::load(guests::FAULT_GUEST.as_ref(), PoolLimits::default())
        .await
        .unwrap();
    let srv = server(Arc::new(rt), limits()).await;
    let r = request(srv.addr, "GET", "/trap", &[("x-request-id", "trap-1")], "").await;
    assert_eq!(r.status, 500);
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert_eq!(r.error_code(), "internal");
    assert!(body.contains("trap-1"), "{body}");
    for internal in ["backtrace", "wasm", "0x", "panicked"] {
        assert!(!body.contains(internal), "{internal} in {body}");
    }
    assert_eq!(r.headers["x-request-id"], "trap-1");
}

/// Bodies built to make validation expensive or its answer huge, just under the body
/// limit: each is a 422 with at most `MAX_PROBLEMS` details, nothing echoed at length,
/// well within the deadline, and the server answers normally afterwards. (Before the
/// bounds, the first was a 500 carrying a wasm backtrace and the second a 504 after 2 s
/// of "did you mean" edit distances.)
#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_get_a_small_fast_422() {
    use serde_json::json;
    let srv = server(runtime("breast-cancer").await, limits()).await;
    let many_keys: serde_json::Map<String, serde_json::Value> =
        (0..70_000).map(|i| (format!("k{i}"), json!(1))).collect();
    let cases = [
        ("70,000 unknown keys", json!({ "features": many_keys })),
        (
            "one 1 MB key",
            json!({"features": {"x".repeat(1_000_000): 1}}),
        ),
        (
            "a 1 MB near-miss key",
            json!({"features": {"mean_radiuz".repeat(90_000): 1}}),
        ),
        (
            "256 instances of 300 unknown keys",
            json!({"instances": vec![
                (0..300).map(|i| (format!("k{i}"), json!(1))).collect::<serde_json::Map<_, _>>();
                256
            ]}),
        ),
    ];
    let mut worst = (Duration::ZERO, "");
    for (what, body) in cases {
        let bytes = serde_json::to_vec(&body).unwrap();
        assert!(
            bytes.len() <= pipeline::MAX_BODY_BYTES,
            "{what}: {}",
            bytes.len()
        );
        let t = Instant::now();
        let r = post_json(srv.addr, "/predict", &body).await;
        let took = t.elapsed();
        assert_eq!(
            r.status,
            422,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let details = r.json()["error"]["details"].as_array().unwrap().len();
        assert!(details <= pipeline::api::MAX_PROBLEMS, "{what}: {details}");
        assert!(r.body.len() < 64 << 10, "{what}: {} bytes", r.body.len());
        assert!(took < Duration::from_secs(1), "{what}: took {took:?}");
        eprintln!("{what}: 422 in {took:?}, {} bytes", r.body.len());
        worst = worst.max((took, what));
    }
    // Bodies that fail on their shape or depth: nesting past serde_json's depth limit is
    // malformed (400, as parsing into a Value says), and instances past the batch limit
    // are counted, not validated (422).
    let deep = format!("{}{}", "[".repeat(500_000), "]".repeat(500_000));
    let numbers = format!(r#"{{"instances": [{}1]}}"#, "1,".repeat(500_000));
    // Under V2 a header holding more values than an answerable one is refused (400)
    // at the first value past that budget.
    let tensor = format!(
        r#"{{"inputs": [{{"name": "x", "datatype": "FP64", "shape": [500000], "data": [{}1]}}]}}"#,
        "1,".repeat(499_999)
    );
    for (what, path, body, status) in [
        ("500,000 nested arrays", "/predict", deep, 400),
        ("500,000 numbers as instances", "/predict", numbers, 422),
        (
            "a V2 tensor of 500,000 numbers",
            "/v2/models/breast-cancer/infer",
            tensor,
            400,
        ),
    ] {
        assert!(body.len() <= pipeline::MAX_BODY_BYTES);
        let t = Instant::now();
        let r = common::post_json_bytes(srv.addr, path, body).await;
        let took = t.elapsed();
        assert_eq!(r.status, status, "{what}");
        assert!(took < Duration::from_secs(1), "{what}: took {took:?}");
        eprintln!("{what}: {status} in {took:?}");
        worst = worst.max((took, what));
    }
    eprintln!("worst: {} in {:?}", worst.1, worst.0);
    let row = common::reference("breast-cancer").rows[0].features.clone();
    let r = post_json(srv.addr, "/predict", &serde_json::json!({"features": row})).await;
    assert_eq!(r.status, 200);
}

/// A client that hangs up mid-body is the client's failure: counted as a 400
/// `incomplete_body`, never as the function's 500, and nothing else notices.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_hangs_up_mid_body_is_not_a_server_error() {
    let srv = server(runtime("breast-cancer").await, limits()).await;
    for _ in 0..5 {
        let mut stream = TcpStream::connect(srv.addr).await.unwrap();
        stream
            .write_all(stalled_head(1000).as_bytes())
            .await
            .unwrap();
        drop(stream);
    }
    common::assert_documented("/predict", "post", 400, "incomplete_body");
    let start = Instant::now();
    loop {
        let metrics = request(srv.addr, "GET", "/metrics", &[], "").await;
        let text = String::from_utf8(metrics.body).unwrap();
        assert!(!text.contains(r#"status="500""#), "{text}");
        // Every series also carries the version's `model` and `version` labels.
        if text.lines().any(|l| {
            l.starts_with(r#"mlfn_requests_total{route="/predict",status="400","#)
                && l.ends_with("} 5")
        }) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One flag sets the body limit of host and guest: above the guest's 1 MiB default, a
/// body the host admits is read and answered by the guest too; over the flag, 413.
#[tokio::test(flavor = "multi_thread")]
async fn the_host_body_limit_reaches_the_guest() {
    let limits = ServeLimits {
        max_body_bytes: 3 << 20,
        ..limits()
    };
    let pool = PoolLimits {
        instances: limits.max_concurrent as u32 + 2,
        ..PoolLimits::default()
    };
    let mut rt = Runtime::load(&common::packaged_wasm("breast-cancer").await, pool)
        .await
        .unwrap();
    rt.set_env(limits.guest_env());
    let srv = server(Arc::new(rt), limits).await;
    let row = common::reference("breast-cancer").rows[0].features.clone();
    let body = serde_json::to_vec(&serde_json::json!({ "features": row })).unwrap();
    let padded = |size: usize| {
        let mut b = body.clone();
        b.resize(size, b' ');
        b
    };
    for (size, status) in [(2 << 20, 200), ((3 << 20) + 1, 413)] {
        let r = common::post_json_bytes(srv.addr, "/predict", padded(size)).await;
        assert_eq!(
            r.status,
            status,
            "{size} bytes: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // Without the flag's environment the guest keeps its own default: 413 at 2 MiB.
    let srv = server(runtime("breast-cancer").await, limits).await;
    let r = common::post_json_bytes(srv.addr, "/predict", padded(2 << 20)).await;
    assert_eq!(r.status, 413);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&pipeline::MAX_BODY_BYTES.to_string())
    );
}
