//! Run-time choice of SIMD width for the element-wise kernels (Gaussian noise, SGLD, Adam) and
//! the hand-written AVX-512 pooling kernel. The binary is built for baseline x86-64 (never
//! `target-cpu=native`); [`Level::detected`] finds the widest instruction set the CPU has.
//! The x86 levels exist only under `cfg(x86_simd)` (x86-64 without the `portable` feature, set
//! by build.rs), AVX-512 only under `cfg(x86_avx512)` (the default `avx512` feature too);
//! elsewhere every kernel runs its portable body, which `--features portable`
//! tests on x86 too.
//!
//! [`simd_kernel!`] turns one `#[inline(always)]` plain-Rust body into a kernel compiled once
//! per level under `#[target_feature]`, with two entry points: `name(..)` runs the widest level
//! the CPU has, `name_at_level(level, ..)` runs a given level (so the tests can check every level the
//! machine has against [`Level::Scalar`], the portable path, on every machine). The element-wise
//! bodies use no fused multiply-add, so every level gives the same bits; the sparse product
//! (`nn::sparse`) fuses on the x86 SIMD levels, which then agree with each other bit for bit.

/// An instruction-set level, narrowest first (`Scalar < Avx2 < Avx512`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The baseline (SSE2 on x86-64, or any other architecture): the portable path.
    Scalar,
    /// AVX2 and FMA (8 f32 lanes).
    Avx2,
    /// AVX-512 F, DQ and VL (64-bit lane multiplies, 16 f32 lanes).
    Avx512,
}

impl Level {
    /// Every level, narrowest first.
    pub const ALL: [Level; 3] = [Level::Scalar, Level::Avx2, Level::Avx512];

    /// The widest level this CPU has (AVX-512 only in a build with the `avx512` feature, the
    /// default). `std` caches the CPUID answers, so this is a few loads.
    #[inline]
    pub fn detected() -> Level {
        #[cfg(x86_simd)]
        {
            #[cfg(x86_avx512)]
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Level::Avx2;
            }
        }
        Level::Scalar
    }

    /// Whether the CPU has AVX-512 that this build leaves unused (built without the `avx512`
    /// feature).
    pub fn capped() -> bool {
        #[cfg(all(x86_simd, not(x86_avx512)))]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
        }
        #[cfg(not(all(x86_simd, not(x86_avx512))))]
        {
            false
        }
    }

    /// The levels this CPU can run, narrowest first (always at least [`Level::Scalar`]).
    pub fn available() -> impl Iterator<Item = Level> {
        let widest = Level::detected();
        Level::ALL.into_iter().filter(move |l| *l <= widest)
    }
}

/// Defines a SIMD kernel from a plain-Rust `#[inline(always)]` body:
///
/// ```text
/// simd_kernel! {
///     /// Doc of the kernel.
///     pub(crate) fn adam_update / adam_update_at_level (x: &mut [f32], g: &[f32]) = adam_body;
/// }
/// ```
///
/// `adam_update(x, g)` runs the body compiled for the widest level the CPU has;
/// `adam_update_at_level(level, x, g)` runs it at `level` and panics if the CPU lacks that level.
///
/// `= body, portable = other_body;` gives [`Level::Scalar`] a body of its own: for a kernel
/// that fuses multiply-adds on the x86 levels (where FMA is there) but must not call the
/// software `fmaf` of an x86 build without them (see `nn::sparse`).
macro_rules! simd_kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident / $name_at:ident ($($arg:ident: $ty:ty),* $(,)?) = $body:path
        $(, portable = $portable:path)?;
    ) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name($($arg: $ty),*) {
            $name_at($crate::base::simd::Level::detected(), $($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] at the given SIMD level.")]
        ///
        /// # Panics
        /// If this CPU does not have `level`.
        $vis fn $name_at(level: $crate::base::simd::Level, $($arg: $ty),*) {
            #[cfg(x86_simd)]
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
            fn avx512($($arg: $ty),*) {
                $body($($arg),*)
            }
            #[cfg(x86_simd)]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) {
                $body($($arg),*)
            }
            assert!(
                level <= $crate::base::simd::Level::detected(),
                "{level:?} is not available on this CPU"
            );
            match level {
                // SAFETY: asserted above that the CPU has every feature the function enables.
                #[cfg(x86_simd)]
                $crate::base::simd::Level::Avx512 => unsafe { avx512($($arg),*) },
                // SAFETY: as above.
                #[cfg(x86_simd)]
                $crate::base::simd::Level::Avx2 => unsafe { avx2($($arg),*) },
                _ => $crate::base::simd::last_path!($body $(, $portable)?)($($arg),*),
            }
        }
    };
}
pub(crate) use simd_kernel;

/// The last of one or two paths: the portable body of [`simd_kernel!`], when it has one.
macro_rules! last_path {
    ($only:path) => {
        $only
    };
    ($first:path, $second:path) => {
        $second
    };
}
pub(crate) use last_path;

#[cfg(test)]
mod tests {
    use super::*;

    fn double_body(x: &mut [f32], k: f32) {
        x.iter_mut().for_each(|v| *v *= 2.0 * k);
    }

    simd_kernel! {
        /// A test kernel.
        fn double / double_at_level(x: &mut [f32], k: f32) = double_body;
    }

    #[test]
    fn every_available_level_runs_the_body_and_scalar_is_always_there() {
        let levels: Vec<Level> = Level::available().collect();
        assert_eq!(levels[0], Level::Scalar);
        assert_eq!(*levels.last().unwrap(), Level::detected());
        for level in levels {
            let mut x = [1.0, -2.5, 3.0];
            double_at_level(level, &mut x, 0.5);
            assert_eq!(x, [1.0, -2.5, 3.0], "{level:?}");
        }
        let mut x = [4.0f32];
        double(&mut x, 1.5);
        assert_eq!(x, [12.0]);
    }

    #[test]
    fn a_level_the_cpu_lacks_is_refused() {
        if let Some(&missing) = Level::ALL.iter().find(|l| **l > Level::detected()) {
            let r = std::panic::catch_unwind(|| double_at_level(missing, &mut [1.0], 1.0));
            assert!(r.is_err(), "{missing:?} ran on a CPU without it");
        }
    }
}
