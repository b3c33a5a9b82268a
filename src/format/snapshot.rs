//! A snapshot: one backup's root tree and what is known about it. Immutable
//! once written. Stored under a key that starts with its time, so "the newest
//! snapshot at or before T" is one seek.

use super::{decode, encode, Time, SNAPSHOT_VERSION, TAG_SNAPSHOT};
use crate::crypto::Id;
use crate::error::Result;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub files: u64,
    pub dirs: u64,
    /// Logical bytes of all regular files in the snapshot.
    pub bytes: u64,
    /// Bytes read from files whose content changed or was new.
    pub bytes_read: u64,
    /// Stored bytes added to the repository by this backup.
    pub bytes_added: u64,
    pub chunks_added: u64,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unchanged: u64,
    pub errors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub time: Time,
    pub host: String,
    pub user: String,
    /// Source paths as given (absolute), raw bytes.
    pub paths: Vec<Vec<u8>>,
    pub tags: Vec<String>,
    pub description: String,
    pub parent: Option<Id>,
    pub tree: Id,
    pub counters: Counters,
    /// Paths that could not be read completely, with the reason.
    pub failed: Vec<(Vec<u8>, String)>,
    /// Milliseconds the backup took.
    pub duration_ms: u64,
}

impl Snapshot {
    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_SNAPSHOT, SNAPSHOT_VERSION, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Snapshot> {
        decode("snapshot", TAG_SNAPSHOT, SNAPSHOT_VERSION, bytes)
    }

    /// The store key: time (big-endian, sign-flipped so it sorts) then id.
    pub fn key(time: Time, id: &Id) -> [u8; 44] {
        let mut k = [0u8; 44];
        k[..8].copy_from_slice(&((time.secs as u64) ^ (1 << 63)).to_be_bytes());
        k[8..12].copy_from_slice(&time.nanos.to_be_bytes());
        k[12..].copy_from_slice(&id.0);
        k
    }

    /// The smallest key after every snapshot at or before `time`.
    pub fn key_after(time: Time) -> [u8; 44] {
        Snapshot::key(time, &Id([0xff; 32]))
    }

    pub fn parse_key(k: &[u8]) -> Option<(Time, Id)> {
        if k.len() != 44 {
            return None;
        }
        let secs = (u64::from_be_bytes(k[..8].try_into().ok()?) ^ (1 << 63)) as i64;
        let nanos = u32::from_be_bytes(k[8..12].try_into().ok()?);
        Some((Time { secs, nanos }, Id::from_slice(&k[12..])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::hex;
    use proptest::prelude::*;

    fn sample() -> Snapshot {
        Snapshot {
            time: Time { secs: 1_763_647_200, nanos: 1 },
            host: "h".into(),
            user: "root".into(),
            paths: vec![b"/a".to_vec()],
            tags: vec!["t".into()],
            description: String::new(),
            parent: None,
            tree: Id([1; 32]),
            counters: Counters { files: 2, ..Default::default() },
            failed: vec![],
            duration_ms: 500,
        }
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(
            hex(&sample().encode()),
            "5301c0fbf8910d01016804726f6f7401022f61010174000001010101010101010101010101010101010101010101010101010101010101010200000000000000000000f403"
        );
    }

    #[test]
    fn keys_sort_by_time() {
        let early = Snapshot::key(Time { secs: -5, nanos: 0 }, &Id([9; 32]));
        let late = Snapshot::key(Time { secs: 5, nanos: 0 }, &Id([0; 32]));
        assert!(early < late);
        assert_eq!(Snapshot::parse_key(&early), Some((Time { secs: -5, nanos: 0 }, Id([9; 32]))));
        assert!(late < Snapshot::key_after(Time { secs: 5, nanos: 0 }));
    }

    proptest! {
        #[test]
        fn roundtrip(secs: i64, host: String, tags: Vec<String>, failed: Vec<(Vec<u8>, String)>, parent: Option<[u8; 32]>) {
            let s = Snapshot { time: Time { secs, nanos: 3 }, host, tags, failed, parent: parent.map(Id), ..sample() };
            prop_assert_eq!(Snapshot::decode(&s.encode()).unwrap(), s);
        }
    }
}
