//! Input transforms on batches of samples: normalize, area-averaging resize, center crop,
//! flatten, and [`apply_preprocess`], which applies a model's [`Preprocess`] so that training,
//! evaluation and every engine see identical inputs.
//!
//! Batches are channels-first `[n, C, H, W]` (images) or `[n, C, L]` (1-D signals), f32.

use joulebench_models::{InputTransform, Normalize, Preprocess, Tensor};

use crate::error::{DataError, Result};

/// `x ← (x − mean) / std` on every value.
pub fn normalize_in_place(data: &mut [f32], n: Normalize) {
    let inv = 1.0 / n.std;
    for v in data {
        *v = (*v - n.mean) * inv;
    }
}

/// Weights of a 1-D area-averaging resize from `inp` to `out` samples: `w[o][i]` is the length of
/// the overlap of output cell `o`, which covers input interval `[o·inp/out, (o+1)·inp/out)`,
/// with input pixel `[i, i+1)`, divided by the cell length `inp/out`. Each row sums to 1.
fn area_weights(inp: usize, out: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = inp as f64 / out as f64;
    (0..out)
        .map(|o| {
            let start = o as f64 * scale;
            let end = (o + 1) as f64 * scale;
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(inp);
            (first..last)
                .filter_map(|i| {
                    let overlap = end.min(i as f64 + 1.0) - start.max(i as f64);
                    (overlap > 1e-12).then(|| (i, (overlap / scale) as f32))
                })
                .collect()
        })
        .collect()
}

