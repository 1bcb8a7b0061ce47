//! The instruction sets the project's kernels are compiled for, and the one run-time CPU
//! detection that every engine (the native dense engine, the event engine in f32 and int8)
//! uses to choose among them.
//!
//! Each instruction set stands for a fixed set of CPU features, the union of what any kernel
//! compiled for it enables with `#[target_feature]`: an [`Isa`] that [`Isa::is_supported`]
//! accepts may run every kernel of that instruction set, in any engine. The names
//! ([`Isa::name`], [`Isa::parse`], the serde form) are those of the command line's `--isa` and
//! of the reports: `scalar`, `avx2`, `avx512`.

use serde::{Deserialize, Serialize};

/// Instruction set of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isa {
    /// Portable Rust (whatever the compiler makes of it for the baseline target): the scalar
    /// reference of the event engine, the 4-float array kernels of the native engine.
    Scalar,
    /// 256-bit AVX2 with FMA, POPCNT and BMI1. The event engine keeps products and sums
    /// separate (no fused multiply-add) for exactness; the native engine fuses them.
    Avx2,
    /// 512-bit AVX-512 F, VL and BW, with everything [`Isa::Avx2`] needs (every AVX-512 CPU
    /// has it).
    Avx512,
}

impl Isa {
    /// Every instruction set, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// Every instruction set this CPU can run, narrowest first (for comparing them).
    pub fn supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
    }

    /// The widest instruction set this CPU supports.
    pub fn detect() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|i| i.is_supported())
            .unwrap_or(Isa::Scalar)
    }

    /// `self` if this CPU supports it, otherwise the widest instruction set it has.
    pub fn supported_or_best(self) -> Isa {
        if self.is_supported() {
            self
        } else {
            Isa::detect()
        }
    }

    /// Whether this CPU can run kernels of this instruction set.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("popcnt")
                    && std::arch::is_x86_feature_detected!("bmi1")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.is_supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The name on the command line (`--isa`) and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The instruction set called `s` ([`Isa::name`]), if any.
    pub fn parse(s: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Some(isa));
            let json = serde_json::to_string(&isa).unwrap();
            assert_eq!(json, format!("\"{}\"", isa.name()));
            assert_eq!(serde_json::from_str::<Isa>(&json).unwrap(), isa);
        }
        assert_eq!(Isa::parse("avx3"), None);
        assert_eq!(Isa::parse("generic"), None);
    }

    #[test]
    fn detection_is_the_widest_supported_and_wider_implies_narrower() {
        let supported = Isa::supported();
        assert_eq!(supported[0], Isa::Scalar);
        assert_eq!(supported.last().copied(), Some(Isa::detect()));
        // Supported instruction sets are a prefix of `ALL`: each includes the one before.
        assert_eq!(supported[..], Isa::ALL[..supported.len()]);
        for isa in Isa::ALL {
            let chosen = isa.supported_or_best();
            assert!(chosen.is_supported());
            assert_eq!(chosen == isa, isa.is_supported(), "{isa:?}");
        }
    }
}
