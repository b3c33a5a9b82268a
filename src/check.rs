//! `check`: prove a repository intact, as a reader (it never writes, and
//! runs beside a backup or a mount).
//!
//! Structure (always): every live table file of the store verified block by
//! block; the small families' blob files read through; every snapshot,
//! hold, tag change and audit entry opened; every tree and chunk list that a
//! snapshot reaches decoded, every chunk they reference looked up in the
//! index; every index entry's record present, and every chunk record named
//! by an index entry. What no snapshot reaches is counted as reclaimable by
//! prune, not reported.
//!
//! Data (`--read-data`): every chunk record opened (RocksDB's CRC, the
//! record's AEAD tag, decompressed, hashed to its id, its length against the
//! index). All of it is read as the blob files lie on disk, front to back,
//! so a flipped byte anywhere in them is found, in stale copies and headers
//! too; a subset (`n/t`, a share, a size) is chosen by chunk id, so each part
//! is a fixed set, and read in write order.
//!
//! Without the key, every record is verified by its stored checksum and the
//! index and records against each other; trees cannot be decoded, so what
//! snapshots reach is not checked, and the report says so.
//!
//! Memory is bounded: the set of referenced ids is a Bloom filter (used only
//! for the reclaimable counts), the set of walked trees is capped, and the
//! list of problems too.

use crate::bloom::Bloom;
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{join_path, Content, Piece};
use crate::format::Time;
use crate::repo::{Repo, Sealed, Verifier};
use crate::store::files::{FileKind, StoreFile};
use crate::store::Cf;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub use data::Subset;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Read chunk data: all of it, or a subset.
    pub data: Option<Subset>,
    /// Also a problem when the newest snapshot is older than this.
    pub max_age: Option<std::time::Duration>,
    /// Only this host's snapshots count for `max_age`.
    pub host: Option<String>,
}

/// One thing found wrong.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Problem {
    /// What is wrong: `chunk_damaged`, `chunk_missing`, `chunk_unindexed`,
    /// `index_entry_damaged`, `record_unindexed`, `tree_missing`,
    /// `tree_damaged`, `chunk_list_missing`, `chunk_list_damaged`,
    /// `snapshot_damaged`, `meta_damaged`, `table_file_damaged`,
    /// `blob_file_damaged`, `unreadable`, `stale`.
    pub kind: &'static str,
    /// The chunk, tree, chunk list or snapshot at fault.
    pub id: Option<String>,
    /// The store file at fault.
    pub file: Option<String>,
    pub detail: String,
    /// Snapshots that use what is damaged (full ids) ...
    pub snapshots: Vec<String>,
    /// ... and up to `PATHS_MAX` paths in them.
    pub paths: Vec<String>,
    /// How many times snapshots reach it, all paths counted.
    pub uses: u64,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub keyless: bool,
    /// `none`, `all` or the subset read.
    pub read_data: String,
    pub snapshots: u64,
    /// Trees and chunk lists decoded.
    pub trees: u64,
    /// Chunk index entries checked, and the stored bytes they name.
    pub chunks: u64,
    pub chunk_bytes: u64,
    /// Chunk records opened and verified, and the bytes read for them.
    pub chunks_read: u64,
    pub bytes_read: u64,
    /// Copies of chunk records read that are no longer the live ones (moved
    /// by prune, awaiting RocksDB's garbage collection); verified as well.
    pub stale_copies_read: u64,
    pub table_files: u64,
    pub blob_files: u64,
    /// What no snapshot reaches (prune would remove it).
    pub reclaimable_chunks: u64,
    pub reclaimable_bytes: u64,
    pub reclaimable_trees: u64,
    pub newest_snapshot: Option<String>,
    pub problems: Vec<Problem>,
    /// Problems beyond the ones listed.
    pub problems_not_listed: u64,
    /// What this check could not check, and why.
    pub not_checked: Vec<String>,
    /// What is not damage but wants attention (a repository others can read).
    pub warnings: Vec<String>,
}

impl Report {
    pub fn sound(&self) -> bool {
        self.problems.is_empty() && self.problems_not_listed == 0
    }
}

