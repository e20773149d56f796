//! The error of a command whose data is missing and was not fetched ([`Error::MissingData`]):
//! why not (fetching is off, or failed and how), every missing file at the absolute path
//! where it belongs with the MD5 of its decompressed content and the URL it comes from, and
//! every way to get the files (network, a mirror, by hand, another data folder).

use std::path::Path;

use super::catalog::Download;
use super::fetch::source_text;
use super::locate::{DATA_DIR_ENV, MIRROR_ENV};
use super::needs::Shortfall;
use crate::Error;

/// Why the missing files were not fetched.
#[derive(Debug, Clone, Copy)]
pub enum Blocked<'e> {
    /// `--offline` (or a library caller that gave no fetch options).
    Offline,
    /// The config says `data.fetch = false`.
    ConfigOff,
    /// The fetch failed with this error.
    Failed(&'e Error),
}

/// The error for `shortfalls` in `data_dir`, not fetched because of `blocked`; `base_url` is
/// the mirror that was (or would have been) used.
pub fn missing_data_error(
    data_dir: &Path,
    shortfalls: &[Shortfall<'_>],
    blocked: Blocked<'_>,
    base_url: Option<&str>,
) -> Error {
    let dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let names: Vec<&str> = shortfalls.iter().map(|s| s.spec.name).collect();
    let what = format!(
        "files of {} that this command reads are missing",
        names.join(" and ")
    );
    let why = match blocked {
        Blocked::Offline => format!("{what}, and --offline forbids fetching them"),
        Blocked::ConfigOff => {
            format!("{what}, and the config's data.fetch = false forbids fetching them")
        }
        Blocked::Failed(err) => format!("{what}, and fetching them failed: {err}"),
    };
    let mut files = String::from(
        "missing files (each raw or gzipped, with the MD5 of its decompressed content):",
    );
    for s in shortfalls {
        files += &format!(
            "\n  {} (from {}):",
            s.spec.name,
            source_text(s.spec, base_url)
        );
        let folder = s.spec.fetch_dir(&dir);
        let gz = matches!(s.spec.download, Download::GzFiles { .. });
        for f in &s.missing {
            let path = folder.join(f.name);
            let md5 = f
                .md5
                .map_or("no published MD5 (format checked)".to_string(), |m| {
                    format!("MD5 {m}")
                });
            let suffix = if gz { "[.gz]" } else { "" };
            files += &format!("\n    {}{suffix}  {md5}", path.display());
        }
    }
    let fetch = match blocked {
        Blocked::Offline => "run without --offline to fetch them from the URLs above".to_string(),
        Blocked::ConfigOff => {
            "allow fetching (data.fetch = true in the config, or --set data.fetch=true) to \
             fetch them from the URLs above"
                .to_string()
        }
        Blocked::Failed(_) => "run again where the URLs above answer".to_string(),
    };
    let remedy = format!(
        "to get them: {fetch}; or fetch them from a mirror with --base-url URL or \
         {MIRROR_ENV}=URL (each file from URL<file>.gz, where {{dataset}} in URL stands for the \
         dataset's name, e.g. http://host/data/{{dataset}}/); or put the files at the paths \
         above yourself; or point --data-dir or {DATA_DIR_ENV} at a folder that holds {}. \
         `gped data check --data-dir DIR` says what a folder holds.",
        names
            .iter()
            .map(|n| format!("{n}/"))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    Error::MissingData {
        dir,
        why,
        files,
        remedy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Split, dataset_spec};

    #[test]
    fn names_every_file_its_md5_where_it_goes_and_the_ways_to_get_it() {
        let mnist = dataset_spec("mnist").unwrap();
        let shortfalls = [Shortfall {
            spec: mnist,
            missing: mnist.files.to_vec(),
        }];
        let cause = Error::Download {
            url: "http://m/x".into(),
            detail: "no progress for 2 s".into(),
        };
        let msg = missing_data_error(
            Path::new("/d"),
            &shortfalls,
            Blocked::Failed(&cause),
            Some("http://m/{dataset}/"),
        )
        .to_string();
        assert!(msg.starts_with("/d: files of mnist that this command reads are missing, and fetching them failed: download of http://m/x failed: no progress for 2 s\n"), "{msg}");
        assert!(
            msg.contains("mnist (from http://m/mnist/<file>.gz):"),
            "{msg}"
        );
        for f in mnist.files {
            let line = format!("/d/mnist/{}[.gz]  MD5 {}", f.name, f.md5.unwrap());
            assert!(msg.contains(&line), "{line} in {msg}");
        }
        assert!(mnist.split_files(Split::Test).count() == 2);
        for needle in [
            "--base-url URL",
            "GPED_MIRROR=URL",
            "--data-dir",
            "GPED_DATA_DIR",
        ] {
            assert!(msg.contains(needle), "{needle} in {msg}");
        }
        let offline =
            missing_data_error(Path::new("/d"), &shortfalls, Blocked::Offline, None).to_string();
        assert!(offline.contains("--offline forbids"), "{offline}");
        assert!(
            offline.contains("(from https://ossci-datasets.s3.amazonaws.com/mnist/<file>.gz)"),
            "{offline}"
        );
        let off =
            missing_data_error(Path::new("/d"), &shortfalls, Blocked::ConfigOff, None).to_string();
        assert!(off.contains("data.fetch = false"), "{off}");
    }

    #[test]
    fn cifar_files_go_in_the_batches_folder_without_published_md5() {
        let cifar = dataset_spec("cifar10").unwrap();
        let shortfalls = [Shortfall {
            spec: cifar,
            missing: cifar.files[..1].to_vec(),
        }];
        let msg =
            missing_data_error(Path::new("/d"), &shortfalls, Blocked::Offline, None).to_string();
        assert!(
            msg.contains(
                "/d/cifar10/cifar-10-batches-bin/data_batch_1.bin  no published MD5 (format checked)"
            ),
            "{msg}"
        );
        assert!(msg.contains("cifar-10-binary.tar.gz"), "{msg}");
    }
}
