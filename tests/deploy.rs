//! Several versions of a model behind one server, from a deployment file: the weighted
//! split, routing-key stickiness, pinned paths and the `x-model-version` header, shadow
//! comparison against the bundles' own reference outputs, the canary guardrail rolling
//! back a failing canary (tests/fault-guest's `/predict`), and reload and rollback under
//! load with no failed request.
//!
//! Versions come from the repository's bundles, copied with another version in the
//! manifest (the model file's sha256 is unchanged); the shadow is the forest bundle under
//! the logistic model's name, so its answers differ on some rows.

use crate::common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use host::deploy::load::Loader;
use host::deploy::reload::Reloader;
use host::server::{BackgroundServer, Role, ServeLimits, Server, spawn_role};
use host::telemetry::DriftConfig;
use host::{PoolLimits, guests};

const MODEL: &str = "breast-cancer";

/// The bundles every test uses, made once per test binary: breast-cancer as 1.0.0 (the
/// repository's own) and 1.1.0, and the forest as breast-cancer 2.0.0.
fn bundles() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mlfn-deploy-{}", common::unique()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        copy_bundle("breast-cancer", MODEL, "1.1.0", &dir.join("bc-1.1.0"));
        copy_bundle(
            "breast-cancer-forest",
            MODEL,
            "2.0.0",
            &dir.join("bc-2.0.0"),
        );
        dir
    })
}

/// `bundle` with another name and version in its manifest (and reference, for the record).
fn copy_bundle(bundle: &str, name: &str, version: &str, to: &Path) {
    let from = common::bundle_dir(bundle);
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("model.json"), to.join("model.json")).unwrap();
    for file in ["manifest.json", "reference.json"] {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(from.join(file)).unwrap()).unwrap();
        let key = if file == "manifest.json" {
            "name"
        } else {
            "model"
        };
        doc[key] = name.into();
        doc["version"] = version.into();
        std::fs::write(to.join(file), serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }
}

fn bc(version: &str) -> String {
    match version {
        "1.0.0" => common::bundle_dir("breast-cancer").display().to_string(),
        v => bundles().join(format!("bc-{v}")).display().to_string(),
    }
}

/// A deployment file in its own directory.
fn write_file(name: &str, text: &str) -> PathBuf {
    let dir = bundles().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deploy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn two_versions(w1: u32, w2: u32) -> String {
    format!(
        r#"# test deployment
[[model]]
name = "{MODEL}"

[[model.version]]
version = "1.0.0"
component = "{}"
weight = {w1}   # stable

[[model.version]]
version = "1.1.0"
component = "{}"
weight = {w2}   # canary
"#,
        bc("1.0.0"),
        bc("1.1.0")
    )
}

struct Running {
    public: BackgroundServer,
    admin: BackgroundServer,
    server: Arc<Server>,
}

async fn serve(file: &Path) -> Running {
    let limits = ServeLimits::default();
    let loader = Loader {
        pool: PoolLimits {
            instances: (limits.max_concurrent + host::deploy::shadow::SHADOW_SLOTS) as u32 + 1,
            ..PoolLimits::default()
        },
        env: limits.guest_env(),
        drift: DriftConfig::default(),
        guest: None,
    };
    let reloader = Reloader::new(file.to_path_buf(), loader);
    let deployment = reloader
        .load(None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let server = Server::with_deployment(deployment, Some(reloader), limits).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Running {
        public: spawn_role(server.clone(), any, Role::Public).await.unwrap(),
        admin: spawn_role(server.clone(), any, Role::Admin).await.unwrap(),
        server,
    }
}

fn row_body(i: usize) -> serde_json::Value {
    let reference = common::reference("breast-cancer");
    serde_json::json!({ "features": reference.rows[i % reference.rows.len()].features })
}

/// (status, x-model-version, the body's model.version).
async fn predict(
    addr: SocketAddr,
    path: &str,
    key: Option<&str>,
    body: &serde_json::Value,
) -> (u16, String, String) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(k) = key {
        headers.push(("x-routing-key", k));
    }
    let reply = common::request(
        addr,
        "POST",
        path,
        &headers,
        serde_json::to_vec(body).unwrap(),
    )
    .await;
    let header = reply
        .headers
        .get("x-model-version")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body_version = serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|b| b["model"]["version"].as_str().map(String::from))
        .unwrap_or_default();
    (reply.status, header, body_version)
}

