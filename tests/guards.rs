//! The server's guards and the sandbox, against a test-only component whose routes
//! trap, loop, allocate without bound, hold their instance, or probe what they may
//! touch (tests/fault-guest). Each failure stays inside its own request.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::request;
use host::server::{ServeLimits, spawn_with};
use host::telemetry::DriftConfig;
use host::{PoolLimits, Runtime, guests};

async fn fault_server(limits: ServeLimits, memory_mib: usize) -> host::server::BackgroundServer {
    let pool = PoolLimits {
        instances: limits.max_concurrent as u32 + 2,
        max_memory_bytes: memory_mib << 20,
    };
    let rt = Runtime::load(guests::FAULT_GUEST.as_ref(), pool)
        .await
        .unwrap();
    spawn_with(
        Arc::new(rt),
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
        max_body_bytes: 1000,
        deadline: Duration::from_millis(300),
        ..ServeLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_fails_only_its_own_request() {
    let srv = fault_server(limits(), 64).await;
    let r = request(srv.addr, "GET", "/trap", &[], "").await;
    assert_eq!((r.status, r.error_code()), (500, "internal".to_string()));
    common::assert_documented("/predict", "post", 500, "internal");
    assert_eq!(request(srv.addr, "GET", "/ok", &[], "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_its_deadline_is_504_and_the_next_is_served() {
    let srv = fault_server(limits(), 64).await;
    let t = std::time::Instant::now();
    let r = request(srv.addr, "GET", "/loop", &[], "").await;
    assert_eq!(
        (r.status, r.error_code()),
        (504, "deadline_exceeded".to_string())
    );
    common::assert_documented("/predict", "post", 504, "deadline_exceeded");
    common::assert_documented("/health", "get", 504, "deadline_exceeded");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the deadline did not cut the loop"
    );
    assert_eq!(request(srv.addr, "GET", "/ok", &[], "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_over_its_memory_cap_fails_with_a_clear_500() {
    let srv = fault_server(limits(), 64).await;
    let r = request(srv.addr, "GET", "/alloc", &[], "").await;
    assert_eq!(
        (r.status, r.error_code()),
        (500, "memory_limit".to_string())
    );
    common::assert_documented("/predict", "post", 500, "memory_limit");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("64 MiB")
    );
    assert_eq!(request(srv.addr, "GET", "/ok", &[], "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_concurrency_limit_is_503_with_retry_after() {
    // Each request holds its instance for 1.5 s; all ten arrive within far less.
    let srv = fault_server(
        ServeLimits {
            deadline: Duration::from_secs(5),
            ..limits()
        },
        64,
    )
    .await;
    let addr = srv.addr;
    let busy: Vec<_> = (0..10)
        .map(|_| tokio::spawn(async move { request(addr, "GET", "/busy?ms=1500", &[], "").await }))
        .collect();
    let mut ok = 0;
    let mut rejected = 0;
    for b in busy {
        let r = b.await.unwrap();
        match r.status {
            200 => ok += 1,
            503 => {
                assert_eq!(r.headers["retry-after"], "1");
                assert_eq!(r.error_code(), "overloaded");
                common::assert_documented("/predict", "post", 503, "overloaded");
                common::assert_documented("/metadata", "get", 503, "overloaded");
                rejected += 1;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    assert!((1..=4).contains(&ok), "{ok} served with a limit of 4");
    assert_eq!(ok + rejected, 10);
    assert_eq!(request(srv.addr, "GET", "/ok", &[], "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_could_not_finish_in_time_is_refused_at_once() {
    // `/busy?ms=700` holds its instance 0.7 s. Learnt from one request alone, eight
    // arriving together cannot all be expected within the 2 s deadline.
    let srv = fault_server(
        ServeLimits {
            max_concurrent: 64,
            deadline: Duration::from_secs(2),
            ..limits()
        },
        64,
    )
    .await;
    let addr = srv.addr;
    assert_eq!(
        request(addr, "GET", "/busy?ms=700", &[], "").await.status,
        200
    );
    let burst = 8;
    let requests: Vec<_> = (0..burst)
        .map(|_| {
            tokio::spawn(async move {
                let sent = std::time::Instant::now();
                let r = request(addr, "GET", "/busy?ms=700", &[], "").await;
                (r, sent.elapsed())
            })
        })
        .collect();
    let (mut served, mut refused) = (0, 0);
    for r in requests {
        let (r, took) = r.await.unwrap();
        match r.status {
            200 => served += 1,
            503 => {
                assert_eq!(r.error_code(), "overloaded");
                let retry_after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!(retry_after >= 1, "retry-after {retry_after}");
                // Refused when it arrives, not when the others are done (0.7 s).
                assert!(took < Duration::from_millis(400), "refused after {took:?}");
                refused += 1;
            }
            s => panic!(
                "unexpected status {s}: {}",
                String::from_utf8_lossy(&r.body)
            ),
        }
    }
    assert!(
        served >= 1 && refused >= 3,
        "{served} served, {refused} refused of {burst}"
    );
    assert_eq!(served + refused, burst);
    // Another route has a cost of its own.
    assert_eq!(request(addr, "GET", "/ok", &[], "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_enforces_the_body_limit_before_the_guest() {
    // The fault guest has no body limit of its own: a 413 here is the host's.
    let srv = fault_server(limits(), 64).await;
    let r = request(
        srv.addr,
        "POST",
        "/ok",
        &[("content-type", "application/json")],
        vec![b'x'; 1001],
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (413, "payload_too_large".to_string())
    );
    common::assert_documented("/predict", "post", 413, "payload_too_large");
    let r = request(
        srv.addr,
        "POST",
        "/ok",
        &[("content-type", "application/json")],
        vec![b'x'; 1000],
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_grants_no_files_host_env_sockets_or_outbound_http() {
    let srv = fault_server(limits(), 64).await;
    let r = request(srv.addr, "GET", "/sandbox", &[], "").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    for probe in ["file", "dir", "tcp", "outbound"] {
        assert_eq!(v[probe]["ok"], false, "{probe} was allowed: {v}");
    }
    // Nothing of the host's environment: only the host's own setting for the guest's
    // GEMM kernel (wasm-kernel/, runtime::instance_env).
    assert_eq!(
        v["env"],
        serde_json::json!([format!("{}={}", wasm_kernel::ENV_VAR, wasm_kernel::FITTED)]),
        "environment variables were granted: {v}"
    );
}
