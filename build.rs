//! Build script: sets `cfg(x86_simd)` when the target is x86-64 and the `portable` feature is
//! off. Every hand-written x86 SIMD path (the `simd_kernel!` levels, the AVX-512 pooling
//! kernel, CPU feature detection) is compiled only under it, so a `--features portable` build
//! on x86 runs exactly the code an ARM or other non-x86 build runs. `cfg(x86_avx512)` (x86_simd
//! and the default `avx512` feature) lets the kernels use AVX-512; without it they stop at
//! AVX2+FMA.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(x86_simd)");
    println!("cargo::rustc-check-cfg=cfg(x86_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    let x86_64 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "x86_64");
    if x86_64 && std::env::var_os("CARGO_FEATURE_PORTABLE").is_none() {
        println!("cargo::rustc-cfg=x86_simd");
        if std::env::var_os("CARGO_FEATURE_AVX512").is_some() {
            println!("cargo::rustc-cfg=x86_avx512");
        }
    }
}
