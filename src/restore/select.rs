//! What a restore chooses: paths by --include/--exclude, extended
//! attributes by --include-xattr/--exclude-xattr.

use crate::error::{Error, Result};
use crate::sys;
use globset::GlobSet;
use std::path::Path;

/// Which extended attributes a restore sets: all, unless patterns on the
/// whole name (`security.*`) choose. A target that cannot take some (NFS,
/// a filesystem without xattrs; `trusted.*` without CAP_SYS_ADMIN; SELinux
/// labels a policy refuses) fails on every file that has them, so the
/// choice is the way to restore there without those errors.
#[derive(Default)]
pub struct XattrFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl XattrFilter {
    /// From `--include-xattr` and `--exclude-xattr` patterns.
    pub fn new(include: &[String], exclude: &[String]) -> Result<XattrFilter> {
        let set = |option: &str, patterns: &[String]| -> Result<Option<GlobSet>> {
            if patterns.is_empty() {
                return Ok(None);
            }
            let mut b = globset::GlobSetBuilder::new();
            for p in patterns {
                b.add(globset::Glob::new(p).map_err(|e| Error::Invalid(format!("{option} {p:?}: {e}")))?);
            }
            b.build().map(Some).map_err(|e| Error::Invalid(format!("{option}: {e}")))
        };
        Ok(XattrFilter { include: set("--include-xattr", include)?, exclude: set("--exclude-xattr", exclude)? })
    }

    pub(super) fn wants(&self, name: &[u8]) -> bool {
        let name = Path::new(sys::os(name));
        self.include.as_ref().is_none_or(|g| g.is_match(name))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(name))
    }
}

/// Restore's --include or --exclude patterns: one with a '/' matches a
/// path relative to the restored directory, one without a name at any
/// depth (as backup's --exclude, and restic's). Each pattern is two globs
/// in the set: what it names, and everything below that.
pub struct PathGlobs {
    pub(super) set: GlobSet,
    pub(super) patterns: Vec<String>,
}

/// Builds the glob set of restore --include/--exclude patterns.
pub fn globs(patterns: &[String]) -> Result<Option<PathGlobs>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_start_matches('/');
        let p = if p.contains('/') { p.to_string() } else { format!("**/{p}") };
        let p = p.as_str();
        let g = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Invalid(format!("pattern {p:?}: {e}")))?;
        b.add(g);
        // "dir" also selects everything below it.
        let below =
            globset::Glob::new(&format!("{p}/**")).map_err(|e| Error::Invalid(format!("pattern {p:?}: {e}")))?;
        b.add(below);
    }
    let set = b.build().map_err(|e| Error::Invalid(format!("patterns: {e}")))?;
    Ok(Some(PathGlobs { set, patterns: patterns.to_vec() }))
}
