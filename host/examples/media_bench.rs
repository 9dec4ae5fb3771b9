//! Figures of a file-type bundle (bench/media.sh writes them to bench/results/media.txt):
//! guest and component size, package time, instantiate (fresh instance from the snapshot),
//! warm prediction through the component (one request = one fresh instance, as served)
//! and natively (the same pipeline, tract on the host CPU), on the parity corpus's files.
//!
//!     cargo run --release -p host --example media_bench -- [BUNDLE_DIR] [CORPUS_JSON] [N]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use host::{PoolLimits, Runtime, guests};

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1e6
}

fn p99(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[(xs.len() * 99 / 100).min(xs.len() - 1)].as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() -> wasmtime::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| guests::bundle_dir("magika").display().to_string()),
    );
    let corpus_path = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "target/magika-corpus/expected.json".into());
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);

    let guest = std::fs::read(guests::GUEST)?;
    println!("guest (model-less) component: {} bytes", guest.len());
    let bundle = host::package::read_bundle(&dir)?;

    let t = Instant::now();
    let (wasm, _) = host::package::package(&guest, &bundle).await?;
    let package_time = t.elapsed();
    println!(
        "package (native check + ONNX→NNEF + wizer snapshot, no verification): {:.2} s; packaged component: {} bytes",
        package_time.as_secs_f64(),
        wasm.len()
    );
    let t = Instant::now();
    let rt = Runtime::from_wasm(&wasm, PoolLimits::default()).await?;
    println!(
        "compile (cranelift, no cache): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let mut inst = Vec::new();
    let mut peak = 0;
    for _ in 0..n {
        let t = Instant::now();
        let mut store = rt.new_store();
        let _proxy = rt.proxy_pre().instantiate_async(&mut store).await?;
        inst.push(t.elapsed());
        peak = peak.max(store.data().limiter.peak);
    }
    println!(
        "instantiate from the snapshot: median {:.1} µs, p99 {:.1} µs ({n} runs); linear memory {} bytes",
        median(inst.clone()),
        p99(inst.clone()),
        peak
    );

    let corpus: serde_json::Value = serde_json::from_slice(&std::fs::read(&corpus_path)?)?;
    let inputs: Vec<Vec<u8>> = corpus["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| std::fs::read(f["path"].as_str().unwrap()).ok())
        .collect();
    let native = pipeline::Function::load(&bundle).map_err(|e| wasmtime::format_err!("{e}"))?;
    let ft = native.file_type().expect("a file-type bundle");
    // Only inputs that reach the network (the rest are decided by the few-bytes rule).
    let inputs: Vec<&Vec<u8>> = inputs
        .iter()
        .filter(|b| {
            matches!(
                pipeline::filetype::features::extract(b, ft.config()),
                pipeline::filetype::features::Extracted::Features(_)
            )
        })
        .collect();

    let mut request = Vec::new();
    let mut peak = 0;
    for b in inputs.iter().cycle().take(n) {
        let t = Instant::now();
        let r = host::verify_file_type::post_bytes(&rt, b).await?;
        request.push(t.elapsed());
        assert_eq!(r.status, 200);
        peak = peak.max(r.body.len());
    }
    let req_med = median(request.clone());
    println!(
        "wasm request (fresh instance + read body + features + network + answer + event): median {:.1} µs, p99 {:.1} µs; minus instantiate: {:.1} µs",
        req_med,
        p99(request.clone()),
        req_med - median(inst.clone())
    );

    let mut detect = Vec::new();
    let mut network = Vec::new();
    for b in inputs.iter().cycle().take(n) {
        let t = Instant::now();
        std::hint::black_box(ft.detect(b).map_err(|e| wasmtime::format_err!("{e}"))?);
        detect.push(t.elapsed());
        let pipeline::filetype::features::Extracted::Features(x) =
            pipeline::filetype::features::extract(b, ft.config())
        else {
            unreachable!()
        };
        let t = Instant::now();
        std::hint::black_box(
            ft.network()
                .run_i32(&x)
                .map_err(|e| wasmtime::format_err!("{e}"))?,
        );
        network.push(t.elapsed());
    }
    println!(
        "native tract: detect median {:.1} µs (p99 {:.1}); network alone median {:.1} µs",
        median(detect.clone()),
        p99(detect),
        median(network)
    );
    println!(
        "inputs: {} corpus files that reach the network, {n} runs each figure",
        inputs.len()
    );
    Ok(())
}
