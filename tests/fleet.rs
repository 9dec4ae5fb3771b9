//! Running many replicas (`deploy/`): the SpinApp manifest against spin-operator's CRD,
//! and the Prometheus rules that compute drift across replicas from their counters —
//! `promtool test rules` on synthetic series whose PSI `pipeline::drift::psi` (the
//! function behind `/drift`) computes — and the Grafana dashboard's queries against
//! what the host exports and the rules record.
//!
//! Tools: promtool (Debian package `prometheus`) and a venv with jsonschema
//! (tests/tools/validate-crd.sh). Without them the test says so and passes; under CI
//! (`CI` set) they must be there.

use crate::common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use pipeline::drift::psi;

fn deploy(path: &str) -> PathBuf {
    common::repo_root().join("deploy").join(path)
}

fn tool_missing(what: &str) -> bool {
    assert!(std::env::var_os("CI").is_none(), "CI must have {what}");
    eprintln!("{what} is not available here: skipped");
    true
}

/// tests/tools/validate-crd.sh CRD MANIFEST: Some((passed, output)), None when its
/// Python tooling cannot be set up here.
fn validate(manifest: &Path) -> Option<(bool, String)> {
    let out = Command::new("bash")
        .arg(common::repo_root().join("tests/tools/validate-crd.sh"))
        .arg(deploy("spinkube/crd/core.spinkube.dev_spinapps.yaml"))
        .arg(manifest)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    match out.status.code() {
        Some(3) if !tool_missing("the jsonschema venv (tests/tools/validate-crd.sh)") => {
            panic!("{text}")
        }
        Some(3) => None,
        _ => Some((out.status.success(), text)),
    }
}

