//! A bounds-checked HDF5 reader for the subset h5py writes (see the module documentation).
//!
//! Hostile input: every offset is checked against the file, every loop is bounded by the
//! bytes it consumes or by an explicit cap, objects already being visited are refused (no
//! infinite recursion through hard-link cycles), and the decoded data of all datasets together
//! may not exceed [`MAX_INFLATION`] times the file length plus [`SLACK`] bytes (deflate cannot
//! legitimately expand more than about 1 032 : 1).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use super::{Dataset, Object, Value};
use crate::NirError;

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// Decoded bytes allowed per byte of file (deflate's maximum ratio is about 1 032).
const MAX_INFLATION: u64 = 1100;
/// Decoded bytes allowed on top of that.
const SLACK: u64 = 1 << 20;
/// Deepest group nesting followed.
const MAX_DEPTH: usize = 32;
/// Most B-tree levels followed.
const MAX_BTREE_LEVEL: u8 = 16;

type R<T> = Result<T, String>;

/// Parses an HDF5 file held in memory into its tree of groups and datasets. `path` only names
/// the file in errors.
pub fn read(path: &Path, bytes: &[u8]) -> Result<Object, NirError> {
    let Some(sb_at) = find_signature(bytes) else {
        return Err(NirError::NotHdf5 {
            path: path.to_path_buf(),
        });
    };
    let mut r = Reader {
        d: bytes,
        so: 8,
        sl: 8,
        base: 0,
        budget: (bytes.len() as u64)
            .saturating_mul(MAX_INFLATION)
            .saturating_add(SLACK),
        visiting: HashSet::new(),
        heaps: HashMap::new(),
        steps: std::cell::Cell::new(4 * bytes.len() as u64 + 10_000),
    };
    r.file(sb_at).map_err(|what| NirError::hdf5(path, what))
}

fn find_signature(d: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    while at.checked_add(8)? <= d.len() {
        if &d[at..at + 8] == SIGNATURE {
            return Some(at);
        }
        at = if at == 0 { 512 } else { at.checked_mul(2)? };
    }
    None
}

/// A bounds-checked little-endian cursor over a slice.
#[derive(Clone, Copy)]
struct Cur<'a> {
    d: &'a [u8],
    p: usize,
}

