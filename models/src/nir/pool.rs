//! NIR `SumPool2d` and `AvgPool2d` folded into the weighted layer next to them at import time.
//! Pooling is a linear map, so a pool and a Linear or Conv2d compose into one Linear or Conv2d,
//! which every engine runs (the engines themselves pool by max only). The folded layer reads the
//! unpooled map: its operation counts are those of the folded layer, not of pool + layer.
//!
//! A pool with kernel `kh×kw`, stride `sh×sw` and no padding maps a `[C, H, W]` map `X` to
//! `P[c, i, j] = g·Σ_{a<kh, b<kw} X[c, sh·i + a, sw·j + b]` for `i < Hp = ⌊(H − kh)/sh⌋ + 1`,
//! `j < Wp = ⌊(W − kw)/sw⌋ + 1`, with `g = 1` (sum) or `g = 1/(kh·kw)` (average, rounded to
//! f32 once); rows and columns after the last whole window are dropped.
//!
//! * **Forward into a Linear** after the pool (a Flatten between), weight `W[o, (c, i, j)]`:
//!   `W'[o, (c, y, x)] = Σ g·W[o, (c, i, j)]` over the windows `(i, j)` that hold `(y, x)`
//!   (added in ascending `(i, j)`; exactly one term, `g·W`, when the stride is the kernel; `0`
//!   for dropped rows and columns); the bias is unchanged.
//! * **Forward into a Conv2d** (kernel `K`, stride `S`, padding `P`) after a pool whose kernel
//!   is square, `k×k`, and equal to its stride: output `j` of the pooled conv reads pooled rows
//!   `S·j − P + t` (`t < K`), i.e. unpooled rows `k·(S·j − P + t) + a` (`a < k`) = `k·S·j − k·P + u`
//!   with `u = k·t + a < k·K`. So it is the conv with kernel `k·K`, stride `k·S`, padding `k·P` and
//!   `W'[o, c, u, v] = g·W[o, c, ⌊u/k⌋, ⌊v/k⌋]`, with the same output size. Exact unless a window
//!   of the pooled conv reaches the padding after the last pooled row (column) while the pool
//!   dropped rows (`k ∤ H`): the unpooled conv would read those rows where the pooled one reads
//!   zeros — refused.
//! * **Backward into the Conv2d right before the pool** (kernel `K`, stride `S`, padding `P`; the
//!   pool's kernel square, `k×k`, and equal to its stride): pooled output `i` sums conv outputs
//!   `k·i + a`, which read input rows `S·(k·i + a) − P + t` = `k·S·i − P + u` with `u = S·a + t`.
//!   So it is the conv with kernel `(k−1)·S + K`, stride `k·S`, the same padding,
//!   `W'[o, c, u, v] = g·Σ_{a, b < k} W[o, c, u − S·a, v − S·b]` (the terms inside `W`, added in
//!   ascending `(a, b)`, then times `g`) and bias `b·k²` (sum) or `b` (average), with the same
//!   output size (`⌊H_conv/k⌋`).
//!
//! Anything else — a pool with padding, before a neuron or the Output, a non-square pool or one
//! whose stride differs from its kernel next to a convolution — is refused naming the node and
//! field.

use joulebench_nir::{NirNode, Pool};

use crate::spec::{Layer, Op};
use crate::tensor::Tensor;
use crate::weights::Weights;

/// Sum (`SumPool2d`) or average (`AvgPool2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Sum,
    Avg,
}

/// A pool without padding: kernel and stride as `(height, width)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pooling {
    pub kind: PoolKind,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
}

/// Why a pool cannot be folded: the node and field to name, and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{problem}")]
pub struct FoldError {
    pub node: String,
    pub field: Option<&'static str>,
    pub problem: String,
}

fn refuse(node: &str, field: Option<&'static str>, problem: impl Into<String>) -> FoldError {
    FoldError {
        node: node.to_string(),
        field,
        problem: problem.into(),
    }
}

/// A square convolution's geometry (joulebench's `Conv2d`: one kernel size, stride, padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl ConvGeom {
    /// Output length of an input of length `n`, when the kernel fits.
    pub fn out(&self, n: usize) -> Option<usize> {
        (n + 2 * self.padding)
            .checked_sub(self.kernel)
            .map(|x| x / self.stride + 1)
    }
}

