//! Fake mirrors for the fetch tests, all on 127.0.0.1: a data folder served as a mirror that
//! holds one folder per dataset (`URL/mnist/train-images-idx3-ubyte.gz`), a server that
//! accepts connections and never answers, and a port where nothing listens.

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Reply;

/// Routes serving the files of `datasets` in the data folder `dir` as
/// `/<dataset>/<name>.gz` (a file stored raw is served as it is, as some mirrors do).
pub fn folder_routes(dir: &Path, datasets: &[&str]) -> HashMap<String, Reply> {
    let mut routes = HashMap::new();
    for dataset in datasets {
        for entry in std::fs::read_dir(dir.join(dataset)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            let stem = name.strip_suffix(".gz").unwrap_or(name);
            let body = std::fs::read(&path).unwrap();
            routes.insert(format!("/{dataset}/{stem}.gz"), Reply::ok(body));
        }
    }
    routes
}

/// Routes serving `files` (decompressed contents) gzipped as `/<dataset>/<name>.gz`.
pub fn dataset_routes(dataset: &str, files: &[(&str, Vec<u8>)]) -> HashMap<String, Reply> {
    files
        .iter()
        .map(|(name, content)| {
            (
                format!("/{dataset}/{name}.gz"),
                Reply::ok(super::gzip(content)),
            )
        })
        .collect()
}

/// A server that accepts every connection and never sends a byte (or only `prefix`), until
/// dropped (or after a minute).
pub struct StalledServer {
    pub base_url: String,
    stop: Arc<AtomicBool>,
}

impl StalledServer {
    pub fn start() -> Self {
        Self::start_after(Vec::new())
    }

    /// A server that sends `prefix` on every connection (e.g. a response head and part of
    /// the body it announces) and then nothing more.
    pub fn start_after(prefix: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(60) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.write_all(&prefix);
                        held.push(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        StalledServer { base_url, stop }
    }
}

impl Drop for StalledServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A base URL on a loopback port where nothing listens (bound, then released).
pub fn dead_base_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/")
}
