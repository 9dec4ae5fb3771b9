//! What a warm typed call into a packaged tabular component costs apart from the model:
//! `predict-rows` on one live instance with an empty batch (the boundary alone: the async
//! call into wasm, lowering the list, lifting the result, `post-return`), with the first
//! reference row, and with `batch` copies of it. README "Performance" quotes it to say why
//! one row in wasm cannot come within 1.5× of the native pipeline. Last, `predict-table` of
//! the batch (the feature names once, then typed values).
//!
//!   cargo run --release -p host --example call_cost -- COMPONENT.wasm BUNDLE_DIR [BATCH]
//!
//! COMPONENT.wasm is the bundle packaged (`host package BUNDLE_DIR -o COMPONENT.wasm`);
//! the row comes from BUNDLE_DIR/reference.json. `MLFN_PROFILE=perfmap` under `perf
//! record` names the guest's functions when the guest was built with its name section.

use std::path::PathBuf;
use std::time::Instant;

use host::engine::PoolLimits;
use host::runtime::Runtime;

const CALLS: usize = 50_000;

#[tokio::main]
async fn main() -> wasmtime::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: call_cost COMPONENT.wasm BUNDLE_DIR [BATCH]";
    let component = PathBuf::from(args.next().ok_or_else(|| wasmtime::format_err!(usage))?);
    let bundle = PathBuf::from(args.next().ok_or_else(|| wasmtime::format_err!(usage))?);
    let batch: usize = args.next().map_or(Ok(64), |b| b.parse())?;

    let rt = Runtime::load(&component, PoolLimits::default()).await?;
    let features = rt.metadata().await?.features;
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("reference.json"))?)?;
    let row = reference["rows"][0]["features"]
        .as_object()
        .ok_or_else(|| wasmtime::format_err!("reference.json has no rows[0].features"))?;
    let one = host::typed::dense_row(row, &features).map_err(wasmtime::Error::msg)?;

    let mut store = rt.new_store();
    let function = rt.instantiate_typed(&mut store).await?;
    let model = function.mlfn_inference_model();
    for (name, values) in [
        ("empty batch", Vec::new()),
        ("one row", one.clone()),
        ("batch", one.repeat(batch)),
    ] {
        let rows = values.len() / features.len();
        let times =
            timed(async || answered(model.call_predict_rows(&mut store, &values).await?)).await?;
        report(
            &format!("predict-rows, {name:<11} ({rows:>3} rows)"),
            &times,
        );
    }
    let objs = vec![row; batch];
    let (columns, values) = host::typed::table(&objs, &features).map_err(wasmtime::Error::msg)?;
    let times = timed(async || {
        answered(
            model
                .call_predict_table(&mut store, &columns, &values)
                .await?,
        )
    })
    .await?;
    report(
        &format!("predict-table, batch      ({batch:>3} rows)"),
        &times,
    );
    Ok(())
}

/// `CALLS` calls of `call`, each timed (µs), sorted.
async fn timed(mut call: impl AsyncFnMut() -> wasmtime::Result<()>) -> wasmtime::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        call().await?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// The export's answer, kept from being optimised away; its error (a `predict-error`)
/// ends the run.
fn answered<T, E: std::fmt::Debug>(answer: Result<T, E>) -> wasmtime::Result<()> {
    std::hint::black_box(answer)
        .map(drop)
        .map_err(|e| wasmtime::format_err!("{e:?}"))
}

fn report(what: &str, sorted_times: &[f64]) {
    println!(
        "{what}: p50 {:7.3} µs, min {:7.3} µs",
        sorted_times[sorted_times.len() / 2],
        sorted_times[0]
    );
}
