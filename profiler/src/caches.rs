//! This machine's data caches, read from Linux sysfs (`/sys/devices/system/cpu/cpu0/cache`).
//!
//! Each `index*` directory holds `level` (1, 2, 3), `type` (`Data`, `Instruction`, `Unified`) and
//! `size` (`32K`, `512K`, `32768K`, sometimes `1M`). Data and unified caches are kept (the
//! estimate's working sets are data), instruction caches are not. Anything unreadable or garbled
//! is skipped; a missing root (non-Linux, containers without sysfs) gives an empty list, which
//! the estimate reports as "cache sizes unknown".

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Where Linux describes CPU 0's caches.
pub const CPU_CACHE_ROOT: &str = "/sys/devices/system/cpu/cpu0/cache";

/// One data-holding cache level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheLevel {
    /// 1, 2, 3 …
    pub level: u8,
    /// `"Data"` or `"Unified"`.
    pub kind: String,
    pub size_bytes: u64,
}

impl CacheLevel {
    /// `"L2 512 KiB"`.
    pub fn describe(&self) -> String {
        format!("L{} {}", self.level, fmt_bytes(self.size_bytes))
    }
}

/// `512 KiB`, `32 MiB`, `1.5 MiB`, `100 B`.
pub fn fmt_bytes(b: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if b >= MIB {
        if b.is_multiple_of(MIB) {
            format!("{} MiB", b / MIB)
        } else {
            format!("{:.1} MiB", b as f64 / MIB as f64)
        }
    } else if b >= KIB {
        if b.is_multiple_of(KIB) {
            format!("{} KiB", b / KIB)
        } else {
            format!("{:.1} KiB", b as f64 / KIB as f64)
        }
    } else {
        format!("{b} B")
    }
}

/// Parses a sysfs cache size: `32K`, `512K`, `1M`, `1G`, or plain bytes. None when garbled.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1024u64),
        (i, 'M' | 'm') => (&s[..i], 1024 * 1024),
        (i, 'G' | 'g') => (&s[..i], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// Data and unified caches under `root` (usually [`CPU_CACHE_ROOT`]), sorted by level then size.
/// Never panics: unreadable or garbled entries are skipped, a missing root gives an empty list.
pub fn read_caches(root: &Path) -> Vec<CacheLevel> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return vec![];
    };
    let read = |p: &Path, f: &str| std::fs::read_to_string(p.join(f)).ok();
    let mut out: Vec<CacheLevel> = dir
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let p = e.path();
            let level = read(&p, "level")?.trim().parse::<u8>().ok()?;
            let kind = read(&p, "type")?.trim().to_string();
            if kind != "Data" && kind != "Unified" {
                return None;
            }
            let size_bytes = parse_size(&read(&p, "size")?)?;
            (size_bytes > 0).then_some(CacheLevel {
                level,
                kind,
                size_bytes,
            })
        })
        .collect();
    out.sort_by_key(|c| (c.level, c.size_bytes));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(root: &Path, name: &str, level: &str, kind: &str, size: &str) {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("level"), format!("{level}\n")).unwrap();
        std::fs::write(d.join("type"), format!("{kind}\n")).unwrap();
        std::fs::write(d.join("size"), format!("{size}\n")).unwrap();
    }

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_size("32K\n"), Some(32 * 1024));
        assert_eq!(parse_size("32768K"), Some(32 * 1024 * 1024));
        assert_eq!(parse_size("1M"), Some(1024 * 1024));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("12X"), None);
        assert_eq!(parse_size("-1K"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn reads_data_and_unified_levels_sorted_skipping_instruction_and_garbage() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        // written out of order: the reader sorts by level
        index(r, "index3", "3", "Unified", "32768K");
        index(r, "index0", "1", "Data", "32K");
        index(r, "index1", "1", "Instruction", "32K");
        index(r, "index2", "2", "Unified", "512K");
        index(r, "index4", "x", "Unified", "1M"); // garbled level
        index(r, "index5", "4", "Unified", "lots"); // garbled size
        index(r, "index6", "4", "Unified", "0K"); // empty cache
        std::fs::create_dir_all(r.join("index7")).unwrap(); // no files
        std::fs::write(r.join("uevent"), "").unwrap(); // not an index
        let c = read_caches(r);
        assert_eq!(
            c,
            vec![
                CacheLevel {
                    level: 1,
                    kind: "Data".into(),
                    size_bytes: 32 * 1024
                },
                CacheLevel {
                    level: 2,
                    kind: "Unified".into(),
                    size_bytes: 512 * 1024
                },
                CacheLevel {
                    level: 3,
                    kind: "Unified".into(),
                    size_bytes: 32 * 1024 * 1024
                },
            ]
        );
        assert_eq!(c[1].describe(), "L2 512 KiB");
        assert_eq!(c[2].describe(), "L3 32 MiB");
        index(r, "index8", "4", "Unified", "1M");
        assert_eq!(read_caches(r)[3].size_bytes, 1024 * 1024);
    }

    #[test]
    fn missing_root_is_empty() {
        let t = tempfile::tempdir().unwrap();
        assert!(read_caches(&t.path().join("nope")).is_empty());
        // a file where the directory should be
        let f = t.path().join("file");
        std::fs::write(&f, "").unwrap();
        assert!(read_caches(&f).is_empty());
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(fmt_bytes(100), "100 B");
        assert_eq!(fmt_bytes(32 * 1024), "32 KiB");
        assert_eq!(fmt_bytes(1536 * 1024), "1.5 MiB");
    }
}
