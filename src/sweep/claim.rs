//! Claims on chains, so that several workers (processes on one machine, or jobs of a
//! scheduler sharing a folder) never run the same chain at once. A claim on chain NAME is the
//! file `claims/NAME.GEN` in the sweep folder, made with an exclusive create (`O_EXCL`), so of
//! two workers only one makes it. It holds its owner (host, process) and when it was taken.
//! While the owner runs the chain, a heartbeat thread renews the file's modification time every
//! quarter of the stale timeout. A claim whose heartbeat is older than the timeout, or whose
//! owner was a process of this host that is gone, belongs to a dead worker: another takes it over by making generation GEN + 1 (again exclusively, so one
//! worker wins), and continues the chain from its checkpoint. The timeout must exceed the
//! longest pause of a live worker and the clock skew between hosts on a shared file system
//! (the file system's own times are compared with this host's clock).

use crate::{Error, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The default stale timeout of `gped sweep --stale-after` (seconds).
pub const DEFAULT_STALE_AFTER_S: u64 = 600;

/// A chain held by this worker; dropping it stops the heartbeat and removes the claim.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    heartbeat: Option<JoinHandle<()>>,
}

/// Who holds a chain, as `gped sweep --status` tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    /// No claim file.
    Nobody,
    /// A claim renewed within the timeout; its owner line.
    Live(String),
    /// A claim whose heartbeat is older than the timeout (seconds since it).
    Stale(String, u64),
}

impl Claim {
    /// Claims chain `chain` in the sweep folder `dir`, taking over a stale claim; `None` when
    /// a live worker holds it.
    pub fn take(dir: &Path, chain: &str, stale_after: Duration) -> Result<Option<Claim>> {
        let claims = dir.join("claims");
        std::fs::create_dir_all(&claims).map_err(|e| Error::io(&claims, e))?;
        let next = match latest(&claims, chain)? {
            None => 0,
            Some((generation, path)) => match age(&path)? {
                Some(age) if age <= stale_after && !owner_died_here(&path) => return Ok(None),
                // Vanished meanwhile (released) or stale: the next generation is free to take.
                _ => generation + 1,
            },
        };
        let path = claims.join(format!("{chain}.{next}"));
        let file = OpenOptions::new().write(true).create_new(true).open(&path);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let owner = format!(
            "owner {} pid {} at unix time {}\n",
            host_name(),
            std::process::id(),
            unix_now()
        );
        file.write_all(owner.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        // Older generations are dead claims: remove them (best effort) so `latest` stays cheap.
        for generation in 0..next {
            let _ = std::fs::remove_file(claims.join(format!("{chain}.{generation}")));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = spawn_heartbeat(path.clone(), stale_after / 4, Arc::clone(&stop));
        Ok(Some(Claim {
            path,
            stop,
            heartbeat: Some(heartbeat),
        }))
    }

    /// Who holds chain `chain` in the sweep folder `dir`.
    pub fn holder(dir: &Path, chain: &str, stale_after: Duration) -> Result<Holder> {
        let Some((_, path)) = latest(&dir.join("claims"), chain)? else {
            return Ok(Holder::Nobody);
        };
        let owner = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .trim()
            .to_string();
        Ok(match age(&path)? {
            None => Holder::Nobody,
            Some(age) if age <= stale_after && !owner_died_here(&path) => Holder::Live(owner),
            Some(age) => Holder::Stale(owner, age.as_secs()),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Renews `path`'s modification time every `every` until `stop` is set.
fn spawn_heartbeat(path: PathBuf, every: Duration, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::park_timeout(every);
            if let Ok(file) = OpenOptions::new().append(true).open(&path) {
                let _ = file.set_modified(SystemTime::now());
            }
        }
    })
}

/// The highest generation of `chain`'s claim files in `claims`, with its path.
fn latest(claims: &Path, chain: &str) -> Result<Option<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(claims) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(claims, e)),
    };
    let prefix = format!("{chain}.");
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(claims, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(generation) = name
            .strip_prefix(&prefix)
            .and_then(|g| g.parse::<u64>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| generation > *b) {
            best = Some((generation, entry.path()));
        }
    }
    Ok(best)
}

