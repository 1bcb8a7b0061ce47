//! Energy **estimate** from operation counts and a per-operation energy table: the energy an
//! *ideal 45 nm accelerator* would spend on these operations — **not this machine's** energy, and
//! never a measurement. Used when no hardware counter exists, and always labelled `estimate`;
//! every joule field's name says `estimate`, so it cannot be mistaken for a measurement.
//!
//! Table: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
//! 45 nm, 0.9 V: fp32 MAC 4.6 pJ (mult 3.7 + add 0.9), fp32 add 0.9 pJ, int8 MAC ≈ 0.2 pJ
//! (mult 0.2 + add 0.03), int8 add 0.03 pJ; per 64-bit access: 8 kB SRAM 10 pJ, 32 kB SRAM 20 pJ,
//! 1 MB SRAM 100 pJ, DRAM 1.3–2.6 nJ.
//!
//! Model (per sample, one inference):
//! * compute, fp32: dense MACs × 4.6 pJ; accumulates (event-driven synaptic ops) × 0.9 pJ; every
//!   LIF membrane update (`U ← β·U + I − S·θ`) × (4.6 + 0.9) pJ (one MAC, one add); other
//!   element-wise ops (ReLU/Tanh, pooling comparisons) × 0.9 pJ. int8 ([`Precision::Int8`], the
//!   fixed-point engine): the same with the int8 MAC (0.2 pJ) and the int8 add (0.03 pJ);
//! * memory is charged at the level where the working set fits, per 64-bit access. A cache of
//!   size S costs 10 pJ (S ≤ 8 kB), 20 pJ (≤ 32 kB), 100 pJ (≤ 1 MB); a larger cache (e.g. a
//!   32 MB L3) has no Horowitz figure and is charged 100 pJ (low, the 1 MB figure) … 1.3 nJ
//!   (high, DRAM low). A working set no cache holds goes to DRAM, 1.3 nJ … 2.6 nJ;
//! * weights: working set `params × bytes per weight` (4 fp32, 1 int8), read once per batch from
//!   the smallest cache level that holds it (or DRAM) → `params × bytes / 8 / batch` accesses;
//! * activations: every activation element (the network input and each layer's output, per time
//!   step; 4 bytes fp32, 2 bytes int8/int16) is moved once, through the level that holds
//!   `activations × bytes × batch` → `activations × bytes / 8` accesses. Operand reuse inside a
//!   layer is assumed to happen in registers (not charged);
//! * no cache information (empty cache list: non-Linux, unreadable sysfs): weights at DRAM,
//!   activations at the 8 kB figure, and the result says "cache sizes unknown".
//!
//! Static/idle power is not modelled. The result is a lower-bound style figure for comparing
//! models, not a prediction of a wall-socket reading.

use serde::{Deserialize, Serialize};

use crate::caches::{fmt_bytes, CacheLevel};

/// Energy per operation, picojoules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyTable {
    pub name: String,
    pub citation: String,
    pub fp32_mac_pj: f64,
    pub fp32_add_pj: f64,
    pub int8_mac_pj: f64,
    pub int8_add_pj: f64,
    pub sram_8kb_64bit_pj: f64,
    pub sram_32kb_64bit_pj: f64,
    pub sram_1mb_64bit_pj: f64,
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
            int8_add_pj: 0.03,
            sram_8kb_64bit_pj: 10.0,
            sram_32kb_64bit_pj: 20.0,
            sram_1mb_64bit_pj: 100.0,
            dram_64bit_pj_low: 1300.0,
            dram_64bit_pj_high: 2600.0,
        }
    }
}

/// Arithmetic and storage precision of the charged work: the engine's own number format.
pub use joulebench_inference::event::Precision;

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
    /// Learnable parameters (read once per batch).
    pub params: f64,
    /// Activation elements moved (input + every layer output, all steps).
    pub activations: f64,
    /// Samples per batch sharing one weight read.
    pub batch: usize,
    /// fp32 or int8 arithmetic/storage.
    #[serde(default)]
    pub precision: Precision,
}

