//! Attributes, symlink targets and xattrs of the mounted namespace's nodes.

use super::inode::kernel_dev;
use super::{node_type, Attr, EntryNode, NodeKind, NodeType, VResult, Vfs, VfsError};
use super::{AT_README_TEXT, HASH_XATTR};
use crate::format::tree::{Content, Kind, Piece};
use std::time::Duration;

impl Vfs {
    pub fn getattr(&self, ino: u64) -> VResult<(Attr, Duration)> {
        let kind = self.node(ino)?;
        Ok((self.attr_of(ino, &kind)?, super::ttl_of(&kind)))
    }

    pub(super) fn entry_attr(&self, n: &EntryNode) -> VResult<Attr> {
        let e = &n.entry;
        let data = match &e.content {
            _ if e.kind != Kind::File => 0,
            Content::Inline(p) => p.iter().filter(|p| matches!(p, Piece::Data { .. })).map(|p| p.len()).sum(),
            // A chunk list that cannot be read fails the file's reads (and
            // is logged), not its attributes nor its directory's listing:
            // the block count is then its size.
            Content::List { .. } => self.file_map(n).map_or(e.size, |m| m.data_bytes()),
        };
        Ok(Attr {
            ino: n.ino(),
            kind: node_type(e.kind),
            perm: (e.mode & 0o7777) as u16,
            // Directories report 1 ("unknown"), as btrfs does: find(1) then
            // makes no assumption about the number of subdirectories.
            nlink: if e.kind == Kind::Dir { 1 } else { e.nlink.clamp(1, u32::MAX as u64) as u32 },
            uid: e.uid,
            gid: e.gid,
            size: match e.kind {
                Kind::Symlink => e.target.len() as u64,
                _ => e.size,
            },
            blocks: data.div_ceil(512),
            mtime: e.mtime,
            ctime: e.ctime,
            rdev: kernel_dev(e.rdev),
        })
    }

    pub(super) fn attr_of(&self, ino: u64, kind: &NodeKind) -> VResult<Attr> {
        let snaps = self.snaps();
        let newest = snaps.latest().map(|s| s.snap.time).unwrap_or_default();
        let virt = |kind, size: u64, perm| Attr {
            ino,
            kind,
            perm,
            nlink: 1,
            uid: 0,
            gid: 0,
            size,
            blocks: 0,
            mtime: newest,
            ctime: newest,
            rdev: 0,
        };
        Ok(match kind {
            NodeKind::Entry(n) => self.entry_attr(n)?,
            NodeKind::Link(t) => virt(NodeType::Symlink, t.len() as u64, 0o777),
            NodeKind::AtReadme => virt(NodeType::File, AT_README_TEXT.len() as u64, 0o444),
            _ => virt(NodeType::Dir, 0, 0o555),
        })
    }

    pub fn readlink(&self, ino: u64) -> VResult<Vec<u8>> {
        match self.node(ino)? {
            NodeKind::Link(t) => Ok(t),
            NodeKind::Entry(n) if n.entry.kind == Kind::Symlink => Ok(n.entry.target.clone()),
            _ => Err(VfsError::NotLink),
        }
    }

    /// A stored xattr, or the content hash (`user.strata.blake3`, absent
    /// for files backed up before strata stored it).
    pub fn getxattr(&self, ino: u64, name: &[u8]) -> VResult<Vec<u8>> {
        let NodeKind::Entry(n) = self.node(ino)? else {
            return Err(VfsError::NoData);
        };
        if name == HASH_XATTR {
            return n.entry.hash.map(|h| crate::crypto::hex(&h).into_bytes()).ok_or(VfsError::NoData);
        }
        n.entry.xattrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).ok_or(VfsError::NoData)
    }

    /// The stored xattr names, NUL-terminated; `user.strata.blake3` only
    /// when `set_list_hash` asked for it.
    pub fn listxattr(&self, ino: u64) -> VResult<Vec<u8>> {
        let NodeKind::Entry(n) = self.node(ino)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        if n.entry.hash.is_some() && self.list_hash.load(std::sync::atomic::Ordering::Relaxed) {
            out.extend_from_slice(HASH_XATTR);
            out.push(0);
        }
        for (k, _) in &n.entry.xattrs {
            out.extend_from_slice(k);
            out.push(0);
        }
        Ok(out)
    }
}
