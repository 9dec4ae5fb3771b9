//! Tree ensembles (sklearn trees, forests, GradientBoosting, HistGradientBoosting;
//! XGBoost/LightGBM layouts), loaded into one flat node array per ensemble and evaluated
//! tree-major over a batch: every row through tree t, then tree t+1, so a tree's nodes
//! stay in cache while the rows stream past. Inputs are cast once per row (to f32 and
//! back when the library compares float32 inputs with f64 thresholds, as sklearn does).
//!
//! Where the library compares float32 inputs, thresholds are stored as f32 too, rounded
//! so that every f32 input goes the same way as against the f64 threshold (see
//! `Threshold`): nodes shrink from 24 to 16 bytes and rows to half, for the same leaves.
//!
//! A walk is a chain of dependent loads and compares, so walks are interleaved: `LANES`
//! rows go through one tree in lockstep (or one row through `LANES` trees), giving the
//! CPU independent chains to overlap, and the child is picked by index rather than by a
//! branch the predictor would miss half the time.

use serde_json::Value;

use super::format::{Comparison, FloatKind, ModelSpec, TreeSpec};

/// An internal node. A child `c >= 0` is a node index in `nodes`; `c < 0` is a leaf whose
/// values start at `leaf_values[!c]`.
#[derive(Debug, Clone, Copy)]
struct Node<T> {
    threshold: T,
    /// Feature index in the low 29 bits; `DEFAULT_LEFT` and the missing mode above.
    feature: u32,
    /// `[left, right]`.
    children: [i32; 2],
}

/// Walks interleaved at once.
const LANES: usize = 8;

const FEATURE_MASK: u32 = (1 << 29) - 1;
const DEFAULT_LEFT: u32 = 1 << 31;
const MODE_SHIFT: u32 = 29;
/// models/README.md `missing`: 0 NaN → default side; 1 NaN or |x| <= 1e-35 → default
/// side (LightGBM Zero); 2 NaN compared as 0.0 (LightGBM None).
const MODE_ZERO: u32 = 1;
const MODE_NONE_AS_ZERO: u32 = 2;
/// LightGBM's kZeroThreshold: the float 1e-35f widened to f64 (models/README.md).
const ZERO_THRESHOLD: f64 = 1.0000000180025095e-35;

#[derive(Debug, Clone, Copy)]
struct Tree {
    /// Root: a node index, or `!offset` for a single-leaf tree.
    root: i32,
    /// The output scalar leaves add to; `None` for vector leaves.
    output: Option<u32>,
}

/// The nodes of every tree, with thresholds in the precision the comparisons need.
#[derive(Debug, Clone)]
enum Nodes {
    /// Inputs compared as f64 (LightGBM, HistGradientBoosting).
    F64(Vec<Node<f64>>),
    /// Inputs cast to f32 first (sklearn trees, XGBoost): f32 thresholds decide the same.
    F32(Vec<Node<f32>>),
}

#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    nodes: Nodes,
    leaf_values: Vec<f64>,
    trees: Vec<Tree>,
    width: usize,
    outputs: usize,
    cast_f32: bool,
    lt: bool,
    sum_f32: bool,
    /// Every node uses missing mode 0: the branch-free decision applies.
    plain: bool,
    base: Vec<f64>,
    scale: f64,
}