/// An energy estimate per inference, joules: what an ideal 45 nm accelerator would spend on the
/// work, not this machine. All fields are estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyEstimate {
    /// Always `"estimate"`.
    pub label: String,
    /// [`ESTIMATE_WHAT`]: what the number is (and is not).
    pub what: String,
    pub table: EnergyTable,
    /// The memory-traffic and compute model, in words ([`ESTIMATE_MODEL`]).
    pub model: String,
    pub work: Work,
    /// The cache levels the memory was charged against (empty: cache sizes unknown).
    pub caches: Vec<CacheLevel>,
    /// Where the weights were charged, e.g. `"L2 512 KiB: 100 pJ per 64-bit access (Horowitz
    /// 1 MB SRAM); working set 390.6 KiB"` or `"DRAM: 1.3–2.6 nJ per 64-bit access; …"`.
    pub memory_level_weights: String,
    /// Where the activations were charged (same form).
    pub memory_level_activations: String,
    pub compute_j_estimate: f64,
    pub weights_j_estimate_low: f64,
    pub weights_j_estimate_high: f64,
    pub activations_j_estimate_low: f64,
    pub activations_j_estimate_high: f64,
    /// compute + weights (low) + activations (low).
    pub joules_per_inference_estimate_low: f64,
    /// compute + weights (high) + activations (high).
    pub joules_per_inference_estimate_high: f64,
}

impl EnergyEstimate {
    /// As a figure: the low end, with the high end as the band's top.
    pub fn figure(&self) -> joulebench_models::EnergyFigure {
        joulebench_models::EnergyFigure::new(
            joulebench_models::EnergyKind::Estimate,
            self.table.name.clone(),
            self.joules_per_inference_estimate_low,
            self.joules_per_inference_estimate_low,
            self.joules_per_inference_estimate_high,
            format!(
                "{}; weights: {}; activations: {}; {}",
                self.what, self.memory_level_weights, self.memory_level_activations, self.model
            ),
        )
    }
}

/// What the estimate is, in one line (stored with every estimate).
pub const ESTIMATE_WHAT: &str =
    "the energy an ideal 45 nm accelerator (Horowitz, ISSCC 2014) would spend on these \
operations — not this machine's energy, and not a measurement";

/// One-line statement of the memory/compute model (stored with every estimate).
pub const ESTIMATE_MODEL: &str = "ideal 45 nm accelerator, not this machine: \
compute: MACs x MAC + ACs x add + LIF updates x (MAC + add) + other ops x add (fp32: 4.6/0.9 pJ, int8: 0.2/0.03 pJ); \
memory per 64-bit access at the level where the working set fits (cache <= 8 kB 10 pJ, <= 32 kB 20 pJ, <= 1 MB 100 pJ, \
larger caches 100 pJ (low) .. 1.3 nJ (high), DRAM 1.3 .. 2.6 nJ): weights (params x 4 B fp32 / 1 B int8) read once per batch \
from the smallest cache that holds them (params x bytes / 8 / batch accesses), activations (input and each layer output, \
per step; 4 B fp32, 2 B int8) moved once through the level that holds activations x bytes x batch (activations x bytes / 8 \
accesses); no cache sizes: weights at DRAM, activations at 8 kB; static power not modelled";

