//! The repository-wide views of the snapshot list: a directory name per
//! snapshot (its UTC time, with a suffix only when two collide), and the
//! hosts/, tags/ and ids/ groupings. Rebuilt whenever the list changes.

use crate::crypto::Id;
use crate::format::snapshot::Snapshot;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub struct SnapRef {
    pub id: Id,
    pub snap: Snapshot,
    /// The directory name under snapshots/.
    pub name: String,
}

#[derive(Default)]
pub struct SnapList {
    /// Oldest first.
    pub all: Vec<Arc<SnapRef>>,
    pub by_name: HashMap<String, usize>,
    pub by_short: HashMap<String, usize>,
    pub hosts: BTreeMap<String, Vec<usize>>,
    pub tags: BTreeMap<String, Vec<usize>>,
}

/// A name safe as one path component (host and tag names are free text).
pub fn component(s: &str) -> String {
    let c: String = s.chars().map(|c| if c == '/' || c == '\0' { '_' } else { c }).collect();
    match c.as_str() {
        "" | "." | ".." => format!("_{c}"),
        _ => c,
    }
}

impl SnapList {
    pub fn new(snaps: Vec<(Id, Snapshot)>) -> SnapList {
        let mut list = SnapList::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, (id, snap)) in snaps.into_iter().enumerate() {
            let base = snap.time.to_chrono().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base}-{n}") };
            list.by_name.insert(name.clone(), i);
            list.by_short.insert(id.short(), i);
            list.hosts.entry(component(&snap.host)).or_default().push(i);
            for t in &snap.tags {
                list.tags.entry(component(t)).or_default().push(i);
            }
            list.all.push(Arc::new(SnapRef { id, snap, name }));
        }
        list
    }

    pub fn latest(&self) -> Option<&Arc<SnapRef>> {
        self.all.last()
    }

    /// The newest snapshot at or before `t` (the list is sorted by time).
    pub fn at(&self, t: crate::format::Time) -> Option<&Arc<SnapRef>> {
        let i = self.all.partition_point(|s| s.snap.time <= t);
        i.checked_sub(1).map(|i| &self.all[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Time;

    fn snap(secs: i64, nanos: u32, host: &str, tags: &[&str]) -> Snapshot {
        Snapshot {
            time: Time { secs, nanos },
            host: host.into(),
            user: String::new(),
            paths: vec![],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            description: String::new(),
            parent: None,
            tree: Id([0; 32]),
            counters: Default::default(),
            failed: vec![],
            duration_ms: 0,
        }
    }

    #[test]
    fn names_collide_with_suffix_and_at_finds_newest_not_after() {
        let l = SnapList::new(vec![
            (Id([1; 32]), snap(100, 0, "a", &["x"])),
            (Id([2; 32]), snap(100, 5, "b/c", &[])),
            (Id([3; 32]), snap(200, 0, "a", &["x", "y"])),
        ]);
        assert_eq!(l.all[0].name, "1970-01-01T00:01:40Z");
        assert_eq!(l.all[1].name, "1970-01-01T00:01:40Z-2");
        assert_eq!(l.hosts["a"], vec![0, 2]);
        assert!(l.hosts.contains_key("b_c"));
        assert_eq!(l.tags["x"], vec![0, 2]);
        assert!(l.at(Time { secs: 99, nanos: 0 }).is_none());
        assert_eq!(l.at(Time { secs: 100, nanos: 0 }).unwrap().id, Id([1; 32]));
        assert_eq!(l.at(Time { secs: 150, nanos: 0 }).unwrap().id, Id([2; 32]));
        assert_eq!(l.at(Time { secs: 200, nanos: 0 }).unwrap().id, Id([3; 32]));
        assert_eq!(l.at(Time { secs: 9999, nanos: 0 }).unwrap().id, Id([3; 32]));
    }
}
