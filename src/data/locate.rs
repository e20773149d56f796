//! Where the data directory is, one rule for every command: `--data-dir` if given, else the
//! config's `data.dir` if set, else the environment variable `GPED_DATA_DIR`, else `./data`
//! (relative paths are relative to the working directory). A run records the absolute folder
//! it read in its run folder's `config.toml` (`data.dir`); a command on an existing run folder
//! (`gped eval`, `gped run --resume`, a sweep's chain resumed) takes that recorded folder in
//! the config's place, but only while it is still a folder, and a `data.dir` given on that
//! command (its CONFIG or `--set`) before it. Datasets live in one folder each below it
//! (`<dir>/mnist/train-images-idx3-ubyte.gz`, `<dir>/cifar10/cifar-10-batches-bin/...`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "GPED_DATA_DIR";
/// Environment variable overriding the download mirror of every fetch (`gped data fetch`, and
/// the fetches of `gped run`, `eval` and `sweep`); `{dataset}` in it stands for the dataset's
/// name.
pub const MIRROR_ENV: &str = "GPED_MIRROR";
/// Data directory used when neither a flag nor the environment names one.
pub const DEFAULT_DATA_DIR: &str = "data";

/// The data directory: `explicit` if given, else `$GPED_DATA_DIR` if set and non-empty, else
/// `./data`. Relative paths are relative to the current directory.
pub fn resolve_data_dir(explicit: Option<&Path>) -> PathBuf {
    resolve_data_dir_from(explicit, std::env::var_os(DATA_DIR_ENV))
}

/// [`resolve_data_dir`] with the environment value passed in.
pub fn resolve_data_dir_from(explicit: Option<&Path>, env: Option<OsString>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    match env {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// The data folder of a command on an existing run folder: `flag` (`--data-dir`) if given;
/// else `configured` (a `data.dir` given on this command) if set and not `recorded`; else
/// `recorded` (the folder the run recorded) if it is still a folder; else `$GPED_DATA_DIR` if
/// set and non-empty; else `./data`.
pub fn resolve_run_data_dir(
    flag: Option<&Path>,
    configured: Option<&Path>,
    recorded: Option<&Path>,
) -> PathBuf {
    resolve_run_data_dir_from(flag, configured, recorded, std::env::var_os(DATA_DIR_ENV))
}

/// [`resolve_run_data_dir`] with the environment value passed in.
pub fn resolve_run_data_dir_from(
    flag: Option<&Path>,
    configured: Option<&Path>,
    recorded: Option<&Path>,
    env: Option<OsString>,
) -> PathBuf {
    let configured = configured.filter(|p| !p.as_os_str().is_empty());
    let recorded = recorded.filter(|p| !p.as_os_str().is_empty());
    let chosen = flag
        .or(configured.filter(|c| Some(*c) != recorded))
        .or(recorded.filter(|r| r.is_dir()));
    resolve_data_dir_from(chosen, env)
}

/// `dir` as a run records it: absolute, with symbolic links and `..` resolved when it exists.
pub fn absolute_data_dir(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}

/// The download base URL: `explicit` if given, else `$GPED_MIRROR` if set and non-empty, else
/// `None` (the catalogue's mirror).
pub fn resolve_mirror(explicit: Option<&str>) -> Option<String> {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var(MIRROR_ENV).ok().filter(|url| !url.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_then_environment_then_default() {
        let env = || Some(OsString::from("/env/data"));
        assert_eq!(
            resolve_data_dir_from(Some(Path::new("/flag")), env()),
            PathBuf::from("/flag")
        );
        assert_eq!(
            resolve_data_dir_from(None, env()),
            PathBuf::from("/env/data")
        );
        assert_eq!(resolve_data_dir_from(None, None), PathBuf::from("data"));
        assert_eq!(
            resolve_data_dir_from(None, Some(OsString::new())),
            PathBuf::from("data")
        );
    }

    #[test]
    fn run_folders_use_their_recorded_folder_while_it_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let recorded = tmp.path();
        let gone = tmp.path().join("gone");
        let env = || Some(OsString::from("/env/data"));
        let resolve = |flag, configured, recorded| {
            resolve_run_data_dir_from(flag, configured, recorded, env())
        };
        let flag = Some(Path::new("/flag"));
        assert_eq!(resolve(flag, None, Some(recorded)), PathBuf::from("/flag"));
        assert_eq!(resolve(None, None, Some(recorded)), recorded);
        // A config given on the command that repeats the recorded folder is the recorded one.
        assert_eq!(resolve(None, Some(recorded), Some(recorded)), recorded);
        assert_eq!(
            resolve(None, Some(Path::new("/cfg")), Some(recorded)),
            PathBuf::from("/cfg")
        );
        assert_eq!(
            resolve(None, Some(&gone), Some(&gone)),
            PathBuf::from("/env/data")
        );
        assert_eq!(resolve(None, None, Some(&gone)), PathBuf::from("/env/data"));
        assert_eq!(
            resolve(None, Some(Path::new("")), Some(Path::new(""))),
            PathBuf::from("/env/data")
        );
        assert_eq!(
            resolve_run_data_dir_from(None, None, Some(&gone), None),
            PathBuf::from("data")
        );
    }

    #[test]
    fn recorded_folders_are_absolute() {
        let tmp = tempfile::tempdir().unwrap();
        let inner = tmp.path().join("a");
        std::fs::create_dir(&inner).unwrap();
        let found = absolute_data_dir(&inner.join("..").join("a"));
        assert_eq!(found, std::fs::canonicalize(&inner).unwrap());
        assert!(absolute_data_dir(Path::new("no-such-dir")).is_absolute());
    }
}
