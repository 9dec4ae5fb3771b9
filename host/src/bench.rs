//! `host bench`: cold start broken down, warm latency in wasm and natively, HTTP latency
//! and throughput at several concurrencies, instantiation knobs and peak memory, all
//! measured in one run so ratios compare like with like on a noisy machine.
//! Percentiles come from HDR histograms.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use wasmtime::Result;

use crate::component;
use crate::engine::{self, Allocator, PoolLimits};
use crate::runtime::Runtime;
use crate::typed::{self, Feature};

pub struct BenchOptions {
    /// The model-less guest `.wasm`.
    pub guest: PathBuf,
    /// The bundle to package into it (also the native comparison and the input row).
    pub bundle_dir: PathBuf,
    /// Iterations of each in-process measurement.
    pub iterations: usize,
    /// Duration of each HTTP run.
    pub http_duration: Duration,
    pub concurrency: Vec<usize>,
    /// Batch sizes for the warm wasm/native comparison (rows cycled from the reference).
    pub batch_sizes: Vec<usize>,
    /// Measure instantiation under other engine configurations (compiles the component
    /// for each configuration that needs it).
    pub knobs: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// The fastest run: what a change did, when the machine is shared and p50 wanders.
    pub min_us: f64,
    pub count: u64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1e3;
        Percentiles {
            p50_us: us(h.value_at_quantile(0.50)),
            p95_us: us(h.value_at_quantile(0.95)),
            p99_us: us(h.value_at_quantile(0.99)),
            max_us: us(h.max()),
            min_us: us(h.min()),
            count: h.len(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct InstanceTimes {
    /// Fresh store + instance from the `InstancePre`.
    pub instantiate: Percentiles,
    /// Fresh store + instance + the first `predict` returned (the cold start).
    pub first_prediction: Percentiles,
    /// Largest linear memory of one instance after its first prediction.
    pub peak_memory_bytes: usize,
}

#[derive(Debug, Serialize)]
pub struct Knob {
    pub allocator: Allocator,
    pub copy_on_write: bool,
    pub instantiate_p50_us: f64,
    pub first_prediction_p50_us: f64,
}

/// Warm predict of one batch on a live instance (wasm) and natively, same rows.
#[derive(Debug, Serialize)]
pub struct BatchTimes {
    pub batch: usize,
    pub warm_wasm: Percentiles,
    pub warm_native: Percentiles,
    pub wasm_over_native_p50: f64,
    /// The native predict's stages timed apart (p50 µs), same rows.
    pub native_stages: Stages,
    /// The same rows as numbers in feature order (`predict-rows`, the dense entry point):
    /// no feature names to lower into the instance or to look up.
    pub rows_wasm: Percentiles,
    pub rows_native: Percentiles,
    /// The same rows as a table (`predict-table`): the feature names once, then typed
    /// values; validated as named `predict`.
    pub table_wasm: Percentiles,
    pub table_native: Percentiles,
}

/// p50s of the native pipeline's stages for one batch: validation of the (name, value)
/// pairs into rows, preprocessing into the estimator's input, the estimator with its link.
#[derive(Debug, Serialize)]
pub struct Stages {
    pub validate_p50_us: f64,
    pub transform_p50_us: f64,
    pub estimator_p50_us: f64,
    pub validate_min_us: f64,
    pub transform_min_us: f64,
    pub estimator_min_us: f64,
}

/// One `POST /predict` through the server's request path, in process and without a
/// socket: what a request costs the host beyond the network (c=1, one thread).
#[derive(Debug, Serialize)]
pub struct RequestPath {
    /// Fresh store (with its stderr pipe) + `wasi:http/proxy` instance, dropped unused.
    pub instance: Percentiles,
    /// `server::run_guest` + the whole response body + the instance dropped + the
    /// telemetry record (event parsed, metrics, drift window): all a request costs.
    pub request: Percentiles,
    /// `Telemetry::record` alone, on a request's captured stderr.
    pub telemetry: Percentiles,
    /// Bytes of the instance's stderr (its event line).
    pub event_bytes: usize,
}

#[derive(Debug, Serialize)]
pub struct HttpRun {
    pub concurrency: usize,
    pub requests: u64,
    pub non_2xx: u64,
    pub seconds: f64,
    pub throughput_rps: f64,
    pub latency: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub bundle: String,
    /// The model-less guest.
    pub guest_bytes: u64,
    /// The packaged (pre-initialised) component.
    pub packaged_bytes: u64,
    /// `host package` without its verification: bundle checks + snapshot.
    pub package_ms: f64,
    pub cpus: usize,
    pub engine_creation_us: f64,
    /// Cranelift compile of the packaged `.wasm` (what a cache miss costs).
    pub compile_wasm_ms: f64,
    /// `Component::deserialize_file` of the `.cwasm` (median).
    pub load_cwasm_us: f64,
    /// Instances of the packaged component.
    pub instance: InstanceTimes,
    /// Warm `predict` of one row on a live instance.
    pub warm_wasm: Percentiles,
    /// The same pipeline code (validation, preprocessing, estimator, postprocessing), native.
    pub warm_native: Percentiles,
    pub wasm_over_native_p50: f64,
    pub batches: Vec<BatchTimes>,
    pub request_path: RequestPath,
    pub http: Vec<HttpRun>,
    pub knobs: Vec<Knob>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static bounds are valid")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(d.as_nanos().max(1) as u64);
}

fn median_us(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1e6
}

pub async fn run(opts: &BenchOptions) -> Result<Report> {
    let limits = PoolLimits::default();
    let bundle = crate::package::read_bundle(&opts.bundle_dir)?;
    let reference = pipeline::reference::Reference::from_json(&std::fs::read(
        opts.bundle_dir.join("reference.json"),
    )?)?;
    let row = &reference.rows[0].features;
    let input = vec![typed::instance(row).map_err(wasmtime::Error::msg)?];

    eprintln!("engine creation…");
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        drop(engine::engine(limits)?);
        times.push(t.elapsed());
    }
    let engine_creation_us = median_us(times);

    let work = std::env::temp_dir().join(format!("mlfn-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    // MLFN_BENCH_GUEST: another build of the model-less guest, to compare guest builds.
    let guest_path = std::env::var_os("MLFN_BENCH_GUEST").map_or(opts.guest.clone(), PathBuf::from);
    let guest_bytes = std::fs::read(&guest_path)?;
    eprintln!("packaging…");
    let t = Instant::now();
    let (packaged, _) = crate::package::package(&guest_bytes, &bundle).await?;
    let package_ms = t.elapsed().as_secs_f64() * 1e3;
    let packaged_wasm = work.join("packaged.wasm");
    std::fs::write(&packaged_wasm, &packaged)?;

    eprintln!("compiling the packaged component (Cranelift)…");
    let engine = engine::engine(limits)?;
    let packaged_cwasm = work.join("packaged.cwasm");
    let t = Instant::now();
    component::compile_to_file(&engine, &packaged_wasm, &packaged_cwasm)?;
    let compile_wasm_ms = t.elapsed().as_secs_f64() * 1e3;

    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        drop(component::load(&engine, &packaged_cwasm)?);
        times.push(t.elapsed());
    }
    let load_cwasm_us = median_us(times);

    eprintln!("cold starts…");
    let snap_rt =
        Runtime::load_with(engine.clone(), limits.max_memory_bytes, &packaged_cwasm).await?;
    let instance = instance_times(&snap_rt, &input, opts.iterations).await?;

    eprintln!("warm latency…");
    let service = pipeline::Service::load(&bundle).map_err(|e| wasmtime::format_err!("{e}"))?;
    let features = snap_rt.metadata().await?.features;
    let mut batches = Vec::new();
    for &n in &opts.batch_sizes {
        let rows: Vec<&serde_json::Map<String, serde_json::Value>> = reference
            .rows
            .iter()
            .cycle()
            .take(n.clamp(1, pipeline::MAX_BATCH))
            .map(|r| &r.features)
            .collect();
        let (warm_wasm, warm_native) =
            warm_times(&snap_rt, &service, &rows, opts.iterations).await?;
        let (rows_wasm, rows_native) =
            dense_times(&snap_rt, &service, &features, &rows, opts.iterations).await?;
        let (table_wasm, table_native) =
            table_times(&snap_rt, &service, &features, &rows, opts.iterations).await?;
        batches.push(BatchTimes {
            rows_wasm,
            rows_native,
            table_wasm,
            table_native,
            batch: rows.len(),
            wasm_over_native_p50: warm_wasm.p50_us / warm_native.p50_us,
            warm_wasm,
            warm_native,
            native_stages: native_stages(&service, &rows, opts.iterations)?,
        });
    }
    let (warm_wasm, warm_native) = warm_times(&snap_rt, &service, &[row], opts.iterations).await?;

    let body = serde_json::to_vec(&serde_json::json!({ "features": row }))?;
    eprintln!("request path in process…");
    // On a thread of its own with a single-threaded runtime, as a serving thread: the
    // instance's task then runs where the request is, not on another worker.
    let request_path = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(request_path_times(&snap_rt, &body, opts.iterations))
            })
            .join()
            .expect("the request path benchmark does not panic")
    })?;

    eprintln!("HTTP…");
    let snap_rt = Arc::new(snap_rt);
    let mut http = Vec::new();
    for &c in &opts.concurrency {
        http.push(
            http_run(
                snap_rt.clone(),
                "application/json",
                std::slice::from_ref(&body),
                c,
                opts.http_duration,
            )
            .await?,
        );
    }

    let mut knobs = Vec::new();
    if opts.knobs {
        eprintln!("instantiation knobs…");
        for (allocator, cow) in [
            (Allocator::Pooling, true),
            (Allocator::Pooling, false),
            (Allocator::OnDemand, true),
            (Allocator::OnDemand, false),
        ] {
            let engine = engine::engine_with(limits, allocator, cow)?;
            let rt = Runtime::load_with(engine, limits.max_memory_bytes, &packaged_wasm).await?;
            let t = instance_times(&rt, &input, opts.iterations).await?;
            knobs.push(Knob {
                allocator,
                copy_on_write: cow,
                instantiate_p50_us: t.instantiate.p50_us,
                first_prediction_p50_us: t.first_prediction.p50_us,
            });
        }
    }

    let report = Report {
        bundle: opts.bundle_dir.display().to_string(),
        guest_bytes: guest_bytes.len() as u64,
        packaged_bytes: packaged.len() as u64,
        package_ms,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        engine_creation_us,
        compile_wasm_ms,
        load_cwasm_us,
        wasm_over_native_p50: warm_wasm.p50_us / warm_native.p50_us,
        batches,
        instance,
        warm_wasm,
        warm_native,
        request_path,
        http,
        knobs,
    };
    let _ = std::fs::remove_dir_all(&work);
    Ok(report)
}

