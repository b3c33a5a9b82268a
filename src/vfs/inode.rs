//! Inode identity: every node's number derives from a key, a hash of its
//! snapshot and path (or, for a hardlink group, its source dev and inode), so
//! numbers are the same after a remount; plus the encodings FUSE wants.

use crate::crypto::Id;

pub fn key_child(parent: &[u8; 32], name: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(parent);
    h.update(&[0]);
    h.update(name);
    *h.finalize().as_bytes()
}

pub fn key_snapshot(id: &Id) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"strata snapshot root");
    h.update(&id.0);
    *h.finalize().as_bytes()
}

/// A version of `path` under history/, apart from its inode under snapshots/.
pub fn key_history(snap: &Id, path: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"strata history");
    h.update(&snap.0);
    h.update(path);
    *h.finalize().as_bytes()
}

pub fn key_hardlink(snap: &Id, dev: u64, ino: u64) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"strata hardlink");
    h.update(&snap.0);
    h.update(&dev.to_le_bytes());
    h.update(&ino.to_le_bytes());
    *h.finalize().as_bytes()
}

/// Inode number from a key: high range, away from the fixed ones.
pub fn ino_of(key: &[u8; 32]) -> u64 {
    u64::from_le_bytes(key[..8].try_into().unwrap()) | (1 << 62)
}

/// Linux's `new_encode_dev`, the form FUSE passes device numbers in.
pub fn kernel_dev(dev: u64) -> u64 {
    let (major, minor) = (libc::major(dev as libc::dev_t) as u64, libc::minor(dev as libc::dev_t) as u64);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}