impl Pooling {
    /// The pool of NIR node `node`; a pool with padding, or whose kernel or stride is not two
    /// positive integers, is refused.
    pub fn from_nir(node: &str, kind: PoolKind, p: &Pool) -> Result<Self, FoldError> {
        if p.padding.iter().any(|&x| x != 0) {
            return Err(refuse(
                node,
                Some("padding"),
                format!(
                    "is {:?}: only a pool without padding can be folded into the layer next to it (joulebench's engines have no sum or average pooling)",
                    p.padding
                ),
            ));
        }
        let two = |field: &'static str, v: &[usize]| match *v {
            [a, b] if a > 0 && b > 0 => Ok([a, b]),
            _ => Err(refuse(
                node,
                Some(field),
                format!("must be two positive integers (height, width), got {v:?}"),
            )),
        };
        Ok(Pooling {
            kind,
            kernel: two("kernel_size", &p.kernel_size)?,
            stride: two("stride", &p.stride)?,
        })
    }

    /// `1` (sum) or `1/(kh·kw)` (average) as an f32.
    pub fn gain(&self) -> f32 {
        match self.kind {
            PoolKind::Sum => 1.0,
            PoolKind::Avg => (1.0 / (self.kernel[0] * self.kernel[1]) as f64) as f32,
        }
    }

    /// The pooled shape of a `[C, H, W]` map the kernel fits.
    pub fn output(&self, [c, h, w]: [usize; 3]) -> [usize; 3] {
        [
            c,
            (h - self.kernel[0]) / self.stride[0] + 1,
            (w - self.kernel[1]) / self.stride[1] + 1,
        ]
    }

    fn describe(&self) -> String {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let kind = match self.kind {
            PoolKind::Sum => "SumPool2d",
            PoolKind::Avg => "AvgPool2d",
        };
        format!("{kind} {kh}×{kw} (stride {sh}×{sw})")
    }

    /// `k` of a square `k×k` kernel equal to its stride, as a fold into a convolution needs.
    fn square(&self, node: &str, conv: &str) -> Result<usize, FoldError> {
        let [kh, kw] = self.kernel;
        if kh != kw {
            return Err(refuse(
                node,
                Some("kernel_size"),
                format!(
                    "is {kh}×{kw}: folding a pool into the convolution '{conv}' needs a square kernel (joulebench's Conv2d is square)"
                ),
            ));
        }
        if self.stride != self.kernel {
            return Err(refuse(
                node,
                Some("stride"),
                format!(
                    "is {:?} with kernel {kh}×{kw}: folding a pool into the convolution '{conv}' needs the stride equal to the kernel",
                    self.stride
                ),
            ));
        }
        Ok(kh)
    }
}

/// A pool after a neuron (or the Input), waiting for the weighted layer after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The pool's NIR node.
    pub node: String,
    pub pool: Pooling,
    /// The unpooled `[C, H, W]` map.
    pub input: [usize; 3],
}

impl Pending {
    pub fn new(node: &str, pool: Pooling, input: &[usize]) -> Result<Self, FoldError> {
        let &[c, h, w] = input else {
            return Err(refuse(
                node,
                None,
                format!("expects a (channels, height, width) input, got {input:?}"),
            ));
        };
        Ok(Pending {
            node: node.to_string(),
            pool,
            input: [c, h, w],
        })
    }

    /// The node `next` (called `name`) may follow the pool: a Flatten (passes it on) or the
    /// Affine, Linear or Conv2d it folds into.
    pub fn check_next(&self, name: &str, next: &NirNode) -> Result<(), FoldError> {
        match next {
            NirNode::Flatten { .. }
            | NirNode::Affine { .. }
            | NirNode::Linear { .. }
            | NirNode::Conv2d(_) => Ok(()),
            _ => Err(refuse(
                &self.node,
                None,
                format!(
                    "{} (after a neuron or the Input) is folded into the Affine, Linear or Conv2d node after it (a Flatten may come between), but '{name}' ({}) follows it; joulebench's engines have no sum or average pooling",
                    self.pool.describe(),
                    next.type_name()
                ),
            )),
        }
    }
}

fn layer_weight<'a>(weights: &'a Weights, layer: &str) -> &'a Tensor {
    weights
        .tensors
        .get(&format!("{layer}.weight"))
        .expect("weighted layers have a weight")
}