/// Warm `predict` of `rows` as one batch: on a live instance (wasm, through the typed
/// export) and natively (the same pipeline code), in turn, `iterations` times each.
async fn warm_times(
    rt: &Runtime,
    service: &pipeline::Service,
    rows: &[&serde_json::Map<String, serde_json::Value>],
    iterations: usize,
) -> Result<(Percentiles, Percentiles)> {
    let typed_rows = rows
        .iter()
        .map(|r| typed::instance(r))
        .collect::<Result<Vec<_>, String>>()
        .map_err(wasmtime::Error::msg)?;
    let mut store = rt.new_store();
    let f = rt.instantiate_typed(&mut store).await?;
    let model = f.mlfn_inference_model();
    let native_rows = native_pairs(rows);
    time_alternating(
        iterations,
        async || answered(model.call_predict(&mut store, &typed_rows).await?),
        || {
            let batch = native_rows
                .iter()
                .map(|r| r.iter().map(|(k, v)| (k.as_str(), v.clone())));
            answered(service.predict_typed(batch))
        },
    )
    .await
}

/// Whether a timed call's answer was a success: the warm benchmarks time predictions,
/// they do not read them (wasm's and native's errors alike become the run's error).
fn answered<T, E: std::fmt::Debug>(answer: std::result::Result<T, E>) -> Result<()> {
    answer.map(drop).map_err(|e| wasmtime::format_err!("{e:?}"))
}

