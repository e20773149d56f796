//! Helpers shared by the tests: the data folder of the data-bound tests (the real files of
//! `GPED_DATA_DIR`, or else the synthetic MNIST-format folder of `synthetic`), a loopback HTTP
//! server (and, in `mirror`, mirrors made of it, a stalled one and a dead one), writers of
//! small IDX / gzip / tar fixtures, (`cli`) running the binary, and (`reference`) independent
//! recomputations of `gped eval`'s numbers.
#![allow(dead_code)]

pub mod cli;
pub mod fixture;
pub mod mirror;
pub mod reference;
pub mod synthetic;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use flate2::{Compression, write::GzEncoder};

/// What `#[ignore]` says of, and a real-data-only test run without the files fails with.
pub const NEEDS_REAL_DATA: &str = concat!(
    "needs the real MNIST files: ",
    "GPED_DATA_DIR=../shared/data cargo test --release -- --include-ignored"
);

/// The MNIST-format data folder a data-bound test runs on.
pub enum TestData {
    /// The real MNIST and Fashion-MNIST files of `GPED_DATA_DIR`.
    Real(PathBuf),
    /// The synthetic folder of [`synthetic`], when `GPED_DATA_DIR` is unset.
    Synthetic(PathBuf),
}

impl TestData {
    pub fn dir(&self) -> &Path {
        match self {
            TestData::Real(dir) | TestData::Synthetic(dir) => dir,
        }
    }

    pub fn is_real(&self) -> bool {
        matches!(self, TestData::Real(_))
    }

    /// The config overrides (`key=value`) a run on this data needs: the synthetic files are
    /// not MNIST's, so their checksums are not checked.
    pub fn overrides(&self) -> &'static [&'static str] {
        match self {
            TestData::Real(_) => &[],
            TestData::Synthetic(_) => &["data.verify_checksums=false"],
        }
    }

    /// [`TestData::overrides`] as `--set` arguments of `gped run`.
    pub fn set_args(&self) -> Vec<&'static str> {
        self.overrides()
            .iter()
            .flat_map(|&o| ["--set", o])
            .collect()
    }
}

/// The data of the data-bound tests: the real files when `GPED_DATA_DIR` is set (resolved as
/// [`gped_data_dir`] does; a loud failure if it names no folder), else the synthetic folder,
/// made once per build of its generator.
pub fn test_data() -> &'static TestData {
    static DATA: OnceLock<TestData> = OnceLock::new();
    DATA.get_or_init(|| match gped_data_dir() {
        Some(dir) => TestData::Real(dir),
        None => TestData::Synthetic(synthetic_data_dir()),
    })
}

/// The real data folder, for the `#[ignore]`d real-data-only tests: fails with
/// [`NEEDS_REAL_DATA`] when `GPED_DATA_DIR` is unset (never skips).
pub fn real_data_dir() -> PathBuf {
    gped_data_dir().unwrap_or_else(|| panic!("{NEEDS_REAL_DATA} (GPED_DATA_DIR is not set)"))
}

/// The folder named by `GPED_DATA_DIR`, resolved against the current directory and then the
/// package root; `None` when the variable is unset. A set variable that names no folder is a
/// configuration error and fails the test.
fn gped_data_dir() -> Option<PathBuf> {
    let raw = PathBuf::from(std::env::var_os("GPED_DATA_DIR")?);
    let candidates = if raw.is_absolute() {
        vec![raw.clone()]
    } else {
        let cwd = std::env::current_dir().unwrap_or_default();
        vec![
            cwd.join(&raw),
            Path::new(env!("CARGO_MANIFEST_DIR")).join(&raw),
        ]
    };
    match candidates.iter().find(|d| d.is_dir()) {
        Some(dir) => Some(dir.clone()),
        None => panic!(
            "GPED_DATA_DIR={} names no folder (tried {candidates:?}); point it at the folder \
             holding mnist/ and fashion-mnist/, or unset it to run on the tests' synthetic data",
            raw.display()
        ),
    }
}

/// The synthetic data folder under cargo's test scratch folder (`target/tmp`), named after a
/// hash of the generator's source so that a changed generator makes a new one. Written into a
/// temporary folder and renamed into place, so concurrent test binaries never see half of it.
fn synthetic_data_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // FNV-1a: a hash that no toolchain update changes.
    let hash = include_str!("synthetic.rs")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let dir = tmp.join(format!("synthetic-mnist-{hash:016x}"));
    if !dir.is_dir() {
        std::fs::create_dir_all(tmp).unwrap();
        let staging = tempfile::tempdir_in(tmp).unwrap();
        synthetic::write_data_folder(staging.path());
        // Fails harmlessly when another test binary renamed its copy into place first.
        if std::fs::rename(staging.path(), &dir).is_err() {
            assert!(dir.is_dir(), "could not write {}", dir.display());
        }
    }
    dir
}

/// A canned response of the loopback server.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: Vec<u8>) -> Self {
        Reply { status: 200, body }
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 answering GET requests from a fixed table (404 for
/// unknown paths). It serves at most `MAX_REQUESTS` requests and stops after `LIFETIME`.
pub struct LoopbackServer {
    pub base_url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

const MAX_REQUESTS: usize = 64;
const LIFETIME: Duration = Duration::from_secs(60);

impl LoopbackServer {
    pub fn start(routes: HashMap<String, Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut served = 0;
            while served < MAX_REQUESTS && start.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        if let Some(path) = serve(stream, &routes) {
                            log.lock().unwrap().push(path);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        LoopbackServer { base_url, requests }
    }

    /// Paths requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Reply>) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1)?.to_string();
    let reply = routes.get(&path).cloned().unwrap_or(Reply {
        status: 404,
        body: b"not found".to_vec(),
    });
    let reason = match reply.status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Other",
    };
    let header = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.body.len()
    );
    stream.write_all(header.as_bytes()).ok()?;
    stream.write_all(&reply.body).ok()?;
    stream.flush().ok()?;
    Some(path)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An IDX images file of `n` images of `rows x cols`; pixel k of the file is k mod 256.
pub fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = 0x0803u32.to_be_bytes().to_vec();
    for d in [n, rows, cols] {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend((0..n * rows * cols).map(|k| (k % 256) as u8));
    bytes
}

/// An IDX labels file holding `labels`.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = 0x0801u32.to_be_bytes().to_vec();
    bytes.extend((labels.len() as u32).to_be_bytes());
    bytes.extend(labels);
    bytes
}

/// The four standard IDX files (decompressed) of a tiny 28x28 dataset: 3 train, 2 test.
pub fn tiny_idx_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("train-images-idx3-ubyte", idx_images(3, 28, 28)),
        ("train-labels-idx1-ubyte", idx_labels(&[0, 1, 2])),
        ("t10k-images-idx3-ubyte", idx_images(2, 28, 28)),
        ("t10k-labels-idx1-ubyte", idx_labels(&[3, 4])),
    ]
}

/// Routes serving `files` gzipped as `/<name>.gz`.
pub fn gz_routes(files: &[(&str, Vec<u8>)]) -> HashMap<String, Reply> {
    files
        .iter()
        .map(|(name, content)| (format!("/{name}.gz"), Reply::ok(gzip(content))))
        .collect()
}

/// A ustar archive of regular files, closed by two zero blocks (the layout of POSIX.1-1988:
/// 512-byte header with octal size at 124 and checksum at 148, content padded to 512).
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in files {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..108].copy_from_slice(b"0000644\0");
        header[124..136].copy_from_slice(format!("{:011o}\0", content.len()).as_bytes());
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Every path under `dir` (files and folders), relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}
