//! The library's error type. Every variant names what it concerns (a path, an
//! id, an option) so a message alone tells the user where to look; `anyhow`
//! is used only in `commands/` and `main.rs`.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// (Not `source`: the error is in the message, and as the error's
    /// source too a chain printed whole would repeat it.)
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("repository {0}: no strata repository there (run `strata init`)")]
    NotARepository(PathBuf),
    #[error("repository {0}: already exists")]
    AlreadyExists(PathBuf),
    #[error("repository {path}: busy: {holder}")]
    Busy { path: PathBuf, holder: String },
    #[error("repository {0}: wrong password (no key matches)")]
    WrongPassword(PathBuf),
    #[error(
        "{what} has format version {found}, newer than this strata supports ({supported}); \
         upgrade strata"
    )]
    NewerFormat { what: &'static str, found: u8, supported: u8 },
    #[error("{what}: corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("{what} {id}: not found in the repository")]
    Missing { what: &'static str, id: String },
    #[error("snapshot {0}: no such snapshot")]
    NoSuchSnapshot(String),
    #[error("snapshot {0}: ambiguous, matches several snapshots")]
    AmbiguousSnapshot(String),
    #[error("store {path}: {detail}")]
    Store { path: PathBuf, detail: String },
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io { path: path.into(), error }
    }

    pub fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Corrupt { what: what.into(), detail: detail.into() }
    }
}