/// Percentiles of `iterations` (at least 100) calls of `wasm` and of `native`, taken in
/// turn: one of each per iteration, so both see the same machine. Run one after the other,
/// their ratio moved from 1.1x to 2.5x between runs of the same build (2026-11-29, 2
/// shared cores whose speed changes over seconds).
async fn time_alternating(
    iterations: usize,
    mut wasm: impl AsyncFnMut() -> Result<()>,
    mut native: impl FnMut() -> Result<()>,
) -> Result<(Percentiles, Percentiles)> {
    let (mut wasm_h, mut native_h) = (histogram(), histogram());
    for _ in 0..iterations.max(100) {
        let t = Instant::now();
        wasm().await?;
        record(&mut wasm_h, t.elapsed());
        let t = Instant::now();
        native()?;
        record(&mut native_h, t.elapsed());
    }
    Ok((Percentiles::of(&wasm_h), Percentiles::of(&native_h)))
}

/// Warm `predict-rows` of `rows` (as numbers in feature order) on a live instance and
/// natively, in turn, `iterations` times each.
async fn dense_times(
    rt: &Runtime,
    service: &pipeline::Service,
    features: &[typed::FeatureSpec],
    rows: &[&serde_json::Map<String, serde_json::Value>],
    iterations: usize,
) -> Result<(Percentiles, Percentiles)> {
    let mut values = Vec::new();
    for r in rows {
        values.extend(typed::dense_row(r, features).map_err(wasmtime::Error::msg)?);
    }
    let mut store = rt.new_store();
    let f = rt.instantiate_typed(&mut store).await?;
    let model = f.mlfn_inference_model();
    time_alternating(
        iterations,
        async || answered(model.call_predict_rows(&mut store, &values).await?),
        || answered(service.predict_rows(std::hint::black_box(&values))),
    )
    .await
}

