//! `host`: run, serve and compile inference-function components.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use host::server::{Role, ServeLimits};
use host::telemetry::DriftConfig;
use host::typed::{self, PredictError, Prediction};
use host::{PoolLimits, Runtime, guests};
use wasmtime::error::Context;
use wasmtime::{Result, bail};

#[derive(Parser)]
#[command(
    version,
    about = "Run, serve and compile WebAssembly inference functions"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "human")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a component — or a bundle directory, packaged on the fly (cached) — over
    /// HTTP, a fresh instance per request.
    Serve {
        #[command(flatten)]
        component: ComponentArg,
        /// A deployment file (TOML: models, versions, weights, shadow, canary limits)
        /// instead of one component; reloaded on SIGHUP and `POST /admin/reload`.
        #[arg(long, conflicts_with = "component")]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Serve `GET /metrics`, `GET /drift` and `POST /admin/reload` on this address
        /// (default: metrics and drift on `--listen`, no reload endpoint).
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
        #[command(flatten)]
        guards: Guards,
    },
    /// Call the typed `predict` export on a JSON input (`{"features": {..}}` or
    /// `{"instances": [..]}`) from a file or stdin, and print the predictions.
    Run {
        #[command(flatten)]
        component: ComponentArg,
        /// Input file; `-` or absent reads stdin.
        #[arg(long, short)]
        input: Option<PathBuf>,
    },
    /// Print the packaged model's metadata, its bundle and the component's imports.
    Info {
        #[command(flatten)]
        component: ComponentArg,
    },
    /// Package a bundle directory into the model-less guest: a pre-initialised component
    /// (Spin, `wasmtime serve`, `host serve`), written only after every reference row ran
    /// through it within tolerance. Needs no Rust compiler.
    Package {
        /// The bundle directory (manifest.json, the model file, reference.json).
        bundle: PathBuf,
        /// Output `.wasm`.
        #[arg(long, short)]
        output: PathBuf,
        /// The model-less guest to package into (default: the one this host was built with).
        #[arg(long)]
        guest: Option<PathBuf>,
    },
    /// Measure cold start, warm latency (wasm and native), HTTP latency and throughput,
    /// instantiation knobs and memory, in one run.
    Bench {
        /// The bundle directory to package and measure (default: `models/<--bundle>`).
        bundle_dir: Option<PathBuf>,
        /// A bundle under `models/`.
        #[arg(long, default_value = guests::DEFAULT_BUNDLE)]
        bundle: String,
        /// Iterations of each in-process measurement.
        #[arg(long, default_value_t = 500)]
        iterations: usize,
        /// Seconds of each HTTP run.
        #[arg(long, default_value_t = 5.0)]
        http_seconds: f64,
        /// HTTP concurrencies to run.
        #[arg(long, value_delimiter = ',', default_value = "1,8")]
        concurrency: Vec<usize>,
        /// Batch sizes for the warm wasm/native comparison.
        #[arg(long, value_delimiter = ',', default_value = "1")]
        batch_sizes: Vec<usize>,
        /// Also compare allocator and copy-on-write settings.
        #[arg(long)]
        knobs: bool,
        /// Write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Send a model's traffic back to its previous stable version: the newest version
    /// with traffic gives way to the highest-weighted older one (weight 100, every other
    /// non-shadow version 0), written into the deployment file (comments kept), then the
    /// running server reloaded.
    Rollback {
        /// The deployment file the server runs.
        #[arg(long)]
        config: PathBuf,
        /// The model to roll back.
        model: String,
        /// The server's admin address (`--admin-listen`): reload by `POST /admin/reload`
        /// and report its answer.
        #[arg(long, conflicts_with = "pid")]
        admin: Option<SocketAddr>,
        /// The server's process id: reload by SIGHUP.
        #[arg(long)]
        pid: Option<i32>,
    },
    /// The promotion gate: the candidate's and the current version's metrics side by
    /// side. Exit 0: promote; 1: rejected (a threshold missed, or worse than the current
    /// version beyond the tolerance); 2: usage error or a version/data that does not load.
    Validate {
        /// The candidate: a bundle directory or a packaged component.
        candidate: PathBuf,
        /// The version it would replace.
        #[arg(long)]
        against: Option<PathBuf>,
        /// Labelled CSV (the features and the true target); default: the holdout
        /// metrics recorded in the manifest, latency on the bundle's reference rows.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The target column of `--data` (default: its one column that is no feature).
        #[arg(long)]
        target: Option<String>,
        /// Accuracy, ROC AUC, R² may drop by this much; log loss, RMSE, MAE grow by this
        /// share.
        #[arg(long, default_value_t = 0.01)]
        tolerance: f64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compile a `.wasm` component ahead of time to a `.cwasm` for this host's engine.
    Compile {
        /// The `.wasm` component.
        wasm: PathBuf,
        /// Output path (default: the input with `.cwasm`).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Server guards and monitoring.
#[derive(clap::Args)]
struct Guards {
    /// Requests in flight at once; more are answered 503 with Retry-After.
    #[arg(long, default_value_t = ServeLimits::default().max_concurrent)]
    max_concurrent: usize,
    /// Largest request body in bytes (413 above, before the guest runs).
    #[arg(long, default_value_t = ServeLimits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Per-request deadline in milliseconds (504 above; the instance is discarded).
    #[arg(long, default_value_t = ServeLimits::default().deadline.as_millis() as u64)]
    deadline_ms: u64,
    /// Milliseconds a client has for a request's headers (else the connection is closed)
    /// and, separately, for its whole body (else 408).
    #[arg(long, default_value_t = ServeLimits::default().read_timeout.as_millis() as u64)]
    read_timeout_ms: u64,
    /// Open connections at once; more are closed when accepted.
    #[arg(long, default_value_t = ServeLimits::default().max_connections)]
    max_connections: usize,
    /// Per-instance linear memory cap in MiB (a guest over it fails with a 500).
    #[arg(long, default_value_t = PoolLimits::default().max_memory_bytes >> 20)]
    memory_mib: usize,
    /// Instances in the drift window.
    #[arg(long, default_value_t = DriftConfig::default().window)]
    drift_window: usize,
    /// PSI above which a feature is flagged as drifting.
    #[arg(long, default_value_t = DriftConfig::default().psi_threshold)]
    psi_threshold: f64,
    /// Log raw input values in the guest's events (default: baseline buckets only).
    #[arg(long)]
    log_raw_inputs: bool,
}

#[derive(clap::Args)]
struct ComponentArg {
    /// A packaged component (`.wasm` or `.cwasm`) or a bundle directory (packaged on the
    /// fly, cached); default: `models/<--bundle>`.
    component: Option<PathBuf>,
    /// A bundle under `models/`, used when no component is given.
    #[arg(long, default_value = guests::DEFAULT_BUNDLE)]
    bundle: String,
}

impl ComponentArg {
    fn path(&self) -> PathBuf {
        self.component
            .clone()
            .unwrap_or_else(|| guests::bundle_dir(&self.bundle))
    }

    async fn load(&self, limits: PoolLimits) -> Result<Runtime> {
        let path = self.path();
        if !path.is_dir() {
            return Runtime::load(&path, limits).await;
        }
        let guest = read_guest(None, &path)?;
        let t = std::time::Instant::now();
        let packaged = host::package::package_dir(&guest, &path, limits).await?;
        match &packaged.verdict {
            Some(v) => {
                tracing::info!(bundle = %path.display(), ms = t.elapsed().as_millis() as u64, "packaged and verified: {v}")
            }
            None => tracing::info!(bundle = %path.display(), "packaged component from the cache"),
        }
        Ok(packaged.runtime)
    }
}

/// The model-less guest's bytes: the one named, else the one for the bundle's kind.
fn read_guest(path: Option<&Path>, bundle: &Path) -> Result<Vec<u8>> {
    let path = path.unwrap_or(Path::new(guests::for_bundle(bundle)));
    std::fs::read(path).with_context(|| format!("reading the guest {}", path.display()))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let rt = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve {
            component,
            config,
            listen,
            admin_listen,
            guards,
        } => rt.block_on(serve(
            &component,
            config.as_deref(),
            listen,
            admin_listen,
            &guards,
        )),
        Command::Rollback {
            config,
            model,
            admin,
            pid,
        } => rt.block_on(rollback(&config, &model, admin, pid)),
        Command::Validate {
            candidate,
            against,
            data,
            target,
            tolerance,
            json,
        } => {
            let request = host::validate::Request {
                candidate: &candidate,
                against: against.as_deref(),
                data: data.as_deref(),
                target: target.as_deref(),
                tolerance,
                guest: None,
            };
            match rt.block_on(host::validate::run(&request)) {
                Ok(report) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        host::validate::print(&report);
                    }
                    std::process::exit(if report.promote {
                        host::validate::PROMOTE
                    } else {
                        host::validate::REJECTED
                    })
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    std::process::exit(host::validate::UNUSABLE)
                }
            }
        }
        Command::Run { component, input } => rt.block_on(run(&component, input.as_deref())),
        Command::Info { component } => rt.block_on(info(&component)),
        Command::Bench {
            bundle_dir,
            bundle,
            iterations,
            http_seconds,
            concurrency,
            batch_sizes,
            knobs,
            json,
        } => {
            let bundle_dir = bundle_dir.unwrap_or_else(|| guests::bundle_dir(&bundle));
            let opts = host::bench::BenchOptions {
                batch_sizes,
                guest: guests::for_bundle(&bundle_dir).into(),
                bundle_dir,
                iterations,
                http_duration: std::time::Duration::from_secs_f64(http_seconds),
                concurrency,
                knobs,
            };
            let report = rt.block_on(host::bench::run(&opts))?;
            host::bench::print(&report);
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
            }
            Ok(())
        }
        Command::Package {
            bundle,
            output,
            guest,
        } => rt.block_on(package(&bundle, &output, guest.as_deref())),
        Command::Compile { wasm, output } => {
            let out = output.unwrap_or_else(|| wasm.with_extension("cwasm"));
            let engine = host::engine::engine(PoolLimits::default())?;
            let t = std::time::Instant::now();
            host::component::compile_to_file(&engine, &wasm, &out)?;
            eprintln!(
                "compiled {} -> {} in {:.1?}",
                wasm.display(),
                out.display(),
                t.elapsed()
            );
            Ok(())
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(
    component: &ComponentArg,
    config: Option<&Path>,
    listen: SocketAddr,
    admin_listen: Option<SocketAddr>,
    guards: &Guards,
) -> Result<()> {
    // Pool slots for every request in flight, the shadow copies, and the metadata call.
    let pool = PoolLimits {
        instances: (guards.max_concurrent + host::deploy::shadow::SHADOW_SLOTS) as u32 + 1,
        max_memory_bytes: guards.memory_mib << 20,
    };
    let limits = ServeLimits {
        max_concurrent: guards.max_concurrent,
        max_body_bytes: guards.max_body_bytes,
        deadline: std::time::Duration::from_millis(guards.deadline_ms),
        read_timeout: std::time::Duration::from_millis(guards.read_timeout_ms),
        max_connections: guards.max_connections,
    };
    let mut env = limits.guest_env();
    if guards.log_raw_inputs {
        env.push(("MLFN_LOG_INPUTS".into(), "raw".into()));
    }
    let drift = DriftConfig {
        window: guards.drift_window,
        psi_threshold: guards.psi_threshold,
        ..DriftConfig::default()
    };
    let server = match config {
        Some(file) => {
            let reloader = host::deploy::reload::Reloader::new(
                file.to_path_buf(),
                host::deploy::load::Loader {
                    pool,
                    env,
                    drift,
                    guest: None,
                },
            );
            let deployment = reloader.load(None).await?;
            tracing::info!(file = %file.display(), deployment = %deployment.summary(), "deployment loaded");
            let server = host::server::Server::with_deployment(deployment, Some(reloader), limits)?;
            reload_on_sighup(server.clone())?;
            server
        }
        None => {
            let path = component.path();
            let mut runtime = component.load(pool).await?;
            runtime.set_env(env);
            let runtime = Arc::new(runtime);
            let server = host::server::Server::new(runtime.clone(), limits, drift).await?;
            let meta = runtime
                .metadata()
                .await
                .context("the component's metadata export failed")?;
            tracing::info!(
                component = %path.display(), loaded = ?runtime.loaded, load_ms = runtime.load_time.as_secs_f64() * 1e3,
                model = %meta.name, version = %meta.version, "loaded"
            );
            server
        }
    };
    let role = match admin_listen {
        None => Role::PublicWithAdmin,
        Some(addr) => {
            let admin = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the admin address {addr}"))?;
            tracing::info!(
                "metrics, drift and reload on http://{}",
                admin.local_addr()?
            );
            tokio::spawn(host::server::serve(
                server.clone(),
                admin,
                Role::Admin,
                std::future::pending(),
            ));
            Role::Public
        }
    };
    let threads = host::serving_threads::ServingThreads::bind(server, listen, role)?;
    tracing::info!(
        threads = host::serving_threads::cores(),
        "serving on http://{}",
        threads.addr
    );
    let _ = tokio::signal::ctrl_c().await;
    drop(threads);
    Ok(())
}

/// SIGHUP re-reads the deployment file (a refused file is logged; the running set stays).
fn reload_on_sighup(server: Arc<host::server::Server>) -> Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            // The outcome is logged by the reload itself.
            let _ = server.reload().await;
        }
    });
    Ok(())
}