/// Resizes each `h × w` plane of `src` (planes stored one after another) to `oh × ow` by true area
/// averaging: every output pixel is the mean of the input over the area it covers, counting
/// partially covered input pixels by their covered fraction. This is PIL's
/// `Image.resize(..., Image.BOX)` and OpenCV's `INTER_AREA` (when shrinking). For integer ratios
/// (28→14) it equals average pooling and torch's `interpolate(mode="area")`; for 28→8 (ratio 3.5)
/// it differs from torch's `adaptive_avg_pool2d`, which averages whole pixels of overlapping
/// integer windows.
pub fn resize_area(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f32> {
    let plane = h * w;
    let planes = src.len().checked_div(plane).unwrap_or(0);
    let wy = area_weights(h, oh);
    let wx = area_weights(w, ow);
    let mut out = vec![0.0f32; planes * oh * ow];
    let mut rows = vec![0.0f32; oh * w];
    for p in 0..planes {
        let s = &src[p * plane..(p + 1) * plane];
        // vertical pass: oh × w
        rows.iter_mut().for_each(|v| *v = 0.0);
        for (o, ws) in wy.iter().enumerate() {
            let dst = &mut rows[o * w..(o + 1) * w];
            for &(i, wt) in ws {
                for (d, &v) in dst.iter_mut().zip(&s[i * w..(i + 1) * w]) {
                    *d += wt * v;
                }
            }
        }
        // horizontal pass: oh × ow
        let d = &mut out[p * oh * ow..(p + 1) * oh * ow];
        for y in 0..oh {
            let r = &rows[y * w..(y + 1) * w];
            for (x, ws) in wx.iter().enumerate() {
                d[y * ow + x] = ws.iter().map(|&(i, wt)| wt * r[i]).sum();
            }
        }
    }
    out
}

/// Crops the centered `oh × ow` window out of each `h × w` plane; the window starts at row
/// `(h − oh) / 2` and column `(w − ow) / 2` (integer division; 28→14 keeps rows and columns 7..21,
/// as torchvision's `CenterCrop(14)`). Panics when the window is larger than the plane.
pub fn center_crop(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f32> {
    assert!(
        oh <= h && ow <= w,
        "center crop {oh}×{ow} does not fit in {h}×{w}"
    );
    let plane = h * w;
    let planes = src.len().checked_div(plane).unwrap_or(0);
    let (top, left) = ((h - oh) / 2, (w - ow) / 2);
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for y in top..top + oh {
            let row = p * plane + y * w;
            out.extend_from_slice(&src[row + left..row + left + ow]);
        }
    }
    out
}

/// `[n, …] → [n, prod(…)]`.
pub fn flatten(t: &Tensor) -> Tensor {
    let n = t.shape.first().copied().unwrap_or(1);
    let rest = t.shape.iter().skip(1).product();
    Tensor {
        shape: vec![n, rest],
        data: t.data.clone(),
    }
}

/// Applies a spatial transform to a batch `[n, C, H, W]`. `Identity` accepts any shape (1-D data
/// included); the others need 2-D planes of at least 14×14 (resize14, crop14) or 8×8 (resize8).
pub fn apply_transform(transform: InputTransform, batch: &Tensor) -> Result<Tensor> {
    if transform == InputTransform::Identity {
        return Ok(batch.clone());
    }
    let s = &batch.shape;
    if s.len() != 4 {
        return Err(DataError::Invalid(format!(
            "input transform {} needs image batches [n, C, H, W], got shape {s:?}",
            transform.name()
        )));
    }
    let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
    let (oh, ow) = match transform {
        InputTransform::Resize8 => (8, 8),
        _ => (14, 14),
    };
    if h < oh || w < ow {
        return Err(DataError::Invalid(format!(
            "input transform {} cannot shrink {h}×{w} images",
            transform.name()
        )));
    }
    let data = match transform {
        InputTransform::Crop14 => center_crop(&batch.data, h, w, oh, ow),
        _ => resize_area(&batch.data, h, w, oh, ow),
    };
    Ok(Tensor {
        shape: vec![n, c, oh, ow],
        data,
    })
}

/// Applies a model's preprocessing to a batch of raw samples (images already scaled to `[0, 1]`):
/// first the spatial transform, then `normalize` when set. The result is what layer 0 (or the
/// spike encoder) receives.
pub fn apply_preprocess(pre: &Preprocess, batch: &Tensor) -> Result<Tensor> {
    let mut out = apply_transform(pre.transform, batch)?;
    if let Some(n) = pre.normalize {
        if !(n.std.is_finite() && n.std > 0.0 && n.mean.is_finite()) {
            return Err(DataError::Invalid(format!(
                "normalize needs a finite mean and std > 0, got {n:?}"
            )));
        }
        normalize_in_place(&mut out.data, n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn area_resize_28_to_14_is_2x2_average() {
        let src: Vec<f32> = (0..28 * 28).map(|i| (i % 97) as f32).collect();
        let out = resize_area(&src, 28, 28, 14, 14);
        for y in 0..14 {
            for x in 0..14 {
                let m = (src[2 * y * 28 + 2 * x]
                    + src[2 * y * 28 + 2 * x + 1]
                    + src[(2 * y + 1) * 28 + 2 * x]
                    + src[(2 * y + 1) * 28 + 2 * x + 1])
                    / 4.0;
                assert!(approx(out[y * 14 + x], m));
            }
        }
    }

    #[test]
    fn area_resize_28_to_8_uses_fractional_overlaps() {
        // a horizontal ramp: value = column index; each output cell covers 3.5 columns
        let src: Vec<f32> = (0..28 * 28).map(|i| (i % 28) as f32).collect();
        let out = resize_area(&src, 28, 28, 8, 8);
        // cell 0 covers columns 0,1,2 fully and half of 3: (0+1+2+0.5·3)/3.5
        assert!(approx(out[0], (0.0 + 1.0 + 2.0 + 1.5) / 3.5));
        // cell 1 covers half of 3, then 4, 5, 6: (1.5+4+5+6)/3.5
        assert!(approx(out[1], (1.5 + 4.0 + 5.0 + 6.0) / 3.5));
        // independent check: 28 → 56 by pixel doubling makes every output cell exactly 7×7
        // half-pixels, whose plain mean is the area average
        let img: Vec<f32> = (0..28 * 28)
            .map(|i| ((i * 7919 + 13) % 256) as f32)
            .collect();
        let r = resize_area(&img, 28, 28, 8, 8);
        for oy in 0..8 {
            for ox in 0..8 {
                let mut s = 0.0f64;
                for yy in oy * 7..oy * 7 + 7 {
                    for xx in ox * 7..ox * 7 + 7 {
                        s += img[(yy / 2) * 28 + xx / 2] as f64;
                    }
                }
                let want = (s / 49.0) as f32;
                assert!(
                    (r[oy * 8 + ox] - want).abs() < 1e-3,
                    "({oy},{ox}): {} vs {want}",
                    r[oy * 8 + ox]
                );
            }
        }
        // area averaging preserves the mean and constants
        let noisy: Vec<f32> = (0..28 * 28)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect();
        let r = resize_area(&noisy, 28, 28, 8, 8);
        let m_in: f32 = noisy.iter().sum::<f32>() / 784.0;
        let m_out: f32 = r.iter().sum::<f32>() / 64.0;
        assert!((m_in - m_out).abs() < 1e-4);
        assert!(resize_area(&vec![0.25; 784], 28, 28, 8, 8)
            .iter()
            .all(|&v| approx(v, 0.25)));
    }

    #[test]
    fn crop_keeps_the_centre() {
        let src: Vec<f32> = (0..2 * 28 * 28).map(|i| i as f32).collect();
        let out = center_crop(&src, 28, 28, 14, 14);
        assert_eq!(out.len(), 2 * 196);
        assert_eq!(out[0], (7 * 28 + 7) as f32);
        assert_eq!(out[13], (7 * 28 + 20) as f32);
        assert_eq!(out[196], (784 + 7 * 28 + 7) as f32);
    }

    #[test]
    fn preprocess_transform_then_normalize() {
        let batch = Tensor::new(
            vec![2, 1, 28, 28],
            (0..2 * 784).map(|i| (i % 2) as f32).collect(),
        )
        .unwrap();
        let pre = Preprocess {
            transform: InputTransform::Resize14,
            normalize: Some(Normalize {
                mean: 0.1307,
                std: 0.3081,
            }),
        };
        let out = apply_preprocess(&pre, &batch).unwrap();
        assert_eq!(out.shape, vec![2, 1, 14, 14]);
        assert!(out.data.iter().all(|&v| approx(v, (0.5 - 0.1307) / 0.3081)));
        let one_d = Tensor::zeros(vec![3, 1, 40]);
        assert!(apply_preprocess(&pre, &one_d).is_err());
        let id = apply_preprocess(&Preprocess::default(), &one_d).unwrap();
        assert_eq!(id, one_d);
        assert_eq!(flatten(&batch).shape, vec![2, 784]);
    }
}
