//! Figures of a network bundle (kind file-type, text or image; bench/networks.sh writes
//! them to bench/results/networks.txt), in one run: guest and component size, package
//! time, compile, instantiate (fresh instance from the snapshot), the first and the warm
//! request through the component in process (one request = one fresh instance, as
//! served), the same pipeline natively (tract on the host CPU; whole and network alone),
//! and HTTP at c=1 and c=8 through the in-process server.
//!
//!     cargo run --release -p host --example network_bench -- BUNDLE_DIR [N] [HTTP_SECONDS]
//!
//! Inputs: an image bundle's sample images (raw bodies); a text bundle's reference texts
//! one per request, and separately one text of `max_tokens` tokens; a file-type bundle's
//! parity corpus (target/<bundle>-corpus/expected.json, made by its corpus.sh), the files
//! that reach the network.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use host::{PoolLimits, Runtime, guests};
use pipeline::Function;
use wasmtime::{Result, format_err};

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1e6
}

/// Minor page faults of this process so far (a fresh instance's first touch of a
/// snapshot page is one).
fn minor_faults() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init().ru_minflt
    }
}

fn p99(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[(xs.len() * 99 / 100).min(xs.len() - 1)].as_secs_f64() * 1e6
}

/// One kind's requests: the Content-Type, the bodies, and the native pipeline and
/// network on the same inputs.
struct Workload {
    what: String,
    content_type: &'static str,
    bodies: Vec<Vec<u8>>,
    /// The whole pipeline natively on body `i`.
    native: Box<dyn Fn(usize) -> Result<()>>,
    /// The network alone natively on body `i`'s input.
    network: Box<dyn Fn(usize) -> Result<()>>,
}

fn err(e: impl std::fmt::Display) -> wasmtime::Error {
    format_err!("{e}")
}