/// Whether the claim at `path` was taken by a process of this host that no longer runs (a
/// worker killed here need not wait out the timeout). Linux only (`/proc`); elsewhere, and
/// for other hosts, only the heartbeat tells.
fn owner_died_here(path: &Path) -> bool {
    let owner = std::fs::read_to_string(path).unwrap_or_default();
    let words: Vec<&str> = owner.split_whitespace().collect();
    match words.as_slice() {
        ["owner", host, "pid", pid, ..] if *host == host_name() => {
            Path::new("/proc/self").exists() && !Path::new("/proc").join(pid).exists()
        }
        _ => false,
    }
}

/// Time since `path` was last modified (its heartbeat); `None` if it is gone.
fn age(path: &Path) -> Result<Option<Duration>> {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => Ok(Some(
            SystemTime::now().duration_since(t).unwrap_or_default(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This host's name (for the claim's owner line).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(600);

    #[test]
    fn one_worker_holds_a_chain_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = Claim::take(dir.path(), "a", LONG).unwrap().expect("free");
        assert!(Claim::take(dir.path(), "a", LONG).unwrap().is_none());
        // Another chain is independent.
        let other = Claim::take(dir.path(), "b", LONG).unwrap();
        assert!(other.is_some());
        assert!(matches!(
            Claim::holder(dir.path(), "a", LONG).unwrap(),
            Holder::Live(owner) if owner.contains(&format!("pid {}", std::process::id()))
        ));
        drop(first);
        assert_eq!(
            Claim::holder(dir.path(), "a", LONG).unwrap(),
            Holder::Nobody
        );
        assert!(Claim::take(dir.path(), "a", LONG).unwrap().is_some());
    }

    #[test]
    fn a_stale_claim_is_taken_over_by_exactly_one_worker() {
        let dir = tempfile::tempdir().unwrap();
        // A dead worker's claim: generation 0, last renewed an hour ago.
        std::fs::create_dir_all(dir.path().join("claims")).unwrap();
        let dead = dir.path().join("claims/a.0");
        std::fs::write(&dead, "owner gone pid 1\n").unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .append(true)
            .open(&dead)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        assert!(matches!(
            Claim::holder(dir.path(), "a", LONG).unwrap(),
            Holder::Stale(_, age) if age >= 3600
        ));
        // Two workers race for it: one wins, the other sees the new live claim.
        let (x, y) = std::thread::scope(|s| {
            let a = s.spawn(|| Claim::take(dir.path(), "a", LONG).unwrap());
            let b = s.spawn(|| Claim::take(dir.path(), "a", LONG).unwrap());
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(x.is_some() as u8 + y.is_some() as u8, 1, "{x:?} {y:?}");
        assert!(dir.path().join("claims/a.1").exists() && !dead.exists());
    }

    #[test]
    fn a_claim_of_a_dead_process_of_this_host_is_taken_over_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("claims")).unwrap();
        // A child process that has exited: its pid no longer runs.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let claim = format!("owner {} pid {pid} at unix time 0\n", host_name());
        std::fs::write(dir.path().join("claims/a.0"), claim).unwrap();
        assert!(matches!(
            Claim::holder(dir.path(), "a", LONG).unwrap(),
            Holder::Stale(..)
        ));
        assert!(Claim::take(dir.path(), "a", LONG).unwrap().is_some());
        // The same claim from another host is live until its heartbeat is old.
        let other = format!("owner not-{} pid {pid} at unix time 0\n", host_name());
        std::fs::write(dir.path().join("claims/b.0"), other).unwrap();
        assert!(Claim::take(dir.path(), "b", LONG).unwrap().is_none());
    }

    #[test]
    fn the_heartbeat_keeps_a_claim_live_past_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let short = Duration::from_millis(400);
        let claim = Claim::take(dir.path(), "a", short).unwrap().expect("free");
        std::thread::sleep(Duration::from_millis(1200));
        assert!(matches!(
            Claim::holder(dir.path(), "a", short).unwrap(),
            Holder::Live(_)
        ));
        assert!(Claim::take(dir.path(), "a", short).unwrap().is_none());
        drop(claim);
    }
}
