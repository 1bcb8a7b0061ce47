//! Energy **estimate** from operation counts and a per-operation energy table — used when no
//! hardware counter exists, and always labelled `estimate`. Every field name of the result says
//! `estimate`, so it cannot be mistaken for a measurement.
//!
//! Table: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
//! 45 nm, 0.9 V: fp32 MAC 4.6 pJ (mult 3.7 + add 0.9), fp32 add 0.9 pJ, int8 MAC ≈ 0.2 pJ
//! (mult 0.2 + add 0.03; unused: every model here runs in fp32), 64-bit read from an 8 kB SRAM
//! ≈ 10 pJ, 64-bit DRAM access 1.3–2.6 nJ.
//!
//! Model (per sample, one inference):
//! * compute: dense MACs × 4.6 pJ; accumulates (event-driven synaptic ops) × 0.9 pJ; every LIF
//!   membrane update (`U ← β·U + I − S·θ`) × (4.6 + 0.9) pJ (one MAC, one add); other element-wise
//!   ops (ReLU/Tanh, pooling comparisons) × 0.9 pJ;
//! * DRAM: every fp32 weight is read from DRAM once per batch (4 bytes = ½ 64-bit word), shared by
//!   the batch's samples → `params / 2 / batch` accesses × 1.3 nJ (low) … 2.6 nJ (high);
//! * cache: every activation element (the network input and each layer's output, per time step) is
//!   written or read once through an 8 kB-class cache → `activations / 2` accesses × 10 pJ.
//!   Operand reuse inside a layer is assumed to happen in registers (not charged).
//!
//! Static/idle power is not modelled. The result is a lower-bound style figure for comparing
//! models, not a prediction of a wall-socket reading.

use serde::{Deserialize, Serialize};

/// Energy per operation, picojoules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyTable {
    pub name: String,
    pub citation: String,
    pub fp32_mac_pj: f64,
    pub fp32_add_pj: f64,
    pub int8_mac_pj: f64,
    pub sram_8kb_64bit_pj: f64,
    pub dram_64bit_pj_low: f64,
    pub dram_64bit_pj_high: f64,
}

impl EnergyTable {
    /// Horowitz, ISSCC 2014, 45 nm.
    pub fn horowitz_45nm() -> Self {
        EnergyTable {
            name: "horowitz-isscc2014-45nm".into(),
            citation: "M. Horowitz, Computing's energy problem (and what we can do about it), ISSCC 2014, 45 nm".into(),
            fp32_mac_pj: 4.6,
            fp32_add_pj: 0.9,
            int8_mac_pj: 0.2,
            sram_8kb_64bit_pj: 10.0,
            dram_64bit_pj_low: 1300.0,
            dram_64bit_pj_high: 2600.0,
        }
    }
}

/// The work of one inference (per sample) that the estimate charges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// Multiply-accumulates actually performed (dense layers).
    pub macs: f64,
    /// Accumulates of event-driven synaptic operations.
    pub acs: f64,
    /// LIF membrane updates.
    pub membrane_updates: f64,
    /// Other element-wise ops (activations, pooling comparisons).
    pub other_ops: f64,
    /// Learnable fp32 parameters (read once per batch from DRAM).
    pub params: f64,
    /// Activation elements moved through the cache (input + every layer output, all steps).
    pub activations: f64,
    /// Samples per batch sharing one weight read.
    pub batch: usize,
}

/// An energy estimate per inference, joules. All fields are estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyEstimate {
    /// Always `"estimate"`.
    pub label: String,
    pub table: EnergyTable,
    /// The memory-traffic and compute model, in words.
    pub model: String,
    pub work: Work,
    pub compute_j_estimate: f64,
    pub cache_j_estimate: f64,
    pub dram_j_estimate_low: f64,
    pub dram_j_estimate_high: f64,
    /// compute + cache + DRAM (low).
    pub joules_per_inference_estimate_low: f64,
    /// compute + cache + DRAM (high).
    pub joules_per_inference_estimate_high: f64,
}

