//! The kernel: tract's fused-op program over one 8×8 f32 tile, shaped for the 16 `xmm`
//! registers Cranelift allocates on x86-64.
//!
//! tract's `wasm_f32_8x8` holds the tile in 16 `v128` accumulators and broadcasts each A
//! value: with the B vectors and broadcasts that is more than 16 registers, so Cranelift
//! spills inside the k loop. This one computes the tile in two passes of four rows: per
//! k step a pass loads its 4 A values as one vector, makes the three lane rotations with
//! one shuffle each, and multiplies each by the two B vectors, so accumulator `D[s][j]`
//! holds, in lane `i`, row `(i + s) % 4` and column `4j + i` (the half-tile along its
//! diagonals): 4 + 2 + 8 registers. Every other op of the program is tract's, op for op
//! and operand for operand (`tract-linalg` src/wasm/mmm_f32_gemm.rs, fuse.rs).

use std::arch::wasm32::*;

use tract_linalg::Scaler;
use tract_linalg::mmm::{FusedKerSpec, OutputStoreKer};

const MR: usize = 8;
/// `v128` vectors per tile row: 8 columns.
const NV: usize = 2;

/// The tile as rows: `rows[r][j]` holds row `r`, columns `4j..4j + 4`.
type Rows = [[v128; NV]; MR];

/// The kernel: runs a tract fused-op program over one 8×8 tile.
///
/// # Safety
/// As for every tract kernel: the program ends with `Done` and its pointers are valid for
/// the tile, packings and strides the op names.
pub unsafe fn kernel(program: &[FusedKerSpec<f32>]) -> isize {
    let mut rows: Rows = [[f32x4_splat(0.0); NV]; MR];
    for op in program {
        // SAFETY: the caller's contract covers every pointer an op carries.
        unsafe {
            match *op {
                FusedKerSpec::Done => break,
                FusedKerSpec::Clear => rows = [[f32x4_splat(0.0); NV]; MR],
                FusedKerSpec::LoadTile(_col_major, row_major) => {
                    let p = row_major as *const v128;
                    for (r, row) in rows.iter_mut().enumerate() {
                        for (j, v) in row.iter_mut().enumerate() {
                            *v = v128_load(p.add(r * NV + j));
                        }
                    }
                }
                FusedKerSpec::ScalarMin(a) => scalar(&mut rows, a, |s, v| f32x4_min(s, v)),
                FusedKerSpec::ScalarMax(a) => scalar(&mut rows, a, |s, v| f32x4_max(s, v)),
                FusedKerSpec::ScalarAdd(a) => scalar(&mut rows, a, |s, v| f32x4_add(s, v)),
                FusedKerSpec::ScalarMul(a) => scalar(&mut rows, a, |s, v| f32x4_mul(s, v)),
                FusedKerSpec::ScalarSub(a) => scalar(&mut rows, a, |s, v| f32x4_sub(s, v)),
                FusedKerSpec::ScalarSubF(a) => scalar(&mut rows, a, |s, v| f32x4_sub(v, s)),
                FusedKerSpec::LeakyRelu(alpha) => {
                    let zero = f32x4_splat(0.0);
                    scalar(&mut rows, alpha, |s, v| {
                        v128_bitselect(v, f32x4_mul(s, v), f32x4_gt(v, zero))
                    })
                }
                FusedKerSpec::PerRowMin(p) => per_row(&mut rows, p, |s, v| f32x4_min(s, v)),
                FusedKerSpec::PerRowMax(p) => per_row(&mut rows, p, |s, v| f32x4_max(s, v)),
                FusedKerSpec::PerRowAdd(p) => per_row(&mut rows, p, |s, v| f32x4_add(s, v)),
                FusedKerSpec::PerRowMul(p) => per_row(&mut rows, p, |s, v| f32x4_mul(s, v)),
                FusedKerSpec::PerRowSub(p) => per_row(&mut rows, p, |s, v| f32x4_sub(s, v)),
                FusedKerSpec::PerRowSubF(p) => per_row(&mut rows, p, |s, v| f32x4_sub(v, s)),
                FusedKerSpec::PerColMin(p) => per_col(&mut rows, p, |c, v| f32x4_min(c, v)),
                FusedKerSpec::PerColMax(p) => per_col(&mut rows, p, |c, v| f32x4_max(c, v)),
                FusedKerSpec::PerColAdd(p) => per_col(&mut rows, p, |c, v| f32x4_add(c, v)),
                FusedKerSpec::PerColMul(p) => per_col(&mut rows, p, |c, v| f32x4_mul(c, v)),
                FusedKerSpec::PerColSub(p) => per_col(&mut rows, p, |c, v| f32x4_sub(c, v)),
                FusedKerSpec::PerColSubF(p) => per_col(&mut rows, p, |c, v| f32x4_sub(v, c)),
                FusedKerSpec::QScale(shift, policy, mult) => {
                    let scale = Scaler::from_fuse_params(shift, policy, mult).scale;
                    scalar(&mut rows, scale, |s, v| f32x4_mul(s, v))
                }
                FusedKerSpec::RoundingShiftRight(shift, _policy) => {
                    scalar(&mut rows, 2f32.powi(-(shift as i32)), |s, v| {
                        f32x4_mul(s, v)
                    })
                }
                FusedKerSpec::ShiftLeft(shift) => {
                    scalar(&mut rows, 2f32.powi(shift as i32), |s, v| f32x4_mul(s, v))
                }
                FusedKerSpec::AddUnicast(tile) => add_unicast(&mut rows, tile),
                FusedKerSpec::AddRowColProducts(row_values, col_values) => {
                    let c = col_values as *const v128;
                    for (r, row) in rows.iter_mut().enumerate() {
                        let s = f32x4_splat(*row_values.add(r));
                        for (j, v) in row.iter_mut().enumerate() {
                            *v = f32x4_add(*v, f32x4_mul(s, v128_load(c.add(j))));
                        }
                    }
                }
                FusedKerSpec::Store(tile) => store(&rows, tile),
                FusedKerSpec::AddMatMul {
                    k,
                    pa,
                    pb,
                    packing: _,
                } => add_mat_mul(&mut rows, k, pa as *const v128, pb as *const v128),
            }
        }
    }
    0
}