/// Folds the pending pool into `layer` (from NIR node `node`), the Linear or Conv2d right after
/// it; returns the note for the user.
pub fn fold_forward(
    p: &Pending,
    node: &str,
    layer: &mut Layer,
    weights: &mut Weights,
) -> Result<String, FoldError> {
    let w = layer_weight(weights, &layer.name);
    let (folded, how) = match &mut layer.op {
        Op::Linear { in_features, .. } => {
            let folded = linear_through_pool(w, p.input, &p.pool, &p.node)?;
            *in_features = folded.shape[1];
            (folded, format!("{} inputs", in_features))
        }
        Op::Conv2d {
            kernel_size,
            stride,
            padding,
            ..
        } => {
            let geom = ConvGeom {
                kernel: *kernel_size,
                stride: *stride,
                padding: *padding,
            };
            let (folded, g) = conv_through_pool(w, geom, p.input, &p.pool, &p.node, node)?;
            (*kernel_size, *stride, *padding) = (g.kernel, g.stride, g.padding);
            (
                folded,
                format!(
                    "kernel {} → {}, stride {} → {}, padding {} → {}",
                    geom.kernel, g.kernel, geom.stride, g.stride, geom.padding, g.padding
                ),
            )
        }
        op => {
            return Err(refuse(
                &p.node,
                None,
                format!("cannot be folded into '{node}' ({op:?})"),
            ))
        }
    };
    weights.insert(format!("{}.weight", layer.name), folded);
    let [c, h, w] = p.input;
    Ok(format!(
        "{}: {} folded into '{}' after it ({how}; each weight repeated over its pool window, × {}): it reads the unpooled {c}×{h}×{w} map, so its operation counts are those of the folded layer",
        p.node,
        p.pool.describe(),
        layer.name,
        p.pool.gain()
    ))
}

/// Folds the pool of NIR node `node` into `layer`, the Conv2d right before it; returns the note.
pub fn fold_backward(
    node: &str,
    pool: &Pooling,
    layer: &mut Layer,
    weights: &mut Weights,
) -> Result<String, FoldError> {
    let Op::Conv2d {
        kernel_size,
        stride,
        padding,
        ..
    } = &mut layer.op
    else {
        return Err(refuse(
            node,
            None,
            format!(
                "right after '{}', which is not a Conv2d: only a Conv2d before a pool can take it in",
                layer.name
            ),
        ));
    };
    let geom = ConvGeom {
        kernel: *kernel_size,
        stride: *stride,
        padding: *padding,
    };
    let bias_name = format!("{}.bias", layer.name);
    let (w, b, g) = pool_into_conv(
        layer_weight(weights, &layer.name),
        weights
            .tensors
            .get(&bias_name)
            .expect("a Conv2d has a bias"),
        geom,
        pool,
        node,
        &layer.name,
    )?;
    (*kernel_size, *stride) = (g.kernel, g.stride);
    weights.insert(format!("{}.weight", layer.name), w);
    weights.insert(bias_name, b);
    let bias = match pool.kind {
        PoolKind::Sum => format!("bias × {}", pool.kernel[0] * pool.kernel[1]),
        PoolKind::Avg => "bias unchanged".into(),
    };
    Ok(format!(
        "{node}: {} folded into '{}' before it (kernel {} → {}, stride {} → {}; weights summed over each window × {}, {bias}): its operation counts are those of the folded convolution",
        pool.describe(),
        layer.name,
        geom.kernel,
        g.kernel,
        geom.stride,
        g.stride,
        pool.gain()
    ))
}

/// The `[out, C·H·W]` weight of a Linear on the unpooled `[C, H, W]` map `input` equal to `w`
/// (`[out, C·Hp·Wp]`) after `pool` (see the module documentation).
pub fn linear_through_pool(
    w: &Tensor,
    input: [usize; 3],
    pool: &Pooling,
    node: &str,
) -> Result<Tensor, FoldError> {
    let [c, h, wd] = input;
    let [_, hp, wp] = pool.output(input);
    let (out, cols) = match w.shape[..] {
        [o, i] => (o, i),
        _ => (0, usize::MAX),
    };
    if cols != c * hp * wp {
        return Err(refuse(
            node,
            None,
            format!(
                "pools to {c}×{hp}×{wp} = {} values, but the layer after it has a weight of shape {:?}",
                c * hp * wp,
                w.shape
            ),
        ));
    }
    let ([kh, kw], [sh, sw]) = (pool.kernel, pool.stride);
    let g = pool.gain();
    let mut data = vec![0.0f32; out * c * h * wd];
    for o in 0..out {
        for ch in 0..c {
            for i in 0..hp {
                for j in 0..wp {
                    let v = g * w.data[((o * c + ch) * hp + i) * wp + j];
                    for a in 0..kh {
                        for b in 0..kw {
                            data[((o * c + ch) * h + sh * i + a) * wd + sw * j + b] += v;
                        }
                    }
                }
            }
        }
    }
    Ok(Tensor {
        shape: vec![out, c * h * wd],
        data,
    })
}