/// Warm `predict-table` of `rows` (the model's features as columns) on a live instance
/// and natively, in turn, `iterations` times each. The native side converts the typed
/// values into the pipeline's on every call, as the guest does.
async fn table_times(
    rt: &Runtime,
    service: &pipeline::Service,
    features: &[typed::FeatureSpec],
    rows: &[&serde_json::Map<String, serde_json::Value>],
    iterations: usize,
) -> Result<(Percentiles, Percentiles)> {
    let (columns, values) = typed::table(rows, features).map_err(wasmtime::Error::msg)?;
    let mut store = rt.new_store();
    let f = rt.instantiate_typed(&mut store).await?;
    let model = f.mlfn_inference_model();
    time_alternating(
        iterations,
        async || {
            answered(
                model
                    .call_predict_table(&mut store, &columns, &values)
                    .await?,
            )
        },
        || {
            let values = std::hint::black_box(&values)
                .iter()
                .map(typed::pipeline_value)
                .collect();
            answered(service.predict_table(&columns, values))
        },
    )
    .await
}

/// JSON rows as the `(name, value)` pairs the native typed predict takes.
fn native_pairs(
    rows: &[&serde_json::Map<String, serde_json::Value>],
) -> Vec<Vec<(String, pipeline::FeatureValue)>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|(k, v)| (k.clone(), pipeline::FeatureValue::from_json(v)))
                .collect()
        })
        .collect()
}

