//! Where the data directory is: an explicit `--data-dir` wins, else the environment variable
//! `GPED_DATA_DIR`, else `./data`. Datasets live in one folder each below it
//! (`<dir>/mnist/train-images-idx3-ubyte.gz`, `<dir>/cifar10/cifar-10-batches-bin/...`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "GPED_DATA_DIR";
/// Environment variable overriding the download mirror of `gped data fetch`.
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
}
