//! GFLOP/s of one 8×8 GEMM tile (`Clear`, `AddMatMul` over k, per-row add, ReLU, store),
//! called in a loop as tract calls it per tile, for tract's `wasm_f32_8x8` and for
//! `rotation::kernel` (its k loop as written, and unrolled by two), at k from 4 to 1024. A and B stay in cache: this measures the
//! kernel's instructions, not memory. bench/wasm-gemm/run.sh runs it under wasmtime with
//! and without epoch interruption.

mod rotation;

use std::time::Instant;
use tract_linalg::mmm::{FusedKerSpec, OutputStoreKer};

type Kernel = unsafe fn(&[FusedKerSpec<f32>]) -> isize;

fn gflops(kernel: Kernel, k: usize) -> f64 {
    let a: Vec<f32> = (0..k * 8).map(|i| (i % 7) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..k * 8).map(|i| (i % 5) as f32 * 0.01).collect();
    let bias = [0.5f32; 8];
    let mut c = [0f32; 64];
    let reps = (50_000_000 / (64 * k)).max(1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..reps {
            let program = [
                FusedKerSpec::Clear,
                FusedKerSpec::AddMatMul {
                    k,
                    pa: a.as_ptr() as _,
                    pb: b.as_ptr() as _,
                    packing: 0,
                },
                FusedKerSpec::PerRowAdd(bias.as_ptr()),
                FusedKerSpec::ScalarMax(0.0),
                FusedKerSpec::Store(OutputStoreKer {
                    ptr: c.as_mut_ptr() as _,
                    row_byte_stride: 32,
                    col_byte_stride: 4,
                    item_size: 4,
                }),
                FusedKerSpec::Done,
            ];
            // SAFETY: the program's pointers cover k steps of both packings and the tile.
            unsafe { kernel(std::hint::black_box(&program)) };
            std::hint::black_box(&mut c);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (64 * k) as f64 * reps as f64 / best / 1e9
}

fn main() {
    let tract = tract_linalg::wasm::wasm_f32_8x8.kernel;
    println!("GFLOP/s; ratio = rotation / tract");
    println!(
        "{:>6} {:>10} {:>10} {:>6} {:>14} {:>6}",
        "k", "tract 8x8", "rotation", "ratio", "rotation, ×2", "ratio"
    );
    for k in [4, 16, 64, 256, 1024] {
        let t = gflops(tract, k);
        let (r1, r2) = (
            gflops(rotation::kernel::<false>, k),
            gflops(rotation::kernel::<true>, k),
        );
        println!(
            "{k:>6} {t:>10.1} {r1:>10.1} {:>6.2} {r2:>14.1} {:>6.2}",
            r1 / t,
            r2 / t
        );
    }
}
