//! What changes about snapshots after they are written, and the audit log
//! of those changes, in the meta family beside the immutable snapshot
//! records:
//!
//! ```text
//! hold/<snapshot id>    Hold           legal hold
//! tags/<snapshot id>    Tags           tags that replace the record's
//! log/<time><random>    AuditEntry     one per forget, prune, hold, tag change,
//!                                      rewrite, repair
//! missing/<record id>   "missing"      a record `repair` removed as damaged
//!                                      (or found lost), until stored again
//! ```
//!
//! Values are sealed like every other record (`<id><record>`, the id being
//! the keyed hash of the plaintext), so a hold's reason or a tag is no more
//! readable without the key than the snapshot it concerns. Every change is
//! one synced batch together with its log entry.

use super::Repo;
use crate::crypto::{self, Id};
use crate::error::{Error, Result};
use crate::format::meta::{AuditEntry, Hold, Tags};
use crate::format::snapshot::Snapshot;
use crate::format::{record, Time};
use crate::store::{Batch, Cf, Durability};
use std::collections::{HashMap, HashSet};

pub(super) const HOLD: &[u8] = b"hold/";
pub(super) const TAGS: &[u8] = b"tags/";
pub(super) const LOG: &[u8] = b"log/";
pub(super) const MISSING: &[u8] = b"missing/";

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}

/// The first key after every key starting with `prefix` (which ends in '/').
pub(super) fn end_of(prefix: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    if let Some(last) = k.last_mut() {
        *last += 1;
    }
    k
}

impl Repo {
    fn seal_meta(&self, plain: &[u8]) -> Vec<u8> {
        let id = self.keys().id(plain);
        [&id.0[..], &self.records().seal(&id, plain)].concat()
    }

    fn open_meta(&self, what: &str, bytes: &[u8]) -> Result<Vec<u8>> {
        let (id, rec) = (bytes.get(..32).and_then(Id::from_slice), bytes.get(32..));
        match (id, rec) {
            (Some(id), Some(rec)) => record::open(self.keys(), &id, rec.to_vec(), what),
            _ => Err(Error::corrupt(what, "too short")),
        }
    }

    /// Entries under `prefix`, by the key's remainder.
    fn meta_range(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let end = end_of(prefix);
        Ok(self
            .store
            .range(Cf::Meta, prefix, Some(&end))?
            .into_iter()
            .map(|(k, v)| (k[prefix.len()..].to_vec(), v))
            .collect())
    }

    fn by_snapshot<T>(&self, prefix: &[u8], what: &str, decode: fn(&[u8]) -> Result<T>) -> Result<HashMap<Id, T>> {
        let mut out = HashMap::new();
        for (k, v) in self.meta_range(prefix)? {
            let id = Id::from_slice(&k).ok_or_else(|| Error::corrupt(what, "bad key"))?;
            out.insert(id, decode(&self.open_meta(&format!("{what} of snapshot {id}"), &v)?)?);
        }
        Ok(out)
    }

    /// Every hold, lapsed ones included (see `Hold::active`).
    pub fn holds(&self) -> Result<HashMap<Id, Hold>> {
        self.by_snapshot(HOLD, "hold", Hold::decode)
    }

    /// Tags changed after the backup, by snapshot.
    pub(super) fn changed_tags(&self) -> Result<HashMap<Id, Vec<String>>> {
        Ok(self.by_snapshot(TAGS, "tags", Tags::decode)?.into_iter().map(|(id, t)| (id, t.0)).collect())
    }

    pub(super) fn changed_tags_of(&self, id: &Id) -> Result<Option<Vec<String>>> {
        match self.store.get(Cf::Meta, &key(TAGS, &id.0))? {
            Some(v) => Ok(Some(Tags::decode(&self.open_meta(&format!("tags of snapshot {id}"), &v)?)?.0)),
            None => Ok(None),
        }
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.meta_range(LOG)?.iter().map(|(_, v)| AuditEntry::decode(&self.open_meta("audit log entry", v)?)).collect()
    }