impl TreeEnsemble {
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, String> {
        let trees = spec.trees.as_ref().ok_or("`trees` is missing")?;
        let base = spec.base.clone().ok_or("`base` is missing")?;
        let scale = spec.scale.ok_or("`scale` is missing")?;
        let cast = spec.input_cast.ok_or("`input_cast` is missing")?;
        let comparison = spec.comparison.ok_or("`comparison` is missing")?;
        let accumulate = spec.accumulate.ok_or("`accumulate` is missing")?;
        if base.len() != spec.outputs {
            return Err(format!(
                "`base` has {} values; outputs is {}",
                base.len(),
                spec.outputs
            ));
        }
        if !scale.is_finite() || base.iter().any(|b| !b.is_finite()) {
            return Err("`scale` and `base` must be finite".into());
        }
        if spec.input_width > FEATURE_MASK as usize {
            return Err("input_width is too large for a tree ensemble".into());
        }
        let mut nodes = Vec::new();
        let mut e = TreeEnsemble {
            nodes: Nodes::F64(Vec::new()),
            leaf_values: Vec::new(),
            trees: Vec::with_capacity(trees.len()),
            width: spec.input_width,
            outputs: spec.outputs,
            cast_f32: cast == FloatKind::Float32,
            lt: comparison == Comparison::Lt,
            sum_f32: accumulate == FloatKind::Float32,
            plain: true,
            base,
            scale,
        };
        for (t, tree) in trees.iter().enumerate() {
            e.add_tree(tree, &mut nodes)
                .map_err(|p| format!("`trees[{t}]`: {p}"))?;
        }
        e.nodes = if e.cast_f32 {
            let narrow = |t: f64| {
                if e.lt {
                    lt_threshold(t)
                } else {
                    le_threshold(t)
                }
            };
            Nodes::F32(
                nodes
                    .iter()
                    .map(|n| Node {
                        threshold: narrow(n.threshold),
                        feature: n.feature,
                        children: n.children,
                    })
                    .collect(),
            )
        } else {
            Nodes::F64(nodes)
        };
        Ok(e)
    }

    /// Adds one tree: its nodes to `nodes` (f64 thresholds, as the spec has them), its
    /// leaves and root to `self`.
    fn add_tree(&mut self, t: &TreeSpec, nodes: &mut Vec<Node<f64>>) -> Result<(), String> {
        let n = t.left.len();
        if n == 0 {
            return Err("no nodes".into());
        }
        let lens = [
            t.right.len(),
            t.feature.len(),
            t.threshold.len(),
            t.default_left.len(),
            t.value.len(),
            t.missing.as_ref().map_or(n, Vec::len),
        ];
        if lens.iter().any(|l| *l != n) {
            return Err(format!("node arrays differ in length ({n} left, {lens:?})"));
        }
        let output = match t.output {
            Some(k) if k < self.outputs => Some(k as u32),
            Some(k) => return Err(format!("output {k} >= outputs {}", self.outputs)),
            None => None,
        };
        let leaf_len = if output.is_some() { 1 } else { self.outputs };
        // Tree node ids → this ensemble's child references, assigned in node order.
        let mut refs = Vec::with_capacity(n);
        let mut next_node = nodes.len();
        for (i, (left, value)) in t.left.iter().zip(&t.value).enumerate() {
            if *left == -1 {
                let offset = self.leaf_values.len();
                self.leaf_values
                    .extend(leaf(value, leaf_len).map_err(|p| format!("value[{i}]: {p}"))?);
                refs.push(!i32::try_from(offset).map_err(|_| "too many leaves")?);
            } else {
                refs.push(i32::try_from(next_node).map_err(|_| "too many nodes")?);
                next_node += 1;
            }
        }
        for i in (0..n).filter(|i| t.left[*i] != -1) {
            let bad = |p: &str| format!("node {i}: {p}");
            // Children after their parent (true of every library's layout) is what
            // guarantees evaluation terminates.
            let child = |c: i64| match usize::try_from(c) {
                Ok(c) if c > i && c < n => Ok(refs[c]),
                _ => Err(bad(&format!("child {c} is not a later node"))),
            };
            let feature = t.feature[i]
                .and_then(|f| usize::try_from(f).ok())
                .filter(|f| *f < self.width)
                .ok_or_else(|| bad("feature is not an input column"))?;
            let threshold = t.threshold[i]
                .filter(|x| !x.is_nan())
                .ok_or_else(|| bad("threshold is missing or NaN"))?;
            let default_left = match &t.default_left[i] {
                Value::Bool(b) => *b,
                v => match v.as_u64() {
                    Some(0) => false,
                    Some(1) => true,
                    _ => return Err(bad("default_left must be a boolean or 0/1")),
                },
            };
            let mode = u32::from(t.missing.as_ref().map_or(0, |m| m[i]));
            if mode > MODE_NONE_AS_ZERO {
                return Err(bad("missing must be 0, 1 or 2"));
            }
            self.plain &= mode == 0;
            nodes.push(Node {
                threshold,
                feature: feature as u32
                    | (mode << MODE_SHIFT)
                    | if default_left { DEFAULT_LEFT } else { 0 },
                children: [child(t.left[i])?, child(t.right[i])?],
            });
        }
        self.trees.push(Tree {
            root: refs[0],
            output,
        });
        Ok(())
    }

