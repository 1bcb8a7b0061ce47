//! Convolution (as im2col + packed matrix product) and max pooling on strided layouts.

use super::gemm::{gemm, Packed};
use super::layout::Geom;
use crate::isa::Isa;

/// A 2-D convolution (1-D is the `kh = 1` case) with its weights packed for [`gemm`].
/// Patch order is `(kh, kw, c)`, so rows of the im2col matrix gather runs of channels.
#[derive(Debug, Clone)]
pub struct Conv {
    pub input: Geom,
    pub output: Geom,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub ph: usize,
    pub pw: usize,
    pub weights: Packed,
}

impl Conv {
    /// `w` is PyTorch's `[out, in, kh, kw]` (`kh = 1` for Conv1d).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: Geom,
        out_channels: usize,
        kh: usize,
        kw: usize,
        stride: usize,
        ph: usize,
        pw: usize,
        w: &[f32],
        bias: &[f32],
    ) -> Conv {
        let c = input.c;
        let k = kh * kw * c;
        let mut rows = vec![0.0f32; out_channels * k];
        for o in 0..out_channels {
            for ci in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        rows[o * k + (i * kw + j) * c + ci] = w[((o * c + ci) * kh + i) * kw + j];
                    }
                }
            }
        }
        let oh = (input.h + 2 * ph - kh) / stride + 1;
        let ow = (input.w + 2 * pw - kw) / stride + 1;
        Conv {
            input,
            output: Geom::hwc(out_channels, oh, ow),
            kh,
            kw,
            stride,
            ph,
            pw,
            weights: Packed::from_rows(&rows, out_channels, k, Some(bias)),
        }
    }

    /// Size of the im2col buffer for one sample.
    pub fn col_len(&self) -> usize {
        self.output.h * self.output.w * self.weights.k
    }

    /// Runs on one sample: `x` in `self.input` layout, `y` in `self.output` (HWC).
    pub fn run(&self, isa: Isa, x: &[f32], col: &mut [f32], y: &mut [f32], relu: bool) {
        let g = self.input;
        let (oh, ow) = (self.output.h, self.output.w);
        let k = self.weights.k;
        let col = &mut col[..oh * ow * k];
        // With channels innermost (HWC, or a single channel) the `kw` taps of one kernel row
        // are `kw·c` contiguous input floats: one copy each when they lie inside the image.
        let run = g.c * self.kw;
        let contiguous = g.sw == g.c && (g.c == 1 || g.sc == 1);
        for y0 in 0..oh {
            for x0 in 0..ow {
                let patch = &mut col[(y0 * ow + x0) * k..(y0 * ow + x0 + 1) * k];
                let iw0 = (x0 * self.stride) as isize - self.pw as isize;
                let row_inside = iw0 >= 0 && iw0 as usize + self.kw <= g.w;
                for i in 0..self.kh {
                    let ih = (y0 * self.stride + i) as isize - self.ph as isize;
                    let dst = &mut patch[i * run..(i + 1) * run];
                    if ih < 0 || ih as usize >= g.h {
                        dst.fill(0.0);
                    } else if contiguous && row_inside {
                        let base = g.at(0, ih as usize, iw0 as usize);
                        dst.copy_from_slice(&x[base..base + run]);
                    } else {
                        for j in 0..self.kw {
                            let iw = iw0 + j as isize;
                            let d = &mut dst[j * g.c..(j + 1) * g.c];
                            if iw < 0 || iw as usize >= g.w {
                                d.fill(0.0);
                            } else {
                                let base = g.at(0, ih as usize, iw as usize);
                                if g.sc == 1 {
                                    d.copy_from_slice(&x[base..base + g.c]);
                                } else {
                                    for (ci, v) in d.iter_mut().enumerate() {
                                        *v = x[base + ci * g.sc];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        gemm(isa, col, oh * ow, k, &self.weights, y, self.output.c, relu);
    }
}

/// Max pooling with stride = kernel, no padding (PyTorch's default); keeps the layout kind.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    pub input: Geom,
    pub output: Geom,
    pub kh: usize,
    pub kw: usize,
}

impl Pool {
    pub fn new(input: Geom, kh: usize, kw: usize) -> Pool {
        let (oh, ow) = (input.h / kh, input.w / kw);
        let output = if input.sc == 1 && input.c > 1 {
            Geom::hwc(input.c, oh, ow)
        } else {
            Geom::chw(input.c, oh, ow)
        };
        Pool {
            input,
            output,
            kh,
            kw,
        }
    }

    /// Runs on one sample.
    pub fn run(&self, x: &[f32], y: &mut [f32]) {
        let (g, o) = (self.input, self.output);
        if g.sc == 1 && o.sc == 1 {
            // channels-last: vectorizes over channels
            for y0 in 0..o.h {
                for x0 in 0..o.w {
                    let dst = &mut y[o.at(0, y0, x0)..o.at(0, y0, x0) + o.c];
                    dst.fill(f32::NEG_INFINITY);
                    for i in 0..self.kh {
                        for j in 0..self.kw {
                            let base = g.at(0, y0 * self.kh + i, x0 * self.kw + j);
                            for (d, &v) in dst.iter_mut().zip(&x[base..base + g.c]) {
                                *d = d.max(v);
                            }
                        }
                    }
                }
            }
        } else {
            for c in 0..o.c {
                for y0 in 0..o.h {
                    for x0 in 0..o.w {
                        let mut m = f32::NEG_INFINITY;
                        for i in 0..self.kh {
                            for j in 0..self.kw {
                                m = m.max(x[g.at(c, y0 * self.kh + i, x0 * self.kw + j)]);
                            }
                        }
                        y[o.at(c, y0, x0)] = m;
                    }
                }
            }
        }
    }
}