async fn rollback(
    config: &Path,
    model: &str,
    admin: Option<SocketAddr>,
    pid: Option<i32>,
) -> Result<()> {
    let t = std::time::Instant::now();
    let done = host::deploy::rollback::rollback_file(config, model)?;
    eprintln!(
        "{}: model {} rolled back from {} to {} (weight 100)",
        config.display(),
        done.model,
        done.from,
        done.to
    );
    match (admin, pid) {
        (Some(addr), _) => {
            let (status, body) = host::deploy::reload::post_reload(addr).await?;
            if status != 200 {
                bail!("the server refused the reload ({status}): {body}");
            }
            eprintln!(
                "reloaded through http://{addr}/admin/reload in {:.1?}",
                t.elapsed()
            );
        }
        (None, Some(pid)) => {
            // SAFETY: kill(2) with a plain pid and signal number.
            if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
                bail!(
                    "sending SIGHUP to {pid}: {}",
                    std::io::Error::last_os_error()
                );
            }
            eprintln!("sent SIGHUP to {pid}; its log tells whether the reload was applied");
        }
        (None, None) => {
            eprintln!("no --admin or --pid: the file is written; reload the server to apply it")
        }
    }
    Ok(())
}

async fn run(component: &ComponentArg, input: Option<&Path>) -> Result<()> {
    let text = match input {
        Some(p) if p != Path::new("-") => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        _ => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
    };
    let body: serde_json::Value =
        serde_json::from_str(&text).context("the input is not valid JSON")?;
    let objects: Vec<&serde_json::Map<String, serde_json::Value>> =
        match (body.get("features"), body.get("instances")) {
            (Some(serde_json::Value::Object(f)), None) => vec![f],
            (None, Some(serde_json::Value::Array(a))) => a
                .iter()
                .map(|v| {
                    v.as_object()
                        .context("each of `instances` must be an object")
                })
                .collect::<Result<_>>()?,
            _ => bail!(
                "the input must be {{\"features\": {{..}}}} or {{\"instances\": [{{..}}, ..]}}"
            ),
        };
    let instances = objects
        .into_iter()
        .map(typed::instance)
        .collect::<Result<Vec<_>, String>>()
        .map_err(wasmtime::Error::msg)?;
    let runtime = component.load(PoolLimits::default()).await?;
    let meta = runtime.metadata().await?;
    match runtime.predict(&instances).await? {
        Ok(predictions) => {
            let out: Vec<serde_json::Value> = predictions
                .iter()
                .map(|p| match p {
                    Prediction::Class(c) => {
                        let probs: serde_json::Map<String, serde_json::Value> = meta
                            .labels
                            .iter()
                            .cloned()
                            .zip(c.probabilities.iter().map(|x| serde_json::json!(x)))
                            .collect();
                        serde_json::json!({"label": c.label, "probabilities": probs, "confidence": c.confidence})
                    }
                    Prediction::Value(v) => serde_json::json!({"value": v}),
                })
                .collect();
            let doc = serde_json::json!({"model": {"name": meta.name, "version": meta.version}, "predictions": out});
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
        Err(PredictError::InvalidInput(problems)) => {
            for p in &problems {
                eprintln!("{}: {}", p.field, p.problem);
            }
            std::process::exit(2)
        }
        Err(PredictError::Internal(e)) => bail!("the model failed: {e}"),
    }
}

async fn info(component: &ComponentArg) -> Result<()> {
    let runtime = component.load(PoolLimits::default()).await?;
    let meta = runtime.metadata().await?;
    let metadata: serde_json::Value = serde_json::from_str(&meta.metadata_json)?;
    let doc = serde_json::json!({"metadata": metadata, "bundle": runtime.bundle, "imports": runtime.imports(), "loaded": format!("{:?}", runtime.loaded)});
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

async fn package(bundle: &Path, output: &Path, guest: Option<&Path>) -> Result<()> {
    let guest = read_guest(guest, bundle)?;
    let t = std::time::Instant::now();
    let packaged = host::package::package_dir(&guest, bundle, PoolLimits::default())
        .await
        .with_context(|| format!("packaging {}", bundle.display()))?;
    host::cache::write_atomically(output, &packaged.wasm)?;
    let verdict = packaged
        .verdict
        .map_or("verified when first packaged (cached)".to_string(), |v| {
            v.to_string()
        });
    eprintln!(
        "packaged {} {} ({}) -> {} ({} bytes) in {:.1?}: {verdict}",
        packaged.info.name,
        packaged.info.version,
        bundle.display(),
        output.display(),
        packaged.wasm.len(),
        t.elapsed()
    );
    Ok(())
}