/// Where a check is, for a progress display.
pub enum Stage {
    Files(u64, u64),
    Snapshots,
    /// Trees read so far.
    Walking(u64),
    /// Index entries and records compared so far.
    Index(u64),
    /// Bytes of chunk data read, of the total.
    Reading(u64, u64),
    Attributing,
}

type Snapshots = Vec<(Id, Snapshot)>;

/// Chunk references checked against the index a batch at a time (32 MiB).
const REFS_BATCH: usize = 1 << 20;
const PROBLEMS_MAX: usize = 10_000;
const PATHS_MAX: usize = 20;
/// Trees known sound with all they reach, so shared subtrees are walked
/// once; cleared when full (a re-walk, never a wrong answer).
const WALKED_MAX: usize = 1 << 18;

#[derive(Default)]
struct Problems {
    list: Vec<Problem>,
    /// (kind, id or file) to the problem's index.
    seen: HashMap<(&'static str, String), usize>,
    dropped: u64,
    /// Ids whose users are to be found, to their problems.
    attribute: HashMap<Id, Vec<usize>>,
}

impl Problems {
    /// Adds a problem (once per kind and id or file); returns its index.
    fn add(&mut self, kind: &'static str, id: Option<&Id>, file: Option<&Path>, detail: String) -> Option<usize> {
        let key = (kind, id.map(Id::to_hex).or_else(|| file.map(|f| f.display().to_string())).unwrap_or_default());
        if let Some(&i) = self.seen.get(&key) {
            return Some(i);
        }
        if self.list.len() >= PROBLEMS_MAX {
            self.dropped += 1;
            return None;
        }
        self.list.push(Problem {
            kind,
            id: id.map(Id::to_hex),
            file: file.map(|f| f.display().to_string()),
            detail,
            snapshots: Vec::new(),
            paths: Vec::new(),
            uses: 0,
        });
        let i = self.list.len() - 1;
        self.seen.insert(key, i);
        Some(i)
    }

    /// A problem with data or a tree, whose users are found at the end.
    fn add_used(&mut self, kind: &'static str, id: &Id, detail: String) {
        if let Some(i) = self.add(kind, Some(id), None, detail) {
            let users = self.attribute.entry(*id).or_default();
            if !users.contains(&i) {
                users.push(i);
            }
        }
    }

    fn find(&self, kind: &'static str, id: &Id) -> Option<usize> {
        self.seen.get(&(kind, id.to_hex())).copied()
    }

    fn used(&mut self, id: &Id, snapshot: &Id, path: &[u8]) {
        let Some(users) = self.attribute.get(id) else { return };
        for &i in users {
            let p = &mut self.list[i];
            p.uses += 1;
            let s = snapshot.to_hex();
            if !p.snapshots.contains(&s) {
                p.snapshots.push(s);
            }
            let path = format!("/{}", String::from_utf8_lossy(path));
            if p.paths.len() < PATHS_MAX && !p.paths.contains(&path) {
                p.paths.push(path);
            }
        }
    }
}

struct Check<'a> {
    repo: &'a Repo,
    v: Verifier<'a>,
    opts: &'a Options,
    progress: &'a dyn Fn(Stage),
    report: Report,
    problems: Problems,
    /// Every tree, chunk list and chunk a snapshot references.
    referenced: Bloom,
    walked: HashSet<Id>,
    /// Chunks referenced, not yet looked up in the index.
    refs: Vec<Id>,
}

/// The repository with its key, when the key is being derived meanwhile
/// (Argon2id takes a while): `run` asks for it only once the checks that
/// need no key are done.
pub type Unlock<'a> = Box<dyn FnOnce() -> Result<Repo> + 'a>;

