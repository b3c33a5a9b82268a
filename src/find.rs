//! `strata find`: entries matching name or path globs, or a content hash,
//! in many snapshots. Snapshots share most of their trees, so each subtree
//! is searched once: its matches are kept by tree id (and by its path, when
//! a pattern looks at whole paths) and reused wherever it appears again.

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::tree::{join_path, Entry, Kind};
use crate::format::Time;
use crate::repo::Repo;
use std::collections::HashMap;
use std::sync::Arc;

/// What an entry must satisfy; every part given must hold.
#[derive(Default)]
pub struct Query {
    /// Matched against the entry's name.
    names: Option<globset::GlobSet>,
    /// Matched against the entry's absolute path ("/home/u/x").
    paths: Option<globset::GlobSet>,
    pub hash: Option<[u8; 32]>,
    /// File modification time within `[oldest, newest]`.
    pub oldest: Option<Time>,
    pub newest: Option<Time>,
}

impl Query {
    /// `patterns` with a '/' match whole absolute paths, the others names;
    /// `*` never crosses a '/', `**` does.
    pub fn new(patterns: &[String]) -> Result<Query> {
        let (mut names, mut paths) = (globset::GlobSetBuilder::new(), globset::GlobSetBuilder::new());
        let (mut any_name, mut any_path) = (false, false);
        for p in patterns {
            let glob = globset::GlobBuilder::new(p)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::Invalid(format!("pattern {p:?}: {e}")))?;
            if p.contains('/') {
                paths.add(glob);
                any_path = true;
            } else {
                names.add(glob);
                any_name = true;
            }
        }
        let build = |b: globset::GlobSetBuilder| b.build().map_err(|e| Error::Invalid(format!("patterns: {e}")));
        Ok(Query {
            names: any_name.then(|| build(names)).transpose()?,
            paths: any_path.then(|| build(paths)).transpose()?,
            ..Query::default()
        })
    }

    fn needs_path(&self) -> bool {
        self.paths.is_some()
    }

    fn matches(&self, path: &[u8], e: &Entry) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let os = |b: &[u8]| std::path::Path::new(std::ffi::OsStr::from_bytes(b)).to_path_buf();
        // A name and a path pattern given together: either may match.
        let by_glob = match (&self.names, &self.paths) {
            (None, None) => true,
            (n, p) => {
                n.as_ref().is_some_and(|n| n.is_match(os(&e.name)))
                    || p.as_ref().is_some_and(|p| p.is_match(os(&[b"/", path].concat())))
            }
        };
        by_glob
            && self.hash.is_none_or(|h| e.hash == Some(h))
            && self.oldest.is_none_or(|t| e.mtime >= t)
            && self.newest.is_none_or(|t| e.mtime <= t)
    }
}

/// The matches below one directory, paths relative to it.
#[derive(Default)]
pub struct Found {
    entries: Vec<Entry>,
    dirs: Vec<(Vec<u8>, Arc<Found>)>,
}

impl Found {
    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.dirs.is_empty()
    }

    /// Calls `f` with each match's path (below `prefix`) and entry, in
    /// tree order.
    pub fn each(&self, prefix: &[u8], f: &mut dyn FnMut(&[u8], &Entry)) {
        for e in &self.entries {
            f(&join_path(prefix, &e.name), e);
        }
        for (name, sub) in &self.dirs {
            sub.each(&join_path(prefix, name), f);
        }
    }
}

pub struct Finder<'a> {
    repo: &'a Repo,
    query: Query,
    seen: HashMap<(Id, Vec<u8>), Arc<Found>>,
    /// Trees read (each distinct subtree once).
    pub trees_read: u64,
}

impl<'a> Finder<'a> {
    pub fn new(repo: &'a Repo, query: Query) -> Finder<'a> {
        Finder { repo, query, seen: HashMap::new(), trees_read: 0 }
    }

    /// The matches in the tree `id`, which is the directory at `path`.
    pub fn tree(&mut self, id: &Id, path: &[u8]) -> Result<Arc<Found>> {
        let key = (*id, if self.query.needs_path() { path.to_vec() } else { Vec::new() });
        if let Some(f) = self.seen.get(&key) {
            return Ok(f.clone());
        }
        self.trees_read += 1;
        let mut found = Found::default();
        for e in self.repo.tree(id)?.entries {
            let p = join_path(path, &e.name);
            if let (Kind::Dir, Some(sub)) = (e.kind, e.subtree) {
                let below = self.tree(&sub, &p)?;
                if !below.is_empty() {
                    found.dirs.push((e.name.clone(), below));
                }
            }
            if self.query.matches(&p, &e) {
                // What a match is shown with; the chunks stay behind.
                found.entries.push(Entry { content: Default::default(), xattrs: Vec::new(), ..e });
            }
        }
        let found = Arc::new(found);
        self.seen.insert(key, found.clone());
        Ok(found)
    }
}