#[inline(always)]
fn scalar(rows: &mut Rows, value: f32, op: impl Fn(v128, v128) -> v128) {
    let s = f32x4_splat(value);
    for v in rows.iter_mut().flatten() {
        *v = op(s, *v);
    }
}

#[inline(always)]
unsafe fn per_row(rows: &mut Rows, values: *const f32, op: impl Fn(v128, v128) -> v128) {
    for (r, row) in rows.iter_mut().enumerate() {
        let s = f32x4_splat(unsafe { *values.add(r) });
        for v in row.iter_mut() {
            *v = op(s, *v);
        }
    }
}

#[inline(always)]
unsafe fn per_col(rows: &mut Rows, values: *const f32, op: impl Fn(v128, v128) -> v128) {
    let p = values as *const v128;
    let cols: [v128; NV] = std::array::from_fn(|j| unsafe { v128_load(p.add(j)) });
    for row in rows.iter_mut() {
        for (v, c) in row.iter_mut().zip(cols) {
            *v = op(c, *v);
        }
    }
}

/// The address of element (`r`, `c`) of a C tile.
#[inline(always)]
unsafe fn at(tile: &OutputStoreKer, r: usize, c: usize) -> *mut f32 {
    unsafe {
        tile.ptr
            .offset(tile.row_byte_stride * r as isize + tile.col_byte_stride * c as isize)
            as *mut f32
    }
}

#[inline(always)]
unsafe fn add_unicast(rows: &mut Rows, tile: OutputStoreKer) {
    for (r, row) in rows.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let c = 4 * j;
            let add = unsafe {
                f32x4(
                    *at(&tile, r, c),
                    *at(&tile, r, c + 1),
                    *at(&tile, r, c + 2),
                    *at(&tile, r, c + 3),
                )
            };
            *v = f32x4_add(*v, add);
        }
    }
}

#[inline(always)]
unsafe fn store(rows: &Rows, tile: OutputStoreKer) {
    for (r, row) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let c = 4 * j;
            unsafe {
                *at(&tile, r, c) = f32x4_extract_lane::<0>(*v);
                *at(&tile, r, c + 1) = f32x4_extract_lane::<1>(*v);
                *at(&tile, r, c + 2) = f32x4_extract_lane::<2>(*v);
                *at(&tile, r, c + 3) = f32x4_extract_lane::<3>(*v);
            }
        }
    }
}

