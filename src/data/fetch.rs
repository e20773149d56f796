//! Downloading a catalogued dataset, or some of its files, into the data directory (`gped
//! data fetch`, and a run's fetch of missing files). Every file is streamed into a temporary
//! file beside its destination, synced, checked (published checksum of the decompressed
//! content when there is one and checksums are verified, then format), and only when every
//! file asked for has passed are they renamed into place. A failed or corrupt download leaves
//! nothing behind, not even the folders it created, and never touches a file already there.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flate2::read::GzDecoder;

use super::catalog::{DatasetSpec, Download, FileSpec, dataset_spec};
use super::checksum::ChecksumPolicy;
use super::http::{self, DEFAULT_FETCH_TIMEOUT};
use super::load::validate_content;
use super::progress::Progress;
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

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Base URL replacing the catalogue's mirror; `{dataset}` in it stands for the dataset's
    /// name (so that one mirror can serve several datasets, one folder each).
    pub base_url: Option<String>,
    /// The bound on each wait of a request (see [`super::http`]).
    pub timeout: Duration,
    /// Whether the files' published checksums are checked (their format always is).
    pub checksums: ChecksumPolicy,
    /// Progress bars on stderr, or none.
    pub progress: Progress,
    /// A flag that, once set (by SIGINT or SIGTERM), stops the download, leaving nothing.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for FetchOptions {
    /// The catalogue's mirrors, the default bound, checksums verified, no progress bars.
    fn default() -> Self {
        FetchOptions {
            base_url: None,
            timeout: DEFAULT_FETCH_TIMEOUT,
            checksums: ChecksumPolicy::Verify,
            progress: Progress::Hidden,
            stop: None,
        }
    }
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
    let opts = FetchOptions {
        base_url: base_url.map(str::to_string),
        ..FetchOptions::default()
    };
    fetch_files(data_dir, spec, spec.files, &opts)
}

/// Fetches `files` (of `spec`) into `spec.fetch_dir(data_dir)` as `opts` says, replacing
/// those already there only once every one has passed its checks.
pub fn fetch_files(
    data_dir: &Path,
    spec: &DatasetSpec,
    files: &[FileSpec],
    opts: &FetchOptions,
) -> Result<FetchReport> {
    let agent = http::agent(opts.timeout);
    let base = mirror_base(spec, opts.base_url.as_deref());
    let report = match spec.download {
        Download::GzFiles { .. } => fetch_gz_files(&agent, data_dir, spec, files, &base, opts)?,
        Download::Tarball { archive, .. } => {
            let url = format!("{base}{archive}");
            fetch_tarball(&agent, data_dir, spec, files, &url, opts)?
        }
    };
    Ok(FetchReport {
        checksums_verified: opts.checksums == ChecksumPolicy::Verify
            && files.iter().all(|f| f.md5.is_some()),
        ..report
    })
}

/// Where the files of `spec` come from: `base_url` (with `{dataset}` replaced by the
/// dataset's name) if given, else the catalogue's mirror; always ending in `/`.
pub fn mirror_base(spec: &DatasetSpec, base_url: Option<&str>) -> String {
    let mirror = match spec.download {
        Download::GzFiles { mirror } | Download::Tarball { mirror, .. } => mirror,
    };
    with_slash(&base_url.unwrap_or(mirror).replace("{dataset}", spec.name))
}

/// The URL the files of `spec` are fetched from, for messages: `BASE<name>.gz` for each file,
/// or the one archive.
pub fn source_text(spec: &DatasetSpec, base_url: Option<&str>) -> String {
    let base = mirror_base(spec, base_url);
    match spec.download {
        Download::GzFiles { .. } => format!("{base}<file>.gz"),
        Download::Tarball { archive, .. } => format!("{base}{archive}"),
    }
}

/// Each file from `base + name + ".gz"`, stored under its decompressed name plus `.gz` (or
/// without `.gz` if the server sent it uncompressed).
fn fetch_gz_files(
    agent: &ureq::Agent,
    data_dir: &Path,
    spec: &DatasetSpec,
    files: &[FileSpec],
    base: &str,
    opts: &FetchOptions,
) -> Result<FetchReport> {
    let dir = spec.fetch_dir(data_dir);
    let created = NewDirs::create(&dir)?;
    let mut parts = Vec::new();
    let mut urls = Vec::new();
    for file in files {
        let url = format!("{base}{}.gz", file.name);
        let mut part = PartFile::create(&dir, file.name)?;
        download(agent, &url, &mut part, opts)?;
        let raw = fs::read(&part.path).map_err(|e| Error::io(&part.path, e))?;
        let gzipped = raw.starts_with(&[0x1f, 0x8b]);
        let dest = dir.join(if gzipped {
            format!("{}.gz", file.name)
        } else {
            file.name.to_string()
        });
        let content = decompress_if_gzipped(raw, &dest)?;
        validate_download(spec, file, &content, &dest, &url, opts.checksums)?;
        parts.push((part, dest));
        urls.push(url);
    }
    let files = persist_all(parts, &dir)?;
    created.keep();
    Ok(FetchReport {
        urls,
        files,
        checksums_verified: false,
    })
}

