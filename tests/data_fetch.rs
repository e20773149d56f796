//! `gped::data::fetch_spec` (and `ensure`, which fetches the missing files of a dataset)
//! against a loopback HTTP server started by each test: files are written only when every one
//! passes its checksum and format checks; any failure (checksum, HTTP error, corrupt content,
//! a stall) leaves nothing behind and never touches the files already there. The catalogue entries are copied with
//! checksums of the fake content, so the real mirrors and checksums are never involved.

mod common;

use std::collections::HashMap;

use common::mirror::StalledServer;
use common::{LoopbackServer, Reply, gz_routes, gzip, tar, tiny_idx_files, tree};
use gped::Error;
use gped::data::{
    BOTH_SPLITS, ChecksumPolicy, DataAccess, DatasetSpec, FetchOptions, FileSpec, Need, Split,
    dataset_spec, ensure, fetch_files, fetch_spec, load_spec, md5_hex,
};
use std::time::{Duration, Instant};

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// The kmnist catalogue entry renamed `fake-mnist`, with the given MD5 per file (in the
/// catalogue's file order) and no real mirror.
fn fake_spec(md5s: [Option<String>; 4]) -> DatasetSpec {
    let base = dataset_spec("kmnist").unwrap();
    let files: Vec<FileSpec> = base
        .files
        .iter()
        .zip(md5s)
        .map(|(f, md5)| FileSpec {
            md5: md5.map(|m| leak(m).as_str()),
            ..*f
        })
        .collect();
    DatasetSpec {
        name: "fake-mnist",
        files: leak(files).as_slice(),
        ..*base
    }
}

fn correct_md5s() -> [Option<String>; 4] {
    let files = tiny_idx_files();
    std::array::from_fn(|k| Some(md5_hex(&files[k].1)))
}

#[test]
fn fetch_writes_verified_files_that_then_load() {
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let data = tempfile::tempdir().unwrap();
    let spec = fake_spec(correct_md5s());
    let report = fetch_spec(data.path(), &spec, Some(&server.base_url)).unwrap();
    assert!(report.checksums_verified);
    assert_eq!(report.files.len(), 4);
    assert_eq!(
        tree(data.path()),
        vec![
            "fake-mnist",
            "fake-mnist/t10k-images-idx3-ubyte.gz",
            "fake-mnist/t10k-labels-idx1-ubyte.gz",
            "fake-mnist/train-images-idx3-ubyte.gz",
            "fake-mnist/train-labels-idx1-ubyte.gz",
        ]
    );
    let mut requested = server.requests();
    requested.sort();
    assert_eq!(requested.len(), 4);
    assert_eq!(requested[0], "/t10k-images-idx3-ubyte.gz");
    let train = load_spec(data.path(), &spec, Split::Train, ChecksumPolicy::Verify).unwrap();
    assert_eq!(train.shape(), [3, 1, 28, 28]);
    assert_eq!(train.labels(), &[0, 1, 2]);
}

