//! `strata dump`: a snapshot's directory as a POSIX pax tar stream that GNU
//! tar extracts exactly: long and non-UTF-8 names, nanosecond times, xattrs
//! (SCHILY.xattr), POSIX ACLs (SCHILY.acl, as `tar --acls` reads them),
//! hardlinks as links, sparse files as GNU sparse 1.0 entries, devices and
//! fifos. Chunks are decoded by a pool ahead of the writer, in order.

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::tree::{join_path, Entry, Kind, Piece};
use crate::reader::{FileMap, Reader};
use crate::repo::Repo;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

const BLOCK: usize = 512;

/// What the writer thread emits, in order.
enum Out {
    Bytes(Vec<u8>),
    /// A chunk being decoded by the pool.
    Chunk(Receiver<Result<Arc<Vec<u8>>>>),
}

type Job = (Id, Sender<Result<Arc<Vec<u8>>>>);

#[derive(Debug, Default)]
pub struct Summary {
    pub entries: u64,
    pub bytes: u64,
}

/// Writes `entry` (at `path` in its snapshot, "" for the root) and
/// everything below it to `out` as a tar stream, ending it.
pub fn tar(repo: &Repo, entry: &Entry, path: &[u8], out: &mut (dyn Write + Send)) -> Result<Summary> {
    let workers = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let reader = Reader::new(64 << 20);
    std::thread::scope(|scope| {
        let (jobs_tx, jobs_rx) = bounded::<Job>(64);
        for _ in 0..workers {
            let (rx, reader) = (jobs_rx.clone(), &reader);
            scope.spawn(move || {
                for (id, reply) in rx {
                    let _ = reply.send(reader.chunk(repo, &id));
                }
            });
        }
        // Bounds the chunks in flight (decoded, waiting for the writer).
        let (out_tx, out_rx) = bounded::<Out>(32);
        let writer = scope.spawn(move || write_out(out_rx, out));
        let mut t = Tar { repo, jobs: jobs_tx, out: out_tx, links: HashMap::new(), summary: Summary::default() };
        let walked = (|| {
            if path.is_empty() {
                t.contents(entry, b"")?;
            } else {
                t.entry(entry, path)?;
            }
            // Two zero blocks end the archive.
            t.emit(vec![0; 2 * BLOCK])
        })();
        let Tar { summary, jobs, out, .. } = t;
        drop((jobs, out));
        let written = writer.join().map_err(|_| Error::Invalid("the tar writer panicked".into()))?;
        // A write error explains a walk that stopped for want of a writer.
        written?;
        walked?;
        Ok(summary)
    })
}

fn write_out(items: Receiver<Out>, out: &mut (dyn Write + Send)) -> Result<()> {
    let io = |e: std::io::Error| Error::Invalid(format!("writing the tar stream: {e}"));
    let mut buf = std::io::BufWriter::with_capacity(1 << 20, out);
    for item in items {
        match item {
            Out::Bytes(b) => buf.write_all(&b).map_err(io)?,
            Out::Chunk(rx) => {
                let data = rx.recv().map_err(|_| Error::Invalid("a chunk reader stopped".into()))??;
                buf.write_all(&data).map_err(io)?
            }
        }
    }
    buf.flush().map_err(io)
}

struct Tar<'a> {
    repo: &'a Repo,
    jobs: Sender<Job>,
    out: Sender<Out>,
    /// First member path of each hardlink group.
    links: HashMap<(u64, u64), Vec<u8>>,
    summary: Summary,
}

