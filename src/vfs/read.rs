//! Reading the mounted namespace's files: their content maps, opens, reads
//! (which queue prefetches) and SEEK_DATA / SEEK_HOLE.

use super::{Data, EntryNode, NodeKind, VResult, Vfs, VfsError, AT_README, AT_README_TEXT};
use crate::format::tree::{Kind, Piece};
use crate::reader::FileMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Vfs {
    pub(super) fn file_map(&self, n: &EntryNode) -> VResult<Arc<FileMap>> {
        if let Some(m) = n.map.get() {
            return Ok(m.clone());
        }
        let m = Arc::new(FileMap::load(&self.repo, &n.entry).map_err(|e| {
            log::error!("snapshot {} path /{}: {e}", n.snap.short(), String::from_utf8_lossy(&n.path));
            VfsError::Io
        })?);
        Ok(n.map.get_or_init(|| m).clone())
    }

    /// A regular file's node and content map.
    pub(super) fn file(&self, ino: u64) -> VResult<(Arc<EntryNode>, Arc<FileMap>)> {
        match self.node(ino)? {
            NodeKind::Entry(n) if n.entry.kind == Kind::File => {
                let map = self.file_map(&n)?;
                Ok((n, map))
            }
            NodeKind::Entry(n) if n.entry.kind != Kind::Dir => Err(VfsError::BadHandle),
            _ => Err(VfsError::IsDir),
        }
    }

    /// Checks that `ino` can be opened. Reads go by inode, not by handle,
    /// so the kernel may skip opens altogether (FUSE no-open).
    pub fn open(&self, ino: u64) -> VResult<()> {
        if ino == AT_README {
            return Ok(());
        }
        self.file(ino).map(drop)
    }

    /// Reads file data. A read from the start queues the files beside this
    /// one; sequential reads queue the next chunks of this one.
    pub fn read(&self, ino: u64, offset: u64, size: u32) -> VResult<Data> {
        if ino == AT_README {
            let t = AT_README_TEXT.as_bytes();
            let start = (offset as usize).min(t.len());
            return Ok(Data::Owned(t[start..(start + size as usize).min(t.len())].to_vec()));
        }
        let (node, map) = self.file(ino)?;
        if offset == 0 {
            self.prefetch_after_file(node.clone());
        }
        let data = self.reader.read_data(&self.repo, &map, offset, size as usize).map_err(|e| {
            log::error!(
                "read error in snapshot {} path /{} at offset {offset}: {e}",
                node.snap.short(),
                String::from_utf8_lossy(&node.path)
            );
            VfsError::Io
        })?;
        let end = offset + data.len() as u64;
        let sequential = node.last_end.swap(end, Ordering::Relaxed) == offset;
        if sequential || offset == 0 {
            self.prefetch_after(&node, &map, end);
        }
        if sequential {
            // A reader into chunk i is done with chunk i-2; i-1 may still
            // get a late read, as the kernel's reads ahead run in parallel.
            let done = map.find(offset).and_then(|(i, _)| i.checked_sub(2)).and_then(|i| map.pieces()[i].id());
            if let Some(id) = done {
                self.handed_over(&id);
            }
        }
        Ok(data)
    }

    /// The read, if every chunk it needs is already decoded: then it costs
    /// no more than a copy and can be answered without a thread switch.
    pub fn read_cached(&self, ino: u64, offset: u64, size: u32) -> Option<VResult<Data>> {
        if ino == AT_README {
            return Some(self.read(ino, offset, size));
        }
        let (_, map) = self.file(ino).ok()?;
        let end = map.size().min(offset.saturating_add(size as u64));
        let (first, mut start) = map.find(offset)?;
        for piece in &map.pieces()[first..] {
            if start >= end {
                break;
            }
            if let Piece::Data { id, .. } = piece {
                if !self.reader.cache.contains(id) {
                    return None;
                }
            }
            start += piece.len();
        }
        Some(self.read(ino, offset, size))
    }

    /// SEEK_DATA / SEEK_HOLE.
    pub fn lseek(&self, ino: u64, offset: u64, data: bool) -> VResult<u64> {
        let (_, map) = self.file(ino)?;
        map.seek(offset, data).ok_or(VfsError::NoData)
    }
}