async fn scrape(addr: SocketAddr) -> prometheus_parse::Scrape {
    let reply = common::request(addr, "GET", "/metrics", &[], Vec::new()).await;
    assert_eq!(reply.status, 200);
    let text = String::from_utf8(reply.body).unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

fn value(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn weights_split_unpinned_traffic_within_binomial_bounds() {
    let run = serve(&write_file("split", &two_versions(90, 10))).await;
    let addr = run.public.addr;
    let n = 2000;
    let counts = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let mut tasks = Vec::new();
    for t in 0..8 {
        let counts = counts.clone();
        tasks.push(tokio::spawn(async move {
            for i in (t..n).step_by(8) {
                let path = if i % 2 == 0 {
                    "/predict"
                } else {
                    "/models/breast-cancer/predict"
                };
                let (status, header, body) = predict(addr, path, None, &row_body(i)).await;
                assert_eq!(status, 200);
                assert_eq!(header, body, "the header names the version that answered");
                *counts.lock().unwrap().entry(header).or_default() += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let counts = counts.lock().unwrap().clone();
    let canary = counts.get("1.1.0").copied().unwrap_or(0);
    // Binomial(2000, 0.1): mean 200, sd 13.4; 5 sd either side.
    println!("split over {n} requests (90/10): {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), n);
    assert!((133..=267).contains(&canary), "{counts:?}");
    // Each request is counted after its answer is sent: wait for the last ones.
    let deadline = Instant::now() + Duration::from_secs(10);
    let s = loop {
        let s = scrape(run.admin.addr).await;
        if value(&s, "mlfn_requests_total", &[]) >= n as f64 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        value(&s, "mlfn_requests_total", &[("version", "1.1.0")]),
        canary as f64
    );
    assert_eq!(
        value(&s, "mlfn_version_weight", &[("version", "1.0.0")]),
        90.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_routing_key_always_lands_on_the_same_version() {
    let run = serve(&write_file("sticky", &two_versions(90, 10))).await;
    let mut seen = BTreeMap::<String, usize>::new();
    for user in 0..200 {
        let key = format!("user-{user}");
        let mut versions = Vec::new();
        for i in 0..3 {
            let path = ["/predict", "/models/breast-cancer/predict"][i % 2];
            let (status, v, _) = predict(run.public.addr, path, Some(&key), &row_body(user)).await;
            assert_eq!(status, 200);
            versions.push(v);
        }
        assert!(
            versions.iter().all(|v| *v == versions[0]),
            "{key}: {versions:?}"
        );
        *seen.entry(versions[0].clone()).or_default() += 1;
    }
    // 200 keys at 90/10: both versions get some (P(no canary key) = 0.9^200).
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pinned_paths_reach_their_version_and_unknown_names_are_404_naming_what_exists() {
    let run = serve(&write_file("pinned", &two_versions(90, 10))).await;
    let addr = run.public.addr;
    for v in ["1.0.0", "1.1.0"] {
        for _ in 0..5 {
            let r = predict(
                addr,
                &format!("/models/{MODEL}/versions/{v}/predict"),
                None,
                &row_body(0),
            )
            .await;
            assert_eq!(r, (200, v.to_string(), v.to_string()));
        }
        let meta = common::request(
            addr,
            "GET",
            &format!("/models/{MODEL}/versions/{v}/metadata"),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(meta.json()["version"], v);
        // V2 metadata and readiness of a pinned version.
        let v2 = common::request(
            addr,
            "GET",
            &format!("/v2/models/{MODEL}/versions/{v}"),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(v2.status, 200, "{}", String::from_utf8_lossy(&v2.body));
        assert_eq!(v2.headers["x-model-version"], v);
        let ready = common::request(
            addr,
            "GET",
            &format!("/v2/models/{MODEL}/versions/{v}/ready"),
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.headers["x-model-version"], v);
    }
    // Unpinned metadata: the stable version.
    let meta = common::request(
        addr,
        "GET",
        &format!("/models/{MODEL}/metadata"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(meta.json()["version"], "1.0.0");

    let missing = common::request(addr, "POST", "/models/nope/predict", &[], Vec::new()).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
    let message = missing.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("nope") && message.contains(MODEL),
        "{message}"
    );
    let missing = common::request(
        addr,
        "POST",
        &format!("/models/{MODEL}/versions/9.9.9/predict"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(missing.status, 404);
    let message = missing.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("9.9.9") && message.contains("1.1.0"),
        "{message}"
    );
    // V2 paths answer with the V2 envelope.
    let missing = common::request(
        addr,
        "GET",
        &format!("/v2/models/{MODEL}/versions/9.9.9/ready"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].as_str().unwrap().contains("1.0.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shadow_is_compared_and_never_answers() {
    let file = write_file(
        "shadow",
        &format!(
            "[[model]]\nname = \"{MODEL}\"\n[[model.version]]\nversion = \"1.0.0\"\ncomponent = \"{}\"\nweight = 100\n\
             [[model.version]]\nversion = \"2.0.0\"\ncomponent = \"{}\"\nshadow = true\n",
            bc("1.0.0"),
            bc("2.0.0")
        ),
    );
    let run = serve(&file).await;
    let primary = common::reference("breast-cancer");
    let shadow = common::reference("breast-cancer-forest");
    let n = primary.rows.len();
    // The oracle: both bundles' own outputs on the same holdout rows.
    let mut agree = 0;
    let mut difference = 0.0;
    for (p, s) in primary.rows.iter().zip(&shadow.rows) {
        assert_eq!(
            p.features, s.features,
            "the two bundles' reference rows are the same rows"
        );
        let (
            pipeline::reference::Expected::Class {
                label: lp,
                probabilities: pp,
            },
            pipeline::reference::Expected::Class {
                label: ls,
                probabilities: ps,
            },
        ) = (&p.expected, &s.expected)
        else {
            panic!("classification rows");
        };
        if lp == ls {
            agree += 1;
            let conf = |v: &Vec<f64>| v.iter().cloned().fold(0.0, f64::max);
            difference += (conf(pp) - conf(ps)).abs();
        }
    }
    for i in 0..n {
        let (status, v, _) = predict(
            run.public.addr,
            "/models/breast-cancer/predict",
            None,
            &row_body(i),
        )
        .await;
        assert_eq!(
            (status, v.as_str()),
            (200, "1.0.0"),
            "the shadow never answers"
        );
    }
    // Shadows finish off the response path: wait for the last ones.
    let labels = [("model", MODEL), ("version", "2.0.0")];
    let deadline = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = scrape(run.admin.addr).await;
        let done: f64 = ["compared", "error", "dropped"]
            .iter()
            .map(|o| {
                value(
                    &s,
                    "mlfn_shadow_requests_total",
                    &[labels[0], labels[1], ("outcome", o)],
                )
            })
            .sum();
        if done >= n as f64 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let outcome = |o| {
        value(
            &s,
            "mlfn_shadow_requests_total",
            &[labels[0], labels[1], ("outcome", o)],
        )
    };
    assert_eq!(outcome("error"), 0.0);
    assert_eq!(
        outcome("dropped"),
        0.0,
        "sequential requests never fill the shadow slots"
    );
    assert_eq!(outcome("compared"), n as f64);
    let agreed = value(
        &s,
        "mlfn_shadow_agreement_total",
        &[labels[0], labels[1], ("agree", "true")],
    );
    assert_eq!(agreed, agree as f64);
    let rate = value(&s, "mlfn_shadow_agreement_rate", &labels);
    assert!((rate - agree as f64 / n as f64).abs() < 1e-12);
    assert!(
        rate < 1.0,
        "the forest disagrees with the logistic model somewhere"
    );
    let text = String::from_utf8(
        common::request(run.admin.addr, "GET", "/metrics", &[], Vec::new())
            .await
            .body,
    )
    .unwrap();
    let sum: f64 = text
        .lines()
        .find(|l| {
            l.starts_with("mlfn_shadow_prediction_difference_sum{")
                && l.contains("version=\"2.0.0\"")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("the difference histogram's sum");
    // Probabilities are the pipelines' within 1e-5 per row.
    assert!(
        (sum - difference).abs() < 2e-5 * n as f64,
        "{sum} vs {difference}"
    );
    println!("shadow agreement {agree}/{n}, summed |confidence difference| {difference:.4}");
    // The primary's own series never count the shadow's copies.
    assert_eq!(
        value(&s, "mlfn_requests_total", &[("version", "2.0.0")]),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_canary_is_rolled_back_automatically() {
    let file = write_file(
        "guardrail",
        &format!(
            "[[model]]\nname = \"{MODEL}\"\n[[model.version]]\nversion = \"1.0.0\"\ncomponent = \"{}\"\nweight = 50\n\
             [[model.version]]\nversion = \"1.1.0\"\ncomponent = \"{}\"\nweight = 50\n\
             [model.canary]\nmax_error_rate = 0.05\nmax_p99_ms = 1000\nmin_requests = 20\n",
            bc("1.0.0"),
            guests::FAULT_GUEST
        ),
    );
    let run = serve(&file).await;
    let mut failed = 0;
    let mut last = Vec::new();
    for i in 0..300 {
        let (status, v, _) = predict(
            run.public.addr,
            "/models/breast-cancer/predict",
            None,
            &row_body(i),
        )
        .await;
        if status != 200 {
            assert_eq!((status, v.as_str()), (500, "1.1.0"));
            failed += 1;
        }
        if i >= 200 {
            last.push((status, v));
        }
    }
    // At least min_requests of the canary's, then (the verdict follows each answer) few more.
    assert!((20..=30).contains(&failed), "{failed} failed");
    assert!(
        last.iter().all(|(s, v)| *s == 200 && v == "1.0.0"),
        "{last:?}"
    );
    let s = scrape(run.admin.addr).await;
    let canary = [("model", MODEL), ("version", "1.1.0")];
    assert_eq!(
        value(
            &s,
            "mlfn_canary_rollbacks_total",
            &[canary[0], canary[1], ("reason", "error_rate")]
        ),
        1.0
    );
    assert_eq!(value(&s, "mlfn_version_weight", &canary), 0.0);
    assert_eq!(
        value(&s, "mlfn_version_weight", &[("version", "1.0.0")]),
        50.0
    );
}

/// Requests from `clients` loops until `stop`: (time since start, status, version, latency).
type Log = Arc<Mutex<Vec<(Duration, u16, String, Duration)>>>;

fn load(
    addr: SocketAddr,
    clients: usize,
    stop: Arc<AtomicBool>,
    start: Instant,
) -> (Log, Vec<tokio::task::JoinHandle<()>>) {
    let log: Log = Arc::default();
    let tasks = (0..clients)
        .map(|c| {
            let (log, stop) = (log.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let (status, v, _) =
                        predict(addr, "/models/breast-cancer/predict", None, &row_body(i)).await;
                    log.lock()
                        .unwrap()
                        .push((t - start, status, v, t.elapsed()));
                    i += clients;
                }
            })
        })
        .collect();
    (log, tasks)
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_and_rollback_under_load_fail_no_request() {
    // Only 1.0.0 at first: the reload loads 1.1.0 from scratch.
    let only_first = two_versions(100, 0);
    let only_first = only_first
        .split("\n[[model.version]]\nversion = \"1.1.0\"")
        .next()
        .unwrap();
    let file = write_file("reload", only_first);
    let run = serve(&file).await;
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (log, tasks) = load(run.public.addr, 8, stop.clone(), start);
    let admin = run.admin.addr;
    let reload =
        || async move { common::request(admin, "POST", "/admin/reload", &[], Vec::new()).await };
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 1. A new version, all traffic to it.
    std::fs::write(&file, two_versions(0, 100)).unwrap();
    let t_reload = start.elapsed();
    let r = reload().await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let reload_took = start.elapsed() - t_reload;
    assert_eq!(r.json()["models"][0]["stable"], "1.1.0");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 2. Broken files are refused, with the reason; the running set stays.
    std::fs::write(&file, "[[model]]\nname = \"breast-cancer\"\nversion = 3\n").unwrap();
    let r = reload().await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "reload_refused");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deploy.toml")
    );
    std::fs::write(
        &file,
        two_versions(0, 100).replace("version = \"1.1.0\"", "version = \"1.2.0\""),
    )
    .unwrap();
    let r = reload().await;
    assert_eq!(r.status, 409);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("not what the file says"), "{message}");
    std::fs::write(
        &file,
        two_versions(0, 100).replace(&bc("1.1.0"), "/nonexistent.wasm"),
    )
    .unwrap();
    assert_eq!(reload().await.status, 409);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(run.server.deployment().models[0].stable().version, "1.1.0");

    // 3. Rollback, the operator's way: the CLI edits the file and reloads the server.
    std::fs::write(&file, two_versions(0, 100)).unwrap();
    let t_rollback = start.elapsed();
    let args = [
        "rollback".to_string(),
        "--config".into(),
        file.display().to_string(),
        MODEL.into(),
        "--admin".into(),
        admin.to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("weight = 100   # stable") && text.contains("weight = 0   # canary"),
        "{text}"
    );
    assert!(text.starts_with("# test deployment"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let log = log.lock().unwrap().clone();
    let failed: Vec<_> = log.iter().filter(|(_, s, _, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        log.len(),
        &failed[..failed.len().min(5)]
    );
    // Versions in order of sending: 1.0.0, then 1.1.0 after the reload, then 1.0.0 again.
    let first_new = log
        .iter()
        .filter(|(_, _, v, _)| v == "1.1.0")
        .map(|(t, ..)| *t)
        .min()
        .unwrap();
    assert!(first_new >= t_reload);
    let back = log
        .iter()
        .filter(|(t, _, v, _)| *t >= t_rollback && v == "1.0.0")
        .map(|(t, _, _, l)| *t + *l)
        .min()
        .expect("requests served by 1.0.0 after the rollback");
    let during: Vec<Duration> = log
        .iter()
        .filter(|(t, ..)| *t >= t_reload && *t <= t_reload + reload_took)
        .map(|(.., l)| *l)
        .collect();
    let all: Vec<Duration> = log.iter().map(|(.., l)| *l).collect();
    println!(
        "reload under load: {} requests, {} failed; reload (loading 1.1.0) took {:.0?}; during it {} requests, p50 {:.2?} p99 {:.2?} max {:.2?}; overall p50 {:.2?} p99 {:.2?}",
        log.len(),
        failed.len(),
        reload_took,
        during.len(),
        percentile(during.clone(), 0.5),
        percentile(during.clone(), 0.99),
        during.iter().max().unwrap(),
        percentile(all.clone(), 0.5),
        percentile(all, 0.99),
    );
    println!(
        "rollback: command start to first answer from 1.0.0: {:.0?}",
        back - t_rollback
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_serve_config_reloads_on_sighup() {
    let file = write_file("sighup", &two_versions(100, 0));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .args([
                "serve",
                "--config",
                file.to_str().unwrap(),
                "--listen",
                &addr.to_string(),
            ])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let version = || async move {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => Some(predict(addr, "/predict", None, &row_body(0)).await),
            Err(_) => None,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while version().await.is_none() {
        assert!(
            Instant::now() < deadline,
            "host serve --config did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(version().await.unwrap().1, "1.0.0");
    std::fs::write(&file, two_versions(0, 100)).unwrap();
    // SAFETY: kill(2) on the child we started.
    assert_eq!(unsafe { libc_kill(child.0.id() as i32) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while version().await.unwrap().1 != "1.1.0" {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(child);
}

/// A child process killed (and reaped) when the test ends, passing or not.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill_raw(pid: i32, sig: i32) -> i32;
}

/// SIGHUP (1 on Linux).
unsafe fn libc_kill(pid: i32) -> i32 {
    unsafe { libc_kill_raw(pid, 1) }
}
