//! Run-time choice of SIMD width for the element-wise kernels (Gaussian noise, SGLD, Adam).
//! The binary is built for baseline x86-64; each kernel has one plain-Rust body, compiled
//! again under `#[target_feature]` for AVX2 and AVX-512, and [`level`] picks the widest the CPU
//! has. The bodies use no fused multiply-add, so every level gives the same bits.

/// The widest instruction set a kernel may use on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// AVX-512 F, DQ and VL (64-bit lane multiplies, 16 f32 lanes).
    Avx512,
    /// AVX2 and FMA (8 f32 lanes).
    Avx2,
    /// The baseline (SSE2 on x86-64, or any other architecture).
    Scalar,
}

/// Detects the level once per call; `std` caches the CPUID answers, so this is a few loads.
#[inline]
pub(crate) fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx2;
        }
    }
    Level::Scalar
}