/// Cost of one 64-bit access at the level holding `bytes`: (low pJ, high pJ, description).
fn memory_level(bytes: f64, caches: &[CacheLevel], table: &EnergyTable) -> (f64, f64, String) {
    let ws = format!("working set {}", fmt_bytes(bytes.max(0.0).round() as u64));
    let holder = caches
        .iter()
        .filter(|c| c.size_bytes as f64 >= bytes)
        .min_by_key(|c| (c.size_bytes, c.level));
    let Some(c) = holder else {
        let why = if caches.is_empty() {
            "cache sizes unknown"
        } else {
            "larger than every cache"
        };
        return (
            table.dram_64bit_pj_low,
            table.dram_64bit_pj_high,
            format!(
                "DRAM: {}–{} per 64-bit access; {ws} ({why})",
                fmt_pj_bare(table.dram_64bit_pj_low),
                fmt_pj(table.dram_64bit_pj_high)
            ),
        );
    };
    let (low, high, what) = if c.size_bytes <= 8 * 1024 {
        let e = table.sram_8kb_64bit_pj;
        (e, e, "Horowitz 8 kB SRAM".to_string())
    } else if c.size_bytes <= 32 * 1024 {
        let e = table.sram_32kb_64bit_pj;
        (e, e, "Horowitz 32 kB SRAM".to_string())
    } else if c.size_bytes <= 1024 * 1024 {
        let e = table.sram_1mb_64bit_pj;
        (e, e, "Horowitz 1 MB SRAM".to_string())
    } else {
        (
            table.sram_1mb_64bit_pj,
            table.dram_64bit_pj_low,
            "no Horowitz figure for a cache this large: low = 1 MB SRAM, high = DRAM low"
                .to_string(),
        )
    };
    let cost = if low == high {
        fmt_pj(low)
    } else {
        format!("{}–{}", fmt_pj(low), fmt_pj(high))
    };
    (
        low,
        high,
        format!("{}: {cost} per 64-bit access ({what}); {ws}", c.describe()),
    )
}

/// `100 pJ`, `1.3 nJ`.
fn fmt_pj(pj: f64) -> String {
    if pj >= 1000.0 {
        format!("{} nJ", pj / 1000.0)
    } else {
        format!("{pj} pJ")
    }
}

/// The number of [`fmt_pj`] without its unit (`1.3` of `1.3–2.6 nJ`).
fn fmt_pj_bare(pj: f64) -> String {
    if pj >= 1000.0 {
        format!("{}", pj / 1000.0)
    } else {
        format!("{pj} pJ")
    }
}

