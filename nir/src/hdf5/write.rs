//! The HDF5 writer: the oldest, simplest layout every HDF5 reader accepts (h5py included).
//!
//! Superblock version 0 with 8-byte offsets and lengths; every group a version-1 object header
//! with a symbol-table message pointing at a one-node B-tree, one symbol-table node (SNOD) and a
//! local heap of names; every dataset an object header with a version-1 dataspace, a version-1
//! datatype and a version-3 contiguous layout over its raw little-endian data.
//! Strings are fixed-length, null-padded UTF-8 (h5py reads them as `bytes`). The superblock's
//! "group leaf node K" is chosen so that each group's entries fit one SNOD.

use std::collections::BTreeMap;

use super::{Dataset, Object, Value};

const UNDEF: u64 = u64::MAX;
/// "Group internal node K" written in the superblock (HDF5's default).
const INTERNAL_K: usize = 16;

/// Serializes a tree whose root is a group. Errors name the offending path.
pub fn write(root: &BTreeMap<String, Object>) -> Result<Vec<u8>, String> {
    let leaf_k = max_entries(root).div_ceil(2).max(4);
    if leaf_k > u16::MAX as usize {
        return Err(format!(
            "a group has {} entries, more than this writer supports",
            2 * leaf_k
        ));
    }
    let mut w = W {
        b: vec![0; 96],
        leaf_k,
    };
    let (root_hdr, btree, heap) = w.group(root)?;
    let eof = w.b.len() as u64;
    // superblock version 0
    let mut s = Vec::with_capacity(96);
    s.extend_from_slice(b"\x89HDF\r\n\x1a\n");
    s.extend_from_slice(&[0, 0, 0, 0, 0, 8, 8, 0]);
    s.extend_from_slice(&(leaf_k as u16).to_le_bytes());
    s.extend_from_slice(&(INTERNAL_K as u16).to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    for a in [0, UNDEF, eof, UNDEF] {
        s.extend_from_slice(&a.to_le_bytes());
    }
    // root group symbol table entry, with the cached B-tree and heap addresses
    for a in [0, root_hdr] {
        s.extend_from_slice(&a.to_le_bytes());
    }
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    s.extend_from_slice(&btree.to_le_bytes());
    s.extend_from_slice(&heap.to_le_bytes());
    debug_assert_eq!(s.len(), 96);
    w.b[..96].copy_from_slice(&s);
    Ok(w.b)
}

fn max_entries(g: &BTreeMap<String, Object>) -> usize {
    g.values()
        .map(|o| match o {
            Object::Group(c) => max_entries(c),
            Object::Dataset(_) => 0,
        })
        .max()
        .unwrap_or(0)
        .max(g.len())
}

struct W {
    b: Vec<u8>,
    leaf_k: usize,
}

impl W {
    fn pos(&self) -> u64 {
        self.b.len() as u64
    }
    fn align8(&mut self) {
        while !self.b.len().is_multiple_of(8) {
            self.b.push(0);
        }
    }
    fn put(&mut self, x: &[u8]) {
        self.b.extend_from_slice(x);
    }
    fn u64(&mut self, x: u64) {
        self.put(&x.to_le_bytes());
    }

    /// Writes a group and its children; returns (object header, B-tree, local heap) addresses.
    fn group(&mut self, g: &BTreeMap<String, Object>) -> Result<(u64, u64, u64), String> {
        let mut children = Vec::with_capacity(g.len());
        for (name, obj) in g {
            if name.is_empty() || name.contains('/') || name.contains('\0') || name == "." {
                return Err(format!("'{name}' is not a valid HDF5 link name"));
            }
            let addr = match obj {
                Object::Group(c) => self.group(c).map_err(|e| format!("{name}/{e}"))?.0,
                Object::Dataset(d) => self.dataset(d).map_err(|e| format!("{name}: {e}"))?,
            };
            children.push((name.as_str(), addr));
        }
        // local heap: "" at offset 0, then each name null-terminated, padded to 8 bytes
        let mut heap_data = vec![0u8; 8];
        let mut offsets = Vec::with_capacity(children.len());
        for (name, _) in &children {
            offsets.push(heap_data.len() as u64);
            heap_data.extend_from_slice(name.as_bytes());
            heap_data.push(0);
            while !heap_data.len().is_multiple_of(8) {
                heap_data.push(0);
            }
        }
        self.align8();
        let heap = self.pos();
        self.put(b"HEAP");
        self.put(&[0, 0, 0, 0]);
        self.u64(heap_data.len() as u64);
        self.u64(1); // no free block (HDF5's H5HL_FREE_NULL)
        self.u64(heap + 32);
        self.put(&heap_data);
        // symbol table node with room for 2K entries
        self.align8();
        let snod = self.pos();
        self.put(b"SNOD");
        self.put(&[1, 0]);
        self.put(&(children.len() as u16).to_le_bytes());
        for ((_, addr), off) in children.iter().zip(&offsets) {
            self.u64(*off);
            self.u64(*addr);
            self.put(&[0; 24]);
        }
        self.put(&vec![0; (2 * self.leaf_k - children.len()) * 40]);
        // B-tree: one leaf node pointing at the SNOD, room for 2K children
        let btree = self.pos();
        self.put(b"TREE");
        self.put(&[0, 0]);
        let used: u16 = if children.is_empty() { 0 } else { 1 };
        self.put(&used.to_le_bytes());
        self.u64(UNDEF);
        self.u64(UNDEF);
        let reserved = 2 * INTERNAL_K * 16 + 8;
        if used == 1 {
            self.u64(0);
            self.u64(snod);
            self.u64(*offsets.last().unwrap_or(&0));
            self.put(&vec![0; reserved - 24]);
        } else {
            self.put(&vec![0; reserved]);
        }
        let mut st = Vec::with_capacity(16);
        st.extend_from_slice(&btree.to_le_bytes());
        st.extend_from_slice(&heap.to_le_bytes());
        let hdr = self.object_header(&[(0x11, st)]);
        Ok((hdr, btree, heap))
    }

    fn dataset(&mut self, d: &Dataset) -> Result<u64, String> {
        let n: usize = d.shape.iter().product();
        let (dtype, raw) = encode(&d.value)?;
        if raw.len() != n * u32::from_le_bytes(dtype[4..8].try_into().unwrap()) as usize {
            return Err(format!(
                "{} elements for shape {:?}",
                value_len(&d.value),
                d.shape
            ));
        }
        self.align8();
        let addr = if raw.is_empty() { UNDEF } else { self.pos() };
        self.put(&raw);
        let mut space = vec![1, d.shape.len() as u8, 0, 0, 0, 0, 0, 0];
        for &s in &d.shape {
            space.extend_from_slice(&(s as u64).to_le_bytes());
        }
        let mut layout = vec![3, 1];
        layout.extend_from_slice(&addr.to_le_bytes());
        layout.extend_from_slice(&(raw.len() as u64).to_le_bytes());
        Ok(self.object_header(&[(0x01, space), (0x03, dtype), (0x08, layout)]))
    }

    /// A version-1 object header holding `msgs` (bodies padded to 8 bytes).
    fn object_header(&mut self, msgs: &[(u16, Vec<u8>)]) -> u64 {
        self.align8();
        let at = self.pos();
        let size: usize = msgs.iter().map(|(_, b)| 8 + b.len().div_ceil(8) * 8).sum();
        self.put(&[1, 0]);
        self.put(&(msgs.len() as u16).to_le_bytes());
        self.put(&1u32.to_le_bytes());
        self.put(&(size as u32).to_le_bytes());
        self.put(&[0; 4]);
        for (kind, body) in msgs {
            let padded = body.len().div_ceil(8) * 8;
            self.put(&kind.to_le_bytes());
            self.put(&(padded as u16).to_le_bytes());
            self.put(&[0; 4]);
            self.put(body);
            self.put(&vec![0; padded - body.len()]);
        }
        at
    }
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::F32(x) => x.len(),
        Value::F64(x) => x.len(),
        Value::Int(x) => x.len(),
        Value::Str(x) => x.len(),
    }
}

