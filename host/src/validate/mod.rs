//! `host validate CANDIDATE [--against CURRENT] [--data LABELLED.csv]`: the promotion
//! gate. Both versions' quality metrics and median latency side by side; the candidate
//! passes when it meets its manifest's `thresholds` and is no worse than the current
//! version beyond the tolerance.
//!
//! Where the metrics come from: with `--data`, every row runs through the component and
//! the metrics are computed here against the file's true labels. Without it, from the
//! holdout metrics the packager computed with the true labels (`manifest.metrics`, carried
//! in the component's metadata): bundles keep only the pipeline's own outputs for their
//! reference rows (`reference.json`), not the truth, so the component cannot be scored on
//! them — and packaging already proved it answers those rows as the pipeline did, so its
//! metrics on the holdout are the packager's. Latency is always measured: one row per fresh
//! instance, over the `--data` rows or else the bundle's reference rows.

pub mod data;
pub mod metrics;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};
use wasmtime::error::Context;
use wasmtime::{Result, bail, format_err};

use crate::engine::PoolLimits;
use crate::runtime::Runtime;
use crate::typed::{self, Prediction};
use data::FeatureColumn;
use metrics::Scored;

/// Exit codes of `host validate`.
pub const PROMOTE: i32 = 0;
pub const REJECTED: i32 = 1;
pub const UNUSABLE: i32 = 2;

/// Rows timed for the median latency (one fresh instance each).
pub const LATENCY_ROWS: usize = 200;

/// A version to judge: a bundle directory (packaged and verified) or a component.
pub struct Operand {
    pub path: PathBuf,
    runtime: Runtime,
    /// The component's `/metadata` document.
    metadata: Value,
    /// The bundle's reference rows (a directory only).
    reference_rows: Vec<Map<String, Value>>,
}

impl Operand {
    pub async fn load(path: &Path, guest: Option<&Path>) -> Result<Self> {
        let (runtime, reference_rows) = if path.is_dir() {
            let guest = guest.unwrap_or(Path::new(crate::guests::for_bundle(path)));
            let guest = std::fs::read(guest)
                .with_context(|| format!("reading the guest {}", guest.display()))?;
            let packaged = crate::package::package_dir(&guest, path, PoolLimits::default()).await?;
            let reference = std::fs::read(path.join(pipeline::bundle::REFERENCE))?;
            let reference = pipeline::reference::Reference::from_json(&reference)
                .map_err(|e| format_err!("{}: {e}", path.display()))?;
            let rows = reference.rows.into_iter().map(|r| r.features).collect();
            (packaged.runtime, rows)
        } else {
            (
                Runtime::load(path, PoolLimits::default()).await?,
                Vec::new(),
            )
        };
        let meta = runtime
            .metadata()
            .await
            .with_context(|| format!("{} has no model metadata", path.display()))?;
        let metadata: Value = serde_json::from_str(&meta.metadata_json)?;
        Ok(Operand {
            path: path.to_path_buf(),
            runtime,
            metadata,
            reference_rows,
        })
    }

    fn task(&self) -> &str {
        self.metadata["task"].as_str().unwrap_or_default()
    }

    fn labels(&self) -> Vec<String> {
        strings(&self.metadata["labels"])
    }

    fn features(&self) -> Vec<FeatureColumn> {
        self.metadata["features"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| FeatureColumn {
                name: f["name"].as_str().unwrap_or_default().to_string(),
                kind: f["type"].as_str().unwrap_or_default().to_string(),
            })
            .collect()
    }

    fn thresholds(&self) -> pipeline::manifest::Thresholds {
        serde_json::from_value(self.metadata["thresholds"].clone()).unwrap_or_default()
    }

    /// Every row through the component, in batches.
    async fn predict(&self, rows: &[Map<String, Value>]) -> Result<Vec<Prediction>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(pipeline::MAX_BATCH) {
            let instances = chunk
                .iter()
                .map(typed::instance)
                .collect::<Result<Vec<_>, String>>()
                .map_err(wasmtime::Error::msg)?;
            match self.runtime.predict(&instances).await? {
                Ok(p) => out.extend(p),
                Err(typed::PredictError::InvalidInput(problems)) => bail!(
                    "{} refused the data: {}",
                    self.path.display(),
                    problems
                        .iter()
                        .take(3)
                        .map(|p| format!("{}: {}", p.field, p.problem))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Err(typed::PredictError::Internal(e)) => {
                    bail!("{} failed: {e}", self.path.display())
                }
            }
        }
        Ok(out)
    }

    /// Median latency of one row in a fresh instance, in milliseconds.
    async fn p50_ms(&self, rows: &[Map<String, Value>]) -> Result<Option<f64>> {
        let mut times = Vec::new();
        for row in rows.iter().take(LATENCY_ROWS) {
            let instance = typed::instance(row).map_err(wasmtime::Error::msg)?;
            let t = Instant::now();
            let _ = self
                .runtime
                .predict(std::slice::from_ref(&instance))
                .await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(metrics::median(&mut times))
    }
}

/// One version's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub name: String,
    pub version: String,
    /// `--data FILE (n rows)` or `manifest holdout (...)`.
    pub source: String,
    pub accuracy: Option<f64>,
    pub roc_auc: Option<f64>,
    pub log_loss: Option<f64>,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    pub r2: Option<f64>,
    pub p50_ms: Option<f64>,
}

