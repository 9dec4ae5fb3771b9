//! One-hot times a constant matrix, rewritten as a row lookup.
//!
//! Exporters of embedding layers (jax2tf's `one_hot` then `Dense`, as in magika) write
//! `cast(eq(unsqueeze(x), [0, 1, …, n-1]), f32) · W`: a dense product with a one-hot
//! matrix, which tract runs as a GEMM (magika: 2048 × 257 × 64, 9% of its flops, plus the
//! 2 MB one-hot tensor built and packed on every run). Row `x` of `W` is the same answer
//! bit for bit, with two exceptions: the sign of a zero weight (the GEMM sums one
//! product `1 · w` and `n - 1` products `0 · w'`, and adding zeros to `w` leaves it as it
//! is, but may turn `-0` into `+0`), and subnormal weights, which tract's native kernels
//! flush to zero and the lookup keeps. Magika's `W` has neither (no zero, no subnormal).
//!
//! The lookup clamps `x` to `[-1, n]` and gathers from `W` with one row of zeros added at
//! index `n`, which index `-1` also names (tract's `Gather` counts negative indices from
//! the end): every `x` outside `0..n` gets the zero row, as the one-hot product gives.

use tract_nnef::internal::*;
use tract_nnef::tract_core::ops::array::Gather;
use tract_nnef::tract_core::ops::binary::TypedBinOp;
use tract_nnef::tract_core::ops::cast::Cast;
use tract_nnef::tract_core::ops::einsum::EinSum;
use tract_nnef::tract_core::ops::konst::Const;
use tract_nnef::tract_core::ops::logic::CompEq;
use tract_nnef::tract_core::ops::math::{max, min};

/// Rewrites every one-hot product of `model` as a lookup; returns how many.
pub(super) fn rewrite(model: &mut TypedModel) -> TractResult<usize> {
    let mut done = 0;
    for id in model.eval_order()? {
        let Some(found) = one_hot_product(model, id)? else {
            continue;
        };
        let patch = lookup(model, id, found)?;
        patch.apply(model)?;
        done += 1;
    }
    Ok(done)
}

/// What a one-hot product is made of.
struct OneHotProduct {
    /// The integer values, with a last axis of 1 (broadcast against the classes).
    indices: OutletId,
    /// The classes `n` (`W`'s rows).
    classes: usize,
    /// `W`'s columns `d`.
    width: usize,
    /// `W`'s values, row-major.
    weights: Vec<f32>,
}

/// `Some` when node `id` is `einsum(cast(eq(x, 0..n), f32), W)` with `x` of shape
/// `[.., 1]`, `W` a constant `[1, n, d]` or `[n, d]`, and the einsum a plain product
/// over the classes' axis.
fn one_hot_product(model: &TypedModel, id: usize) -> TractResult<Option<OneHotProduct>> {
    let node = model.node(id);
    let Some(einsum) = node.op_as::<EinSum>() else {
        return Ok(None);
    };
    if node.inputs.len() != 2
        || einsum.q_params.is_some()
        || einsum.operating_dt != f32::datum_type()
    {
        return Ok(None);
    }
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let Some(weights) = model.node(b.node).op_as::<Const>() else {
        return Ok(None);
    };
    let cast = model.node(a.node);
    if cast
        .op_as::<Cast>()
        .is_none_or(|c| c.to != f32::datum_type())
    {
        return Ok(None);
    }
    let eq = model.node(cast.inputs[0].node);
    let Some(bin) = eq.op_as::<TypedBinOp>() else {
        return Ok(None);
    };
    if !bin.0.is::<CompEq>() || eq.inputs.len() != 2 {
        return Ok(None);
    }
    // Either side of the comparison may be the classes.
    let (indices, classes) = match (
        model.node(eq.inputs[0].node).op_as::<Const>(),
        model.node(eq.inputs[1].node).op_as::<Const>(),
    ) {
        (None, Some(c)) => (eq.inputs[0], c),
        (Some(c), None) => (eq.inputs[1], c),
        _ => return Ok(None),
    };
    let Some(classes) = arange_len(classes.val())? else {
        return Ok(None);
    };
    let x = model.outlet_fact(indices)?;
    let rank = x.rank();
    if rank < 2 || x.shape[rank - 1] != 1.to_dim() || !x.datum_type.is_integer() {
        return Ok(None);
    }
    let w = weights.val();
    if w.datum_type() != f32::datum_type() {
        return Ok(None);
    }
    let d = match *w.shape() {
        [1, n, d] | [n, d] if n == classes => d,
        _ => return Ok(None),
    };
    // The einsum must contract A's last axis (the classes) with W's rows and keep every
    // other axis of A in order, then W's columns: A [.., n] · W [n, d] → [.., d].
    let a_fact = model.outlet_fact(a)?;
    let out = model.outlet_fact(OutletId::new(id, 0))?;
    let mut expected: TVec<TDim> = a_fact.shape.iter().take(rank - 1).cloned().collect();
    expected.push(d.to_dim());
    if out.shape.to_tvec() != expected || !is_plain_product(einsum, rank, w.rank()) {
        return Ok(None);
    }
    Ok(Some(OneHotProduct {
        indices,
        classes,
        width: d,
        weights: w.to_plain_array_view::<f32>()?.iter().copied().collect(),
    }))
}