    /// Writes `batch` and the audit entry for it, as one synced batch.
    fn change(&self, mut batch: Batch, action: &str, snapshots: Vec<Id>, detail: String) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::Invalid(format!(
                "repository {}: opened read-only, cannot {action}",
                self.path.display()
            )));
        }
        let entry = AuditEntry {
            time: Time::now(),
            user: crate::sys::current_user(),
            host: crate::sys::hostname(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            action: action.into(),
            snapshots,
            detail,
        };
        let mut k = Snapshot::key(entry.time, &Id([0; 32]))[..12].to_vec();
        k.extend_from_slice(&crypto::random_bytes::<4>());
        batch.put(Cf::Meta, key(LOG, &k), self.seal_meta(&entry.encode()));
        self.store.write(batch, Durability::Sync)
    }

    /// Records a change that touched no snapshot record (prune).
    pub fn log_event(&self, action: &str, detail: String) -> Result<()> {
        self.change(Batch::default(), action, Vec::new(), detail)
    }

    /// Holds each snapshot (replacing an earlier hold of it).
    pub fn add_hold(&self, ids: &[Id], hold: &Hold) -> Result<()> {
        let mut batch = Batch::default();
        for id in ids {
            batch.put(Cf::Meta, key(HOLD, &id.0), self.seal_meta(&hold.encode()));
        }
        self.change(batch, "hold add", ids.to_vec(), hold.reason.clone())
    }

    /// Lifts the holds of `ids`; a snapshot that is not held is an error.
    pub fn remove_hold(&self, ids: &[Id]) -> Result<()> {
        let holds = self.holds()?;
        let mut batch = Batch::default();
        for id in ids {
            if !holds.contains_key(id) {
                return Err(Error::Invalid(format!("snapshot {}: not held", id.short())));
            }
            batch.delete(Cf::Meta, key(HOLD, &id.0));
        }
        self.change(batch, "hold remove", ids.to_vec(), String::new())
    }

    /// Replaces the tags of each snapshot.
    pub fn set_tags(&self, changes: &[(Id, Vec<String>)]) -> Result<()> {
        let mut batch = Batch::default();
        let mut detail = Vec::new();
        for (id, tags) in changes {
            batch.put(Cf::Meta, key(TAGS, &id.0), self.seal_meta(&Tags(tags.clone()).encode()));
            detail.push(format!("{}: {}", id.short(), tags.join(",")));
        }
        self.change(batch, "tag", changes.iter().map(|(id, _)| *id).collect(), detail.join("; "))
    }

    /// Removes snapshot records, and what lives beside them. Refuses, and
    /// changes nothing, when one of them is held. Their data stays until
    /// `prune`.
    pub fn forget(&self, snapshots: &[(Id, Snapshot)]) -> Result<()> {
        let mut batch = Batch::default();
        self.forget_into(&mut batch, snapshots)?;
        let ids: Vec<Id> = snapshots.iter().map(|(id, _)| *id).collect();
        self.change(batch, "forget", ids, String::new())
    }

    /// Queues the removal of `snapshots`; an error, when one is held.
    fn forget_into(&self, batch: &mut Batch, snapshots: &[(Id, Snapshot)]) -> Result<()> {
        let holds = self.holds()?;
        let now = Time::now();
        for (id, s) in snapshots {
            if let Some(h) = holds.get(id).filter(|h| h.active(now)) {
                return Err(Error::Invalid(format!("snapshot {}: held ({}), not forgotten", id.short(), h.reason)));
            }
            batch.delete(Cf::Snapshots, Snapshot::key(s.time, id).to_vec());
            batch.delete(Cf::Meta, key(TAGS, &id.0));
            batch.delete(Cf::Meta, key(HOLD, &id.0));
        }
        Ok(())
    }

    /// The records `repair` removed as damaged or found lost, and no
    /// backup has stored again since: a backup reads a file that looks
    /// unchanged again when its content uses one of them.
    pub fn missing(&self) -> Result<HashSet<Id>> {
        self.meta_range(MISSING)?
            .into_iter()
            .map(|(k, _)| Id::from_slice(&k).ok_or_else(|| Error::corrupt("missing record mark", "bad key")))
            .collect()
    }

    /// Removes the damaged chunk records `chunks` and tree and chunk-list
    /// records `objects`, then marks them, and the records `lost` (already
    /// gone), missing: one synced batch, logged as "repair" with `detail`.
    /// A crash between the two leaves records gone but unmarked, which
    /// `check` reports as missing and the next `repair` marks.
    pub fn remove_damaged(&self, chunks: &[Id], objects: &[Id], lost: &[Id], detail: String) -> Result<()> {
        let mut w = self.records().writer();
        for id in chunks {
            if let Some(entry) = self.records().chunk_entry(id)? {
                w.delete_chunk(&entry);
            }
        }
        for id in objects {
            w.delete_object(id);
        }
        w.write()?;
        self.store.flush()?;
        crate::prune::crash_point(|| "repair:removed".into());
        let mut batch = Batch::default();
        for id in chunks.iter().chain(objects).chain(lost) {
            batch.put(Cf::Meta, key(MISSING, &id.0), self.seal_meta(b"missing"));
        }
        self.change(batch, "repair", Vec::new(), detail)
    }

    /// Unmarks the records of `missing` that are stored again (a backup met
    /// their data); returns how many.
    pub fn clear_stored_again(&self, missing: &HashSet<Id>) -> Result<usize> {
        let mut again = Vec::new();
        for id in missing {
            if self.records().has_chunk(id)? || self.records().has_object(id)? {
                again.push(*id);
            }
        }
        self.unmark_missing(&again, "are stored again")?;
        Ok(again.len())
    }

    /// Unmarks `ids` (see `missing`), logged as "repair": "N records removed
    /// as damaged {why}".
    pub fn unmark_missing(&self, ids: &[Id], why: &str) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        for id in ids {
            batch.delete(Cf::Meta, key(MISSING, &id.0));
        }
        self.change(batch, "repair", Vec::new(), format!("{} records removed as damaged {why}", ids.len()))
    }

    /// Commits `new`, a rewrite of snapshot `old` whose trees are written,
    /// and with `forget` removes `old` (refused, changing nothing, when it
    /// is held): one synced batch, logged as "rewrite" with `detail`. A
    /// crash leaves the old snapshot, or the new one in its place.
    pub fn commit_rewrite(&self, old: &(Id, Snapshot), new: &Snapshot, forget: bool, detail: String) -> Result<Id> {
        let mut batch = Batch::default();
        if forget {
            self.forget_into(&mut batch, std::slice::from_ref(old))?;
        }
        self.store.flush()?;
        let id = self.put_snapshot(&mut batch, new);
        self.change(batch, "rewrite", vec![old.0, id], detail)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use crate::format::meta::Hold;
    use crate::format::Time;
    use crate::repo::testing::{memory_repo, snapshot};

    #[test]
    fn holds_tags_and_forget_are_logged_and_a_held_snapshot_stays() {
        let repo = memory_repo();
        let a = snapshot(&repo, 100, "h", &["x"]);
        let b = snapshot(&repo, 200, "h", &[]);
        let hold =
            Hold { reason: "audit".into(), until: None, created: Time::now(), user: "u".into(), host: "h".into() };
        repo.add_hold(&[a.0], &hold).unwrap();
        repo.set_tags(&[(b.0, vec!["keep".into()])]).unwrap();
        let snaps = repo.snapshots().unwrap();
        assert_eq!(snaps[1].1.tags, ["keep"]);
        assert_eq!(snaps[0].1.tags, ["x"]);
        let e = repo.forget(&[a.clone(), b.clone()]).unwrap_err().to_string();
        assert!(e.contains(&a.0.short()) && e.contains("held (audit)"), "{e}");
        assert_eq!(repo.snapshots().unwrap().len(), 2, "a refused forget changes nothing");
        repo.forget(std::slice::from_ref(&b)).unwrap();
        assert_eq!(repo.snapshots().unwrap().iter().map(|(id, _)| *id).collect::<Vec<_>>(), [a.0]);
        assert!(repo.remove_hold(&[b.0]).is_err());
        repo.remove_hold(&[a.0]).unwrap();
        repo.forget(std::slice::from_ref(&a)).unwrap();
        assert!(repo.snapshots().unwrap().is_empty());
        let log: Vec<String> = repo.audit_log().unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(log, ["hold add", "tag", "forget", "hold remove", "forget"]);
    }

    #[test]
    fn a_lapsed_hold_protects_nothing() {
        let repo = memory_repo();
        let a = snapshot(&repo, 100, "h", &[]);
        let hold = Hold {
            reason: "r".into(),
            until: Some(Time { secs: 1, nanos: 0 }),
            created: Time::now(),
            user: "u".into(),
            host: "h".into(),
        };
        repo.add_hold(&[a.0], &hold).unwrap();
        repo.forget(&[a]).unwrap();
        assert!(repo.holds().unwrap().is_empty(), "forget takes the lapsed hold with it");
    }
}
