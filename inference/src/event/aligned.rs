//! A zero-initialised `f32` buffer whose start is aligned to a 64-byte cache line and whose
//! length is a multiple of [`LANES`], so SIMD kernels can use full vectors without tails.

/// Floats per padding unit: one AVX-512 register, two AVX2 registers, one cache line.
pub const LANES: usize = 16;

/// Rounds `n` up to a multiple of [`LANES`].
pub fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; LANES]);

/// Cache-line aligned, zero-padded `f32` storage.
#[derive(Clone)]
pub struct AlignedVec {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedVec {
    /// `len` zeros (storage rounded up to a multiple of [`LANES`], also zero).
    pub fn zeros(len: usize) -> Self {
        AlignedVec {
            lines: vec![Line([0.0; LANES]); len.div_ceil(LANES)],
            len,
        }
    }

    /// Logical length.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The logical elements.
    pub fn as_slice(&self) -> &[f32] {
        &self.padded_slice()[..self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        let len = self.len;
        &mut self.padded_mut()[..len]
    }

    /// All storage including the zero tail (length a multiple of [`LANES`]).
    pub fn padded_slice(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` around `[f32; LANES]`, so the lines are contiguous f32s.
        unsafe {
            std::slice::from_raw_parts(self.lines.as_ptr() as *const f32, self.lines.len() * LANES)
        }
    }

    pub fn padded_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `padded_slice`, with unique access through `&mut self`.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.lines.as_mut_ptr() as *mut f32,
                self.lines.len() * LANES,
            )
        }
    }

    /// Sets every element, tail included, to zero.
    pub fn fill_zero(&mut self) {
        for l in &mut self.lines {
            l.0 = [0.0; LANES];
        }
    }

    /// Bytes of storage.
    pub fn bytes(&self) -> usize {
        self.lines.len() * LANES * 4
    }
}

impl std::fmt::Debug for AlignedVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedVec(len {})", self.len)
    }
}
