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
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Serve `GET /metrics` and `GET /drift` on this address only, not on the public
        /// one (default: both on `--listen`).
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
        let guest = read_guest(None)?;
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

/// The model-less guest's bytes.
fn read_guest(path: Option<&Path>) -> Result<Vec<u8>> {
    let path = path.unwrap_or(Path::new(guests::GUEST));
    std::fs::read(path).with_context(|| format!("reading the guest {}", path.display()))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let rt = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve {
            component,
            listen,
            admin_listen,
            guards,
        } => rt.block_on(serve(&component, listen, admin_listen, &guards)),
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
            let opts = host::bench::BenchOptions {
                batch_sizes,
                guest: guests::GUEST.into(),
                bundle_dir: bundle_dir.unwrap_or_else(|| guests::bundle_dir(&bundle)),
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
    listen: SocketAddr,
    admin_listen: Option<SocketAddr>,
    guards: &Guards,
) -> Result<()> {
    let path = component.path();
    // Pool slots for every request in flight, plus the metadata call at start.
    let pool = PoolLimits {
        instances: guards.max_concurrent as u32 + 1,
        max_memory_bytes: guards.memory_mib << 20,
    };
    let mut runtime = component.load(pool).await?;
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
    runtime.set_env(env);
    let runtime = Arc::new(runtime);
    let drift = DriftConfig {
        window: guards.drift_window,
        psi_threshold: guards.psi_threshold,
        ..DriftConfig::default()
    };
    let server = host::server::Server::new(runtime.clone(), limits, drift).await?;
    let meta = runtime
        .metadata()
        .await
        .context("the component's metadata export failed")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(
        component = %path.display(), loaded = ?runtime.loaded, load_ms = runtime.load_time.as_secs_f64() * 1e3,
        model = %meta.name, version = %meta.version, "serving on http://{}", listener.local_addr()?
    );
    let role = match admin_listen {
        None => Role::PublicWithAdmin,
        Some(addr) => {
            let admin = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the admin address {addr}"))?;
            tracing::info!("metrics and drift on http://{}", admin.local_addr()?);
            tokio::spawn(host::server::serve(
                server.clone(),
                admin,
                Role::Admin,
                std::future::pending(),
            ));
            Role::Public
        }
    };
    host::server::serve(server, listener, role, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
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
    let guest = read_guest(guest)?;
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