fn workloads(dir: &Path, function: Arc<Function>) -> Result<Vec<Workload>> {
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json"))?)?;
    Ok(match &*function {
        Function::Image(_) => {
            let files: Vec<Vec<u8>> = reference["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| std::fs::read(dir.join(s["file"].as_str().unwrap())))
                .collect::<std::io::Result<_>>()?;
            let image = |f: &Function| f.image().expect("an image bundle").clone();
            let tensors: Vec<Vec<f32>> = files
                .iter()
                .map(|b| image(&function).tensor(b).map(|t| t.0))
                .collect::<Result<_, _>>()
                .map_err(|e| format_err!("{e:?}"))?;
            let (f1, f2) = (function.clone(), function.clone());
            let files2 = files.clone();
            vec![Workload {
                what: format!("{} sample images (JPEG and PNG, raw body)", files.len()),
                content_type: "image/jpeg",
                bodies: files,
                native: Box::new(move |i| {
                    let f = &files2[i % files2.len()];
                    f1.image()
                        .unwrap()
                        .classify(f)
                        .map(drop)
                        .map_err(|e| format_err!("{e:?}"))
                }),
                network: Box::new(move |i| {
                    f2.image()
                        .unwrap()
                        .scores(&tensors[i % tensors.len()])
                        .map(drop)
                        .map_err(err)
                }),
            }]
        }
        Function::Text(t) => {
            let max_tokens = t.manifest().text.max_tokens;
            let texts: Vec<String> = reference["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["text"].as_str().unwrap().to_string())
                .collect();
            let long = vec!["x ".repeat(max_tokens * 2)];
            let mut out = Vec::new();
            for (what, texts) in [
                (
                    format!("{} reference texts, one per request", texts.len()),
                    texts,
                ),
                (format!("one text truncated at {max_tokens} tokens"), long),
            ] {
                let bodies = texts
                    .iter()
                    .map(|t| serde_json::to_vec(&serde_json::json!({ "texts": [t] })))
                    .collect::<Result<_, _>>()?;
                let tokens: Vec<_> = texts
                    .iter()
                    .map(|s| function.text().unwrap().tokenizer().encode(s))
                    .collect::<Result<_, _>>()
                    .map_err(err)?;
                let (f1, f2) = (function.clone(), function.clone());
                out.push(Workload {
                    what,
                    content_type: "application/json",
                    bodies,
                    native: Box::new(move |i| {
                        f1.text()
                            .unwrap()
                            .embed(&texts[i % texts.len()])
                            .map(drop)
                            .map_err(err)
                    }),
                    network: Box::new(move |i| {
                        f2.text()
                            .unwrap()
                            .embed_tokens(&tokens[i % tokens.len()])
                            .map(drop)
                            .map_err(err)
                    }),
                });
            }
            out
        }
        Function::FileType(ft) => {
            let name = dir.file_name().unwrap().to_string_lossy();
            let corpus_path = PathBuf::from(format!("target/{name}-corpus/expected.json"));
            let corpus: serde_json::Value = serde_json::from_slice(
                &std::fs::read(&corpus_path)
                    .map_err(|e| format_err!("{}: {e}", corpus_path.display()))?,
            )?;
            use pipeline::filetype::features::{Extracted, extract};
            let mut files = Vec::new();
            let mut features = Vec::new();
            for f in corpus["files"].as_array().unwrap() {
                let Ok(bytes) = std::fs::read(f["path"].as_str().unwrap()) else {
                    continue;
                };
                // Only inputs that reach the network (the rest: the few-bytes rule).
                if let Extracted::Features(x) = extract(&bytes, ft.config()) {
                    files.push(bytes);
                    features.push(x);
                }
            }
            let (f1, f2) = (function.clone(), function.clone());
            let files2 = files.clone();
            vec![Workload {
                what: format!("{} corpus files that reach the network", files.len()),
                content_type: "application/octet-stream",
                bodies: files,
                native: Box::new(move |i| {
                    f1.file_type()
                        .unwrap()
                        .detect(&files2[i % files2.len()])
                        .map(drop)
                        .map_err(err)
                }),
                network: Box::new(move |i| {
                    f2.file_type()
                        .unwrap()
                        .network()
                        .run_i32(&features[i % features.len()])
                        .map(drop)
                        .map_err(err)
                }),
            }]
        }
        Function::Tabular(_) => wasmtime::bail!("a tabular bundle: use `host bench`"),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .ok_or_else(|| format_err!("usage: BUNDLE_DIR [N] [HTTP_SECONDS]"))?,
    );
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let http_seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);

    // MLFN_BENCH_GUEST: another build of the model-less guest (e.g. one that keeps its
    // function names, for `MLFN_PROFILE=perfmap` under perf).
    let guest = std::fs::read(
        std::env::var_os("MLFN_BENCH_GUEST")
            .map_or_else(|| PathBuf::from(guests::GUEST), PathBuf::from),
    )?;
    println!("== {} ==", dir.display());
    println!("guest (model-less) component: {} bytes", guest.len());
    let bundle = host::package::read_bundle(&dir)?;
    let t = Instant::now();
    let (wasm, _) = host::package::package(&guest, &bundle).await?;
    println!(
        "package (native check + ONNX→NNEF + snapshot, no verification): {:.2} s; packaged component: {} bytes",
        t.elapsed().as_secs_f64(),
        wasm.len()
    );
    let t = Instant::now();
    let mut rt = Runtime::from_wasm(&wasm, PoolLimits::default()).await?;
    // MLFN_WASM_GEMM=tract: the guest's GEMM as under other runtimes (wasm-kernel), to compare.
    if let Ok(kernel) = std::env::var(wasm_kernel::ENV_VAR) {
        rt.set_env(vec![(wasm_kernel::ENV_VAR.into(), kernel)]);
    }
    let rt = Arc::new(rt);
    println!(
        "compile (cranelift, no cache): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let function = Arc::new(Function::load(&bundle).map_err(err)?);
    println!(
        "native load (ONNX → optimised tract plan): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let workloads = workloads(&dir, function)?;

    let mut inst = Vec::new();
    let mut peak = 0;
    for _ in 0..n.max(100) {
        let t = Instant::now();
        let mut store = rt.new_store();
        let _proxy = rt.proxy_pre().instantiate_async(&mut store).await?;
        inst.push(t.elapsed());
        peak = peak.max(store.data().limiter.peak);
    }
    println!(
        "instantiate from the snapshot: median {:.1} µs, p99 {:.1} µs; linear memory {} bytes",
        median(inst.clone()),
        p99(inst),
        peak
    );

    for (w_index, w) in workloads.iter().enumerate() {
        println!("-- {} --", w.what);
        let runs = n.max(w.bodies.len());
        let mut wasm_times = Vec::new();
        let faults_before = minor_faults();
        for (i, body) in w.bodies.iter().cycle().take(runs).enumerate() {
            let t = Instant::now();
            let status = host::direct::post_predict(&rt, w.content_type, body.clone())
                .await?
                .status;
            let took = t.elapsed();
            if status != 200 {
                wasmtime::bail!("status {status} on input {i}");
            }
            if i == 0 && w_index == 0 {
                println!(
                    "first request after load: {:.1} µs",
                    took.as_secs_f64() * 1e6
                );
            }
            wasm_times.push(took);
        }
        let wasm_faults = (minor_faults() - faults_before) as f64 / runs as f64;
        let mut native = Vec::new();
        let mut network = Vec::new();
        let faults_before = minor_faults();
        for i in 0..runs {
            let t = Instant::now();
            (w.native)(i)?;
            native.push(t.elapsed());
            let t = Instant::now();
            (w.network)(i)?;
            network.push(t.elapsed());
        }
        let native_faults = (minor_faults() - faults_before) as f64 / runs as f64;
        let (wm, nm) = (median(wasm_times.clone()), median(native.clone()));
        println!(
            "wasm request (fresh instance, whole pipeline, answer, event): median {wm:.1} µs, p99 {:.1} µs, {wasm_faults:.0} page faults",
            p99(wasm_times)
        );
        println!(
            "native tract: whole pipeline median {nm:.1} µs (p99 {:.1}); network alone median {:.1} µs; wasm / native {:.2}; {native_faults:.0} page faults (both)",
            p99(native),
            median(network),
            wm / nm
        );
        for c in [1, 8] {
            let r = host::bench::http_run(
                rt.clone(),
                w.content_type,
                &w.bodies,
                c,
                Duration::from_secs(http_seconds),
            )
            .await?;
            println!(
                "HTTP c={c}: {:.1} req/s, p50 {:.1} µs, p99 {:.1} µs ({} requests, {} not 2xx)",
                r.throughput_rps, r.latency.p50_us, r.latency.p99_us, r.requests, r.non_2xx
            );
        }
        println!("({runs} runs per figure)");
    }
    Ok(())
}