/// The native predict of `rows`, stage by stage (`iterations` times each).
fn native_stages(
    service: &pipeline::Service,
    rows: &[&serde_json::Map<String, serde_json::Value>],
    iterations: usize,
) -> Result<Stages> {
    let pairs = native_pairs(rows);
    let validate = || {
        pairs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                service
                    .schema()
                    .validate_with(r.iter().map(|(k, v)| (k.as_str(), v.clone())), || {
                        format!("instances[{i}]")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| wasmtime::format_err!("{e:?}"))
    };
    let valid = validate()?;
    let input = service.transform(&valid);
    let (mut v, mut t, mut e) = (histogram(), histogram(), histogram());
    for _ in 0..iterations.max(100) {
        let start = Instant::now();
        std::hint::black_box(validate()?);
        record(&mut v, start.elapsed());
        let start = Instant::now();
        std::hint::black_box(service.transform(std::hint::black_box(&valid)));
        record(&mut t, start.elapsed());
        let start = Instant::now();
        let p = service
            .model()
            .predict(std::hint::black_box(&input))
            .map_err(|e| wasmtime::format_err!("{e}"))?;
        std::hint::black_box(p);
        record(&mut e, start.elapsed());
    }
    let (v, t, e) = (
        Percentiles::of(&v),
        Percentiles::of(&t),
        Percentiles::of(&e),
    );
    Ok(Stages {
        validate_p50_us: v.p50_us,
        transform_p50_us: t.p50_us,
        estimator_p50_us: e.p50_us,
        validate_min_us: v.min_us,
        transform_min_us: t.min_us,
        estimator_min_us: e.min_us,
    })
}

async fn instance_times(rt: &Runtime, input: &[Vec<Feature>], n: usize) -> Result<InstanceTimes> {
    let mut inst = histogram();
    let mut first = histogram();
    let mut peak = 0;
    for _ in 0..n {
        let t = Instant::now();
        let mut store = rt.new_store();
        let f = rt.instantiate_typed(&mut store).await?;
        record(&mut inst, t.elapsed());
        drop((f, store));

        let t = Instant::now();
        let mut store = rt.new_store();
        let f = rt.instantiate_typed(&mut store).await?;
        let p = f
            .mlfn_inference_model()
            .call_predict(&mut store, input)
            .await?;
        record(&mut first, t.elapsed());
        p.map_err(|e| wasmtime::format_err!("{e:?}"))?;
        peak = peak.max(store.data().limiter.peak);
    }
    Ok(InstanceTimes {
        instantiate: Percentiles::of(&inst),
        first_prediction: Percentiles::of(&first),
        peak_memory_bytes: peak,
    })
}

async fn request_path_times(rt: &Runtime, body: &[u8], n: usize) -> Result<RequestPath> {
    use http_body_util::BodyExt;
    let metadata = rt.metadata().await?;
    let telemetry = crate::telemetry::Telemetry::new(
        Some(&metadata.metadata_json),
        crate::telemetry::DriftConfig::default(),
    )?;
    let limits = crate::server::ServeLimits::default();
    let body = bytes::Bytes::copy_from_slice(body);
    let request = || {
        let req = hyper::Request::post("http://127.0.0.1/predict")
            .header("content-type", "application/json")
            .body(())
            .expect("static request parts");
        crate::server::full_request(req.into_parts().0, body.clone())
    };
    let (mut instance, mut whole, mut record_only) = (histogram(), histogram(), histogram());
    let mut event = bytes::Bytes::new();
    for _ in 0..n {
        let t = Instant::now();
        let mut store = rt.new_store_with(Some(wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(
            crate::server::STDERR_CAPACITY,
        )));
        let proxy = rt.proxy_pre().instantiate_async(&mut store).await?;
        drop((proxy, store));
        record(&mut instance, t.elapsed());

        let t = Instant::now();
        let (response, finished) =
            match crate::server::run_guest(rt, &telemetry, limits, request()).await {
                Ok(r) => r,
                Err(_) => wasmtime::bail!("the guest failed a benchmark request"),
            };
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        let crate::server::Finish {
            peak_memory,
            stderr,
        } = match finished {
            Some(f) => f.await,
            None => Default::default(),
        };
        let seconds = t.elapsed().as_secs_f64();
        telemetry.record("/predict", status, seconds, peak_memory, &stderr);
        record(&mut whole, t.elapsed());
        if status != 200 {
            wasmtime::bail!("a benchmark request was answered {status}");
        }

        let t = Instant::now();
        telemetry.record("/predict", status, seconds, peak_memory, &stderr);
        record(&mut record_only, t.elapsed());
        event = stderr;
    }
    Ok(RequestPath {
        instance: Percentiles::of(&instance),
        request: Percentiles::of(&whole),
        telemetry: Percentiles::of(&record_only),
        event_bytes: event.len(),
    })
}

/// `concurrency` keep-alive connections, each sending `/predict` back to back for
/// `duration`, against an in-process server on 127.0.0.1 (serving threads, as `host serve`).
/// Each connection sends the `bodies` in turn, starting at its own offset.
pub async fn http_run(
    rt: Arc<Runtime>,
    content_type: &str,
    bodies: &[Vec<u8>],
    concurrency: usize,
    duration: Duration,
) -> Result<HttpRun> {
    use http_body_util::{BodyExt, Full};
    let server = crate::server::spawn(rt, "127.0.0.1:0".parse().expect("static address")).await?;
    let addr = server.addr;
    let bodies: Arc<Vec<bytes::Bytes>> = Arc::new(
        bodies
            .iter()
            .map(|b| bytes::Bytes::copy_from_slice(b))
            .collect(),
    );
    let content_type = content_type.to_string();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let bodies = bodies.clone();
        let content_type = content_type.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream))
                    .await?;
            tokio::spawn(conn);
            let mut h = histogram();
            let mut non_2xx = 0u64;
            let mut next = task;
            while Instant::now() < deadline {
                let body = bodies[next % bodies.len()].clone();
                next += 1;
                let req = hyper::Request::post("/predict")
                    .header("host", addr.to_string())
                    .header("content-type", content_type.as_str())
                    .body(Full::new(body))?;
                let t = Instant::now();
                let resp = sender.send_request(req).await?;
                let ok = resp.status().is_success();
                resp.into_body().collect().await?;
                record(&mut h, t.elapsed());
                non_2xx += u64::from(!ok);
            }
            Ok::<_, wasmtime::Error>((h, non_2xx))
        }));
    }
    let mut all = histogram();
    let mut non_2xx = 0;
    for t in tasks {
        let (h, n) = t.await??;
        all.add(h).expect("same bounds");
        non_2xx += n;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(HttpRun {
        concurrency,
        requests: all.len(),
        non_2xx,
        seconds,
        throughput_rps: all.len() as f64 / seconds,
        latency: Percentiles::of(&all),
    })
}

