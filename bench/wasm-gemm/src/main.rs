//! GFLOP/s of one GEMM tile (`Clear`, `AddMatMul` over k, per-row add, ReLU, store),
//! called in a loop as tract calls it per tile, at k from 4 to 1024. A and B stay in
//! cache: this measures the kernel's instructions, not memory. A second table runs whole
//! products at MiniLM's shapes with the weights (A) streamed from memory.
//!
//! Built for wasm32: tract's `wasm_f32_8x8` and the guest's register-fitted kernel
//! (`wasm_kernel::fitted`, the one our host asks for); bench/wasm-gemm/run.sh runs it under
//! wasmtime with and without epoch interruption, and under our host's engine. Built natively on x86-64: tract's
//! AVX-512 f32 kernels on the same loop, the other side of the wasm / native ratio.

use std::time::Instant;
use tract_linalg::mmm::{FusedKerSpec, OutputStoreKer};

type Kernel = unsafe fn(&[FusedKerSpec<f32>]) -> isize;

/// `len` floats at a 64-byte boundary (AVX-512 kernels load packed panels aligned).
fn aligned(len: usize, value: impl Fn(usize) -> f32) -> (Vec<f32>, usize) {
    let mut v: Vec<f32> = vec![0.0; len + 16];
    let offset = v.as_ptr().align_offset(64);
    for i in 0..len {
        v[offset + i] = value(i);
    }
    (v, offset)
}

/// One tile as tract runs it: `Clear`, `AddMatMul` over `k` steps of the packed panels
/// at `pa` and `pb`, the ops of `epilogue` (at most two), then `Store` into `c` (`nr`
/// columns a row). The program is built on the stack: nothing is allocated in the loops
/// that time it.
fn run_tile(
    kernel: Kernel,
    k: usize,
    pa: *const f32,
    pb: *const f32,
    epilogue: &[FusedKerSpec<f32>],
    c: &mut [f32],
    nr: usize,
) {
    let mut program = [FusedKerSpec::Done; 6];
    program[0] = FusedKerSpec::Clear;
    program[1] = FusedKerSpec::AddMatMul {
        k,
        pa: pa as _,
        pb: pb as _,
        packing: 0,
    };
    program[2..2 + epilogue.len()].copy_from_slice(epilogue);
    program[2 + epilogue.len()] = FusedKerSpec::Store(OutputStoreKer {
        ptr: c.as_mut_ptr() as _,
        row_byte_stride: 4 * nr as isize,
        col_byte_stride: 4,
        item_size: 4,
    });
    // SAFETY: the callers' panels cover k steps and `c` one mr × nr tile; the program
    // ends with `Done`.
    unsafe { kernel(std::hint::black_box(&program)) };
    std::hint::black_box(c);
}

