//! Splitting a sweep across machines: [`Shard`] `I/N` runs a deterministic 1/N of the grid, and
//! [`grid_hash`] fingerprints the grid so that outputs of different sweep files are never merged.
//!
//! Assignment is by run key (the run's folder name): the grid's distinct names are sorted and the
//! k-th name goes to shard `k mod N`. It depends only on the set of run keys — not on the order
//! of the sweep file, the machine or the time — so shards are disjoint, cover the grid, differ
//! in size by at most one, and a re-submitted task picks exactly the runs it had before.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::sweep_spec::SweepSpec;

/// Shard `index` of `count` (0-based), written `I/N` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole grid as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// For each name of `names`, whether this shard runs it (see the module docs).
    pub fn select(&self, names: &[String]) -> Vec<bool> {
        let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        names
            .iter()
            .map(|n| {
                let rank = sorted.binary_search(&n.as_str()).unwrap_or(0);
                rank % self.count == self.index
            })
            .collect()
    }

    /// File-name tag of the shard: `shard-0-of-3`.
    pub fn tag(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 ≤ I < N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = |why: &str| format!("shard `{s}`: {why} (expected I/N with 0 ≤ I < N, e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let index: usize = i.trim().parse().map_err(|_| bad("I is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad("I must be smaller than N"));
        }
        Ok(Shard { index, count })
    }
}

/// 64-bit FNV-1a of `bytes`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Fingerprint of a grid: FNV-1a of the parsed sweep file in a canonical form (its JSON; every
/// key, lists in file order), as 16 hex digits. Comments and formatting do not change it; any
/// value that changes a run does. `description` is left out.
pub fn grid_hash(spec: &SweepSpec) -> String {
    let mut s = spec.clone();
    s.description = None;
    let json = serde_json::to_string(&s).unwrap_or_default();
    format!("{:016x}", fnv1a64(json.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        // not in sorted order, to check that the file order does not matter
        (0..n).rev().map(|i| format!("mlp_run{i:03}")).collect()
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["3/3", "1/0", "x/2", "1", "1/-2", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("I/N"), "{bad}: {e}");
        }
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
    }

    #[test]
    fn shards_are_disjoint_covering_and_balanced() {
        for total in [1usize, 2, 7, 30] {
            let all = names(total);
            for count in 1..=5 {
                let mut owners = vec![0usize; total];
                let mut sizes = Vec::new();
                for index in 0..count {
                    let sel = Shard { index, count }.select(&all);
                    sizes.push(sel.iter().filter(|&&b| b).count());
                    for (k, b) in sel.iter().enumerate() {
                        owners[k] += usize::from(*b);
                    }
                }
                assert!(
                    owners.iter().all(|&o| o == 1),
                    "{total}/{count}: {owners:?}"
                );
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{total}/{count}: {sizes:?}");
            }
        }
    }

    #[test]
    fn assignment_is_stable_under_reordering() {
        let all = names(11);
        let mut shuffled = all.clone();
        shuffled.rotate_left(4);
        shuffled.swap(0, 7);
        let s = Shard { index: 1, count: 3 };
        let pick = |v: &[String]| {
            let mut p: Vec<String> = v
                .iter()
                .zip(s.select(v))
                .filter(|(_, b)| *b)
                .map(|(n, _)| n.clone())
                .collect();
            p.sort();
            p
        };
        assert_eq!(pick(&all), pick(&shuffled));
        assert!(!pick(&all).is_empty());
    }

    #[test]
    fn grid_hash_sees_values_not_formatting() {
        let a = SweepSpec::parse("dataset = \"mnist1d\"\nmodel = \"mlp1d\"\nlr = [0.1, 0.2]\n")
            .unwrap();
        let b = SweepSpec::parse(
            "# same grid\ndescription = \"x\"\nmodel = \"mlp1d\"\n\ndataset = \"mnist1d\"\nlr = [0.1,0.2]\n",
        )
        .unwrap();
        let c = SweepSpec::parse("dataset = \"mnist1d\"\nmodel = \"mlp1d\"\nlr = [0.1, 0.3]\n")
            .unwrap();
        assert_eq!(grid_hash(&a), grid_hash(&b));
        assert_ne!(grid_hash(&a), grid_hash(&c));
        assert_eq!(grid_hash(&a).len(), 16);
    }
}
