//! Stored object formats. Every object is `[tag][version]` followed by its
//! postcard encoding (postcard: compact, deterministic, a stable wire spec).
//! Tags and current versions are FROZEN constants, kept here in one place;
//! each has a golden-bytes test in its module. Decoding refuses a version newer
//! than this build knows, with a message saying so.

pub mod config;
pub mod key;
pub mod meta;
pub mod parts;
pub mod record;
pub mod snapshot;
pub mod tree;

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

// FROZEN: object tags. Never change or reuse a value.
pub const TAG_CONFIG: u8 = b'C';
pub const TAG_KEY: u8 = b'K';
pub const TAG_SNAPSHOT: u8 = b'S';
pub const TAG_TREE: u8 = b'T';
pub const TAG_CHUNK_LIST: u8 = b'L';
pub const TAG_HOLD: u8 = b'H';
pub const TAG_TAGS: u8 = b'G';
pub const TAG_AUDIT: u8 = b'A';

// Current versions: bump (and keep decoding the old one) on any change.
/// Config 2: chunks are keyed by write order, then id (see `repo::records::ChunkKeys`).
/// Version 1 repositories keep keying them by id.
pub const CONFIG_VERSION: u8 = 2;
pub const KEY_VERSION: u8 = 1;
pub const SNAPSHOT_VERSION: u8 = 1;
/// Tree 2: file entries carry their content's plain BLAKE3 hash.
pub const TREE_VERSION: u8 = 2;
pub const CHUNK_LIST_VERSION: u8 = 1;
/// Tree 3 and chunk list 2 are not trees and lists but the index of one
/// stored in parts (`parts`); the parts are of the versions above. FROZEN.
pub const TREE_PARTS_VERSION: u8 = 3;
pub const CHUNK_LIST_PARTS_VERSION: u8 = 2;
pub const HOLD_VERSION: u8 = 1;
pub const TAGS_VERSION: u8 = 1;
pub const AUDIT_VERSION: u8 = 1;

pub(crate) fn encode<T: Serialize>(tag: u8, version: u8, value: &T) -> Vec<u8> {
    let mut out = vec![tag, version];
    postcard::to_io(value, &mut out).expect("encoding into a Vec cannot fail");
    out
}

pub(crate) fn decode<T: DeserializeOwned>(what: &'static str, tag: u8, supported: u8, bytes: &[u8]) -> Result<T> {
    match bytes {
        [t, v, body @ ..] if *t == tag => {
            if *v > supported {
                return Err(Error::NewerFormat { what, found: *v, supported });
            }
            postcard::from_bytes(body).map_err(|e| Error::corrupt(what, e.to_string()))
        }
        _ => Err(Error::corrupt(what, "wrong object tag")),
    }
}

/// A point in time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
}

impl Time {
    pub fn now() -> Time {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Time { secs: d.as_secs() as i64, nanos: d.subsec_nanos() }
    }

    pub fn to_chrono(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.secs, self.nanos).unwrap_or_default()
    }

    /// Nanoseconds since the epoch, saturating; orders like `Time`.
    pub fn as_nanos(self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }
}

#[cfg(test)]
pub(crate) mod testing {
    /// Hex dump used by golden-bytes tests.
    pub fn hex(b: &[u8]) -> String {
        crate::crypto::hex(b)
    }
}
