//! gped: Generalized Bayesian Posterior Expectation Distillation (Vadera, Jalaian, Marlin,
//! UAI 2020). A teacher network's posterior is sampled online with SGLD; after burn-in, every
//! H teacher steps, student networks take one optimiser step towards the teacher's value of a
//! posterior expectation (the predictive distribution, the expected entropy, ...). One forward
//! pass of the students then gives the predictive distribution and its split into aleatoric and
//! epistemic uncertainty.
//!
//! The folders follow the paper: `data` (datasets, occlusion, the distillation pool D'),
//! `nn` (the small NN engine), `model` (teacher and student architectures), `optim` (the
//! students' optimisers), `sampler` (the teacher's SGLD, and SGHMC, pSGLD, cyclical step
//! sizes), `expectation` (the targets g and the estimators U_s, U_o), `distill`
//! (Algorithm 1), `infer` (the distilled students, for prediction), `eval` (uncertainty, OOD,
//! ranking, calibration), `sweep` and `report` (the experiment grids and their tables), `demo`
//! (a no-data run on two moons and its uncertainty maps), `config` (a run's settings) and
//! `base` (errors, files, state, random streams, SIMD) under all of them; the
//! README's "Module graph" says which may use which.

pub mod base;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod demo;
pub mod distill;
pub mod ensemble;
pub mod eval;
pub mod expectation;
pub mod infer;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod optim;
pub mod report;
pub mod sampler;
pub mod sweep;
pub mod uncertainty;

pub use base::{Error, Result};
