//! Where the elements of one sample's activation live: sizes `C × H × W` (1-D data has
//! `H = 1`, flat vectors `H = W = 1`) and element strides, so that convolutions can write
//! channels-last (`HWC`) while the rest of the network sees PyTorch's channels-first order.

/// Geometry of one sample's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub sc: usize,
    pub sh: usize,
    pub sw: usize,
}

impl Geom {
    /// Channels-first (PyTorch) layout.
    pub fn chw(c: usize, h: usize, w: usize) -> Geom {
        Geom {
            c,
            h,
            w,
            sc: h * w,
            sh: w,
            sw: 1,
        }
    }

    /// Channels-last layout.
    pub fn hwc(c: usize, h: usize, w: usize) -> Geom {
        Geom {
            c,
            h,
            w,
            sc: 1,
            sh: w * c,
            sw: c,
        }
    }

    /// The geometry of a per-sample shape as PyTorch lays it out.
    pub fn from_shape(shape: &[usize]) -> Geom {
        match shape {
            [n] => Geom::chw(*n, 1, 1),
            [c, l] => Geom::chw(*c, 1, *l),
            [c, h, w] => Geom::chw(*c, *h, *w),
            _ => Geom::chw(shape.iter().product(), 1, 1),
        }
    }

    pub fn numel(&self) -> usize {
        self.c * self.h * self.w
    }

    /// True when the elements are in channels-first order (flatten is then free).
    pub fn is_chw(&self) -> bool {
        let want = Geom::chw(self.c, self.h, self.w);
        (self.c <= 1 || self.sc == want.sc)
            && (self.h <= 1 || self.sh == want.sh)
            && (self.w <= 1 || self.sw == want.sw)
    }

    #[inline]
    pub fn at(&self, c: usize, h: usize, w: usize) -> usize {
        c * self.sc + h * self.sh + w * self.sw
    }
}