/// GFLOP/s of `kernel` on an `mr`×`nr` tile over `k` steps: the best of five timings.
fn gflops(kernel: Kernel, mr: usize, nr: usize, k: usize) -> f64 {
    let (a, a_at) = aligned(k * mr, |i| (i % 7) as f32 * 0.01);
    let (b, b_at) = aligned(k * nr, |i| (i % 5) as f32 * 0.01);
    let (a, b) = (&a[a_at..], &b[b_at..]);
    let bias = vec![0.5f32; mr];
    let mut c = vec![0f32; mr * nr];
    let reps = (50_000_000 / (mr * nr * k)).max(1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..reps {
            let epilogue = [
                FusedKerSpec::PerRowAdd(bias.as_ptr()),
                FusedKerSpec::ScalarMax(0.0),
            ];
            run_tile(kernel, k, a.as_ptr(), b.as_ptr(), &epilogue, &mut c, nr);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (mr * nr * k) as f64 * reps as f64 / best / 1e9
}

const KS: [usize; 6] = [4, 16, 32, 64, 256, 1024];

/// MiniLM-L6's weight matrices (m × k: attention 384 × 384, the feed-forward pair
/// 1536 × 384 and 384 × 1536) against a short text's activations (n = 14 tokens).
const STREAMED: [(usize, usize, usize); 3] = [(384, 384, 14), (1536, 384, 14), (384, 1536, 14)];

/// GFLOP/s of `kernel` over whole products `m × k · k × n`, tile by tile in tract's
/// order for a constant A (row panels outer, B's column panels inner), over enough
/// distinct A matrices (`MiB` of them in all) that A comes from memory, as a network's
/// weights do, rather than from cache. Counts the useful `2·m·k·n`, not the padding of n
/// up to the tile.
fn streamed_gflops(
    kernel: Kernel,
    mr: usize,
    nr: usize,
    (m, k, n): (usize, usize, usize),
    mib: usize,
) -> f64 {
    let matrices = (mib << 20) / (m * k * 4);
    let n_panels = n.div_ceil(nr);
    let (a, a_at) = aligned(matrices * m * k, |i| (i % 7) as f32 * 0.01);
    let (b, b_at) = aligned(n_panels * nr * k, |i| (i % 5) as f32 * 0.01);
    let (a, b) = (&a[a_at..], &b[b_at..]);
    let mut c = vec![0f32; mr * nr];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for matrix in 0..matrices {
            for ia in 0..m / mr {
                for ib in 0..n_panels {
                    let pa = a[(matrix * m + ia * mr) * k..].as_ptr();
                    run_tile(kernel, k, pa, b[ib * nr * k..].as_ptr(), &[], &mut c, nr);
                }
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (m * k * n) as f64 * matrices as f64 / best / 1e9
}

/// Weights streamed per shape: more than the last-level cache (32 MiB here).
const STREAMED_MIB: usize = 96;

#[cfg(target_arch = "x86_64")]
fn main() {
    use tract_linalg::x86_64::mmm::{
        avx512_mmm_f32_16x12, avx512_mmm_f32_32x6, avx512_mmm_f32_64x3, fma_mmm_f32_8x8,
    };
    if !std::is_x86_feature_detected!("avx512f") {
        eprintln!("this CPU has no AVX-512: the native figures need it");
        std::process::exit(2);
    }
    println!("GFLOP/s, tract's native kernels (the ones its x86-64 tiers pick for f32)");
    let kernels: [(&str, Kernel, usize, usize); 4] = [
        ("avx512 16x12", avx512_mmm_f32_16x12.kernel, 16, 12),
        ("avx512 32x6", avx512_mmm_f32_32x6.kernel, 32, 6),
        ("avx512 64x3", avx512_mmm_f32_64x3.kernel, 64, 3),
        ("fma 8x8 (avx2)", fma_mmm_f32_8x8.kernel, 8, 8),
    ];
    print!("{:>6}", "k");
    for (name, ..) in &kernels {
        print!(" {name:>15}");
    }
    println!();
    for k in KS {
        print!("{k:>6}");
        for &(_, kernel, mr, nr) in &kernels {
            print!(" {:>15.1}", gflops(kernel, mr, nr, k));
        }
        println!();
    }
    println!("GFLOP/s over whole products, {STREAMED_MIB} MiB of A streamed from memory (m, k, n)");
    for shape in STREAMED {
        print!("{:>16}", format!("{shape:?}"));
        for &(_, kernel, mr, nr) in &kernels {
            print!(
                " {:>15.1}",
                streamed_gflops(kernel, mr, nr, shape, STREAMED_MIB)
            );
        }
        println!();
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    let tract = tract_linalg::wasm::wasm_f32_8x8.kernel;
    println!("GFLOP/s; ratio = fitted / tract");
    println!(
        "{:>6} {:>10} {:>10} {:>6}",
        "k", "tract 8x8", "fitted", "ratio"
    );
    for k in KS {
        let t = gflops(tract, 8, 8, k);
        let f = gflops(wasm_kernel::fitted::kernel, 8, 8, k);
        println!("{k:>6} {t:>10.1} {f:>10.1} {:>6.2}", f / t);
    }
    println!("GFLOP/s over whole products, {STREAMED_MIB} MiB of A streamed from memory (m, k, n)");
    for shape in STREAMED {
        let t = streamed_gflops(tract, 8, 8, shape, STREAMED_MIB);
        let f = streamed_gflops(wasm_kernel::fitted::kernel, 8, 8, shape, STREAMED_MIB);
        println!(
            "{:>16} {t:>10.1} {f:>10.1} {:>6.2}",
            format!("{shape:?}"),
            f / t
        );
    }
}