    /// Raw outputs of `rows` rows (row-major `[rows, width]` in, `[rows, outputs]` out).
    pub fn raw(&self, input: &[f64], rows: usize, out: &mut [f64]) {
        match &self.nodes {
            Nodes::F64(nodes) => self.raw_in(nodes, input, rows, out),
            Nodes::F32(nodes) => self.raw_in(nodes, input, rows, out),
        }
    }

    fn raw_in<T: Threshold>(&self, nodes: &[Node<T>], input: &[f64], rows: usize, out: &mut [f64]) {
        let x: Vec<T> = input.iter().map(|v| T::from_input(*v)).collect();
        match (self.lt, self.plain) {
            (false, true) => self.sum::<T, false, true>(nodes, &x, rows, out),
            (false, false) => self.sum::<T, false, false>(nodes, &x, rows, out),
            (true, true) => self.sum::<T, true, true>(nodes, &x, rows, out),
            (true, false) => self.sum::<T, true, false>(nodes, &x, rows, out),
        }
    }

    fn sum<T: Threshold, const LT: bool, const PLAIN: bool>(
        &self,
        nodes: &[Node<T>],
        x: &[T],
        rows: usize,
        out: &mut [f64],
    ) {
        let k = self.outputs;
        if self.sum_f32 {
            let mut acc = vec![0.0f32; rows * k];
            self.accumulate::<T, LT, PLAIN, f32>(nodes, x, rows, &mut acc);
            for (o, a) in out.iter_mut().zip(&acc) {
                *o = f64::from(*a);
            }
        } else {
            out.fill(0.0);
            self.accumulate::<T, LT, PLAIN, f64>(nodes, x, rows, out);
        }
        for row in out.chunks_exact_mut(k) {
            for (o, b) in row.iter_mut().zip(&self.base) {
                *o = b + self.scale * *o;
            }
        }
    }

    /// Adds every tree's leaves to `acc` (`[rows, outputs]`). Trees are visited in
    /// order for every row, so sums (and their rounding) are the same in a batch and alone.
    fn accumulate<T: Threshold, const LT: bool, const PLAIN: bool, A: Accumulator>(
        &self,
        nodes: &[Node<T>],
        x: &[T],
        rows: usize,
        acc: &mut [A],
    ) {
        let (w, k) = (self.width, self.outputs);
        let row = |r: usize| &x[r * w..(r + 1) * w];
        let full = rows - rows % LANES;
        // Tree-major over groups of LANES rows: the tree stays in cache, the rows stream.
        for tree in &self.trees {
            for first in (0..full).step_by(LANES) {
                let leaves = walk::<T, LT, PLAIN, LANES>(
                    nodes,
                    [tree.root; LANES],
                    std::array::from_fn(|j| row(first + j)),
                );
                for (j, leaf) in leaves.into_iter().enumerate() {
                    self.add(tree, leaf, &mut acc[(first + j) * k..(first + j + 1) * k]);
                }
            }
        }
        // The rest one at a time, LANES trees at once.
        for r in full..rows {
            let sums = &mut acc[r * k..(r + 1) * k];
            let mut groups = self.trees.chunks_exact(LANES);
            for group in groups.by_ref() {
                let leaves = walk::<T, LT, PLAIN, LANES>(
                    nodes,
                    std::array::from_fn(|j| group[j].root),
                    [row(r); LANES],
                );
                for (tree, leaf) in group.iter().zip(leaves) {
                    self.add(tree, leaf, sums);
                }
            }
            for tree in groups.remainder() {
                let [leaf] = walk::<T, LT, PLAIN, 1>(nodes, [tree.root], [row(r)]);
                self.add(tree, leaf, sums);
            }
        }
    }

