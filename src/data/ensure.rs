//! Making sure the files a command reads are in the data folder before it starts: the
//! datasets that lack some are fetched (every missing file of each, verified, written
//! atomically) unless fetching is off (`--offline`, or `data.fetch = false`); when it is off
//! or fails, the command stops with every missing file and how to get it
//! ([`super::missing`]). Nothing is fetched when nothing is missing.

use std::path::PathBuf;

use super::checksum::ChecksumPolicy;
use super::fetch::{FetchOptions, fetch_files};
use super::locate::MIRROR_ENV;
use super::missing::{Blocked, missing_data_error};
use super::needs::{Need, eval_needs, run_needs, shortfalls};
use super::progress::Progress;
use super::test_split::checksum_policy;
use crate::config::ValidConfig;
use crate::{Error, Result};

/// Where a command's datasets are, and how missing ones are fetched (`None`: never,
/// `--offline`).
#[derive(Debug, Clone)]
pub struct DataAccess {
    pub dir: PathBuf,
    pub fetch: Option<FetchOptions>,
}

impl DataAccess {
    /// The data folder `dir`, where nothing is fetched.
    pub fn offline(dir: impl Into<PathBuf>) -> Self {
        DataAccess {
            dir: dir.into(),
            fetch: None,
        }
    }
}

/// Ensures the files a run of `cfg` reads (see [`run_needs`]).
pub fn ensure_run_data(cfg: &ValidConfig, access: &DataAccess) -> Result<()> {
    ensure(
        access,
        &run_needs(cfg)?,
        cfg.data.fetch,
        checksum_policy(cfg),
    )
}

/// Ensures the files an evaluation of a run of `cfg` on the OOD set `ood` reads (see
/// [`eval_needs`]).
pub fn ensure_eval_data(cfg: &ValidConfig, access: &DataAccess, ood: Option<&str>) -> Result<()> {
    ensure(
        access,
        &eval_needs(cfg, ood)?,
        cfg.data.fetch,
        checksum_policy(cfg),
    )
}

/// Ensures the files of `needs` in `access.dir`: fetches each dataset that lacks some (when
/// `access` and `config_allows` allow it) with `checksums`, one dataset after the other,
/// stopping at the first failure.
pub fn ensure(
    access: &DataAccess,
    needs: &[Need<'_>],
    config_allows: bool,
    checksums: ChecksumPolicy,
) -> Result<()> {
    // Absolute, so that every path in messages says exactly where a file goes.
    let dir = std::path::absolute(&access.dir).unwrap_or_else(|_| access.dir.clone());
    let missing = shortfalls(&dir, needs);
    if missing.is_empty() {
        return Ok(());
    }
    let base_url = access.fetch.as_ref().and_then(|f| f.base_url.as_deref());
    let opts = match (&access.fetch, config_allows) {
        (None, _) => {
            return Err(missing_data_error(
                &dir,
                &missing,
                Blocked::Offline,
                base_url,
            ));
        }
        (Some(_), false) => {
            return Err(missing_data_error(
                &dir,
                &missing,
                Blocked::ConfigOff,
                base_url,
            ));
        }
        (Some(opts), true) => opts,
    };
    check_mirror_template(
        base_url,
        &missing.iter().map(|s| s.spec.name).collect::<Vec<_>>(),
    )?;
    let opts = FetchOptions {
        checksums,
        ..opts.clone()
    };
    for s in &missing {
        if opts.progress == Progress::Bar {
            eprintln!(
                "fetching {} ({} files) into {}",
                s.spec.name,
                s.missing.len(),
                s.spec.fetch_dir(&dir).display()
            );
        }
        if let Err(err) = fetch_files(&dir, s.spec, &s.missing, &opts) {
            let still = shortfalls(&dir, needs);
            return Err(missing_data_error(
                &dir,
                &still,
                Blocked::Failed(&err),
                base_url,
            ));
        }
    }
    Ok(())
}

/// A mirror for several datasets must say where each one's files are (`{dataset}`), or
/// they would all be fetched from the same URLs.
fn check_mirror_template(base_url: Option<&str>, datasets: &[&str]) -> Result<()> {
    match base_url {
        Some(url) if datasets.len() > 1 && !url.contains("{dataset}") => {
            Err(Error::InvalidArgument(format!(
                "the mirror `{url}` (--base-url or {MIRROR_ENV}) would serve {} from the same \
                 URLs; write {{dataset}} in it where each dataset's folder name goes, e.g. \
                 `{}/{{dataset}}/`",
                datasets.join(" and "),
                url.trim_end_matches('/')
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mirror_for_several_datasets_needs_the_placeholder() {
        assert!(check_mirror_template(None, &["mnist", "fashion-mnist"]).is_ok());
        assert!(check_mirror_template(Some("http://m/"), &["mnist"]).is_ok());
        assert!(check_mirror_template(Some("http://m/{dataset}"), &["a", "b"]).is_ok());
        let msg = check_mirror_template(Some("http://m/"), &["mnist", "fashion-mnist"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("mnist and fashion-mnist"), "{msg}");
        assert!(msg.contains("`http://m/{dataset}/`"), "{msg}");
    }

    #[test]
    fn offline_with_nothing_missing_is_fine_and_with_files_missing_fails_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = crate::config::RunConfig::default().validate().unwrap();
        let access = DataAccess::offline(tmp.path());
        let err = ensure_run_data(&cfg, &access).unwrap_err();
        assert!(matches!(err, Error::MissingData { .. }), "{err:?}");
        assert!(err.to_string().contains("--offline forbids"), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        let eval = crate::config::RunConfig::default().validate().unwrap();
        assert!(ensure_eval_data(&eval, &access, Some(tmp.path().to_str().unwrap())).is_err());
    }
}