/// One gzipped tar archive at `url`, whose members named like `files` (in any folder of the
/// archive) are extracted into `spec.fetch_dir(data_dir)` (`<dir>/cifar-10-batches-bin/`).
fn fetch_tarball(
    agent: &ureq::Agent,
    data_dir: &Path,
    spec: &DatasetSpec,
    files: &[FileSpec],
    url: &str,
    opts: &FetchOptions,
) -> Result<FetchReport> {
    let root = spec.dir(data_dir);
    let dir = spec.fetch_dir(data_dir);
    let created = NewDirs::create(&dir)?;
    let mut archive = PartFile::create(&root, "archive.tar.gz")?;
    download(agent, url, &mut archive, opts)?;
    let archive_path = archive.path.clone();
    let archive_file = File::open(&archive_path).map_err(|e| Error::io(&archive_path, e))?;
    let mut parts: Vec<(PartFile, PathBuf)> = Vec::new();
    for_each_file(
        GzDecoder::new(io::BufReader::new(archive_file)),
        &archive_path,
        |name, content| {
            let base_name = name.rsplit('/').next().unwrap_or(name);
            let Some(file) = files.iter().find(|f| f.name == base_name) else {
                return Ok(());
            };
            let mut part = PartFile::create(&dir, file.name)?;
            io::copy(content, &mut part.file)
                .map_err(|e| Error::format(&archive_path, "tar", format!("member {name}: {e}")))?;
            part.sync()?;
            let dest = dir.join(file.name);
            let content = read_decompressed(&part.path)?;
            validate_download(spec, file, &content, &dest, url, opts.checksums)?;
            parts.push((part, dest));
            Ok(())
        },
    )?;
    if let Some(missing) = files
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
        checksums_verified: false,
    })
}

/// Streams the body of `url` into `part` (with a progress bar as `opts` says) and syncs it;
/// errors say what failed (HTTP status, no progress within the bound, no connection).
fn download(
    agent: &ureq::Agent,
    url: &str,
    part: &mut PartFile,
    opts: &FetchOptions,
) -> Result<()> {
    let mut response = http::get(agent, url, opts.timeout)?;
    let name = url.rsplit('/').next().unwrap_or(url);
    let bar = opts.progress.bar(name, response.len);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = match response.body.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                bar.abandon();
                return Err(Error::Download {
                    url: url.to_string(),
                    detail: format!(
                        "reading the answer failed: {}",
                        read_error(&e, opts.timeout)
                    ),
                });
            }
        };
        part.file
            .write_all(&buf[..k])
            .map_err(|e| Error::io(&part.path, e))?;
        bar.inc(k as u64);
        if opts
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
        {
            bar.abandon();
            return Err(Error::Download {
                url: url.to_string(),
                detail: "stopped by SIGINT or SIGTERM; nothing was written".into(),
            });
        }
    }
    bar.finish_and_clear();
    part.sync()
}

/// A failed read of a body in words: a stall names the bound.
fn read_error(err: &io::Error, timeout: Duration) -> String {
    match err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
        Some(inner) => http::describe(inner, timeout),
        None if err.kind() == io::ErrorKind::TimedOut => {
            http::describe(&ureq::Error::Timeout(ureq::Timeout::PerRead), timeout)
        }
        None => err.to_string(),
    }
}

/// Checks a downloaded file (its checksum only under [`ChecksumPolicy::Verify`]); a
/// checksum mismatch says that the mirror served other content.
fn validate_download(
    spec: &DatasetSpec,
    file: &FileSpec,
    content: &[u8],
    dest: &Path,
    url: &str,
    checksums: ChecksumPolicy,
) -> Result<()> {
    let unchecked = FileSpec { md5: None, ..*file };
    let file = match checksums {
        ChecksumPolicy::Verify => file,
        ChecksumPolicy::Skip => &unchecked,
    };
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