/// Runs a check. The repository is open for reading, with its key or
/// without (`Repo::open_keyless`); without, but with `unlock`, the key
/// comes from `unlock` halfway.
pub fn run(repo: &Repo, unlock: Option<Unlock>, opts: &Options, progress: &dyn Fn(Stage)) -> Result<Report> {
    let keyed: Repo;
    let keyless = repo.keys().is_locked() && unlock.is_none();
    if keyless && opts.host.is_some() {
        return Err(Error::Invalid(
            "--host: a snapshot's host is sealed; checking it needs the password (or drop --host)".into(),
        ));
    }
    let mut c = Check {
        repo,
        v: repo.verifier()?,
        opts,
        progress,
        report: Report { keyless, ..Report::default() },
        problems: Problems::default(),
        referenced: Bloom::new(0),
        walked: HashSet::new(),
        refs: Vec::new(),
    };
    let files = c.v.files()?;
    c.files(&files);
    // Sized for the records, counted cheaply by key.
    let mut records = 0u64;
    // (A failure here shows in the check of the trees below.)
    let _ = repo.records().scan_objects(&mut |_, _| {
        records += 1;
        Ok(true)
    });
    let named = c.index_pass();
    if let Some(unlock) = unlock {
        keyed = unlock()?;
        c.repo = &keyed;
    }
    let (snapshots, newest) = c.sealed()?;
    c.referenced = Bloom::new(records + c.report.chunks);
    if keyless {
        c.report.not_checked.push(
            "without the password: trees and chunk lists were not decoded, so what the snapshots reference \
             (and what is reclaimable) was not checked; records were verified by their checksums, not opened"
                .into(),
        );
    } else {
        let walk = snapshots.iter().try_for_each(|(_, s)| c.tree(&s.tree)).and_then(|_| c.resolve_refs(true));
        if let Err(e) = walk {
            c.problems.add("unreadable", None, None, format!("the snapshots' trees: {e}"));
        }
        c.walked = HashSet::new();
    }
    match named {
        Ok(named) => {
            if let Err(e) = c.records_pass(&named) {
                c.problems.add("unreadable", None, None, format!("the chunk records: {e}"));
            }
        }
        Err(e) => {
            c.problems.add("unreadable", None, None, format!("the chunk index: {e}"));
        }
    }
    if let Err(e) = c.objects() {
        c.problems.add("unreadable", None, None, format!("the trees: {e}"));
    }
    let data = c.opts.data.or(keyless.then_some(Subset::All));
    match data {
        Some(subset) => {
            c.report.read_data = subset.to_string();
            if let Err(e) = c.data(subset, &files) {
                c.problems.add("unreadable", None, None, format!("the chunk data: {e}"));
            }
        }
        None => {
            c.report.read_data = "none".into();
            c.report.not_checked.push("chunk data was not read (use --read-data)".into());
        }
    }
    if !c.problems.attribute.is_empty() && !keyless {
        (c.progress)(Stage::Attributing);
        c.attribute(&snapshots);
    }
    c.freshness(&snapshots, newest);
    c.report.warnings.extend(exposed(repo.path()));
    c.note_repaired();
    let mut report = c.report;
    report.problems = c.problems.list;
    report.problems_not_listed = c.problems.dropped;
    Ok(report)
}

impl Check<'_> {
    /// Says of what is missing when `repair` removed it, and how it comes
    /// back.
    fn note_repaired(&mut self) {
        let Ok(marked) = self.repo.missing() else { return };
        if marked.is_empty() {
            return;
        }
        let marked: Vec<String> = marked.iter().map(Id::to_hex).collect();
        for p in &mut self.problems.list {
            // The record itself, or a part of it the detail names.
            let named = |id: &String| p.id.as_ref() == Some(id) || p.detail.contains(id.as_str());
            if p.id.is_some() && marked.iter().any(named) {
                p.detail.push_str(
                    "; removed by repair as damaged or lost: the next backup of a file that still holds this \
                     data stores it again",
                );
            }
        }
    }
}

