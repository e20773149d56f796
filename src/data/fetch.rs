//! Downloading a catalogued dataset into the data directory (`gped data fetch`). Every file is
//! streamed into a temporary file beside its destination, synced, checked (published checksum
//! of the decompressed content when there is one, then format), and only when every file of the
//! dataset has passed are they renamed into place. A failed or corrupt download leaves nothing
//! behind, not even the folders it created.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;

use super::catalog::{DatasetSpec, Download, FileSpec, dataset_spec};
use super::load::validate_content;
use super::source::{decompress_if_gzipped, read_decompressed};
use super::tarball::for_each_file;
use crate::{Error, Result};

/// What a fetch wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The URLs downloaded.
    pub urls: Vec<String>,
    /// The files written, in the dataset's folder.
    pub files: Vec<PathBuf>,
    /// Whether every file was checked against a published checksum (else only its format).
    pub checksums_verified: bool,
}

/// Fetches the catalogued dataset `name` into `data_dir` from `base_url`, or from the
/// catalogue's mirror when `None`.
pub fn fetch(data_dir: &Path, name: &str, base_url: Option<&str>) -> Result<FetchReport> {
    fetch_spec(data_dir, dataset_spec(name)?, base_url)
}

/// Fetches the dataset `spec` into `data_dir` (into `spec.dir(data_dir)`), checking each file
/// against `spec`'s checksums and format; `base_url` replaces the mirror when given.
pub fn fetch_spec(
    data_dir: &Path,
    spec: &DatasetSpec,
    base_url: Option<&str>,
) -> Result<FetchReport> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into();
    match spec.download {
        Download::GzFiles { mirror } => {
            fetch_gz_files(&agent, data_dir, spec, base_url.unwrap_or(mirror))
        }
        Download::Tarball { mirror, archive } => {
            let url = format!("{}{archive}", with_slash(base_url.unwrap_or(mirror)));
            fetch_tarball(&agent, data_dir, spec, &url)
        }
    }
}

/// Each file from `base + name + ".gz"`, stored under its decompressed name plus `.gz` (or
/// without `.gz` if the server sent it uncompressed).
fn fetch_gz_files(
    agent: &ureq::Agent,
    data_dir: &Path,
    spec: &DatasetSpec,
    base: &str,
) -> Result<FetchReport> {
    let dir = spec.dir(data_dir);
    let created = NewDirs::create(&dir)?;
    let mut parts = Vec::new();
    let mut urls = Vec::new();
    for file in spec.files {
        let url = format!("{}{}.gz", with_slash(base), file.name);
        let mut part = PartFile::create(&dir, file.name)?;
        download(agent, &url, &mut part)?;
        let raw = fs::read(&part.path).map_err(|e| Error::io(&part.path, e))?;
        let gzipped = raw.starts_with(&[0x1f, 0x8b]);
        let dest = dir.join(if gzipped {
            format!("{}.gz", file.name)
        } else {
            file.name.to_string()
        });
        let content = decompress_if_gzipped(raw, &dest)?;
        validate_download(spec, file, &content, &dest, &url)?;
        parts.push((part, dest));
        urls.push(url);
    }
    let files = persist_all(parts, &dir)?;
    created.keep();
    Ok(FetchReport {
        urls,
        files,
        checksums_verified: spec.fully_checksummed(),
    })
}

/// One gzipped tar archive at `url`, whose members named like the dataset's files (in any
/// folder of the archive) are extracted into `<dir>/cifar-10-batches-bin/`.
fn fetch_tarball(
    agent: &ureq::Agent,
    data_dir: &Path,
    spec: &DatasetSpec,
    url: &str,
) -> Result<FetchReport> {
    let root = spec.dir(data_dir);
    let dir = root.join("cifar-10-batches-bin");
    let created = NewDirs::create(&dir)?;
    let mut archive = PartFile::create(&root, "archive.tar.gz")?;
    download(agent, url, &mut archive)?;
    let archive_path = archive.path.clone();
    let archive_file = File::open(&archive_path).map_err(|e| Error::io(&archive_path, e))?;
    let mut parts: Vec<(PartFile, PathBuf)> = Vec::new();
    for_each_file(
        GzDecoder::new(io::BufReader::new(archive_file)),
        &archive_path,
        |name, content| {
            let base_name = name.rsplit('/').next().unwrap_or(name);
            let Some(file) = spec.files.iter().find(|f| f.name == base_name) else {
                return Ok(());
            };
            let mut part = PartFile::create(&dir, file.name)?;
            io::copy(content, &mut part.file)
                .map_err(|e| Error::format(&archive_path, "tar", format!("member {name}: {e}")))?;
            part.sync()?;
            let dest = dir.join(file.name);
            validate_download(spec, file, &read_decompressed(&part.path)?, &dest, url)?;
            parts.push((part, dest));
            Ok(())
        },
    )?;
    if let Some(missing) = spec
        .files
        .iter()
        .find(|f| !parts.iter().any(|(_, dest)| dest.ends_with(f.name)))
    {
        return Err(Error::Download {
            url: url.to_string(),
            detail: format!("the archive has no member named {}", missing.name),
        });
    }
    let files = persist_all(parts, &dir)?;
    drop(archive);
    created.keep();
    Ok(FetchReport {
        urls: vec![url.to_string()],
        files,
        checksums_verified: spec.fully_checksummed(),
    })
}

