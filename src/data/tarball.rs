//! A minimal reader of (ustar / GNU) tar archives, enough to extract the CIFAR-10 batches from
//! the official `cifar-10-binary.tar.gz`: it walks 512-byte headers, checks each header's
//! checksum, and hands every regular file's content to a callback; other entries are skipped.

use std::io::{self, Read};
use std::path::Path;

use crate::{Error, Result};

const BLOCK: usize = 512;
const FORMAT: &str = "tar";

/// Calls `visit(name, content)` for each regular file of the tar stream `archive`, in archive
/// order; `content` reads exactly that file's bytes. `path` names the archive in errors.
pub fn for_each_file(
    mut archive: impl Read,
    path: &Path,
    mut visit: impl FnMut(&str, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let mut header = [0u8; BLOCK];
    let mut long_name: Option<String> = None;
    loop {
        if !read_block(&mut archive, &mut header, path)? || header.iter().all(|&b| b == 0) {
            return Ok(());
        }
        check_header_checksum(&header, path)?;
        let size = parse_octal(&header[124..136]).ok_or_else(|| {
            Error::format(path, FORMAT, "entry size field is not an octal number")
        })?;
        let name = match long_name.take() {
            Some(name) => name,
            None => header_name(&header),
        };
        let mut content = (&mut archive).take(size);
        match header[156] {
            b'0' | 0 => visit(&name, &mut content)?,
            b'L' => {
                let mut bytes = Vec::new();
                content
                    .read_to_end(&mut bytes)
                    .map_err(|e| truncated(path, &e))?;
                long_name = Some(c_string(&bytes));
            }
            _ => {}
        }
        // Skip what the visitor did not read, then the padding to the next block.
        io::copy(&mut content, &mut io::sink()).map_err(|e| truncated(path, &e))?;
        if content.limit() > 0 {
            return Err(truncated(path, &io::ErrorKind::UnexpectedEof.into()));
        }
        let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        let skipped = io::copy(&mut (&mut archive).take(padding), &mut io::sink())
            .map_err(|e| truncated(path, &e))?;
        if skipped != padding {
            return Err(truncated(path, &io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

/// Reads one block; `Ok(false)` at a clean end of stream (no byte of a new block).
fn read_block(archive: &mut impl Read, block: &mut [u8; BLOCK], path: &Path) -> Result<bool> {
    let mut filled = 0;
    while filled < BLOCK {
        match archive.read(&mut block[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(truncated(path, &io::ErrorKind::UnexpectedEof.into())),
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(truncated(path, &e)),
        }
    }
    Ok(true)
}

fn truncated(path: &Path, err: &io::Error) -> Error {
    Error::format(
        path,
        FORMAT,
        format!("archive truncated or corrupt ({err})"),
    )
}

/// The entry's path: the ustar prefix (if any) joined with the name.
fn header_name(header: &[u8; BLOCK]) -> String {
    let name = c_string(&header[0..100]);
    let is_ustar = &header[257..262] == b"ustar";
    let prefix = if is_ustar {
        c_string(&header[345..500])
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// An octal field, NUL- or space-terminated, possibly space-padded.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = c_string(field);
    let text = text.trim_matches(' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The header checksum: the sum of all header bytes with the checksum field read as spaces.
fn check_header_checksum(header: &[u8; BLOCK], path: &Path) -> Result<()> {
    let expected = parse_octal(&header[148..156]);
    let found: u64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    if expected != Some(found) {
        return Err(Error::format(
            path,
            FORMAT,
            format!(
                "header checksum: expected {}, found {found}; the archive is corrupt",
                expected.map_or_else(|| "an octal number".to_string(), |e| e.to_string())
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ustar archive of regular files (name, content), with the two closing zero blocks.
    pub(crate) fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, content) in files {
            let mut header = [0u8; BLOCK];
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
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.resize(out.len() + 2 * BLOCK, 0);
        out
    }

    fn collect(archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = Vec::new();
        for_each_file(archive, Path::new("a.tar"), |name, content| {
            let mut bytes = Vec::new();
            content.read_to_end(&mut bytes).unwrap();
            files.push((name.to_string(), bytes));
            Ok(())
        })?;
        Ok(files)
    }

    #[test]
    fn files_come_out_in_order_with_their_content() {
        let big: Vec<u8> = (0..1300).map(|k| (k % 251) as u8).collect();
        let archive = tar(&[("d/a.bin", b"hello"), ("d/b.bin", &big), ("empty", b"")]);
        let files = collect(&archive).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[0], ("d/a.bin".to_string(), b"hello".to_vec()));
        assert_eq!(files[1], ("d/b.bin".to_string(), big));
        assert_eq!(files[2], ("empty".to_string(), Vec::new()));
    }

    #[test]
    fn visitor_may_leave_content_unread() {
        let archive = tar(&[("a", &[1; 700]), ("b", b"xy")]);
        let mut names = Vec::new();
        for_each_file(archive.as_slice(), Path::new("a.tar"), |name, _| {
            names.push(name.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(names, vec!["a", "b"]);
    }

    #[test]
    fn corrupt_header_and_truncation_are_reported() {
        let mut archive = tar(&[("a", b"hello")]);
        archive[0] = b'b';
        let msg = collect(&archive).unwrap_err().to_string();
        assert!(
            msg.starts_with("a.tar: not a valid tar file: header checksum"),
            "{msg}"
        );

        let archive = tar(&[("a", &[1; 700])]);
        let msg = collect(&archive[..900]).unwrap_err().to_string();
        assert!(msg.contains("archive truncated"), "{msg}");
    }
}
