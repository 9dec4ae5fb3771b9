//! Metrics and drift as the host aggregates them from the instances' events.

use crate::common;

use std::collections::HashMap;

use common::eventually;
use common::{post_json, reference, request, runtime};
use host::server::{ServeLimits, spawn_with};
use host::telemetry::DriftConfig;
use serde_json::{Value, json};

/// Scrapes `/metrics` and parses it with a real Prometheus text-format parser.
async fn scrape(addr: std::net::SocketAddr) -> prometheus_parse::Scrape {
    let r = request(addr, "GET", "/metrics", &[], "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(r.body).unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

fn value(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_errors_predictions_and_feature_problems() {
    let srv = host::server::spawn(runtime("penguins").await, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = srv.addr;
    let good = json!({"island": "Dream", "bill_length_mm": 46.5, "bill_depth_mm": 17.9, "flipper_length_mm": 192, "body_mass_g": 3500});
    for _ in 0..3 {
        assert_eq!(
            post_json(addr, "/predict", &json!({"features": good}))
                .await
                .status,
            200
        ); // sex missing
    }
    let mut heavy = good.clone();
    heavy["body_mass_g"] = json!(100000);
    assert_eq!(
        post_json(addr, "/predict", &json!({"features": heavy}))
            .await
            .status,
        422
    );
    assert_eq!(request(addr, "GET", "/nope", &[], "").await.status, 404);

    // Each request is recorded when its instance has finished, in any order: wait for all.
    eventually(async || {
        let s = scrape(addr).await;
        value(
            &s,
            "mlfn_feature_out_of_range_total",
            &[("feature", "body_mass_g")],
        ) == 1.0
            && value(
                &s,
                "mlfn_requests_total",
                &[("route", "/predict"), ("status", "200")],
            ) == 3.0
            && value(
                &s,
                "mlfn_requests_total",
                &[("route", "other"), ("status", "404")],
            ) == 1.0
    })
    .await;
    let s = scrape(addr).await;
    assert_eq!(
        value(
            &s,
            "mlfn_requests_total",
            &[("route", "/predict"), ("status", "200")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &s,
            "mlfn_requests_total",
            &[("route", "/predict"), ("status", "422")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "mlfn_requests_total",
            &[("route", "other"), ("status", "404")]
        ),
        1.0
    );
    let predicted: f64 = ["Adelie", "Chinstrap", "Gentoo"]
        .iter()
        .map(|l| value(&s, "mlfn_predictions_total", &[("label", l)]))
        .sum();
    assert_eq!(predicted, 3.0);
    assert_eq!(
        value(&s, "mlfn_feature_missing_total", &[("feature", "sex")]),
        3.0
    );
    assert_eq!(
        value(
            &s,
            "mlfn_feature_invalid_total",
            &[("feature", "body_mass_g")]
        ),
        1.0
    );
    // Histograms: latency per route, confidence per label, memory per instance.
    let names: Vec<&str> = s.samples.iter().map(|x| x.metric.as_str()).collect();
    for h in [
        "mlfn_request_duration_seconds",
        "mlfn_prediction_confidence",
        "mlfn_instance_memory_bytes",
        "mlfn_drift_psi",
        "mlfn_drift_ks",
    ] {
        assert!(names.contains(&h), "{h} missing from /metrics");
    }
    assert!(
        value(
            &s,
            "mlfn_request_duration_seconds",
            &[("route", "/predict")]
        ) >= 4.0
    );
}

/// The holdout is the training distribution: nothing drifts. The holdout with one
/// feature scaled: exactly that feature drifts.
#[tokio::test(flavor = "multi_thread")]
async fn drift_flags_exactly_the_shifted_feature() {
    let reference = reference("breast-cancer");
    let n = reference.rows.len();
    let drift = DriftConfig {
        window: n,
        psi_threshold: 0.2,
        min_observations: n,
    };
    let srv = spawn_with(
        runtime("breast-cancer").await,
        ServeLimits::default(),
        drift,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();

    let send_all = async |scale: f64| {
        for chunk in reference.rows.chunks(64) {
            let instances: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    let mut f = Value::Object(r.features.clone());
                    f["mean_radius"] = json!(f["mean_radius"].as_f64().unwrap() * scale);
                    f
                })
                .collect();
            let r = post_json(srv.addr, "/predict", &json!({ "instances": instances })).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        }
    };
    let drift_of = async || {
        let r = request(srv.addr, "GET", "/drift", &[], "").await;
        assert_eq!(r.status, 200);
        r.json()
    };

    send_all(1.0).await;
    eventually(async || drift_of().await["observed"] == n).await;
    let report = drift_of().await;
    assert_eq!(report["window_size"], n);
    assert_eq!(report["flagged"], json!([]), "{report}");
    let psi = |r: &Value| -> HashMap<String, f64> {
        r["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["psi"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let unshifted = psi(&report);
    let unshifted_ks = report_ks(&report, "mean_radius");
    let worst = unshifted.values().copied().fold(0.0, f64::max);
    eprintln!(
        "unshifted holdout: max PSI {worst:.4}, mean_radius PSI {:.4}",
        unshifted["mean_radius"]
    );

    send_all(1.3).await;
    // The window now holds only the shifted rows.
    eventually(async || drift_of().await["flagged"] == json!(["mean_radius"])).await;
    let report = drift_of().await;
    let shifted = psi(&report);
    let ks = report_ks(&report, "mean_radius");
    eprintln!(
        "mean_radius x1.3: PSI {:.4}, KS {ks:.4}; others max PSI {:.4}",
        shifted["mean_radius"],
        shifted
            .iter()
            .filter(|(k, _)| *k != "mean_radius")
            .map(|(_, v)| *v)
            .fold(0.0, f64::max)
    );
    assert!(shifted["mean_radius"] > 0.2);
    // The shifted feature's whole distribution moved: its KS statistic says so too, far
    // beyond the unshifted window's.
    assert!(
        ks > 0.3 && unshifted_ks < 0.2,
        "KS {ks}, unshifted {unshifted_ks}"
    );
}

fn report_ks(report: &Value, feature: &str) -> f64 {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == feature)
        .unwrap()["ks"]
        .as_f64()
        .unwrap()
}

/// A regression model: predicted values are counted in a histogram, and the window of
/// predictions is compared with the training predictions' distribution — shifting the
/// strongest input moves the predictions, and `prediction.value` is flagged with it.
#[tokio::test(flavor = "multi_thread")]
async fn regression_predictions_are_metered_and_watched_for_drift() {
    let bundle = "diabetes-hgb";
    let reference = reference(bundle);
    let rows: Vec<_> = reference
        .rows
        .iter()
        .filter(|r| !r.origin.contains("blanked"))
        .collect();
    let n = rows.len();
    let drift = DriftConfig {
        window: n,
        psi_threshold: 0.2,
        min_observations: n,
    };
    let srv = spawn_with(
        runtime(bundle).await,
        ServeLimits::default(),
        drift,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let send_all = async |shift: f64| {
        let instances: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut f = Value::Object(r.features.clone());
                f["bmi"] = json!(f["bmi"].as_f64().unwrap() + shift);
                f
            })
            .collect();
        let r = post_json(srv.addr, "/predict", &json!({ "instances": instances })).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["predictions"][0]["value"].is_f64());
    };
    let drift_of = async || request(srv.addr, "GET", "/drift", &[], "").await.json();
    let psi_of = |report: &Value, name: &str| {
        report["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {report}"))["psi"]
            .as_f64()
            .unwrap()
    };

    send_all(0.0).await;
    eventually(async || drift_of().await["observed"] == n).await;
    let report = drift_of().await;
    let unshifted = psi_of(&report, "prediction.value");
    assert!(unshifted < 0.2, "{report}");
    let s = scrape(srv.addr).await;
    assert_eq!(value(&s, "mlfn_prediction_value", &[]), n as f64);

    // bmi (mean-centred and scaled in this data set) up by 0.08, about 1.7 standard
    // deviations: the model predicts much higher disease progression.
    send_all(0.08).await;
    eventually(async || {
        drift_of().await["flagged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "prediction.value")
    })
    .await;
    let shifted = psi_of(&drift_of().await, "prediction.value");
    eprintln!("prediction.value PSI: unshifted {unshifted:.4}, bmi shifted {shifted:.4}");
    assert!(shifted > 0.2);
}

/// `--admin-listen`: `/metrics` and `/drift` leave the public port (which no longer
/// answers them) for the admin listener, which answers only them, counting the public
/// port's traffic.
#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_can_move_to_their_own_listener() {
    use host::server::{Role, Server, spawn_role};
    let server = Server::new(
        runtime("breast-cancer").await,
        ServeLimits::default(),
        DriftConfig::default(),
    )
    .await
    .unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let public = spawn_role(server.clone(), any, Role::Public).await.unwrap();
    let admin = spawn_role(server, any, Role::Admin).await.unwrap();

    let row = &reference("breast-cancer").rows[0];
    let r = post_json(public.addr, "/predict", &json!({"features": row.features})).await;
    assert_eq!(r.status, 200);
    for path in ["/metrics", "/drift"] {
        let r = request(public.addr, "GET", path, &[], "").await;
        assert_eq!(r.status, 404, "public {path}");
        assert_eq!(r.error_code(), "not_found");
        let r = request(admin.addr, "GET", path, &[], "").await;
        assert_eq!(r.status, 200, "admin {path}");
    }
    for (method, path) in [
        ("GET", "/health"),
        ("POST", "/predict"),
        ("POST", "/metrics"),
    ] {
        let r = request(admin.addr, method, path, &[], "").await;
        assert_eq!(r.status, 404, "admin {method} {path}");
        assert_eq!(r.error_code(), "not_found");
    }
    eventually(async || {
        value(
            &scrape(admin.addr).await,
            "mlfn_requests_total",
            &[("route", "/predict"), ("status", "200")],
        ) == 1.0
    })
    .await;
}

/// The counters a fleet sums (`mlfn_feature_bin_total{feature, bin}`) and the baseline
/// gauges (`mlfn_feature_baseline_proportion`) carry everything PSI needs: over the same
/// requests, PSI from the scraped series equals the host's own `/drift` for every
/// feature and prediction pseudo-feature, and every bin is exported (at 0 if empty).
#[tokio::test(flavor = "multi_thread")]
async fn bin_counters_and_baselines_reproduce_the_drift_report() {
    let reference = reference("breast-cancer");
    let n = reference.rows.len();
    let drift = DriftConfig {
        window: n,
        psi_threshold: 0.2,
        min_observations: n,
    };
    let srv = spawn_with(
        runtime("breast-cancer").await,
        ServeLimits::default(),
        drift,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let instances: Vec<Value> = reference
        .rows
        .iter()
        .map(|r| {
            let mut f = Value::Object(r.features.clone());
            f["mean_radius"] = json!(f["mean_radius"].as_f64().unwrap() * 1.3);
            f
        })
        .collect();
    for chunk in instances.chunks(64) {
        let r = post_json(srv.addr, "/predict", &json!({ "instances": chunk })).await;
        assert_eq!(r.status, 200);
    }
    let report = async || request(srv.addr, "GET", "/drift", &[], "").await.json();
    eventually(async || report().await["observed"] == n).await;
    let report = report().await;
    let scrape = scrape(srv.addr).await;
    let mut checked = 0;
    for f in report["features"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let mut baseline = Vec::new();
        let mut counts = Vec::new();
        for bin in 0.. {
            let labels = [("feature", name), ("bin", &bin.to_string())];
            let present = scrape.samples.iter().any(|s| {
                s.metric == "mlfn_feature_baseline_proportion"
                    && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            });
            if !present {
                break;
            }
            baseline.push(value(&scrape, "mlfn_feature_baseline_proportion", &labels));
            counts.push(value(&scrape, "mlfn_feature_bin_total", &labels) as u64);
        }
        assert!(
            baseline.len() >= 2,
            "{name}: {} bins exported",
            baseline.len()
        );
        assert_eq!(counts.iter().sum::<u64>(), n as u64, "{name}: {counts:?}");
        let from_counters = pipeline::drift::psi(&baseline, &counts).unwrap();
        let reported = f["psi"].as_f64().unwrap();
        assert!(
            (from_counters - reported).abs() < 1e-12,
            "{name}: PSI from the counters {from_counters}, /drift {reported}"
        );
        checked += 1;
    }
    // 30 inputs + prediction.label + prediction.confidence.
    assert_eq!(checked, 32);
}
