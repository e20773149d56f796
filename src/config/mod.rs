//! A run's settings: the TOML schema with its documented defaults (`schema`), the named
//! choices and the dataset/architecture facts they rely on (`choices`), reading, printing and
//! saving (`file`), `--set` overrides (`overrides`), the loss of a student table without one
//! (`default_loss`), the heads of a multi-head student (`heads`), the `[prune]` table
//! (`prune`) and the one-time check into a `ValidConfig` (`validate`).

mod choices;
mod default_loss;
mod file;
mod heads;
mod overrides;
mod prune;
mod schema;
mod validate;

pub use choices::{
    Arch, DatasetInfo, DatasetName, Estimator, ImageShape, LassoGroups, Loss, OodScore,
    SamplerKind, StepSchedule, Target,
};
pub use file::DEFAULT_CONFIG_TOML;
pub use heads::HeadConfig;
pub use prune::PruneConfig;
pub use schema::{
    DEFAULT_DIRICHLET_SMOOTHING, DataConfig, EvalConfig, OutputConfig, PoolConfig, RunConfig,
    SamplerConfig, ScheduleConfig, StudentConfig, TeacherConfig,
};
pub use validate::ValidConfig;