/// A warning when users other than the repository's owner can read any of
/// its files or directories (key files, or an unencrypted repository's
/// data); `None` when none can (or `root` is no directory: a bucket).
fn exposed(root: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(p: &Path, depth: usize, found: &mut Vec<(std::path::PathBuf, u32)>) {
        let Ok(m) = std::fs::symlink_metadata(p) else { return };
        let mode = m.permissions().mode();
        if !m.file_type().is_symlink() && mode & 0o044 != 0 {
            found.push((p.to_path_buf(), mode & 0o7777));
        }
        if m.is_dir() && depth < 4 {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&e.path(), depth + 1, found);
            }
        }
    }
    if !root.is_dir() {
        return None;
    }
    let mut found = Vec::new();
    walk(root, 0, &mut found);
    let (first, mode) = found.first()?;
    Some(format!(
        "{} files and directories of repository {} can be read by other users (first: {}, mode {mode:o}): \
         they could copy the key files and guess the password offline; `chmod -R go-rwx {}`",
        found.len(),
        root.display(),
        first.display(),
        root.display()
    ))
}

/// When the store cannot even be opened (RocksDB refuses a damaged file it
/// must read at open): every table and blob file in its directory verified
/// on its own, so the report still names the damage. `why` is the store's
/// complaint.
pub fn files_only(db: &Path, why: String) -> Report {
    let mut problems = Problems::default();
    problems.add("unreadable", None, None, format!("the repository cannot be opened: {why}"));
    let mut report = Report { read_data: "none".into(), ..Report::default() };
    let mut names: Vec<_> = std::fs::read_dir(db).into_iter().flatten().flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        match path.extension().and_then(|x| x.to_str()) {
            Some("sst") => {
                report.table_files += 1;
                if let Some(e) = crate::store::files::verify_table(&path) {
                    problems.add("table_file_damaged", None, Some(&path), e);
                }
            }
            Some("blob") => {
                report.blob_files += 1;
                let damage = crate::store::files::read_blob_file(&path, &mut |_, _| Ok(()), &mut |_| {});
                let found = match damage {
                    Ok(d) => d.into_iter().map(|d| format!("at byte {}: {}", d.offset, d.detail)).collect(),
                    Err(e) => vec![e.to_string()],
                };
                for detail in found {
                    problems.add("blob_file_damaged", None, Some(&path), detail);
                }
            }
            _ => {}
        }
    }
    report.not_checked.push("the repository could not be opened: only its files were verified".into());
    report.problems = problems.list;
    report
}

/// Whether a failure came from a file that vanished under the check (a
/// compaction by a concurrent writer), which is no damage.
fn vanished(f: &StoreFile) -> bool {
    !f.path.exists()
}