/// `rows += A·B` over `k` steps of packed A (8 values per step) and packed B (8 per step),
/// in two passes of four rows each, so that a pass holds 8 accumulators rather than 16.
///
/// A pass accumulates by diagonal (`diagonals[s][j]`, lane `i`: row `(i + s) % 4` of the
/// pass, column `4j + i`), so each step needs only four A values as one vector and its
/// three rotations. Reading B twice costs loads, which are cheap; spilling is not. The
/// diagonals start from the tile's values and go back into rows once per `AddMatMul`
/// (permutations, no arithmetic): every element sees the additions tract's kernel makes,
/// in the same order, so the results are the same bits.
#[inline(always)]
unsafe fn add_mat_mul(rows: &mut Rows, k: usize, pa: *const v128, pb: *const v128) {
    for (pass, pass_rows) in rows.chunks_exact_mut(4).enumerate() {
        let mut diagonals = to_diagonals(pass_rows);
        // SAFETY: the packings hold k steps of 8 A values and 8 B values.
        unsafe { accumulate(&mut diagonals, k, pa.add(pass), pb) };
        // Row r, lane i is diagonal (r - i) % 4, lane i: two blends of diagonal pairs,
        // then one of those.
        let d = &diagonals;
        for (r, row) in pass_rows.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let left = i32x4_shuffle::<0, 1, 6, 7>(d[r][j], d[(r + 2) % 4][j]);
                let right = i32x4_shuffle::<0, 1, 6, 7>(d[(r + 3) % 4][j], d[(r + 1) % 4][j]);
                *v = i32x4_shuffle::<0, 5, 2, 7>(left, right);
            }
        }
    }
}

/// The k loop of one pass, in a function of its own. Inside `kernel` the loop shares
/// the general registers with the op dispatch around it, and with the epoch check's
/// counter pointer and deadline Cranelift ran out of them: it spilled two of them at the
/// loop's head and reloaded them at its back edge, 3 of its 40 instructions, with a
/// second jump. Alone, the loop is 35 instructions with one jump, and under our host
/// its rate rises from 37 to 44 GFLOP/s at k = 1024, the rate without epoch checks
/// (bench/results/wasm_gemm.txt).
///
/// Not unrolled: unrolled by two, LLVM loads both steps' operands first, which needs 17
/// vector registers, and Cranelift spills an accumulator.
///
/// # Safety
/// `pa` and `pb` hold `k` steps (`pa` at a stride of two vectors: the pass's rows of A,
/// `pb` two vectors per step: B).
#[inline(never)]
unsafe fn accumulate(diagonals: &mut [[v128; NV]; 4], k: usize, pa: *const v128, pb: *const v128) {
    // A local copy: the accumulators stay in registers rather than behind the pointer.
    let mut d = *diagonals;
    for step in 0..k {
        // SAFETY: the caller's contract.
        unsafe { multiply_add(&mut d, pa.add(2 * step), pb.add(2 * step)) };
    }
    *diagonals = d;
}

/// Four rows of the tile as diagonals: `d[s][j]`, lane `i`, is row `(i + s) % 4`,
/// column `4j + i`.
#[inline(always)]
fn to_diagonals(rows: &[[v128; NV]]) -> [[v128; NV]; 4] {
    std::array::from_fn(|s| {
        std::array::from_fn(|j| {
            f32x4(
                f32x4_extract_lane::<0>(rows[s % 4][j]),
                f32x4_extract_lane::<1>(rows[(1 + s) % 4][j]),
                f32x4_extract_lane::<2>(rows[(2 + s) % 4][j]),
                f32x4_extract_lane::<3>(rows[(3 + s) % 4][j]),
            )
        })
    })
}

/// One k step of a pass: the four A values of the pass (`a`), their rotations, times the
/// two B vectors (`b`).
#[inline(always)]
unsafe fn multiply_add(diagonals: &mut [[v128; NV]; 4], a: *const v128, b: *const v128) {
    let (a0, b) = unsafe { (v128_load(a), [v128_load(b), v128_load(b.add(1))]) };
    let rotations = [
        a0,
        i32x4_shuffle::<1, 2, 3, 0>(a0, a0),
        i32x4_shuffle::<2, 3, 0, 1>(a0, a0),
        i32x4_shuffle::<3, 0, 1, 2>(a0, a0),
    ];
    for (diagonal, a) in diagonals.iter_mut().zip(rotations) {
        for (d, b) in diagonal.iter_mut().zip(b) {
            *d = f32x4_add(*d, f32x4_mul(a, b));
        }
    }
}