    #[inline(always)]
    fn add<A: Accumulator>(&self, tree: &Tree, leaf: usize, sums: &mut [A]) {
        match tree.output {
            Some(o) => sums[o as usize].add(self.leaf_values[leaf]),
            None => {
                for (s, v) in sums.iter_mut().zip(&self.leaf_values[leaf..]) {
                    s.add(*v);
                }
            }
        }
    }
}

/// `N` walks in lockstep from `roots` over `rows`; returns each leaf's offset in
/// `leaf_values`.
#[inline(always)]
fn walk<T: Threshold, const LT: bool, const PLAIN: bool, const N: usize>(
    nodes: &[Node<T>],
    roots: [i32; N],
    rows: [&[T]; N],
) -> [usize; N] {
    let mut c = roots;
    loop {
        let mut active = false;
        for j in 0..N {
            if c[j] >= 0 {
                let n = &nodes[c[j] as usize];
                let right = !go_left::<T, LT, PLAIN>(n, rows[j]);
                c[j] = n.children[usize::from(right)];
                active = true;
            }
        }
        if !active {
            return c.map(|c| !c as usize);
        }
    }
}

#[inline(always)]
fn go_left<T: Threshold, const LT: bool, const PLAIN: bool>(n: &Node<T>, row: &[T]) -> bool {
    let mut v = row[(n.feature & FEATURE_MASK) as usize];
    let default_left = n.feature & DEFAULT_LEFT != 0;
    if PLAIN {
        // NaN compares false both ways, so only the default side needs adding.
        (if LT {
            v < n.threshold
        } else {
            v <= n.threshold
        }) | (v.is_nan() & default_left)
    } else {
        let mode = (n.feature >> MODE_SHIFT) & 3;
        if mode == MODE_NONE_AS_ZERO && v.is_nan() {
            v = T::ZERO;
        }
        if v.is_nan() || (mode == MODE_ZERO && v.abs() <= T::ZERO_THRESHOLD) {
            default_left
        } else if LT {
            v < n.threshold
        } else {
            v <= n.threshold
        }
    }
}

/// A threshold's (and an input's) precision. With f32, a threshold `t` of the spec is
/// stored as the f32 `s` for which every f32 input `x` decides alike: `x <= t` ⟺
/// `x <= s` with `s` the largest f32 ≤ t, and `x < t` ⟺ `x < s` with `s` the smallest
/// f32 ≥ t (no f32 lies strictly between those two, and infinities round to the
/// extreme finite values or stay infinite accordingly).
trait Threshold: Copy + PartialOrd {
    const ZERO: Self;
    /// LightGBM's kZeroThreshold (exactly 1e-35f in both precisions).
    const ZERO_THRESHOLD: Self;
    fn from_input(x: f64) -> Self;
    fn is_nan(self) -> bool;
    fn abs(self) -> Self;
}