/// `Some(n)` when `t` holds `0, 1, …, n-1` along its last axis, every other axis 1.
fn arange_len(t: &Tensor) -> TractResult<Option<usize>> {
    let shape = t.shape();
    let Some(&n) = shape.last() else {
        return Ok(None);
    };
    if !t.datum_type().is_integer() || shape.iter().rev().skip(1).any(|&a| a != 1) {
        return Ok(None);
    }
    let values = t.cast_to::<i64>()?;
    let values = values.to_plain_array_view::<i64>()?;
    Ok(values
        .iter()
        .enumerate()
        .all(|(i, &v)| v == i as i64)
        .then_some(n))
}

/// The einsum multiplies A `[a0, …, k]` by B `[(1,) k, n]` into `[a0, …, n]`: in
/// tract's notation `P k, (p0) k n -> P n`, with `k` and `n` axes of their own and B's
/// leading axis, if any, A's first.
fn is_plain_product(einsum: &EinSum, a_rank: usize, b_rank: usize) -> bool {
    let (inputs, outputs) = einsum.axes.to_strs();
    let [a, b] = &inputs[..] else { return false };
    let [c] = &outputs[..] else { return false };
    let (a, b, c): (Vec<char>, Vec<char>, Vec<char>) = (
        a.chars().collect(),
        b.chars().collect(),
        c.chars().collect(),
    );
    if a.len() != a_rank || b.len() != b_rank || c.len() != a_rank {
        return false;
    }
    let (prefix, k) = (&a[..a_rank - 1], a[a_rank - 1]);
    let n = b[b_rank - 1];
    let batch_ok = b_rank == 2 || (b_rank == 3 && b[0] == a[0]);
    batch_ok
        && b[b_rank - 2] == k
        && k != n
        && !prefix.contains(&k)
        && !prefix.contains(&n)
        && c[..a_rank - 1] == *prefix
        && c[a_rank - 1] == n
}

