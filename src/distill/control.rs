//! How a run is stopped from outside: a flag that a SIGINT/SIGTERM handler sets, checked after
//! every iteration; once set, the run saves a checkpoint and returns `Error::Interrupted`.
//! With the `test-hooks` feature (enabled for this package's own tests and benches only), a
//! `Control` can also stop at a given iteration or simulate a crash there.

use crate::Result;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The outside's hold on a run.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Stop with a checkpoint at the end of the current iteration.
    pub stop: Arc<AtomicBool>,
    #[cfg(feature = "test-hooks")]
    hooks: TestHooks,
}

/// Test hooks: where to stop or crash.
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Default)]
struct TestHooks {
    stop_after: Option<u64>,
    crash_after: Option<u64>,
}

impl Control {
    /// A control that stops the run once `stop` is set.
    pub fn on_flag(stop: Arc<AtomicBool>) -> Self {
        Control {
            stop,
            #[cfg(feature = "test-hooks")]
            hooks: TestHooks::default(),
        }
    }

    /// Whether the run is to stop (with a checkpoint) now that `done` iterations are done.
    pub(super) fn stop_requested(&self, done: u64) -> bool {
        #[cfg(feature = "test-hooks")]
        if self.hooks.stop_after == Some(done) {
            return true;
        }
        let _ = done;
        self.stop.load(Ordering::Relaxed)
    }

    /// Fails with `Error::SimulatedCrash` when a crash was asked for after `done` iterations
    /// (test hooks only; always `Ok` without them).
    pub(super) fn crash_point(&self, done: u64) -> Result<()> {
        #[cfg(feature = "test-hooks")]
        if self.hooks.crash_after == Some(done) {
            return Err(crate::Error::SimulatedCrash { iteration: done });
        }
        let _ = done;
        Ok(())
    }
}

#[cfg(feature = "test-hooks")]
impl Control {
    /// Test hook: behave as if `stop` were set during iteration `k` (stop with `k` iterations
    /// done and a checkpoint).
    pub fn stop_after(k: u64) -> Self {
        let mut control = Control::default();
        control.hooks.stop_after = Some(k);
        control
    }

    /// Test hook: a simulated crash after `k` iterations: the run returns
    /// `Error::SimulatedCrash` without saving anything more.
    pub fn crash_after(k: u64) -> Self {
        let mut control = Control::default();
        control.hooks.crash_after = Some(k);
        control
    }
}