/// The weight and geometry of a Conv2d on the unpooled `[C, H, W]` map `input` equal to the
/// conv `w` (`[O, C, K, K]`, `geom`) after `pool` (NIR node `pool_node`); the conv is NIR node
/// `conv_node` (see the module documentation).
pub fn conv_through_pool(
    w: &Tensor,
    geom: ConvGeom,
    input: [usize; 3],
    pool: &Pooling,
    pool_node: &str,
    conv_node: &str,
) -> Result<(Tensor, ConvGeom), FoldError> {
    let k = pool.square(pool_node, conv_node)?;
    let [_, hp, wp] = pool.output(input);
    for (n, np, what) in [(input[1], hp, "rows"), (input[2], wp, "columns")] {
        let Some(out) = geom.out(np) else {
            return Err(refuse(
                conv_node,
                Some("weight"),
                format!("kernel {} does not fit the {np} pooled {what}", geom.kernel),
            ));
        };
        // the last window ends at pooled index S·(out−1) − P + K (exclusive)
        if n % k != 0 && geom.stride * (out - 1) + geom.kernel > np + geom.padding {
            return Err(refuse(
                conv_node,
                Some("padding"),
                format!(
                    "{}: its last window reaches the padding after the {np} {what} pooled by '{pool_node}', which drops {} of the {n} {what}; folded, the convolution would read those instead of zeros, so '{pool_node}' cannot be folded into it exactly",
                    geom.padding,
                    n - k * np
                ),
            ));
        }
    }
    let [o, c, kk] = match w.shape[..] {
        [o, c, a, b] if a == geom.kernel && b == geom.kernel => [o, c, a],
        _ => {
            return Err(refuse(
                conv_node,
                Some("weight"),
                format!(
                    "must be (out, in, {k}, {k}), got {:?}",
                    w.shape,
                    k = geom.kernel
                ),
            ))
        }
    };
    let g = pool.gain();
    let big = k * kk;
    let mut data = Vec::with_capacity(o * c * big * big);
    for oc in 0..o * c {
        for u in 0..big {
            for v in 0..big {
                data.push(g * w.data[(oc * kk + u / k) * kk + v / k]);
            }
        }
    }
    Ok((
        Tensor {
            shape: vec![o, c, big, big],
            data,
        },
        ConvGeom {
            kernel: big,
            stride: k * geom.stride,
            padding: k * geom.padding,
        },
    ))
}