/// Streams the body of `url` into `part` and syncs it; HTTP errors name the status.
fn download(agent: &ureq::Agent, url: &str, part: &mut PartFile) -> Result<()> {
    let fail = |detail: String| Error::Download {
        url: url.to_string(),
        detail,
    };
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => fail(format!(
            "the server answered HTTP {code}; check the URL, or pick another mirror with \
             --base-url or GPED_MIRROR"
        )),
        other => fail(other.to_string()),
    })?;
    let mut body = response.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(format!("reading the response failed: {e}"))),
        };
        part.file
            .write_all(&buf[..k])
            .map_err(|e| Error::io(&part.path, e))?;
    }
    part.sync()
}

/// Checks a downloaded file; a checksum mismatch says that the mirror served other content.
fn validate_download(
    spec: &DatasetSpec,
    file: &FileSpec,
    content: &[u8],
    dest: &Path,
    url: &str,
) -> Result<()> {
    validate_content(spec, file, content, dest).map_err(|err| match err {
        Error::Checksum {
            path,
            expected,
            found,
            ..
        } => Error::Checksum {
            path,
            expected,
            found,
            hint: format!(
                "{url} served other content than the published file; nothing was written; \
                 try another mirror with --base-url or GPED_MIRROR"
            ),
        },
        other => other,
    })
}

/// Renames every checked temporary file to its destination and syncs the folder.
fn persist_all(parts: Vec<(PartFile, PathBuf)>, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::with_capacity(parts.len());
    for (part, dest) in parts {
        part.persist(&dest)?;
        // A stale copy under the other name (raw vs .gz) would shadow or confuse the new one.
        let other = match dest.extension() {
            Some(ext) if ext == "gz" => dest.with_extension(""),
            _ => PathBuf::from(format!("{}.gz", dest.display())),
        };
        if other.is_file() {
            fs::remove_file(&other).map_err(|e| Error::io(&other, e))?;
        }
        files.push(dest);
    }
    // Make the renames durable; not every platform can open a folder, so this is best effort.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(files)
}

fn with_slash(base: &str) -> String {
    if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    }
}

/// A temporary file beside its destination, removed on drop unless persisted.
struct PartFile {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl PartFile {
    fn create(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(format!(".{name}.part-{}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(PartFile {
            path,
            file,
            persisted: false,
        })
    }

    fn sync(&mut self) -> Result<()> {
        self.file
            .flush()
            .and_then(|()| self.file.sync_all())
            .map_err(|e| Error::io(&self.path, e))
    }

    fn persist(mut self, dest: &Path) -> Result<()> {
        fs::rename(&self.path, dest).map_err(|e| Error::io(dest, e))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The folders created for a fetch, removed again (if still empty) on drop unless kept.
struct NewDirs {
    created: Vec<PathBuf>,
}

impl NewDirs {
    /// Creates `dir` and its missing ancestors, remembering which were created.
    fn create(dir: &Path) -> Result<Self> {
        let mut created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        created.reverse();
        Ok(NewDirs { created })
    }

    fn keep(mut self) {
        self.created.clear();
    }
}

impl Drop for NewDirs {
    fn drop(&mut self) {
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_dirs_are_removed_unless_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        drop(NewDirs::create(&deep).unwrap());
        assert!(!tmp.path().join("a").exists());
        NewDirs::create(&deep).unwrap().keep();
        assert!(deep.is_dir());
    }

    #[test]
    fn part_file_is_removed_unless_persisted() {
        let tmp = tempfile::tempdir().unwrap();
        let part = PartFile::create(tmp.path(), "x").unwrap();
        let path = part.path.clone();
        assert!(path.is_file());
        drop(part);
        assert!(!path.exists());
        let mut part = PartFile::create(tmp.path(), "y").unwrap();
        part.file.write_all(b"data").unwrap();
        part.sync().unwrap();
        part.persist(&tmp.path().join("y")).unwrap();
        assert_eq!(fs::read(tmp.path().join("y")).unwrap(), b"data");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn base_urls_get_a_trailing_slash() {
        assert_eq!(with_slash("http://h/p"), "http://h/p/");
        assert_eq!(with_slash("http://h/p/"), "http://h/p/");
    }
}