#[test]
fn spinapp_manifest_matches_the_crd() {
    let manifest = deploy("spinkube/inference-function.yaml");
    let Some((ok, text)) = validate(&manifest) else {
        return;
    };
    assert!(ok, "{text}");
    assert!(text.contains("SpinApp inference-function: valid"), "{text}");

    // The validator refuses what the API server would refuse or silently drop.
    let original = std::fs::read_to_string(&manifest).unwrap();
    let dir = std::env::temp_dir().join(format!("mlfn-fleet-{}", common::unique()));
    std::fs::create_dir_all(&dir).unwrap();
    for (from, to, expect) in [
        ("replicas: 3", "replicas: \"3\"", "is not of type 'integer'"),
        ("replicas: 3", "replica: 3", "'replica' was unexpected"),
        ("memory: 256Mi", "memory: 256 MiB", "memory"),
        (
            "  executor: containerd-shim-spin\n",
            "",
            "'executor' is a required property",
        ),
    ] {
        assert!(original.contains(from), "the manifest has no {from:?}");
        let path = dir.join("mutated.yaml");
        std::fs::write(&path, original.replacen(from, to, 1)).unwrap();
        let (ok, text) = validate(&path).unwrap();
        assert!(!ok && text.contains(expect), "{from:?} -> {to:?}: {text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A feature's baseline proportions from the default bundle's manifest.
fn baseline(feature: &str) -> Vec<f64> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::bundle_dir("breast-cancer").join("manifest.json")).unwrap(),
    )
    .unwrap();
    let f = manifest["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == feature)
        .unwrap();
    f["baseline"]["proportions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect()
}

/// Counts per bin in the baseline's proportions out of `n`, shifted `shift` bins up
/// (the top bins pile into the last).
fn counts_like(p: &[f64], n: f64, shift: usize) -> Vec<u64> {
    let mut c = vec![0u64; p.len()];
    for (i, share) in p.iter().enumerate() {
        c[(i + shift).min(p.len() - 1)] += (share * n).round() as u64;
    }
    c
}

#[test]
fn prometheus_rules_compute_the_pipelines_psi_across_replicas() {
    if Command::new("promtool").arg("--version").output().is_err()
        && tool_missing("promtool (Debian package prometheus)")
    {
        return;
    }
    let rules = deploy("monitoring/rules.yaml");
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // Two features of the default bundle, per-minute bin counts split over two replicas:
    // mean_radius moved up two bins (drift), mean_texture as in training.
    let cases = [
        (
            "mean_radius",
            counts_like(&baseline("mean_radius"), 40.0, 2),
        ),
        (
            "mean_texture",
            counts_like(&baseline("mean_texture"), 40.0, 0),
        ),
    ];
    let mut series = String::new();
    let mut exprs = String::new();
    for (feature, counts) in &cases {
        let p = baseline(feature);
        let expected = psi(&p, counts).unwrap();
        eprintln!("{feature}: per-minute counts {counts:?}, PSI {expected}");
        for (bin, (share, count)) in p.iter().zip(counts).enumerate() {
            // Replica a takes a third of each bin's instances, replica b the rest.
            for (replica, part) in [("a", count / 3), ("b", count - count / 3)] {
                let labels = format!(
                    "job=\"mlfn\",instance=\"{replica}\",feature=\"{feature}\",bin=\"{bin}\""
                );
                writeln!(
                    series,
                    "      - series: 'mlfn_feature_bin_total{{{labels}}}'\n        values: '0+{part}x90'\n      - series: 'mlfn_feature_baseline_proportion{{{labels}}}'\n        values: '{share}+0x90'"
                )
                .unwrap();
            }
        }
        writeln!(
            exprs,
            "      - expr: 'abs(job_feature:mlfn_drift_psi:30m{{feature=\"{feature}\"}} - {expected:e}) < bool 1e-9'\n        eval_time: 45m\n        exp_samples:\n          - labels: '{{job=\"mlfn\", feature=\"{feature}\"}}'\n            value: 1"
        )
        .unwrap();
        assert_eq!(
            expected > 0.2,
            *feature == "mean_radius",
            "{feature}: PSI {expected}"
        );
    }
    // Service alerts: 2% of requests 5xx; /predict p99 at 0.49 s (half the requests
    // under 0.1 s, the rest under 0.5 s).
    series.push_str(
        r#"      - series: 'mlfn_requests_total{job="mlfn",instance="a",route="/predict",status="200"}'
        values: '0+98x90'
      - series: 'mlfn_requests_total{job="mlfn",instance="b",route="/predict",status="500"}'
        values: '0+2x90'
      - series: 'mlfn_request_duration_seconds_bucket{job="mlfn",instance="a",route="/predict",le="0.1"}'
        values: '0+50x90'
      - series: 'mlfn_request_duration_seconds_bucket{job="mlfn",instance="a",route="/predict",le="0.5"}'
        values: '0+100x90'
      - series: 'mlfn_request_duration_seconds_bucket{job="mlfn",instance="a",route="/predict",le="+Inf"}'
        values: '0+100x90'
"#,
    );
    let test = format!(
        r#"rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
{series}    promql_expr_test:
{exprs}    alert_rule_test:
      - eval_time: 60m
        alertname: MlfnFeatureDrift
        exp_alerts:
          - exp_labels: {{severity: warning, job: mlfn, feature: mean_radius}}
            exp_annotations:
              summary: "Drift on mean_radius (mlfn): PSI over 0.2 across the fleet"
      - eval_time: 60m
        alertname: MlfnErrorRateHigh
        exp_alerts:
          - exp_labels: {{severity: critical, job: mlfn}}
            exp_annotations:
              summary: "More than 1% of requests answered 5xx (mlfn)"
      - eval_time: 60m
        alertname: MlfnPredictLatencyHigh
        exp_alerts:
          - exp_labels: {{severity: warning, job: mlfn}}
            exp_annotations:
              summary: "p99 latency of /predict over 250 ms (mlfn)"
      - eval_time: 10m
        alertname: MlfnFeatureDrift
        exp_alerts: []
"#,
        rules = rules.display()
    );
    let path = std::env::temp_dir().join(format!("mlfn-rules-test-{}.yaml", common::unique()));
    std::fs::write(&path, &test).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "promtool test rules:\n{}",
        common::output_text(&out)
    );
}

/// Every metric a dashboard query names is one the host exports (seen on a live
/// `/metrics`) or one the rules record: a renamed metric fails here, not on a wall
/// display.
#[tokio::test(flavor = "multi_thread")]
async fn dashboard_queries_name_only_exported_or_recorded_metrics() {
    // penguins: optional features (some reference rows leave them blank), so every
    // counter the dashboard reads has a sample once the rows and one bad request are in.
    let srv = common::server("penguins").await;
    common::check_rows_over_http(srv.addr, &common::reference("penguins"), "penguins").await;
    let bad = serde_json::json!({"features": {"island": 3}});
    assert_eq!(
        common::post_json(srv.addr, "/predict", &bad).await.status,
        422
    );
    // The host counts an instance's event once the instance is done, which can be just
    // after its answer: scrape until the last request's counters are in.
    let start = std::time::Instant::now();
    let mut known = loop {
        let metrics = common::request(srv.addr, "GET", "/metrics", &[], "").await;
        let names: BTreeSet<String> = String::from_utf8(metrics.body)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
            .collect();
        // Every name a dashboard query uses that is not recorded by the rules must show
        // up; under load the last events' series can come a scrape or two later.
        let dashboard =
            std::fs::read_to_string(deploy("monitoring/grafana-dashboard.json")).unwrap();
        let rules = std::fs::read_to_string(deploy("monitoring/rules.yaml")).unwrap();
        let all_in = dashboard
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|t| t.starts_with("mlfn_"))
            .all(|t| names.contains(t) || rules.contains(&format!("record: {t}")));
        if (names.contains("mlfn_feature_invalid_total") && all_in)
            || start.elapsed().as_secs() > 10
        {
            break names;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let rules = std::fs::read_to_string(deploy("monitoring/rules.yaml")).unwrap();
    known.extend(
        rules
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- record: "))
            .map(|r| r.trim().to_string()),
    );
    assert!(known.contains("mlfn_feature_bin_total"), "{known:?}");

    let dashboard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(deploy("monitoring/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            queries += 1;
            let names = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .filter(|t| t.contains("mlfn"));
            for name in names {
                assert!(
                    known.contains(name),
                    "panel {:?}: {name} is neither exported nor recorded",
                    panel["title"]
                );
            }
        }
    }
    assert!(queries >= 10, "{queries} queries");
}
