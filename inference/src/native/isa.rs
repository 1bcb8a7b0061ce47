//! Instruction sets the native kernels are compiled for, and the one macro that compiles a
//! kernel once per instruction set.
//!
//! Each kernel is written once, inside a `macro_rules!` that takes a vector width and the
//! primitive vector operations; `for_each_isa!` instantiates it as one module per instruction
//! set (AVX-512 and AVX2+FMA with `core::arch` intrinsics under `#[target_feature]`, and a
//! portable 4-float version), and `dispatch!` calls the module matching an [`Isa`] picked by
//! run-time CPU detection.

/// Instruction set the kernels were compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Generic,
    Avx2Fma,
    Avx512,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("avx2")
            {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2Fma;
            }
        }
        Isa::Generic
    }

    /// `self` if this CPU supports it, otherwise the best instruction set it has.
    pub fn supported_or_best(self) -> Isa {
        let best = Isa::detect();
        match (self, best) {
            (Isa::Avx512, Isa::Avx512)
            | (Isa::Avx2Fma, Isa::Avx512 | Isa::Avx2Fma)
            | (Isa::Generic, _) => self,
            _ => best,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Avx512 => "avx512",
        }
    }
}

/// Invokes the kernel-generating macro `$kernels` once per instruction set, as
/// `$kernels! { #[target_feature(...)] mod NAME { lanes: .., regs: .., zero: .., splat: ..,
/// load: .., store: .., fma: .., add: .., max: .. } }`, where `lanes` is the f32 lanes of one
/// vector, `regs` the vector registers, and the operations are `unsafe fn`s on that vector type:
/// `zero() → V`, `splat(f32) → V`, `load(*const f32) → V`, `store(*mut f32, V)`,
/// `fma(a, b, c) → a·b + c`, `add(a, b)`, `max(a, b)`. The modules are `avx512`, `avx2`
/// (x86-64 only) and `generic` (portable 4-float arrays, unfused multiply-add); call them
/// through `dispatch!`.
macro_rules! for_each_isa {
    ($kernels:ident) => {
        #[cfg(target_arch = "x86_64")]
        $kernels! {
            #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
            mod avx512 {
                lanes: 16,
                regs: 32,
                zero: std::arch::x86_64::_mm512_setzero_ps,
                splat: std::arch::x86_64::_mm512_set1_ps,
                load: std::arch::x86_64::_mm512_loadu_ps,
                store: std::arch::x86_64::_mm512_storeu_ps,
                fma: std::arch::x86_64::_mm512_fmadd_ps,
                add: std::arch::x86_64::_mm512_add_ps,
                max: std::arch::x86_64::_mm512_max_ps,
            }
        }
        #[cfg(target_arch = "x86_64")]
        $kernels! {
            #[target_feature(enable = "avx2,fma")]
            mod avx2 {
                lanes: 8,
                regs: 16,
                zero: std::arch::x86_64::_mm256_setzero_ps,
                splat: std::arch::x86_64::_mm256_set1_ps,
                load: std::arch::x86_64::_mm256_loadu_ps,
                store: std::arch::x86_64::_mm256_storeu_ps,
                fma: std::arch::x86_64::_mm256_fmadd_ps,
                add: std::arch::x86_64::_mm256_add_ps,
                max: std::arch::x86_64::_mm256_max_ps,
            }
        }
        $kernels! {
            mod generic {
                lanes: 4,
                regs: 16,
                zero: $crate::native::isa::portable::zero,
                splat: $crate::native::isa::portable::splat,
                load: $crate::native::isa::portable::load,
                store: $crate::native::isa::portable::store,
                fma: $crate::native::isa::portable::fma,
                add: $crate::native::isa::portable::add,
                max: $crate::native::isa::portable::max,
            }
        }
    };
}
pub(crate) use for_each_isa;

/// `dispatch!(isa, f(args…))` calls `avx512::f`, `avx2::f` or `generic::f` (the modules
/// `for_each_isa!` generated in the calling module) for `isa`.
macro_rules! dispatch {
    ($isa:expr, $f:ident($($a:expr),* $(,)?)) => {
        match $isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` only comes from run-time detection of its features.
            $crate::native::isa::Isa::Avx512 => unsafe { avx512::$f($($a),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2Fma` only comes from run-time detection of its features.
            $crate::native::isa::Isa::Avx2Fma => unsafe { avx2::$f($($a),*) },
            // SAFETY: the generic kernels need no target features.
            _ => unsafe { generic::$f($($a),*) },
        }
    };
}
pub(crate) use dispatch;

/// Portable 4-float vectors for the generic kernels (no fused multiply-add).
pub(crate) mod portable {
    pub type V4 = [f32; 4];
    #[inline(always)]
    pub unsafe fn zero() -> V4 {
        [0.0; 4]
    }
    #[inline(always)]
    pub unsafe fn splat(v: f32) -> V4 {
        [v; 4]
    }
    /// # Safety
    /// `p` points to 4 readable floats.
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V4 {
        unsafe { p.cast::<V4>().read_unaligned() }
    }
    /// # Safety
    /// `p` points to 4 writable floats.
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V4) {
        unsafe { p.cast::<V4>().write_unaligned(v) }
    }
    #[inline(always)]
    pub unsafe fn fma(a: V4, b: V4, c: V4) -> V4 {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    pub unsafe fn add(a: V4, b: V4) -> V4 {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    pub unsafe fn max(a: V4, b: V4) -> V4 {
        std::array::from_fn(|i| a[i].max(b[i]))
    }
}
