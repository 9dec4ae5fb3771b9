//! tract's f32 GEMM for the guest, with a second kernel the host can ask for.
//!
//! A network's plan is fixed at packaging time, inside the snapshot, and the same
//! component then runs under our host, Spin, `wasmtime serve` and JavaScript engines. The
//! kernel that is fastest differs between them:
//! - tract's `wasm_f32_8x8` holds its 8×8 tile in 16 `v128` registers;
//! - `fitted::kernel` holds half of it at a time, leaving room for the operands in the
//!   16 `xmm` registers Cranelift allocates on x86-64 (bench/results/wasm_gemm.txt, k = 1024:
//!   43.7 GFLOP/s against tract's 30.9 under our host's compiler);
//! - but under a stock wasmtime with epoch interruption (Spin, `wasmtime serve` with a
//!   timeout) every loop back edge calls out and clobbers every vector register, and
//!   there it is the slower one (19.2 against 27.0).
//!
//! So this crate registers one kernel with tract, `wasm_f32_8x8_mlfn`, with tract's own
//! packings, and picks per call: the fitted kernel for products over at least 32 steps
//! of k when the instance was told to (`use_fitted`, which the guest sets from the `MLFN_WASM_GEMM` environment variable at
//! every request; our host sets it), tract's otherwise. Both give the same bits: the fitted
//! kernel adds the same products in the same order (see `fitted`), and the host's tests
//! compare answers across runtimes exactly.
//!
//! On other targets this crate is empty but for no-op `use_fitted` and `link`.

/// The environment variable that asks for the fitted kernel (value `fitted`).
pub const ENV_VAR: &str = "MLFN_WASM_GEMM";
/// The value of `ENV_VAR` that asks for it.
pub const FITTED: &str = "fitted";

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod fitted;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod dispatch {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicBool, Ordering};

    use tract_data::prelude::DatumType;
    use tract_linalg::isa::{Arch, IsaSet};
    use tract_linalg::mmm::{DynKernel, FusedKerSpec, Query, Suitable};
    use tract_linalg::mmm_routines::MmmRoutine;
    use tract_linalg::mmm_tiers::MmmTier;

    /// The name tract knows the kernel by. It sorts after `wasm_f32_8x8` on purpose: where
    /// `n` is symbolic (a sequence length: MiniLM), tract 0.23 asks no tier and takes the
    /// widest tile of a packing group, ties going to the last kernel by name
    /// (`mmm_routines::runnable_for`, `einsum::kernel_selection::strategize`).
    pub const KERNEL_NAME: &str = "wasm_f32_8x8_mlfn";

    /// Whether this instance runs the fitted kernel. Off in the snapshot: a fresh
    /// instance uses tract's until told otherwise.
    static FITTED: AtomicBool = AtomicBool::new(false);

    pub fn use_fitted(on: bool) {
        FITTED.store(on, Ordering::Relaxed);
    }

    /// # Safety
    /// tract's kernel contract: the program ends with `Done` and its pointers are valid.
    unsafe fn kernel(program: &[FusedKerSpec<f32>]) -> isize {
        if FITTED.load(Ordering::Relaxed) && long_product(program) {
            // SAFETY: the caller's contract, which both kernels share.
            unsafe { super::fitted::kernel(program) }
        } else {
            // SAFETY: as above.
            unsafe { (tract_linalg::wasm::wasm_f32_8x8.kernel)(program) }
        }
    }

    /// Below 32 steps of k the fitted kernel's two passes and diagonal shuffles cost more
    /// than they save (bench/results/wasm_gemm.txt, our host: 0.88× at k = 16, 1.02× at 32).
    const MIN_K: usize = 32;

    /// Whether the program multiplies over at least `MIN_K` steps.
    fn long_product(program: &[FusedKerSpec<f32>]) -> bool {
        program
            .iter()
            .any(|op| matches!(op, FusedKerSpec::AddMatMul { k, .. } if *k >= MIN_K))
    }

    /// tract's own kernel description (tile, packings, stores) with this kernel in it.
    static KERNEL: LazyLock<DynKernel<8, 8, f32>> = LazyLock::new(|| {
        let mut k = (*tract_linalg::wasm::wasm_f32_8x8).clone();
        k.name = KERNEL_NAME.to_string();
        k.kernel = kernel;
        k.arch = Some(Arch::Wasm32Simd128);
        k
    });

    inventory::submit! {
        MmmRoutine { make: || KERNEL.mmm() }
    }

    /// One rung above tract's wasm tier (precedence 1), and the same choice it makes for
    /// f32: every GEMM takes this kernel where tract's would take `wasm_f32_8x8`; GEMV
    /// (n = 1) and integer accumulators are left to tract's tier.
    fn preferred(
        _isa: &IsaSet,
        accumulator: DatumType,
        query: &Query,
        _suitable: &[Suitable],
    ) -> Option<&'static str> {
        (accumulator == DatumType::F32 && query.n != Some(1)).then_some(KERNEL_NAME)
    }

    inventory::submit! {
        MmmTier {
            arch: Some(Arch::Wasm32Simd128),
            precedence: 2,
            name: "mlfn-wasm-f32-8x8",
            applies: |_| true,
            preferred,
        }
    }

    /// Keeps this object file in the link (the registrations above are only reached
    /// through inventory).
    pub fn link() {
        std::hint::black_box(kernel as unsafe fn(&[FusedKerSpec<f32>]) -> isize);
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use dispatch::{KERNEL_NAME, link, use_fitted};

/// No-op off wasm32 simd128.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn use_fitted(_on: bool) {}

/// No-op off wasm32 simd128.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn link() {}
