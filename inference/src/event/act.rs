//! An activation buffer between two stages of one sample at one time step. It holds the
//! values as a dense vector, as a list of non-zero entries (index + value, ascending index),
//! or both; a list whose values are all exactly 1.0 is a list of spikes (events).

use super::aligned::AlignedVec;
use super::simd;
use crate::isa::Isa;

#[derive(Debug, Clone)]
pub(crate) struct Act {
    /// Dense values (padded storage, tail zero); valid when `has_dense`.
    pub dense: AlignedVec,
    /// Non-zero entries, ascending; the first `count` are valid when `has_list`.
    pub idx: Vec<u32>,
    pub vals: Vec<f32>,
    pub count: usize,
    pub has_dense: bool,
    pub has_list: bool,
    /// Every listed value is 1.0 (valid when `has_list`).
    pub binary: bool,
    /// `Some(n)`: the values went straight into the next stage (a convolution pooled by the
    /// max pool that follows it) and are held in neither form; `n` of them were non-zero.
    pub consumed: Option<usize>,
}

impl Act {
    pub fn new(len: usize) -> Self {
        Act {
            dense: AlignedVec::zeros(len),
            idx: vec![0; len],
            vals: vec![0.0; len],
            count: 0,
            has_dense: false,
            has_list: false,
            binary: false,
            consumed: None,
        }
    }

    /// Marks the buffer as holding `count` spikes written to `idx` (values 1.0).
    pub fn set_spikes(&mut self, count: usize) {
        self.count = count;
        self.has_list = true;
        self.binary = true;
        self.has_dense = false;
        self.consumed = None;
    }

    /// Marks `dense` as the (only) valid representation.
    pub fn set_dense(&mut self) {
        self.has_dense = true;
        self.has_list = false;
        self.consumed = None;
    }

    /// Marks the values as passed on to the next stage without being stored here, `nonzeros`
    /// of them non-zero (see [`Act::consumed`]).
    pub fn set_consumed(&mut self, nonzeros: usize) {
        self.has_dense = false;
        self.has_list = false;
        self.consumed = Some(nonzeros);
    }

    /// Makes the dense representation valid (from the list if needed).
    pub fn ensure_dense(&mut self) {
        if self.has_dense {
            return;
        }
        debug_assert!(self.has_list);
        let d = self.dense.padded_mut();
        d.fill(0.0);
        if self.binary {
            for &i in &self.idx[..self.count] {
                d[i as usize] = 1.0;
            }
        } else {
            for (&i, &v) in self.idx[..self.count].iter().zip(&self.vals[..self.count]) {
                d[i as usize] = v;
            }
        }
        self.has_dense = true;
    }

    /// Makes the list representation valid (from the dense values if needed).
    pub fn ensure_list(&mut self, isa: Isa) {
        if self.has_list {
            return;
        }
        debug_assert!(self.has_dense);
        let scan = simd::scan_nonzero(isa, self.dense.as_slice(), &mut self.idx, &mut self.vals);
        self.count = scan.count;
        self.binary = scan.binary;
        self.has_list = true;
    }

    /// Non-zero entries (needs one representation valid).
    pub fn nonzeros(&self, isa: Isa) -> usize {
        if let Some(n) = self.consumed {
            n
        } else if self.has_list {
            self.count
        } else {
            simd::count_nonzero(isa, self.dense.as_slice())
        }
    }

    /// Copies another buffer of the same length (flatten).
    pub fn copy_from(&mut self, other: &Act) {
        self.has_dense = other.has_dense;
        self.has_list = other.has_list;
        self.binary = other.binary;
        self.count = other.count;
        self.consumed = other.consumed;
        if other.has_dense {
            self.dense
                .padded_mut()
                .copy_from_slice(other.dense.padded_slice());
        }
        if other.has_list {
            self.idx[..other.count].copy_from_slice(&other.idx[..other.count]);
            self.vals[..other.count].copy_from_slice(&other.vals[..other.count]);
        }
    }
}