impl Threshold for f64 {
    const ZERO: f64 = 0.0;
    const ZERO_THRESHOLD: f64 = ZERO_THRESHOLD;
    #[inline(always)]
    fn from_input(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
}

impl Threshold for f32 {
    const ZERO: f32 = 0.0;
    const ZERO_THRESHOLD: f32 = 1e-35;
    #[inline(always)]
    fn from_input(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
}

/// The largest f32 ≤ `t`: the f32 threshold for `<=`.
fn le_threshold(t: f64) -> f32 {
    let s = t as f32;
    if f64::from(s) > t { s.next_down() } else { s }
}

/// The smallest f32 ≥ `t`: the f32 threshold for `<`.
fn lt_threshold(t: f64) -> f32 {
    let s = t as f32;
    if f64::from(s) < t { s.next_up() } else { s }
}

/// A leaf value: a number for scalar leaves, `len` numbers for vector leaves.
fn leaf(v: &Value, len: usize) -> Result<Vec<f64>, String> {
    let number = |v: &Value| {
        v.as_f64()
            .ok_or_else(|| format!("expected a finite number, got {v}"))
    };
    match v {
        Value::Array(xs) if xs.len() == len && len > 1 => xs.iter().map(number).collect(),
        Value::Array(xs) if xs.len() == 1 && len == 1 => Ok(vec![number(&xs[0])?]),
        v if len == 1 => Ok(vec![number(v)?]),
        _ => Err(format!("expected {len} numbers")),
    }
}

/// The sum's precision: f64, or f32 where the library sums leaves in f32 (XGBoost).
trait Accumulator: Copy {
    fn add(&mut self, v: f64);
}

impl Accumulator for f64 {
    #[inline(always)]
    fn add(&mut self, v: f64) {
        *self += v;
    }
}

impl Accumulator for f32 {
    #[inline(always)]
    fn add(&mut self, v: f64) {
        *self += v as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One split on column 0 at `threshold`; leaves 10 (left) and 20 (right).
    fn stump(threshold: f64, extra: serde_json::Value) -> TreeEnsemble {
        let mut spec = json!({"format": "mlfn-estimator", "format_version": 1,
            "estimator": "DecisionTreeRegressor", "kind": "tree_ensemble", "input_width": 1,
            "outputs": 1, "link": "identity", "input_cast": "float32", "comparison": "le",
            "accumulate": "float64", "base": [0.0], "scale": 1.0,
            "trees": [{"output": 0, "feature": [0, -2, -2], "threshold": [threshold, -2.0, -2.0],
                       "left": [1, -1, -1], "right": [2, -1, -1], "default_left": [true, false, false],
                       "value": [0.0, 10.0, 20.0]}]});
        for (k, v) in extra.as_object().unwrap() {
            match k.as_str() {
                "missing" | "default_left" => spec["trees"][0][k] = v.clone(),
                _ => spec[k] = v.clone(),
            }
        }
        TreeEnsemble::from_spec(&serde_json::from_value(spec).unwrap()).unwrap()
    }

    fn eval(t: &TreeEnsemble, xs: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; xs.len()];
        t.raw(xs, xs.len(), &mut out);
        out
    }

    #[test]
    fn le_and_lt_at_the_threshold() {
        assert_eq!(eval(&stump(1.5, json!({})), &[1.5, 1.6]), [10.0, 20.0]);
        assert_eq!(
            eval(&stump(1.5, json!({"comparison": "lt"})), &[1.5, 1.4]),
            [20.0, 10.0]
        );
    }

    /// sklearn casts X to float32 and compares with the f64 threshold: 0.1 as f32 is
    /// 0.100000001490116…, above the f64 threshold 0.1, so it goes right; uncast, left.
    #[test]
    fn float32_inputs_against_f64_thresholds() {
        assert!(f64::from(0.1f32) > 0.1);
        assert_eq!(eval(&stump(0.1, json!({})), &[0.1]), [20.0]);
        assert_eq!(
            eval(&stump(0.1, json!({"input_cast": "float64"})), &[0.1]),
            [10.0]
        );
    }

