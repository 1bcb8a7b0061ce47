//! The one macro that compiles a native kernel once per instruction set
//! ([`Isa`](crate::Isa)), and the dispatch to the version of the instruction set chosen at
//! run time.
//!
//! Each kernel is written once, inside a `macro_rules!` that takes a vector width and the
//! primitive vector operations; `for_each_isa!` instantiates it as one module per instruction
//! set (AVX-512 and AVX2+FMA with `core::arch` intrinsics under `#[target_feature]`, and a
//! portable 4-float version), and `dispatch!` calls the module matching an `Isa` picked by
//! run-time CPU detection ([`Isa::detect`](crate::Isa::detect)).

/// Invokes the kernel-generating macro `$kernels` once per instruction set, as
/// `$kernels! { #[target_feature(...)] mod NAME { lanes: .., regs: .., zero: .., splat: ..,
/// load: .., store: .., fma: .., add: .., max: .. } }`, where `lanes` is the f32 lanes of one
/// vector, `regs` the vector registers, and the operations are `unsafe fn`s on that vector type:
/// `zero() → V`, `splat(f32) → V`, `load(*const f32) → V`, `store(*mut f32, V)`,
/// `fma(a, b, c) → a·b + c`, `add(a, b)`, `max(a, b)`. The modules are `avx512`, `avx2`
/// (x86-64 only) and `scalar` (portable 4-float arrays, unfused multiply-add); call them
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
            mod scalar {
                lanes: 4,
                regs: 16,
                zero: $crate::native::simd::portable::zero,
                splat: $crate::native::simd::portable::splat,
                load: $crate::native::simd::portable::load,
                store: $crate::native::simd::portable::store,
                fma: $crate::native::simd::portable::fma,
                add: $crate::native::simd::portable::add,
                max: $crate::native::simd::portable::max,
            }
        }
    };
}
pub(crate) use for_each_isa;

/// `dispatch!(isa, f(args…))` calls `avx512::f`, `avx2::f` or `scalar::f` (the modules
/// `for_each_isa!` generated in the calling module) for `isa`.
macro_rules! dispatch {
    ($isa:expr, $f:ident($($a:expr),* $(,)?)) => {
        match $isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` only comes from run-time detection of its features.
            $crate::Isa::Avx512 => unsafe { avx512::$f($($a),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` only comes from run-time detection of its features.
            $crate::Isa::Avx2 => unsafe { avx2::$f($($a),*) },
            // SAFETY: the scalar kernels need no target features.
            _ => unsafe { scalar::$f($($a),*) },
        }
    };
}
pub(crate) use dispatch;

/// Portable 4-float vectors for the scalar kernels (no fused multiply-add).
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