/// One line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub candidate: Figures,
    pub current: Option<Figures>,
    pub tolerance: f64,
    pub checks: Vec<Check>,
    pub promote: bool,
}

/// What the gate is asked.
pub struct Request<'a> {
    pub candidate: &'a Path,
    pub against: Option<&'a Path>,
    pub data: Option<&'a Path>,
    pub target: Option<&'a str>,
    /// Accuracy, ROC AUC and R² may drop by this much (absolute); log loss, RMSE and MAE
    /// may grow by this share of the current value.
    pub tolerance: f64,
    /// The guest bundles are packaged into (`None`: the one for each bundle's kind).
    pub guest: Option<&'a Path>,
}

pub async fn run(req: &Request<'_>) -> Result<Report> {
    let candidate = Operand::load(req.candidate, req.guest)
        .await
        .with_context(|| format!("loading the candidate {}", req.candidate.display()))?;
    let current = match req.against {
        Some(p) => Some(
            Operand::load(p, req.guest)
                .await
                .with_context(|| format!("loading the current version {}", p.display()))?,
        ),
        None => None,
    };
    if let Some(cur) = &current {
        if cur.task() != candidate.task() {
            bail!(
                "the candidate is a {} model, the current one a {} model",
                candidate.task(),
                cur.task()
            );
        }
        if cur.labels() != candidate.labels() {
            bail!(
                "the candidate's labels {:?} are not the current version's {:?}",
                candidate.labels(),
                cur.labels()
            );
        }
    }
    let labelled = match req.data {
        Some(path) => Some(data::read_csv(path, &candidate.features(), req.target)?),
        None => None,
    };
    let latency_rows: Vec<Map<String, Value>> = match &labelled {
        Some(l) => l.instances.clone(),
        None => [Some(&candidate), current.as_ref()]
            .into_iter()
            .flatten()
            .map(|o| o.reference_rows.clone())
            .find(|r| !r.is_empty())
            .ok_or_else(|| {
                format_err!(
                    "neither version is a bundle directory, so there are no rows to time: \
                     give --data"
                )
            })?,
    };
    let data = labelled.as_ref().zip(req.data);
    let cand = figures(&candidate, data, &latency_rows).await?;
    let cur = match &current {
        Some(o) => Some(figures(o, data, &latency_rows).await?),
        None => None,
    };
    let checks = judge(&cand, cur.as_ref(), &candidate.thresholds(), req.tolerance);
    let promote = checks.iter().all(|c| c.passed);
    Ok(Report {
        candidate: cand,
        current: cur,
        tolerance: req.tolerance,
        checks,
        promote,
    })
}

/// One version's metrics (scored on `data`, or as recorded) and median latency on `rows`.
async fn figures(
    o: &Operand,
    data: Option<(&data::Labelled, &Path)>,
    rows: &[Map<String, Value>],
) -> Result<Figures> {
    let mut f = match data {
        Some((l, path)) => score(o, l, path).await?,
        None => recorded(o),
    };
    f.p50_ms = o.p50_ms(rows).await?;
    Ok(f)
}

/// The metrics the packager recorded on the holdout (true labels).
fn recorded(o: &Operand) -> Figures {
    let m = &o.metadata["metrics"];
    Figures {
        name: o.metadata["name"].as_str().unwrap_or_default().into(),
        version: o.metadata["version"].as_str().unwrap_or_default().into(),
        source: format!(
            "manifest metrics: {} rows of {}",
            m["rows"],
            m["data"].as_str().unwrap_or("the holdout")
        ),
        accuracy: m["accuracy"].as_f64(),
        roc_auc: m["roc_auc"].as_f64(),
        log_loss: m["log_loss"].as_f64(),
        rmse: m["rmse"].as_f64(),
        mae: m["mae"].as_f64(),
        r2: m["r2"].as_f64(),
        p50_ms: None,
    }
}

