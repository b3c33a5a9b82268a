//! strata: deduplicating backups whose snapshots are directories.
//!
//! Modules depend downward only: commands → backup/restore/vfs → reader →
//! repo → format/store/crypto. See DESIGN.md for the architecture.

pub mod backup;
pub mod bloom;
pub mod cache;
pub mod check;
pub mod cli;
pub mod crypto;
pub mod diff;
pub mod dump;
pub mod error;
pub mod find;
pub mod forget;
pub mod format;
pub mod fuse;
pub mod policy;
pub mod profile;
pub mod prune;
pub mod reader;
pub mod repo;
pub mod restore;
pub mod rewrite;
pub mod s3;
pub mod sorted_names;
pub mod stats;
pub mod store;
pub mod sys;
pub mod timespec;
pub mod vfs;

pub use error::{Error, Result};