impl<'a> Cur<'a> {
    fn new(d: &'a [u8]) -> Self {
        Cur { d, p: 0 }
    }
    fn bytes(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self
            .p
            .checked_add(n)
            .filter(|&e| e <= self.d.len())
            .ok_or_else(|| "structure runs past its end (truncated file?)".to_string())?;
        let s = &self.d[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn skip(&mut self, n: usize) -> R<()> {
        self.bytes(n).map(|_| ())
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        Ok(self.uint(2)? as u16)
    }
    fn u32(&mut self) -> R<u32> {
        Ok(self.uint(4)? as u32)
    }
    fn uint(&mut self, n: usize) -> R<u64> {
        let b = self.bytes(n)?;
        if n > 8 {
            return Err(format!("integer of {n} bytes"));
        }
        Ok(b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
    }
    fn left(&self) -> usize {
        self.d.len() - self.p
    }
}

fn undef(v: u64, size: usize) -> bool {
    size >= 8 && v == u64::MAX || size < 8 && v == (1u64 << (8 * size)) - 1
}

/// One header message: its type and body.
struct Msg<'a> {
    kind: u16,
    body: &'a [u8],
}

/// The element type of a dataset.
#[derive(Debug, Clone, Copy)]
enum Dtype {
    Float(usize),
    Int {
        size: usize,
        signed: bool,
    },
    /// Fixed-length string of `size` bytes; `space` when space-padded (else null-padded).
    FixedStr {
        size: usize,
        space: bool,
    },
    VarStr,
}

impl Dtype {
    fn size(&self, so: usize) -> usize {
        match *self {
            Dtype::Float(s) | Dtype::Int { size: s, .. } | Dtype::FixedStr { size: s, .. } => s,
            Dtype::VarStr => 4 + so + 4,
        }
    }
}

enum Layout<'a> {
    Compact(&'a [u8]),
    Contiguous { addr: u64, size: u64 },
    Chunked { btree: u64, chunk: Vec<u64> },
}

/// The filter pipeline of a chunked dataset: filter ids in the order they were applied.
#[derive(Default)]
struct Filters {
    ids: Vec<u16>,
}

struct Reader<'a> {
    d: &'a [u8],
    /// Size of offsets (addresses) and of lengths, from the superblock.
    so: usize,
    sl: usize,
    base: u64,
    budget: u64,
    visiting: HashSet<u64>,
    heaps: HashMap<u64, HashMap<u16, &'a [u8]>>,
    /// Work left: objects visited, B-tree and group entries walked (guards against B-trees and
    /// groups that point at the same node many times over).
    steps: std::cell::Cell<u64>,
}

impl<'a> Reader<'a> {
    /// A cursor at file address `addr` (relative to the base address).
    fn at(&self, addr: u64) -> R<Cur<'a>> {
        let abs = addr
            .checked_add(self.base)
            .filter(|&a| a < self.d.len() as u64)
            .ok_or_else(|| {
                format!(
                    "address {addr:#x} is past the end of the file ({} bytes; truncated file?)",
                    self.d.len()
                )
            })?;
        Ok(Cur {
            d: self.d,
            p: abs as usize,
        })
    }
    fn slice(&self, addr: u64, len: u64) -> R<&'a [u8]> {
        let mut c = self.at(addr)?;
        let len = usize::try_from(len).map_err(|_| "length too large".to_string())?;
        c.bytes(len).map_err(|_| {
            format!("{len} bytes at address {addr:#x} run past the end of the file ({} bytes; truncated file?)", self.d.len())
        })
    }
    fn addr(&self, c: &mut Cur) -> R<u64> {
        c.uint(self.so)
    }
    fn len(&self, c: &mut Cur) -> R<u64> {
        c.uint(self.sl)
    }
    fn step(&self) -> R<()> {
        let left = self.steps.get();
        if left == 0 {
            return Err(
                "structure revisits its parts more often than the file can justify (hostile file?)"
                    .into(),
            );
        }
        self.steps.set(left - 1);
        Ok(())
    }
    fn charge(&mut self, bytes: u64) -> R<()> {
        self.budget = self.budget.checked_sub(bytes).ok_or_else(|| {
            "data larger than the file can hold (hostile or corrupt sizes)".to_string()
        })?;
        Ok(())
    }

    fn file(&mut self, sb_at: usize) -> R<Object> {
        let mut c = Cur::new(self.d);
        c.p = sb_at + 8;
        let version = c.u8()?;
        let root = match version {
            0 | 1 => {
                c.skip(4)?; // free-space, root symbol table, reserved, shared header versions
                self.so = c.u8()? as usize;
                self.sl = c.u8()? as usize;
                self.check_sizes()?;
                c.skip(1 + 2 + 2 + 4)?; // reserved, leaf K, internal K, flags
                if version == 1 {
                    c.skip(4)?;
                }
                self.base = self.addr(&mut c)?;
                c.skip(3 * self.so)?; // free space, EOF, driver info
                                      // root group symbol table entry: link name offset, object header address
                c.skip(self.so)?;
                self.addr(&mut c)?
            }
            2 | 3 => {
                self.so = c.u8()? as usize;
                self.sl = c.u8()? as usize;
                self.check_sizes()?;
                c.skip(1)?; // flags
                self.base = self.addr(&mut c)?;
                c.skip(2 * self.so)?; // superblock extension, EOF
                self.addr(&mut c)?
            }
            v => {
                return Err(format!(
                    "superblock version {v} is not supported (0 to 3 are)"
                ))
            }
        };
        if self.base != 0 && self.base != sb_at as u64 {
            return Err(format!(
                "base address {:#x} differs from the superblock's offset",
                self.base
            ));
        }
        self.object(root, 0)
    }

    fn check_sizes(&self) -> R<()> {
        for (what, s) in [("offsets", self.so), ("lengths", self.sl)] {
            if ![2, 4, 8].contains(&s) {
                return Err(format!("superblock: size of {what} {s} is not 2, 4 or 8"));
            }
        }
        Ok(())
    }

    fn object(&mut self, addr: u64, depth: usize) -> R<Object> {
        self.step()?;
        if depth > MAX_DEPTH {
            return Err(format!("groups nested deeper than {MAX_DEPTH}"));
        }
        if !self.visiting.insert(addr) {
            return Err(format!("object at {addr:#x} contains itself (link cycle)"));
        }
        let res = self.object_inner(addr, depth);
        self.visiting.remove(&addr);
        res
    }

    fn object_inner(&mut self, addr: u64, depth: usize) -> R<Object> {
        let msgs = self.messages(addr)?;
        let find = |k: u16| msgs.iter().find(|m| m.kind == k).map(|m| m.body);
        if let Some(st) = find(0x11) {
            let mut c = Cur::new(st);
            let btree = self.addr(&mut c)?;
            let heap = self.addr(&mut c)?;
            let mut links = Vec::new();
            self.group_btree(btree, heap, MAX_BTREE_LEVEL, &mut links)?;
            return self.group(links, depth);
        }
        if find(0x08).is_some() {
            return self.dataset(&msgs).map(Object::Dataset);
        }
        // new-style group: link messages (compact storage) and maybe a link info message
        if let Some(li) = find(0x02) {
            let mut c = Cur::new(li);
            c.skip(1)?;
            let flags = c.u8()?;
            if flags & 1 != 0 {
                c.skip(8)?;
            }
            let heap = self.addr(&mut c)?;
            if !undef(heap, self.so) {
                return Err("group with dense link storage (fractal heap) is not supported".into());
            }
        }
        let mut links = Vec::new();
        for m in msgs.iter().filter(|m| m.kind == 0x06) {
            if let Some(l) = self.link(m.body)? {
                links.push(l);
            }
        }
        self.group(links, depth)
    }

    fn group(&mut self, links: Vec<(String, u64)>, depth: usize) -> R<Object> {
        let mut out = BTreeMap::new();
        for (name, addr) in links {
            let child = self
                .object(addr, depth + 1)
                .map_err(|e| format!("'{name}': {e}"))?;
            if out.insert(name.clone(), child).is_some() {
                return Err(format!("two links named '{name}' in one group"));
            }
        }
        Ok(Object::Group(out))
    }

    /// A link message: (name, object address) for a hard link, None for soft/external links.
    fn link(&self, body: &[u8]) -> R<Option<(String, u64)>> {
        let mut c = Cur::new(body);
        let v = c.u8()?;
        if v != 1 {
            return Err(format!("link message version {v}"));
        }
        let flags = c.u8()?;
        let kind = if flags & 8 != 0 { c.u8()? } else { 0 };
        if flags & 4 != 0 {
            c.skip(8)?;
        }
        if flags & 16 != 0 {
            c.skip(1)?;
        }
        let n = c.uint(1 << (flags & 3))? as usize;
        let name = String::from_utf8_lossy(c.bytes(n)?).into_owned();
        if kind != 0 {
            return Ok(None);
        }
        Ok(Some((name, self.addr(&mut c)?)))
    }

    /// The messages of the object header at `addr` (versions 1 and 2, with continuations).
    fn messages(&self, addr: u64) -> R<Vec<Msg<'a>>> {
        let mut c = self.at(addr)?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if c.d.get(c.p..c.p + 4) == Some(b"OHDR") {
            c.skip(4)?;
            let v = c.u8()?;
            if v != 2 {
                return Err(format!("object header version {v}"));
            }
            let flags = c.u8()?;
            if flags & 0x20 != 0 {
                c.skip(16)?;
            }
            if flags & 0x10 != 0 {
                c.skip(4)?;
            }
            let size = c.uint(1 << (flags & 3))? as usize;
            let block = c.bytes(size)?;
            let mut todo = vec![block];
            while let Some(b) = todo.pop() {
                let mut m = Cur::new(b);
                while m.left() >= 4 {
                    let kind = m.u8()? as u16;
                    let len = m.u16()? as usize;
                    let mflags = m.u8()?;
                    if flags & 0x04 != 0 {
                        m.skip(2)?;
                    }
                    let body = m.bytes(len)?;
                    if kind == 0x10 {
                        let mut cc = Cur::new(body);
                        let a = self.addr(&mut cc)?;
                        let l = self.len(&mut cc)?;
                        if !seen.insert(a) || out.len() > 100_000 {
                            return Err("object header continuation loop".into());
                        }
                        let blk = self.slice(a, l)?;
                        if blk.len() < 8 || &blk[..4] != b"OCHK" {
                            return Err(
                                "object header continuation block without OCHK signature".into()
                            );
                        }
                        todo.push(&blk[4..blk.len() - 4]);
                    } else if mflags & 2 != 0 && kind != 0 {
                        return Err(format!(
                            "shared header message (type {kind}) is not supported"
                        ));
                    } else {
                        out.push(Msg { kind, body });
                    }
                }
            }
            return Ok(out);
        }
        let v = c.u8()?;
        if v != 1 {
            return Err(format!(
                "object header at {addr:#x}: version {v} is not 1 or 2"
            ));
        }
        c.skip(1)?;
        let nmsgs = c.u16()? as usize;
        c.skip(4)?;
        let size = c.u32()? as usize;
        c.skip(4)?; // alignment padding
        let mut todo = vec![c.bytes(size)?];
        while let Some(b) = todo.pop() {
            let mut m = Cur::new(b);
            while m.left() >= 8 && out.len() < nmsgs.max(1) * 2 + 64 {
                let kind = m.u16()?;
                let len = m.u16()? as usize;
                let mflags = m.u8()?;
                m.skip(3)?;
                let body = m.bytes(len)?;
                if kind == 0x10 {
                    let mut cc = Cur::new(body);
                    let a = self.addr(&mut cc)?;
                    let l = self.len(&mut cc)?;
                    if !seen.insert(a) {
                        return Err("object header continuation loop".into());
                    }
                    todo.push(self.slice(a, l)?);
                } else if mflags & 2 != 0 && kind != 0 {
                    return Err(format!(
                        "shared header message (type {kind}) is not supported"
                    ));
                } else if kind != 0 {
                    out.push(Msg { kind, body });
                }
            }
        }
        Ok(out)
    }

    /// Collects (name, object address) of a symbol-table group's B-tree.
    fn group_btree(
        &self,
        addr: u64,
        heap: u64,
        max_level: u8,
        out: &mut Vec<(String, u64)>,
    ) -> R<()> {
        let heap_data = self.local_heap(heap)?;
        let mut c = self.at(addr)?;
        if c.bytes(4)? != b"TREE" {
            return Err(format!("group B-tree at {addr:#x} has no TREE signature"));
        }
        if c.u8()? != 0 {
            return Err("group B-tree of the wrong node type".into());
        }
        let level = c.u8()?;
        if level > max_level {
            return Err("group B-tree levels do not decrease".into());
        }
        let entries = c.u16()? as usize;
        c.skip(2 * self.so)?;
        for _ in 0..entries {
            self.step()?;
            self.len(&mut c)?; // key
            let child = self.addr(&mut c)?;
            if level > 0 {
                self.group_btree(child, heap, level - 1, out)?;
            } else {
                self.symbol_node(child, heap_data, out)?;
            }
            if out.len() > self.d.len() {
                return Err("more group entries than the file can hold".into());
            }
        }
        Ok(())
    }

    fn local_heap(&self, addr: u64) -> R<&'a [u8]> {
        let mut c = self.at(addr)?;
        if c.bytes(4)? != b"HEAP" {
            return Err(format!("local heap at {addr:#x} has no HEAP signature"));
        }
        c.skip(4)?;
        let size = self.len(&mut c)?;
        self.len(&mut c)?;
        let data = self.addr(&mut c)?;
        self.slice(data, size)
    }

    fn symbol_node(&self, addr: u64, heap: &[u8], out: &mut Vec<(String, u64)>) -> R<()> {
        let mut c = self.at(addr)?;
        if c.bytes(4)? != b"SNOD" {
            return Err(format!(
                "symbol table node at {addr:#x} has no SNOD signature"
            ));
        }
        c.skip(2)?;
        let n = c.u16()?;
        for _ in 0..n {
            self.step()?;
            let name_off = self.len(&mut c)? as usize;
            let obj = self.addr(&mut c)?;
            c.skip(4 + 4 + 16)?;
            let name = heap
                .get(name_off..)
                .and_then(|s| s.split(|&b| b == 0).next())
                .ok_or_else(|| "group entry name outside its local heap".to_string())?;
            out.push((String::from_utf8_lossy(name).into_owned(), obj));
        }
        Ok(())
    }

    fn dataset(&mut self, msgs: &[Msg<'a>]) -> R<Dataset> {
        let find = |k: u16| msgs.iter().find(|m| m.kind == k).map(|m| m.body);
        let shape = self.dataspace(find(0x01).ok_or("dataset without a dataspace message")?)?;
        let dtype = self.datatype(find(0x03).ok_or("dataset without a datatype message")?)?;
        let layout = self.layout(find(0x08).ok_or("dataset without a layout message")?)?;
        let filters = match find(0x0B) {
            Some(b) => self.filters(b)?,
            None => Filters::default(),
        };
        let count = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or("dataset dimensions overflow")?;
        let esize = dtype.size(self.so) as u64;
        let nbytes = count.checked_mul(esize).ok_or("dataset size overflows")?;
        self.charge(nbytes)?;
        let raw: Vec<u8> = match layout {
            Layout::Compact(b) => b.to_vec(),
            Layout::Contiguous { addr, size } => {
                if undef(addr, self.so) {
                    vec![0; nbytes as usize]
                } else {
                    self.slice(addr, size.min(nbytes))?.to_vec()
                }
            }
            Layout::Chunked { btree, chunk } => {
                self.chunked(btree, &chunk, &shape, esize, nbytes, &filters)?
            }
        };
        if (raw.len() as u64) < nbytes {
            return Err(format!(
                "dataset data has {} bytes, its shape and type need {nbytes}",
                raw.len()
            ));
        }
        let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        let value = self.decode(dtype, &raw[..nbytes as usize], count as usize)?;
        Ok(Dataset { shape, value })
    }

    fn dataspace(&self, b: &[u8]) -> R<Vec<u64>> {
        let mut c = Cur::new(b);
        let v = c.u8()?;
        let rank = c.u8()? as usize;
        let _flags = c.u8()?;
        match v {
            1 => c.skip(5)?,
            2 => {
                let kind = c.u8()?;
                if kind == 2 {
                    return Err("null dataspace (empty dataset) is not supported".into());
                }
            }
            v => return Err(format!("dataspace message version {v}")),
        }
        if rank > 32 {
            return Err(format!("dataspace of rank {rank}"));
        }
        (0..rank).map(|_| self.len(&mut c)).collect()
    }

    fn datatype(&self, b: &[u8]) -> R<Dtype> {
        let mut c = Cur::new(b);
        let cv = c.u8()?;
        let bits = c.bytes(3)?;
        let size = c.u32()? as usize;
        let class = cv & 0x0f;
        let le = bits[0] & 1 == 0;
        match class {
            0 | 1 if !le => Err("big-endian numbers are not supported".into()),
            0 if [1, 2, 4, 8].contains(&size) => Ok(Dtype::Int {
                size,
                signed: bits[0] & 0x08 != 0,
            }),
            1 if size == 4 || size == 8 => Ok(Dtype::Float(size)),
            3 if size > 0 => Ok(Dtype::FixedStr {
                size,
                space: bits[0] & 0x0f == 2,
            }),
            9 if bits[0] & 0x0f == 1 => Ok(Dtype::VarStr),
            9 => Err("variable-length sequences (other than strings) are not supported".into()),
            _ => Err(format!("datatype class {class} of {size} bytes is not supported (integers, floats and strings are)")),
        }
    }

    fn layout(&self, b: &'a [u8]) -> R<Layout<'a>> {
        let mut c = Cur::new(b);
        let v = c.u8()?;
        match v {
            1 | 2 => {
                let rank = c.u8()? as usize;
                let class = c.u8()?;
                c.skip(5)?;
                let addr = if class != 0 { self.addr(&mut c)? } else { 0 };
                let dims: Vec<u64> = (0..rank)
                    .map(|_| c.u32().map(u64::from))
                    .collect::<R<_>>()?;
                match class {
                    0 => {
                        let n = c.u32()? as usize;
                        Ok(Layout::Compact(c.bytes(n)?))
                    }
                    1 => Ok(Layout::Contiguous {
                        addr,
                        size: dims.iter().product::<u64>(),
                    }),
                    _ => Ok(Layout::Chunked {
                        btree: addr,
                        chunk: dims,
                    }),
                }
            }
            3 => match c.u8()? {
                0 => {
                    let n = c.u16()? as usize;
                    Ok(Layout::Compact(c.bytes(n)?))
                }
                1 => Ok(Layout::Contiguous {
                    addr: self.addr(&mut c)?,
                    size: self.len(&mut c)?,
                }),
                2 => {
                    let rank = c.u8()? as usize;
                    let btree = self.addr(&mut c)?;
                    let dims = (0..rank)
                        .map(|_| c.u32().map(u64::from))
                        .collect::<R<_>>()?;
                    Ok(Layout::Chunked { btree, chunk: dims })
                }
                k => Err(format!("layout class {k}")),
            },
            v => Err(format!(
                "data layout message version {v} is not supported (1 to 3 are; h5py writes \
                 newer chunk indexes only with libver=\"latest\": rewrite the file with nir.write)"
            )),
        }
    }

    fn filters(&self, b: &[u8]) -> R<Filters> {
        let mut c = Cur::new(b);
        let v = c.u8()?;
        let n = c.u8()?;
        if v == 1 {
            c.skip(6)?;
        }
        let mut f = Filters::default();
        for _ in 0..n {
            let id = c.u16()?;
            let name_len = if v == 1 || id >= 256 {
                c.u16()? as usize
            } else {
                0
            };
            let flags = c.u16()?;
            let nvals = c.u16()? as usize;
            let pad = |l: usize| if v == 1 { l.div_ceil(8) * 8 } else { l };
            c.skip(pad(name_len))?;
            c.skip(4 * nvals)?;
            if v == 1 && nvals % 2 == 1 {
                c.skip(4)?;
            }
            if id != 1 && id != 2 {
                let opt = if flags & 1 != 0 { "optional " } else { "" };
                return Err(format!("{opt}filter {id} is not supported (deflate and shuffle are; write the file with compression='gzip' or none)"));
            }
            f.ids.push(id);
        }
        Ok(f)
    }

    fn chunked(
        &mut self,
        btree: u64,
        chunk: &[u64],
        shape: &[u64],
        esize: u64,
        nbytes: u64,
        f: &Filters,
    ) -> R<Vec<u8>> {
        if chunk.len() != shape.len() + 1 || chunk.last() != Some(&esize) {
            return Err("chunk dimensions disagree with the dataspace".into());
        }
        let cdims = &chunk[..shape.len()];
        if cdims.contains(&0) {
            return Err("chunk dimension 0".into());
        }
        let chunk_elems = cdims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or("chunk size overflows")?;
        let chunk_bytes = chunk_elems
            .checked_mul(esize)
            .ok_or("chunk size overflows")?;
        let mut out = vec![0u8; nbytes as usize];
        let mut chunks = Vec::new();
        self.chunk_btree(btree, shape.len(), MAX_BTREE_LEVEL, &mut chunks)?;
        for (size, mask, offs, addr) in chunks {
            let stored = self.slice(addr, size as u64)?;
            let mut data = stored.to_vec();
            // undo the filters in reverse order, skipping those the chunk's mask says were not applied
            for (i, id) in f.ids.iter().enumerate().rev() {
                if i < 32 && mask >> i & 1 == 1 {
                    continue;
                }
                if *id == 1 {
                    self.charge(chunk_bytes)?;
                    let mut dec = Vec::new();
                    flate2::read::ZlibDecoder::new(&data[..])
                        .take(chunk_bytes + 1)
                        .read_to_end(&mut dec)
                        .map_err(|e| format!("deflate: {e}"))?;
                    data = dec;
                } else if data.len() as u64 == chunk_bytes {
                    let e = esize as usize;
                    let n = data.len() / e;
                    let mut un = vec![0u8; data.len()];
                    for (i, b) in data.iter().enumerate() {
                        un[(i % n) * e + i / n] = *b;
                    }
                    data = un;
                }
            }
            if data.len() as u64 != chunk_bytes {
                return Err(format!(
                    "chunk holds {} bytes, expected {chunk_bytes}",
                    data.len()
                ));
            }
            copy_chunk(&data, cdims, &offs, shape, esize as usize, &mut out)?;
        }
        Ok(out)
    }

    /// Leaf entries (chunk size, filter mask, offsets, address) of a chunk B-tree.
    #[allow(clippy::type_complexity)]
    fn chunk_btree(
        &self,
        addr: u64,
        rank: usize,
        max_level: u8,
        out: &mut Vec<(u32, u32, Vec<u64>, u64)>,
    ) -> R<()> {
        let mut c = self.at(addr)?;
        if c.bytes(4)? != b"TREE" {
            return Err(format!("chunk B-tree at {addr:#x} has no TREE signature"));
        }
        if c.u8()? != 1 {
            return Err("chunk B-tree of the wrong node type".into());
        }
        let level = c.u8()?;
        if level > max_level {
            return Err("chunk B-tree levels do not decrease".into());
        }
        let entries = c.u16()? as usize;
        c.skip(2 * self.so)?;
        for _ in 0..entries {
            self.step()?;
            let size = c.u32()?;
            let mask = c.u32()?;
            let offs = (0..=rank).map(|_| c.uint(8)).collect::<R<Vec<_>>>()?;
            let child = self.addr(&mut c)?;
            if level > 0 {
                self.chunk_btree(child, rank, level - 1, out)?;
            } else {
                out.push((size, mask, offs, child));
            }
            if out.len() > self.d.len() {
                return Err("more chunks than the file can hold".into());
            }
        }
        Ok(())
    }

    fn decode(&mut self, t: Dtype, raw: &[u8], n: usize) -> R<Value> {
        Ok(match t {
            Dtype::Float(4) => Value::F32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
            ),
            Dtype::Float(_) => Value::F64(
                raw.chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
            ),
            Dtype::Int { size, signed } => Value::Int(
                raw.chunks_exact(size)
                    .map(|b| {
                        let u = b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64);
                        let bits = 8 * size as u32;
                        if signed && bits < 64 && u >> (bits - 1) & 1 == 1 {
                            Ok((u | (u64::MAX << bits)) as i64)
                        } else if !signed && u > i64::MAX as u64 {
                            Err("unsigned integer too large".to_string())
                        } else {
                            Ok(u as i64)
                        }
                    })
                    .collect::<R<_>>()?,
            ),
            Dtype::FixedStr { size, space } => Value::Str(
                raw.chunks_exact(size)
                    .map(|b| {
                        let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
                        let s = String::from_utf8_lossy(&b[..end]);
                        if space {
                            s.trim_end_matches(' ').to_string()
                        } else {
                            s.into_owned()
                        }
                    })
                    .collect(),
            ),
            Dtype::VarStr => {
                let mut v = Vec::with_capacity(n.min(raw.len()));
                for e in raw.chunks_exact(4 + self.so + 4) {
                    let mut c = Cur::new(e);
                    let len = c.u32()? as usize;
                    let coll = self.addr(&mut c)?;
                    let idx = c.u32()?;
                    if len == 0 {
                        v.push(String::new());
                        continue;
                    }
                    let obj = self.global_heap_object(coll, idx)?;
                    let s = obj
                        .get(..len)
                        .ok_or("variable-length string longer than its heap object")?;
                    self.charge(len as u64)?;
                    v.push(String::from_utf8_lossy(s).into_owned());
                }
                Value::Str(v)
            }
        })
    }

    fn global_heap_object(&mut self, coll: u64, idx: u32) -> R<&'a [u8]> {
        if !self.heaps.contains_key(&coll) {
            let mut c = self.at(coll)?;
            if c.bytes(4)? != b"GCOL" {
                return Err(format!("global heap at {coll:#x} has no GCOL signature"));
            }
            c.skip(4)?;
            let size = self.len(&mut c)?;
            let body = self.slice(coll, size)?;
            let mut c = Cur::new(body);
            c.skip(8 + self.sl)?;
            let mut objs = HashMap::new();
            while c.left() >= 8 + self.sl {
                let i = c.u16()?;
                c.skip(6)?;
                let n = self.len(&mut c)? as usize;
                if i == 0 {
                    break;
                }
                let d = c
                    .bytes(n)
                    .map_err(|_| "global heap object runs past its collection")?;
                c.skip(n.div_ceil(8) * 8 - n).ok();
                objs.insert(i, d);
            }
            self.heaps.insert(coll, objs);
        }
        let idx = u16::try_from(idx).map_err(|_| "global heap index too large")?;
        self.heaps[&coll].get(&idx).copied().ok_or_else(|| {
            format!("global heap object {idx} missing from the collection at {coll:#x}")
        })
    }
}