impl Tar<'_> {
    fn emit(&self, bytes: Vec<u8>) -> Result<()> {
        self.out.send(Out::Bytes(bytes)).map_err(|_| stopped())
    }

    fn contents(&mut self, dir: &Entry, path: &[u8]) -> Result<()> {
        let id = dir.subtree.ok_or_else(|| Error::corrupt("directory entry", "no tree"))?;
        for e in self.repo.tree(&id)?.entries {
            let p = join_path(path, &e.name);
            self.entry(&e, &p)?;
        }
        Ok(())
    }

    fn entry(&mut self, e: &Entry, path: &[u8]) -> Result<()> {
        self.summary.entries += 1;
        if let Some(group) = e.link_group() {
            if let Some(first) = self.links.get(&group) {
                let h = Header { typeflag: b'1', link: first.clone(), ..Header::new(e, path) };
                return self.emit(h.encode());
            }
            self.links.insert(group, path.to_vec());
        }
        match e.kind {
            Kind::Dir => {
                let h = Header { typeflag: b'5', ..Header::new(e, &[path, b"/"].concat()) };
                self.emit(h.encode())?;
                self.contents(e, path)
            }
            Kind::File => self.file(e, path),
            Kind::Symlink => {
                self.emit(Header { typeflag: b'2', link: e.target.clone(), ..Header::new(e, path) }.encode())
            }
            Kind::Fifo => self.emit(Header { typeflag: b'6', ..Header::new(e, path) }.encode()),
            Kind::CharDev | Kind::BlockDev => {
                let typeflag = if e.kind == Kind::CharDev { b'3' } else { b'4' };
                let rdev = e.rdev as libc::dev_t;
                let dev = (libc::major(rdev) as u64, libc::minor(rdev) as u64);
                self.emit(Header { typeflag, dev, ..Header::new(e, path) }.encode())
            }
        }
    }

    fn file(&mut self, e: &Entry, path: &[u8]) -> Result<()> {
        let map = FileMap::load(self.repo, e)?;
        let size = map.size();
        let mut h = Header { size, ..Header::new(e, path) };
        let mut sparse_map = Vec::new();
        if map.pieces().iter().any(|p| matches!(p, Piece::Hole { .. })) {
            let regions = data_regions(map.pieces());
            let mut text = format!("{}\n", regions.len()).into_bytes();
            for (off, len) in &regions {
                text.extend_from_slice(format!("{off}\n{len}\n").as_bytes());
            }
            text.resize(text.len().next_multiple_of(BLOCK), 0);
            let data: u64 = regions.iter().map(|r| r.1).sum();
            h.sparse = Some(size);
            h.size = text.len() as u64 + data;
            sparse_map = text;
        }
        let stored = h.size;
        self.emit(h.encode())?;
        if !sparse_map.is_empty() {
            self.emit(sparse_map)?;
        }
        for p in map.pieces() {
            if let Piece::Data { id, .. } = p {
                let (tx, rx) = bounded(1);
                self.jobs.send((*id, tx)).map_err(|_| stopped())?;
                self.out.send(Out::Chunk(rx)).map_err(|_| stopped())?;
            }
        }
        self.summary.bytes += size;
        let pad = (stored as usize).next_multiple_of(BLOCK) - stored as usize;
        if pad > 0 {
            self.emit(vec![0; pad])?;
        }
        Ok(())
    }
}

fn stopped() -> Error {
    Error::Invalid("the tar writer stopped".into())
}

/// The (offset, length) runs of data between holes; a file ending in a
/// hole ends with an empty run at its size, as GNU tar writes it.
fn data_regions(pieces: &[Piece]) -> Vec<(u64, u64)> {
    let mut regions: Vec<(u64, u64)> = Vec::new();
    let (mut at, mut in_data) = (0u64, false);
    for p in pieces {
        match p {
            Piece::Data { len, .. } => {
                match regions.last_mut() {
                    Some(last) if in_data => last.1 += *len as u64,
                    _ => regions.push((at, *len as u64)),
                }
                in_data = true;
            }
            Piece::Hole { .. } => in_data = false,
        }
        at += p.len();
    }
    if !in_data {
        regions.push((at, 0));
    }
    regions
}

/// One member's header: a pax extended header, then the ustar header.
struct Header<'e> {
    e: &'e Entry,
    path: Vec<u8>,
    typeflag: u8,
    size: u64,
    link: Vec<u8>,
    dev: (u64, u64),
    /// A GNU sparse 1.0 file of this real size.
    sparse: Option<u64>,
}

