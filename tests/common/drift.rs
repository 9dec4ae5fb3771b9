//! Drift as our host reports it (`GET /drift`) for the network kinds, whose baselines are
//! their reference samples' summaries (models/drift_baseline.py, in Python): the samples
//! themselves are no drift; one sample over and over is.

use std::net::SocketAddr;

use host::server::BackgroundServer;
use host::telemetry::DriftConfig;
use serde_json::Value;

use super::eventually;

/// A bundle served by our host with a drift window of the last `window` inputs, judged
/// once it is full.
pub async fn server_with_window(bundle: &str, window: usize) -> BackgroundServer {
    let drift = DriftConfig {
        window,
        psi_threshold: 0.2,
        min_observations: window,
    };
    host::server::spawn_with(
        super::runtime(bundle).await,
        host::server::ServeLimits::default(),
        drift,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

pub async fn report(addr: SocketAddr) -> Value {
    let r = super::request(addr, "GET", "/drift", &[], "").await;
    assert_eq!(r.status, 200);
    r.json()
}

/// Each feature's PSI in a drift report.
pub fn psi(report: &Value) -> Vec<(String, f64)> {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["psi"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// After the `n` reference samples (sent already), the window is the baseline's own
/// population: every summary is there and nothing is flagged. After `resend` sends one
/// sample `n` times, the window has drifted: `moved` is flagged.
pub async fn check_summaries(
    addr: SocketAddr,
    bundle: &str,
    n: usize,
    moved: &str,
    mut resend: impl AsyncFnMut(),
) {
    eventually(async || report(addr).await["observed"] == n).await;
    let baseline = report(addr).await;
    let names: Vec<String> = psi(&baseline).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.len() >= 2 && names.iter().any(|n| n == moved),
        "{bundle}: the drift report has no baselines of the summaries: {baseline}"
    );
    assert_eq!(
        baseline["flagged"],
        serde_json::json!([]),
        "{bundle}: {baseline}"
    );
    for (name, p) in psi(&baseline) {
        // Our summaries and Python's agree: PNG pixels exactly, JPEG ones within a level
        // or two (another decoder), which moves a sample across a bin edge at most.
        assert!(p < 0.1, "{bundle}: {name} PSI {p} on the reference samples");
    }
    eprintln!("{bundle}: reference samples, PSI {:?}", psi(&baseline));
    for _ in 0..n {
        resend().await;
    }
    eventually(async || {
        report(addr).await["flagged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == moved)
    })
    .await;
    eprintln!(
        "{bundle}: one sample {n} times, flagged {}, PSI {:?}",
        report(addr).await["flagged"],
        psi(&report(addr).await)
    );
}
