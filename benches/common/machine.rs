//! The first target of every bench: prints the machine the numbers are for (CPU model, SIMD
//! level, threads), since a session may get a CPU with or without AVX-512.

use criterion::Criterion;

/// Prints `machine: ...` on stderr; measures nothing.
pub fn print_machine(_: &mut Criterion) {
    eprintln!(
        "machine: {}",
        gped::base::machine::machine_summary(rayon::current_num_threads())
    );
}