impl<'e> Header<'e> {
    fn new(e: &'e Entry, path: &[u8]) -> Header<'e> {
        Header { e, path: path.to_vec(), typeflag: b'0', size: 0, link: Vec::new(), dev: (0, 0), sparse: None }
    }

    fn encode(&self) -> Vec<u8> {
        let e = self.e;
        let mut pax = Pax::default();
        let mut binary = false;
        let mut text = |key: &str, value: &[u8], pax: &mut Pax| {
            binary |= std::str::from_utf8(value).is_err();
            pax.add(key.as_bytes(), value);
        };
        let name = match self.sparse {
            Some(real) => {
                text("GNU.sparse.major", b"1", &mut pax);
                text("GNU.sparse.minor", b"0", &mut pax);
                text("GNU.sparse.name", &self.path, &mut pax);
                text("GNU.sparse.realsize", real.to_string().as_bytes(), &mut pax);
                [b"GNUSparseFile.0/", base(&self.path)].concat()
            }
            None => {
                text("path", &self.path, &mut pax);
                self.path.clone()
            }
        };
        if !self.link.is_empty() {
            text("linkpath", &self.link, &mut pax);
        }
        text("mtime", format!("{}.{:09}", e.mtime.secs, e.mtime.nanos).as_bytes(), &mut pax);
        if self.size > OCTAL_11 {
            text("size", self.size.to_string().as_bytes(), &mut pax);
        }
        for (key, id) in [("uid", e.uid), ("gid", e.gid)] {
            if id as u64 > OCTAL_7 {
                text(key, id.to_string().as_bytes(), &mut pax);
            }
        }
        for (key, owner) in [("uname", &e.user), ("gname", &e.group)] {
            if !owner.is_empty() && (owner.len() > 31 || !owner.is_ascii()) {
                text(key, owner.as_bytes(), &mut pax);
            }
        }
        for (k, v) in &e.xattrs {
            let acl = match &k[..] {
                b"system.posix_acl_access" => Some("SCHILY.acl.access"),
                b"system.posix_acl_default" => Some("SCHILY.acl.default"),
                _ => None,
            };
            match acl.zip(acl_text(v)) {
                Some((key, t)) => pax.add(key.as_bytes(), t.as_bytes()),
                None => pax.add(&[b"SCHILY.xattr.", &k[..]].concat(), v),
            }
        }
        if binary {
            pax.records.splice(0..0, record(b"hdrcharset", b"BINARY"));
        }
        let mut out = Vec::with_capacity(3 * BLOCK);
        let mut x = ustar(&[b"PaxHeaders.0/", base(&name)].concat(), e, b'x', pax.records.len() as u64, b"", (0, 0));
        out.append(&mut x);
        let mut records = pax.records;
        records.resize(records.len().next_multiple_of(BLOCK), 0);
        out.append(&mut records);
        out.append(&mut ustar(&name, e, self.typeflag, self.size, &self.link, self.dev));
        out
    }
}

fn base(path: &[u8]) -> &[u8] {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed)
}

const OCTAL_11: u64 = 0o77777777777;
const OCTAL_7: u64 = 0o7777777;

#[derive(Default)]
struct Pax {
    records: Vec<u8>,
}

impl Pax {
    fn add(&mut self, key: &[u8], value: &[u8]) {
        self.records.extend(record(key, value));
    }
}

/// "LEN key=value\n", LEN counting the whole record, its own digits too.
fn record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    [len.to_string().as_bytes(), b" ", key, b"=", value, b"\n"].concat()
}

