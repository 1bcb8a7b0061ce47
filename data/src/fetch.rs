//! `data fetch`: get the original MNIST / Fashion-MNIST `.gz` files, verified by their published
//! SHA-256, into a folder.
//!
//! Each file is streamed into a temp file in the destination folder while being hashed; only a
//! file whose SHA-256 matches is fsynced and renamed into place, so a failed or corrupt transfer
//! never leaves a partial file under the real name. Files already present with the right hash are
//! skipped; a present file with a wrong hash is replaced.
//!
//! Sources: the public mirrors in [`mirrors`] (tried in order, first success wins), or a local
//! folder (`--from DIR`) holding the same file names. Downloading needs a network and so is not
//! exercised by the test suite (the machines it runs on have none); the local-folder path shares
//! every step after the byte source (hashing, verification, atomic rename) and is tested.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::dataset::DatasetKind;
use crate::error::{DataError, Result};

/// One distribution file and its published checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFile {
    pub name: &'static str,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the `.gz` file as distributed.
    pub sha256: &'static str,
}

const MNIST_FILES: [KnownFile; 4] = [
    KnownFile {
        name: "train-images-idx3-ubyte.gz",
        bytes: 9_912_422,
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    KnownFile {
        name: "train-labels-idx1-ubyte.gz",
        bytes: 28_881,
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    KnownFile {
        name: "t10k-images-idx3-ubyte.gz",
        bytes: 1_648_877,
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    KnownFile {
        name: "t10k-labels-idx1-ubyte.gz",
        bytes: 4_542,
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

const FASHION_FILES: [KnownFile; 4] = [
    KnownFile {
        name: "train-images-idx3-ubyte.gz",
        bytes: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    },
    KnownFile {
        name: "train-labels-idx1-ubyte.gz",
        bytes: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    },
    KnownFile {
        name: "t10k-images-idx3-ubyte.gz",
        bytes: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    },
    KnownFile {
        name: "t10k-labels-idx1-ubyte.gz",
        bytes: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
];

/// The four distribution files of a dataset (empty for MNIST-1D, which is generated).
pub fn known_files(kind: DatasetKind) -> &'static [KnownFile] {
    match kind {
        DatasetKind::Mnist => &MNIST_FILES,
        DatasetKind::FashionMnist => &FASHION_FILES,
        DatasetKind::Mnist1d => &[],
    }
}

/// Base URLs (ending in `/`) the files are downloaded from, in the order tried.
pub fn mirrors(kind: DatasetKind) -> &'static [&'static str] {
    match kind {
        // torchvision's mirror, TensorFlow's mirror, the original site
        DatasetKind::Mnist => &[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        // the dataset's own S3 website, Keras' mirror, the GitHub repository
        DatasetKind::FashionMnist => &[
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
        DatasetKind::Mnist1d => &[],
    }
}

/// Where the bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum FetchSource<'a> {
    /// The public mirrors ([`mirrors`]); needs a network.
    Mirrors,
    /// A local folder holding the same file names.
    Local(&'a Path),
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum FetchOutcome {
    /// Already present with the right checksum; left untouched.
    AlreadyPresent,
    Copied {
        from: PathBuf,
    },
    Downloaded {
        url: String,
    },
}

/// One file in place and verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FetchedFile {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub outcome: FetchOutcome,
}

/// Progress reports of [`fetch`].
#[derive(Debug, Clone)]
pub enum FetchEvent<'a> {
    /// A transfer starts; `total` is the expected size.
    Start {
        file: &'a str,
        source: &'a str,
        total: u64,
    },
    /// Bytes received so far for the current transfer.
    Progress { file: &'a str, done: u64 },
    /// A mirror failed; the next one is tried.
    MirrorFailed {
        file: &'a str,
        url: &'a str,
        error: &'a str,
    },
    /// A file is in place (transferred, or already present).
    Done { file: &'a FetchedFile },
}

/// Lower-case hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Errors unless the file's SHA-256 is `expected`.
pub fn verify_file(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(DataError::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

/// The folder `data fetch` writes to by default, which [`crate::Dataset::load`] also searches:
/// `$XDG_CACHE_HOME/joulebench/<name>`, else `$HOME/.cache/joulebench/<name>`.
pub fn default_fetch_dir(kind: DatasetKind) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("joulebench").join(kind.name()))
}

/// A temp file next to its destination, removed on drop unless committed.
struct TempFile {
    tmp: PathBuf,
    file: Option<File>,
}

impl TempFile {
    fn create(dest: &Path) -> Result<Self> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("download");
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        Ok(TempFile {
            tmp,
            file: Some(file),
        })
    }

    fn commit(mut self, dest: &Path) -> Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all().map_err(|e| DataError::io(&self.tmp, e))?;
        }
        std::fs::rename(&self.tmp, dest).map_err(|e| DataError::io(dest, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.file.take().is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Streams `reader` into a temp file next to `dest`, hashing it; renames it to `dest` only when
/// the hash is `known.sha256`. `source_name` names the origin in errors (path or URL).
fn transfer(
    reader: &mut dyn Read,
    dest: &Path,
    known: &KnownFile,
    source_name: &str,
    on_event: &mut dyn FnMut(&FetchEvent),
) -> std::result::Result<(String, u64), TransferError> {
    let mut tmp = TempFile::create(dest).map_err(TransferError::Local)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::Source(format!("reading {source_name}: {e}"))),
        };
        hasher.update(&buf[..n]);
        let f = tmp.file.as_mut().expect("temp file open until commit");
        f.write_all(&buf[..n])
            .map_err(|e| TransferError::Local(DataError::io(&tmp.tmp, e)))?;
        done += n as u64;
        on_event(&FetchEvent::Progress {
            file: known.name,
            done,
        });
        if done > known.bytes.saturating_mul(2) {
            break; // far more than the known size: cannot match, stop reading
        }
    }
    let actual = hex(&hasher.finalize());
    if actual != known.sha256 {
        return Err(TransferError::Checksum(DataError::Checksum {
            path: PathBuf::from(source_name),
            expected: known.sha256.to_string(),
            actual,
        }));
    }
    tmp.commit(dest).map_err(TransferError::Local)?;
    Ok((actual, done))
}

enum TransferError {
    /// Writing the destination failed: no point trying another source.
    Local(DataError),
    /// The bytes arrived but are not the published file.
    Checksum(DataError),
    /// The source failed mid-way (network).
    Source(String),
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("joulebench/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Puts the dataset's four `.gz` files into `dest` (created if needed), verified by SHA-256.
/// With [`FetchSource::Local`], a missing or corrupt source file is an error naming it (with the
/// expected and actual hash for a checksum mismatch) and nothing is written for it. With
/// [`FetchSource::Mirrors`], each mirror is tried in turn; the error lists every failure.
pub fn fetch(
    kind: DatasetKind,
    dest: &Path,
    source: FetchSource,
    on_event: &mut dyn FnMut(&FetchEvent),
) -> Result<Vec<FetchedFile>> {
    let files = known_files(kind);
    if files.is_empty() {
        return Err(DataError::Invalid(format!(
            "{} is generated, not downloaded: nothing to fetch (`joulebench data info --dataset {}` shows it)",
            kind.name(),
            kind.name()
        )));
    }
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let mut out = Vec::with_capacity(files.len());
    let mut http: Option<ureq::Agent> = None;
    for known in files {
        let path = dest.join(known.name);
        if path.is_file() && sha256_file(&path)? == known.sha256 {
            let f = FetchedFile {
                path,
                sha256: known.sha256.to_string(),
                bytes: known.bytes,
                outcome: FetchOutcome::AlreadyPresent,
            };
            on_event(&FetchEvent::Done { file: &f });
            out.push(f);
            continue;
        }
        let fetched = match source {
            FetchSource::Local(dir) => {
                let src = dir.join(known.name);
                let name = src.display().to_string();
                let mut r = File::open(&src).map_err(|e| DataError::io(&src, e))?;
                on_event(&FetchEvent::Start {
                    file: known.name,
                    source: &name,
                    total: known.bytes,
                });
                match transfer(&mut r, &path, known, &name, on_event) {
                    Ok((sha256, bytes)) => FetchedFile {
                        path,
                        sha256,
                        bytes,
                        outcome: FetchOutcome::Copied { from: src },
                    },
                    Err(TransferError::Local(e) | TransferError::Checksum(e)) => return Err(e),
                    Err(TransferError::Source(msg)) => return Err(DataError::Invalid(msg)),
                }
            }
            FetchSource::Mirrors => {
                let agent = http.get_or_insert_with(agent);
                let mut tried = Vec::new();
                let mut got = None;
                for base in mirrors(kind) {
                    let url = format!("{base}{}", known.name);
                    on_event(&FetchEvent::Start {
                        file: known.name,
                        source: &url,
                        total: known.bytes,
                    });
                    let resp = match agent.get(&url).call() {
                        Ok(r) => r,
                        Err(e) => {
                            let msg = e.to_string();
                            on_event(&FetchEvent::MirrorFailed {
                                file: known.name,
                                url: &url,
                                error: &msg,
                            });
                            tried.push(format!("{url}: {msg}"));
                            continue;
                        }
                    };
                    let mut reader = resp
                        .into_body()
                        .into_with_config()
                        .limit(known.bytes * 2 + 1)
                        .reader();
                    match transfer(&mut reader, &path, known, &url, on_event) {
                        Ok((sha256, bytes)) => {
                            got = Some(FetchedFile {
                                path: path.clone(),
                                sha256,
                                bytes,
                                outcome: FetchOutcome::Downloaded { url },
                            });
                            break;
                        }
                        Err(TransferError::Local(e)) => return Err(e),
                        Err(TransferError::Checksum(e)) => {
                            let msg = e.to_string();
                            on_event(&FetchEvent::MirrorFailed {
                                file: known.name,
                                url: &url,
                                error: &msg,
                            });
                            tried.push(msg);
                        }
                        Err(TransferError::Source(msg)) => {
                            on_event(&FetchEvent::MirrorFailed {
                                file: known.name,
                                url: &url,
                                error: &msg,
                            });
                            tried.push(msg);
                        }
                    }
                }
                got.ok_or_else(|| DataError::Download {
                    file: known.name.to_string(),
                    tried,
                })?
            }
        };
        on_event(&FetchEvent::Done { file: &fetched });
        out.push(fetched);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // FIPS 180-2 test vector
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let err = verify_file(&p, "00").unwrap_err();
        assert!(matches!(err, DataError::Checksum { .. }));
        assert!(
            err.to_string().contains("expected sha256 00, got ba7816bf"),
            "{err}"
        );
    }

    #[test]
    fn local_fetch_rejects_corrupt_source_and_leaves_nothing() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        for f in known_files(DatasetKind::Mnist) {
            std::fs::write(src.path().join(f.name), b"not the real file").unwrap();
        }
        let err = fetch(
            DatasetKind::Mnist,
            dst.path(),
            FetchSource::Local(src.path()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Checksum { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte.gz") && msg.contains(MNIST_FILES[0].sha256),
            "{msg}"
        );
        assert_eq!(
            std::fs::read_dir(dst.path()).unwrap().count(),
            0,
            "no partial or temp file left"
        );
    }

    #[test]
    fn local_fetch_missing_source_names_it() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let err = fetch(
            DatasetKind::FashionMnist,
            dst.path(),
            FetchSource::Local(src.path()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Io { .. }));
        assert!(
            err.to_string().contains("train-images-idx3-ubyte.gz"),
            "{err}"
        );
        assert!(fetch(
            DatasetKind::Mnist1d,
            dst.path(),
            FetchSource::Local(src.path()),
            &mut |_| {}
        )
        .is_err());
    }
}