#[test]
fn checksum_mismatch_leaves_nothing_behind() {
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let data = tempfile::tempdir().unwrap();
    let mut md5s = correct_md5s();
    // The last file is the one that fails: the three already downloaded must go too.
    md5s[3] = Some(md5_hex(b"something else"));
    let err = fetch_spec(data.path(), &fake_spec(md5s), Some(&server.base_url)).unwrap_err();
    let msg = err.to_string();
    match err {
        Error::Checksum { path, expected, .. } => {
            assert!(
                path.ends_with("fake-mnist/t10k-labels-idx1-ubyte.gz"),
                "{path:?}"
            );
            assert_eq!(expected, md5_hex(b"something else"));
        }
        other => panic!("expected a checksum error, found {other:?}"),
    }
    assert!(msg.contains("served other content"), "{msg}");
    assert!(msg.contains("nothing was written"), "{msg}");
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

fn assert_http_error_leaves_nothing(status: u16) {
    let mut routes = gz_routes(&tiny_idx_files());
    routes.insert(
        "/t10k-images-idx3-ubyte.gz".into(),
        Reply {
            status,
            body: b"oops".to_vec(),
        },
    );
    let server = LoopbackServer::start(routes);
    let data = tempfile::tempdir().unwrap();
    // A data directory that does not exist yet: the folders created for it go as well.
    let dir = data.path().join("new/data");
    let err = fetch_spec(&dir, &fake_spec(correct_md5s()), Some(&server.base_url)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert!(msg.contains("t10k-images-idx3-ubyte.gz"), "{msg}");
    assert!(msg.contains(&format!("HTTP {status}")), "{msg}");
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

#[test]
fn http_404_leaves_nothing_behind() {
    assert_http_error_leaves_nothing(404);
}

#[test]
fn http_500_leaves_nothing_behind() {
    assert_http_error_leaves_nothing(500);
}

#[test]
fn unreachable_server_is_a_download_error() {
    // Bind and drop a listener to get a local port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let err = fetch_spec(
        data.path(),
        &fake_spec(correct_md5s()),
        Some(&format!("http://127.0.0.1:{port}/")),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

#[test]
fn corrupt_content_without_checksum_is_caught_by_the_format_check() {
    let mut files = tiny_idx_files();
    files[1].1 = common::idx_labels(&[0, 12, 2]);
    let server = LoopbackServer::start(gz_routes(&files));
    let data = tempfile::tempdir().unwrap();
    let err = fetch_spec(
        data.path(),
        &fake_spec(Default::default()),
        Some(&server.base_url),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Format { format: "IDX", .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("label 1 is 12, expected a class below 10"),
        "{msg}"
    );
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

#[test]
fn bad_gzip_is_a_format_error() {
    let mut routes = gz_routes(&tiny_idx_files());
    let mut broken = gzip(&tiny_idx_files()[0].1);
    broken.truncate(broken.len() / 2);
    routes.insert("/train-images-idx3-ubyte.gz".into(), Reply::ok(broken));
    let server = LoopbackServer::start(routes);
    let data = tempfile::tempdir().unwrap();
    let err = fetch_spec(
        data.path(),
        &fake_spec(correct_md5s()),
        Some(&server.base_url),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Format { format: "gzip", .. }),
        "{err:?}"
    );
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

/// A CIFAR-10 batch of records with the given labels.
fn cifar_batch(labels: &[u8]) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|&l| std::iter::once(l).chain((0..3072).map(|k| (k % 256) as u8)))
        .collect()
}

fn cifar_archive(with_test_batch: bool) -> Vec<u8> {
    let batches: Vec<(String, Vec<u8>)> = (1..=5)
        .map(|k| {
            (
                format!("cifar-10-batches-bin/data_batch_{k}.bin"),
                cifar_batch(&[k, 0]),
            )
        })
        .chain(with_test_batch.then(|| {
            (
                "cifar-10-batches-bin/test_batch.bin".to_string(),
                cifar_batch(&[9]),
            )
        }))
        .chain(std::iter::once((
            "cifar-10-batches-bin/batches.meta.txt".to_string(),
            b"airplane\n".to_vec(),
        )))
        .collect();
    let entries: Vec<(&str, &[u8])> = batches
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    gzip(&tar(&entries))
}

#[test]
fn cifar10_tarball_is_extracted_and_loads() {
    let routes = HashMap::from([(
        "/cifar-10-binary.tar.gz".to_string(),
        Reply::ok(cifar_archive(true)),
    )]);
    let server = LoopbackServer::start(routes);
    let data = tempfile::tempdir().unwrap();
    let spec = dataset_spec("cifar10").unwrap();
    let report = fetch_spec(data.path(), spec, Some(&server.base_url)).unwrap();
    assert_eq!(report.files.len(), 6);
    assert!(!report.checksums_verified);
    let listing = tree(data.path());
    assert_eq!(listing.len(), 2 + 6, "{listing:?}");
    assert!(listing.iter().all(|p| !p.contains(".part")), "{listing:?}");
    let train = load_spec(data.path(), spec, Split::Train, ChecksumPolicy::Verify).unwrap();
    assert_eq!(train.shape(), [10, 3, 32, 32]);
    assert_eq!(train.labels(), &[1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
    let test = load_spec(data.path(), spec, Split::Test, ChecksumPolicy::Verify).unwrap();
    assert_eq!(test.labels(), &[9]);
}

#[test]
fn cifar10_tarball_missing_a_batch_leaves_nothing_behind() {
    let routes = HashMap::from([(
        "/cifar-10-binary.tar.gz".to_string(),
        Reply::ok(cifar_archive(false)),
    )]);
    let server = LoopbackServer::start(routes);
    let data = tempfile::tempdir().unwrap();
    let err = fetch_spec(
        data.path(),
        dataset_spec("cifar10").unwrap(),
        Some(&server.base_url),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no member named test_batch.bin"),
        "{err}"
    );
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

/// `ensure` of both splits of `spec` in `dir`, fetching from `base_url`.
fn ensure_all(dir: &std::path::Path, spec: &DatasetSpec, base_url: &str) -> gped::Result<()> {
    let access = DataAccess {
        dir: dir.to_path_buf(),
        fetch: Some(FetchOptions {
            base_url: Some(base_url.to_string()),
            ..FetchOptions::default()
        }),
    };
    let needs = [Need {
        spec,
        splits: BOTH_SPLITS,
    }];
    ensure(&access, &needs, true, ChecksumPolicy::Verify)
}

#[test]
fn ensure_fetches_only_the_missing_files_verified_and_nothing_when_none_is() {
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let data = tempfile::tempdir().unwrap();
    let spec = fake_spec(correct_md5s());
    let folder = data.path().join("fake-mnist");
    std::fs::create_dir(&folder).unwrap();
    for (name, content) in &tiny_idx_files()[..2] {
        std::fs::write(folder.join(name), content).unwrap();
    }
    ensure_all(data.path(), &spec, &server.base_url).unwrap();
    let mut requested = server.requests();
    requested.sort();
    assert_eq!(
        requested,
        ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz"]
    );
    let test = load_spec(data.path(), &spec, Split::Test, ChecksumPolicy::Verify).unwrap();
    assert_eq!(test.labels(), &[3, 4]);
    ensure_all(data.path(), &spec, &server.base_url).unwrap();
    assert_eq!(
        server.requests().len(),
        2,
        "nothing missing, nothing fetched"
    );
}

#[test]
fn ensure_with_a_wrong_file_keeps_the_files_already_there_and_lists_the_missing() {
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let data = tempfile::tempdir().unwrap();
    let mut md5s = correct_md5s();
    md5s[3] = Some(md5_hex(b"the published labels"));
    let spec = fake_spec(md5s);
    let folder = data.path().join("fake-mnist");
    std::fs::create_dir(&folder).unwrap();
    let (name, content) = &tiny_idx_files()[0];
    std::fs::write(folder.join(name), content).unwrap();
    let err = ensure_all(data.path(), &spec, &server.base_url).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::MissingData { .. }), "{err:?}");
    assert!(
        msg.contains(&format!(
            "checksum mismatch: expected MD5 {}, found {}",
            md5_hex(b"the published labels"),
            md5_hex(&tiny_idx_files()[3].1)
        )),
        "{msg}"
    );
    // The three missing files are listed; the one there is kept as it was, alone.
    assert!(msg.contains("t10k-labels-idx1-ubyte[.gz]"), "{msg}");
    assert!(!msg.contains("train-images-idx3-ubyte[.gz]"), "{msg}");
    assert_eq!(
        tree(data.path()),
        ["fake-mnist", "fake-mnist/train-images-idx3-ubyte"]
    );
    assert_eq!(&std::fs::read(folder.join(name)).unwrap(), content);
}

#[test]
fn a_body_that_stops_midway_fails_after_the_bound_and_leaves_nothing() {
    let body = gzip(&tiny_idx_files()[0].1);
    let mut prefix = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    prefix.extend_from_slice(&body[..body.len() / 2]);
    let server = StalledServer::start_after(prefix);
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    let spec = fake_spec(correct_md5s());
    let opts = FetchOptions {
        base_url: Some(server.base_url.clone()),
        timeout: Duration::from_millis(800),
        ..FetchOptions::default()
    };
    let start = Instant::now();
    let err = fetch_files(&dir, &spec, spec.files, &opts).unwrap_err();
    let took = start.elapsed();
    let msg = err.to_string();
    assert!(
        msg.contains(
            "train-images-idx3-ubyte.gz failed: reading the answer failed: no progress for 0.8 s"
        ),
        "{msg}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(tree(data.path()), Vec::<String>::new());
}