/// Weight, bias and geometry of one Conv2d equal to the conv `w`, `b` (`[O, C, K, K]`, `[O]`,
/// `geom`) followed by `pool` (NIR node `pool_node`; the conv is layer `conv`; see the module
/// documentation).
pub fn pool_into_conv(
    w: &Tensor,
    b: &Tensor,
    geom: ConvGeom,
    pool: &Pooling,
    pool_node: &str,
    conv: &str,
) -> Result<(Tensor, Tensor, ConvGeom), FoldError> {
    let k = pool.square(pool_node, conv)?;
    let [o, c, kk] = match w.shape[..] {
        [o, c, a, bb] if a == geom.kernel && bb == geom.kernel && b.data.len() == o => [o, c, a],
        _ => {
            return Err(refuse(
                pool_node,
                None,
                format!(
                    "the convolution '{conv}' before it has weight {:?} and bias {:?}, not (out, in, {k}, {k}) and (out)",
                    w.shape,
                    b.shape,
                    k = geom.kernel
                ),
            ))
        }
    };
    let s = geom.stride;
    let big = (k - 1) * s + kk;
    let g = pool.gain();
    let mut data = Vec::with_capacity(o * c * big * big);
    for oc in 0..o * c {
        let src = &w.data[oc * kk * kk..(oc + 1) * kk * kk];
        for u in 0..big {
            for v in 0..big {
                let mut acc = 0.0f32;
                for a in 0..k {
                    for bb in 0..k {
                        let (Some(y), Some(x)) = (u.checked_sub(s * a), v.checked_sub(s * bb))
                        else {
                            continue;
                        };
                        if y < kk && x < kk {
                            acc += src[y * kk + x];
                        }
                    }
                }
                data.push(match pool.kind {
                    PoolKind::Sum => acc,
                    PoolKind::Avg => acc * g,
                });
            }
        }
    }
    let bias = match pool.kind {
        PoolKind::Sum => {
            let n = (k * k) as f32;
            b.data.iter().map(|&x| x * n).collect()
        }
        PoolKind::Avg => b.data.clone(),
    };
    Ok((
        Tensor {
            shape: vec![o, c, big, big],
            data,
        },
        Tensor {
            shape: b.shape.clone(),
            data: bias,
        },
        ConvGeom {
            kernel: big,
            stride: k * s,
            padding: geom.padding,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn pooling(kind: PoolKind, kernel: [usize; 2], stride: [usize; 2]) -> Pooling {
        Pooling {
            kind,
            kernel,
            stride,
        }
    }

    /// Direct pooling, PyTorch's way: window sum, divided by kh·kw for the average.
    fn pool2d(x: &[f32], [c, h, w]: [usize; 3], p: &Pooling) -> (Vec<f32>, [usize; 3]) {
        let [_, hp, wp] = p.output([c, h, w]);
        let mut out = Vec::new();
        for ch in 0..c {
            for i in 0..hp {
                for j in 0..wp {
                    let mut s = 0.0f32;
                    for a in 0..p.kernel[0] {
                        for b in 0..p.kernel[1] {
                            s += x[(ch * h + p.stride[0] * i + a) * w + p.stride[1] * j + b];
                        }
                    }
                    out.push(match p.kind {
                        PoolKind::Sum => s,
                        PoolKind::Avg => s / (p.kernel[0] * p.kernel[1]) as f32,
                    });
                }
            }
        }
        (out, [c, hp, wp])
    }

    /// Direct zero-padded convolution.
    fn conv2d(
        x: &[f32],
        [c, h, w]: [usize; 3],
        wt: &Tensor,
        b: &[f32],
        g: ConvGeom,
    ) -> (Vec<f32>, [usize; 3]) {
        let k = g.kernel;
        let (ho, wo) = (g.out(h).unwrap(), g.out(w).unwrap());
        let mut out = Vec::new();
        for (oc, &bias) in b.iter().enumerate().take(wt.shape[0]) {
            for i in 0..ho {
                for j in 0..wo {
                    let mut s = bias;
                    for ch in 0..c {
                        for a in 0..k {
                            for bb in 0..k {
                                let y = (g.stride * i + a) as isize - g.padding as isize;
                                let xx = (g.stride * j + bb) as isize - g.padding as isize;
                                if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < w {
                                    s += wt.data[((oc * c + ch) * k + a) * k + bb]
                                        * x[(ch * h + y as usize) * w + xx as usize];
                                }
                            }
                        }
                    }
                    out.push(s);
                }
            }
        }
        (out, [wt.shape[0], ho, wo])
    }

    fn linear(x: &[f32], wt: &Tensor, b: &[f32]) -> Vec<f32> {
        let n = wt.shape[1];
        (0..wt.shape[0])
            .map(|o| b[o] + (0..n).map(|i| wt.data[o * n + i] * x[i]).sum::<f32>())
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{what}: element {i}: folded {g}, direct {w}"
            );
        }
    }

    const KINDS: [PoolKind; 2] = [PoolKind::Sum, PoolKind::Avg];

    #[test]
    fn linear_after_pool_equals_linear_on_the_unpooled_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // odd sizes (a dropped row/column), non-square, overlapping and gapped windows
        let cases = [
            ([3, 7, 5], [2, 2], [2, 2]),
            ([2, 9, 8], [3, 2], [3, 2]),
            ([2, 6, 7], [2, 3], [1, 2]),
            ([1, 8, 8], [2, 2], [3, 3]),
        ];
        for (input, kernel, stride) in cases {
            for kind in KINDS {
                let p = pooling(kind, kernel, stride);
                let x = random(&mut rng, input.iter().product());
                let (pooled, ps) = pool2d(&x, input, &p);
                let n: usize = ps.iter().product();
                let w = Tensor::new(vec![5, n], random(&mut rng, 5 * n)).unwrap();
                let b = random(&mut rng, 5);
                let folded = linear_through_pool(&w, input, &p, "pool").unwrap();
                assert_eq!(folded.shape, [5, input.iter().product::<usize>()]);
                assert_close(
                    &linear(&x, &folded, &b),
                    &linear(&pooled, &w, &b),
                    &format!("{kind:?} {input:?} k{kernel:?} s{stride:?}"),
                );
            }
        }
    }

    #[test]
    fn conv_after_pool_equals_a_wider_conv_on_the_unpooled_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let g = |kernel, stride, padding| ConvGeom {
            kernel,
            stride,
            padding,
        };
        let cases = [
            ([2, 9, 11], 2, g(3, 1, 0)),
            ([2, 9, 11], 2, g(2, 2, 0)),
            ([3, 8, 10], 2, g(3, 1, 1)),
            ([2, 9, 9], 3, g(2, 1, 1)),
            ([2, 7, 7], 2, g(2, 1, 0)),
        ];
        for (input, k, geom) in cases {
            for kind in KINDS {
                let p = pooling(kind, [k, k], [k, k]);
                let x = random(&mut rng, input.iter().product());
                let (pooled, ps) = pool2d(&x, input, &p);
                let kk = geom.kernel;
                let w = Tensor::new(
                    vec![4, input[0], kk, kk],
                    random(&mut rng, 4 * input[0] * kk * kk),
                )
                .unwrap();
                let b = random(&mut rng, 4);
                let (want, want_shape) = conv2d(&pooled, ps, &w, &b, geom);
                let (folded, fg) = conv_through_pool(&w, geom, input, &p, "pool", "conv").unwrap();
                assert_eq!(fg, g(k * kk, k * geom.stride, k * geom.padding));
                let (got, got_shape) = conv2d(&x, input, &folded, &b, fg);
                assert_eq!(got_shape, want_shape);
                assert_close(&got, &want, &format!("{kind:?} {input:?} k{k} {geom:?}"));
            }
        }
    }

    #[test]
    fn pool_after_conv_equals_one_conv() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let g = |kernel, stride, padding| ConvGeom {
            kernel,
            stride,
            padding,
        };
        let cases = [
            ([2, 9, 9], g(3, 1, 1), 2),
            ([2, 11, 13], g(3, 2, 0), 2),
            ([3, 10, 9], g(2, 1, 0), 3),
            ([1, 12, 12], g(3, 3, 2), 2),
        ];
        for (input, geom, k) in cases {
            for kind in KINDS {
                let p = pooling(kind, [k, k], [k, k]);
                let x = random(&mut rng, input.iter().product());
                let kk = geom.kernel;
                let w = Tensor::new(
                    vec![4, input[0], kk, kk],
                    random(&mut rng, 4 * input[0] * kk * kk),
                )
                .unwrap();
                let b = Tensor::new(vec![4], random(&mut rng, 4)).unwrap();
                let (conv, cs) = conv2d(&x, input, &w, &b.data, geom);
                let (want, want_shape) = pool2d(&conv, cs, &p);
                let (fw, fb, fg) = pool_into_conv(&w, &b, geom, &p, "pool", "conv").unwrap();
                assert_eq!(
                    fg,
                    g((k - 1) * geom.stride + kk, k * geom.stride, geom.padding)
                );
                let (got, got_shape) = conv2d(&x, input, &fw, &fb.data, fg);
                assert_eq!(got_shape, want_shape);
                assert_close(&got, &want, &format!("{kind:?} {input:?} {geom:?} k{k}"));
            }
        }
    }

    #[test]
    fn folds_that_would_not_be_exact_are_refused_naming_node_and_field() {
        let w = Tensor::zeros(vec![2, 1, 3, 3]);
        let b = Tensor::zeros(vec![2]);
        let geom = ConvGeom {
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        let avg = |kernel, stride| pooling(PoolKind::Avg, kernel, stride);
        // 9 rows pool to 4 (row 8 dropped); padding 1 makes the last window read past row 3
        let e = conv_through_pool(&w, geom, [1, 9, 8], &avg([2, 2], [2, 2]), "p", "c").unwrap_err();
        assert_eq!((e.node.as_str(), e.field), ("c", Some("padding")));
        assert!(e.problem.contains("drops 1 of the 9 rows"), "{}", e.problem);
        // the same with 8 rows and 8 columns (nothing dropped) is exact
        conv_through_pool(&w, geom, [1, 8, 8], &avg([2, 2], [2, 2]), "p", "c").unwrap();
        let e = conv_through_pool(&w, geom, [1, 8, 8], &avg([2, 1], [2, 1]), "p", "c").unwrap_err();
        assert_eq!((e.node.as_str(), e.field), ("p", Some("kernel_size")));
        let e = pool_into_conv(&w, &b, geom, &avg([2, 2], [1, 1]), "p", "c").unwrap_err();
        assert_eq!((e.node.as_str(), e.field), ("p", Some("stride")));
        let nir_pool = |padding| Pool {
            kernel_size: vec![2, 2],
            stride: vec![2, 2],
            padding,
        };
        let e = Pooling::from_nir("p", PoolKind::Sum, &nir_pool(vec![1, 0])).unwrap_err();
        assert_eq!((e.node.as_str(), e.field), ("p", Some("padding")));
        let ok = Pooling::from_nir("p", PoolKind::Sum, &nir_pool(vec![0, 0])).unwrap();
        let pending = Pending::new("p", ok, &[1, 8, 8]).unwrap();
        let out = NirNode::Output { shape: vec![16] };
        let e = pending.check_next("output", &out).unwrap_err();
        assert_eq!((e.node.as_str(), e.field), ("p", None));
        assert!(e.problem.contains("'output' (Output)"), "{}", e.problem);
    }

    #[test]
    fn folding_updates_the_layer_and_its_weights() {
        let mut weights = Weights::default();
        weights.insert(
            "fc.weight",
            Tensor::new(vec![1, 2], vec![1.0, 2.0]).unwrap(),
        );
        weights.insert("fc.bias", Tensor::zeros(vec![1]));
        let mut fc = Layer {
            name: "fc".into(),
            op: Op::Linear {
                in_features: 2,
                out_features: 1,
            },
        };
        let p = Pending::new("pool", pooling(PoolKind::Avg, [2, 2], [2, 2]), &[2, 3, 2]).unwrap();
        let note = fold_forward(&p, "fc", &mut fc, &mut weights).unwrap();
        assert!(
            note.starts_with("pool: AvgPool2d 2×2 (stride 2×2) folded into 'fc'"),
            "{note}"
        );
        assert_eq!(
            fc.op,
            Op::Linear {
                in_features: 12,
                out_features: 1
            }
        );
        // channel 0 then 1; row 2 of each channel is dropped by the pool
        let q = [0.25f32, 0.25, 0.25, 0.25, 0.0, 0.0];
        let want: Vec<f32> = q
            .iter()
            .chain(&q)
            .zip([1.0f32; 6].iter().chain(&[2.0; 6]))
            .map(|(a, b)| a * b)
            .collect();
        assert_eq!(weights.tensors["fc.weight"].data, want);

        weights.insert(
            "conv.weight",
            Tensor::new(vec![1, 1, 1, 1], vec![3.0]).unwrap(),
        );
        weights.insert("conv.bias", Tensor::new(vec![1], vec![0.5]).unwrap());
        let mut conv = Layer {
            name: "conv".into(),
            op: Op::Conv2d {
                in_channels: 1,
                out_channels: 1,
                kernel_size: 1,
                stride: 1,
                padding: 0,
            },
        };
        let sum = pooling(PoolKind::Sum, [2, 2], [2, 2]);
        let note = fold_backward("pool", &sum, &mut conv, &mut weights).unwrap();
        assert!(note.contains("bias × 4"), "{note}");
        assert_eq!(
            conv.op,
            Op::Conv2d {
                in_channels: 1,
                out_channels: 1,
                kernel_size: 2,
                stride: 2,
                padding: 0,
            }
        );
        assert_eq!(weights.tensors["conv.weight"].data, [3.0; 4]);
        assert_eq!(weights.tensors["conv.bias"].data, [2.0]);
    }
}