/// Estimates energy per inference for `work` with `table`, charging memory against `caches`
/// (this machine's data caches, [`crate::caches::read_caches`]; empty: cache sizes unknown).
pub fn estimate(work: &Work, table: &EnergyTable, caches: &[CacheLevel]) -> EnergyEstimate {
    let pj = 1e-12;
    let (mac, add) = match work.precision {
        Precision::F32 => (table.fp32_mac_pj, table.fp32_add_pj),
        Precision::Int8 => (table.int8_mac_pj, table.int8_add_pj),
    };
    let compute = (work.macs * mac
        + work.acs * add
        + work.membrane_updates * (mac + add)
        + work.other_ops * add)
        * pj;
    let batch = work.batch.max(1) as f64;

    let weight_bytes = work.params * work.precision.weight_bytes();
    let (w_low, w_high, w_level) = memory_level(weight_bytes, caches, table);
    let weight_accesses = weight_bytes / 8.0 / batch;

    let act_bytes = work.activations * work.precision.activation_bytes();
    let (a_low, a_high, a_level) = if caches.is_empty() {
        let e = table.sram_8kb_64bit_pj;
        (
            e,
            e,
            format!(
                "{} per 64-bit access (Horowitz 8 kB SRAM; cache sizes unknown)",
                fmt_pj(e)
            ),
        )
    } else {
        memory_level(act_bytes * batch, caches, table)
    };
    let act_accesses = act_bytes / 8.0;

    let weights_low = weight_accesses * w_low * pj;
    let weights_high = weight_accesses * w_high * pj;
    let acts_low = act_accesses * a_low * pj;
    let acts_high = act_accesses * a_high * pj;
    EnergyEstimate {
        label: "estimate".into(),
        what: ESTIMATE_WHAT.into(),
        table: table.clone(),
        model: ESTIMATE_MODEL.into(),
        work: work.clone(),
        caches: caches.to_vec(),
        memory_level_weights: w_level,
        memory_level_activations: a_level,
        compute_j_estimate: compute,
        weights_j_estimate_low: weights_low,
        weights_j_estimate_high: weights_high,
        activations_j_estimate_low: acts_low,
        activations_j_estimate_high: acts_high,
        joules_per_inference_estimate_low: compute + weights_low + acts_low,
        joules_per_inference_estimate_high: compute + weights_high + acts_high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;

    fn cache(level: u8, size_bytes: u64) -> CacheLevel {
        CacheLevel {
            level,
            kind: if level == 1 { "Data" } else { "Unified" }.into(),
            size_bytes,
        }
    }

    /// This machine: L1d 32K, L2 512K, L3 32768K.
    fn this_machine() -> Vec<CacheLevel> {
        vec![cache(1, 32 * K), cache(2, 512 * K), cache(3, 32 * K * K)]
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-18)
    }

    /// 784-1024-1024-10 MLP: 1,861,632 MACs, 1,863,690 params (weights + biases),
    /// other ops 2048 ReLUs, activations 784 + 1024·4 + 10 = 4890 (input, fc1, relu1, fc2, relu2, fc3).
    fn mlp() -> Work {
        Work {
            macs: 1_861_632.0,
            acs: 0.0,
            membrane_updates: 0.0,
            other_ops: 2048.0,
            params: 1_863_690.0,
            activations: 4890.0,
            batch: 1,
            precision: Precision::F32,
        }
    }

    #[test]
    fn empty_caches_reproduce_the_dram_charge() {
        let w = mlp();
        let e = estimate(&w, &EnergyTable::horowitz_45nm(), &[]);
        // compute: 1,861,632·4.6 + 2048·0.9 = 8,563,507.2 + 1,843.2 = 8,565,350.4 pJ
        assert!(close(e.compute_j_estimate, 8_565_350.4e-12));
        // weights at DRAM: 1,863,690·4 B / 8 = 931,845 words × 1.3 nJ = 1.2113985 mJ; × 2.6 nJ = 2.422797 mJ
        assert!(close(e.weights_j_estimate_low, 1.2113985e-3));
        assert!(close(e.weights_j_estimate_high, 2.422797e-3));
        // activations at 8 kB: 4890·4 B / 8 = 2445 words × 10 pJ = 24,450 pJ
        assert!(close(e.activations_j_estimate_low, 24_450e-12));
        assert!(close(e.activations_j_estimate_high, 24_450e-12));
        let total = 8_565_350.4e-12 + 24_450e-12 + 1.2113985e-3;
        assert!(close(e.joules_per_inference_estimate_low, total));
        assert_eq!(e.label, "estimate");
        assert_eq!(e.what, ESTIMATE_WHAT);
        assert!(e.what.contains("45 nm") && e.what.contains("not this machine"));
        assert!(e.model.contains("not this machine"));
        assert!(
            e.memory_level_weights
                .starts_with("DRAM: 1.3–2.6 nJ per 64-bit access")
                && e.memory_level_weights.contains("cache sizes unknown"),
            "{}",
            e.memory_level_weights
        );
        assert!(e.memory_level_activations.contains("cache sizes unknown"));
        assert!(e.caches.is_empty());
        // a batch of 64 shares the weight read
        let e64 = estimate(&Work { batch: 64, ..w }, &EnergyTable::horowitz_45nm(), &[]);
        assert!(close(e64.weights_j_estimate_low, 1.2113985e-3 / 64.0));
        assert!(close(e64.activations_j_estimate_low, 24_450e-12));
    }

    #[test]
    fn mlp_weights_on_this_machine_land_in_l3_and_in_dram_without_a_big_l3() {
        let t = EnergyTable::horowitz_45nm();
        // 1,863,690 params × 4 B = 7,454,760 B (7.1 MiB): more than L2 (512 KiB), less than the
        // 32 MiB L3 → charged 100 pJ (low) … 1.3 nJ (high) per access, 931,845 accesses:
        // low 93,184,500 pJ = 93.1845 µJ, high 931,845 × 1.3 nJ = 1.2113985 mJ (the old DRAM low).
        let e = estimate(&mlp(), &t, &this_machine());
        assert!(close(e.weights_j_estimate_low, 93.1845e-6));
        assert!(close(e.weights_j_estimate_high, 1.2113985e-3));
        assert!(
            e.memory_level_weights.starts_with(
                "L3 32 MiB: 100 pJ–1.3 nJ per 64-bit access (no Horowitz figure for a cache this large"
            ),
            "{}",
            e.memory_level_weights
        );
        // activations: 4890 × 4 B = 19,560 B fits the 32 KiB L1 → 20 pJ × 2445 = 48,900 pJ
        assert!(close(e.activations_j_estimate_low, 48_900e-12));
        assert!(close(e.activations_j_estimate_high, 48_900e-12));
        assert!(e
            .memory_level_activations
            .starts_with("L1 32 KiB: 20 pJ per 64-bit access (Horowitz 32 kB SRAM)"));
        assert_eq!(e.caches, this_machine());
        // totals: 8,565,350.4 + 93,184,500 + 48,900 pJ = 101,798,750.4 pJ (low);
        //         8,565,350.4 + 1,211,398,500 + 48,900 pJ = 1,220,012,750.4 pJ (high)
        assert!(close(
            e.joules_per_inference_estimate_low,
            101_798_750.4e-12
        ));
        assert!(close(
            e.joules_per_inference_estimate_high,
            1_220_012_750.4e-12
        ));

        // with a 4 MiB L3 nothing holds 7,454,760 B → DRAM, the old charge
        let small = [cache(1, 32 * K), cache(2, 512 * K), cache(3, 4 * K * K)];
        let e = estimate(&mlp(), &t, &small);
        assert!(close(e.weights_j_estimate_low, 1.2113985e-3));
        assert!(close(e.weights_j_estimate_high, 2.422797e-3));
        assert!(e
            .memory_level_weights
            .starts_with("DRAM: 1.3–2.6 nJ per 64-bit access"));
        assert!(e.memory_level_weights.contains("larger than every cache"));

        // batch 64: weights 931,845 / 64 accesses; activations 19,560 B × 64 = 1,251,840 B,
        // more than L2 → L3: 2445 accesses × 100 pJ = 244,500 pJ (low), × 1.3 nJ = 3,178,500 pJ (high)
        let e = estimate(&Work { batch: 64, ..mlp() }, &t, &this_machine());
        assert!(close(e.weights_j_estimate_low, 93.1845e-6 / 64.0));
        assert!(close(e.activations_j_estimate_low, 244_500e-12));
        assert!(close(e.activations_j_estimate_high, 3_178_500e-12));
        assert!(e.memory_level_activations.starts_with("L3 32 MiB"));
    }

    #[test]
    fn a_100k_param_fp32_model_lands_in_l2() {
        // 100,000 params × 4 B = 400,000 B (390.6 KiB) > 32 KiB L1, ≤ 512 KiB L2 (≤ 1 MB → 100 pJ);
        // 400,000 / 8 = 50,000 accesses × 100 pJ = 5,000,000 pJ = 5 µJ, low = high
        let w = Work {
            params: 100_000.0,
            batch: 1,
            ..Default::default()
        };
        let e = estimate(&w, &EnergyTable::horowitz_45nm(), &this_machine());
        assert!(close(e.weights_j_estimate_low, 5e-6));
        assert!(close(e.weights_j_estimate_high, 5e-6));
        assert_eq!(
            e.memory_level_weights,
            "L2 512 KiB: 100 pJ per 64-bit access (Horowitz 1 MB SRAM); working set 390.6 KiB"
        );
        assert_eq!(e.compute_j_estimate, 0.0);
    }

    #[test]
    fn an_int8_19m_param_model_lands_in_l3() {
        // 1,900,000 params × 1 B = 1.9 MB (1.8 MiB) > 512 KiB L2, ≤ 32 MiB L3 → 100 pJ … 1.3 nJ;
        // 1,900,000 / 8 = 237,500 accesses: low 23,750,000 pJ = 23.75 µJ, high 308,750,000 pJ = 308.75 µJ
        let w = Work {
            params: 1_900_000.0,
            activations: 4890.0,
            batch: 1,
            precision: Precision::Int8,
            ..Default::default()
        };
        let e = estimate(&w, &EnergyTable::horowitz_45nm(), &this_machine());
        assert!(close(e.weights_j_estimate_low, 23.75e-6));
        assert!(close(e.weights_j_estimate_high, 308.75e-6));
        assert!(e
            .memory_level_weights
            .starts_with("L3 32 MiB: 100 pJ–1.3 nJ"));
        // activations, 2 B each: 4890 × 2 = 9,780 B in L1 (20 pJ); 9,780 / 8 = 1222.5 accesses
        // × 20 pJ = 24,450 pJ
        assert!(close(e.activations_j_estimate_low, 24_450e-12));
        // the same model in fp32 (7.6 MB) is still in L3, 4× the accesses
        let f = estimate(
            &Work {
                precision: Precision::F32,
                ..w
            },
            &EnergyTable::horowitz_45nm(),
            &this_machine(),
        );
        assert!(close(f.weights_j_estimate_low, 4.0 * 23.75e-6));
    }

    #[test]
    fn int8_compute_uses_the_int8_mac_and_add() {
        let w = Work {
            macs: 1000.0,
            acs: 1000.0,
            membrane_updates: 100.0,
            other_ops: 10.0,
            batch: 1,
            precision: Precision::Int8,
            ..Default::default()
        };
        let e = estimate(&w, &EnergyTable::horowitz_45nm(), &this_machine());
        // 1000 × 0.2 + 1000 × 0.03 + 100 × (0.2 + 0.03) + 10 × 0.03 = 200 + 30 + 23 + 0.3 = 253.3 pJ
        assert!(close(e.compute_j_estimate, 253.3e-12));
        // fp32: 1000 × 4.6 + 1000 × 0.9 + 100 × 5.5 + 10 × 0.9 = 4600 + 900 + 550 + 9 = 6059 pJ
        let f = estimate(
            &Work {
                precision: Precision::F32,
                ..w
            },
            &EnergyTable::horowitz_45nm(),
            &this_machine(),
        );
        assert!(close(f.compute_j_estimate, 6059e-12));
    }

    #[test]
    fn spiking_work_is_charged_per_operation_kind() {
        let w = Work {
            acs: 1000.0,
            membrane_updates: 100.0,
            batch: 1,
            ..Default::default()
        };
        let e = estimate(&w, &EnergyTable::horowitz_45nm(), &[]);
        // 1000 × 0.9 + 100 × 5.5 = 1450 pJ
        assert!(close(e.compute_j_estimate, 1450e-12));
        assert_eq!(e.weights_j_estimate_high, 0.0);
    }

    #[test]
    fn cache_size_thresholds_follow_horowitz() {
        let t = EnergyTable::horowitz_45nm();
        let c = [
            cache(1, 8 * K),
            cache(2, 32 * K),
            cache(3, K * K),
            cache(4, 2 * K * K),
        ];
        // weights in 8-byte words; one word per access at batch 1
        let per_access = |bytes: f64| {
            let e = estimate(
                &Work {
                    params: bytes / 4.0,
                    batch: 1,
                    ..Default::default()
                },
                &t,
                &c,
            );
            let words = bytes / 8.0;
            (
                e.weights_j_estimate_low / words / 1e-12,
                e.weights_j_estimate_high / words / 1e-12,
            )
        };
        let eq = |(a, b): (f64, f64), (x, y): (f64, f64)| close(a, x) && close(b, y);
        assert!(eq(per_access(8192.0), (10.0, 10.0))); // exactly 8 kB fits the 8 kB level
        assert!(eq(per_access(8200.0), (20.0, 20.0)));
        assert!(eq(per_access(32768.0), (20.0, 20.0)));
        assert!(eq(per_access(40000.0), (100.0, 100.0)));
        assert!(eq(per_access(1_048_576.0), (100.0, 100.0)));
        assert!(eq(per_access(1_048_584.0), (100.0, 1300.0)));
        assert!(eq(per_access(4_000_000.0), (1300.0, 2600.0)));
    }

    #[test]
    fn precision_serializes_snake_case_and_defaults_to_f32() {
        assert_eq!(serde_json::to_string(&Precision::Int8).unwrap(), "\"int8\"");
        let w: Work = serde_json::from_str(
            r#"{"macs":1,"acs":0,"membrane_updates":0,"other_ops":0,"params":0,"activations":0,"batch":1}"#,
        )
        .unwrap();
        assert_eq!(w.precision, Precision::F32);
    }
}
