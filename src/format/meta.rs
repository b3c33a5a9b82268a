//! What changes about a snapshot after it was written, kept beside it so
//! the snapshot record itself stays immutable: a hold (legal hold: the
//! snapshot survives every forget and prune), its current tags, and the
//! audit log entry of every such change.

use super::{decode, encode, Time, AUDIT_VERSION, HOLD_VERSION, TAGS_VERSION, TAG_AUDIT, TAG_HOLD, TAG_TAGS};
use crate::crypto::Id;
use crate::error::Result;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hold {
    pub reason: String,
    /// The hold lapses at this time; `None` holds until removed.
    pub until: Option<Time>,
    pub created: Time,
    pub user: String,
    pub host: String,
}

impl Hold {
    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_HOLD, HOLD_VERSION, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Hold> {
        decode("hold", TAG_HOLD, HOLD_VERSION, bytes)
    }

    /// Whether the hold still protects its snapshot at `now`.
    pub fn active(&self, now: Time) -> bool {
        self.until.is_none_or(|t| t > now)
    }
}

/// A snapshot's tags as changed after the backup; they replace the tags in
/// its record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tags(pub Vec<String>);

impl Tags {
    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_TAGS, TAGS_VERSION, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Tags> {
        decode("tags", TAG_TAGS, TAGS_VERSION, bytes)
    }
}

/// One change to the repository's snapshots: who, where, when, what.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub time: Time,
    pub user: String,
    pub host: String,
    /// The command line that made the change.
    pub command: String,
    /// What was done: "forget", "prune", "hold add", "hold remove", "tag".
    pub action: String,
    pub snapshots: Vec<Id>,
    /// Free text: the reason of a hold, the new tags, what prune removed.
    pub detail: String,
}

impl AuditEntry {
    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_AUDIT, AUDIT_VERSION, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<AuditEntry> {
        decode("audit log entry", TAG_AUDIT, AUDIT_VERSION, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::hex;
    use proptest::prelude::*;

    fn hold() -> Hold {
        Hold {
            reason: "case 7".into(),
            until: Some(Time { secs: 2, nanos: 0 }),
            created: Time { secs: 1, nanos: 0 },
            user: "u".into(),
            host: "h".into(),
        }
    }

    fn entry() -> AuditEntry {
        AuditEntry {
            time: Time { secs: 1, nanos: 2 },
            user: "u".into(),
            host: "h".into(),
            command: "c".into(),
            action: "tag".into(),
            snapshots: vec![Id([3; 32])],
            detail: "d".into(),
        }
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(hex(&hold().encode()), "480106636173652037010400020001750168");
        assert_eq!(hex(&Tags(vec!["a".into(), "bc".into()]).encode()), "4701020161026263");
        assert_eq!(
            hex(&entry().encode()),
            "41010202017501680163037461670103030303030303030303030303030303030303030303030303030303030303030164"
        );
    }

    #[test]
    fn a_hold_lapses_at_its_time() {
        let h = hold();
        assert!(h.active(Time { secs: 1, nanos: 999 }));
        assert!(!h.active(Time { secs: 2, nanos: 0 }));
        assert!(Hold { until: None, ..h }.active(Time { secs: i64::MAX, nanos: 0 }));
    }

    proptest! {
        #[test]
        fn roundtrip(reason: String, until: Option<i64>, tags: Vec<String>, detail: String, n in 0usize..4) {
            let h = Hold { reason, until: until.map(|secs| Time { secs, nanos: 0 }), ..hold() };
            prop_assert_eq!(Hold::decode(&h.encode()).unwrap(), h);
            let t = Tags(tags);
            prop_assert_eq!(Tags::decode(&t.encode()).unwrap(), t);
            let e = AuditEntry { detail, snapshots: vec![Id([7; 32]); n], ..entry() };
            prop_assert_eq!(AuditEntry::decode(&e.encode()).unwrap(), e);
        }
    }
}
