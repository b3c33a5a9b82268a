//! `forget`'s plan: snapshots filtered, grouped (by host and paths unless
//! told otherwise), and each group put through the retention policy. A
//! snapshot under an active hold is kept whatever the policy says.

use crate::crypto::Id;
use crate::format::meta::Hold;
use crate::format::snapshot::Snapshot;
use crate::format::Time;
use crate::policy::{self, Candidate, Policy};
use chrono::TimeZone;
use std::collections::{BTreeMap, HashMap};

/// Which snapshots a command looks at.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub hosts: Vec<String>,
    pub tags: Vec<String>,
    /// Source paths, absolute: a snapshot matches when it has all of them.
    pub paths: Vec<Vec<u8>>,
}

impl Filter {
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.host))
            && (self.tags.is_empty() || self.tags.iter().any(|t| s.tags.contains(t)))
            && self.paths.iter().all(|p| s.paths.contains(p))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupBy {
    pub host: bool,
    pub paths: bool,
    pub tags: bool,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy { host: true, paths: true, tags: false }
    }
}

impl std::str::FromStr for GroupBy {
    type Err = String;
    /// `host,paths,tags` or any subset; `''` for one group.
    fn from_str(s: &str) -> Result<GroupBy, String> {
        let mut g = GroupBy { host: false, paths: false, tags: false };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" => g.host = true,
                "paths" => g.paths = true,
                "tags" => g.tags = true,
                other => return Err(format!("{other:?}: expected host, paths, tags, or a list of them")),
            }
        }
        Ok(g)
    }
}

/// What a group has in common; `None` where it is not grouped by that.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub host: Option<String>,
    pub paths: Option<Vec<Vec<u8>>>,
    pub tags: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct Planned {
    pub id: Id,
    pub snapshot: Snapshot,
    pub keep: bool,
    /// The rules that keep it (empty when it goes).
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub key: GroupKey,
    /// Oldest first.
    pub snapshots: Vec<Planned>,
}

/// Plans a forget of the snapshots that `filter` selects.
pub fn plan<Tz: TimeZone>(
    snaps: Vec<(Id, Snapshot)>,
    holds: &HashMap<Id, Hold>,
    policy: &Policy,
    group_by: GroupBy,
    filter: &Filter,
    now: Time,
    tz: &Tz,
) -> Vec<Group> {
    let mut groups: BTreeMap<GroupKey, Vec<(Id, Snapshot)>> = BTreeMap::new();
    for (id, s) in snaps.into_iter().filter(|(_, s)| filter.matches(s)) {
        let mut tags = s.tags.clone();
        tags.sort();
        let key = GroupKey {
            host: group_by.host.then(|| s.host.clone()),
            paths: group_by.paths.then(|| s.paths.clone()),
            tags: group_by.tags.then_some(tags),
        };
        groups.entry(key).or_default().push((id, s));
    }
    groups
        .into_iter()
        .map(|(key, mut members)| {
            members.sort_by_key(|(_, s)| s.time);
            let candidates: Vec<Candidate> =
                members.iter().map(|(_, s)| Candidate { time: s.time, tags: s.tags.clone() }).collect();
            let decisions = policy::apply(&candidates, policy, now, tz);
            let snapshots = members
                .into_iter()
                .zip(decisions)
                .map(|((id, snapshot), mut d)| {
                    if let Some(h) = holds.get(&id).filter(|h| h.active(now)) {
                        d.reasons.push(format!("held: {}", h.reason));
                        d.keep = true;
                    }
                    Planned { id, snapshot, keep: d.keep, reasons: d.reasons }
                })
                .collect();
            Group { key, snapshots }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Count;
    use crate::repo::testing::{memory_repo, snapshot};

    #[test]
    fn groups_by_host_and_paths_and_holds_override_the_policy() {
        let repo = memory_repo();
        for (secs, host) in [(100, "a"), (200, "b"), (300, "a"), (400, "b"), (500, "a")] {
            snapshot(&repo, secs, host, &[]);
        }
        let snaps = repo.snapshots().unwrap();
        let first = snaps[0].0;
        let hold =
            Hold { reason: "case 7".into(), until: None, created: Time::now(), user: "u".into(), host: "h".into() };
        let holds = HashMap::from([(first, hold)]);
        let policy = Policy { last: Some(Count::N(1)), ..Policy::default() };
        let g = plan(snaps.clone(), &holds, &policy, GroupBy::default(), &Filter::default(), Time::now(), &chrono::Utc);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].key.host.as_deref(), Some("a"));
        let a: Vec<(i64, bool)> = g[0].snapshots.iter().map(|p| (p.snapshot.time.secs, p.keep)).collect();
        assert_eq!(a, [(100, true), (300, false), (500, true)]);
        assert_eq!(g[0].snapshots[0].reasons, ["held: case 7"]);
        assert_eq!(g[1].snapshots.iter().filter(|p| p.keep).count(), 1);

        let one: GroupBy = "".parse().unwrap();
        let g = plan(snaps.clone(), &HashMap::new(), &policy, one, &Filter::default(), Time::now(), &chrono::Utc);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].snapshots.iter().filter(|p| p.keep).count(), 1);

        let only_b = Filter { hosts: vec!["b".into()], ..Filter::default() };
        let g = plan(snaps, &HashMap::new(), &policy, GroupBy::default(), &only_b, Time::now(), &chrono::Utc);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].snapshots.len(), 2);
        assert!("host,bogus".parse::<GroupBy>().is_err());
    }
}
