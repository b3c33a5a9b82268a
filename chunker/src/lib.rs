//! Content-defined chunking for strata.
//!
//! A chunker cuts a byte stream into pieces whose boundaries depend only on the
//! content near them, so the same bytes produce the same chunks wherever they
//! appear and an edit in a large file changes only the chunks around it.
//!
//! Each algorithm version lives in its own module and is frozen once released:
//! repositories store chunk ids that depend on the exact cut points, so a change
//! of algorithm is a new module (`v2`), never an edit of an old one.
//!
//! This crate has no dependencies beyond `std`.

pub mod v1;

pub use v1::{Chunk, Chunker, Params, ParamsError, ReadChunks, SliceChunks};