/// Copies one chunk (dims `cdims`, origin `offs`) into the row-major dataset `out`, clipping at
/// the dataset's edges.
fn copy_chunk(
    data: &[u8],
    cdims: &[u64],
    offs: &[u64],
    shape: &[u64],
    e: usize,
    out: &mut [u8],
) -> R<()> {
    let rank = shape.len();
    if rank == 0 {
        let n = e.min(out.len()).min(data.len());
        out[..n].copy_from_slice(&data[..n]);
        return Ok(());
    }
    for d in 0..rank {
        if offs[d] >= shape[d] || !offs[d].is_multiple_of(cdims[d]) {
            return Err("chunk offset outside the dataset".into());
        }
    }
    // iterate over rows (all but the last dimension) of the chunk
    let last = rank - 1;
    let row = (cdims[last].min(shape[last] - offs[last])) as usize;
    let mut idx = vec![0u64; rank];
    loop {
        let inside = (0..last).all(|d| offs[d] + idx[d] < shape[d]);
        if inside {
            let mut src = 0u64;
            let mut dst = 0u64;
            for d in 0..rank {
                src = src * cdims[d] + idx[d];
                dst = dst * shape[d] + offs[d] + idx[d];
            }
            let (s, t) = (src as usize * e, dst as usize * e);
            out.get_mut(t..t + row * e)
                .zip(data.get(s..s + row * e))
                .map(|(o, i)| o.copy_from_slice(i))
                .ok_or("chunk copy out of range")?;
        }
        // next row index (dimensions 0..last)
        let mut d = last;
        loop {
            if d == 0 {
                return Ok(());
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < cdims[d] && offs[d] + idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}