impl Check<'_> {
    /// Table files verified; the small families' blob files read through
    /// (the chunks' are read with the data).
    fn files(&mut self, files: &[StoreFile]) {
        let total = files.len() as u64;
        for (i, f) in files.iter().enumerate() {
            (self.progress)(Stage::Files(i as u64, total));
            match f.kind {
                FileKind::Table => {
                    self.report.table_files += 1;
                    if let Some(e) = self.v.verify_table(f) {
                        if !vanished(f) {
                            self.problems.add("table_file_damaged", None, Some(&f.path), e);
                        }
                    }
                }
                FileKind::Blob => {
                    self.report.blob_files += 1;
                    if f.cf != Cf::Chunks {
                        match self.v.read_blob_file(f, &mut |_, _| Ok(()), &mut |_| {}) {
                            Ok(damage) => {
                                for d in damage {
                                    let detail = format!("at byte {}: {}", d.offset, d.detail);
                                    self.problems.add("blob_file_damaged", None, Some(&f.path), detail);
                                }
                            }
                            Err(_) if vanished(f) => {}
                            Err(e) => {
                                self.problems.add("blob_file_damaged", None, Some(&f.path), e.to_string());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Snapshots, holds, tags and audit entries, each opened (or verified by
    /// checksum); returns the snapshots (none without the key).
    fn sealed(&mut self) -> Result<(Snapshots, Option<Time>)> {
        (self.progress)(Stage::Snapshots);
        let repo = self.repo;
        let mut snapshots = Vec::new();
        let mut newest: Option<Time> = None;
        let problems = &mut self.problems;
        let count = &mut self.report.snapshots;
        let scanned = self.v.scan_sealed(&mut |s, bytes| {
            match s {
                Err(e) => {
                    problems.add("snapshot_damaged", None, None, e.to_string());
                }
                Ok(Sealed::Snapshot { time, id }) => {
                    *count += 1;
                    newest = newest.max(Some(time));
                    let opened = repo
                        .verify_record(&format!("snapshot {id}"), &id, bytes.to_vec())
                        .and_then(|plain| plain.map(|p| Snapshot::decode(&p)).transpose());
                    match opened {
                        Err(e) => {
                            problems.add("snapshot_damaged", Some(&id), None, e.to_string());
                        }
                        Ok(Some(s)) => snapshots.push((id, s)),
                        Ok(None) => {}
                    }
                }
                Ok(Sealed::Meta { what, key, id }) => {
                    let r = match id {
                        Some(id) => repo.verify_record(what, &id, bytes.to_vec()).map(drop),
                        None => Err(Error::corrupt(what, "too short")),
                    };
                    if let Err(e) = r {
                        let detail = format!("{} (key {})", e, String::from_utf8_lossy(&key));
                        problems.add("meta_damaged", id.as_ref(), None, detail);
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = scanned {
            self.problems.add("unreadable", None, None, format!("the snapshot and meta records: {e}"));
        }
        Ok((snapshots, newest))
    }

    fn tree(&mut self, id: &Id) -> Result<()> {
        if self.walked.contains(id) {
            return Ok(());
        }
        self.referenced.insert(id);
        let tree = match self.repo.tree_parts(id) {
            Ok((t, parts)) => {
                parts.iter().for_each(|p| self.referenced.insert(p));
                t
            }
            Err(e) => {
                let kind = if matches!(e, Error::Missing { .. }) { "tree_missing" } else { "tree_damaged" };
                self.problems.add_used(kind, id, e.to_string());
                return Ok(());
            }
        };
        self.report.trees += 1;
        if self.report.trees % 1024 == 0 {
            (self.progress)(Stage::Walking(self.report.trees));
        }
        for e in &tree.entries {
            match &e.content {
                Content::Inline(pieces) => self.pieces(pieces)?,
                Content::List { id, pieces } => {
                    self.referenced.insert(id);
                    match self.repo.chunk_list_parts(id) {
                        Ok((list, parts)) => {
                            parts.iter().for_each(|p| self.referenced.insert(p));
                            self.report.trees += 1;
                            if list.len() as u64 != *pieces {
                                let detail = format!("holds {} pieces, its tree says {pieces}", list.len());
                                self.problems.add_used("chunk_list_damaged", id, detail);
                            }
                            self.pieces(&list)?;
                        }
                        Err(e) => {
                            let kind = if matches!(e, Error::Missing { .. }) {
                                "chunk_list_missing"
                            } else {
                                "chunk_list_damaged"
                            };
                            self.problems.add_used(kind, id, e.to_string());
                        }
                    }
                }
            }
            if let Some(sub) = &e.subtree {
                self.tree(sub)?;
            }
        }
        if self.walked.len() >= WALKED_MAX {
            self.walked.clear();
        }
        self.walked.insert(*id);
        Ok(())
    }

    /// Every chunk referenced must be indexed.
    /// Every chunk referenced must be indexed: collected, and checked a
    /// batch at a time (`resolve_refs`).
    fn pieces(&mut self, pieces: &[Piece]) -> Result<()> {
        for id in pieces.iter().filter_map(Piece::id) {
            self.referenced.insert(&id);
            self.refs.push(id);
        }
        if self.refs.len() >= REFS_BATCH {
            self.resolve_refs(false)?;
        }
        Ok(())
    }

    /// Trees and chunk lists: counted as reclaimable when nothing reaches
    /// them; without the key, each verified by its checksum.
    fn objects(&mut self) -> Result<()> {
        if !self.report.keyless {
            let (report, referenced) = (&mut self.report, &self.referenced);
            return self.repo.records().scan_objects(&mut |id, _| {
                if !referenced.contains(&id) {
                    report.reclaimable_trees += 1;
                }
                Ok(true)
            });
        }
        let (repo, problems) = (self.repo, &mut self.problems);
        let scanned = self.v.scan_objects(&mut |id, bytes| {
            match id {
                Some(id) => {
                    if let Err(e) = repo.verify_record(&format!("tree or chunk list {id}"), &id, bytes.to_vec()) {
                        problems.add("tree_damaged", Some(&id), None, e.to_string());
                    }
                }
                None => {
                    problems.add("tree_damaged", None, None, "a tree record whose key is not an id".into());
                }
            }
            Ok(())
        });
        if let Err(e) = scanned {
            self.problems.add("unreadable", None, None, format!("the trees: {e}"));
        }
        Ok(())
    }

    /// Finds the snapshots and paths that use each damaged thing: a walk of
    /// every snapshot that skips trees known to reach nothing damaged.
    fn attribute(&mut self, snapshots: &[(Id, Snapshot)]) {
        let mut clean = HashSet::new();
        for (id, s) in snapshots {
            self.problems.used(&s.tree, id, b"");
            self.users(&s.tree, id, b"", &mut clean);
        }
    }

    /// Whether the tree reaches something damaged; records each use.
    fn users(&mut self, tree: &Id, snapshot: &Id, path: &[u8], clean: &mut HashSet<Id>) -> bool {
        if clean.contains(tree) {
            return false;
        }
        if self.problems.attribute.contains_key(tree) {
            return true;
        }
        let Ok(t) = self.repo.tree(tree) else { return true };
        let mut any = false;
        for e in &t.entries {
            let p = join_path(path, &e.name);
            let chunks = |pieces: &[Piece], problems: &mut Problems| {
                let mut hit = false;
                for id in pieces.iter().filter_map(Piece::id) {
                    if problems.attribute.contains_key(&id) {
                        problems.used(&id, snapshot, &p);
                        hit = true;
                    }
                }
                hit
            };
            any |= match &e.content {
                Content::Inline(pieces) => chunks(pieces, &mut self.problems),
                Content::List { id, .. } if self.problems.attribute.contains_key(id) => {
                    self.problems.used(id, snapshot, &p);
                    true
                }
                Content::List { id, .. } => match self.repo.chunk_list(id) {
                    Ok(list) => chunks(&list, &mut self.problems),
                    Err(_) => false,
                },
            };
            if let Some(sub) = &e.subtree {
                self.problems.used(sub, snapshot, &p);
                any |= self.users(sub, snapshot, &p, clean);
            }
        }
        if !any {
            if clean.len() >= WALKED_MAX {
                clean.clear();
            }
            clean.insert(*tree);
        }
        any
    }

    /// `--max-age`: the newest snapshot (of `--host`) must be younger.
    fn freshness(&mut self, snapshots: &[(Id, Snapshot)], newest: Option<Time>) {
        self.report.newest_snapshot = newest.map(time_str);
        let Some(max_age) = self.opts.max_age else { return };
        let newest = match &self.opts.host {
            Some(h) => snapshots.iter().filter(|(_, s)| &s.host == h).map(|(_, s)| s.time).max(),
            None => newest,
        };
        let of = self.opts.host.as_ref().map(|h| format!(" of host {h}")).unwrap_or_default();
        let limit = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        let age = newest.map(|t| (t, Time::now().secs.saturating_sub(t.secs)));
        match age {
            None => {
                self.problems.add(
                    "stale",
                    None,
                    None,
                    format!("no snapshot{of} at all (--max-age {})", human_age(max_age)),
                );
            }
            Some((t, age)) if age > limit => {
                let detail = format!(
                    "the newest snapshot{of} is from {}, older than --max-age {}",
                    time_str(t),
                    human_age(max_age)
                );
                self.problems.add("stale", None, None, detail);
            }
            Some(_) => {}
        }
    }
}

fn time_str(t: Time) -> String {
    t.to_chrono().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn human_age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s % 86400 == 0 => format!("{}d", s / 86400),
        _ if s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

mod data;
mod index;
#[cfg(test)]
mod tests;