/// A ustar header block. Names that do not fit are cut: the pax header
/// before it carries them whole.
fn ustar(name: &[u8], e: &Entry, typeflag: u8, size: u64, link: &[u8], dev: (u64, u64)) -> Vec<u8> {
    let mut h = vec![0u8; BLOCK];
    let ascii = |b: &[u8], max: usize| -> Vec<u8> { b.iter().copied().filter(u8::is_ascii).take(max).collect() };
    put(&mut h, 0, &ascii(name, 100));
    octal(&mut h, 100, 8, (e.mode & 0o7777) as u64);
    octal(&mut h, 108, 8, (e.uid as u64).min(OCTAL_7));
    octal(&mut h, 116, 8, (e.gid as u64).min(OCTAL_7));
    octal(&mut h, 124, 12, if size > OCTAL_11 { 0 } else { size });
    octal(&mut h, 136, 12, e.mtime.secs.clamp(0, OCTAL_11 as i64) as u64);
    h[156] = typeflag;
    put(&mut h, 157, &ascii(link, 100));
    put(&mut h, 257, b"ustar\x0000");
    put(&mut h, 265, &ascii(e.user.as_bytes(), 31));
    put(&mut h, 297, &ascii(e.group.as_bytes(), 31));
    octal(&mut h, 329, 8, dev.0.min(OCTAL_7));
    octal(&mut h, 337, 8, dev.1.min(OCTAL_7));
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

fn put(h: &mut [u8], at: usize, bytes: &[u8]) {
    h[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Zero-padded octal filling `width - 1` digits, then NUL.
fn octal(h: &mut [u8], at: usize, width: usize, v: u64) {
    put(h, at, format!("{v:0w$o}\0", w = width - 1).as_bytes());
}

/// A `system.posix_acl_*` value as the text `acl_from_text` reads, numeric
/// ids; `None` when it is not a version-2 ACL.
fn acl_text(v: &[u8]) -> Option<String> {
    let (head, body) = v.split_at_checked(4)?;
    if head != [2, 0, 0, 0] || body.len() % 8 != 0 {
        return None;
    }
    let mut parts = Vec::new();
    for e in body.chunks(8) {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        let perm = u16::from_le_bytes([e[2], e[3]]);
        let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        let who = match tag {
            0x01 => "user::".to_string(),
            0x02 => format!("user:{id}:"),
            0x04 => "group::".to_string(),
            0x08 => format!("group:{id}:"),
            0x10 => "mask::".to_string(),
            0x20 => "other::".to_string(),
            _ => return None,
        };
        let bit = |b: u16, c: char| if perm & b != 0 { c } else { '-' };
        parts.push(format!("{who}{}{}{}", bit(4, 'r'), bit(2, 'w'), bit(1, 'x')));
    }
    Some(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        assert_eq!(record(b"path", b"a"), b"9 path=a\n");
        // 97 bytes besides the length: 99 with two digits; one more byte
        // of value needs three, 101.
        assert_eq!(record(b"k", &[b'v'; 93]).len(), 99);
        let r = record(b"k", &[b'v'; 94]);
        assert_eq!(r.len(), 101);
        assert!(r.starts_with(b"101 k="));
    }

    #[test]
    fn regions_of_a_sparse_file() {
        let d = |len| Piece::Data { id: Id([1; 32]), len };
        let h = |len| Piece::Hole { len };
        assert_eq!(data_regions(&[d(5), d(5), h(10), d(3), h(2)]), vec![(0, 10), (20, 3), (25, 0)]);
        assert_eq!(data_regions(&[h(4), d(1)]), vec![(4, 1)]);
        assert_eq!(data_regions(&[h(4)]), vec![(4, 0)]);
    }

    #[test]
    fn acls_as_text() {
        let mut v = vec![2, 0, 0, 0];
        for (tag, perm, id) in
            [(1u16, 6u16, u32::MAX), (2, 4, 1000), (4, 4, u32::MAX), (0x10, 5, u32::MAX), (0x20, 0, u32::MAX)]
        {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        assert_eq!(acl_text(&v).unwrap(), "user::rw-,user:1000:r--,group::r--,mask::r-x,other::---");
        assert_eq!(acl_text(b"\x01\0\0\0"), None);
    }

    #[test]
    fn ustar_checksum_and_fields() {
        let e = Entry { mode: 0o644, uid: 1, gid: 2, ..Entry::new(b"f".to_vec(), Kind::File) };
        let h = ustar(b"dir/f", &e, b'0', 5, b"", (0, 0));
        assert_eq!(&h[..5], b"dir/f");
        assert_eq!(&h[100..108], b"0000644\0");
        assert_eq!(&h[124..136], b"00000000005\0");
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut blank = h.clone();
        blank[148..156].fill(b' ');
        assert_eq!(stored, blank.iter().map(|&b| b as u32).sum::<u32>());
    }
}
