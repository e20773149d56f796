//! The machine a measurement ran on, for every speed figure the program or its benchmarks
//! report: the CPU's model name (with family and model numbers on x86) and the SIMD level the
//! kernels dispatch to (`simd::Level::detected`), since figures from different CPUs must not
//! be compared as if they were one machine's.

use super::simd::Level;

/// One line such as `AMD EPYC 9R14 (family 25, model 17), SIMD avx512, 2 threads`; a build
/// without the `avx512` feature on a CPU with AVX-512 says `SIMD avx2+fma (avx512 off in this
/// build)`.
pub fn machine_summary(threads: usize) -> String {
    let capped = if Level::capped() {
        " (avx512 off in this build)"
    } else {
        ""
    };
    format!(
        "{}, SIMD {}{capped}, {threads} threads",
        cpu_model(),
        level_name(Level::detected())
    )
}

/// The SIMD level as the README's speed tables name it.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Scalar => "scalar",
        Level::Avx2 => "avx2+fma",
        Level::Avx512 => "avx512",
    }
}

/// The CPU's model name from `/proc/cpuinfo` (Linux), with its family and model numbers
/// when given; `unknown CPU` elsewhere.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        info.lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let name = field("model name").unwrap_or_else(|| "unknown CPU".into());
    match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!("{name} (family {family}, model {model})"),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_cpu_level_and_threads() {
        let s = machine_summary(2);
        assert!(s.ends_with(", 2 threads"), "{s}");
        assert!(s.contains(level_name(Level::detected())), "{s}");
        if std::path::Path::new("/proc/cpuinfo").exists() {
            assert!(!s.starts_with("unknown CPU"), "{s}");
        }
    }
}
