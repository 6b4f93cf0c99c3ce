//! Run-time selection of AVX2 + FMA code for the hand-written hot loops.
//!
//! The workspace builds for the generic x86-64 target (a binary that runs on any
//! x86-64), whose code is 2-lane SSE2 without fused multiply-add. faer picks its
//! kernels at run time; the loops written here get the same treatment: a kernel is
//! written once as an `#[inline(always)]` function generic over `const FMA: bool`,
//! compiled a second time inside a `#[target_feature(enable = "avx2,fma")]` wrapper,
//! and [`has_avx2_fma`] chooses which one runs (the `avx2_fma_dispatch!` macro writes the pair).
//! Results can differ in the last bits between CPUs with and without AVX2 + FMA
//! (fused rounding); on one kind of CPU they are reproducible.

/// `a·b + c`, fused when `FMA` (a kernel compiled with the FMA feature); without it,
/// `mul_add` would call the slow software fma, so the plain expression is used.
#[inline(always)]
pub fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Whether this CPU runs AVX2 and FMA instructions (detected once).
#[cfg(target_arch = "x86_64")]
pub fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// Whether this CPU runs AVX2 and FMA instructions (never, off x86-64).
#[cfg(not(target_arch = "x86_64"))]
pub fn has_avx2_fma() -> bool {
    false
}

/// Defines `fn NAME(args) -> R` that runs `IMPL::<true>(args)` compiled for AVX2 + FMA
/// when the CPU has them and `IMPL::<false>(args)` (the baseline build) otherwise.
/// `IMPL` is an `#[inline(always)] fn<const FMA: bool>` of the same arguments, written
/// with [`madd`] so that the FMA build fuses its multiply-adds.
///
/// ```text
/// avx2_fma_dispatch! {
///     /// Doc of the public kernel.
///     pub fn axpy_kernel(a: f64, x: &[f64], y: &mut [f64]) => axpy_impl
/// }
/// ```
#[macro_export]
macro_rules! avx2_fma_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $imp:ident) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) $(-> $ret)? {
                    $imp::<true>($($arg),*)
                }
                if $crate::simd::has_avx2_fma() {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    return unsafe { fast($($arg),*) };
                }
            }
            $imp::<false>($($arg),*)
        }
    };
}
