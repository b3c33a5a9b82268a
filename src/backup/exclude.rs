//! What a backup leaves out: glob patterns (a pattern with a '/' matches the
//! whole absolute path, one without matches any single name, as in restic and
//! rsync), directories tagged with a valid CACHEDIR.TAG, and other
//! filesystems.

use crate::error::{Error, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::Path;

/// The signature a CACHEDIR.TAG must begin with (bford.info/cachedir).
pub const CACHEDIR_SIGNATURE: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55";

#[derive(Default)]
pub struct Excludes {
    by_path: Option<GlobSet>,
    by_name: Option<GlobSet>,
    pub caches: bool,
    pub one_file_system: bool,
}

fn glob(p: &str) -> Result<Glob> {
    GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| Error::Invalid(format!("exclude pattern {p:?}: {e}")))
}

impl Excludes {
    /// `patterns` from `--exclude`, `files` from `--exclude-file` (one
    /// pattern a line; blank lines and lines starting with '#' ignored).
    pub fn new(patterns: &[String], files: &[std::path::PathBuf]) -> Result<Excludes> {
        let mut all: Vec<String> = patterns.to_vec();
        for f in files {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Error::Invalid(format!("--exclude-file {}: {e}", f.display())))?;
            all.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
        }
        let (mut paths, mut names) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut np, mut nn) = (0, 0);
        for p in &all {
            let p = p.trim_end_matches('/');
            if p.contains('/') {
                // A relative pattern with a '/' may match at any depth.
                let anchored =
                    if p.starts_with('/') || p.starts_with("**") { p.to_string() } else { format!("**/{p}") };
                paths.add(glob(&anchored)?);
                np += 1;
            } else {
                names.add(glob(p)?);
                nn += 1;
            }
        }
        let build = |b: GlobSetBuilder, n| -> Result<Option<GlobSet>> {
            if n == 0 {
                return Ok(None);
            }
            b.build().map(Some).map_err(|e| Error::Invalid(format!("exclude patterns: {e}")))
        };
        Ok(Excludes { by_path: build(paths, np)?, by_name: build(names, nn)?, caches: false, one_file_system: false })
    }

    pub fn matches(&self, path: &Path, name: &[u8]) -> bool {
        self.by_name.as_ref().is_some_and(|g| g.is_match(crate::sys::os(name)))
            || self.by_path.as_ref().is_some_and(|g| g.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        let x = Excludes::new(&["*.tmp".into(), "/home/*/cache".into(), "build/out".into()], &[]).unwrap();
        assert!(x.matches(Path::new("/a/b/x.tmp"), b"x.tmp"));
        assert!(!x.matches(Path::new("/a/b/x.tmpl"), b"x.tmpl"));
        assert!(x.matches(Path::new("/home/u/cache"), b"cache"));
        assert!(!x.matches(Path::new("/home/u/v/cache"), b"cache"));
        assert!(x.matches(Path::new("/src/p/build/out"), b"out"));
    }

    #[test]
    fn bad_pattern_is_named() {
        let e = Excludes::new(&["a[".into()], &[]).err().unwrap().to_string();
        assert!(e.contains("a["), "{e}");
    }
}
