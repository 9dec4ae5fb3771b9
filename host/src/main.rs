//! `host`: run, serve and compile inference-function components.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use host::server::ServeLimits;
use host::telemetry::DriftConfig;
use host::typed::{self, PredictError};
use host::{PoolLimits, Prepare, Runtime, guests};
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
    /// Serve a component over HTTP, a fresh instance per request.
    Serve {
        #[command(flatten)]
        component: ComponentArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
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
    /// Print the embedded model's metadata and the component's imports.
    Info {
        #[command(flatten)]
        component: ComponentArg,
    },
    /// Pre-initialise a `.wasm` component: snapshot it after its model-loading init ran
    /// (wasmtime-wizer). The result is a portable component (Spin, `wasmtime serve`).
    Prepare {
        /// The `.wasm` component.
        wasm: PathBuf,
        /// Output path (default: the input with `.snapshot.wasm`).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Measure cold start, warm latency (wasm and native), HTTP latency and throughput,
    /// instantiation knobs and memory, in one run.
    Bench {
        /// A plain `.wasm` component; default: the one built with `--bundle`.
        wasm: Option<PathBuf>,
        /// The bundle it embeds (for the native comparison and the input row).
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
    /// A component (`.wasm` or `.cwasm`); default: the one built with `--bundle`.
    component: Option<PathBuf>,
    /// Which built bundle to use when no component is given.
    #[arg(long, default_value = guests::DEFAULT_BUNDLE)]
    bundle: String,
    /// Use a `.wasm` as it is instead of pre-initialising it (each instance then loads
    /// the model on its first request).
    #[arg(long)]
    no_snapshot: bool,
}

impl ComponentArg {
    fn prepare(&self) -> Prepare {
        if self.no_snapshot {
            Prepare::AsIs
        } else {
            Prepare::Snapshot
        }
    }

    async fn load(&self, limits: PoolLimits) -> Result<Runtime> {
        Runtime::load(&self.path()?, limits, self.prepare()).await
    }

    fn path(&self) -> Result<PathBuf> {
        match &self.component {
            Some(p) => Ok(p.clone()),
            None => guests::guest_path(&self.bundle).with_context(|| {
                let known: Vec<&str> = guests::GUESTS.iter().map(|(b, _)| *b).collect();
                format!(
                    "no built component for bundle `{}`; built: {}",
                    self.bundle,
                    known.join(", ")
                )
            }),
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let rt = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve {
            component,
            listen,
            guards,
        } => rt.block_on(serve(&component, listen, &guards)),
        Command::Run { component, input } => rt.block_on(run(&component, input.as_deref())),
        Command::Info { component } => rt.block_on(info(&component)),
        Command::Bench {
            wasm,
            bundle,
            iterations,
            http_seconds,
            concurrency,
            knobs,
            json,
        } => {
            let wasm = match wasm {
                Some(w) => w,
                None => guests::guest_path(&bundle)
                    .with_context(|| format!("no built component for `{bundle}`"))?,
            };
            let opts = host::bench::BenchOptions {
                wasm,
                bundle_dir: host::bench::bundle_dir(&bundle),
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
        Command::Prepare { wasm, output } => {
            let out = output.unwrap_or_else(|| wasm.with_extension("snapshot.wasm"));
            let bytes =
                std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
            let t = std::time::Instant::now();
            let snapshot = rt.block_on(host::prepare::preinitialize(&bytes))?;
            std::fs::write(&out, &snapshot)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "pre-initialised {} ({} bytes) -> {} ({} bytes) in {:.1?}",
                wasm.display(),
                bytes.len(),
                out.display(),
                snapshot.len(),
                t.elapsed()
            );
            Ok(())
        }
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

async fn serve(component: &ComponentArg, listen: SocketAddr, guards: &Guards) -> Result<()> {
    let path = component.path()?;
    // Pool slots for every request in flight, plus the metadata call at start.
    let pool = PoolLimits {
        instances: guards.max_concurrent as u32 + 1,
        max_memory_bytes: guards.memory_mib << 20,
    };
    let mut runtime = component.load(pool).await?;
    if guards.log_raw_inputs {
        runtime.set_env(vec![("MLFN_LOG_INPUTS".into(), "raw".into())]);
    }
    let runtime = Arc::new(runtime);
    let limits = ServeLimits {
        max_concurrent: guards.max_concurrent,
        max_body_bytes: guards.max_body_bytes,
        deadline: std::time::Duration::from_millis(guards.deadline_ms),
    };
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
        component = %path.display(), prepare = ?component.prepare(), loaded = ?runtime.loaded, load_ms = runtime.load_time.as_secs_f64() * 1e3,
        model = %meta.name, version = %meta.version, "serving on http://{}", listener.local_addr()?
    );
    host::server::serve(server, listener, async {
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
                .map(|p| {
                    let probs: serde_json::Map<String, serde_json::Value> =
                        meta.labels.iter().cloned().zip(p.probabilities.iter().map(|x| serde_json::json!(x))).collect();
                    serde_json::json!({"label": p.label, "probabilities": probs, "confidence": p.confidence})
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
    let doc = serde_json::json!({"metadata": metadata, "imports": runtime.imports(), "loaded": format!("{:?}", runtime.loaded)});
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
