//! Helpers shared by the data tests: the real data directory from `GPED_DATA_DIR`, a loopback
//! HTTP server, writers of small IDX / gzip / tar fixtures, and (`cli`) running the binary.
#![allow(dead_code)]

pub mod cli;
pub mod fixture;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::{Compression, write::GzEncoder};

/// The real data directory named by `GPED_DATA_DIR`, resolved against the current directory
/// and then the package root; `None` (with a visible message) when the variable is unset.
/// A set variable that names no folder is a configuration error and fails the test.
pub fn real_data_dir(test: &str) -> Option<PathBuf> {
    let Some(raw) = std::env::var_os("GPED_DATA_DIR") else {
        // Written to stderr directly, not with eprintln!, so the test harness does not capture it.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: GPED_DATA_DIR is not set (e.g. GPED_DATA_DIR=../shared/data)"
        );
        return None;
    };
    let raw = PathBuf::from(raw);
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
            "GPED_DATA_DIR={} names no folder (tried {candidates:?})",
            raw.display()
        ),
    }
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