/// The report as a table.
pub fn print(r: &Report) {
    let p = |x: &Percentiles| {
        format!(
            "p50 {:>8.1} µs  p95 {:>8.1} µs  p99 {:>8.1} µs",
            x.p50_us, x.p95_us, x.p99_us
        )
    };
    println!(
        "bundle               {} (guest {:.2} MB; packaged {:.2} MB), {} CPUs",
        r.bundle,
        r.guest_bytes as f64 / 1e6,
        r.packaged_bytes as f64 / 1e6,
        r.cpus
    );
    println!("package (snapshot)   {:>10.1} ms", r.package_ms);
    println!(
        "engine creation      {:>10.1} µs (median)",
        r.engine_creation_us
    );
    println!("load .wasm (compile) {:>10.1} ms", r.compile_wasm_ms);
    println!("load .cwasm (mmap)   {:>10.1} µs (median)", r.load_cwasm_us);
    let t = &r.instance;
    println!("instantiate          {}", p(&t.instantiate));
    println!(
        "cold start           {}   (instantiate + first prediction)",
        p(&t.first_prediction)
    );
    println!(
        "peak memory          {:>10.1} MiB",
        t.peak_memory_bytes as f64 / (1 << 20) as f64
    );
    println!("warm predict, wasm   {}", p(&r.warm_wasm));
    println!("warm predict, native {}", p(&r.warm_native));
    println!("wasm / native (p50)  {:>10.2}×", r.wasm_over_native_p50);
    for b in &r.batches {
        println!(
            "batch {:>3}: wasm p50 {:>9.1} µs  native p50 {:>9.1} µs  ({:.2}×)",
            b.batch, b.warm_wasm.p50_us, b.warm_native.p50_us, b.wasm_over_native_p50
        );
        println!(
            "  as rows: wasm p50 {:>9.1} µs  native p50 {:>9.1} µs  ({:.2}×)  (predict-rows: numbers in feature order)",
            b.rows_wasm.p50_us,
            b.rows_native.p50_us,
            b.rows_wasm.p50_us / b.rows_native.p50_us
        );
        println!(
            "  as a table: wasm p50 {:>9.1} µs  native p50 {:>9.1} µs  ({:.2}×)  (predict-table: names once, then typed values)",
            b.table_wasm.p50_us,
            b.table_native.p50_us,
            b.table_wasm.p50_us / b.table_native.p50_us
        );
        let st = &b.native_stages;
        println!(
            "           native stages p50: validate {:.1} µs, preprocess {:.1} µs, estimator {:.1} µs",
            st.validate_p50_us, st.transform_p50_us, st.estimator_p50_us
        );
    }
    let rp = &r.request_path;
    println!("request path, in process, no socket:");
    println!("  instance only      {}", p(&rp.instance));
    println!("  whole request      {}", p(&rp.request));
    println!(
        "  telemetry record   {}  (event {} bytes)",
        p(&rp.telemetry),
        rp.event_bytes
    );
    for h in &r.http {
        println!(
            "HTTP c={:<2} {:>7} req {:>8.0} req/s  {}  non-2xx {}",
            h.concurrency,
            h.requests,
            h.throughput_rps,
            p(&h.latency),
            h.non_2xx
        );
    }
    for k in &r.knobs {
        println!(
            "knob {:?} cow={:<5} instantiate p50 {:>8.1} µs  cold start p50 {:>8.1} µs",
            k.allocator, k.copy_on_write, k.instantiate_p50_us, k.first_prediction_p50_us
        );
    }
}