/// The datatype message body and the raw little-endian elements.
fn encode(v: &Value) -> Result<(Vec<u8>, Vec<u8>), String> {
    let float = |size: u32, sign: u8, exp_loc: u8, exp_size: u8, mant: u8, bias: u32| {
        let mut t = vec![0x11, 0x20, sign, 0];
        t.extend_from_slice(&size.to_le_bytes());
        t.extend_from_slice(&0u16.to_le_bytes());
        t.extend_from_slice(&((size * 8) as u16).to_le_bytes());
        t.extend_from_slice(&[exp_loc, exp_size, 0, mant]);
        t.extend_from_slice(&bias.to_le_bytes());
        t
    };
    Ok(match v {
        Value::F32(x) => (
            float(4, 31, 23, 8, 23, 127),
            x.iter().flat_map(|f| f.to_le_bytes()).collect(),
        ),
        Value::F64(x) => (
            float(8, 63, 52, 11, 52, 1023),
            x.iter().flat_map(|f| f.to_le_bytes()).collect(),
        ),
        Value::Int(x) => {
            let mut t = vec![0x10, 0x08, 0, 0];
            t.extend_from_slice(&8u32.to_le_bytes());
            t.extend_from_slice(&0u16.to_le_bytes());
            t.extend_from_slice(&64u16.to_le_bytes());
            (t, x.iter().flat_map(|i| i.to_le_bytes()).collect())
        }
        Value::Str(x) => {
            let size = x.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
            // class 3 (string), version 1; null-padded (1), UTF-8 (1 << 4)
            let mut t = vec![0x13, 0x11, 0, 0];
            t.extend_from_slice(&(size as u32).to_le_bytes());
            let mut raw = Vec::with_capacity(size * x.len());
            for s in x {
                if s.contains('\0') {
                    return Err(format!("string {s:?} contains a NUL byte"));
                }
                raw.extend_from_slice(s.as_bytes());
                raw.resize(raw.len() + size - s.len(), 0);
            }
            (t, raw)
        }
    })
}