/// The metrics of `o`'s answers on the labelled rows.
async fn score(o: &Operand, l: &data::Labelled, path: &Path) -> Result<Figures> {
    let predictions = o.predict(&l.instances).await?;
    let mut f = Figures {
        name: o.metadata["name"].as_str().unwrap_or_default().into(),
        version: o.metadata["version"].as_str().unwrap_or_default().into(),
        source: format!("{} ({} rows)", path.display(), l.instances.len()),
        ..Figures::default()
    };
    if o.task() == "classification" {
        let labels = o.labels();
        let truth = l
            .truth
            .iter()
            .map(|t| {
                labels.iter().position(|x| x == t).ok_or_else(|| {
                    format_err!("{}: label {t:?} is not one of {labels:?}", l.target)
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let scored = predictions
            .iter()
            .map(|p| match p {
                Prediction::Class(c) => Ok(Scored {
                    label: labels
                        .iter()
                        .position(|x| *x == c.label)
                        .unwrap_or(usize::MAX),
                    probabilities: c.probabilities.clone(),
                }),
                Prediction::Value(_) => Err(format_err!("a value from a classifier")),
            })
            .collect::<Result<Vec<_>>>()?;
        f.accuracy = Some(metrics::accuracy(&truth, &scored));
        f.roc_auc = metrics::roc_auc(&truth, &scored, labels.len());
        f.log_loss = Some(metrics::log_loss(&truth, &scored));
    } else {
        let truth = l
            .truth
            .iter()
            .map(|t| {
                t.parse::<f64>()
                    .map_err(|_| format_err!("{}: {t:?} is not a number", l.target))
            })
            .collect::<Result<Vec<f64>>>()?;
        let values = predictions
            .iter()
            .map(|p| match p {
                Prediction::Value(v) => Ok(*v),
                Prediction::Class(_) => Err(format_err!("a class from a regressor")),
            })
            .collect::<Result<Vec<f64>>>()?;
        f.rmse = Some(metrics::rmse(&truth, &values));
        f.mae = Some(metrics::mae(&truth, &values));
        f.r2 = Some(metrics::r2(&truth, &values));
    }
    Ok(f)
}

/// The candidate's thresholds, then each metric against the current version's.
fn judge(
    cand: &Figures,
    cur: Option<&Figures>,
    t: &pipeline::manifest::Thresholds,
    tolerance: f64,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut at_least = |name: &str, value: Option<f64>, min: Option<f64>| {
        if let Some(min) = min {
            checks.push(Check {
                what: format!("{name} {} >= {min} (threshold)", show(value)),
                passed: value.is_some_and(|v| v >= min),
            });
        }
    };
    at_least("accuracy", cand.accuracy, t.min_accuracy);
    at_least("roc_auc", cand.roc_auc, t.min_roc_auc);
    at_least("r2", cand.r2, t.min_r2);
    let mut at_most = |name: &str, value: Option<f64>, max: Option<f64>| {
        if let Some(max) = max {
            checks.push(Check {
                what: format!("{name} {} <= {max} (threshold)", show(value)),
                passed: value.is_some_and(|v| v <= max),
            });
        }
    };
    at_most("log_loss", cand.log_loss, t.max_log_loss);
    at_most("rmse", cand.rmse, t.max_rmse);
    at_most("mae", cand.mae, t.max_mae);
    at_most("p50_ms", cand.p50_ms, t.max_p50_ms);
    let Some(cur) = cur else {
        return checks;
    };
    let higher = [
        ("accuracy", cand.accuracy, cur.accuracy),
        ("roc_auc", cand.roc_auc, cur.roc_auc),
        ("r2", cand.r2, cur.r2),
    ];
    for (name, c, k) in higher {
        if let (Some(c), Some(k)) = (c, k) {
            checks.push(Check {
                what: format!("{name} {c:.6} >= current {k:.6} - {tolerance}"),
                passed: c >= k - tolerance,
            });
        }
    }
    let lower = [
        ("log_loss", cand.log_loss, cur.log_loss),
        ("rmse", cand.rmse, cur.rmse),
        ("mae", cand.mae, cur.mae),
    ];
    for (name, c, k) in lower {
        if let (Some(c), Some(k)) = (c, k) {
            checks.push(Check {
                what: format!("{name} {c:.6} <= current {k:.6} x (1 + {tolerance})"),
                passed: c <= k * (1.0 + tolerance),
            });
        }
    }
    checks
}

fn show(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.6}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// Reads one metric of a version's figures.
type Metric = fn(&Figures) -> Option<f64>;

/// The side-by-side table and the verdict, for a terminal.
pub fn print(report: &Report) {
    let name = |f: &Figures| format!("{} {}", f.name, f.version);
    let cur = report.current.as_ref();
    println!(
        "{:<10} {:>24} {:>24}",
        "metric",
        cur.map_or("(no current)".into(), name),
        format!("candidate {}", name(&report.candidate))
    );
    let rows: [(&str, Metric); 7] = [
        ("accuracy", |f| f.accuracy),
        ("roc_auc", |f| f.roc_auc),
        ("log_loss", |f| f.log_loss),
        ("rmse", |f| f.rmse),
        ("mae", |f| f.mae),
        ("r2", |f| f.r2),
        ("p50_ms", |f| f.p50_ms),
    ];
    for (label, get) in rows {
        let (a, b) = (cur.and_then(get), get(&report.candidate));
        if a.is_none() && b.is_none() {
            continue;
        }
        println!("{label:<10} {:>24} {:>24}", show(a), show(b));
    }
    if let Some(c) = cur {
        println!("current:   {}", c.source);
    }
    println!("candidate: {}", report.candidate.source);
    for c in &report.checks {
        println!("{} {}", if c.passed { "ok  " } else { "FAIL" }, c.what);
    }
    if report.checks.is_empty() {
        println!("(no thresholds and no current version: nothing to fail)");
    }
    println!(
        "{}",
        if report.promote {
            "PROMOTE (exit 0)"
        } else {
            "REJECTED (exit 1)"
        }
    );
}