/// The patch: clamp, cast to i64, gather, drop the unit axis, in place of the einsum.
fn lookup(model: &TypedModel, id: usize, found: OneHotProduct) -> TractResult<TypedModelPatch> {
    let name = model.node(id).name.clone();
    let mut patch = TypedModelPatch::default();
    let x = patch.tap_model(model, found.indices)?;
    let fact = model.outlet_fact(found.indices)?;
    let rank = fact.rank();
    let bound = |v: i64| -> TractResult<Tensor> {
        tensor0(v)
            .cast_to_dt(fact.datum_type)?
            .into_owned()
            .broadcast_into_rank(rank)
    };
    let low = patch.add_const(format!("{name}.one_hot_low"), bound(-1)?)?;
    let high = patch.add_const(format!("{name}.one_hot_high"), bound(found.classes as i64)?)?;
    let x = patch.wire_node(format!("{name}.one_hot_max"), max(), &[x, low])?[0];
    let x = patch.wire_node(format!("{name}.one_hot_min"), min(), &[x, high])?[0];
    let x = patch.wire_node(
        format!("{name}.one_hot_i64"),
        Cast::new(i64::datum_type()),
        &[x],
    )?[0];
    let (n, d) = (found.classes, found.width);
    let mut rows = found.weights;
    rows.resize((n + 1) * d, 0.0);
    let table = Tensor::from_shape(&[n + 1, d], &rows)?;
    let table = patch.add_const(format!("{name}.one_hot_table"), table)?;
    let rows = patch.wire_node(
        format!("{name}.one_hot_gather"),
        Gather::new(0),
        &[table, x],
    )?[0];
    let out = patch.wire_node(
        format!("{name}.one_hot_rows"),
        AxisOp::Rm(rank - 1),
        &[rows],
    )?[0];
    patch.shunt_outside(model, OutletId::new(id, 0), out)?;
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use tract_nnef::prelude::{IntoRunnable, tvec};
    use tract_nnef::tract_core::ops::logic::comp_eq;

    use super::*;

    const CLASSES: usize = 5;
    const WIDTH: usize = 3;
    /// `W` with signed zeros, a subnormal, extremes and values whose sums would round.
    const W: [f32; CLASSES * WIDTH] = [
        -0.0,
        1e-40,
        0.1,
        1.0 / 3.0,
        -2.5e38,
        7.0,
        0.0,
        -0.2,
        3e-8,
        1e10,
        -1e-10,
        0.3,
        f32::MIN_POSITIVE,
        5.5,
        -9.75,
    ];

    /// `cast(eq(unsqueeze(x), classes), f32) · w` as jax2tf exports it, `w` of shape
    /// `[1, classes.len(), w.len() / classes.len()]`.
    fn one_hot_model(len: usize, classes: &[i32], w: &[f32]) -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let x = model.add_source("x", i32::fact([1, len]))?;
        let x = model.wire_node("unsqueeze", AxisOp::Add(2), &[x])?[0];
        let n = classes.len();
        let classes = model.add_const("classes", Tensor::from_shape(&[1, 1, n], classes)?)?;
        let eq = model.wire_node("eq", TypedBinOp(comp_eq(), None), &[x, classes])?[0];
        let one_hot = model.wire_node("cast", Cast::new(f32::datum_type()), &[eq])?[0];
        let w = model.add_const("w", Tensor::from_shape(&[1, n, w.len() / n], w)?)?;
        let product = model.wire_node(
            "product",
            EinSum::new("abk,akn->abn".parse()?, f32::datum_type()),
            &[one_hot, w],
        )?[0];
        model.select_output_outlets(&[product])?;
        Ok(model)
    }

    fn run(model: TypedModel, x: &[i32]) -> TractResult<Vec<u32>> {
        let out = model
            .into_runnable()?
            .run(tvec!(Tensor::from_shape(&[1, x.len()], x)?.into()))?;
        Ok(out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .map(|v| v.to_bits())
            .collect())
    }

    #[test]
    fn the_lookup_answers_the_rows_of_w_and_the_one_hot_product_in_and_out_of_range()
    -> TractResult<()> {
        // In range, both ends, and outside on either side (the product's zero rows).
        let x = [0, 4, 2, 1, 3, -1, 5, -1000, 1000, i32::MIN, i32::MAX, 4];
        let classes: Vec<i32> = (0..CLASSES as i32).collect();
        let before = one_hot_model(x.len(), &classes, &W)?.into_decluttered()?;
        let mut after = before.clone();
        assert_eq!(rewrite(&mut after)?, 1);
        let after = after.into_decluttered()?;
        assert!(
            after.nodes().iter().all(|n| !n.op_is::<EinSum>()),
            "{after}"
        );
        // The oracle: row x of W, or zeros outside 0..n, bit for bit.
        let expected: Vec<u32> = x
            .iter()
            .flat_map(|&i| {
                (0..WIDTH).map(move |j| match usize::try_from(i) {
                    Ok(i) if i < CLASSES => W[i * WIDTH + j].to_bits(),
                    _ => 0,
                })
            })
            .collect();
        assert_eq!(run(after.clone(), &x)?, expected);
        assert_eq!(
            run(after.into_optimized()?, &x)?,
            expected,
            "optimised, as a request runs it"
        );
        // The product itself agrees up to the sign of zero and its flushed subnormals.
        let normalise = |bits: &[u32]| -> Vec<u32> {
            bits.iter()
                .map(|&b| if f32::from_bits(b).is_normal() { b } else { 0 })
                .collect()
        };
        assert_eq!(normalise(&run(before, &x)?), normalise(&expected));
        Ok(())
    }

    #[test]
    fn a_product_with_anything_but_a_one_hot_is_left_alone() -> TractResult<()> {
        // The classes start at 1: not 0..n.
        let model = one_hot_model(4, &[1, 2, 3], &[1., 2., 3., 4., 5., 6.])?;
        let mut model = model.into_decluttered()?;
        assert_eq!(rewrite(&mut model)?, 0);
        Ok(())
    }
}