/// One-line statement of the memory/compute model (stored with every estimate).
pub const ESTIMATE_MODEL: &str = "compute: MACs x fp32 MAC + ACs x fp32 add + LIF updates x (MAC + add) + other ops x fp32 add; \
DRAM: fp32 weights read once per batch (params/2 64-bit accesses / batch); cache: every activation element \
(input and each layer output, per step) once through an 8 kB cache (elements/2 64-bit accesses); static power not modelled";

/// Estimates energy per inference for `work` with `table`.
pub fn estimate(work: &Work, table: &EnergyTable) -> EnergyEstimate {
    let pj = 1e-12;
    let compute = (work.macs * table.fp32_mac_pj
        + work.acs * table.fp32_add_pj
        + work.membrane_updates * (table.fp32_mac_pj + table.fp32_add_pj)
        + work.other_ops * table.fp32_add_pj)
        * pj;
    let weight_words = work.params / 2.0 / work.batch.max(1) as f64;
    let dram_low = weight_words * table.dram_64bit_pj_low * pj;
    let dram_high = weight_words * table.dram_64bit_pj_high * pj;
    let cache = work.activations / 2.0 * table.sram_8kb_64bit_pj * pj;
    EnergyEstimate {
        label: "estimate".into(),
        table: table.clone(),
        model: ESTIMATE_MODEL.into(),
        work: work.clone(),
        compute_j_estimate: compute,
        cache_j_estimate: cache,
        dram_j_estimate_low: dram_low,
        dram_j_estimate_high: dram_high,
        joules_per_inference_estimate_low: compute + cache + dram_low,
        joules_per_inference_estimate_high: compute + cache + dram_high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_matches_hand_computation() {
        // 784-1024-1024-10 MLP: 1,861,632 MACs, 1,863,690 params (weights + biases),
        // other ops 2048 ReLUs, activations 784 + 1024·4 + 10 = 4890 (input, fc1, relu1, fc2, relu2, fc3)
        let w = Work {
            macs: 1_861_632.0,
            acs: 0.0,
            membrane_updates: 0.0,
            other_ops: 2048.0,
            params: 1_863_690.0,
            activations: 4890.0,
            batch: 1,
        };
        let e = estimate(&w, &EnergyTable::horowitz_45nm());
        // compute: 1,861,632·4.6 + 2048·0.9 = 8,563,507.2 + 1,843.2 = 8,565,350.4 pJ
        assert!((e.compute_j_estimate - 8_565_350.4e-12).abs() < 1e-15);
        // DRAM: 931,845 words × 1.3 nJ = 1.2113985 mJ; × 2.6 nJ = 2.422797 mJ
        assert!((e.dram_j_estimate_low - 1.2113985e-3).abs() < 1e-12);
        assert!((e.dram_j_estimate_high - 2.422797e-3).abs() < 1e-12);
        // cache: 2445 words × 10 pJ = 24,450 pJ
        assert!((e.cache_j_estimate - 24_450e-12).abs() < 1e-16);
        let total = 8_565_350.4e-12 + 24_450e-12 + 1.2113985e-3;
        assert!((e.joules_per_inference_estimate_low - total).abs() < 1e-12);
        assert_eq!(e.label, "estimate");
        // a batch of 64 shares the weight read
        let e64 = estimate(&Work { batch: 64, ..w }, &EnergyTable::horowitz_45nm());
        assert!((e64.dram_j_estimate_low - 1.2113985e-3 / 64.0).abs() < 1e-12);
    }

    #[test]
    fn spiking_work_is_charged_per_operation_kind() {
        let w = Work {
            acs: 1000.0,
            membrane_updates: 100.0,
            batch: 1,
            ..Default::default()
        };
        let e = estimate(&w, &EnergyTable::horowitz_45nm());
        // 1000 × 0.9 + 100 × 5.5 = 1450 pJ
        assert!((e.compute_j_estimate - 1450e-12).abs() < 1e-18);
        assert_eq!(e.dram_j_estimate_high, 0.0);
    }
}