    #[test]
    fn missing_values_follow_the_node_mode() {
        let nan = f64::NAN;
        // mode 0: NaN → the default side.
        assert_eq!(eval(&stump(0.5, json!({})), &[nan]), [10.0]);
        let right = json!({"default_left": [false, false, false]});
        assert_eq!(eval(&stump(0.5, right), &[nan]), [20.0]);
        // mode 1 (LightGBM Zero): zero too goes to the default side (right here).
        assert_eq!(ZERO_THRESHOLD, f64::from(1e-35f32));
        let zero = json!({"missing": [1, 0, 0], "default_left": [false, false, false]});
        assert_eq!(
            eval(&stump(0.5, zero), &[0.0, 1e-36, nan, 0.25]),
            [20.0, 20.0, 20.0, 10.0]
        );
        // mode 2 (LightGBM None): NaN is compared as 0.0.
        let none = json!({"missing": [2, 0, 0], "default_left": [false, false, false]});
        assert_eq!(eval(&stump(0.5, none.clone()), &[nan]), [10.0]);
        assert_eq!(eval(&stump(-0.5, none), &[nan]), [20.0]);
    }

    #[test]
    fn scale_base_and_float32_accumulation() {
        let t = stump(0.5, json!({"base": [1.0], "scale": 0.5}));
        assert_eq!(eval(&t, &[0.0, 1.0]), [6.0, 11.0]);
        // 0.1 summed in f32 is 0.1f32, not 0.1.
        let mut spec = json!({"format": "mlfn-estimator", "format_version": 1, "estimator": "XGBRegressor",
            "kind": "tree_ensemble", "input_width": 1, "outputs": 1, "link": "identity",
            "input_cast": "float32", "comparison": "lt", "accumulate": "float32", "base": [0.0], "scale": 1.0,
            "trees": [{"output": 0, "feature": [null], "threshold": [null], "left": [-1], "right": [-1],
                       "default_left": [0], "value": [0.1]}]});
        let t = TreeEnsemble::from_spec(&serde_json::from_value(spec.clone()).unwrap()).unwrap();
        assert_eq!(eval(&t, &[3.0]), [f64::from(0.1f32)]);
        spec["accumulate"] = json!("float64");
        let t = TreeEnsemble::from_spec(&serde_json::from_value(spec).unwrap()).unwrap();
        assert_eq!(eval(&t, &[3.0]), [0.1]);
    }

    /// An f32 threshold decides every f32 input as the f64 threshold does: thresholds at,
    /// between and beyond f32 values, inputs on both sides of each.
    #[test]
    fn f32_thresholds_decide_as_f64_ones_for_f32_inputs() {
        let mut thresholds = vec![
            0.0,
            -0.0,
            0.1,
            -0.1,
            1.5,
            1e-40,
            -1e-40,
            1e-46,
            3.4028235e38,
            3.4028236e38,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        let mut state = 0x9e3779b97f4a7c15u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let t = f64::from_bits(state);
            if t.is_finite() && t.abs() < 1e39 {
                thresholds.push(t);
            }
            let f = f32::from_bits(state as u32);
            if f.is_finite() {
                thresholds.extend([f64::from(f), f64::from(f) * (1.0 + 1e-12)]);
            }
        }
        for t in thresholds {
            let near = t as f32;
            let inputs = [
                near,
                near.next_up(),
                near.next_down(),
                0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MAX,
                f32::MIN,
            ];
            for x in inputs {
                let wide = f64::from(x);
                assert_eq!(wide <= t, x <= le_threshold(t), "{x} <= {t}");
                assert_eq!(wide < t, x < lt_threshold(t), "{x} < {t}");
            }
        }
    }

    #[test]
    fn batches_equal_rows_one_by_one() {
        let t = stump(0.3, json!({"default_left": [false, false, false]}));
        let xs = [0.1, 0.3, 0.30000001, f64::NAN, -4.0, 9.0];
        let batch = eval(&t, &xs);
        for (x, b) in xs.iter().zip(&batch) {
            assert_eq!(eval(&t, &[*x]), [*b]);
        }
    }
}
