//! Which chains a worker takes: shard I of N takes every N-th chain starting at I. The shard is
//! given explicitly (`--shard I/N`), or by the scheduler that started the worker: a Slurm job
//! array (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`) or a
//! Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, of `--shards N`). No scheduler of our own:
//! the chains are dealt out once, and claims (see `claim`) keep workers of the same shard
//! apart.

use crate::{Error, Result};

/// Shard `index` of `count` (`0 <= index < count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Every chain.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether the chain at position `position` of the sweep belongs to this shard.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// Reads `I/N` (as `--shard` takes it).
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::InvalidArgument(format!(
                "--shard {text}: expected I/N with 0 <= I < N, e.g. 0/4"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Shard::new(index, count).map_err(|_| bad())
    }

    fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 || index >= count {
            return Err(Error::InvalidArgument(format!(
                "shard {index} of {count}: expected 0 <= index < count"
            )));
        }
        Ok(Shard { index, count })
    }

    /// The worker's shard: `explicit` (`--shard`), else the scheduler's variables read by
    /// `env` (Slurm job array; Kubernetes Indexed Job with `shards` = `--shards N`), else all.
    pub fn resolve(
        explicit: Option<Shard>,
        shards: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard> {
        if let Some(shard) = explicit {
            return Ok(shard);
        }
        let number = |name: &str| -> Result<Option<usize>> {
            env(name)
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        Error::InvalidArgument(format!(
                            "environment variable {name}={v}: expected a whole number"
                        ))
                    })
                })
                .transpose()
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match (shards, number("SLURM_ARRAY_TASK_COUNT")?) {
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) => {
                    return Err(Error::InvalidArgument(
                        "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; \
                         give the number of shards with --shards N"
                            .into(),
                    ));
                }
            };
            return Shard::new(id.saturating_sub(min), count);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let Some(count) = shards else {
                return Err(Error::InvalidArgument(
                    "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the number \
                     of shards (the Job's completions) with --shards N"
                        .into(),
                ));
            };
            return Shard::new(index, count);
        }
        match shards {
            None | Some(1) => Ok(Shard::ALL),
            Some(n) => Err(Error::InvalidArgument(format!(
                "--shards {n} needs the shard index: --shard I/{n}, or SLURM_ARRAY_TASK_ID or \
                 JOB_COMPLETION_INDEX from the scheduler"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shard_i_of_n_takes_every_nth_chain_from_i() {
        let s = Shard::parse("1/3").unwrap();
        let taken: Vec<usize> = (0..8).filter(|&p| s.takes(p)).collect();
        assert_eq!(taken, [1, 4, 7]);
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn explicit_then_slurm_then_kubernetes_then_all() {
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
            ("JOB_COMPLETION_INDEX", "0"),
        ];
        let explicit = Shard::parse("0/2").ok();
        assert_eq!(
            Shard::resolve(explicit, None, env(&slurm)).unwrap(),
            Shard { index: 0, count: 2 }
        );
        assert_eq!(
            Shard::resolve(None, None, env(&slurm)).unwrap(),
            Shard { index: 1, count: 2 }
        );
        let k8s = [("JOB_COMPLETION_INDEX", "2")];
        assert_eq!(
            Shard::resolve(None, Some(3), env(&k8s)).unwrap(),
            Shard { index: 2, count: 3 }
        );
        let err = Shard::resolve(None, None, env(&k8s)).unwrap_err();
        assert!(err.to_string().contains("--shards N"), "{err}");
        assert!(
            Shard::resolve(None, Some(2), env(&k8s)).is_err(),
            "index 2 of 2"
        );
        assert_eq!(Shard::resolve(None, None, env(&[])).unwrap(), Shard::ALL);
        assert!(Shard::resolve(None, Some(4), env(&[])).is_err());
        let bad = [("SLURM_ARRAY_TASK_ID", "x")];
        let err = Shard::resolve(None, None, env(&bad)).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_ID=x"), "{err}");
    }
}
